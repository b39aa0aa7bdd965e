"""Block bootstrap over solar rotations: confidence intervals for time-ordered verification.

Neighbouring region-days are not independent: a region lives for days to
weeks, keeps its class, and flares in bursts, and the full-disk probability of
one day is close to the next day's. Resampling single days would treat these
as independent draws and give intervals that are too narrow. Resampling whole
**27-day blocks** (one synodic solar rotation, about the time a region takes to
cross the disk and come back) keeps most of that dependence inside a block,
while a test period of several years still holds dozens of blocks. Resampling
by region instead would keep a region's days together but break the full-disk
days apart, so blocks of days serve both scores.

Blocks are counted from the first test day, so the last block may be short.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError

__all__ = ["ROTATION_DAYS", "rotation_blocks", "block_bootstrap", "block_interval"]

#: Synodic Carrington rotation, rounded to whole days.
ROTATION_DAYS = 27


def rotation_blocks(times: pd.Series | pd.DatetimeIndex, days: int = ROTATION_DAYS) -> np.ndarray:
    """Block number of each row: whole ``days``-day blocks counted from the earliest time.

    Parameters
    ----------
    times : datetime-like, shape (n,)
    days : int, default 27

    Returns
    -------
    ndarray of int, shape (n,)
        0 for the first block.
    """
    if not isinstance(days, int) or days < 1:
        raise ConfigError(f"The block length must be an int >= 1 (days). Got {days!r} instead.")
    t = pd.DatetimeIndex(times)
    if not len(t):
        return np.zeros(0, dtype=np.int64)
    elapsed = (t - t.min().floor("D")) // pd.Timedelta(days=days)
    return np.asarray(elapsed, dtype=np.int64)


def block_bootstrap(blocks: np.ndarray, n_boot: int, seed: int) -> list[np.ndarray]:
    """Row indices of ``n_boot`` resamples, each drawing as many blocks as there are, with replacement.

    Parameters
    ----------
    blocks : ndarray of int, shape (n,)
        Block number of each row (:func:`rotation_blocks`).
    n_boot : int
    seed : int

    Returns
    -------
    list of ndarray of int
        Each holds every row of each drawn block (a block drawn twice appears twice).
    """
    blocks = np.asarray(blocks)
    ids, inverse = np.unique(blocks, return_inverse=True)
    members = [np.flatnonzero(inverse == k) for k in range(len(ids))]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_boot):
        drawn = rng.integers(0, len(ids), size=len(ids))
        out.append(np.concatenate([members[k] for k in drawn]) if len(ids) else np.zeros(0, int))
    return out


def block_interval(
    statistic: Callable[[np.ndarray], float],
    resamples: list[np.ndarray],
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of ``statistic(indices)`` over the resamples (NaN ones ignored).

    Returns
    -------
    (low, high)
        NaN, NaN when no resample gave a finite value.
    """
    values = np.array([statistic(idx) for idx in resamples], dtype=float)
    values = values[np.isfinite(values)]
    if not values.size:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)
