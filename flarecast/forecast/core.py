"""Daily per-region and full-disk flare probabilities: pure computation, no I/O.

Given SHARP records of the regions on the disk, a model whose
``predict_proba`` is already calibrated, and an issue time,
:func:`make_forecast` decides what each region's forecast is and why:

1. **Which record** (:mod:`flarecast.forecast.records`). For each region, the latest record at or before the issue
   time. Records after the issue time are never used (counted in the notes).
   A region whose latest record is older than ``lookback_hours`` (default
   72 h) is taken to have left the disk and is not listed (counted); one
   older than ``stale_hours`` (default 24 h) is listed, forecast and flagged
   ``stale``.
2. **Whether to forecast** (:mod:`flarecast.forecast.flags`). A record with a model feature that is absent from
   the input, NaN or infinite gets *no forecast* (probability null, with the
   reason); it is never silently scored as zero. Out-of-training-range
   features, a near-limb position (|LON_FWT| > 70 deg, where SHARP vector
   fields are unreliable), an unknown position, a nonzero QUALITY and a stale
   record are *flags*: the forecast is given, with the reason beside it.
3. **P(>= M)** is the model's calibrated probability. **P(>= X)** comes from a
   separate X model when one is given (capped at P(>= M) so the two stay
   ordered), else from the training climatology ``P(>= M) * n_X / (n_M + n_X)``
   of X among the training set's M/X flares, stated as such, else it is
   unavailable (null, with the reason).
4. **Full disk**: ``1 - prod(1 - p_i)`` over the regions with a forecast,
   which assumes the regions flare independently. Regions without a forecast
   make it a lower bound, and the forecast says so.

Regions are keyed by NOAA number; an unnumbered region (NOAA_AR missing or 0,
as JSOC writes it) by its HARP number, shown as ``H1234``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import HARPNUM, NOAA_AR, TIME
from flarecast.errors import ConfigError
from flarecast.forecast.config import ForecastConfig, InputInfo, ModelInfo
from flarecast.forecast.flags import NO_FORECAST, numeric_column, region_flags
from flarecast.forecast.records import (
    ISSUE_TIME_RANGE,
    aware_utc,
    check_issue_time,
    latest_records,
    location_string,
)

__all__ = ["Forecast", "full_disk_probability", "make_forecast"]


@dataclasses.dataclass(frozen=True)
class Forecast:
    """One issued forecast.

    Attributes
    ----------
    issue_time, valid_start, valid_end : pandas.Timestamp (UTC)
    regions : pandas.DataFrame, one row per region, sorted by region
        ``region`` (str id), ``noaa_ar``, ``harpnum`` (Int64), ``record_time``
        (UTC), ``age_hours``, ``lon``, ``lat`` (deg, NaN if unknown),
        ``location`` (e.g. "S12W34", "" if unknown), ``status``
        ("forecast" or "no_forecast"), ``p_m``, ``p_x`` (probabilities, NaN
        when there is none), ``flags`` (tuple of codes from :data:`FLAGS`),
        ``reasons`` (tuple of human-readable strings).
    full_disk_m, full_disk_x : float
        ``1 - prod(1 - p_i)`` over regions with a forecast; NaN when none has one.
    x_method : {"x-model", "climatology", "unavailable"}
    x_description : str
        How P(>= X) was obtained, in words.
    x_fraction : float or None
        n_X / (n_M + n_X) for the climatology method.
    warnings : tuple of str
        Things every reader must see (flaring-only model, lower-bound full disk, ...).
    notes : tuple of str
        Counted policies (records after issue time, regions off the disk, ...).
    comparison : flarecast.forecast.comparison.Comparison or None
        McIntosh-Poisson beside this forecast, when the day's SRS was given
        (added by :func:`flarecast.forecast.comparison.compare`).
    """

    issue_time: pd.Timestamp
    valid_start: pd.Timestamp
    valid_end: pd.Timestamp
    regions: pd.DataFrame
    full_disk_m: float
    full_disk_x: float
    model: ModelInfo
    input: InputInfo
    config: ForecastConfig
    x_method: str
    x_description: str
    x_fraction: float | None
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    comparison: Any = None

    @property
    def synthetic(self) -> bool:
        """True when the input or the model's training data are synthetic."""
        return bool(self.input.synthetic or self.model.training_synthetic)

    @property
    def n_forecast(self) -> int:
        return int((self.regions["status"] == "forecast").sum())


