"""Daily per-region and full-disk flare probabilities: pure computation, no I/O.

Given SHARP records of the regions on the disk, a model whose
``predict_proba`` is already calibrated, and an issue time, this module
decides what each region's forecast is and why:

1. **Which record.** For each region, the latest record at or before the issue
   time. Records after the issue time are never used (counted in the notes).
   A region whose latest record is older than ``lookback_hours`` (default
   72 h) is taken to have left the disk and is not listed (counted); one
   older than ``stale_hours`` (default 24 h) is listed, forecast and flagged
   ``stale``.
2. **Whether to forecast.** A record with a model feature that is absent from
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
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import HARPNUM, NOAA_AR, TIME
from flarecast.errors import ConfigError, SchemaError

__all__ = [
    "ForecastConfig",
    "ModelInfo",
    "InputInfo",
    "Forecast",
    "FLAGS",
    "full_disk_probability",
    "x_climatology",
    "training_range",
    "forecast_support",
    "latest_records",
    "location_string",
    "check_issue_time",
    "training_overlap",
    "make_forecast",
]

#: Flag codes and what they mean (documented in the JSON schema too).
FLAGS: dict[str, str] = {
    "stale": "latest record older than stale_hours before the issue time",
    "near_limb": "|LON_FWT| > limb_deg: SHARP vector-field features are unreliable near the limb",
    "out_of_range": "a feature lies outside the model's training minimum/maximum",
    "quality": "the record's QUALITY bitmask is nonzero",
    "no_position": "LON_FWT/LAT_FWT absent or NaN: near-limb check impossible",
    "missing_feature": "a model feature is absent from the input: no forecast",
    "nan_feature": "a model feature is NaN or infinite: no forecast",
}
_NO_FORECAST = ("missing_feature", "nan_feature")


@dataclasses.dataclass(frozen=True)
class ForecastConfig:
    """Settings of the forecast stage.

    Attributes
    ----------
    stale_hours : float, default 24
        A record older than this at issue time is flagged ``stale``.
    lookback_hours : float, default 72
        A region whose latest record is older than this is taken to be off the
        disk and left out (counted in the notes). Must be >= ``stale_hours``.
    limb_deg : float, default 70
        ``|LON_FWT|`` above this is flagged ``near_limb``.
    valid_hours : float, default 24
        Length of the forecast period that starts at the issue time.
    """

    stale_hours: float = 24.0
    lookback_hours: float = 72.0
    limb_deg: float = 70.0
    valid_hours: float = 24.0

    def __post_init__(self) -> None:
        problems = []
        for name in ("stale_hours", "lookback_hours", "limb_deg", "valid_hours"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
                problems.append(
                    f"The {name!r} parameter of ForecastConfig must be a number > 0. Got {value!r} instead."
                )
        if not problems and self.lookback_hours < self.stale_hours:
            problems.append(
                f"The 'lookback_hours' parameter of ForecastConfig must be >= stale_hours ({self.stale_hours}). "
                f"Got {self.lookback_hours!r} instead."
            )
        if not problems and self.limb_deg > 90:
            problems.append(
                f"The 'limb_deg' parameter of ForecastConfig must be <= 90. Got {self.limb_deg!r} instead."
            )
        if problems:
            raise ConfigError(" ".join(problems))


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What a forecast must say about its model (read from the model folder's sidecar).

    Attributes
    ----------
    model_id : str
        Folder name plus the first 12 hex digits of the weights' sha256.
    features : tuple of str
        Feature columns, in model order.
    target_definition : str
        E.g. ``"positive: >= M1.0; negative: A, B, C, N"``.
    flaring_only : bool or None
        True when the training data held flaring regions only (probabilities
        then overstate operational risk); None when the sidecar does not say.
    calibration : str
        One line, e.g. ``"platt (fitted on validation: 800 samples, 40 positive)"``
        or ``"none (raw model scores)"``.
    feature_range : mapping of str to (min, max), optional
        Training minimum and maximum of each feature; None skips the check
        (and the forecast says so).
    x_counts : (n_m, n_x), optional
        Numbers of M- and X-class training samples, for the X climatology.
    inference : str
        What evaluated the network ("numpy" or "torch"), for the record.
    positive_class : str or None
        Smallest positive GOES class ("M1.0" for P(>= M)); None when unknown.
    """

    model_id: str
    features: tuple[str, ...]
    target_definition: str
    flaring_only: bool | None = None
    calibration: str = "none (raw model scores)"
    calibration_method: str = "none"
    feature_range: Mapping[str, tuple[float, float]] | None = None
    x_counts: tuple[int, int] | None = None
    path: str = ""
    flarecast_version: str = ""
    created: str = ""
    weights_sha256: str = ""
    training_data: str = ""
    training_sha256: str = ""
    training_synthetic: bool = False
    training_cutoff: str | None = None
    training_start: str | None = None
    inference: str = ""
    positive_class: str | None = "M1.0"


