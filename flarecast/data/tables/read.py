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
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from flarecast.data import registry
from flarecast.data.row_policies import finish
from flarecast.data.schema import (
    META,
    NOAA_AR,
    PEAK_FLUX,
    TIME,
    Dataset,
)
from flarecast.data.tables.canonical import (
    TABLE_NOTE,
    TABLE_SUFFIXES,
    TABLE_WINDOW,
    canonical_frame,
    read_frame,
    written_attrs,
)
from flarecast.data.tables.per_flare import read_flareml, read_umich
from flarecast.data.tables.srs import read_hayes_srs
from flarecast.data.tables.windowed import read_hollanda, read_liu2019_demo
from flarecast.errors import (
    ConfigError,
    DataError,
)
from flarecast.goes import LETTERS, class_letter
from flarecast.io import sha256_file

__all__ = ["load_dataset", "read_table", "detect_layout", "summarize"]


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
    if TABLE_SUFFIXES.get(path.suffix.lower()) != "csv":
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


def checksum_aside(path: Path) -> Future[str]:
    """The sha256 of ``path``, computed in a thread while the caller parses the file.

    hashlib lets go of the GIL, so the checksum costs no wall time. Call it only on a
    regular file (a FIFO would block the thread, and the interpreter waits for it at exit).
    """
    pool = ThreadPoolExecutor(max_workers=1)
    checksum = pool.submit(sha256_file, path, 1 << 16)  # small reads: small buffers
    pool.shutdown(wait=False)
    return checksum


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
    frame, cf_utc = read_frame(path, keep=set(META) | set(columns or {}), max_bytes=max_bytes)
    checksum = checksum_aside(path)  # the file is read: within the budget, a regular file
    written = written_attrs(path, frame)
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
        sha256=checksum.result(),
        window=str(written.get("window") or TABLE_WINDOW),
        flaring_only=bool((out[PEAK_FLUX] > 0).all()),
        notes=(TABLE_NOTE,),
        duplicates=duplicates,
        missing=missing,
        synthetic=str(written.get("synthetic", "")).lower() in ("true", "1"),
    )


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
