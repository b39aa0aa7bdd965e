"""A model folder as the forecast reads it: the calibrated >= M model, its :class:`ModelInfo`,
and the >= X model when there is one.

Plain MLPs are evaluated in numpy (:class:`flarecast.forecast.engine.NumpyMLP`,
no torch import: a forecast starts fast); anything else goes through
:func:`flarecast.training.artifacts.load_model`, imported only on that path.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from flarecast.errors import ConfigError, ModelFileError
from flarecast.forecast.config import ModelInfo

__all__ = ["ENGINES", "model_info", "load_forecaster"]

ENGINES = ("auto", "numpy", "torch")


def model_info(
    folder: Path, meta: dict[str, Any], features: tuple[str, ...], calibration: Any
) -> ModelInfo:
    """:class:`ModelInfo` from a model folder's ``model.json`` (see :mod:`flarecast.training.artifacts`) and its calibrator.

    The training feature range, M/X counts and data cut-off live in
    ``model.json["extra"]["forecast"]`` (written by ``flarecast train`` from
    :func:`flarecast.forecast.support.forecast_support`); when absent the forecast says so.
    """
    extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
    support = extra.get("forecast") if isinstance(extra.get("forecast"), dict) else {}
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    rng = support.get("feature_range")
    counts = support.get("x_counts")
    sha = str((meta.get("weights") or {}).get("sha256") or "")
    definition = str(meta.get("class_definition") or "")
    flaring = data.get("flaring_only")
    negatives = re.search(r"negative: (.+)$", definition)
    if negatives and "N" not in [part.strip()[:1] for part in negatives.group(1).split(",")]:
        # negatives without 'N' (no flare): no quiet region was ever a training sample, whatever the data held
        flaring = True
    positive = re.search(r"positive: >= (\S+?);", definition)
    try:
        feature_range = (
            {str(k): (float(v[0]), float(v[1])) for k, v in rng.items()}
            if isinstance(rng, dict)
            else None
        )
        x_counts = (
            (int(counts[0]), int(counts[1]))
            if isinstance(counts, list) and len(counts) == 2
            else None
        )
    except (TypeError, ValueError, IndexError) as exc:
        raise ModelFileError(
            f"{folder / 'model.json'}: extra.forecast is malformed ({exc}); expected feature_range as "
            "{feature: [min, max]} and x_counts as [n_x, n_mx]. Retrain the model or remove extra.forecast."
        ) from exc
    return ModelInfo(
        model_id=f"{folder.name}-{sha[:12]}" if sha else folder.name,
        features=features,
        target_definition=definition or "unknown (model.json has no class definition)",
        positive_class=positive.group(1) if positive else None,
        flaring_only=None if flaring is None else bool(flaring),
        calibration=calibration.describe(),
        calibration_method=calibration.method,
        feature_range=feature_range,
        x_counts=x_counts,
        path=str(folder),
        flarecast_version=str(meta.get("flarecast_version") or ""),
        created=str(meta.get("created") or ""),
        weights_sha256=sha,
        training_data=str(data.get("name") or "unknown"),
        training_sha256=str(data.get("sha256") or ""),
        training_synthetic=bool(data.get("synthetic") or meta.get("synthetic") or False),
        training_cutoff=support.get("training_cutoff"),
        training_start=support.get("training_start"),
    )


def _load_classifier(
    folder: Path, engine: str, expected: tuple[str, ...] | None = None
) -> tuple[Any, str]:
    """A fitted classifier for ``folder`` and the engine that evaluates it."""
    from flarecast.forecast.engine import NumpyMLP, UnsupportedModel

    if engine not in ENGINES:
        raise ConfigError(f"--engine must be one of {list(ENGINES)}; got {engine!r}")
    if engine != "torch":
        try:
            clf = NumpyMLP.from_folder(folder)
        except UnsupportedModel as exc:
            if engine == "numpy":
                raise ConfigError(f"--engine numpy: {exc}; use --engine torch") from exc
        else:
            if expected is not None and tuple(clf.feature_names_in_) != expected:
                raise ModelFileError(
                    f"{folder}: features {list(clf.feature_names_in_)} differ from the main "
                    f"model's {list(expected)}"
                )
            return clf, "numpy"
    # flarecast.training.artifacts.load_model imports torch and scikit-learn: only on this path
    from flarecast.training.artifacts import load_model

    clf = load_model(folder, expected_features=expected)
    if getattr(clf, "model", "mlp") != "mlp":
        # a sequence model reads windows of past records; the daily forecast scores one record per region
        raise ModelFileError(
            f"{folder}: a {clf.model!r} model cannot make the daily forecast; train an 'mlp' model"
        )
    return clf, "torch"


def load_forecaster(
    folder: str | Path, x_folder: str | Path | None = None, engine: str = "auto"
) -> tuple[Any, Any, Any]:
    """The calibrated >= M model, its :class:`ModelInfo`, and the calibrated X model or None.

    The X model is ``x_folder`` or, when not given, ``folder/x`` if that is a
    model folder. ``engine`` "auto" evaluates plain MLPs in numpy
    (:class:`flarecast.forecast.engine.NumpyMLP`, no torch import) and anything
    else with torch; "numpy" or "torch" force one.
    """
    from flarecast.evaluation.calibration import CalibratedClassifier, Calibrator, load_calibrator
    from flarecast.training.artifacts import SIDECAR

    folder = Path(folder)
    clf, used = _load_classifier(folder, engine)
    features = tuple(map(str, clf.feature_names_in_))
    cal = load_calibrator(folder, missing_ok=True) or Calibrator("none")
    info = dataclasses.replace(model_info(folder, clf.metadata_, features, cal), inference=used)
    x_path = Path(x_folder) if x_folder is not None else folder / "x"
    x_model = None
    if x_folder is not None or (x_path / SIDECAR).is_file():
        x_clf, _ = _load_classifier(x_path, engine, expected=features)
        x_model = CalibratedClassifier(
            x_clf, load_calibrator(x_path, missing_ok=True) or Calibrator("none")
        )
    return CalibratedClassifier(clf, cal), info, x_model
