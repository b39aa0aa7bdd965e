"""SHARP keyword time series: read them from files, map HARPs to NOAA regions, write tables.

A SHARP series is one row per (region, record time) with the canonical
metadata columns and SHARP keywords named as JSOC names them:

``time`` (datetime64[ns, UTC]), ``noaa_ar`` (Int64, <NA> = no NOAA region),
optional ``harpnum`` (Int64), ``LON_FWT``/``LAT_FWT`` (deg), ``QUALITY``
(JSOC bitmask, int) and the keyword columns (float64, units in
:data:`flarecast.data.schema.SHARP_UNITS`).

Reading a file (:func:`read_sharp_series`) recognises the usual spellings
(``T_REC``/``timestamp``, ``NOAA_AR``/``NOAA``/``NOAA_ar_num``,
``HARPNUM``/``HARP``) and keeps the SHARP keywords; every other column (a
label such as ``FlareNumber``, SRS positions) is dropped and listed in
``attrs["dropped_columns"]``. Times: ``..._TAI`` strings are converted from
TAI (:func:`flarecast.time.tai_to_utc`); other text and naive
datetimes are read as UTC (the JSOC record time as the source wrote it);
numbers are Unix seconds. Fetching from JSOC is in
:mod:`flarecast.data.sharp.jsoc`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from flarecast.data.budget import check_budget
from flarecast.data.events import START
from flarecast.data.netcdf import open_netcdf
from flarecast.data.schema import HARPNUM, NOAA_AR, POSITION, SHARP_UNITS, TIME
from flarecast.data.text_csv import read_text_csv
from flarecast.errors import (
    ConfigError,
    DataError,
    FlarecastError,
    SchemaError,
    format_examples,
)
from flarecast.io import require_regular_file, sha256_file
from flarecast.time import tai_to_utc, to_utc

__all__ = [
    "SERIES_NAMES",
    "read_sharp_series",
    "read_harp_map",
    "events_by_harp",
    "clean_series",
]

#: Registered SHARP series files: name -> (data set in flarecast.data.registry, file, separator).
SERIES_NAMES: dict[str, tuple[str, str, str]] = {
    "hollanda-2019": (
        "hollanda-2019",
        "hollanda_sharp_swpc/solar_flare_dataset_2010_2019.csv",
        ";",
    ),
}
# ASCII digits only ('\u0661'.isdigit() is True), at most 15 so that Int64 holds them exactly.
_HARP_NUMBER = re.compile(r"[0-9]{1,15}")
QUALITY = "QUALITY"
_ALIASES = {
    TIME: ("time", "T_REC", "t_rec", "timestamp", "Timestamp"),
    NOAA_AR: ("noaa_ar", "NOAA_AR", "NOAA", "NOAA_ar_num", "noaa_ar_num"),
    HARPNUM: ("harpnum", "HARPNUM", "HARP", "HARP_NO"),
}


def read_sharp_series(
    source: str | Path,
    *,
    keywords: Sequence[str] | None = None,
    data_dir: str | Path | None = None,
    max_bytes: int | str | None = None,
) -> pd.DataFrame:
    """Read a SHARP keyword series (CSV, Parquet or netCDF) into the canonical series layout.

    Parameters
    ----------
    source : str or Path
        A file, a name in :data:`SERIES_NAMES`, or ``"demo"`` (the SYNTHETIC
        series of :func:`flarecast.data.synthetic.demo_sharp_series`).
    keywords : sequence of str, optional
        Keyword columns to keep; default every column named in ``SHARP_UNITS``.
    data_dir : str or Path, optional
        Shared data folder for registered names (default ``$FLARECAST_DATA_DIR``).
    max_bytes : int or str, optional
        Memory budget of the file (:mod:`flarecast.data.budget`; default
        ``$FLARECAST_MAX_TABLE_BYTES``, else 2 GiB): a larger file is refused before it is read.

    Returns
    -------
    pandas.DataFrame, shape (n_records, ...)
        ``time``, ``noaa_ar``, [``harpnum``, ``LON_FWT``, ``LAT_FWT``, ``QUALITY``],
        keywords; ``attrs``: ``source``, ``sha256``, ``keywords``, ``dropped_columns``.

    Raises
    ------
    SchemaError
        No time or region column, or requested keywords absent.
    DataError
        Unreadable file, unparseable times, non-numeric keywords or regions, a file over the
        memory budget, or two records of one region and time.
    """
    name = str(source)
    if name == "demo":
        from flarecast.data.synthetic import demo_sharp_series

        frame = demo_sharp_series(seed=0)
        frame.attrs = {"source": "SYNTHETIC demo", "sha256": None, "synthetic": True}
        return frame
    sep = None
    if name in SERIES_NAMES and not Path(name).exists():
        from flarecast.data import registry

        dataset, relative, sep = SERIES_NAMES[name]
        path = registry.locate(dataset, data_dir=data_dir, download=False)[relative]
    else:
        path = Path(source)
        if path.exists():
            require_regular_file(path, what="SHARP series")
        else:
            raise ConfigError(
                f"SHARP series {name!r} is neither a file nor a registered name. "
                f"Registered: {sorted([*SERIES_NAMES, 'demo'])}."
            )
    raw = _read_any(path, sep, max_bytes)
    out = _canonical(raw, str(path), keywords)
    _refuse_duplicates(out, str(path))
    out.attrs.update(
        {"source": name if name in SERIES_NAMES else str(path), "sha256": sha256_file(path)}
    )
    return out


def _read_any(path: Path, sep: str | None, max_bytes: int | str | None) -> pd.DataFrame:
    path = require_regular_file(path, what="SHARP series")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".nc", ".nc4", ".netcdf"):
        if sep is None:
            with open(path, encoding="utf-8-sig", errors="replace") as fh:
                first = fh.readline()
            sep = ";" if first.count(";") > first.count(",") else ","
        # Text cells: every column is parsed and checked below, nothing guessed by pandas.
        return read_text_csv(path, sep=sep, max_bytes=max_bytes, what="SHARP series")
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            need = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            check_budget(path, need, max_bytes, "its uncompressed Parquet columns")
            return pd.read_parquet(path)
        with open_netcdf(path) as ds:
            check_budget(path, ds.nbytes, max_bytes, "its netCDF variables")
            frame = ds.to_dataframe()
        return frame.reset_index(drop=frame.index.name not in _ALIASES[TIME])
    except FlarecastError:
        raise
    except Exception as exc:
        # A damaged binary file can fail anywhere inside pyarrow, h5py or xarray.
        raise DataError(
            f"{path}: cannot be read as a SHARP series table ({type(exc).__name__}: {exc})."
        ) from exc


def _refuse_duplicates(out: pd.DataFrame, source: str) -> None:
    """Two records of one region (and HARP) at one time: refused, since one would silently win."""
    key = [c for c in (NOAA_AR, HARPNUM, TIME) if c in out.columns]
    dup = out.duplicated(key, keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        shown = [
            f"{out[TIME].iloc[i]:%Y-%m-%dT%H:%M:%SZ} region {out[NOAA_AR].iloc[i]}" for i in rows
        ]
        raise DataError(
            f"{source}: {len(rows)} records share their region{' and HARP' if HARPNUM in key else ''}"
            f" and time with another record: {format_examples(rows, shown)}. Keep one record per "
            "region and time (a forecast or label would otherwise use whichever came last)."
        )


def _canonical(raw: pd.DataFrame, source: str, keywords: Sequence[str] | None) -> pd.DataFrame:
    found = {c: next((a for a in _ALIASES[c] if a in raw.columns), None) for c in _ALIASES}
    if found[TIME] is None or found[NOAA_AR] is None:
        raise SchemaError(
            f"{source}: a SHARP series needs a time column (one of {list(_ALIASES[TIME])}) and a region "
            f"column (one of {list(_ALIASES[NOAA_AR])}); found {list(raw.columns)}."
        )
    if keywords is None:
        keywords = [c for c in raw.columns if c in SHARP_UNITS]
    absent = [k for k in keywords if k not in raw.columns]
    if absent:
        raise SchemaError(
            f"{source}: keyword column(s) {absent} not found; columns are {list(raw.columns)}."
        )
    out = pd.DataFrame(index=raw.index)
    out[TIME] = _times(raw[found[TIME]], source=source, column=found[TIME])
    out[NOAA_AR] = _integers(raw[found[NOAA_AR]], source, found[NOAA_AR], zero_is_missing=True)
    if found[HARPNUM]:
        out[HARPNUM] = _integers(raw[found[HARPNUM]], source, found[HARPNUM], zero_is_missing=False)
    for col in (*POSITION, QUALITY):
        if col in raw.columns:
            out[col] = _numbers(raw[col], source, col)
    for col in keywords:
        out[col] = _numbers(raw[col], source, col)
    used = {found[TIME], found[NOAA_AR], found[HARPNUM], *POSITION, QUALITY, *keywords}
    out = out.reset_index(drop=True)
    out.attrs = {
        "keywords": list(keywords),
        "dropped_columns": [c for c in raw.columns if c not in used],
    }
    return out


def _times(values: pd.Series, *, source: str, column: str) -> pd.Series:
    """Record times as UTC: TAI strings converted, naive times read as UTC, numbers as Unix seconds."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        # seconds beyond what nanoseconds hold become NaT: reported as unparseable
        seconds = pd.to_datetime(values, unit="s", utc=True, errors="coerce")
        bad = seconds.isna().to_numpy()
        if bad.any():
            raise DataError(
                f"{source}: column {column!r} has {int(bad.sum())} unparseable time(s): "
                f"{format_examples(np.flatnonzero(bad), values.astype(str).to_numpy()[bad])}. "
                "Expected Unix seconds within 1677-09-21 .. 2262-04-11, ISO 8601 or a JSOC T_REC "
                "such as '2014.01.01_00:12:00_TAI'."
            )
        return to_utc(seconds, source=source, column=column)
    if pd.api.types.is_datetime64_any_dtype(values):
        return to_utc(values, naive="utc", source=source, column=column)
    text = values.astype("str").str.strip()
    tai = text.str.endswith("_TAI").fillna(False).to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if tai.any():
        out[tai] = tai_to_utc(text[tai], source=source, column=column)
    if (~tai).any():
        out[~tai] = to_utc(values[~tai], naive="utc", source=source, column=column)
    return out