def full_disk_probability(p: Any) -> float:
    """Probability of at least one event on the disk, ``1 - prod(1 - p_i)``.

    Assumes the regions flare independently (the usual, optimistic,
    assumption). NaN entries (regions without a forecast) are left out; the
    caller must say so.

    Parameters
    ----------
    p : array-like of float in [0, 1], shape (n,)

    Returns
    -------
    float
        NaN when no finite probability is given.
    """
    arr = np.asarray(p, dtype=float).reshape(-1)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return float("nan")
    if arr.min() < 0 or arr.max() > 1:
        raise ConfigError(
            f"probabilities must lie in [0, 1]; got values from {arr.min()} to {arr.max()}"
        )
    # sum of log1p is exact for tiny p and avoids underflow of a long product
    return float(-np.expm1(np.sum(np.log1p(-arr)))) if arr.max() < 1 else 1.0


def _proba(model: Any, X: pd.DataFrame, what: str) -> np.ndarray:
    p = np.asarray(model.predict_proba(X), dtype=float)
    if p.ndim != 2 or p.shape != (len(X), 2):
        raise ConfigError(f"{what}.predict_proba must return shape ({len(X)}, 2); got {p.shape}")
    out = p[:, 1]
    bad = ~np.isfinite(out) | (out < 0) | (out > 1)
    if bad.any():  # a model bug, not user input: refuse rather than publish it
        raise ConfigError(f"{what} returned {int(bad.sum())} probabilities outside [0, 1] or NaN")
    return out


def _valid_end(t0: pd.Timestamp, valid_hours: float) -> pd.Timestamp:
    try:
        end = t0 + pd.Timedelta(hours=valid_hours)
    except (OverflowError, ValueError):  # OutOfBoundsTimedelta/-Datetime are ValueErrors
        end = ISSUE_TIME_RANGE[1] + pd.Timedelta(days=1)
    return check_issue_time(end, "the end of the valid period")


def make_forecast(
    frame: pd.DataFrame,
    model: Any,
    info: ModelInfo,
    issue_time: Any,
    *,
    input_info: InputInfo | None = None,
    x_model: Any = None,
    config: ForecastConfig | None = None,
) -> Forecast:
    """Issue a forecast: per-region P(>= M), P(>= X), flags, and the full-disk probabilities.

    Parameters
    ----------
    frame : pandas.DataFrame
        SHARP records (see :func:`latest_records`); label columns, if any, are ignored.
    model : object with ``predict_proba(X) -> (n, 2)``
        The *calibrated* >= M model (e.g. :class:`flarecast.evaluation.calibration.CalibratedClassifier`),
        given a DataFrame with the columns ``info.features``.
    info : ModelInfo
    issue_time : timestamp, timezone-aware
        The valid period is ``[issue_time, issue_time + valid_hours)``.
    input_info : InputInfo, optional
    x_model : object with ``predict_proba``, optional
        A calibrated >= X model over the same features. Without it P(>= X)
        comes from ``info.x_counts`` or is unavailable.
    config : ForecastConfig, optional

    Returns
    -------
    Forecast
    """
    config = config or ForecastConfig()
    t0 = aware_utc(issue_time, "issue_time")
    valid_end = _valid_end(t0, config.valid_hours)
    records, notes = latest_records(frame, t0, config)
    flags, reasons, warnings = region_flags(records, info, config)
    ok = np.array([not any(c in NO_FORECAST for c in fl) for fl in flags], dtype=bool)
    X = (
        records.loc[ok, list(info.features)].apply(pd.to_numeric, errors="coerce").astype(float)
        if ok.any()
        else None
    )
    p_m = np.full(len(records), np.nan)
    if X is not None:
        p_m[ok] = _proba(model, X, "the model")
    x = _x_probabilities(x_model, info, X, p_m, ok)
    if x.capped:
        notes = (
            *notes,
            f"{x.capped} regions had P(>=X) above P(>=M) and were capped at P(>=M).",
        )
    if x.method == "unavailable":
        warnings.append(x.description)
    warnings = _model_warnings(info, [*warnings, *_coverage_warnings(ok, config)])
    return Forecast(
        issue_time=t0,
        valid_start=t0,
        valid_end=valid_end,
        regions=_regions_table(records, ok, p_m, x.p_x, flags, reasons),
        full_disk_m=full_disk_probability(p_m),
        full_disk_x=full_disk_probability(x.p_x),
        model=info,
        input=input_info or InputInfo(source="(in memory)"),
        config=config,
        x_method=x.method,
        x_description=x.description,
        x_fraction=x.fraction,
        warnings=tuple(warnings),
        notes=(*(input_info.notes if input_info else ()), *notes),
    )


@dataclasses.dataclass(frozen=True)
class _XEstimate:
    p_x: np.ndarray
    method: str
    description: str
    fraction: float | None = None
    capped: int = 0


