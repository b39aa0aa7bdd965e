"""The settings of one retrain (the ``flarecast retrain`` options)."""

from __future__ import annotations

import dataclasses

__all__ = ["RetrainConfig"]


@dataclasses.dataclass(frozen=True)
class RetrainConfig:
    """Settings of one retrain (the ``flarecast retrain`` options).

    Attributes
    ----------
    horizon, latency : str or None, default None
        Label window ``(t + latency, t + latency + horizon]``; None takes the
        base model's recorded window, else 24 h and 0 h.
    event_time : {"peak", "start"} or None, default None
        Flare time that must fall in the window; None as above, else "peak".
    holdout_start : str or None, default None
        First hold-out time, ISO 8601 with a zone (e.g. "2017-01-01T00:00Z"; a naive
        time is refused); None means ``holdout_days`` before the last labelled record.
    holdout_days : float, default 90
        Length of the default hold-out, days (> 0).
    holdout_min_positives : int, default 20
        The default hold-out is extended back from the last ``holdout_days``
        until it holds this many positive rows (>= 0; 0 keeps the last days as they are).
    drop_straddling : bool, default True
        Leave regions with records on both sides of the hold-out start out of training.
    quality_zero : bool, default True
        Keep only SHARP records with ``QUALITY == 0`` (counted).
    max_abs_lon : float or None, default None
        Keep only records with ``|LON_FWT| <= max_abs_lon`` deg; None keeps all.
    max_epochs, device : optional
        Override the base model's values (e.g. a quick CPU run).
    n_boot : int, default 1000
        Region bootstrap resamples.
    seed : int, default 0
        Seed of the bootstrap (the network keeps the base model's seed).
    """

    horizon: str | None = None
    latency: str | None = None
    event_time: str | None = None
    holdout_start: str | None = None
    holdout_days: float = 90.0
    holdout_min_positives: int = 20
    drop_straddling: bool = True
    quality_zero: bool = True
    max_abs_lon: float | None = None
    max_epochs: int | None = None
    device: str | None = None
    n_boot: int = 1000
    seed: int = 0
