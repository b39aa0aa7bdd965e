"""Readers of the flare lists published as CSV: NCEI event list, SWPC flare lists, Liu et al., HEK/sunpy.

Each reader returns the canonical event table of :mod:`flarecast.data.events`
(read its docstring for the conventions and the counted policies). Rows are
named in messages as 0-based data rows (header not counted), as pandas numbers them.

Source quirks handled here (see each folder's PROVENANCE.md):

- NCEI list (``solar_events.csv``): ISO minute times whose peak and end keep
  the start's date across midnight; ``//://`` peak times; bare-letter classes
  ("C"); region 0 = unknown, numbers already 5-digit (pre-2002 ones carry the
  +10000 offset); exact duplicate rows; a few invalid minute fields ("00:91").
- SWPC lists (Hayes): three layouts. 1996-2018: datetime start and end (the end
  keeps the start's date across midnight) and an ``HHMM`` peak; 2010-2021: a
  ``YYYYMMDD`` date and three ``HHMM`` strings, blank region = unknown;
  SC24 final list: full datetimes. Region numbers before 2002 have 4 digits.
- Liu et al. (2019) class files: start and end only (the peak becomes the start).
- sunpy/HEK export: ``;``-separated, no header; some region numbers lost their
  leading 1 (``1121`` for 11121) and get +10000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from flarecast.data.catalogues.rows import EventRows, catalogue_reader
from flarecast.data.columns import require_columns
from flarecast.data.event_fields import BadRows, is_missing_time
from flarecast.data.events import END, PEAK
from flarecast.data.text_csv import read_text_csv
from flarecast.errors import DataError, SchemaError
from flarecast.io import require_regular_file
from flarecast.time import to_utc

__all__ = ["read_ncei_events", "read_swpc_flarelist", "read_liu2019_flares", "read_hek_events"]

NCEI_COLUMNS = ("Flare Class", "Start Time", "Peak Time", "End Time", "Active Region Number")
LIU_COLUMNS = ("Flares", "Start Time", "End Time", "NOAA")
HEK_COLUMNS = ("event_starttime", "event_peaktime", "event_endtime", "fl_goescls", "ar_noaanum")
SC24_COLUMNS = ("event_starttime", "event_peaktime", "event_endtime", "goes_class", "noaa_ar")
_HEK_EXPORT = ("event_date", "start", "peak", "end", "goes_class", "location", "noaa_ar")


@catalogue_reader("ncei")
def read_ncei_events(path: str | Path) -> EventRows:
    """Read the NCEI-derived GOES event list (SolarFlareNet's ``solar_events.csv``).

    Parameters
    ----------
    path : str or Path
        CSV with columns ``Flare Class, Start Time, Peak Time, End Time,
        Active Region Number`` (times ``YYYY-MM-DDThh:mmZ``).
    """
    raw = _read_text_csv(path)
    require_columns(raw, NCEI_COLUMNS, path, "NCEI event list")
    columns = ("Start Time", "Peak Time", "End Time", "Flare Class", "Active Region Number")
    return _from_columns(path, raw, "%Y-%m-%dT%H:%MZ", columns, four_digit=False)


@catalogue_reader("swpc-list")
def read_swpc_flarelist(path: str | Path) -> EventRows:
    """Read an SWPC edited-events flare list as CSV (the three layouts of Hayes' ``databases/``).

    Parameters
    ----------
    path : str or Path
        ``swpc_flarelist_*.csv`` (columns ``date, event_no, start_time,
        max_time, end_time, ..., goes_class, integrated_flux, noaa_ar``) or
        ``final_flare_list_sc24.csv`` (``event_starttime, event_peaktime,
        event_endtime, ..., goes_class, ..., noaa_ar``).
    """
    raw = _read_text_csv(path, leading_index=True)  # Hayes' lists carry a written pandas index
    if "event_starttime" in raw.columns:
        require_columns(raw, SC24_COLUMNS, path, "SWPC final flare list")
        return _from_columns(path, raw, "ISO8601", SC24_COLUMNS)
    require_columns(
        raw,
        ("date", "start_time", "max_time", "end_time", "goes_class", "noaa_ar"),
        path,
        "SWPC flare list",
    )
    bad = BadRows(len(raw), np.arange(len(raw)))
    hhmm = raw["start_time"].str.strip().str.fullmatch(r"\d{4}").to_numpy()
    # Most start times decide the layout, so that one bad cell is named, not every row.
    if hhmm.sum() >= len(raw) / 2:  # 2010-2021 layout: YYYYMMDD date and HHMM strings
        day = _times(raw["date"], "%Y%m%d", bad, "date", required=True)
        start = _hhmm(raw["start_time"], day, bad, "start_time", required=True)
        end = _hhmm(raw["end_time"], day, bad, "end_time")
    else:  # 1996-2018 layout: datetimes, end on the start's date
        start = _times(raw["start_time"], "%Y-%m-%d %H:%M:%S", bad, "start_time", required=True)
        day = start.dt.floor("D")
        end = _times(raw["end_time"], "%Y-%m-%d %H:%M:%S", bad, "end_time")
    times = (start, _hhmm(raw["max_time"], day, bad, "max_time"), end)
    names = {PEAK: "max_time", END: "end_time"}
    no_peak = is_missing_time(raw["max_time"])
    return EventRows(path, bad, times, raw["goes_class"], raw["noaa_ar"], names, no_peak)


@catalogue_reader("liu2019")
def read_liu2019_flares(path: str | Path) -> EventRows:
    """Read one of Liu et al. (2019)'s ``flares_{B,C,M,X}-class.csv`` (start and end, no peak).

    The peak becomes the start (``attrs["peak_from_start"]`` counts every row).

    Parameters
    ----------
    path : str or Path
        CSV with columns ``Flares, Start Time, End Time, NOAA``.
    """
    raw = _read_text_csv(path)
    require_columns(raw, LIU_COLUMNS, path, "Liu et al. (2019) flare collection")
    bad = BadRows(len(raw), np.arange(len(raw)))
    fmt = "%Y-%m-%d %H:%M:%S"
    start = _times(raw["Start Time"], fmt, bad, "Start Time", required=True)
    times = (start, start, _times(raw["End Time"], fmt, bad, "End Time"))
    no_peak = np.ones(len(raw), dtype=bool)
    names = {END: "End Time"}
    return EventRows(path, bad, times, raw["Flares"], raw["NOAA"], names, no_peak, four_digit=False)


@catalogue_reader("hek")
def read_hek_events(path: str | Path) -> EventRows:
    """Read GOES flares from HEK: the sunpy export (``;``, no header) or a table with HEK column names.

    HEK mirrors the SWPC list, so classes are operational.

    Parameters
    ----------
    path : str or Path
        Either the headerless export ``event_date; start; peak; end;
        goes_class; location; noaa_ar; ...`` (Hollanda's
        ``00_All_GOES_SUNPY.csv``) or a CSV with the HEK fields
        ``event_starttime, event_peaktime, event_endtime, fl_goescls, ar_noaanum``.
    """
    path = Path(path)
    if "event_starttime" in _first_line(path):
        raw = _read_text_csv(path)
        require_columns(raw, HEK_COLUMNS, path, "HEK table")
        return _from_columns(path, raw, "ISO8601", HEK_COLUMNS)
    raw = _read_text_csv(path, sep=";", header=False)
    if raw.shape[1] < len(_HEK_EXPORT):
        raise SchemaError(
            f"{path}: the sunpy/HEK export has at least {len(_HEK_EXPORT)} ';'-separated fields "
            f"({', '.join(_HEK_EXPORT)}, ...); found {raw.shape[1]}."
        )
    raw.columns = [*_HEK_EXPORT, *map(str, range(len(_HEK_EXPORT), raw.shape[1]))]
    return _from_columns(path, raw, "ISO8601", ("start", "peak", "end", "goes_class", "noaa_ar"))


# --------------------------------------------------------------------------- helpers


def _from_columns(
    path: str | Path, raw: pd.DataFrame, fmt: str, columns: tuple[str, ...], four_digit: bool = True
) -> EventRows:
    """The rows of a list with a column each for start, peak, end, class and region (that order)."""
    start, peak, end, classes, regions = columns
    bad = BadRows(len(raw), np.arange(len(raw)))
    times = (
        _times(raw[start], fmt, bad, start, required=True),
        _times(raw[peak], fmt, bad, peak),
        _times(raw[end], fmt, bad, end),
    )
    names = {PEAK: peak, END: end}
    no_peak = is_missing_time(raw[peak])
    return EventRows(path, bad, times, raw[classes], raw[regions], names, no_peak, four_digit)


def _read_text_csv(
    path: str | Path, *, sep: str = ",", header: bool = True, leading_index: bool = False
) -> pd.DataFrame:
    """Every cell as text (nothing guessed), through the one CSV path (memory budget included).

    With ``leading_index`` one leading column without a header name (a written
    pandas index) is accepted and dropped. Otherwise, and for a second such
    column, a row 0 wider than the header is an error. Columns without a name are dropped.
    """
    frame = read_text_csv(
        path, sep=sep, header=header, leading_index=leading_index, what="catalogue"
    )
    if header:
        frame = frame.drop(
            columns=[c for c in frame.columns if c == "" or c.startswith("Unnamed:")]
        )
    return frame


def _first_line(path: Path) -> str:
    require_regular_file(path, what="catalogue")
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            return fh.readline()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from exc


def _times(
    text: pd.Series, fmt: str | None, bad: BadRows, column: str, *, required: bool = False
) -> pd.Series:
    """Parse UTC times; missing markers give NaT (bad if ``required``), other failures are bad.

    Every list read here documents its times as UTC, so a time without a zone is UTC.
    """
    missing = is_missing_time(text)
    values = text.to_numpy()
    parsed = to_utc(
        text.where(~missing, ""),
        naive="utc",
        fmt=fmt,
        allow_missing=True,
        on_bad=lambda mask, reason: bad.add(mask, column, values, reason),
    )
    if required:
        bad.add(missing, column, values, "missing, and this time is required")
    return parsed


def _hhmm(
    text: pd.Series, day: pd.Series, bad: BadRows, column: str, *, required: bool = False
) -> pd.Series:
    """``HHMM`` strings on the UTC ``day``; missing markers give NaT."""
    stripped = text.str.strip()
    missing = is_missing_time(text)
    ok = stripped.str.fullmatch(r"([01]\d|2[0-3])[0-5]\d").to_numpy()
    bad.add(~ok & ~missing, column, text.to_numpy(), "expected HHMM")
    if required:
        bad.add(missing, column, text.to_numpy(), "missing, and this time is required")
    digits = pd.to_numeric(stripped.where(ok, "0"), errors="coerce").to_numpy()
    minutes = (digits // 100) * 60 + digits % 100
    out = day + pd.to_timedelta(minutes, unit="min")
    return out.where(ok)