def _x_probabilities(
    x_model: Any, info: ModelInfo, X: pd.DataFrame | None, p_m: np.ndarray, ok: np.ndarray
) -> _XEstimate:
    """P(>= X) from the X model (capped at P(>= M)), else the training climatology, else none."""
    p_x = np.full(len(p_m), np.nan)
    if x_model is not None:
        capped = 0
        if X is not None:
            raw_x = _proba(x_model, X, "the X model")
            capped = int((raw_x > p_m[ok]).sum())
            p_x[ok] = np.minimum(raw_x, p_m[ok])
        return _XEstimate(
            p_x,
            "x-model",
            "P(>=X) from the model folder's separate >=X model, capped at P(>=M).",
            capped=capped,
        )
    if info.x_counts is not None and info.x_counts[1] > 0:
        n_m, n_x = info.x_counts
        x_fraction = n_x / (n_m + n_x)
        p_x[ok] = p_m[ok] * x_fraction
        return _XEstimate(
            p_x,
            "climatology",
            f"P(>=X) = P(>=M) x {x_fraction:.3f}: the climatological fraction of X among the training set's "
            f">=M samples ({n_x} X of {n_m + n_x}); no X model was trained.",
            fraction=x_fraction,
        )
    why = (
        "the training data held no X-class sample"
        if info.x_counts is not None
        else "the model folder holds neither an X model nor the training X/M counts"
    )
    return _XEstimate(p_x, "unavailable", f"P(>=X) unavailable: {why}.")


def _regions_table(
    records: pd.DataFrame,
    ok: np.ndarray,
    p_m: np.ndarray,
    p_x: np.ndarray,
    flags: list[list[str]],
    reasons: list[list[str]],
) -> pd.DataFrame:
    """One row per region: identity, record, position, status, probabilities, flags (see :class:`Forecast`)."""
    n = len(records)
    lon = numeric_column(records, "LON_FWT")
    lat = numeric_column(records, "LAT_FWT")
    regions = pd.DataFrame(
        {
            "region": records["region"].astype(str).to_numpy() if n else np.array([], dtype=object),
            NOAA_AR: (
                records[NOAA_AR].astype("Int64")
                if NOAA_AR in records.columns
                else pd.array([pd.NA] * n, dtype="Int64")
            ),
            HARPNUM: (
                records[HARPNUM].astype("Int64")
                if HARPNUM in records.columns
                else pd.array([pd.NA] * n, dtype="Int64")
            ),
            "record_time": records[TIME].to_numpy() if n else pd.DatetimeIndex([], tz="UTC"),
            "age_hours": records["age_hours"].to_numpy(dtype=float),
            "lon": lon,
            "lat": lat,
            "location": [location_string(a, o) for a, o in zip(lat, lon, strict=True)],
            "status": np.where(ok, "forecast", "no_forecast"),
            "p_m": p_m,
            "p_x": p_x,
            "flags": [tuple(f) for f in flags],
            "reasons": [tuple(r) for r in reasons],
        }
    )
    regions["record_time"] = pd.to_datetime(regions["record_time"], utc=True)
    return regions


def _coverage_warnings(ok: np.ndarray, config: ForecastConfig) -> list[str]:
    """What the full-disk probability covers: nothing, or only the regions with a forecast."""
    n, n_ok = len(ok), int(ok.sum())
    if n == 0:
        return [
            f"no region has a record within {config.lookback_hours:g} h before the issue time: "
            "no full-disk probability."
        ]
    if n_ok < n:
        return [
            f"{n - n_ok} of {n} regions have no forecast (see their reasons): the full-disk probability covers "
            f"the other {n_ok} only and is a lower bound."
        ]
    return []


def _model_warnings(info: ModelInfo, warnings: list[str]) -> list[str]:
    """``warnings`` with the model's caveats: what it was trained on first, calibration last."""
    first = []
    if info.flaring_only:
        first.append(
            "the model was trained on flaring regions only (no region without a flare among its "
            "negatives): its probabilities overstate the risk of a typical region on the disk. "
            "Use a model trained on all regions (flarecast train --negatives A,B,C,N)."
        )
    elif info.flaring_only is None:
        first.append(
            "the model folder does not say whether its training data included non-flaring regions."
        )
    if info.positive_class != "M1.0":
        first.append(
            f"the model's positive class is >= {info.positive_class or 'unknown'}, not >= M1.0: "
            "its 'Class M' probabilities are not P(>= M1.0)."
        )
    last = []
    if info.calibration_method == "none":
        last.append(
            "the model has no calibrator: probabilities are raw model scores, not calibrated."
        )
    return [*first, *warnings, *last]
