"""Largest event value per record over a time window of the record's own region, vectorised.

The one piece of machinery behind the time-window labels (:mod:`flarecast.labels`)
and the flare-history features (:mod:`flarecast.features.history`): events are
sorted by (region, time, flux); each record's window becomes a slice of that
order found with ``numpy.searchsorted`` on packed (region, time-rank) integer
keys, and the largest value of each slice comes from a sparse table (O(1)
range-maximum queries after O(n log n) set-up). There is no Python loop over
records, and the result does not depend on the order of records or events.
"""

from __future__ import annotations

import numpy as np

__all__ = ["window_max"]


def window_max(
    record_keys: np.ndarray,
    record_times: np.ndarray,
    event_keys: np.ndarray,
    event_times: np.ndarray,
    event_flux: np.ndarray,
    lo: int,
    hi: int,
) -> np.ndarray:
    """Largest ``event_flux`` per record over events of the same key with time in ``(t + lo, t + hi]``.

    Parameters
    ----------
    record_keys : ndarray of float, shape (n,)
        Region of each record (NaN = none: result 0).
    record_times : ndarray of int64, shape (n,)
        Record times, ns since the epoch.
    event_keys : ndarray of int64, shape (m,)
    event_times : ndarray of int64, shape (m,)
        Event times, ns.
    event_flux : ndarray of float, shape (m,)
        Peak flux, W m^-2 (>= 0).
    lo, hi : int
        Window offsets from the record time, ns, ``lo < hi``.

    Returns
    -------
    ndarray of float64, shape (n,)
        0 where the window holds no event.
    """
    n = len(record_times)
    out = np.zeros(n)
    if n == 0 or len(event_keys) == 0:
        return out
    # Events in canonical order (key, time, flux): the result cannot depend on input order.
    order = np.lexsort((event_flux, event_times, event_keys))
    ekey, etime, eflux = event_keys[order], event_times[order], event_flux[order]
    regions = np.unique(ekey)
    # Times become ranks among the distinct event times, so (region, rank) packs into one int64:
    # an event is <= a bound exactly when its rank is <= the bound's count of distinct times <= it.
    distinct = np.unique(etime)
    width = len(distinct) + 1
    ecode = np.searchsorted(regions, ekey)
    packed = ecode * width + np.searchsorted(distinct, etime, side="right")

    known = ~np.isnan(record_keys)
    rk = np.where(known, record_keys, -1).astype(np.int64)
    rcode = np.clip(np.searchsorted(regions, rk), 0, len(regions) - 1)
    has_events = known & (regions[rcode] == rk)
    base = rcode * width

    def position(offset: int) -> np.ndarray:
        rank = np.searchsorted(distinct, record_times + offset, side="right")
        return np.searchsorted(packed, base + rank, side="right")

    left, right = position(lo), position(hi)
    nonempty = has_events & (right > left)
    idx = np.flatnonzero(nonempty)
    if len(idx):
        out[idx] = _range_max(eflux, left[idx], right[idx])
    return out


def _range_max(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """max(values[left[i]:right[i]]) for every i (non-empty ranges) with a sparse table."""
    m = len(values)
    levels = [values]
    step = 1
    while 2 * step <= m:
        prev = levels[-1]
        levels.append(np.maximum(prev[:-step], prev[step:]))
        step *= 2
    table = np.zeros((len(levels), m))
    for j, level in enumerate(levels):
        table[j, : len(level)] = level
    length = right - left
    k = np.frexp(length.astype(np.float64))[1] - 1  # floor(log2(length)), exact
    return np.maximum(table[k, left], table[k, right - (1 << k)])
