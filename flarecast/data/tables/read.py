"""Labelled feature tables: load a registered data set or a file into a :class:`Dataset`.

:func:`load_dataset` is the one entry point. A registered name (see
:mod:`flarecast.data.registry`) is located, verified and read with its
source's reader; ``"demo"`` is the synthetic generator. A path is read by the
reader of its layout when its header is one of the known sources (Michigan
``arflares``, FlareML, Hollanda, Liu et al. 2019), else as a **canonical
table** (CSV, Parquet or netCDF) by :func:`read_table`.

Canonical table rules (:func:`read_table`):

- columns ``time``, ``noaa_ar`` and ``goes_class`` and/or ``peak_flux``
  (W m^-2); optional ``harpnum``, ``LON_FWT``, ``LAT_FWT``; every other column
  is a numeric feature (or pass ``features``). ``columns={source: canonical}``
  renames other layouts first.
- Times must be timezone-aware (``...Z`` or ``+00:00``); naive times are an
  error unless ``assume_utc=True``, because a local time read as UTC shifts
  every label window silently. netCDF times follow CF, where a reference time
  without a zone is UTC, so they are accepted as UTC.
- Given both class and flux, they must agree to the class's tenth.
- ``flaring_only`` is True when no row is ``N``; the window is unknown.
- Missing features and duplicate rows follow the shared policies (see
  :mod:`flarecast.data.row_policies`).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data import registry
from flarecast.data.budget import check_budget
from flarecast.data.columns import MAX_PEAK_FLUX, numeric, optional_ids, region_numbers
from flarecast.data.row_policies import finish
from flarecast.data.schema import (
    GOES_CLASS,
    HARPNUM,
    META,
    NOAA_AR,
    PEAK_FLUX,
    POSITION,
    TIME,
    Dataset,
)
from flarecast.data.tables.per_flare import read_flareml, read_umich
from flarecast.data.tables.srs import read_hayes_srs
from flarecast.data.tables.windowed import read_hollanda, read_liu2019_demo
from flarecast.data.text_csv import read_text_csv
from flarecast.errors import (
    ConfigError,
    DataError,
    FlarecastError,
    GOESClassError,
    SchemaError,
    format_examples,
)
from flarecast.goes import LETTERS, class_letter, flux_to_class, parse_goes_class
from flarecast.io import require_regular_file, sha256_file
from flarecast.time import to_utc

__all__ = ["load_dataset", "read_table", "detect_layout", "summarize"]

_TABLE_SUFFIXES = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
                   ".nc": "netcdf", ".nc4": "netcdf", ".netcdf": "netcdf", ".h5": "netcdf"}  # fmt: skip


def load_dataset(
    name_or_path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    data_dir: str | Path | None = None,
    features: Sequence[str] | None = None,
    assume_utc: bool = False,
    duplicates: str = "keep",
    missing: str = "drop",
    download: bool = True,
    progress: bool = False,
    max_bytes: int | str | None = None,
) -> Dataset:
    """Load a registered data set or a table file in the canonical schema.

    Parameters
    ----------
    name_or_path : str or Path
        A registered name (``"umich-24h"``, ``"hollanda-2019"``, ``"demo"``, ...;
        a name wins over a file of the same name, write ``./demo`` for the file)
        or a path to a known source file or a canonical CSV/Parquet/netCDF table.
    columns : mapping of str to str, optional
        ``{source_column: canonical_column}`` for a table in another layout
        (paths only; the file is then read as a canonical table).
    data_dir : str or Path, optional
        Local data folder for registered names; default ``$FLARECAST_DATA_DIR``.
    features : sequence of str, optional
        Feature columns of a canonical table; default every non-metadata column.
    assume_utc : bool, default False
        Read naive times of a canonical table as UTC instead of refusing them.
    duplicates : {"keep", "drop", "error"}, default "keep"
        Exact duplicate rows: kept and counted in ``notes``, dropped (counted), or refused.
    missing : {"drop", "error"}, default "drop"
        Rows with a NaN/inf feature: dropped and counted in ``notes`` (with a
        :class:`~flarecast.errors.DataWarning`), or refused.
    download : bool, default True
        Download registered files missing locally (verified by sha256).
    progress : bool, default False
        Show a download progress bar (CLI use).
    max_bytes : int or str, optional
        Memory budget of each table file, bytes or ``"500MB"``/``"8GiB"``; default
        ``$FLARECAST_MAX_TABLE_BYTES``, else 2 GiB. A larger file is refused
        before it is read (see :mod:`flarecast.data.budget`).

    Returns
    -------
    Dataset
        ``frame`` holds exactly the canonical metadata columns present plus
        ``features``; ``sha256`` is the checksum of the source file(s).

    Raises
    ------
    ConfigError
        Neither a registered name nor an existing file, or ``columns`` with a name.
    DataError, SchemaError, GOESClassError
        Bad content, naming the file, row and column.
    DownloadError
        A needed download failed or did not match its checksum.
    """
    text = str(name_or_path)
    policies: dict[str, Any] = {
        "duplicates": duplicates,
        "missing": missing,
        "max_bytes": max_bytes,
    }
    if not isinstance(name_or_path, Path) and text in registry.registry():
        if columns or features:
            raise ConfigError(
                f"'columns' and 'features' apply to table files, not to the registered data set {text!r}."
            )
        return _load_registered(
            text, data_dir=data_dir, download=download, progress=progress, **policies
        )
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        close = difflib.get_close_matches(text, registry.names(), n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ConfigError(
            f"{text!r} is neither a registered data set ({', '.join(registry.names())}) "
            f"nor an existing file.{hint}"
        )
    layout = "table" if columns or features else detect_layout(path)
    if layout == "table":
        return read_table(
            path, columns=columns, features=features, assume_utc=assume_utc, **policies
        )
    return _READERS[layout](path, **policies)


_READERS = {
    "umich": read_umich,
    "flareml": read_flareml,
    "hollanda": read_hollanda,
    "liu2019": read_liu2019_demo,
    "srs": read_hayes_srs,
}


def _load_registered(
    name: str, *, data_dir: Any, download: bool, progress: bool, **policies: Any
) -> Dataset:
    entry = registry.get_entry(name)
    if entry.synthetic:
        try:  # imported lazily: the generator is only needed for "demo"
            from flarecast.data.synthetic import demo_dataset
        except ModuleNotFoundError as exc:
            raise DataError(
                "The 'demo' data set needs flarecast.data.synthetic, which is missing."
            ) from exc
        return demo_dataset()
    found = registry.locate(name, data_dir=data_dir, download=download, progress=progress)
    # registry.toml lists the file a reader reads first, then its companion file.
    main, *companions = found.values()
    extra: dict[str, Any] = dict(entry.options)
    if companions:
        extra["original" if entry.reader == "flareml" else "labels"] = companions[0]
    dataset = _READERS[entry.reader](main, name=name, **extra, **policies)
    return dataclasses.replace(dataset, sha256=registry.combined_sha256(entry))


def detect_layout(path: str | Path) -> str:
    """Which reader a file needs, from its header: ``umich``, ``flareml``, ``hollanda``, ``liu2019``, ``srs`` or ``table``."""
    path = Path(path)
    if _TABLE_SUFFIXES.get(path.suffix.lower()) != "csv":
        return "table"
    with open(path, encoding="utf-8-sig", errors="replace") as fh:  # a BOM is not a name
        header = fh.readline().strip()
    cols = {c.strip() for c in header.replace(";", ",").split(",")}
    if {"NOAA_ar_num", "T_REC", "log_intensity", "category"} <= cols:
        return "umich"
    if "Flare Class" in cols:
        return "flareml"
    if {"FlareNumber", "T_REC", "NOAA_AR"} <= cols and ";" in header:
        return "hollanda"
    if {"flare", "timestamp", "NOAA", "HARP"} <= cols:
        return "liu2019"
    if {"AR issue_date", "noaa_ar", "McIntosh", "MAGTYPE"} <= cols:
        return "srs"
    return "table"


def _read_frame(
    path: Path, keep: set[str], max_bytes: int | str | None = None
) -> tuple[pd.DataFrame, bool]:
    """Read a table file; also say whether naive times are UTC by the format's convention (netCDF/CF).

    A netCDF dimension coordinate is the sample index and is dropped, unless
    its name is in ``keep`` (a canonical or mapped column such as ``time``).
    """
    kind = _TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"{path}: unknown table format {path.suffix!r}; expected one of {sorted(_TABLE_SUFFIXES)}."
        )
    if kind == "csv":
        return read_text_csv(path, max_bytes=max_bytes), False
    require_regular_file(path, what="table")
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            need = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            check_budget(path, need, max_bytes, "its uncompressed Parquet columns")
            return pd.read_parquet(path), False
        import xarray as xr

        with xr.open_dataset(path, engine="h5netcdf") as ds:
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


def read_table(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    features: Sequence[str] | None = None,
    assume_utc: bool = False,
    duplicates: str = "keep",
    missing: str = "drop",
    name: str | None = None,
    max_bytes: int | str | None = None,
) -> Dataset:
    """Read a canonical labelled table (CSV, Parquet or netCDF via h5netcdf); rules in the module docstring.

    Parameters
    ----------
    path : str or Path
    columns : mapping of str to str, optional
        ``{source_column: canonical_column}`` applied before anything else.
    features : sequence of str, optional
        Feature columns (after renaming); default every non-metadata column.
    assume_utc, duplicates, missing, max_bytes
        As for :func:`load_dataset`.
    name : str, optional
        Stored on the result; default the path.

    Returns
    -------
    Dataset
    """
    path = Path(path)
    source = str(path)
    frame, cf_utc = _read_frame(path, keep=set(META) | set(columns or {}), max_bytes=max_bytes)
    written = _written_attrs(path, frame)
    out, features = canonical_frame(
        frame,
        source=source,
        columns=columns,
        features=features,
        assume_utc=assume_utc,
        cf_utc=cf_utc,
    )
    return finish(
        out,
        features=features,
        source=source,
        name=name or source,
        sha256=sha256_file(path),
        window=str(written.get("window") or TABLE_WINDOW),
        flaring_only=bool((out[PEAK_FLUX] > 0).all()),
        notes=(TABLE_NOTE,),
        duplicates=duplicates,
        missing=missing,
        synthetic=str(written.get("synthetic", "")).lower() in ("true", "1"),
    )


def _written_attrs(path: Path, frame: pd.DataFrame) -> dict[str, Any]:
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
    out = pd.DataFrame(
        {
            TIME: _times(frame[TIME], source=source, assume_utc=assume_utc, cf_utc=cf_utc),
            NOAA_AR: region_numbers(frame[NOAA_AR], source=source, column=NOAA_AR),
        },
        index=frame.index,
    )
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
        out[col] = numeric(frame[col], source=source, column=col)
    return out, list(features)


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
        return flux_to_class(flux), flux
    stated = parse_goes_class(frame[GOES_CLASS], allow_none=True, source=source, column=GOES_CLASS)
    huge = stated >= MAX_PEAK_FLUX
    if huge.any():
        raise GOESClassError(
            f"{source}: column {GOES_CLASS!r} has {int(huge.sum())} class(es) of X10000 "
            f"({MAX_PEAK_FLUX:g} W m^-2) or more, far beyond any flare on record: "
            f"{format_examples(frame.index[huge], frame[GOES_CLASS].to_numpy()[huge].tolist())}."
        )
    if flux is None:
        return flux_to_class(stated), stated
    off = flux_to_class(stated) != flux_to_class(flux)
    if off.any():
        shown = [
            f"{c} vs {f:.3g}"
            for c, f in zip(frame[GOES_CLASS].to_numpy()[off], flux[off], strict=True)
        ]
        raise GOESClassError(
            f"{source}: columns {GOES_CLASS!r} and {PEAK_FLUX!r} disagree in {int(off.sum())} row(s): "
            f"{format_examples(frame.index[off], shown)}."
        )
    return flux_to_class(stated), flux


def summarize(dataset: Dataset) -> dict[str, Any]:
    """A JSON-ready description of a data set (what ``flarecast data info`` shows).

    Returns
    -------
    dict
        ``name``, ``rows``, ``classes`` (counts for N, A, B, C, M, X by flux),
        ``regions`` (distinct NOAA ARs), ``time_start``/``time_end`` (ISO UTC),
        ``features``, ``synthetic``, ``flaring_only``, ``window``, ``sha256``, ``notes``.
    """
    frame = dataset.frame
    letters = pd.Series(class_letter(frame[PEAK_FLUX].to_numpy(dtype=float)))
    counts = letters.value_counts()
    times = frame[TIME]
    return {
        "name": dataset.name,
        "synthetic": dataset.synthetic,
        "rows": len(frame),
        "classes": {k: int(counts.get(k, 0)) for k in ("N", *LETTERS)},
        "regions": int(frame[NOAA_AR].nunique()),
        "time_start": times.min().isoformat() if len(frame) else None,
        "time_end": times.max().isoformat() if len(frame) else None,
        "features": list(dataset.features),
        "flaring_only": dataset.flaring_only,
        "window": dataset.window,
        "sha256": dataset.sha256,
        "notes": list(dataset.notes),
    }
