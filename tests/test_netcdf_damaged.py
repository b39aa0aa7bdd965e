"""A damaged netCDF file is refused by every netCDF reader and leaves nothing open behind it.

A flipped bit in an HDF5 object header lets the HDF5 file open and then fails in
h5netcdf's constructor (``KeyError``). Before ``flarecast.data.netcdf``, the
half-built ``h5netcdf.File`` kept the file open until a later garbage collection,
whose finalizer raised ``AttributeError: ... '_writable'`` wherever it ran; on
CPython 3.11.7 inside pytest's ``ast.parse`` that crashed a test worker.
"""

from __future__ import annotations

import gc
import os
import sys

import numpy as np
import pytest
import xarray as xr

from flarecast.data.catalogues.flsum import read_xrs_flsum
from flarecast.data.netcdf import open_netcdf
from flarecast.data.sharp.series import read_sharp_series
from flarecast.data.tables.read import read_table
from flarecast.errors import DataError

READERS = {
    "read_table": (read_table, "cannot be read as netcdf"),
    "read_sharp_series": (read_sharp_series, "cannot be read as a SHARP series table"),
    "read_xrs_flsum": (read_xrs_flsum, "cannot be read as a netCDF flare summary"),
}


def _open_paths() -> list[str]:
    paths = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the listing's own descriptor, closed by now
            pass
    return paths


@pytest.fixture
def unraisable(monkeypatch):
    """Exceptions raised where Python cannot raise them (finalizers), collected instead of printed."""
    caught = []
    monkeypatch.setattr(sys, "unraisablehook", caught.append)
    return caught


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("byte", [96, None], ids=["object-header-bit", "truncated"])
def test_damaged_netcdf_is_refused_and_closed(tmp_path, unraisable, reader, byte):
    path = tmp_path / "damaged.nc"
    xr.Dataset({"a": ("sample", np.arange(4.0))}).to_netcdf(path, engine="h5netcdf")
    raw = path.read_bytes()
    if byte is None:
        path.write_bytes(raw[: len(raw) // 2])
    else:
        path.write_bytes(raw[:byte] + bytes([raw[byte] ^ 1]) + raw[byte + 1 :])
    read, message = READERS[reader]
    with pytest.raises(DataError, match=message) as info:
        read(path)
    assert str(path) in str(info.value)
    assert str(path) not in _open_paths()
    gc.collect()
    assert [(u.exc_type, str(u.exc_value)) for u in unraisable] == []


def test_open_netcdf_reads_what_xarray_reads(tmp_path):
    path = tmp_path / "table.nc"
    times = np.array(["2014-01-01T00:00", "2014-01-01T00:12"], dtype="datetime64[ns]")
    ds = xr.Dataset(
        {"t": ("sample", times), "name": ("sample", ["AR1", "AR2"]), "x": ("sample", [1.5, 2.5])},
        attrs={"source": "test"},
    )
    ds.to_netcdf(path, engine="h5netcdf")
    with open_netcdf(path) as ours, xr.open_dataset(path, engine="h5netcdf") as theirs:
        xr.testing.assert_identical(ours.load(), theirs.load())
    assert str(path) not in _open_paths()
