"""Write a SHARP series or a labelled table atomically, with its attributes, in the format of its name.

Parquet keeps ``attrs`` in the file metadata (pandas reads them back into
``frame.attrs``); netCDF stores them as global attributes (lists and dicts as
JSON text) with times as CF UTC; CSV writes ISO times with ``Z`` and the
attributes to ``<path>.meta.json`` beside it, which
:func:`flarecast.data.tables.read.read_table` reads back (above all the
SYNTHETIC mark and the label window).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError
from flarecast.io import atomic_path, write_json

__all__ = ["write_table"]


def write_table(
    frame: pd.DataFrame, path: str | Path, *, attrs: dict[str, object] | None = None
) -> Path:
    """Write a series or labelled table atomically as Parquet, netCDF or CSV, with its attributes.

    Parquet keeps ``attrs`` in the file metadata (pandas reads them back into
    ``frame.attrs``); netCDF stores them as global attributes (lists and dicts
    as JSON text) with times as CF UTC; CSV writes ISO times with ``Z`` and the
    attributes to ``<path>.meta.json`` beside it.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ConfigError
        Unknown suffix.
    """
    path = Path(path)
    meta = {k: _jsonable(v) for k, v in {**frame.attrs, **(attrs or {})}.items()}
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".nc", ".csv"):
        raise ConfigError(
            f"The output file must end in .parquet, .nc or .csv. Got {str(path)!r} instead."
        )
    out = frame.copy(deep=False)
    out.attrs = meta
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            out.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            out.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        else:
            _to_netcdf(out, tmp, meta)
    if suffix == ".csv":
        write_json(path.with_name(path.name + ".meta.json"), meta)
    return path


def _to_netcdf(frame: pd.DataFrame, path: Path, meta: dict[str, object]) -> None:
    import xarray as xr

    data = {}
    for col in frame.columns:
        values = frame[col]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            data[col] = ("record", values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy())
        elif isinstance(values.dtype, pd.Int64Dtype):
            data[col] = ("record", values.to_numpy(dtype=float, na_value=np.nan))
        elif pd.api.types.is_numeric_dtype(values):
            data[col] = ("record", values.to_numpy())
        else:
            data[col] = ("record", values.astype(object).where(values.notna(), "").to_numpy())
    ds = xr.Dataset(data)
    # netCDF attributes hold text and numbers: booleans become 0/1, lists and dicts JSON text.
    ds.attrs = {
        k: int(v)
        if isinstance(v, bool)
        else v
        if isinstance(v, str | int | float)
        else json.dumps(v)
        for k, v in meta.items()
    }
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            ds[col].encoding = {"units": "seconds since 1970-01-01 00:00:00", "dtype": "float64"}
    ds.to_netcdf(path, engine="h5netcdf")


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return "" if value is None else value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)
