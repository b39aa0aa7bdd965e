"""Readers of NOAA's own flare text products: NCEI XRS reports and SWPC daily events.

Each returns the canonical event table of :mod:`flarecast.data.events`. Text
files name malformed rows by 1-based file line.

- **NCEI/NGDC GOES XRS reports** (``goes-xrs-report_YYYY.txt``), fixed width:
  cols 6-11 ``YYMMDD``; 14-17 start, 19-22 end, 24-27 maximum (``hhmm``, in
  that order); col 60 the class letter and 62-63 the magnitude in tenths
  (``M 99`` = M9.9); 81-85 the region, often blank. End or maximum before the
  start crossed midnight. Operational (0.7-scaled) fluxes.
- **SWPC edited events** (``YYYYMMDDevents.txt``): the ``:Date: YYYY MM DD``
  header gives the day; only ``XRA`` rows at ``1-8A`` are flares. Columns shift
  between years, so rows are split on whitespace around the ``XRA`` token:
  ``event [+] begin max end obs q XRA 1-8A class flux [region]``. Times are
  ``HHMM`` with an optional ``B``/``A``/``U`` prefix (before / after /
  uncertain; the time is kept), ``////`` = missing. Regions have 4 digits (+10000).
  Operational fluxes.

The GOES-R XRS flare summary (netCDF) is read by :mod:`flarecast.data.catalogues.flsum`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from flarecast.data.budget import check_budget
from flarecast.data.catalogues.rows import EventRows, catalogue_reader
from flarecast.data.event_fields import BadRows
from flarecast.data.events import END, PEAK
from flarecast.errors import DataError, SchemaError
from flarecast.io import require_regular_file
from flarecast.time import to_utc

__all__ = ["read_xrs_report", "read_swpc_events"]


@catalogue_reader("xrs-report")
def read_xrs_report(path: str | Path) -> EventRows:
    """Read a fixed-width NCEI/NGDC GOES XRS report (``goes-xrs-report_YYYY.txt``).

    For a ``goes-xrs-report_YYYY.txt`` name, ``attrs["coverage_start"/"coverage_end"]``
    span that year.

    Parameters
    ----------
    path : str or Path
        One yearly report; lines shorter than 85 characters lack the region.
    """
    path = Path(path)
    lines = [ln.rstrip("\n\r") for ln in _read_lines(path)]
    lines_no = np.array([i + 1 for i, ln in enumerate(lines) if ln.strip()])
    lines = [ln.ljust(85) for ln in lines if ln.strip()]
    bad = BadRows(len(lines), lines_no, label="line")
    field = lambda a, b: pd.Series([ln[a:b] for ln in lines], dtype=object).str.strip()  # noqa: E731
    dates = field(5, 11)
    day = to_utc(
        dates,
        naive="utc",
        fmt="%y%m%d",
        on_bad=lambda mask, _: bad.add(
            mask, "date (cols 6-11)", dates.to_numpy(), "expected YYMMDD"
        ),
    )
    start = _hhmm(field(13, 17), day, bad, "start (cols 14-17)", required=True)
    end = _hhmm(field(18, 22), day, bad, "end (cols 19-22)")
    times = (start, _hhmm(field(23, 27), day, bad, "maximum (cols 24-27)"), end)
    # Letter in col 60, tenths in cols 62-63 ("M 99" = M9.9): parsed as GOES compact tenths.
    letter, tenths = field(59, 60), field(60, 64)
    digits = tenths.str.fullmatch(r"\d{1,3}").to_numpy()
    bad.add(
        ~digits,
        "class (cols 60-63)",
        (letter + " " + tenths).to_numpy(),
        "expected a letter and tenths, e.g. 'M 99'",
    )
    magnitude = (pd.to_numeric(tenths.where(digits, "10")) / 10).map("{:.1f}".format)
    classes, regions = (letter + magnitude).rename("class"), field(80, 85).rename("region")
    attrs = {}
    year = re.search(r"(\d{4})\D*$", path.stem)
    if year:
        y = int(year.group(1))
        attrs = {
            "coverage_start": f"{y}-01-01T00:00:00+00:00",
            "coverage_end": f"{y + 1}-01-01T00:00:00+00:00",
        }
    names = {PEAK: "maximum (cols 24-27)", END: "end (cols 19-22)"}
    return EventRows(path, bad, times, classes, regions, names, attrs=attrs)


@catalogue_reader("swpc-events")
def read_swpc_events(path: str | Path) -> EventRows:
    """Read the GOES 1-8 A flares (``XRA`` rows) of one SWPC edited-events file ``YYYYMMDDevents.txt``.

    ``attrs["coverage_start"/"coverage_end"]`` span the day.

    Parameters
    ----------
    path : str or Path
        The day's file; its date comes from the ``:Date:`` header, else from the name.
    """
    path = Path(path)
    lines = _read_lines(path)
    day = None
    for ln in lines:
        m = re.match(r"\s*:Date:\s*(\d{4})\s+(\d{1,2})\s+(\d{1,2})", ln)
        if m:
            day = pd.to_datetime(f"{m[1]}-{m[2]}-{m[3]}", format="%Y-%m-%d", errors="coerce")
            if pd.isna(day) or not 1677 < day.year < 2262:
                raise SchemaError(
                    f"{path}: line {lines.index(ln) + 1}: {ln.strip()!r} is not a valid "
                    "':Date: YYYY MM DD' header."
                )
            day = day.tz_localize("UTC")
            break
    if day is None:
        m = re.match(r"(\d{8})events", path.name)
        if not m:
            raise SchemaError(
                f"{path}: no ':Date: YYYY MM DD' header and no YYYYMMDD in the file name."
            )
        day = pd.to_datetime(m[1], format="%Y%m%d", errors="coerce")
        if pd.isna(day) or not 1677 < day.year < 2262:
            raise SchemaError(f"{path}: the file name's date {m[1]!r} is not a valid YYYYMMDD.")
        day = day.tz_localize("UTC")
    rows, line_no = [], []
    for i, ln in enumerate(lines):
        tokens = ln.split()
        if ln.startswith((":", "#")) or "XRA" not in tokens:
            continue
        k = tokens.index("XRA")
        after = tokens[k + 1 :]
        if after and after[0] != "1-8A":
            continue  # another XRS channel, not a 1-8 A flare
        before = tokens[:k][-5:]
        if len(before) < 5 or len(after) < 3:
            before, after = ["?"] * 5, ["?"] * 4
        rows.append([*before[:3], after[1], after[3] if len(after) > 3 else "", " ".join(tokens)])
        line_no.append(i + 1)
    raw = pd.DataFrame(
        rows, columns=["begin", "max", "end", "class", "region", "line"], dtype=object
    )
    bad = BadRows(len(raw), np.array(line_no, dtype=int), label="line")
    bad.add(
        (raw["begin"] == "?").to_numpy(),
        "XRA row",
        raw["line"].to_numpy(),
        "expected 'event begin max end obs q XRA 1-8A class flux [region]'",
    )
    when = {c: raw[c].str.replace(r"^[BAU]", "", regex=True) for c in ("begin", "max", "end")}
    days = pd.Series([day] * len(raw), dtype="datetime64[ns, UTC]")
    times = (
        _hhmm(when["begin"], days, bad, "Begin", required=True),
        _hhmm(when["max"], days, bad, "Max"),
        _hhmm(when["end"], days, bad, "End"),
    )
    attrs = {
        "coverage_start": day.isoformat(),
        "coverage_end": (day + pd.Timedelta(days=1)).isoformat(),
    }
    names = {PEAK: "Max", END: "End"}
    return EventRows(path, bad, times, raw["class"], raw["region"], names, attrs=attrs)


# --------------------------------------------------------------------------- helpers


def _read_lines(path: Path) -> list[str]:
    require_regular_file(path, what="catalogue")
    try:
        check_budget(path, path.stat().st_size, None, "its size on disk")
        with open(path, "rb") as fh:
            # A UTF-8 byte-order mark would shift every fixed-width field of the first line.
            return fh.read().removeprefix(b"\xef\xbb\xbf").decode("latin-1").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from exc


def _hhmm(
    text: pd.Series, day: pd.Series, bad: BadRows, column: str, *, required: bool = False
) -> pd.Series:
    """``hhmm`` on ``day`` (UTC); ``////`` or blank is missing (NaT), bad if ``required``."""
    text = pd.Series(text, dtype=object).fillna("").astype(str).str.strip().reset_index(drop=True)
    missing = (text.str.contains("//", regex=False) | (text == "")).to_numpy()
    ok = text.str.fullmatch(r"([01]\d|2[0-3])[0-5]\d").to_numpy()
    bad.add(~ok & ~missing, column, text.to_numpy(), "expected hhmm")
    if required:
        bad.add(missing, column, text.to_numpy(), "missing, and this time is required")
    digits = pd.to_numeric(text.where(ok, "0")).to_numpy()
    out = pd.Series(day).reset_index(drop=True) + pd.to_timedelta(
        (digits // 100) * 60 + digits % 100, unit="min"
    )
    return out.where(ok)
