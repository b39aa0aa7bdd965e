"""Step 3 of a retrain: fit the base model's recipe on the training rows before the hold-out.

The new :class:`~flarecast.training.estimator.FlareClassifier` gets the base
model's settings (loss, alpha, gamma, architecture, features, threshold rule)
and is early-stopped and thresholded on a region-level validation split of the
training rows; the calibrator, when the base model has one, is refitted there
with the same method.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["NewModel", "recipe_params", "fit_new_model"]

#: Share of the training rows (by region) held out for early stopping, threshold and calibration.
VALIDATION_FRACTION = 0.2


@dataclasses.dataclass
class NewModel:
    """The fitted new model, its calibrator (or None), and the rows each was fitted on."""

    model: Any
    calibrator: Any
    fit_idx: np.ndarray
    val_idx: np.ndarray


def recipe_params(
    base_params: Mapping[str, Any], max_epochs: int | None, device: str | None
) -> dict[str, Any]:
    """The base model's FlareClassifier keyword arguments with the caller's overrides, checked up front."""
    from flarecast.training.estimator import FlareClassifier

    params = {**base_params}
    if max_epochs is not None:
        params["max_epochs"] = int(max_epochs)
    if device is not None:
        params["device"] = device
    FlareClassifier(
        **params
    ).train_config()  # validate the recipe (and overrides) before the long part
    return params


def fit_new_model(
    params: Mapping[str, Any],
    targets: Any,
    train_idx: np.ndarray,
    calibration: str | None,
    callback: Callable[[int, dict[str, Any]], None] | None = None,
) -> NewModel:
    """Fit ``params`` on ``targets`` rows ``train_idx`` (minus a validation split by region).

    Parameters
    ----------
    params : mapping
        :class:`~flarecast.training.estimator.FlareClassifier` keyword arguments (see :func:`recipe_params`).
    targets : flarecast.targets.Targets
        The relabelled table with its binary target.
    train_idx : ndarray of int
        Rows before the hold-out (see :func:`flarecast.retrain.holdout.holdout_split`).
    calibration : str or None
        The base model's calibration method; None fits no calibrator.
    callback : callable, optional
        Per-epoch progress, see :func:`flarecast.training.loop.train_ensemble`.
    """
    from flarecast.evaluation.calibration import fit_calibrator
    from flarecast.splits import inner_validation
    from flarecast.training.estimator import FlareClassifier

    y = targets.y.astype(np.int64)
    fit_idx, val_idx = inner_validation(
        y, targets.groups, train_idx, fraction=VALIDATION_FRACTION, seed=int(params["seed"])
    )
    frame = targets.frame
    clf = FlareClassifier(**params)
    clf.fit(
        frame.iloc[fit_idx],
        y[fit_idx],
        validation=(frame.iloc[val_idx], y[val_idx]),
        callback=callback,
    )
    calibrator = None
    if calibration is not None:
        p_val = clf.predict_proba(frame.iloc[val_idx])[:, 1]
        calibrator = fit_calibrator(p_val, y[val_idx], calibration)
    return NewModel(clf, calibrator, fit_idx, val_idx)
