"""Bootstrap over active regions (vectorised through per-region sufficient statistics), and the scored table.

Samples from one active region are strongly correlated (the same region is
observed every few hours), so uncertainty is estimated by resampling *regions*
with replacement, never rows (a cluster bootstrap). Every region's rows enter
a resample as a block, repeated as often as the region was drawn.

Why it is fast
--------------
Every count-based score (TSS, HSS, recall, X recall ...) and the Brier scores
depend on the data only through sums over rows, and sums over rows are sums
over regions of per-region sums. So each forecast is reduced once to a matrix
``S`` of shape (n_regions, n_stats) (hits, false alarms, misses, correct
negatives, X events and X hits, squared errors ...), the resamples are a
(B, n_regions) matrix ``W`` of multinomial draw counts, and ``W @ S`` gives the
statistics of all B resamples in one product. ROC AUC is not a sum over
regions, but it is a weighted Mann-Whitney statistic: with the rows sorted
once by probability, the AUC of every resample follows from cumulative sums of
the row weights ``W[:, region_of_row]`` (exact, ties counted one half), done in
chunks of resamples to bound memory. No score is approximated.

A *paired* comparison (focal minus cross-entropy) uses the same ``W`` for both
forecasts, so region-to-region variation common to both cancels.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError, DataError
from flarecast.evaluation.metrics import scores_from_counts

if TYPE_CHECKING:
    from flarecast.evaluation.protocol import ProtocolResult

__all__ = [
    "RegionResampler",
    "region_resampler",
    "bootstrap_scores",
    "interval",
    "SCORES",
    "Summary",
    "summarise",
    "INTERVAL_SCORES",
    "PAIRED_SCORES",
    "SEED_SCORES",
    "PAIRS",
]

_STATS = ("n", "pos", "tp", "fp", "fn", "tn", "x_n", "x_hit", "m_n", "m_hit", "se", "se_clim")

#: Scores reported with a bootstrap interval in the table, and compared paired.
INTERVAL_SCORES: tuple[str, ...] = ("x_recall", "recall", "hss", "tss", "auc", "bss")
PAIRED_SCORES: tuple[str, ...] = ("x_recall", "recall", "hss", "tss", "auc", "bss")
#: Scores whose spread over the seed members is reported (``<score>_seed_sd``).
SEED_SCORES: tuple[str, ...] = ("x_recall", "hss", "tss", "auc")
#: The paired comparisons made when both methods ran: (method, baseline). The network rows against
#: logistic regression too: a network that does not reach it is no result to publish.
PAIRS: tuple[tuple[str, str], ...] = (
    ("focal", "ce"),
    ("focal", "weighted-ce"),
    ("ce", "logistic"),
    ("focal", "logistic"),
)

#: Scores :func:`bootstrap_scores` returns, in table order.
SCORES: tuple[str, ...] = (
    "x_recall",
    "m_recall",
    "recall",
    "precision",
    "false_alarm_ratio",
    "false_alarm_rate",
    "tss",
    "hss",
    "apss",
    "auc",
    "brier",
    "bss",
    "base_rate",
)


@dataclasses.dataclass(frozen=True)
class RegionResampler:
    """Region codes of the rows and the resample weights, shared by every forecast scored.

    Attributes
    ----------
    regions : ndarray, shape (n_regions,)
        The distinct region labels.
    codes : ndarray of int, shape (n_rows,)
        Index into ``regions`` of each row.
    weights : ndarray of float, shape (n_boot, n_regions)
        How often each region is drawn in each resample (each row sums to n_regions).
    """

    regions: np.ndarray
    codes: np.ndarray
    weights: np.ndarray

    @property
    def n_boot(self) -> int:
        return int(self.weights.shape[0])

    @property
    def identity(self) -> np.ndarray:
        """Weights of the original sample, shape (1, n_regions)."""
        return np.ones((1, self.regions.size))


def region_resampler(groups: Any, n_boot: int = 1000, seed: int = 0) -> RegionResampler:
    """Draw ``n_boot`` resamples of the regions with replacement.

    Parameters
    ----------
    groups : array-like, shape (n_rows,)
        Region label (NOAA AR number) of each row; missing labels are not allowed
        because a row without a region cannot be resampled as part of one.
    n_boot : int, default 1000
        Number of resamples.
    seed : int, default 0
        Seed of the generator; the same seed gives the same resamples.
    """
    if int(n_boot) < 1:
        raise ConfigError(
            f"The 'n_boot' parameter of region_resampler must be an int >= 1. Got {n_boot!r} instead."
        )
    codes, regions = pd.factorize(pd.Series(groups), sort=True)
    if (codes < 0).any():
        missing = np.flatnonzero(codes < 0)
        raise DataError(
            f"{missing.size} row(s) have no region label (first at row {int(missing[0])}); "
            "every row needs a region for the region bootstrap"
        )
    regions = np.asarray(regions)
    rng = np.random.default_rng(seed)
    r = regions.size
    weights = (
        rng.multinomial(r, np.full(r, 1.0 / r), size=int(n_boot)).astype(float)
        if r
        else np.zeros((n_boot, 0))
    )
    return RegionResampler(regions=regions, codes=codes.astype(np.intp), weights=weights)


def _region_stats(
    codes: np.ndarray,
    n_regions: int,
    y: np.ndarray,
    p: np.ndarray,
    pred: np.ndarray,
    letter: np.ndarray,
    clim: np.ndarray,
) -> np.ndarray:
    is_x = letter == "X"
    is_m = letter == "M"
    cols = {
        "n": np.ones_like(p),
        "pos": y,
        "tp": y * pred,
        "fp": (1 - y) * pred,
        "fn": y * (1 - pred),
        "tn": (1 - y) * (1 - pred),
        "x_n": is_x,
        "x_hit": is_x * pred,
        "m_n": is_m,
        "m_hit": is_m * pred,
        "se": (p - y) ** 2,
        "se_clim": (clim - y) ** 2,
    }
    return np.stack(
        [
            np.bincount(codes, weights=np.asarray(cols[k], float), minlength=n_regions)
            for k in _STATS
        ],
        axis=1,
    )


def _weighted_auc(
    weights: np.ndarray, codes: np.ndarray, y: np.ndarray, p: np.ndarray, chunk: int = 128
) -> np.ndarray:
    """Exact ROC AUC for each row of region ``weights`` (B, R); ties count one half."""
    order = np.argsort(p, kind="stable")
    ps, yo, co = p[order], y[order].astype(float), codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ps) != 0) + 1] if ps.size else np.array([0])
    out = np.empty(weights.shape[0])
    for lo in range(0, weights.shape[0], chunk):
        w = weights[lo : lo + chunk][:, co]  # (b, n) row weights in probability order
        if ps.size == 0:
            out[lo : lo + chunk] = np.nan
            continue
        bp = np.add.reduceat(w * yo, starts, axis=1)  # positive weight per tie block
        bn = np.add.reduceat(w * (1.0 - yo), starts, axis=1)
        below = np.cumsum(bn, axis=1) - bn  # negative weight strictly below each block
        num = np.sum(bp * (below + 0.5 * bn), axis=1)
        den = bp.sum(axis=1) * bn.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo : lo + chunk] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out


def _stratified_auc(
    weights: np.ndarray, codes: np.ndarray, y: np.ndarray, p: np.ndarray, strata: Any
) -> np.ndarray:
    if strata is None:
        return _weighted_auc(weights, codes, y, p)
    strata = np.asarray(strata)
    if strata.shape != y.shape:
        raise DataError(
            f"strata must have one fold label per row ({y.size}), got shape {strata.shape}"
        )
    per = [
        _weighted_auc(weights, codes[strata == s], y[strata == s], p[strata == s])
        for s in np.unique(strata)
    ]
    stack = np.vstack(per)
    with np.errstate(invalid="ignore"):
        # A resample may leave a fold without one class; average the folds where AUC is defined.
        n_ok = np.sum(~np.isnan(stack), axis=0)
        return np.where(n_ok > 0, np.nansum(stack, axis=0) / np.maximum(n_ok, 1), np.nan)


def bootstrap_scores(
    resampler: RegionResampler,
    y: Any,
    p: Any,
    pred: Any,
    letter: Any,
    climatology: Any,
    *,
    weights: np.ndarray | None = None,
    strata: Any = None,
    auc: bool = True,
) -> dict[str, np.ndarray]:
    """Scores of one forecast on every resample (or on the sample itself).

    Parameters
    ----------
    resampler : RegionResampler
        From :func:`region_resampler` on the same rows, in the same order.
    y : array-like of 0/1, shape (n,)
        Observed class.
    p : array-like of float, shape (n,)
        Forecast probability.
    pred : array-like of 0/1, shape (n,)
        Binary forecast (``p >= threshold`` with each fold's own threshold).
    letter : array-like of str, shape (n,)
        GOES class letter of each row, for X- and M-class recall (the fraction
        of that class's events forecast positive).
    climatology : float or array-like, shape (n,)
        Reference probability for the Brier skill score (each row's training-fold base rate).
    weights : ndarray, shape (B, n_regions), optional
        Default ``resampler.weights``; pass ``resampler.identity`` for the point estimate.
    strata : array-like of int, shape (n,), optional
        Cross-validation fold of each row. When given, the ROC AUC is the mean
        of the within-fold AUCs: each fold's model has its own calibration
        (even climatology predicts a different constant per fold), so ranking
        rows of different folds against each other would measure fold
        offsets, not discrimination. The count scores are pooled over folds.
    auc : bool, default True
        Compute the ROC AUC (the only score not linear in the region sums).

    Returns
    -------
    dict of str to ndarray, shape (B,)
        Every key of :data:`SCORES`; NaN where a resample leaves a score undefined
        (no X events, one class only).
    """
    w = resampler.weights if weights is None else np.asarray(weights, dtype=float)
    n = resampler.codes.size
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    pred = np.asarray(pred, dtype=float)
    letter = np.asarray(letter, dtype=object)
    clim = np.broadcast_to(np.asarray(climatology, dtype=float), (n,))
    if not (y.shape == p.shape == pred.shape == letter.shape == (n,)):
        raise DataError(
            f"bootstrap_scores: y, p, pred and letter must all have the resampler's {n} rows; got "
            f"{y.shape}, {p.shape}, {pred.shape}, {letter.shape}"
        )
    stats = w @ _region_stats(resampler.codes, resampler.regions.size, y, p, pred, letter, clim)
    s = dict(zip(_STATS, stats.T, strict=True))
    scores = scores_from_counts(s["tp"], s["fp"], s["fn"], s["tn"])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "x_recall": np.where(s["x_n"] > 0, s["x_hit"] / s["x_n"], np.nan),
            "m_recall": np.where(s["m_n"] > 0, s["m_hit"] / s["m_n"], np.nan),
            **scores,
            "auc": _stratified_auc(w, resampler.codes, y, p, strata)
            if auc
            else np.full(w.shape[0], np.nan),
            "brier": np.where(s["n"] > 0, s["se"] / s["n"], np.nan),
            "bss": np.where(s["se_clim"] > 0, 1.0 - s["se"] / s["se_clim"], np.nan),
            "base_rate": np.where(s["n"] > 0, s["pos"] / s["n"], np.nan),
        }
    return {k: np.asarray(out[k], dtype=float) for k in SCORES}


def interval(values: Any, level: float = 0.95) -> tuple[float, float, int]:
    """Percentile interval of bootstrap values, ignoring undefined (NaN) resamples.

    Returns
    -------
    (lo, hi, n_undefined)
        The interval bounds (NaN when every resample is undefined) and how many
        resamples were NaN, which a report should state when it is not zero.
    """
    v = np.asarray(values, dtype=float)
    ok = v[~np.isnan(v)]
    if ok.size == 0:
        return float("nan"), float("nan"), int(v.size)
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(ok, [tail, 100.0 - tail])
    return float(lo), float(hi), int(v.size - ok.size)


@dataclasses.dataclass
class Summary:
    """The comparison table, the paired differences and the bootstrap draws behind them.

    ``table``: one row per method (point scores, interval bounds ``<score>_lo/_hi``,
    counts, seed spread ``<score>_seed_sd``). ``comparison``: one row per
    (pair, score) with the paired difference and its interval. ``boot``: the
    resampled scores, method -> score -> (n_boot,). ``notes``: undefined-resample counts.
    """

    table: pd.DataFrame
    comparison: pd.DataFrame
    boot: dict[str, dict[str, np.ndarray]]
    notes: list[str]


def _method_rows(pred: pd.DataFrame, method: str, seed: int, rows: np.ndarray) -> pd.DataFrame:
    sub = pred[(pred["method"] == method) & (pred["seed"] == seed)].sort_values("row")
    if not np.array_equal(sub["row"].to_numpy(), rows):
        raise DataError(
            f"method {method!r} (seed {seed}) did not predict every test row exactly once"
        )
    return sub


def summarise(
    result: ProtocolResult,
    *,
    n_boot: int | None = None,
    level: float | None = None,
    seed: int | None = None,
) -> Summary:
    """Score every method with region-bootstrap intervals, and compare focal with CE paired.

    All methods are scored on the same resamples of regions, so the paired
    difference of two methods on a resample uses the same regions (and, by
    construction of :func:`run_protocol`, the same folds and seeds).

    Parameters
    ----------
    result : ProtocolResult
    n_boot, level, seed : optional
        Override ``result.protocol``'s values.

    Returns
    -------
    Summary
        In ``comparison``, ``difference`` is the point difference, ``lo``/``hi``
        the percentile interval of the paired resampled differences,
        ``significant`` means that interval excludes 0, and ``p_boot`` is the
        two-sided share of resampled differences on the other side of 0 (ties
        at 0 counted half), a rough guide only.
    """
    prot = result.protocol
    n_boot = prot.n_boot if n_boot is None else n_boot
    level = prot.level if level is None else level
    seed = prot.seed if seed is None else seed
    pred = result.predictions
    base = pred[pred["seed"] == -1]
    first = base[base["method"] == base["method"].iloc[0]].sort_values("row")
    rows = first["row"].to_numpy()
    resampler = region_resampler(first["region"].to_numpy(), n_boot=n_boot, seed=seed)
    letter = first["letter"].to_numpy(dtype=object)
    y = first["y"].to_numpy()
    fold = first["fold"].to_numpy()
    table_rows, boot, undefined = [], {}, {}
    for method in result.labels:
        sub = _method_rows(pred, method, -1, rows)
        args = (
            y,
            sub["p"].to_numpy(),
            sub["pred"].to_numpy(),
            letter,
            sub["climatology"].to_numpy(),
        )
        point = {
            k: float(v[0])
            for k, v in bootstrap_scores(
                resampler, *args, weights=resampler.identity, strata=fold
            ).items()
        }
        boot[method] = bootstrap_scores(resampler, *args, strata=fold)
        row: dict[str, Any] = {"method": method, "label": result.labels[method], **point}
        for score in INTERVAL_SCORES:
            lo, hi, n_nan = interval(boot[method][score], level)
            row[f"{score}_lo"], row[f"{score}_hi"] = lo, hi
            if n_nan:
                undefined.setdefault((score, n_nan), []).append(method)
        members = sorted(s for s in pred.loc[pred["method"] == method, "seed"].unique() if s >= 0)
        per_seed = []
        for s in members:
            msub = _method_rows(pred, method, s, rows)
            margs = (
                y,
                msub["p"].to_numpy(),
                msub["pred"].to_numpy(),
                letter,
                msub["climatology"].to_numpy(),
            )
            per_seed.append(
                bootstrap_scores(resampler, *margs, weights=resampler.identity, strata=fold)
            )
        for score in SEED_SCORES:
            vals = [d[score][0] for d in per_seed]
            row[f"{score}_seed_sd"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else float("nan")
        row["n_seeds"] = len(members) if members else 1
        row["threshold_mean"] = float(sub.groupby("fold")["threshold"].first().mean())
        table_rows.append(row)
    table = pd.DataFrame(table_rows)
    notes = [
        f"{score} is undefined in {n_nan} of {n_boot} resamples (for {', '.join(ms)}), "
        "e.g. no X event drawn; those resamples are left out of its interval"
        for (score, n_nan), ms in undefined.items()
    ]
    is_x = letter == "X"
    table["n_test"] = rows.size
    table["n_pos"] = int(y.sum())
    table["n_x"] = int(is_x.sum())
    table["n_x_regions"] = int(pd.unique(first["region"].to_numpy()[is_x]).size)
    table["n_regions"] = int(resampler.regions.size)
    comp_rows = []
    for a, b in PAIRS:
        if a in boot and b in boot:
            for score in PAIRED_SCORES:
                diff = boot[a][score] - boot[b][score]
                lo, hi, _ = interval(diff, level)
                ok = diff[~np.isnan(diff)]
                # Two-sided bootstrap p with ties at zero split evenly (mid-p): discrete
                # scores such as X recall often differ by exactly 0 on a resample.
                below = np.mean(ok < 0) + 0.5 * np.mean(ok == 0) if ok.size else np.nan
                p_two = float(min(1.0, 2 * min(below, 1 - below))) if ok.size else float("nan")
                point = float(
                    table.loc[table.method == a, score].iloc[0]
                    - table.loc[table.method == b, score].iloc[0]
                )
                comp_rows.append(
                    {
                        "comparison": f"{a} - {b}",
                        "method": a,
                        "baseline": b,
                        "score": score,
                        "difference": point,
                        "lo": lo,
                        "hi": hi,
                        "p_boot": p_two,
                        "significant": bool(lo > 0 or hi < 0),
                        "n_boot": n_boot,
                    }
                )
    comparison = pd.DataFrame(
        comp_rows,
        columns=[
            "comparison",
            "method",
            "baseline",
            "score",
            "difference",
            "lo",
            "hi",
            "p_boot",
            "significant",
            "n_boot",
        ],
    )
    return Summary(table, comparison, boot, notes)