@dataclasses.dataclass(frozen=True)
class InputInfo:
    """Where the SHARP records came from."""

    source: str
    sha256: str | None = None
    synthetic: bool = False
    notes: tuple[str, ...] = ()


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


def location_string(lat: float, lon: float) -> str:
    """Heliographic location as forecasters write it: ``S12W34`` (west = positive LON_FWT); "" if unknown."""
    if not (np.isfinite(lat) and np.isfinite(lon)):
        return ""
    return f"{'N' if lat >= 0 else 'S'}{round(abs(lat)):02d}{'W' if lon >= 0 else 'E'}{round(abs(lon)):02d}"


#: Issue times a forecast can hold: pandas' nanosecond range, less a day at each end for the
#: look-back and the valid period.
ISSUE_TIME_RANGE = (pd.Timestamp("1677-09-22", tz="UTC"), pd.Timestamp("2262-04-10", tz="UTC"))


def check_issue_time(
    t: pd.Timestamp, name: str = "issue_time", given: str | None = None
) -> pd.Timestamp:
    """``t`` (timezone-aware) in UTC, or a :class:`ConfigError` naming ``name`` when out of range.

    ``given`` is the value as the user wrote it, for the message (default ``t`` in ISO 8601).

    Raises
    ------
    ConfigError
        When ``t`` lies outside :data:`ISSUE_TIME_RANGE`.
    """
    lo, hi = ISSUE_TIME_RANGE
    if not lo <= t <= hi:
        raise ConfigError(
            f"{name} {given or t.isoformat()} lies outside the times a forecast can hold "
            f"({lo:%Y-%m-%d} to {hi:%Y-%m-%d} UTC)."
        )
    return t.tz_convert("UTC")


def _utc(ts: Any, name: str) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    if t.tzinfo is None:
        raise ConfigError(f"{name} must be timezone-aware (UTC); got naive {t.isoformat()}")
    return check_issue_time(t, name)


def _region_ids(frame: pd.DataFrame) -> pd.Series:
    noaa = (
        frame[NOAA_AR].astype("Int64")
        if NOAA_AR in frame.columns
        else pd.Series(pd.NA, index=frame.index, dtype="Int64")
    )
    harp = (
        frame[HARPNUM].astype("Int64")
        if HARPNUM in frame.columns
        else pd.Series(pd.NA, index=frame.index, dtype="Int64")
    )
    numbered = noaa.notna() & (noaa.fillna(0) > 0)
    ids = pd.Series(pd.NA, index=frame.index, dtype="string")
    ids[numbered] = noaa[numbered].astype("string")
    by_harp = ~numbered & harp.notna()
    ids[by_harp] = "H" + harp[by_harp].astype("string")
    return ids


