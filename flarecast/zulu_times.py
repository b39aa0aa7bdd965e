"""The fast path of :func:`flarecast.time.to_utc`: times written as flarecast writes them.

Every table flarecast writes, and most it reads, has its times in one form,
``2014-01-01T00:12:00Z``. pyarrow parses a column of that form an order of
magnitude faster than pandas, to the same instants, and refuses the same
impossible dates (2014-02-30, 24:00:00, a leap second). Anything else goes
through the general parser of :mod:`flarecast.time`, which names the cells it
refuses. No flarecast module is imported here.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["zulu_times"]

_ZULU = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
# The whole seconds that datetime64[ns] holds (flarecast.time.NS_RANGE).
_NS_SECONDS = (-9_223_372_036, 9_223_372_036)


def zulu_times(series: pd.Series) -> pd.Series | None:
    """UTC times of a text column whose every cell has the form ``2014-01-01T00:12:00Z``, else None.

    None for any other cell, an empty or missing one, an impossible date or a time
    outside what ``datetime64[ns]`` holds: the general parser then reads the column.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        text = pa.array(series, from_pandas=True)
        if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
            return None
        if (
            not len(text)
            or text.null_count
            or not pc.all(pc.match_substring_regex(text, _ZULU)).as_py()
        ):
            return None
        seconds = pc.cast(pc.cast(text, pa.timestamp("s", "UTC")), pa.int64()).to_numpy()
    except Exception:  # an impossible date (ArrowInvalid), not text, no pyarrow
        return None
    if seconds.min() < _NS_SECONDS[0] or seconds.max() > _NS_SECONDS[1]:
        return None
    stamps = (seconds * 1_000_000_000).view("datetime64[ns]")
    return pd.Series(stamps, index=series.index, name=series.name).dt.tz_localize("UTC")
