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
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flarecast import __version__
from flarecast.data.footprint import table_footprint
from flarecast.data.schema import Dataset
from flarecast.errors import ModelFileError
from flarecast.io import atomic_open, write_json

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

FORMAT = "flarecast-model"
#: Bumped whenever the sidecar or the tensor layout changes incompatibly.
FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
SIDECAR = "model.json"
#: model.json files larger than this are refused unread (a real one is a few kB).
MAX_SIDECAR_BYTES = 16 * 1024 * 1024
_REQUIRED = (
    "format",
    "format_version",
    "config",
    "architecture",
    "features",
    "transform",
    "threshold",
    "base_rate",
    "weights",
)


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


def read_sidecar(folder: str | Path) -> dict[str, Any]:
    """The checked ``model.json`` of a model folder (format and version verified)."""
    folder = Path(folder)
    path = folder / SIDECAR
    if not folder.is_dir():
        raise ModelFileError(
            f"No model folder at {folder}: train one with `flarecast train ... --out {folder}`"
        )
    if not path.is_file():
        raise ModelFileError(f"{folder} is not a flarecast model folder: {SIDECAR} is missing")
    size = path.stat().st_size
    if (
        size > MAX_SIDECAR_BYTES
    ):  # a sidecar is a few kB; do not read a planted multi-GB file into memory
        raise ModelFileError(
            f"{path} is {size} bytes; a model sidecar is at most {MAX_SIDECAR_BYTES} bytes"
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{path} is not valid JSON (truncated or edited?): {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is not a flarecast model sidecar (its 'format' is not {FORMAT!r})"
        )
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model-file format version {version!r} (written by flarecast "
            f"{meta.get('flarecast_version', '?')}); this flarecast {__version__} reads version {FORMAT_VERSION} "
            "only. Retrain the model with this version, or load it with the version that wrote it."
        )
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise ModelFileError(f"{path} lacks the required key(s) {missing}")
    problems = _structure_problems(meta)
    if problems:
        raise ModelFileError(
            f"{path} is not a consistent model sidecar (edited or damaged?): " + "; ".join(problems)
        )
    return meta


def _is_int(value: Any, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value: Any) -> bool:
    """A JSON number that is a finite float (an int beyond the float range is not: numpy cannot take it)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) <= sys.float_info.max
    )


def _structure_problems(meta: dict[str, Any]) -> list[str]:
    """Type and consistency problems of a sidecar's required entries (empty when it is sound).

    Every value of ``model.json`` is checked before it is used, so a hand-edited
    or hostile sidecar gives a :class:`ModelFileError` naming the entry, never a
    ``TypeError`` from deep inside the loader, and the weights file named in it
    cannot point outside the folder.
    """
    problems = []
    features, arch, transform, weights = (
        meta["features"],
        meta["architecture"],
        meta["transform"],
        meta["weights"],
    )
    n = None
    if not (
        isinstance(features, list) and features and all(isinstance(f, str) and f for f in features)
    ):
        problems.append("'features' must be a non-empty list of names")
    elif len(set(features)) != len(features):
        problems.append(f"'features' lists a name twice: {features}")
    else:
        n = len(features)
    if not isinstance(weights, dict):
        problems.append("'weights' must be an object with 'file', 'bytes' and 'sha256'")
    else:
        name = weights.get("file", WEIGHTS)
        if not (
            isinstance(name, str)
            and name not in ("", ".", "..")
            and Path(name).name == name
            and "\\" not in name
        ):
            problems.append(
                f"'weights.file' must be a file name inside the model folder; got {name!r}"
            )
        if weights.get("bytes") is not None and not _is_int(weights.get("bytes")):
            problems.append(f"'weights.bytes' must be a byte count; got {weights.get('bytes')!r}")
        sha = weights.get("sha256")
        if not (
            isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)
        ):
            problems.append(f"'weights.sha256' must be 64 hex digits; got {sha!r}")
    if not isinstance(arch, dict):
        problems.append("'architecture' must be an object")
    else:
        hidden = arch.get("hidden", [])
        if not (
            isinstance(arch.get("kind"), str)
            and _is_int(arch.get("n_features"), 1)
            and _is_int(arch.get("n_members"), 1)
            and isinstance(hidden, list)
            and all(_is_int(h, 1) for h in hidden)
            and isinstance(arch.get("activation", "tanh"), str)
            and isinstance(arch.get("skip", False), bool)
        ):
            problems.append(
                f"'architecture' must hold kind, n_features, n_members and hidden widths; got {arch}"
            )
        elif n is not None and arch["n_features"] != n:
            problems.append(
                f"'architecture' has {arch['n_features']} inputs but 'features' names {n}"
            )
    if not isinstance(transform, dict):
        problems.append("'transform' must be an object")
    elif n is not None:
        for key, check in (
            ("mean", _is_number),
            ("scale", lambda v: _is_number(v) and v > 0),
            ("log_mask", lambda v: isinstance(v, bool)),
        ):
            values = transform.get(key)
            if not (
                isinstance(values, list) and len(values) == n and all(check(v) for v in values)
            ):
                problems.append(f"'transform.{key}' must hold {n} valid entries, one per feature")
        if transform.get("feature_names") != features:
            problems.append("'transform.feature_names' differ from 'features'")
        if not isinstance(transform.get("log"), str):
            problems.append("'transform.log' must be a string")
    if not isinstance(meta["config"], dict):
        problems.append("'config' must be an object")
    if not (_is_number(meta["threshold"]) and 0 <= meta["threshold"] <= 1):
        problems.append(f"'threshold' must be a probability; got {meta['threshold']!r}")
    if not (_is_number(meta["base_rate"]) and 0 <= meta["base_rate"] <= 1):
        problems.append(f"'base_rate' must be a probability; got {meta['base_rate']!r}")
    return problems


def foreign_format(blob: bytes) -> str | None:
    """What a weights file holds when it is a pickle or a zip archive instead of safetensors; None otherwise.

    A safetensors file starts with the length of its JSON header (8 bytes,
    little-endian), then the header's ``{``. That length's first byte can be
    0x80, the pickle protocol opcode, so the opcode alone proves nothing: a
    file with ``{`` at byte 8 goes to the safetensors parser, which runs no code
    and rejects anything else.
    """
    if blob[8:9] == b"{":
        return None
    if blob[:4] == b"PK\x03\x04":
        return "a zip archive (torch.save format, which holds pickles)"
    if blob[:1] == b"\x80":
        return "a Python pickle"
    return None


def _read_weights(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

    path = folder / meta["weights"].get("file", WEIGHTS)
    if not path.is_file():
        raise ModelFileError(f"{folder}: the weights file {path.name} is missing")
    blob = path.read_bytes()
    kind = foreign_format(blob)
    if kind is not None:
        raise ModelFileError(
            f"{path} is {kind}, not safetensors. flarecast never loads pickles, which can run "
            "arbitrary code; re-save the model with flarecast.training.artifacts.save_model"
        )
    expected_size = meta["weights"].get("bytes")
    if expected_size is not None and len(blob) != expected_size:
        what = "truncated" if len(blob) < expected_size else "longer than written"
        raise ModelFileError(
            f"{path} is {what}: {len(blob)} bytes on disk, {expected_size} recorded in {SIDECAR}"
        )
    digest = hashlib.sha256(blob).hexdigest()
    if digest != meta["weights"].get("sha256"):
        raise ModelFileError(
            f"{path} has been modified since it was saved: sha256 {digest[:16]}... does not match "
            f"the {meta['weights'].get('sha256', '?')[:16]}... recorded in {SIDECAR}"
        )
    try:
        return st_load(blob)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path} is not a readable safetensors file: {exc}") from exc


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
    from flarecast.training.estimator import FlareClassifier, build_network
    from flarecast.training.loop import resolve_device

    folder = Path(folder)
    meta = read_sidecar(folder)
    if expected_features is not None:
        _check_features(meta, expected_features, folder)
    tensors = _read_weights(folder, meta)
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
