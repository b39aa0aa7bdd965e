"""The base model of a retrain, as read from its folder (which is never written to).

:func:`read_base_model` recovers the recipe to repeat (network settings,
features, target definition, calibration method, label window) and what the
comparison must say about the base model (training period, provenance);
:func:`check_out_folder` refuses an output that would touch any model folder.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError, ModelFileError
from flarecast.retrain.relabel import recorded_labelling
from flarecast.time import to_utc

__all__ = ["BaseModel", "read_base_model", "check_out_folder"]

_HISTORY = re.compile(r"^history_max_flux_prev_(\d+(?:\.\d+)?)h$")


@dataclasses.dataclass(frozen=True)
class BaseModel:
    """What a retrain reads from the base model's folder (never written to).

    Attributes
    ----------
    folder : Path
    sidecar : dict
        The checked ``model.json``.
    model_id : str
        ``"<folder name>@<first 12 hex of the weights' sha256>"``.
    features : tuple of str
        Feature columns in model order.
    params : dict
        :class:`~flarecast.training.estimator.FlareClassifier` keyword arguments.
    negatives : tuple of str
    positive_threshold : str
    labelling : dict
        ``horizon``, ``latency``, ``event_time`` of the base model's training
        labels, as far as its folder records them (else empty).
    labelling_from : str
        Where ``labelling`` was read ("" when the folder does not record it).
    history : str or None
        Look-back of the history feature among ``features`` ("24h"), if any.
    calibration : str or None
        Method of the folder's ``calibration.json`` ("platt", "isotonic"), if any.
    training_cutoff : pandas.Timestamp or None
        Newest training record time, if recorded.
    """

    folder: Path
    sidecar: dict[str, Any]
    model_id: str
    features: tuple[str, ...]
    params: dict[str, Any]
    negatives: tuple[str, ...]
    positive_threshold: str
    labelling: dict[str, str]
    labelling_from: str
    history: str | None
    calibration: str | None
    training_cutoff: pd.Timestamp | None


def read_base_model(folder: str | Path) -> BaseModel:
    """Read the base model's recipe from its folder: sidecar, ``train.toml``, calibration, lineage.

    Raises
    ------
    ModelFileError
        No model folder, an unreadable sidecar, or no recoverable target definition.
    """
    import tomllib

    from flarecast.evaluation.calibration import load_calibrator
    from flarecast.evaluation.score import definition_targets
    from flarecast.training.artifacts import read_sidecar

    folder = Path(folder)
    meta = read_sidecar(folder)
    toml: dict[str, Any] = {}
    if (folder / "train.toml").is_file():
        try:
            toml = tomllib.loads((folder / "train.toml").read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"{folder / 'train.toml'}: invalid TOML: {exc}") from exc
    target = definition_targets(meta.get("class_definition", ""))
    data_table = toml.get("data", {})
    if target is None and "negatives" in data_table and "positive_threshold" in data_table:
        target = (tuple(data_table["negatives"]), str(data_table["positive_threshold"]))
    if target is None:
        raise ModelFileError(
            f"{folder}: the target definition cannot be recovered (model.json 'class_definition' is "
            f"{meta.get('class_definition')!r} and train.toml has no [data] negatives/positive_threshold)."
        )
    features = tuple(str(f) for f in meta["features"])
    params = dict(meta["config"])
    params["hidden"] = tuple(int(h) for h in np.atleast_1d(params.get("hidden", ())))
    params["features"] = features
    if (
        "skip" not in params
    ):  # a folder from before the skip path: its network has none, whatever today's default
        params["skip"] = "none"
    extra = meta.get("extra") or {}
    labelling, labelling_from = recorded_labelling(meta)
    history = [m.group(1) + "h" for f in features if (m := _HISTORY.match(f))]
    cal = load_calibrator(folder, missing_ok=True)
    cutoff = (extra.get("forecast") or {}).get("training_cutoff")
    return BaseModel(
        folder=folder,
        sidecar=meta,
        model_id=f"{folder.resolve().name}@{meta['weights']['sha256'][:12]}",
        features=features,
        params=params,
        negatives=tuple(target[0]),
        positive_threshold=str(target[1]),
        labelling=labelling,
        labelling_from=labelling_from,
        history=history[0] if history else None,
        calibration=None if cal is None or cal.method == "none" else cal.method,
        training_cutoff=to_utc(cutoff, column="training_cutoff") if cutoff else None,
    )


def check_out_folder(out: str | Path, base_folder: str | Path) -> Path:
    """Refuse an ``out`` that would overwrite or modify a model: the base folder, inside it, or non-empty.

    Returns
    -------
    Path
        ``out``, safe to create.

    Raises
    ------
    ConfigError
        With the reason and what to do instead.
    """
    out, base = Path(out), Path(base_folder)
    out_abs, base_abs = out.resolve(), base.resolve()
    if out_abs == base_abs or base_abs in out_abs.parents:
        raise ConfigError(
            f"--out {out} would write into the base model folder {base}; model versions are kept side by "
            "side and the base model is never modified. Choose a new folder, e.g. "
            f"{base.parent / (base.name + '-v2')}."
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        what = "is a file" if not out.is_dir() else "already exists and is not empty"
        raise ConfigError(
            f"--out {out} {what}; flarecast retrain never overwrites a model version. "
            "Choose a new folder name, or remove that one yourself if it is no longer needed."
        )
    return out
