"""Canonical labelled tables (CSV, Parquet, netCDF): read the file, parse and check every column.

The rules are those of :func:`flarecast.data.tables.read.read_table` (see the
docstring of :mod:`flarecast.data.tables.read`); this module holds the parsing
shared by the full read and by the chunked summary of
:mod:`flarecast.data.tables.summary`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.budget import check_budget
from flarecast.data.columns import MAX_PEAK_FLUX, numeric, optional_ids, region_numbers
from flarecast.data.netcdf import open_netcdf
from flarecast.data.schema import GOES_CLASS, HARPNUM, META, NOAA_AR, PEAK_FLUX, POSITION, TIME
from flarecast.data.text_csv import read_text_csv
from flarecast.errors import DataError, FlarecastError, GOESClassError, SchemaError, format_examples
from flarecast.goes import flux_to_class, parse_goes_class
from flarecast.io import require_regular_file
from flarecast.time import to_utc

__all__ = [
    "TABLE_SUFFIXES",
    "TABLE_WINDOW",
    "TABLE_NOTE",
    "read_frame",
    "written_attrs",
    "canonical_frame",
]

TABLE_SUFFIXES = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
                   ".nc": "netcdf", ".nc4": "netcdf", ".netcdf": "netcdf", ".h5": "netcdf"}  # fmt: skip


def read_frame(
    path: Path, keep: set[str], max_bytes: int | str | None = None
) -> tuple[pd.DataFrame, bool]:
    """Read a table file; also say whether naive times are UTC by the format's convention (netCDF/CF).

    A netCDF dimension coordinate is the sample index and is dropped, unless
    its name is in ``keep`` (a canonical or mapped column such as ``time``).
    """
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"{path}: unknown table format {path.suffix!r}; expected one of {sorted(TABLE_SUFFIXES)}."
        )
    if kind == "csv":
        # Metadata stays text (its own parsers name bad cells); features may come as numbers.
        return read_text_csv(path, max_bytes=max_bytes, numbers=keep), False
    require_regular_file(path, what="table")
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            need = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            check_budget(path, need, max_bytes, "its uncompressed Parquet columns")
            return pd.read_parquet(path), False
        with open_netcdf(path) as ds:
            if len(ds.dims) != 1:
                raise DataError(
                    f"{path}: a netCDF table needs one dimension (samples); found {dict(ds.sizes)}."
                )
            check_budget(path, ds.nbytes, max_bytes, "its netCDF variables")
            frame = ds.to_dataframe()
            attrs = dict(ds.attrs)
        index_name = frame.index.name
        frame = frame.reset_index(drop=index_name not in keep)
        frame.attrs = attrs  # global attributes, as flarecast's writer stores a table's attrs
        return frame, True
    except FlarecastError:
        raise
    except Exception as exc:
        # A damaged binary file can fail anywhere inside pyarrow, h5py or xarray (OSError,
        # KeyError, TypeError, ArrowInvalid, ...): all of them mean the file cannot be read.
        raise DataError(f"{path}: cannot be read as {kind} ({type(exc).__name__}: {exc}).") from exc


def _times(values: pd.Series, *, source: str, assume_utc: bool, cf_utc: bool) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_datetime64_any_dtype(values):
        raise DataError(
            f"{source}: column {TIME!r} is numeric ({values.dtype}); epoch numbers are ambiguous "
            "(s? ms? TAI?). Store ISO 8601 times with a zone, e.g. '2014-01-01T00:12:00Z'."
        )
    return to_utc(
        values,
        naive="utc" if assume_utc or cf_utc else "refuse",
        source=source,
        column=TIME,
        naive_hint="Add 'Z' (UTC) or pass assume_utc=True (CLI: --assume-utc) if they are UTC.",
    )


def written_attrs(path: Path, frame: pd.DataFrame) -> dict[str, Any]:
    """The attributes flarecast's table writer stored with ``path`` (:func:`flarecast.data.tables.write.write_table`).

    Parquet and netCDF carry them in the file (``frame.attrs`` after reading);
    a CSV has them in ``<path>.meta.json`` beside it. They say, above all,
    whether the table was made from SYNTHETIC data, which every output made
    from it must repeat, and its label window. An unreadable sidecar is an
    error: silently dropping it could lose the SYNTHETIC mark.
    """
    if path.suffix.lower() != ".csv":
        return dict(frame.attrs)
    sidecar = path.with_name(path.name + ".meta.json")
    if not sidecar.is_file():
        return {}
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(
            f"{sidecar}: the attributes written with {path.name} cannot be read ({exc}); "
            "repair or remove it"
        ) from exc
    if not isinstance(meta, dict):
        raise DataError(
            f"{sidecar}: expected a JSON object of table attributes, got {type(meta).__name__}"
        )
    return meta


#: ``Dataset.window`` and first note of a canonical table.
TABLE_WINDOW = "unspecified (canonical table: goes_class is taken as given)"
TABLE_NOTE = "canonical table: the label window is whatever its author used"


def canonical_frame(
    frame: pd.DataFrame,
    *,
    source: str,
    columns: Mapping[str, str] | None = None,
    features: Sequence[str] | None = None,
    assume_utc: bool = False,
    cf_utc: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """Parse and check the raw columns of a canonical table (or of one chunk of it).

    Parameters
    ----------
    frame : pandas.DataFrame
        Raw columns as read (text for CSV); its index holds the file's row numbers.
    source : str
        File named in messages.
    columns, features, assume_utc
        As for :func:`read_table`.
    cf_utc : bool, default False
        Naive datetimes are UTC by the file format's convention (netCDF/CF).

    Returns
    -------
    frame : pandas.DataFrame
        Canonical metadata columns and float64 features, same index, before the
        missing-feature and duplicate policies.
    features : list of str
    """
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    if columns:
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise SchemaError(
                f"{source}: mapped column(s) {absent} not found; columns are {list(frame.columns)}."
            )
        frame = frame.rename(columns=dict(columns))
    dup_names = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if dup_names:
        raise SchemaError(
            f"{source}: column name(s) {dup_names} occur more than once (after the mapping)."
        )
    missing_cols = [c for c in (TIME, NOAA_AR) if c not in frame.columns]
    if GOES_CLASS not in frame.columns and PEAK_FLUX not in frame.columns:
        missing_cols.append(f"{GOES_CLASS} or {PEAK_FLUX}")
    if missing_cols:
        raise SchemaError(
            f"{source}: missing column(s) {missing_cols}; found {list(frame.columns)}. "
            "Rename other layouts with columns={'source_name': 'canonical_name'} (CLI: --map SRC=DST)."
        )

    # Columns are collected first and framed once (inserting them one by one copies the frame).
    def times() -> pd.Series:
        return _times(frame[TIME], source=source, assume_utc=assume_utc, cf_utc=cf_utc)

    if len(frame) < _TIMES_ASIDE:
        out = {TIME: times()}
        features = _other_columns(frame, out, source, features)
        return pd.DataFrame(out, index=frame.index), features
    # A large table's times are parsed in a thread (Arrow lets go of the GIL) meanwhile; their
    # errors still come first.
    with ThreadPoolExecutor(max_workers=1) as pool:
        parsed = pool.submit(times)
        rest: dict[str, Any] = {}
        try:
            features = _other_columns(frame, rest, source, features)
        except Exception:
            parsed.result()
            raise
        out = {TIME: parsed.result(), **rest}
    return pd.DataFrame(out, index=frame.index), features


# Rows from which canonical_frame parses the times in a thread.
_TIMES_ASIDE = 200_000


def _other_columns(
    frame: pd.DataFrame, out: dict[str, Any], source: str, features: Sequence[str] | None
) -> list[str]:
    """The columns of :func:`canonical_frame` but the times, parsed into ``out``; the features."""
    out[NOAA_AR] = region_numbers(frame[NOAA_AR], source=source, column=NOAA_AR)
    if HARPNUM in frame.columns:
        out[HARPNUM] = optional_ids(frame[HARPNUM], source=source, column=HARPNUM)
    out[GOES_CLASS], out[PEAK_FLUX] = _labels(frame, source)
    for col in POSITION:
        if col in frame.columns:
            out[col] = numeric(frame[col], source=source, column=col)
    if features is None:
        features = [c for c in frame.columns if c not in META]
    absent = [c for c in features if c not in frame.columns]
    if absent or not features:
        raise SchemaError(
            f"{source}: feature column(s) {absent or '(none)'} not found; columns are {list(frame.columns)}."
        )
    for col in features:
        values = frame[col]
        # Numbers as read (a float64 column holds nothing numeric() refuses): framed below, a copy.
        floats = isinstance(values.dtype, np.dtype) and values.dtype == np.float64
        out[col] = values.to_numpy() if floats else numeric(values, source=source, column=col)
    return list(features)


def _labels(frame: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Canonical class strings and fluxes from ``goes_class`` and/or ``peak_flux``, checked against each other."""
    flux = None
    if PEAK_FLUX in frame.columns:
        flux = numeric(frame[PEAK_FLUX], source=source, column=PEAK_FLUX, allow_missing=False)
        bad = ~np.isfinite(flux) | (flux < 0) | (flux >= MAX_PEAK_FLUX)
        if bad.any():
            raise GOESClassError(
                f"{source}: column {PEAK_FLUX!r} has {int(bad.sum())} invalid flux(es): "
                f"{format_examples(frame.index[bad], flux[bad].tolist())}. Expected W m^-2 >= 0 (0 = no flare)"
                f" and below {MAX_PEAK_FLUX:g} (X10000)."
            )
    if GOES_CLASS not in frame.columns:
        return _class_column(flux), flux
    stated = _stated_fluxes(frame[GOES_CLASS], source)
    huge = stated >= MAX_PEAK_FLUX
    if huge.any():
        raise GOESClassError(
            f"{source}: column {GOES_CLASS!r} has {int(huge.sum())} class(es) of X10000 "
            f"({MAX_PEAK_FLUX:g} W m^-2) or more, far beyond any flare on record: "
            f"{format_examples(frame.index[huge], frame[GOES_CLASS].to_numpy()[huge].tolist())}."
        )
    if flux is None:
        return _class_column(stated), stated
    off = _per_value(flux_to_class, stated) != _per_value(flux_to_class, flux)
    if off.any():
        shown = [
            f"{c} vs {f:.3g}"
            for c, f in zip(frame[GOES_CLASS].to_numpy()[off], flux[off], strict=True)
        ]
        raise GOESClassError(
            f"{source}: columns {GOES_CLASS!r} and {PEAK_FLUX!r} disagree in {int(off.sum())} row(s): "
            f"{format_examples(frame.index[off], shown)}."
        )
    return _class_column(stated), flux


