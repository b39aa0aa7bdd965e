"""Intervals for paired differences over repeated region-grouped K-fold partitions.

One K-fold partition gives K paired differences (method A minus method B,
scored on the same test fold). A region bootstrap inside that partition only
resamples test outcomes: it holds the partition and the network seeds fixed,
so it leaves out the variance that comes from which regions trained which
model, and its intervals are too narrow for "is A better than B on this kind
of data". Repeating the partition R times with fresh folds, inner splits and
seeds brings that variance in; this module turns the R x K differences into a
mean, an interval and a p-value.

The procedure: the corrected repeated k-fold t-test
----------------------------------------------------
Nadeau, C. & Bengio, Y. (2003), "Inference for the generalization error",
Machine Learning 52:239-281; as "corrected repeated k-fold cv test" in
Bouckaert, R. R. & Frank, E. (2004), "Evaluating the replicability of
significance tests for comparing learning algorithms", PAKDD, LNCS 3056:3-12.

With ``n = R * K`` differences ``d``, their mean ``m`` and sample variance
``s2`` (ddof 1), and ``ratio = n_test / n_train``::

    se  = sqrt((1 / n + ratio) * s2)
    t   = m / se,  df = n - 1 (Student t)
    CI  = m +- t_{df, (1 + level) / 2} * se

The naive t-test uses ``1 / n``; the extra ``ratio`` term accounts for the
correlation between differences whose training sets overlap (every pair of
folds shares most of its training rows, and so do the repeats), which makes
the naive test reject far too often (Dietterich 1998). Here ``ratio`` is the
mean over the (repeat, fold) cells of ``n_test / n_train``, counted in rows, as
region-grouped folds differ slightly in size.

Why this one and not a hierarchical bootstrap (regions, then repeats): it is
calibrated in the published simulations (Bouckaert & Frank 2004: type-I error
near nominal for 10 x 10 CV), it needs nothing but the R x K paired
differences the protocol produces anyway (no refits, no resampling of
predictions), and it stays usable with R = 10 repeats, where a bootstrap over
10 repeat values is coarse. The calibration test in ``tests/test_repeated.py``
checks it on synthetic data with region-grouped folds (:func:`repeated_folds`).

Pooled variant
--------------
Scores that are not means over folds (AUC pooled over all test rows of a
partition, or a seed-ensemble figure over the whole table) give one value per
repeat: R differences, each scored on all tested rows. :func:`corrected_ttest_pooled`
applies the same correction to them with ``n = R``, ``df = R - 1`` and
``ratio = n_test / n_train`` where ``n_test`` is the number of rows tested in one
repeat (every row once: the whole table) and ``n_train`` the mean training
rows of its folds, so ``ratio`` is about ``K / (K - 1)``. This reads the
Nadeau-Bengio correlation heuristic, ``rho = n_test / (n_test + n_train)``,
with each repeat as one "test set" of the size of the table. It is more
conservative than the per-fold test for the same data; the calibration test
checks both.

Nothing here imports torch; all functions are pure.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy import stats

from flarecast import splits
from flarecast.errors import ConfigError, DataError

__all__ = [
    "PairedInterval",
    "corrected_ttest",
    "corrected_ttest_pooled",
    "repeat_seed",
    "repeated_folds",
]


@dataclasses.dataclass(frozen=True)
class PairedInterval:
    """A paired difference (A minus B) with its corrected interval.

    Attributes
    ----------
    mean : float
        Mean of the differences.
    low, high : float
        Bounds of the ``level`` interval.
    p_value : float
        Two-sided p-value of "the expected difference is zero".
    se : float
        Corrected standard error.
    df : int
        Degrees of freedom of the t distribution.
    n : int
        Number of differences (R x K, or R for the pooled variant).
    ratio : float
        ``n_test / n_train`` used in the correction.
    level : float
        Confidence level.
    procedure : str
        "corrected repeated k-fold t-test (Nadeau & Bengio 2003)", per fold or pooled per repeat.
    """

    mean: float
    low: float
    high: float
    p_value: float
    se: float
    df: int
    n: int
    ratio: float
    level: float
    procedure: str

    def covers(self, value: float = 0.0) -> bool:
        """True when ``value`` lies inside ``[low, high]``, or the interval is undefined (no evidence against it)."""
        if np.isnan(self.low) or np.isnan(self.high):
            return True
        return bool(self.low <= value <= self.high)


def _check_level(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
        raise ConfigError(
            f"The 'level' parameter of the corrected t-test must be a float in (0, 1). "
            f"Got {level!r} instead."
        )
    return float(level)


def _check_finite(d: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(d)
    if bad.any():
        cells = [np.unravel_index(k, d.shape) for k in np.flatnonzero(bad)]
        shown = ", ".join(f"repeat {r} fold {k}: {float(d[r, k])!r}" for r, k in cells[:5])
        more = f" (and {len(cells) - 5} more)" if len(cells) > 5 else ""
        raise DataError(
            f"{what}: {len(cells)} difference(s) are not finite (a score undefined on a test fold, "
            f"e.g. AUC with one class) at {shown}{more}; drop that score or use folds that hold "
            "both classes."
        )


def _ratio(n_train: Any, n_test: Any, shape: tuple[int, ...], what: str) -> float:
    """Mean of ``n_test / n_train`` over cells; scalars or arrays broadcast to ``shape``."""
    try:
        tr = np.broadcast_to(np.asarray(n_train, dtype=float), shape)
        te = np.broadcast_to(np.asarray(n_test, dtype=float), shape)
    except ValueError as exc:
        raise DataError(
            f"{what}: n_train and n_test must be numbers or arrays of the differences' shape {shape}; "
            f"got shapes {np.shape(n_train)} and {np.shape(n_test)}."
        ) from exc
    if not (np.isfinite(tr).all() and np.isfinite(te).all() and (tr > 0).all() and (te > 0).all()):
        raise DataError(f"{what}: n_train and n_test must be positive row counts.")
    return float(np.mean(te / tr))


def _interval(d: np.ndarray, ratio: float, level: float, procedure: str) -> PairedInterval:
    n = d.size
    df = n - 1
    if np.all(d == d[0]):
        # No spread between the differences: the variance the test needs cannot be estimated.
        # Equal methods (all differences 0) are no evidence of a difference; a constant non-zero
        # difference (a discrete score such as X recall over few repeats) is not evidence of
        # certainty either, so its interval and p-value are undefined rather than a zero width.
        mean = float(d[0])
        if mean == 0.0:
            return PairedInterval(mean, mean, mean, 1.0, 0.0, df, n, ratio, level, procedure)
        nan = float("nan")
        return PairedInterval(mean, nan, nan, nan, nan, df, n, ratio, level, procedure)
    mean = float(d.mean())
    se = float(np.sqrt((1.0 / n + ratio) * d.var(ddof=1)))
    t = mean / se
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    p = float(2 * stats.t.sf(abs(t), df))
    return PairedInterval(mean, mean - half, mean + half, p, se, df, n, ratio, level, procedure)


def corrected_ttest(
    differences: Any, n_train: Any, n_test: Any, level: float = 0.95
) -> PairedInterval:
    """Corrected repeated k-fold t-test of per-fold paired differences (Nadeau & Bengio 2003).

    Parameters
    ----------
    differences : array-like of float, shape (R, K)
        Score of method A minus score of method B on test fold ``k`` of
        repeat ``r`` (both fitted on the same training rows). A 1-D array is
        read as one repeat, shape (1, K).
    n_train, n_test : int or array-like, shape (R, K)
        Training and test rows of each cell (or one number for all); the
        correction uses the mean of ``n_test / n_train``.
    level : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    PairedInterval
        ``df = R * K - 1``.

    Raises
    ------
    ConfigError
        ``level`` outside (0, 1).
    DataError
        Fewer than 2 differences, a non-finite difference (named by cell), or bad row counts.
    """
    level = _check_level(level)
    d = np.asarray(differences, dtype=float)
    if d.ndim == 1:
        d = d[None, :]
    if d.ndim != 2 or d.size < 2:
        raise DataError(
            f"corrected_ttest needs an (R, K) array of at least 2 paired differences; got shape {d.shape}."
        )
    _check_finite(d, "corrected_ttest")
    ratio = _ratio(n_train, n_test, d.shape, "corrected_ttest")
    return _interval(
        d.ravel(), ratio, level, "corrected repeated k-fold t-test (Nadeau & Bengio 2003), per fold"
    )


def corrected_ttest_pooled(
    differences: Any, n_train: Any, n_test: Any, level: float = 0.95
) -> PairedInterval:
    """The corrected t-test for one pooled difference per repeat (see the module notes).

    Parameters
    ----------
    differences : array-like of float, shape (R,)
        Per repeat, A minus B scored on all rows tested in that repeat (e.g.
        AUC pooled over the K test folds).
    n_train : float or array-like, shape (R,)
        Mean training rows of the repeat's folds.
    n_test : int or array-like, shape (R,)
        Rows tested in the repeat (the whole table for K-fold).
    level : float, default 0.95

    Returns
    -------
    PairedInterval
        ``df = R - 1``; ``ratio`` about ``K / (K - 1)``.

    Raises
    ------
    ConfigError, DataError
        As :func:`corrected_ttest`; R must be >= 2.
    """
    level = _check_level(level)
    d = np.asarray(differences, dtype=float)
    if d.ndim != 1 or d.size < 2:
        raise DataError(
            "corrected_ttest_pooled needs one difference per repeat, 1-D with at least 2 repeats; "
            f"got shape {d.shape}."
        )
    _check_finite(d[:, None], "corrected_ttest_pooled")
    ratio = _ratio(n_train, n_test, d.shape, "corrected_ttest_pooled")
    return _interval(
        d,
        ratio,
        level,
        "corrected repeated k-fold t-test (Nadeau & Bengio 2003), pooled per repeat",
    )


def repeat_seed(base: int, repeat: int) -> int:
    """The seed of repeat ``repeat`` of a run seeded ``base``.

    Repeat 0 keeps ``base``, so a one-repeat run is the single-partition run
    of the same seed. Later repeats take a value derived from ``(base,
    repeat)`` by :class:`numpy.random.SeedSequence`, below 2**31 with room for
    the per-fold offsets the protocol adds, so no two repeats share the
    ``base + k`` seeds that a plain ``base + repeat`` would give them.

    Parameters
    ----------
    base : int >= 0
    repeat : int >= 0

    Returns
    -------
    int
    """
    for name, value in (("base", base), ("repeat", repeat)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ConfigError(
                f"The {name!r} parameter of repeat_seed must be an int >= 0. Got {value!r} instead."
            )
    if repeat == 0:
        return int(base)
    state = np.random.SeedSequence([int(base), int(repeat)]).generate_state(1, dtype=np.uint32)
    return int(state[0] % (2**31 - 2**16))


def repeated_folds(
    y: Any, groups: Any, n_splits: int = 5, repeats: int = 10, seed: int = 0
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """R region-grouped stratified K-fold partitions, repeat ``r`` seeded :func:`repeat_seed`.

    Parameters
    ----------
    y, groups, n_splits
        As :func:`flarecast.splits.region_kfold`.
    repeats : int >= 1, default 10
    seed : int, default 0
        Base seed; repeat 0 is ``region_kfold(..., seed=seed)``.

    Returns
    -------
    list (length R) of list (length K) of (train_idx, test_idx)
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int | np.integer) or repeats < 1:
        raise ConfigError(
            f"The 'repeats' parameter of repeated_folds must be an int >= 1. Got {repeats!r} instead."
        )
    return [
        splits.region_kfold(y, groups, n_splits=n_splits, seed=repeat_seed(seed, r))
        for r in range(repeats)
    ]
