"""Full-disk forecasts from region forecasts, and the full-disk truth.

The full-disk probability of a day is ``1 - prod(1 - p_i)`` over that day's
regions, which assumes the regions flare independently (say so wherever it is
shown). Its truth is either whether any region-day of the table had an event,
or, better, whether a flare catalogue lists an event anywhere on the disk that
day: region-days miss flares without a region number and flares of regions
not in the table (in 2009 to mid-2018, 74 of the 437 days with an >=M flare in
the SWPC list have none in hayes-srs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import TIME
from flarecast.goes import BASE_FLUX

__all__ = ["full_disk", "catalogue_days", "relabel"]


def full_disk(frame: pd.DataFrame, p: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Per day: P_disk = 1 - prod(1 - p_i) over the day's regions and whether any region had an event."""
    day = frame[TIME].dt.floor("D").to_numpy()
    g = pd.DataFrame({"day": day, "log_q": np.log1p(-np.clip(p, 0.0, 1.0 - 1e-15)), "y": y})
    out = g.groupby("day", sort=True).agg(log_q=("log_q", "sum"), y=("y", "max"))
    out["p"] = -np.expm1(out["log_q"].to_numpy())
    return out.drop(columns="log_q").reset_index()


def catalogue_days(events: pd.DataFrame, positive: str) -> dict[str, Any]:
    """Full-disk truth from a flare catalogue: days with a flare >= ``positive`` anywhere on the disk.

    Region-days miss flares without a region number or from regions not in the
    table; a catalogue counts every flare. Days outside the catalogue's span
    (its first to last event day) have no truth and are dropped from the disk scores.
    """
    start = events["start"].dt.floor("D")
    flux = events["peak_flux"].to_numpy(dtype=float)
    return {
        "days": pd.DatetimeIndex(start[flux >= BASE_FLUX[positive] * (1 - 1e-9)].unique()),
        "x_days": pd.DatetimeIndex(start[flux >= BASE_FLUX["X"] * (1 - 1e-9)].unique()),
        "span": (start.min(), start.max()),
    }


def relabel(disk: pd.DataFrame, truth: dict[str, Any] | None) -> pd.DataFrame:
    """``disk`` (from :func:`full_disk`) with the truth of :func:`catalogue_days`; unchanged when None."""
    if truth is None:
        return disk
    lo, hi = truth["span"]
    disk = disk[(disk["day"] >= lo) & (disk["day"] <= hi)].copy()
    disk["y"] = disk["day"].isin(truth["days"]).astype(int)
    if "x_event" in disk:
        disk["x_event"] = disk["day"].isin(truth["x_days"]).astype(int)
    return disk