def _numbers(values: pd.Series, source: str, column: str) -> np.ndarray:
    """Floats, NaN for a missing value; text and +-inf (no SHARP quantity is infinite) are errors."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = values.to_numpy(dtype=float, na_value=np.nan)
        text = values.astype(str).to_numpy()
        bad = np.isinf(num)
    else:
        text = values.astype(str).str.strip()
        num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        # pandas 3 keeps a missing cell as NA through astype(str) when the column also holds text
        missing = (text.isna() | text.str.lower().isin(["", "nan", "na", "none", "<na>"])).to_numpy(
            dtype=bool
        )
        bad = (np.isnan(num) & ~missing) | np.isinf(num)
        text = text.to_numpy()
    if bad.any():
        raise DataError(
            f"{source}: column {column!r} has {int(bad.sum())} non-numeric or infinite value(s): "
            f"{format_examples(np.flatnonzero(bad), text[bad])}. Expected a finite number."
        )
    return num


def _integers(values: pd.Series, source: str, column: str, *, zero_is_missing: bool) -> pd.Series:
    num = _numbers(values, source, column)
    # Beyond 2**53 a float no longer holds an exact integer (and Int64 would overflow).
    bad = np.isfinite(num) & ((num < 0) | (num != np.round(num)) | (num >= 2**53))
    if bad.any():
        raise DataError(
            f"{source}: column {column!r} has {int(bad.sum())} invalid number(s): "
            f"{format_examples(np.flatnonzero(bad), num[bad])}. Expected a non-negative integer "
            "below 2**53."
        )
    if zero_is_missing:  # JSOC writes NOAA_AR = 0 for a HARP without a NOAA region
        num = np.where(num == 0, np.nan, num)
    return pd.Series(pd.array(num, dtype="Float64").astype("Int64"), index=values.index)


def read_harp_map(path: str | Path) -> pd.DataFrame:
    """Read a HARP -> NOAA map: ``harp_to_noaa.csv`` (``HARPNUM AR[,AR...]``) or ``harp_stats.csv``.

    Returns
    -------
    pandas.DataFrame, shape (n_pairs, 2)
        ``harpnum`` and ``noaa_ar`` (Int64), one row per pair: a HARP that
        spans several NOAA regions has several rows.

    Raises
    ------
    DataError
        Unreadable file or non-integer numbers (named by line).
    """
    path = require_regular_file(path, what="HARP map")
    try:
        check_budget(path, path.stat().st_size, None, "its size on disk")
        with open(path, encoding="utf-8-sig") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read as UTF-8 text ({exc}).") from exc
    pairs, bad = [], []
    if lines and lines[0].replace(" ", "").upper().startswith("HARP_NO,AR"):
        rows = [(i + 1, ln.split(",")[:2]) for i, ln in enumerate(lines[1:], start=1) if ln.strip()]
    else:
        rows = [(i + 1, ln.split(None, 1)) for i, ln in enumerate(lines) if ln.strip()]
    for line_no, parts in rows:
        ars = parts[1].replace(" ", "").split(",") if len(parts) == 2 else []
        if not ars or not all(_HARP_NUMBER.fullmatch(a) for a in [parts[0].strip(), *ars]):
            bad.append((line_no, " ".join(parts)))
            continue
        pairs.extend((int(parts[0]), int(a)) for a in ars)
    if bad:
        raise DataError(
            f"{path}: {len(bad)} malformed line(s): "
            + ", ".join(f"line {n}: {t!r}" for n, t in bad[:5])
            + ". Expected 'HARPNUM NOAA_AR[,NOAA_AR...]' or a 'HARP_NO,AR,Begin,End' table."
        )
    frame = pd.DataFrame(pairs, columns=[HARPNUM, NOAA_AR]).drop_duplicates().astype("Int64")
    return frame.reset_index(drop=True)


def events_by_harp(events: pd.DataFrame, mapping: pd.DataFrame) -> pd.DataFrame:
    """Attribute catalogue events to HARPs through their NOAA region, to label by ``harpnum``.

    An event of a region that belongs to two HARPs counts for both; events of
    regions with no HARP are left out (counted in ``attrs["events_without_harp"]``).

    Returns
    -------
    pandas.DataFrame
        ``events`` with an Int64 ``harpnum`` column, sorted by start time.
    """
    merged = events.merge(mapping[[HARPNUM, NOAA_AR]].dropna(), on=NOAA_AR, how="inner")
    merged = merged.sort_values([START, HARPNUM], kind="stable").reset_index(drop=True)
    matched = events[NOAA_AR].isin(mapping[NOAA_AR].dropna()).to_numpy()
    merged.attrs = {**events.attrs, "events_without_harp": int((~matched).sum())}
    return merged


def clean_series(
    frame: pd.DataFrame,
    *,
    max_abs_lon: float | None = 70.0,
    quality_zero: bool = True,
    keywords: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Apply the usual SHARP filters, counting what each removes (``attrs["dropped"]``).

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical series.
    max_abs_lon : float or None, default 70.0
        Keep ``|LON_FWT| <= max_abs_lon`` deg (the vector field degrades near
        the limb); None keeps all. A missing longitude fails the test.
    quality_zero : bool, default True
        Keep ``QUALITY == 0`` records only.
    keywords : sequence of str, optional
        Drop records with a missing value in these (default ``attrs["keywords"]``).

    Returns
    -------
    pandas.DataFrame
        The kept rows, index reset.
    """
    keep = np.ones(len(frame), dtype=bool)
    dropped = {}
    if quality_zero and QUALITY in frame.columns:
        ok = frame[QUALITY].to_numpy(dtype=float, na_value=np.nan) == 0
        dropped["quality"] = int((keep & ~ok).sum())
        keep &= ok
    if max_abs_lon is not None and "LON_FWT" in frame.columns:
        ok = np.abs(frame["LON_FWT"].to_numpy(dtype=float, na_value=np.nan)) <= max_abs_lon
        dropped["limb"] = int((keep & ~ok).sum())
        keep &= ok
    cols = list(keywords if keywords is not None else frame.attrs.get("keywords", []))
    if cols:
        ok = np.isfinite(frame[cols].to_numpy(dtype=float, na_value=np.nan)).all(axis=1)
        dropped["missing_keyword"] = int((keep & ~ok).sum())
        keep &= ok
    out = frame.loc[keep].reset_index(drop=True)
    out.attrs = {**frame.attrs, "dropped": {**frame.attrs.get("dropped", {}), **dropped}}
    return out
