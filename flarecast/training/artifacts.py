"""Model folders: safetensors weights plus a JSON sidecar, written atomically, checked on load.

A model folder holds two files:

``weights.safetensors``
    The ensemble's tensors (each with the member axis first). safetensors is a
    flat tensor format that cannot run code when read, unlike pickle (and
    ``torch.save``), which flarecast never writes or reads.
``model.json``
    Everything else needed to use and to trust the model: the estimator's
    parameters, the network architecture, feature names in model order, the
    fitted transform, the decision threshold, the target (class) definition,
    the training data's name and checksum, training summary, flarecast
    version, creation time (UTC) and the weights' size and sha256.

Both files are written through :func:`flarecast.io.atomic_open` (temp file +
rename), weights first, so a reader never sees a half-written file and a
sidecar always describes weights that are complete. :func:`load_model` checks
the format version, the features, the weights' size and checksum, the file
type and every tensor's name and shape, and raises
:class:`~flarecast.errors.ModelFileError` with the reason on any mismatch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flarecast import __version__
from flarecast.data.footprint import table_footprint
from flarecast.data.schema import Dataset
from flarecast.errors import ModelFileError
from flarecast.io import atomic_open, write_json
from flarecast.training.folder import check_companions
from flarecast.training.sidecar import (
    FORMAT,
    FORMAT_VERSION,
    SIDECAR,
    WEIGHTS,
    foreign_format,
    read_model_files,
    read_sidecar,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "WEIGHTS",
    "SIDECAR",
    "save_model",
    "load_model",
    "read_sidecar",
    "foreign_format",
]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None  # JSON has no NaN
    return value


def save_model(
    clf: Any,
    folder: str | Path,
    *,
    dataset: Dataset | None = None,
    targets_definition: str = "",
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a fitted :class:`~flarecast.training.estimator.FlareClassifier` to ``folder``.

    Parameters
    ----------
    clf : FlareClassifier
        Fitted.
    folder : path
        Created if needed; existing model files in it are replaced atomically.
    dataset : Dataset, optional
        Training data; its name, checksum and SYNTHETIC flag are recorded.
    targets_definition : str
        The class definition, e.g. ``"positive: >= M1.0; negative: C"``.
    extra : dict, optional
        JSON-ready provenance to keep (command line, split, ...).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    from safetensors.torch import save as st_save

    from flarecast.training.estimator import FlareClassifier

    if not isinstance(clf, FlareClassifier) or not hasattr(clf, "net_"):
        raise ModelFileError(f"save_model needs a fitted FlareClassifier; got {type(clf).__name__}")
    folder = Path(folder)
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in clf.net_.state_dict().items()}
    # One metadata key only: safetensors keeps metadata in a hash map, and with two keys their
    # order (so the file's bytes and sha256) would change from save to save.
    blob = st_save(tensors, metadata={"format": f"{FORMAT}/{FORMAT_VERSION}"})
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_open(folder / WEIGHTS, "wb") as fh:
        fh.write(blob)
    data = None
    if dataset is not None:
        data = {
            "name": dataset.name,
            "sha256": dataset.sha256,
            "synthetic": dataset.synthetic,
            "window": dataset.window,
            "flaring_only": dataset.flaring_only,
            "rows": len(dataset.frame),
            # Regions and flares of the training table: evaluate warns when a table shares them.
            **table_footprint(dataset.frame),
        }
    sidecar = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "flarecast_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "synthetic": bool(dataset.synthetic) if dataset is not None else None,
        "config": clf.get_params(),
        "architecture": clf.net_.architecture(),
        "features": list(clf.feature_names_in_),
        "transform": clf.transformer_.to_dict(),
        "threshold": float(clf.threshold_),
        "base_rate": clf.base_rate_,
        "class_definition": targets_definition,
        "data": data,
        "training": {
            "best_epoch": clf.best_epoch_,
            "validation": clf.validation_,
            "history": clf.history_,
            "seconds": getattr(clf, "fit_seconds_", None),
            "device": str(clf.device_),
        },
        "weights": {
            "file": WEIGHTS,
            "bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
        },
        "extra": extra or {},
    }
    write_json(folder / SIDECAR, _jsonable(sidecar))
    return folder


def _load_tensors(folder: Path, meta: dict[str, Any], blob: bytes) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

    try:
        return st_load(blob)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ModelFileError(
            f"{folder / meta['weights'].get('file', WEIGHTS)} is not a readable safetensors file: {exc}"
        ) from exc


def _check_features(meta: dict[str, Any], expected: Sequence[str], where: Path) -> None:
    have, want = list(meta["features"]), [str(f) for f in expected]
    if have == want:
        return
    missing = [f for f in have if f not in want]
    extra = [f for f in want if f not in have]
    detail = []
    if missing:
        detail.append(f"the model needs {missing}, which the input lacks")
    if extra:
        detail.append(f"the input has {extra}, which the model was not trained on")
    if not detail:
        detail.append(f"same names in a different order (model order: {have})")
    raise ModelFileError(f"{where}: features do not match: " + "; ".join(detail))


def load_model(
    folder: str | Path, expected_features: Sequence[str] | None = None, device: str = "cpu"
) -> Any:
    """Read a model folder back into a fitted :class:`~flarecast.training.estimator.FlareClassifier`.

    Parameters
    ----------
    folder : path
    expected_features : sequence of str, optional
        Feature names (in order) the caller will provide; a mismatch is an error.
    device : str, default "cpu"
        Where to put the network ("auto", "cpu", "cuda", ...); a model trained
        on a GPU loads on a CPU-only machine.

    Raises
    ------
    ModelFileError
        Missing, truncated, tampered, pickled or version-incompatible files,
        tensors that do not fit the recorded architecture, or mismatched features.
    """
    from flarecast.features.transforms import FeatureTransformer
    from flarecast.models.build import build_network
    from flarecast.training.device import resolve_device
    from flarecast.training.estimator import FlareClassifier

    folder = Path(folder)
    meta, blob = read_model_files(folder)
    if expected_features is not None:
        _check_features(meta, expected_features, folder)
    tensors = _load_tensors(folder, meta, blob)
    check_companions(folder, meta)
    config = dict(meta["config"])
    if isinstance(config.get("hidden"), list):
        config["hidden"] = tuple(config["hidden"])
    arch = meta["architecture"]
    # A lower bound on the parameters the architecture needs (every layer's weight matrix), so a sidecar
    # describing a huge network is refused before the network is allocated.
    widths = [arch["n_features"], *arch.get("hidden", []), 1]
    needed = arch["n_members"] * sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    stored = sum(int(t.numel()) for t in tensors.values())
    if needed > stored:
        raise ModelFileError(
            f"{folder / SIDECAR}: the architecture {arch} needs at least {needed} weights but "
            f"{WEIGHTS} holds {stored}"
        )
    try:
        clf = FlareClassifier(**config)
        clf.set_params(device=device)
        clf.train_config()  # every stored parameter is validated like a user's
        net = build_network(
            arch,
            dropout=float(config.get("dropout", 0.0)),
            base_rate=float(meta["base_rate"]),
            seed=0,
        )
    except (TypeError, KeyError, ValueError, OverflowError) as exc:
        raise ModelFileError(
            f"{folder / SIDECAR}: config or architecture does not describe a model: {exc}"
        ) from exc
    if clf.model != arch["kind"]:
        raise ModelFileError(
            f"{folder / SIDECAR}: config says model {clf.model!r} but the architecture is "
            f"{arch['kind']!r}"
        )
    want = {name: tuple(t.shape) for name, t in net.state_dict().items()}
    got = {name: tuple(t.shape) for name, t in tensors.items()}
    if want != got:
        diff = sorted(set(want.items()) ^ set(got.items()))[:4]
        raise ModelFileError(
            f"{folder / WEIGHTS}: tensors do not fit the recorded architecture {arch}; "
            f"differences (name, shape): {diff}"
        )
    net.load_state_dict(tensors)
    clf.device_ = resolve_device(device)
    clf.net_ = net.to(clf.device_).eval()
    clf.transformer_ = FeatureTransformer.from_dict(meta["transform"])
    clf.feature_names_in_ = np.asarray(meta["features"], dtype=object)
    clf.n_features_in_ = len(meta["features"])
    clf.classes_ = np.array([0, 1])
    clf.base_rate_ = float(meta["base_rate"])
    clf.threshold_ = float(meta["threshold"])
    training = meta.get("training") if isinstance(meta.get("training"), dict) else {}
    try:  # the training summary is informational, but a damaged one is still a clear error
        clf.best_epoch_ = np.asarray(training.get("best_epoch", []), dtype=np.int64)
        clf.history_ = {
            k: np.asarray(v, dtype=float) for k, v in dict(training.get("history") or {}).items()
        }
        clf.validation_ = dict(training.get("validation") or {})
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(
            f"{folder / SIDECAR}: its 'training' summary is damaged: {exc}"
        ) from exc
    clf.metadata_ = meta
    return clf
