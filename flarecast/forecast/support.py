"""What a forecast needs to know about a model's training rows, and what it says about them.

:func:`forecast_support` is stored in the model sidecar at training time
(feature range, X/M counts, training period); :func:`training_overlap` turns
the stored period into a warning when a forecast day lies inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.forecast.config import ModelInfo

__all__ = ["x_climatology", "training_range", "forecast_support", "training_overlap"]


def x_climatology(peak_flux: Any) -> tuple[int, int]:
    """Counts ``(n_M, n_X)`` of M-class (1e-5 <= flux < 1e-4) and X-class (>= 1e-4) samples.

    Parameters
    ----------
    peak_flux : array-like of float, shape (n,)
        GOES 1-8 A peak flux of each training sample's label, W m^-2 (0 = no flare).
    """
    f = np.asarray(peak_flux, dtype=float)
    return int(((f >= 1e-5) & (f < 1e-4)).sum()), int((f >= 1e-4).sum())


def training_range(
    X: pd.DataFrame, features: Sequence[str] | None = None
) -> dict[str, list[float]]:
    """Training minimum and maximum of each feature, JSON-ready, for the model sidecar.

    Parameters
    ----------
    X : pandas.DataFrame, shape (n, n_features)
        The *training* rows (raw, untransformed features).
    features : sequence of str, optional
        Columns to summarise; default every column.

    Returns
    -------
    dict of str to [min, max]
        NaN values are ignored.
    """
    cols = list(X.columns if features is None else features)
    arr = X[cols].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanmin(arr, axis=0), np.nanmax(arr, axis=0)
    return {c: [float(a), float(b)] for c, a, b in zip(cols, lo, hi, strict=True)}


def forecast_support(X: pd.DataFrame, peak_flux: Any, times: Any = None) -> dict[str, Any]:
    """What a daily forecast needs to know about a model's training rows, JSON-ready.

    Store it in the model sidecar at training time:
    ``save_model(clf, out, ..., extra={"forecast": forecast_support(X_fit, flux_fit, times_fit)})``.

    Parameters
    ----------
    X : pandas.DataFrame, shape (n, n_features)
        The raw feature rows the model was fitted on (training + validation).
    peak_flux : array-like of float, shape (n,)
        Their label fluxes, W m^-2 (0 = no flare), for the X/M climatology.
    times : array-like of datetime, shape (n,), optional
        Their record times; the newest is the training-data cut-off, the oldest its start.

    Returns
    -------
    dict
        ``feature_range`` ({name: [min, max]}), ``x_counts`` ([n_M, n_X]),
        ``training_cutoff`` and ``training_start`` (newest and oldest record time,
        ISO UTC strings or None).
    """
    n_m, n_x = x_climatology(peak_flux)
    start = cutoff = None
    if times is not None and len(times):
        parsed = pd.to_datetime(pd.Series(times), utc=True)
        oldest, newest = parsed.min(), parsed.max()
        start = None if pd.isna(oldest) else oldest.strftime("%Y-%m-%dT%H:%M:%SZ")
        cutoff = None if pd.isna(newest) else newest.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "feature_range": training_range(X),
        "x_counts": [n_m, n_x],
        "training_cutoff": cutoff,
        "training_start": start,
    }


def training_overlap(issue_time: pd.Timestamp, info: ModelInfo) -> str | None:
    """A warning when ``issue_time`` lies inside the model's training period, else None.

    A forecast for such a day may come from a model that saw that day's
    records and their outcomes. It is not put in the report, because whether
    the input holds those records (rather than an independent series) is not
    known here; the command line prints it.
    """
    if info.training_cutoff is None:
        return None
    end = pd.Timestamp(info.training_cutoff)
    start = pd.Timestamp(info.training_start) if info.training_start else None
    if issue_time > end or (start is not None and issue_time < start):
        return None
    period = f"{start:%Y-%m-%d} to {end:%Y-%m-%d}" if start is not None else f"up to {end:%Y-%m-%d}"
    return (
        f"the issue time {issue_time:%Y-%m-%d %H:%M} UTC lies inside the training period of the "
        f"model {info.model_id} ({period}): if the input holds its training records, the forecast "
        "comes from a model that has seen their outcomes."
    )
