"""Open a netCDF-4 (HDF5) file for reading, so that a damaged file leaves nothing open behind.

``xr.open_dataset(path, engine="h5netcdf")`` builds an ``h5netcdf.File``. When the
HDF5 file opens but reading its root fails (a flipped bit in an object header
raises ``KeyError``), h5netcdf leaves a half-built ``File`` that is not marked
closed: its HDF5 handle stays open until a later garbage collection, whose
finalizer then raises ``AttributeError`` wherever that collection happens to
run (on CPython 3.11.7 inside another ``ast.parse`` this crashed pytest, gh-106905).
Here flarecast owns the HDF5 handle (closed on leaving the block, whatever
happened) and marks a half-built ``File`` closed, so nothing is left for a
finalizer. The dataset is decoded exactly as with ``engine="h5netcdf"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["open_netcdf"]


@contextmanager
def open_netcdf(path: str | Path) -> Iterator[xr.Dataset]:
    """The netCDF-4 file at ``path`` as a lazily read :class:`xarray.Dataset`, for a ``with`` block.

    Errors are those of h5py, h5netcdf and xarray (``OSError``, ``KeyError``, ...);
    callers turn them into a :class:`~flarecast.errors.DataError` naming the file.
    The HDF5 file is closed when the block ends, also when opening fails.
    """
    import h5py
    import xarray as xr
    from xarray.backends import H5NetCDFStore

    with h5py.File(path, "r") as h5:
        # xarray's own defaults for engine="h5netcdf" (byte strings decoded).
        nc = _read_only_file()(h5, "r", decode_vlen_strings=True)
        with nc, xr.open_dataset(H5NetCDFStore(nc, mode="r")) as ds:
            yield ds


@cache
def _read_only_file() -> type:
    """``h5netcdf.File`` that marks itself closed when its constructor fails (built on first use)."""
    import h5netcdf

    class ReadOnlyFile(h5netcdf.File):
        def __init__(self, *args, **kwargs):
            try:
                super().__init__(*args, **kwargs)
            except BaseException:
                # What h5netcdf sets itself when only the HDF5 open fails; the HDF5 file is
                # the caller's, so a half-built File has nothing left to close.
                self._closed = True
                raise

    return ReadOnlyFile