def latest_records(
    frame: pd.DataFrame, issue_time: Any, config: ForecastConfig | None = None
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The latest record of each region at or before ``issue_time``.

    Parameters
    ----------
    frame : pandas.DataFrame
        SHARP records: ``time`` (UTC), ``noaa_ar`` and/or ``harpnum``, features.
    issue_time : timestamp, timezone-aware
    config : ForecastConfig, optional

    Returns
    -------
    records : pandas.DataFrame
        One row per region (sorted by region id), with added columns
        ``region`` (str) and ``age_hours`` (float).
    notes : tuple of str
        Counted policies: records after the issue time, unidentified records,
        regions last seen before the look-back window.

    Raises
    ------
    SchemaError
        When ``time`` is missing or not timezone-aware, or there is neither a
        ``noaa_ar`` nor a ``harpnum`` column.
    """
    config = config or ForecastConfig()
    t0 = _utc(issue_time, "issue_time")
    if TIME not in frame.columns or not isinstance(frame[TIME].dtype, pd.DatetimeTZDtype):
        got = frame[TIME].dtype if TIME in frame.columns else "absent"
        raise SchemaError(f"SHARP records need a timezone-aware UTC {TIME!r} column (got {got})")
    if NOAA_AR not in frame.columns and HARPNUM not in frame.columns:
        raise SchemaError(
            f"SHARP records need a {NOAA_AR!r} or {HARPNUM!r} column to tell regions apart; "
            f"columns are {list(frame.columns)}"
        )
    notes: list[str] = []
    ids = _region_ids(frame)
    times = frame[TIME]
    future = (times > t0).to_numpy()
    if future.any():
        notes.append(
            f"{int(future.sum())} of {len(frame)} records after the issue time were not used."
        )
    unknown = ids.isna().to_numpy() & ~future
    if unknown.any():
        notes.append(
            f"{int(unknown.sum())} records with neither a NOAA nor a HARP number were left out."
        )
    keep = ~future & ~unknown & times.notna().to_numpy()
    sub = frame.loc[keep].assign(region=ids[keep])
    # stable sort on time, so among equal times the later row in the file wins
    sub = sub.sort_values(TIME, kind="stable").groupby("region", sort=True).tail(1)
    age = (t0 - sub[TIME]).dt.total_seconds().to_numpy() / 3600.0
    gone = age > config.lookback_hours
    if gone.any():
        notes.append(
            f"{int(gone.sum())} regions last seen more than {config.lookback_hours:g} h before the issue time "
            "were taken to be off the disk and not listed."
        )
    out = (
        sub.loc[~gone]
        .assign(age_hours=age[~gone])
        .sort_values("region", kind="stable")
        .reset_index(drop=True)
    )
    return out, tuple(notes)


def _flags(
    records: pd.DataFrame, model: ModelInfo, config: ForecastConfig
) -> tuple[list[list[str]], list[list[str]], list[str]]:
    """Flag codes and reasons per record, plus forecast-wide warnings."""
    n = len(records)
    flags: list[list[str]] = [[] for _ in range(n)]
    reasons: list[list[str]] = [[] for _ in range(n)]
    warnings: list[str] = []

    def add(i: int, code: str, why: str) -> None:
        if code not in flags[i]:
            flags[i].append(code)
        reasons[i].append(why)

    absent = [f for f in model.features if f not in records.columns]
    if absent and n:
        warnings.append(
            f"model feature(s) {absent} absent from the input: no region can be forecast."
        )
    for i in range(n):
        for f in absent:
            add(i, "missing_feature", f"feature {f} absent from the input")
    present = [f for f in model.features if f in records.columns]
    if present:
        values = (
            records[present]
            .apply(pd.to_numeric, errors="coerce")
            .to_numpy(dtype=float, na_value=np.nan)
        )
        for i, j in zip(*np.nonzero(~np.isfinite(values)), strict=True):
            add(int(i), "nan_feature", f"feature {present[j]} is {values[i, j]} (NaN/inf)")
        if model.feature_range is None:
            if n:
                warnings.append(
                    "the model folder holds no training feature range: out-of-range check skipped."
                )
        else:
            for j, f in enumerate(present):
                if f not in model.feature_range:
                    continue
                lo, hi = model.feature_range[f]
                for i in np.flatnonzero(values[:, j] < lo):
                    add(
                        int(i),
                        "out_of_range",
                        f"{f} = {values[i, j]:.4g} below training min {lo:.4g}",
                    )
                for i in np.flatnonzero(values[:, j] > hi):
                    add(
                        int(i),
                        "out_of_range",
                        f"{f} = {values[i, j]:.4g} above training max {hi:.4g}",
                    )
    ages = records["age_hours"].to_numpy(dtype=float)
    for i in np.flatnonzero(ages > config.stale_hours):
        add(
            int(i),
            "stale",
            f"latest record {ages[i]:.1f} h before issue time (> {config.stale_hours:g} h)",
        )
    lon = _column(records, "LON_FWT")
    lat = _column(records, "LAT_FWT")
    for i in range(n):
        if not (np.isfinite(lon[i]) and np.isfinite(lat[i])):
            add(i, "no_position", "position (LON_FWT/LAT_FWT) unknown: near-limb check impossible")
        elif abs(lon[i]) > config.limb_deg:
            add(i, "near_limb", f"LON_FWT = {lon[i]:+.1f} deg (|lon| > {config.limb_deg:g})")
    if "QUALITY" in records.columns:
        q = pd.to_numeric(records["QUALITY"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        for i in np.flatnonzero(np.nan_to_num(q, nan=0.0) != 0):
            add(int(i), "quality", f"QUALITY = {int(q[i]):#x} (nonzero bitmask)")
    return flags, reasons, warnings


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


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
    t0 = _utc(issue_time, "issue_time")
    valid_end = _valid_end(t0, config.valid_hours)
    records, notes = latest_records(frame, t0, config)
    flags, reasons, warnings = _flags(records, info, config)
    n = len(records)
    ok = np.array([not any(c in _NO_FORECAST for c in fl) for fl in flags], dtype=bool)
    p_m = np.full(n, np.nan)
    p_x = np.full(n, np.nan)
    X = (
        records.loc[ok, list(info.features)].apply(pd.to_numeric, errors="coerce").astype(float)
        if ok.any()
        else None
    )
    if X is not None:
        p_m[ok] = _proba(model, X, "the model")

    x_fraction: float | None = None
    if x_model is not None:
        x_method = "x-model"
        x_description = "P(>=X) from the model folder's separate >=X model, capped at P(>=M)."
        if X is not None:
            raw_x = _proba(x_model, X, "the X model")
            capped = raw_x > p_m[ok]
            if capped.any():
                notes = (
                    *notes,
                    f"{int(capped.sum())} regions had P(>=X) above P(>=M) and were capped at P(>=M).",
                )
            p_x[ok] = np.minimum(raw_x, p_m[ok])
    elif info.x_counts is not None and info.x_counts[1] > 0:
        n_m, n_x = info.x_counts
        x_method = "climatology"
        x_fraction = n_x / (n_m + n_x)
        x_description = (
            f"P(>=X) = P(>=M) x {x_fraction:.3f}: the climatological fraction of X among the training set's "
            f">=M samples ({n_x} X of {n_m + n_x}); no X model was trained."
        )
        p_x[ok] = p_m[ok] * x_fraction
    else:
        x_method = "unavailable"
        why = (
            "the training data held no X-class sample"
            if info.x_counts is not None
            else "the model folder holds neither an X model nor the training X/M counts"
        )
        x_description = f"P(>=X) unavailable: {why}."
        warnings.append(x_description)

    lon = _column(records, "LON_FWT")
    lat = _column(records, "LAT_FWT")
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

    n_ok = int(ok.sum())
    full_m = full_disk_probability(p_m)
    full_x = full_disk_probability(p_x)
    if n == 0:
        warnings.append(
            f"no region has a record within {config.lookback_hours:g} h before the issue time: "
            "no full-disk probability."
        )
    elif n_ok < n:
        warnings.append(
            f"{n - n_ok} of {n} regions have no forecast (see their reasons): the full-disk probability covers "
            f"the other {n_ok} only and is a lower bound."
        )
    if info.positive_class != "M1.0":
        warnings.insert(
            0,
            f"the model's positive class is >= {info.positive_class or 'unknown'}, not >= M1.0: "
            "its 'Class M' probabilities are not P(>= M1.0).",
        )
    if info.flaring_only:
        warnings.insert(
            0,
            "the model was trained on flaring regions only (no region without a flare among its "
            "negatives): its probabilities overstate the risk of a typical region on the disk. "
            "Use a model trained on all regions (flarecast train --negatives A,B,C,N).",
        )
    elif info.flaring_only is None:
        warnings.insert(
            0,
            "the model folder does not say whether its training data included non-flaring regions.",
        )
    if info.calibration_method == "none":
        warnings.append(
            "the model has no calibrator: probabilities are raw model scores, not calibrated."
        )
    return Forecast(
        issue_time=t0,
        valid_start=t0,
        valid_end=valid_end,
        regions=regions,
        full_disk_m=full_m,
        full_disk_x=full_x,
        model=info,
        input=input_info or InputInfo(source="(in memory)"),
        config=config,
        x_method=x_method,
        x_description=x_description,
        x_fraction=x_fraction,
        warnings=tuple(warnings),
        notes=(*(input_info.notes if input_info else ()), *notes),
    )
