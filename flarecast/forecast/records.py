"""Which SHARP record stands for each region at an issue time, and the issue time itself.

For each region, the latest record at or before the issue time; records
after it are never used, and a region unseen for longer than the look-back
window is taken to have left the disk (both counted in the notes). Regions are
keyed by NOAA number, an unnumbered one (NOAA_AR missing or 0, as JSOC writes
it) by its HARP number, shown as ``H1234``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import HARPNUM, NOAA_AR, TIME
from flarecast.errors import ConfigError, SchemaError
from flarecast.forecast.config import ForecastConfig

__all__ = [
    "ISSUE_TIME_RANGE",
    "check_issue_time",
    "aware_utc",
    "latest_records",
    "location_string",
]


#: Issue times a forecast can hold: pandas' nanosecond range, less a day at each end for the
#: look-back and the valid period.
ISSUE_TIME_RANGE = (pd.Timestamp("1677-09-22", tz="UTC"), pd.Timestamp("2262-04-10", tz="UTC"))


def check_issue_time(
    t: pd.Timestamp, name: str = "issue_time", given: str | None = None
) -> pd.Timestamp:
    """``t`` (timezone-aware) in UTC, or a :class:`ConfigError` naming ``name`` when out of range.

    ``given`` is the value as the user wrote it, for the message (default ``t`` in ISO 8601).

    Raises
    ------
    ConfigError
        When ``t`` lies outside :data:`ISSUE_TIME_RANGE`.
    """
    lo, hi = ISSUE_TIME_RANGE
    if not lo <= t <= hi:
        raise ConfigError(
            f"The {name!r} parameter must be a time in {lo:%Y-%m-%d} .. {hi:%Y-%m-%d} (UTC), the "
            f"times a forecast can hold with its look-back and valid period. "
            f"Got {given or t.isoformat()!r} instead."
        )
    return t.tz_convert("UTC")


def aware_utc(ts: Any, name: str) -> pd.Timestamp:
    """``ts`` as a UTC Timestamp; a naive or out-of-range time is a :class:`ConfigError` naming ``name``."""
    t = pd.Timestamp(ts)
    if t.tzinfo is None:
        raise ConfigError(f"{name} must be timezone-aware (UTC); got naive {t.isoformat()}")
    return check_issue_time(t, name)


def _region_ids(frame: pd.DataFrame) -> pd.Series:
    noaa = (
        frame[NOAA_AR].astype("Int64")
        if NOAA_AR in frame.columns
        else pd.Series(pd.NA, index=frame.index, dtype="Int64")
    )
    harp = (
        frame[HARPNUM].astype("Int64")
        if HARPNUM in frame.columns
        else pd.Series(pd.NA, index=frame.index, dtype="Int64")
    )
    numbered = noaa.notna() & (noaa.fillna(0) > 0)
    ids = pd.Series(pd.NA, index=frame.index, dtype="string")
    ids[numbered] = noaa[numbered].astype("string")
    by_harp = ~numbered & harp.notna()
    ids[by_harp] = "H" + harp[by_harp].astype("string")
    return ids


def latest_records(
    frame: pd.DataFrame, issue_time: Any, config: ForecastConfig | None = None
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The latest record of each region at or before ``issue_time``.

    Parameters
    ----------
    frame : pandas.DataFrame
        SHARP records: ``time`` (UTC), ``noaa_ar`` and/or ``harpnum``, features.
    issue_time : timestamp, timezone-aware
    config : ForecastConfig, optional

    Returns
    -------
    records : pandas.DataFrame
        One row per region (sorted by region id), with added columns
        ``region`` (str) and ``age_hours`` (float).
    notes : tuple of str
        Counted policies: records after the issue time, unidentified records,
        regions last seen before the look-back window.

    Raises
    ------
    SchemaError
        When ``time`` is missing or not timezone-aware, or there is neither a
        ``noaa_ar`` nor a ``harpnum`` column.
    """
    config = config or ForecastConfig()
    t0 = aware_utc(issue_time, "issue_time")
    if TIME not in frame.columns or not isinstance(frame[TIME].dtype, pd.DatetimeTZDtype):
        got = frame[TIME].dtype if TIME in frame.columns else "absent"
        raise SchemaError(f"SHARP records need a timezone-aware UTC {TIME!r} column (got {got})")
    if NOAA_AR not in frame.columns and HARPNUM not in frame.columns:
        raise SchemaError(
            f"SHARP records need a {NOAA_AR!r} or {HARPNUM!r} column to tell regions apart; "
            f"columns are {list(frame.columns)}"
        )
    notes: list[str] = []
    ids = _region_ids(frame)
    times = frame[TIME]
    future = (times > t0).to_numpy()
    if future.any():
        notes.append(
            f"{int(future.sum())} of {len(frame)} records after the issue time were not used."
        )
    unknown = ids.isna().to_numpy() & ~future
    if unknown.any():
        notes.append(
            f"{int(unknown.sum())} records with neither a NOAA nor a HARP number were left out."
        )
    keep = ~future & ~unknown & times.notna().to_numpy()
    sub = frame.loc[keep].assign(region=ids[keep])
    # stable sort on time, so among equal times the later row in the file wins
    sub = sub.sort_values(TIME, kind="stable").groupby("region", sort=True).tail(1)
    age = (t0 - sub[TIME]).dt.total_seconds().to_numpy() / 3600.0
    gone = age > config.lookback_hours
    if gone.any():
        notes.append(
            f"{int(gone.sum())} regions last seen more than {config.lookback_hours:g} h before the issue time "
            "were taken to be off the disk and not listed."
        )
    out = (
        sub.loc[~gone]
        .assign(age_hours=age[~gone])
        .sort_values("region", kind="stable")
        .reset_index(drop=True)
    )
    return out, tuple(notes)


def location_string(lat: float, lon: float) -> str:
    """Heliographic location as forecasters write it: ``S12W34`` (west = positive LON_FWT); "" if unknown."""
    if not (np.isfinite(lat) and np.isfinite(lon)):
        return ""
    return f"{'N' if lat >= 0 else 'S'}{round(abs(lat)):02d}{'W' if lon >= 0 else 'E'}{round(abs(lon)):02d}"
