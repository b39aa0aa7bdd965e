"""Leak-free train/test splits: by active region, or by time with a gap.

Snapshots of one active region taken hours apart are near-duplicates, so a
random row split puts almost the same sample on both sides and inflates every
score (the umich files: 57 % of rows within 6 h of the previous row of the
same region). Every split here keeps each NOAA region on one side:

- :func:`region_kfold`: stratified K-fold over regions (scikit-learn's
  ``StratifiedGroupKFold``, shuffled with a seed);
- :func:`chronological_split`: train before ``cutoff - gap``, test from
  ``cutoff``, optionally removing from train the regions that straddle the cutoff;
- :func:`inner_validation`: a region-level validation part carved out of a
  training part, for early stopping and threshold choice.

All functions return sorted integer indices into the full arrays. They take
randomness only as an explicit seed and never import torch.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from flarecast.errors import ConfigError, DataError, DataWarning, refuse_rows, warn_user
from flarecast.time import parse_duration

__all__ = ["region_kfold", "cutoff_and_gap", "chronological_split", "inner_validation"]


def _region_codes(groups: Any, n: int) -> np.ndarray:
    """Validate region labels (1-D, length ``n``, none missing); return int64 codes.

    Codes number the distinct regions in sorted order, so results do not depend on row order.
    """
    if isinstance(groups, pd.Series | pd.Index):
        arr = groups.to_numpy(dtype=object)
    else:
        arr = np.asarray(groups, dtype=object)
    if arr.ndim != 1 or len(arr) != n:
        raise DataError(
            f"groups must be 1-D with one region per row ({n} rows); got shape {arr.shape}."
        )
    refuse_rows(
        pd.isna(arr),
        "groups (region numbers) are missing at",
        "; every row needs a region to be split without leakage.",
    )
    return pd.factorize(pd.Series(arr), sort=True)[0].astype(np.int64)


def _labels_and_groups(y: Any, groups: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate a binary ``y`` and its region ``groups``; return ``y`` (int8) and region codes."""
    y_arr = np.asarray(y)
    if y_arr.ndim != 1:
        raise DataError(f"y must be 1-D; got shape {y_arr.shape}.")
    if len(y_arr) == 0:
        raise DataError("Cannot split an empty table (0 rows).")
    refuse_rows(~np.isin(y_arr, [0, 1]), "y must hold only 0 and 1; bad values at", values=y_arr)
    return y_arr.astype(np.int8), _region_codes(groups, len(y_arr))


def region_kfold(
    y: Any, groups: Any, n_splits: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K-fold over regions: every region's rows fall in exactly one test fold.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
        Binary target, used to balance the positive fraction across folds.
    groups : array-like, shape (n,)
        Region of each row (NOAA number); no missing values.
    n_splits : int, default 5
        Number of folds, >= 2 and <= the number of regions.
    seed : int, default 0
        Seed of the region shuffle.

    Returns
    -------
    list of (train_idx, test_idx)
        ``n_splits`` pairs of sorted int64 index arrays into the full arrays.

    Raises
    ------
    ConfigError
        ``n_splits`` is not an int >= 2.
    DataError
        Bad ``y``/``groups``, fewer regions than folds, or no region with a positive.

    Warns
    -----
    DataWarning
        Fewer regions with a positive than folds: some test folds hold no positive.
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, int | np.integer) or n_splits < 2:
        raise ConfigError(
            f"The 'n_splits' parameter of region_kfold must be an int >= 2. Got {n_splits!r} instead."
        )
    y_arr, g = _labels_and_groups(y, groups)
    regions = np.unique(g)
    positive_regions = np.unique(g[y_arr == 1])
    if len(regions) < n_splits:
        raise DataError(
            f"Cannot make {n_splits} region folds from {len(regions)} region(s); "
            f"use n_splits <= {len(regions)} or more data."
        )
    if len(positive_regions) == 0:
        raise DataError(
            f"No region has a positive row (0 of {len(regions)} regions), so no fold can be scored; "
            "check the target definition (negatives / positive threshold)."
        )
    if len(positive_regions) < n_splits:
        warn_user(
            f"Only {len(positive_regions)} region(s) have a positive row for {n_splits} folds: "
            f"{n_splits - len(positive_regions)} test fold(s) will hold no positive.",
            DataWarning,
        )
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # scikit-learn's "least populated class" warning counts rows; the region-level
        # DataWarning above already says what matters, once.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        pairs = list(folds.split(np.zeros(len(y_arr)), y_arr, g))
    return [(np.sort(tr).astype(np.int64), np.sort(te).astype(np.int64)) for tr, te in pairs]


def _utc_times(times: Any) -> pd.DatetimeIndex:
    """``times`` as a UTC index; naive or missing times are refused.

    Not :func:`flarecast.time.to_utc`: that is the boundary parser, which reads text and may
    read naive times as UTC. A split takes times already parsed there, so a naive time here
    means the boundary was skipped, and the error says where to parse them.
    """
    try:
        index = pd.DatetimeIndex(times)
    except (TypeError, ValueError) as exc:
        raise DataError(f"times must be datetimes; could not read them ({exc}).") from exc
    if index.tz is None:
        raise DataError(
            "times must be timezone-aware (UTC); got naive datetimes. "
            "Read them with pd.to_datetime(..., utc=True)."
        )
    refuse_rows(index.isna(), "times are missing (NaT) at", shown="NaT")
    return index.tz_convert("UTC")


