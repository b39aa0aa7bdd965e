"""Readers of NOAA's own flare products: NCEI XRS reports, SWPC daily events, GOES-R XRS flare summary.

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
- **GOES-R XRS flare summary** (``sci_xrsf-l2-flsum_*.nc``): one row per
  ``status`` (``EVENT_START``, ``EVENT_PEAK``, ``EVENT_END``) linked by
  ``flare_id``; the class is read from the peak row. ``time`` is seconds since
  2000-01-01 12:00:00 UTC (decoded by xarray when the file carries CF units).
  No region numbers (they are in the separate ``flloc`` product), so every
  ``noaa_ar`` is <NA>. NCEI science fluxes (no 0.7 factor).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from flarecast.data.events import (
    END,
    FLUX_OPERATIONAL,
    FLUX_SCIENCE,
    PEAK,
    START,
    BadRows,
    finish_events,
    parse_classes,
    parse_regions,
)
from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX
from flarecast.errors import ConfigError, DataError, FlarecastError, SchemaError
from flarecast.io import require_regular_file
from flarecast.time import to_utc

__all__ = ["read_xrs_report", "read_swpc_events", "read_xrs_flsum", "FLSUM_EPOCH"]

#: Epoch of the GOES-R ``time`` variable (seconds, leap seconds neglected).
FLSUM_EPOCH = pd.Timestamp("2000-01-01 12:00:00", tz="UTC")
_STATUSES = ("EVENT_START", "EVENT_PEAK", "EVENT_END")


def read_xrs_report(
    path: str | Path, *, on_bad_rows: str = "error", duplicates: str = "drop"
) -> pd.DataFrame:
    """Read a fixed-width NCEI/NGDC GOES XRS report (``goes-xrs-report_YYYY.txt``).

    Parameters
    ----------
    path : str or Path
        One yearly report; lines shorter than 85 characters lack the region.
    on_bad_rows : {"error", "skip"}, default "error"
    duplicates : {"drop", "keep"}, default "drop"

    Returns
    -------
    pandas.DataFrame
        The canonical event table. For a ``goes-xrs-report_YYYY.txt`` name,
        ``attrs["coverage_start"/"coverage_end"]`` span that year.
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
    peak = _hhmm(field(23, 27), day, bad, "maximum (cols 24-27)")
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
    classes = (letter + magnitude).to_numpy()
    attrs = {"coverage_start": None, "coverage_end": None}
    year = re.search(r"(\d{4})\D*$", path.stem)
    if year:
        y = int(year.group(1))
        attrs = {
            "coverage_start": f"{y}-01-01T00:00:00+00:00",
            "coverage_end": f"{y + 1}-01-01T00:00:00+00:00",
        }
    return _finish(
        classes,
        field(80, 85),
        start,
        peak,
        end,
        bad,
        path=path,
        reader="xrs-report",
        names={PEAK: "maximum (cols 24-27)", END: "end (cols 19-22)"},
        on_bad_rows=on_bad_rows,
        duplicates=duplicates,
        attrs={k: v for k, v in attrs.items() if v},
    )