def _class_column(flux: np.ndarray) -> Any:
    """``flux_to_class`` of each flux as the column pandas makes of those strings, built from the
    distinct ones (converting each row's numpy string to pandas' Arrow text costs ten times more)."""
    codes, uniques = pd.factorize(np.asarray(flux), use_na_sentinel=False)
    names = np.asarray(flux_to_class(uniques))
    text = pd.Series(names[:0]).dtype  # what pandas makes of numpy strings (str, or object)
    if not (isinstance(text, pd.StringDtype) and text.storage == "pyarrow"):
        return names[codes]
    import pyarrow as pa

    return pd.array(pa.array(names.tolist(), type=pa.large_string()).take(codes), dtype=text)


def _per_value(func: Any, values: Any) -> np.ndarray:
    """``func`` (elementwise) computed once per distinct value: a table has few distinct classes."""
    codes, uniques = pd.factorize(np.asarray(values), use_na_sentinel=False)
    return np.asarray(func(uniques))[codes]


def _stated_fluxes(classes: pd.Series, source: str) -> np.ndarray:
    """Fluxes of the stated classes, parsed once per distinct spelling.

    A spelling that does not parse sends the whole column through the parser
    again, so that its error names the file rows, as it always has. Spellings
    already parsed are remembered: the chunks of one table share a few dozen.
    """
    codes, uniques = pd.factorize(classes, use_na_sentinel=False)
    fluxes = np.array([_CLASS_FLUXES.get(u, np.nan) if type(u) is str else np.nan for u in uniques])
    new = np.flatnonzero(np.isnan(fluxes))
    if new.size:
        spellings = [uniques[i] for i in new]
        try:
            fluxes[new] = parse_goes_class(pd.Series(spellings, dtype=object), allow_none=True)
        except FlarecastError:
            return parse_goes_class(classes, allow_none=True, source=source, column=GOES_CLASS)
        if len(_CLASS_FLUXES) > 4096:
            _CLASS_FLUXES.clear()
        _CLASS_FLUXES.update(
            (u, f) for u, f in zip(spellings, fluxes[new], strict=True) if type(u) is str
        )
    return fluxes[codes]


# Flux of each class spelling parsed so far (str -> W m^-2).
_CLASS_FLUXES: dict[str, float] = {}
