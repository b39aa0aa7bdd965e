"""What a forecast is told: its settings (:class:`ForecastConfig`), its model (:class:`ModelInfo`)
and its input (:class:`InputInfo`).

Plain frozen dataclasses with no behaviour beyond validating the settings;
:mod:`flarecast.forecast.loading` fills :class:`ModelInfo` from a model folder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from flarecast.errors import ConfigError

__all__ = ["ForecastConfig", "ModelInfo", "InputInfo"]


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
