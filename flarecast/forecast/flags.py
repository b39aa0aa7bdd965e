"""Why a region's forecast is withheld or must be read with care: the flag codes and their reasons.

A model feature that is absent from the input, NaN or infinite withholds the
forecast (it is never silently scored as zero). Out-of-training-range
features, a near-limb position (|LON_FWT| > 70 deg, where SHARP vector fields
are unreliable), an unknown position, a nonzero QUALITY and a stale record are
*flags*: the forecast is given, with the reason beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flarecast.forecast.config import ForecastConfig, ModelInfo

__all__ = ["FLAGS", "NO_FORECAST", "region_flags", "numeric_column"]

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
#: Flags that withhold the forecast (the others are given beside it).
NO_FORECAST = ("missing_feature", "nan_feature")


def region_flags(
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
    lon = numeric_column(records, "LON_FWT")
    lat = numeric_column(records, "LAT_FWT")
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


def numeric_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """``frame[name]`` as floats (NaN where not a number), all NaN when the column is absent."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
