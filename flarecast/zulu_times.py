"""The fast path of :func:`flarecast.time.to_utc`: times written as flarecast writes them.

Every table flarecast writes, and most it reads, has its times in one form,
``2014-01-01T00:12:00Z``. pyarrow parses a column of that form an order of
magnitude faster than pandas, to the same instants, and refuses the same
impossible dates (2014-02-30, 24:00:00, a leap second). Anything else goes
through the general parser of :mod:`flarecast.time`, which names the cells it
refuses. No flarecast module is imported here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["zulu_times"]

_ZULU = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
# The same form byte by byte (20 ASCII bytes): "0" a digit, any other byte itself.
_FORM = b"0000-00-00T00:00:00Z"
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
        if not len(text) or text.null_count or not _all_zulu(text):
            return None
        seconds = pc.cast(pc.cast(text, pa.timestamp("s", "UTC")), pa.int64()).to_numpy()
    except Exception:  # an impossible date (ArrowInvalid), not text, no pyarrow
        return None
    if seconds.min() < _NS_SECONDS[0] or seconds.max() > _NS_SECONDS[1]:
        return None
    stamps = (seconds * 1_000_000_000).view("datetime64[ns]")
    return pd.Series(stamps, index=series.index, name=series.name).dt.tz_localize("UTC")


def _all_zulu(text: Any) -> bool:
    """Whether every cell of an Arrow text array (no nulls) matches :data:`_ZULU`.

    Checked on the bytes (every cell 20 bytes long, digits and marks in place), three times
    faster than the regex, which says the same of any text.
    """
    import numpy as np
    import pyarrow as pa

    chunks = text.chunks if hasattr(text, "chunks") else [text]
    form = np.frombuffer(_FORM, np.uint8)
    digit = form == ord("0")
    for chunk in chunks:
        if not len(chunk):
            continue
        wide = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        ends = np.frombuffer(chunk.buffers()[1], wide)[chunk.offset : chunk.offset + len(chunk) + 1]
        if not (np.diff(ends) == len(_FORM)).all():
            return False
        cells = np.frombuffer(chunk.buffers()[2], np.uint8)[ends[0] : ends[-1]]
        cells = cells.reshape(-1, len(_FORM))
        figures = cells[:, digit]
        if not (
            ((figures >= ord("0")) & (figures <= ord("9"))).all()
            and (cells[:, ~digit] == form[~digit]).all()
        ):
            return False
    return True
