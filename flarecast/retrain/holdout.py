"""Step 2 of a retrain: the hold-out is the latest period; the new model trains before it.

Training rows end ``gap = latency + horizon`` before the hold-out starts, so no
training label window reaches into it, and regions alive across the start are
left out of training by default (:func:`flarecast.splits.chronological_split`).
The default hold-out is the last ``holdout_days`` of labelled records, moved
earlier until it holds enough positive rows to score (a quiet solar minimum
at the end of a series can hold none).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError, DataError
from flarecast.time import to_utc

__all__ = ["default_start", "holdout_split", "suggest_start", "need_both_classes"]


def _positive_days(index: pd.DatetimeIndex, y: Any) -> pd.DatetimeIndex:
    """Days (00:00 UTC) of the positive rows, oldest first."""
    return index[np.asarray(y).astype(bool)].floor("D").sort_values()


def suggest_start(index: pd.DatetimeIndex, y: Any, n: int) -> pd.Timestamp | None:
    """The latest 00:00 UTC from which the rows hold at least ``n`` positives (None if none can)."""
    days = _positive_days(index, y)
    if n < 1 or len(days) < n:
        return None
    return days[-n]


def default_start(
    index: pd.DatetimeIndex, days: float, *, y: Any = None, min_positives: int = 0
) -> tuple[pd.Timestamp, str]:
    """The default hold-out start and, in words, how it was chosen.

    ``days`` before the newest record, floored to 00:00 UTC; when that period
    holds fewer than ``min_positives`` positive rows, the start moves back to
    the latest 00:00 UTC that gives it that many. The target is capped at half
    of all positive rows, so training keeps the rest (less any positives that
    share the start's day).
    """
    if not days > 0:
        raise ConfigError(
            f"The 'holdout_days' parameter must be a number > 0. Got {days!r} instead."
        )
    cutoff = (index.max() - pd.Timedelta(days=float(days))).floor("D")
    rule = f"the last {days:g} days"
    if y is None or min_positives <= 0:
        return cutoff, rule
    positive = np.asarray(y).astype(bool)
    held = int(positive[np.asarray(index >= cutoff)].sum())
    want = min(int(min_positives), int(positive.sum()) // 2)
    earlier = suggest_start(index, y, want)
    if held >= want or earlier is None or earlier >= cutoff:
        return cutoff, rule
    return earlier, (
        f"moved back from {cutoff:%Y-%m-%d} (the last {days:g} days held {held} positive rows) "
        f"to hold at least {want} positive rows"
    )


def holdout_split(
    times: Any,
    groups: Any,
    *,
    gap: str | pd.Timedelta,
    start: Any = None,
    days: float = 90.0,
    drop_straddling: bool = True,
    y: Any = None,
    min_positives: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The latest period as hold-out; training rows before ``start - gap``.

    Parameters
    ----------
    times : array-like of tz-aware datetimes, shape (n,)
    groups : array-like, shape (n,)
        Region of each row.
    gap : str or pandas.Timedelta
        Embargo before the hold-out, at least latency + horizon.
    start : str or Timestamp, optional
        First hold-out time, with a zone (a naive time is refused, as by
        :func:`flarecast.forecast.core.make_forecast`; the command line reads its
        options as UTC before they get here). Default: ``days`` before the last time,
        floored to 00:00 UTC, moved earlier when needed to hold ``min_positives``
        positive rows (see :func:`default_start`).
    days : float, default 90
        Length of the default hold-out, days.
    drop_straddling : bool, default True
        Leave regions with rows on both sides out of training.
    y : array-like of {0, 1}, shape (n,), optional
        Labels, for ``min_positives``.
    min_positives : int, default 0
        Positive rows the default hold-out must hold (at most half of all positives).

    Returns
    -------
    train_idx, test_idx : ndarray of int64
        Sorted indices into ``times``.
    info : dict
        JSON-ready: ``start``, ``end`` (last hold-out time), ``rule`` (how the
        start was chosen), ``gap``, ``train_end`` (newest training time), row
        counts and ``straddling_rows_dropped``.
    """
    from flarecast.splits import chronological_split

    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(times), utc=True))
    if start is None:
        cutoff, rule = default_start(index, days, y=y, min_positives=min_positives)
    else:
        cutoff, rule = to_utc(start, column="holdout_start"), "given (--holdout-start)"
    step = pd.Timedelta(gap)
    train_all, test = chronological_split(index, cutoff, step)
    train = train_all
    if drop_straddling:
        train, test = chronological_split(index, cutoff, step, groups=groups)
    info = {
        "start": cutoff.isoformat(),
        "end": index[test].max().isoformat(),
        "rule": rule,
        "gap": f"{step / pd.Timedelta('1h'):g}h",
        "train_end": index[train].max().isoformat(),
        "train_rows": int(len(train)),
        "test_rows": int(len(test)),
        "embargoed_rows": int(len(index) - len(train_all) - len(test)),
        "straddling_rows_dropped": int(len(train_all) - len(train)),
        "straddling_regions_dropped": int(
            len(np.unique(np.asarray(groups)[np.setdiff1d(train_all, train)]))
        ),
    }
    return train, test, info


def need_both_classes(y: np.ndarray, where: str, definition: str, hint: str) -> None:
    """Refuse a part of the split that holds only one class, with ``hint`` on what to change."""
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        raise DataError(
            f"The {where} holds {len(y)} rows with {n_pos} positive ({definition}): both classes are "
            f"needed. {hint}"
        )
