"""McIntosh-Poisson rates for the daily report: fitted once on a region-day table, kept in a small JSON file.

The report shows MCSTAT and MCEVOL (:mod:`flarecast.reference.mcintosh`)
beside flarecast's own probability. Their rates are fitted once, on the
training period of the ``hayes-srs`` table (issues up to ``train_until``,
default 2008-12-31, the default training period of ``flarecast backtest``,
so the backtest's MCSTAT and MCEVOL rows verify exactly these rates), and
written to a rates file (``flarecast reference-rates``) that every daily run
reads. The file holds, for each event threshold (``M``: >= M1.0, ``X``: >= X1.0),
the flares per region-day of each McIntosh class, Zurich letter and
(previous-day class, class) pair, with the training region-days behind each,
and the data set's name and sha256.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import TIME
from flarecast.errors import ConfigError, ModelFileError
from flarecast.io import write_json
from flarecast.reference.history import with_previous_day
from flarecast.reference.mcintosh import MCEVOL, MCSTAT

__all__ = ["RATES_SCHEMA", "THRESHOLDS", "fit_rates", "save_rates", "load_rates", "rate_models"]

RATES_SCHEMA = "flarecast-mcintosh-rates"
#: Event threshold -> the flare-count columns whose sum is the number of events of a region-day.
THRESHOLDS: dict[str, tuple[str, ...]] = {"M": ("flares_m", "flares_x"), "X": ("flares_x",)}


def fit_rates(
    frame: pd.DataFrame,
    *,
    train_until: str = "2008-12-31",
    min_days: int = 10,
    dataset: str = "",
    sha256: str | None = None,
) -> dict[str, Any]:
    """Fit MCSTAT and MCEVOL for >= M and >= X on the rows issued up to ``train_until`` (UTC day).

    Parameters
    ----------
    frame : pandas.DataFrame
        A region-day table with flare counts (:func:`flarecast.data.tables.srs.read_hayes_srs`).
    train_until : str, default "2008-12-31"
    min_days : int, default 10
        MCEVOL's back-off (see :class:`~flarecast.reference.mcintosh.MCEVOL`).
    dataset, sha256 : str
        Provenance written into the file.

    Returns
    -------
    dict
        The content of a rates file (see :func:`save_rates`).
    """
    missing = [c for cols in THRESHOLDS.values() for c in cols if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"McIntosh-Poisson rates need a region-day table with flare counts (hayes-srs); "
            f"{dataset or 'the table'} lacks {sorted(set(missing))}."
        )
    try:
        until = pd.Timestamp(train_until, tz="UTC").floor("D") + pd.Timedelta(days=1)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"--train-until must be a date such as 2008-12-31; got {train_until!r}"
        ) from exc
    train = frame.loc[(frame[TIME] < until).to_numpy()].reset_index(drop=True)
    if not len(train):
        raise ConfigError(f"{dataset or 'the table'} has no region-day issued up to {train_until}.")
    out: dict[str, Any] = {
        "schema": RATES_SCHEMA,
        "schema_version": 1,
        "dataset": dataset,
        "dataset_sha256": sha256,
        "train_until": str(train_until),
        "first_issue": train[TIME].min().strftime("%Y-%m-%d"),
        "last_issue": train[TIME].max().strftime("%Y-%m-%d"),
        "region_days": len(train),
        "min_days": min_days,
        "thresholds": {},
    }
    for threshold, columns in THRESHOLDS.items():
        n_events = train[list(columns)].to_numpy(dtype=float).sum(axis=1)
        y = (n_events > 0).astype(int)
        data = with_previous_day(train, y)
        mcevol = MCEVOL(min_days=min_days).fit(data, y, n_events)
        out["thresholds"][threshold] = {
            "events": int(n_events.sum()),
            "class_rate": {k: float(v) for k, v in mcevol.rate_.items()},
            "class_days": {k: int(v) for k, v in mcevol.days_.items()},
            "zurich_rate": {k: float(v) for k, v in mcevol.zurich_rate_.items()},
            "climatology_rate": float(mcevol.climatology_rate_),
            "pair_rate": {k: float(v) for k, v in mcevol.pair_rate_.items()},
        }
    return out


def save_rates(path: str | Path, rates: dict[str, Any]) -> Path:
    """Write a rates file atomically (JSON)."""
    path = Path(path)
    write_json(path, rates)
    return path


def _rate_dict(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict) or not all(
        isinstance(v, int | float) and np.isfinite(v) and v >= 0 for v in value.values()
    ):
        raise ValueError(f"{where} must map names to rates >= 0")
    return {str(k): float(v) for k, v in value.items()}


def load_rates(path: str | Path) -> dict[str, Any]:
    """Read and check a rates file written by :func:`save_rates`.

    Raises
    ------
    ModelFileError
        Not a rates file, or a rate that is missing, negative or not a number.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a readable rates file ({exc}).") from exc
    if not isinstance(data, dict) or data.get("schema") != RATES_SCHEMA:
        raise ModelFileError(
            f"{path}: not a McIntosh-Poisson rates file (schema {RATES_SCHEMA!r}); write one with "
            "flarecast reference-rates --dataset hayes-srs --out FILE."
        )
    try:
        for threshold in THRESHOLDS:
            part = data["thresholds"][threshold]
            for key in ("class_rate", "zurich_rate", "pair_rate"):
                part[key] = _rate_dict(part[key], f"thresholds.{threshold}.{key}")
            part["climatology_rate"] = float(part["climatology_rate"])
            if not np.isfinite(part["climatology_rate"]) or part["climatology_rate"] < 0:
                raise ValueError(f"thresholds.{threshold}.climatology_rate must be a rate >= 0")
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: malformed rates file ({exc}).") from exc
    data["path"] = str(path)
    return data


def rate_models(rates: dict[str, Any], threshold: str) -> tuple[MCSTAT, MCEVOL]:
    """Fitted MCSTAT and MCEVOL for ``threshold`` ("M" or "X") holding the file's rates."""
    part = rates["thresholds"][threshold]
    models = (MCSTAT(), MCEVOL(min_days=int(rates.get("min_days", 10))))
    for model in models:
        model.rate_ = dict(part["class_rate"])
        model.days_ = dict(part.get("class_days", {}))
        model.zurich_rate_ = dict(part["zurich_rate"])
        model.climatology_rate_ = float(part["climatology_rate"])
        model.classes_ = np.array([0, 1])
    models[1].pair_rate_ = dict(part["pair_rate"])
    return models