def read_swpc_events(
    path: str | Path, *, on_bad_rows: str = "error", duplicates: str = "drop"
) -> pd.DataFrame:
    """Read the GOES 1-8 A flares (``XRA`` rows) of one SWPC edited-events file ``YYYYMMDDevents.txt``.

    Parameters
    ----------
    path : str or Path
        The day's file; its date comes from the ``:Date:`` header, else from the name.
    on_bad_rows : {"error", "skip"}, default "error"
    duplicates : {"drop", "keep"}, default "drop"

    Returns
    -------
    pandas.DataFrame
        The canonical event table; ``attrs["coverage_start"/"coverage_end"]`` span the day.
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
    start = _hhmm(when["begin"], days, bad, "Begin", required=True)
    peak = _hhmm(when["max"], days, bad, "Max")
    end = _hhmm(when["end"], days, bad, "End")
    attrs = {
        "coverage_start": day.isoformat(),
        "coverage_end": (day + pd.Timedelta(days=1)).isoformat(),
    }
    return _finish(
        raw["class"].to_numpy(),
        raw["region"],
        start,
        peak,
        end,
        bad,
        path=path,
        reader="swpc-events",
        names={PEAK: "Max", END: "End"},
        on_bad_rows=on_bad_rows,
        duplicates=duplicates,
        attrs=attrs,
    )


def read_xrs_flsum(
    path: str | Path, *, on_bad_rows: str = "error", duplicates: str = "drop"
) -> pd.DataFrame:
    """Read an NCEI GOES-R XRS flare summary netCDF (``sci_xrsf-l2-flsum_*.nc``).

    Parameters
    ----------
    path : str or Path
        netCDF with variables ``time``, ``status``, ``flare_id``, ``flare_class``.
    on_bad_rows : {"error", "skip"}, default "error"
    duplicates : {"drop", "keep"}, default "drop"
        A flare without a start or peak row, with two rows of one status, or
        with an unparseable class is malformed (named by its first row and ``flare_id``).

    Returns
    -------
    pandas.DataFrame
        The canonical event table, one row per flare, ``noaa_ar`` all <NA>.
    """
    import xarray as xr  # only this reader needs it

    path = require_regular_file(path, what="catalogue")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            missing = [
                v for v in ("time", "status", "flare_id", "flare_class") if v not in ds.variables
            ]
            if missing:
                raise SchemaError(
                    f"{path}: missing variable(s) {missing} of the GOES-R XRS flare summary "
                    f"(found {sorted(map(str, ds.variables))})."
                )
            frame = pd.DataFrame(
                {v: ds[v].values for v in ("time", "status", "flare_id", "flare_class")}
            )
            coverage = (ds.attrs.get("time_coverage_start"), ds.attrs.get("time_coverage_end"))
    except FlarecastError:
        raise
    except Exception as exc:
        # A damaged file can fail anywhere inside h5py or xarray (OSError, KeyError, TypeError, ...).
        raise DataError(
            f"{path}: cannot be read as a netCDF flare summary ({type(exc).__name__}: {exc})."
        ) from exc
    for col in ("status", "flare_class"):
        frame[col] = (
            frame[col]
            .map(lambda v: v.decode() if isinstance(v, bytes) else v)
            .astype(str)
            .str.strip()
        )
    if np.issubdtype(frame["time"].dtype, np.datetime64):
        times = pd.to_datetime(frame["time"]).dt.tz_localize("UTC")
    else:  # undecoded: seconds since the GOES-R epoch
        times = FLSUM_EPOCH + pd.to_timedelta(frame["time"].to_numpy(dtype=float), unit="s")
    frame["time"] = times.to_numpy()
    frame["row"] = np.arange(len(frame))
    unknown = ~frame["status"].isin(_STATUSES)
    groups = frame[~unknown].groupby("flare_id", sort=False)
    first = groups["row"].min()
    counts = frame[~unknown].pivot_table(
        index="flare_id", columns="status", values="row", aggfunc="count"
    )
    counts = counts.reindex(index=first.index, columns=list(_STATUSES)).fillna(0)
    pivot = (
        frame[~unknown]
        .drop_duplicates(["flare_id", "status"])
        .pivot(index="flare_id", columns="status", values="time")
    )
    pivot = pivot.reindex(index=first.index, columns=list(_STATUSES))
    peak_rows = (
        frame[frame["status"] == "EVENT_PEAK"].drop_duplicates("flare_id").set_index("flare_id")
    )
    classes = peak_rows["flare_class"].reindex(first.index).fillna("")
    bad = BadRows(len(first), first.to_numpy(), label="row")
    ids = first.index.to_numpy().astype(str)
    bad.add(
        (counts["EVENT_START"] == 0).to_numpy(),
        "status",
        ids,
        "flare_id without an EVENT_START row",
    )
    bad.add(
        (counts["EVENT_PEAK"] == 0).to_numpy(), "status", ids, "flare_id without an EVENT_PEAK row"
    )
    bad.add(
        (counts > 1).any(axis=1).to_numpy(), "status", ids, "flare_id with two rows of one status"
    )
    if unknown.any():
        raise DataError(
            f"{path}: {int(unknown.sum())} row(s) with an unknown status, e.g. row "
            f"{int(np.flatnonzero(unknown)[0])}: {frame['status'][unknown].iloc[0]!r}. Legal: {list(_STATUSES)}."
        )
    utc = lambda c: pd.Series(pd.to_datetime(pivot[c].to_numpy(), utc=True))  # noqa: E731
    start, peak, end = utc("EVENT_START"), utc("EVENT_PEAK"), utc("EVENT_END")
    # ACDD global attributes, where present, say which period the file covers.
    attrs = (
        {
            "coverage_start": _iso_utc(coverage[0], path, "time_coverage_start"),
            "coverage_end": _iso_utc(coverage[1], path, "time_coverage_end"),
        }
        if all(coverage)
        else {}
    )
    return _finish(
        classes.to_numpy(),
        pd.Series([""] * len(first)),
        start,
        peak,
        end,
        bad,
        path=path,
        reader="xrs-flsum",
        names={PEAK: "time (status EVENT_PEAK)", END: "time (status EVENT_END)"},
        on_bad_rows=on_bad_rows,
        duplicates=duplicates,
        attrs=attrs,
        flux_scaling=FLUX_SCIENCE,
        roll=False,
    )


# --------------------------------------------------------------------------- helpers


def _read_lines(path: Path) -> list[str]:
    require_regular_file(path, what="catalogue")
    try:
        with open(path, encoding="latin-1") as fh:
            return fh.read().splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from exc


def _iso_utc(value: object, path: Path, name: str) -> str:
    """An ACDD coverage attribute as ISO UTC (a time without a zone is UTC, as ACDD says)."""
    try:
        return to_utc(str(value), naive="utc", column=name).isoformat()
    except ConfigError as exc:
        raise DataError(f"{path}: global attribute {name!r}: {exc}") from exc


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


def _finish(
    classes,
    regions,
    start,
    peak,
    end,
    bad,
    *,
    path,
    reader,
    on_bad_rows,
    duplicates,
    attrs,
    names,
    flux_scaling=FLUX_OPERATIONAL,
    roll=True,
):
    flux = parse_classes(classes, bad, "class")
    ar, offset = parse_regions(regions, bad, "region", four_digit=True)
    columns = {
        START: start,
        PEAK: peak,
        END: end,
        PEAK_FLUX: flux,
        NOAA_AR: ar,
        GOES_CLASS: pd.Series(np.asarray(classes, dtype=object))
        .astype(str)
        .str.strip()
        .str.upper()
        .to_numpy(),
    }
    return finish_events(
        columns,
        bad,
        source=str(path),
        reader=reader,
        on_bad_rows=on_bad_rows,
        duplicates=duplicates,
        flux_scaling=flux_scaling,
        attrs=attrs,
        no_peak=peak.isna().to_numpy() & start.notna().to_numpy(),
        roll=roll,  # hhmm fields on the start's day: earlier means the next day
        flags={"ar_plus_10000": offset},
        names=names,
    )
