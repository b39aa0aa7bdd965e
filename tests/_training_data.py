"""A tiny SYNTHETIC labelled table for the training tests (fast, deterministic, with real signal).

Rows are records of regions observed every 6 h; two SHARP-like extensive
features span many decades (so the signed log matters), one intensive feature
carries signal and one is noise. The flare probability grows with the latent
size and twist of the region, and ~12% of rows are positive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def toy_table(
    n_regions: int = 120, per_region: int = 10, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """(frame, y): canonical-looking frame with time, noaa_ar and 4 features; y is 0/1."""
    rng = np.random.default_rng(seed)
    region = np.repeat(np.arange(n_regions) + 11000, per_region)
    step = np.tile(np.arange(per_region), n_regions)
    size = np.repeat(rng.normal(0, 1, n_regions), per_region) + 0.1 * step * rng.choice(
        [-1, 1], len(step)
    )
    twist = np.repeat(rng.normal(0, 1, n_regions), per_region) + rng.normal(0, 0.5, len(step))
    start = pd.Timestamp("2012-01-01", tz="UTC") + pd.to_timedelta(
        np.repeat(rng.integers(0, 300, n_regions), per_region), unit="D"
    )
    frame = pd.DataFrame(
        {
            "time": start + pd.to_timedelta(6 * step, unit="h"),
            "noaa_ar": pd.array(region, dtype="Int64"),
            "USFLUX": 10 ** (21.5 + 0.5 * size + rng.normal(0, 0.1, len(step))),
            "TOTPOT": 10 ** (22.8 + 0.7 * size + 0.2 * twist),
            "MEANSHR": 40 + 8 * twist + rng.normal(0, 3, len(step)),
            "NOISE": rng.normal(0, 1, len(step)),
        }
    )
    logit = -2.6 + 1.1 * size + 0.8 * twist + 0.4 * size * twist
    y = (rng.random(len(step)) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


def region_split(frame: pd.DataFrame, fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, held-out) with every region wholly on one side."""
    regions = np.sort(frame["noaa_ar"].unique().to_numpy(dtype=np.int64))
    held = set(regions[:: max(1, round(1 / fraction))].tolist())
    mask = frame["noaa_ar"].to_numpy(dtype=np.int64)
    is_held = np.isin(mask, list(held))
    return np.flatnonzero(~is_held), np.flatnonzero(is_held)