def cutoff_and_gap(
    cutoff: Any, gap: Any, what: str, names: tuple[str, str] = ("cutoff", "gap")
) -> tuple[pd.Timestamp, pd.Timedelta]:
    """``cutoff`` as a UTC time and ``gap`` as a duration >= 0.

    The cutoff is read by pandas (as :class:`flarecast.evaluation.protocol.Protocol` checks
    it), a naive one as UTC; the gap by :func:`flarecast.time.parse_duration`, so it needs a
    unit (a bare ``24`` is refused, as on the command line). A :class:`ConfigError` starts
    with ``what``; ``names`` are the parameters' names in it.
    """
    try:
        step = parse_duration(gap, name=names[1])
        cut = pd.Timestamp(cutoff)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what}: {exc}") from exc
    if cut is pd.NaT:
        raise ConfigError(f"{what}: the {names[0]} {cutoff!r} is not a time.")
    return (cut.tz_localize("UTC") if cut.tzinfo is None else cut.tz_convert("UTC")), step


def chronological_split(
    times: Any, cutoff: Any, gap: Any = "24h", *, groups: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split by time: train strictly before ``cutoff - gap``, test from ``cutoff`` on.

    Rows in ``[cutoff - gap, cutoff)`` belong to neither side: with a gap at
    least as long as the forecast window, no training label can see a flare
    that a test sample is asked to forecast.

    A region alive across the cutoff has rows on both sides; its later
    snapshots resemble its earlier ones, which leaks a little. Pass ``groups``
    to remove such *straddling* regions from train (test keeps them, so the
    test period stays complete), leaving no region on both sides.

    Parameters
    ----------
    times : array-like of tz-aware datetimes, shape (n,)
        Sample times (a Series of ``datetime64[ns, UTC]`` or similar); naive times are refused.
    cutoff : str or pandas.Timestamp
        Start of the test period; a naive value is read as UTC.
    gap : str or pandas.Timedelta, default "24h"
        Embargo before the cutoff, >= 0; text needs a unit (``"24h"``, ``"2d"``).
    groups : array-like, shape (n,), optional
        Region of each row; when given, straddling regions are dropped from train.

    Returns
    -------
    train_idx, test_idx : numpy.ndarray of int64
        Sorted indices into ``times``.

    Raises
    ------
    ConfigError
        Unreadable ``cutoff`` or ``gap``, or a negative gap.
    DataError
        Naive or missing times, or an empty side (the message gives the time span).
    """
    index = _utc_times(times)
    cut, step = cutoff_and_gap(
        cutoff,
        gap,
        f"chronological_split needs a cutoff time and a gap duration; got cutoff={cutoff!r}, "
        f"gap={gap!r}",
    )
    train = np.flatnonzero(index < cut - step)
    test = np.flatnonzero(index >= cut)
    if groups is not None:
        g = _region_codes(groups, len(index))
        straddling = np.isin(g[train], g[test])
        train = train[~straddling]
    if len(train) == 0 or len(test) == 0:
        side = "training" if len(train) == 0 else "test"
        raise DataError(
            f"Chronological split at {cut} with gap {step} leaves no {side} rows; the times span "
            f"{index.min()} to {index.max()}. Choose a cutoff inside that span."
        )
    return train.astype(np.int64), test.astype(np.int64)


def inner_validation(
    y: Any, groups: Any, train_idx: Any, fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Carve a region-level validation part out of a training part.

    Regions of the training part are split into those with at least one
    positive row and the rest; from each kind a ``fraction`` of the regions
    (rounded, at least one, never all) goes to validation. So both sides get
    positive regions and no region is on both sides. ``fraction`` counts
    regions, not rows.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
        Binary target over the *full* arrays.
    groups : array-like, shape (n,)
        Region of each row over the full arrays.
    train_idx : array-like of int, shape (m,)
        Indices of the training part (e.g. from :func:`region_kfold`).
    fraction : float, default 0.2
        Share of the training regions, in (0, 1), put in validation.
    seed : int, default 0
        Seed of the region draw.

    Returns
    -------
    fit_idx, val_idx : numpy.ndarray of int64
        Sorted, disjoint subsets of ``train_idx`` whose union is ``train_idx``.

    Raises
    ------
    ConfigError
        ``fraction`` outside (0, 1).
    DataError
        Bad indices, or fewer than two training regions with a positive row.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, float | int) or not 0 < fraction < 1:
        raise ConfigError(
            f"The 'fraction' parameter of inner_validation must be a float in (0, 1). Got {fraction!r} instead."
        )
    y_arr, g = _labels_and_groups(y, groups)
    idx = np.asarray(train_idx)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise DataError(
            f"train_idx must be a 1-D array of integer indices; got dtype {idx.dtype}, shape {idx.shape}."
        )
    refuse_rows(
        (idx < 0) | (idx >= len(y_arr)),
        f"train_idx points outside the {len(y_arr)} rows:",
        values=idx,
    )
    if len(np.unique(idx)) != len(idx):
        raise DataError("train_idx holds repeated indices; pass each training row once.")
    g_train, y_train = g[idx], y_arr[idx]
    positive = np.unique(g_train[y_train == 1])
    others = np.setdiff1d(g_train, positive)
    if len(positive) < 2:
        raise DataError(
            f"Inner validation needs at least 2 training regions with a positive row (one to fit on, "
            f"one to validate on); the training part has {len(positive)} of {len(np.unique(g_train))} "
            "regions. Use fewer folds, a lower positive threshold or more data."
        )
    rng = np.random.default_rng(seed)

    def draw(regions: np.ndarray) -> np.ndarray:
        if len(regions) < 2:
            return regions[:0]
        k = min(max(1, round(fraction * len(regions))), len(regions) - 1)
        return rng.permutation(regions)[:k]  # regions are sorted codes: row order does not matter

    chosen = np.concatenate([draw(positive), draw(others)])
    in_val = np.isin(g_train, chosen)
    return np.sort(idx[~in_val]).astype(np.int64), np.sort(idx[in_val]).astype(np.int64)
