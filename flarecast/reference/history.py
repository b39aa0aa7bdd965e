"""The previous day of each region-day: the input of MCEVOL and persistence.

A region-day's previous day is the same region's row issued exactly one day
earlier. It is known at issue time (the previous UT day ended 30 minutes before
the 00:30 UT SRS issue), so using it is no look-ahead. A region seen for the
first time, or with a gap in its record, has no previous day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flarecast.data.schema import NOAA_AR, TIME
from flarecast.data.tables.srs import mcintosh_class

__all__ = ["PREV_CLASS", "PREV_EVENT", "previous_day", "with_previous_day"]

#: Column added by :func:`with_previous_day`: the previous day's McIntosh class (missing when unknown).
PREV_CLASS = "prev_mcintosh"
#: Column added by :func:`with_previous_day`: 1.0 when the previous day had an event, 0.0 when
#: it had none, NaN when there is no previous day.
PREV_EVENT = "prev_event"


def previous_day(frame: pd.DataFrame) -> np.ndarray:
    """Position of each row's previous-day row (same region, issued one day earlier); -1 when none.

    Parameters
    ----------
    frame : pandas.DataFrame, shape (n, ...)
        With ``time`` and ``noaa_ar``; any order.

    Returns
    -------
    ndarray of int, shape (n,)
    """
    keys = pd.MultiIndex.from_arrays([frame[TIME], frame[NOAA_AR].astype("int64")])
    where = pd.Series(np.arange(len(frame)), index=keys)
    wanted = pd.MultiIndex.from_arrays(
        [frame[TIME] - pd.Timedelta(days=1), frame[NOAA_AR].astype("int64")]
    )
    found = where.reindex(wanted)
    return found.fillna(-1).to_numpy(dtype=np.int64)


def with_previous_day(frame: pd.DataFrame, event: np.ndarray) -> pd.DataFrame:
    """A copy of ``frame`` with :data:`PREV_CLASS` and :data:`PREV_EVENT` added.

    Parameters
    ----------
    frame : pandas.DataFrame, shape (n, ...)
        A region-day table with the McIntosh component columns.
    event : array-like of 0/1, shape (n,)
        Whether each row's day had an event at the target threshold.

    Returns
    -------
    pandas.DataFrame
    """
    prev = previous_day(frame)
    known = prev >= 0
    classes = mcintosh_class(frame)
    out = frame.copy()
    out[PREV_CLASS] = np.where(known, classes[np.where(known, prev, 0)], None)
    event = np.asarray(event, dtype=float)
    out[PREV_EVENT] = np.where(known, event[np.where(known, prev, 0)], np.nan)
    return out
