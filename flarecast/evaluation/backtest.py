"""Time-ordered backtest of region-day forecasts, per region and for the full disk, with no look-ahead.

The protocol, as an operational centre verifies its forecasts:

1. **Folds in time.** ``retrain="none"``: one fold; training rows are the
   issues up to ``train_until``, test rows every later issue. ``"yearly"``
   (rolling origin): one fold per test year after ``train_until``, each
   training on everything before that year. A training row's label window
   (its issue day plus ``horizon_days - 1`` further days) must end before the
   test period starts, so a gap of at least the horizon separates the last
   training label from the first test issue.
2. **Thresholds on training-period validation only.** Each method is first
   fitted on the training rows before the last ``validation_years`` of the
   training period (more years when those hold fewer than
   ``min_validation_events`` events) and predicts them; the decision thresholds (TSS
   maximum, region-day and full-disk) come from them. Then the method is
   refitted on all training rows and predicts the test rows. A fixed 50%
   threshold is scored too. A network's scores are not probabilities, so each
   network also gets a ``(Platt)`` row: a Platt map fitted on the first fit's
   validation-year scores and labels (training period only) applied to its test scores.
3. **Scores** per region-day and per full-disk day (P_disk = 1 - prod(1 - p_i)
   over that day's regions, assuming independent regions, against whether any
   listed region had an event, or any flare of a catalogue when one is given):
   BSS against the training climatology with the
   Murphy (1973) decomposition, ROC AUC, TSS, HSS and ApSS
   (:mod:`flarecast.evaluation.metrics`), M and X recall, and the test-optimal
   TSS (labelled as such: it is not a forecast).
4. **Intervals** by block bootstrap over 27-day rotations (:mod:`flarecast.evaluation.blocks`).

Every fit and every threshold choice is reported to ``fit_hook(method, fold,
purpose, row_positions)`` when one is given, so a test can prove that no
test row was used.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import NOAA_AR, TIME
from flarecast.errors import ConfigError, FlarecastError, MetricWarning
from flarecast.evaluation.backtest_labels import (
    EVENT_COLUMNS,
    day_counts,
    shift_truth,
    target_counts,
)
from flarecast.evaluation.backtest_methods import METHODS, NETWORKS, make_method
from flarecast.evaluation.blocks import block_bootstrap, block_interval, rotation_blocks
from flarecast.evaluation.calibration import fit_calibrator
from flarecast.evaluation.full_disk import catalogue_days, full_disk, relabel
from flarecast.evaluation.metrics import roc_auc, scores_from_counts
from flarecast.evaluation.thresholds import choose_threshold
from flarecast.reference.history import with_previous_day
from flarecast.time import to_utc

__all__ = ["BacktestConfig", "Fold", "make_folds", "run_backtest", "score", "murphy"]


@dataclasses.dataclass(frozen=True)
class BacktestConfig:
    """Settings of a backtest (saved in ``run.json``).

    Attributes
    ----------
    train_until : str, default "2008-12-31"
        Last issue day (UTC) of the first training period.
    retrain : {"none", "yearly"}, default "none"
    positive : {"C", "M", "X"}, default "M"
        Event = at least one flare of this class or above on the region-day.
    horizon_days : int, default 1
        Forecast day: 1 is the issue day (the table's labels), k the same region's
        day k - 1 days later (:mod:`flarecast.evaluation.backtest_labels`; unknown
        when the region has no row that day). It also sets the gap between the last
        training label and the first test issue.
    latency_hours : int, default 0
        Must be 0: whole-UT-day flare counts cannot start a label window hours later.
    validation_years : int, default 2
        Last years of each training period used to choose thresholds.
    min_validation_events : int, default 50
        Fewer events than this in those years (a solar minimum) extends them
        by whole years until they hold enough.
    n_boot : int, default 200
        Block-bootstrap resamples (0: no intervals).
    block_days : int, default 27
    seed : int, default 0
    methods : tuple of str
        Rows of the table, names of :data:`flarecast.evaluation.backtest_methods.METHODS`.
    calibrate : bool, default True
        Add a ``"<network> (Platt)"`` row beside each network: its test scores
        through a Platt map fitted on the training-period validation years
        (the threshold fit's predictions), never on test rows.
    """

    train_until: str = "2008-12-31"
    retrain: str = "none"
    positive: str = "M"
    horizon_days: int = 1
    latency_hours: int = 0
    validation_years: int = 2
    min_validation_events: int = 50
    n_boot: int = 200
    block_days: int = 27
    seed: int = 0
    methods: tuple[str, ...] = tuple(METHODS)
    calibrate: bool = True

    def check(self) -> None:
        """Raise :class:`ConfigError` naming every bad setting and its legal values."""
        problems = []
        if self.retrain not in ("none", "yearly"):
            problems.append(f"retrain must be 'none' or 'yearly', got {self.retrain!r}")
        if self.positive not in EVENT_COLUMNS:
            problems.append(f"positive must be one of {list(EVENT_COLUMNS)}, got {self.positive!r}")
        for name in ("horizon_days", "validation_years", "block_days", "min_validation_events"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                problems.append(f"{name} must be an int >= 1, got {getattr(self, name)!r}")
        if not isinstance(self.n_boot, int) or self.n_boot < 0:
            problems.append(f"n_boot must be an int >= 0, got {self.n_boot!r}")
        if self.latency_hours != 0:
            problems.append(
                f"latency_hours must be 0, got {self.latency_hours!r}: the region-day labels are "
                "whole-UT-day flare counts, which cannot start a window hours after the issue "
                "(use horizon_days for later days)"
            )
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            problems.append(f"methods must be among {list(METHODS)}, got {list(self.methods)}")
        try:
            _utc_day(self.train_until)
        except (FlarecastError, ValueError, TypeError):
            problems.append(
                f"train_until must be a date such as '2008-12-31', got {self.train_until!r}"
            )
        if problems:
            raise ConfigError("Invalid backtest settings: " + "; ".join(problems) + ".")


@dataclasses.dataclass(frozen=True)
class Fold:
    """Row positions of one training/test split in time."""

    name: str
    test_start: pd.Timestamp
    train: np.ndarray
    fit_for_validation: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def _utc_day(text: str) -> pd.Timestamp:
    return to_utc(text, naive="utc", column="train_until").floor("D")


def make_folds(
    times: pd.Series, config: BacktestConfig, events: np.ndarray | None = None
) -> list[Fold]:
    """The time-ordered folds of the module docstring, as row positions of ``times``.

    ``events`` (0/1 per row), when given, lets a validation period that holds
    fewer than ``config.min_validation_events`` events grow by whole years into
    the training period (training labels only decide this).
    """
    config.check()
    times = pd.Series(pd.DatetimeIndex(times))
    label_end = times.dt.floor("D") + pd.Timedelta(days=config.horizon_days)
    first_test = _utc_day(config.train_until) + pd.Timedelta(days=1)
    if config.retrain == "none":
        periods = [(first_test, times.max() + pd.Timedelta(days=1), "test")]
    else:
        years = range(first_test.year, times.max().year + 1)
        periods = [(pd.Timestamp(f"{y}-01-01", tz="UTC"), pd.Timestamp(f"{y + 1}-01-01", tz="UTC"),
                    str(y)) for y in years]  # fmt: skip
    folds = []
    for start, stop, name in periods:
        start = max(start, first_test)
        train = np.flatnonzero((label_end <= start).to_numpy())
        test = np.flatnonzero(((times >= start) & (times < stop)).to_numpy())
        years = config.validation_years
        while True:
            val_start = start - pd.DateOffset(years=years)
            validation = train[(times.iloc[train] >= val_start).to_numpy()]
            enough = events is None or events[validation].sum() >= config.min_validation_events
            if enough or val_start <= times.min():
                break
            years += 1  # a quiet (solar-minimum) validation period: take one more training year
        fit_val = train[(label_end.iloc[train] <= val_start).to_numpy()]
        if not len(test):
            continue
        if not len(fit_val) or not len(validation):
            raise ConfigError(
                f"Fold {name}: the training period before {start:%Y-%m-%d} is too short for "
                f"{config.validation_years} validation year(s); choose a later train_until."
            )
        folds.append(Fold(name, start, train, fit_val, validation, test))
    if not folds:
        raise ConfigError(f"No test rows after train_until={config.train_until!r}.")
    return folds


def run_backtest(
    frame: pd.DataFrame,
    config: BacktestConfig,
    fit_hook: Callable[[str, str, str, np.ndarray], None] | None = None,
    disk_events: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Run every method over every fold.

    Parameters
    ----------
    frame : pandas.DataFrame
        A region-day table (:func:`flarecast.data.tables.srs.read_hayes_srs`).
    config : BacktestConfig
    fit_hook : callable, optional
        Called as ``fit_hook(method, fold, purpose, positions)`` for every fit
        (``"fit"``, ``"fit-validation"``) and threshold choice (``"threshold"``).
    disk_events : pandas.DataFrame, optional
        A canonical flare catalogue (:func:`flarecast.data.catalogues.read.read_catalogue`)
        giving the full-disk truth (:func:`catalogue_days`); default: whether a
        region-day of the table had an event.

    Returns
    -------
    dict
        ``regions`` and ``disk``: prediction frames (one row per method and
        region-day / day, with ``p``, ``y``, ``clim``, ``threshold``, ``fold``);
        ``backoff``: per method and fold, test rows resting on a back-off rule;
        ``encodings``: the learned methods' fitted encodings per fold; ``labels``:
        the product and the rows left out with an unknown label; ``folds``.
    """
    config.check()
    frame = frame.reset_index(drop=True)
    # Features, yesterday's event included, are those known at issue time; only the label moves.
    data = with_previous_day(frame, (day_counts(frame, config.positive) > 0).astype(int))
    n_events = target_counts(frame, config.positive, config.horizon_days)
    x_counts = target_counts(frame, "X", config.horizon_days)
    n_rows, kept = len(frame), np.flatnonzero(np.isfinite(n_events))
    frame, data = frame.iloc[kept].reset_index(drop=True), data.iloc[kept].reset_index(drop=True)
    n_events, x_event = n_events[kept], (x_counts[kept] > 0).astype(int)
    y = (n_events > 0).astype(int)
    folds = make_folds(frame[TIME], config, y)
    # Rows are reported to the hook as positions in the table given, unknown labels included.
    hook = (lambda m, f, p, rows: fit_hook(m, f, p, kept[rows])) if fit_hook else (lambda *a: None)
    truth = None if disk_events is None else catalogue_days(disk_events, config.positive)
    truth = shift_truth(truth, config.horizon_days)
    regions, disks, backoff, encodings = [], [], {}, {}

    def add_rows(name: str, fold: Fold, p_val: np.ndarray, p: np.ndarray, clim_disk: float) -> None:
        disk_val = relabel(full_disk(frame.iloc[fold.validation], p_val, y[fold.validation]), truth)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetricWarning)
            thr = choose_threshold(y[fold.validation], p_val, "tss")
            thr_disk = choose_threshold(disk_val["y"], disk_val["p"], "tss")
        test = frame.iloc[fold.test]
        regions.append(pd.DataFrame({
            "method": name, "fold": fold.name, "row": kept[fold.test], TIME: test[TIME].to_numpy(),
            NOAA_AR: test[NOAA_AR].to_numpy(), "y": y[fold.test], "x_event": x_event[fold.test],
            "p": p, "clim": float(y[fold.train].mean()), "threshold": thr}))  # fmt: skip
        disk = full_disk(test, p, y[fold.test])
        disk["x_event"] = full_disk(test, p, x_event[fold.test])["y"]
        disk = relabel(disk, truth)
        disk[["method", "fold", "clim", "threshold"]] = [name, fold.name, clim_disk, thr_disk]
        disks.append(disk)

    for fold in folds:
        disk_train = relabel(
            full_disk(frame.iloc[fold.train], np.zeros(len(fold.train)), y[fold.train]), truth
        )
        clim_disk = float(disk_train["y"].mean())
        for name in config.methods:
            # Thresholds from a fit that saw only the years before the validation years.
            early = make_method(name)
            hook(name, fold.name, "fit-validation", fold.fit_for_validation)
            early.fit(data.iloc[fold.fit_for_validation], y[fold.fit_for_validation],
                      n_events[fold.fit_for_validation])  # fmt: skip
            hook(name, fold.name, "threshold", fold.validation)
            p_val = early.predict_proba(data.iloc[fold.validation])[:, 1]
            method = make_method(name)
            hook(name, fold.name, "fit", fold.train)
            method.fit(data.iloc[fold.train], y[fold.train], n_events[fold.train])
            test = data.iloc[fold.test]
            p = method.predict_proba(test)[:, 1]
            if hasattr(method, "backoff_counts"):
                backoff[f"{name} | {fold.name}"] = method.backoff_counts(test)
            if hasattr(method, "matrix_"):
                encodings[f"{name} | {fold.name}"] = method.matrix_.to_dict()
            add_rows(name, fold, p_val, p, clim_disk)
            if config.calibrate and name in NETWORKS:
                # The map is fitted on the validation years' scores of the threshold fit, the only
                # training-period scores the network has not trained on, and maps the refit's test
                # scores (same recipe and loss, so the same score scale).
                hook(name, fold.name, "calibration", fold.validation)
                platt = fit_calibrator(p_val, y[fold.validation], "platt",
                                       fitted_on="training-period validation years")  # fmt: skip
                add_rows(f"{name} (Platt)", fold, platt.transform(p_val), platt.transform(p),
                         clim_disk)  # fmt: skip
    return {
        "regions": pd.concat(regions, ignore_index=True),
        "disk": pd.concat(disks, ignore_index=True).rename(columns={"day": TIME}),
        "backoff": backoff,
        "encodings": encodings,
        "labels": {
            "positive": f"{config.positive}1.0",
            "horizon_days": config.horizon_days,
            "rows": n_rows,
            "unknown_rows": n_rows - len(kept),
        },
        "disk_truth": {"source": "region-days of the table"}
        if truth is None
        else {
            "source": "flare catalogue",
            "first_day": str(truth["span"][0].date()),
            "last_day": str(truth["span"][1].date()),
        },  # fmt: skip
        "folds": [
            {
                "name": f.name,
                "test_start": f.test_start.isoformat(),
                "train": len(f.train),
                "validation": len(f.validation),
                "test": len(f.test),
            }
            for f in folds
        ],  # fmt: skip
    }


def murphy(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> dict[str, float]:
    """Brier score and its Murphy (1973) decomposition BS ~ REL - RES + UNC over ``n_bins`` bins of p."""
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins).astype(float)
    mean_p = np.bincount(bins, p, n_bins) / np.where(count > 0, count, 1)
    mean_y = np.bincount(bins, y, n_bins) / np.where(count > 0, count, 1)
    base = y.mean()
    return {
        "brier": float(np.mean((p - y) ** 2)),
        "reliability": float(np.sum(count * (mean_p - mean_y) ** 2) / len(y)),
        "resolution": float(np.sum(count * (mean_y - base) ** 2) / len(y)),
        "uncertainty": float(base * (1 - base)),
    }


def _counts(y: np.ndarray, yhat: np.ndarray) -> dict[str, float]:
    tp = float(np.sum(yhat & (y == 1)))
    fp = float(np.sum(yhat & (y == 0)))
    fn = float(np.sum(~yhat & (y == 1)))
    tn = float(np.sum(~yhat & (y == 0)))
    return {k: float(v) for k, v in scores_from_counts(tp, fp, fn, tn).items()}


def _max_tss(y: np.ndarray, p: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetricWarning)
        best = choose_threshold(y, p, "tss")
    return _counts(y, p >= best)["tss"]


def _bss(y: np.ndarray, p: np.ndarray, clim: np.ndarray) -> float:
    ref = np.sum((clim - y) ** 2)
    return float(1.0 - np.sum((p - y) ** 2) / ref) if ref > 0 else float("nan")


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    if y.min(initial=0) == y.max(initial=0):
        return float("nan")
    return roc_auc(y, p)


def score(pred: pd.DataFrame, config: BacktestConfig) -> pd.DataFrame:
    """One row of scores per method for a prediction frame of :func:`run_backtest` (``regions`` or ``disk``)."""
    rows = []
    for name, g in pred.groupby("method", sort=False):
        y, p = g["y"].to_numpy(dtype=int), g["p"].to_numpy(dtype=float)
        clim, thr = g["clim"].to_numpy(dtype=float), g["threshold"].to_numpy(dtype=float)
        x = g["x_event"].to_numpy(dtype=int)
        at_val, at_half = _counts(y, p >= thr), _counts(y, p >= 0.5)
        row = {"method": name, "n": len(g), "events": int(y.sum()), "base_rate": float(y.mean()),
               "bss": _bss(y, p, clim), **murphy(y, p), "roc_auc": _auc(y, p),
               "tss": at_val["tss"], "hss": at_val["hss"], "apss": at_val["apss"],
               "recall_m": at_val["recall"],
               "recall_x": float(np.mean((p >= thr)[x == 1])) if x.any() else float("nan"),
               "tss_50": at_half["tss"], "hss_50": at_half["hss"], "apss_50": at_half["apss"],
               "tss_max_test": _max_tss(y, p)}  # fmt: skip
        if config.n_boot:
            blocks = rotation_blocks(g[TIME], config.block_days)
            resamples = block_bootstrap(blocks, config.n_boot, config.seed)
            stats = {
                "bss": lambda i, y=y, p=p, c=clim: _bss(y[i], p[i], c[i]),
                "roc_auc": lambda i, y=y, p=p: _auc(y[i], p[i]),
                "tss": lambda i, y=y, p=p, t=thr: _counts(y[i], p[i] >= t[i])["tss"],
            }
            for key, fn in stats.items():
                row[f"{key}_low"], row[f"{key}_high"] = block_interval(fn, resamples)
        rows.append(row)
    return pd.DataFrame(rows)
