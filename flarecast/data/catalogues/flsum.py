"""Reader of the NCEI GOES-R XRS flare summary netCDF (``sci_xrsf-l2-flsum_*.nc``).

One row per
  ``status`` (``EVENT_START``, ``EVENT_PEAK``, ``EVENT_END``) linked by
  ``flare_id``; the class is read from the peak row. ``time`` is seconds since
  2000-01-01 12:00:00 UTC (decoded by xarray when the file carries CF units).
  No region numbers (they are in the separate ``flloc`` product), so every
  ``noaa_ar`` is <NA>. NCEI science fluxes (no 0.7 factor).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from flarecast.data.budget import check_budget
from flarecast.data.catalogues.rows import EventRows, catalogue_reader
from flarecast.data.event_fields import BadRows
from flarecast.data.events import END, FLUX_SCIENCE, PEAK
from flarecast.data.netcdf import open_netcdf
from flarecast.errors import ConfigError, DataError, FlarecastError, SchemaError
from flarecast.io import require_regular_file
from flarecast.time import to_utc

__all__ = ["read_xrs_flsum", "FLSUM_EPOCH"]

#: Epoch of the GOES-R ``time`` variable (seconds, leap seconds neglected).
FLSUM_EPOCH = pd.Timestamp("2000-01-01 12:00:00", tz="UTC")
_STATUSES = ("EVENT_START", "EVENT_PEAK", "EVENT_END")


@catalogue_reader("xrs-flsum")
def read_xrs_flsum(path: str | Path) -> EventRows:
    """Read an NCEI GOES-R XRS flare summary netCDF (``sci_xrsf-l2-flsum_*.nc``).

    The table has one row per flare, ``noaa_ar`` all <NA>. A flare without a start
    or peak row, with two rows of one status, or with an unparseable class is
    malformed (named by its first row and ``flare_id``).

    Parameters
    ----------
    path : str or Path
        netCDF with variables ``time``, ``status``, ``flare_id``, ``flare_class``.
    """
    path = require_regular_file(path, what="catalogue")
    try:
        with open_netcdf(path) as ds:
            check_budget(path, ds.nbytes, None, "its netCDF variables")
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
    classes = peak_rows["flare_class"].reindex(first.index).fillna("").rename("class")
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
    times = (utc("EVENT_START"), utc("EVENT_PEAK"), utc("EVENT_END"))
    # ACDD global attributes, where present, say which period the file covers.
    attrs = (
        {
            "coverage_start": _iso_utc(coverage[0], path, "time_coverage_start"),
            "coverage_end": _iso_utc(coverage[1], path, "time_coverage_end"),
        }
        if all(coverage)
        else {}
    )
    regions = pd.Series([""] * len(first), name="region")  # the flloc product has the regions
    names = {PEAK: "time (status EVENT_PEAK)", END: "time (status EVENT_END)"}
    return EventRows(
        path,
        bad,
        times,
        classes,
        regions,
        names,
        attrs=attrs,
        flux_scaling=FLUX_SCIENCE,
        roll=False,
    )


def _iso_utc(value: object, path: Path, name: str) -> str:
    """An ACDD coverage attribute as ISO UTC (a time without a zone is UTC, as ACDD says)."""
    try:
        return to_utc(str(value), naive="utc", column=name).isoformat()
    except ConfigError as exc:
        raise DataError(f"{path}: global attribute {name!r}: {exc}") from exc
