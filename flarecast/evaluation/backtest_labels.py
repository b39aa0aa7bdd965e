"""The backtest's products: which flare class, which forecast day, from a region-day table.

SWPC issues P(>=C), P(>=M) and P(>=X) for days 1, 2 and 3. A region-day table
such as hayes-srs holds, per NOAA SRS issue (00:30 UT) and region, the counts
of C, M and X flares the region produced on the issue's UT day. From it:

- **class threshold** (``positive`` "C", "M" or "X", i.e. C1.0, M1.0, X1.0):
  the event is at least one flare of that class or above, from the counts;
  other thresholds (M5.0) cannot be read from counts per class and are refused;
- **day 1** (``horizon_days=1``): the issue day's counts, the table's labels;
- **day k** (``horizon_days=k``): the counts of the *same region's* row issued
  ``k - 1`` days later. A region with no such row (it rotated off the disk, or
  the SRS did not list it that day) has an **unknown** label: the row is left
  out of fitting and scoring and counted in ``run.json``, never scored as a
  negative. Flares of regions that emerge after the issue are thereby missed by
  the region-day truth (the full-disk truth from a catalogue counts them);
- **latency**: the counts cover whole UT days, so a label window cannot start
  hours after the issue; any non-zero latency is refused.

The features of a row (yesterday's event included) stay those known at issue
time; only the label moves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import NOAA_AR, TIME
from flarecast.errors import ConfigError

__all__ = ["EVENT_COLUMNS", "THRESHOLDS", "day_counts", "target_counts", "shift_truth"]

#: Count columns summed for an event at or above each class.
EVENT_COLUMNS = {"C": ("flares_c", "flares_m", "flares_x"), "M": ("flares_m", "flares_x"),
                 "X": ("flares_x",)}  # fmt: skip
#: ``--positive-threshold`` values a count table can give, and their class.
THRESHOLDS = {"C1.0": "C", "M1.0": "M", "X1.0": "X"}


def day_counts(frame: pd.DataFrame, positive: str) -> np.ndarray:
    """Flares at or above ``positive`` on each row's issue day, shape (n,)."""
    missing = [c for c in EVENT_COLUMNS[positive] if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"The backtest needs a region-day table with flare counts (hayes-srs); missing {missing}."
        )
    return frame[list(EVENT_COLUMNS[positive])].to_numpy(dtype=float).sum(axis=1)


def target_counts(frame: pd.DataFrame, positive: str, horizon_days: int) -> np.ndarray:
    """Flares at or above ``positive`` on forecast day ``horizon_days`` of each row; NaN when unknown.

    Parameters
    ----------
    frame : pandas.DataFrame, shape (n, ...)
        A region-day table with ``time``, ``noaa_ar`` and the count columns.
    positive : {"C", "M", "X"}
    horizon_days : int >= 1
        1: the issue day; k: the same region's row issued k - 1 days later.

    Returns
    -------
    ndarray of float, shape (n,)
        NaN where the region has no row on that day (label unknown).
    """
    counts = day_counts(frame, positive)
    if horizon_days == 1:
        return counts
    region = frame[NOAA_AR].astype("int64")
    keys = pd.MultiIndex.from_arrays([frame[TIME], region])
    later = pd.MultiIndex.from_arrays([frame[TIME] + pd.Timedelta(days=horizon_days - 1), region])
    return pd.Series(counts, index=keys).reindex(later).to_numpy(dtype=float)


def shift_truth(truth: dict[str, Any] | None, horizon_days: int) -> dict[str, Any] | None:
    """Catalogue event days (:func:`~flarecast.evaluation.full_disk.catalogue_days`) keyed by issue day.

    An issue on day d forecasts day d + horizon_days - 1, so each event day
    moves back by horizon_days - 1, and so does the span the catalogue covers.
    """
    if truth is None or horizon_days == 1:
        return truth
    back = pd.Timedelta(days=horizon_days - 1)
    return {
        "days": truth["days"] - back,
        "x_days": truth["x_days"] - back,
        "span": (truth["span"][0] - back, truth["span"][1] - back),
    }
