"""Bootstrap over active regions, vectorised through per-region sufficient statistics.

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
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError, DataError
from flarecast.evaluation.metrics import scores_from_counts

__all__ = ["SCORES", "RegionResampler", "region_resampler", "bootstrap_scores", "interval"]

_STATS = ("n", "pos", "tp", "fp", "fn", "tn", "x_n", "x_hit", "m_n", "m_hit", "se", "se_clim")

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
