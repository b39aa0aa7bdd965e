"""A model folder's ``model.json`` and weights bytes, checked: the one validator of both engines.

:func:`read_sidecar` and :func:`read_weights_bytes` are used by the torch loader
(:func:`flarecast.training.artifacts.load_model`) and by the numpy forecast
engine (:class:`flarecast.forecast.engine.NumpyMLP`) alike, so a folder one of
them refuses the other refuses too. Every value of ``model.json`` is checked
before it is used, the estimator parameters (``config``) as strictly as a
user's (:func:`flarecast.training.config.check_config`), and the weights'
size is checked before a byte of them is read. No torch here.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from flarecast import __version__
from flarecast.errors import ConfigError, ModelFileError
from flarecast.io import read_json
from flarecast.models.config import stored_activation
from flarecast.training.config import ESTIMATOR_PARAMS, check_config, train_config_from_dict
from flarecast.training.losses import read_alpha

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "WEIGHTS",
    "SIDECAR",
    "MAX_SIDECAR_BYTES",
    "MAX_WEIGHTS_BYTES",
    "read_sidecar",
    "read_weights_bytes",
    "read_model_files",
    "foreign_format",
]

FORMAT = "flarecast-model"
#: Bumped whenever the sidecar or the tensor layout changes incompatibly.
FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
SIDECAR = "model.json"
#: model.json files larger than this are refused unread (a real one is a few kB).
MAX_SIDECAR_BYTES = 16 * 1024 * 1024
#: Weights files larger than this are refused unread: 256 MiB is 64 million float32 weights,
#: far beyond any network that trains on a SHARP table in memory.
MAX_WEIGHTS_BYTES = 256 * 1024 * 1024
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
    meta = read_json(path, error=ModelFileError)
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
    if not problems:
        problems = _config_problems(meta)
    if problems:
        raise ModelFileError(
            f"{path} is not a consistent model sidecar (edited or damaged?): " + "; ".join(problems)
        )
    if "alpha" in meta["config"]:  # older folders may spell "no class weighting" -1
        meta["config"]["alpha"] = read_alpha(meta["config"]["alpha"], f"{path}: 'alpha'")
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
            and isinstance(stored_activation(arch), str)
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


def _config_problems(meta: dict[str, Any]) -> list[str]:
    """Problems of the saved estimator parameters, checked as a user's would be, and their agreement
    with the architecture."""
    config, arch = meta["config"], meta["architecture"]
    unknown = sorted(set(config) - set(ESTIMATOR_PARAMS))
    if unknown:
        return [f"'config' has unknown key(s) {unknown}; legal keys are {sorted(ESTIMATOR_PARAMS)}"]
    train = {k: v for k, v in config.items() if k not in ("threshold", "log", "features")}
    if isinstance(train.get("hidden"), list):
        train["hidden"] = tuple(train["hidden"])
    try:
        check_config(train_config_from_dict(train, "'config'"), owner="FlareClassifier")
    except ConfigError as exc:
        return [str(exc)]
    except (TypeError, ValueError, OverflowError) as exc:  # a value of a type no check expects
        return [f"'config' holds a value of the wrong type: {exc}"]
    problems = []
    for key, arch_key in (("model", "kind"), ("n_members", "n_members")):
        if key in config and config[key] != arch[arch_key]:
            problems.append(
                f"config says {key} {config[key]!r} but the architecture is {arch[arch_key]!r}"
            )
    return problems


def read_weights_bytes(folder: str | Path, meta: dict[str, Any]) -> bytes:
    """The weights file of a model folder, checked against ``model.json`` before and after reading.

    Its size is compared with the recorded one (and :data:`MAX_WEIGHTS_BYTES`)
    before it is read, so a planted sparse file of many GB is refused without
    being loaded; a pickle or zip is refused first, a changed sha256 last.

    Raises
    ------
    ModelFileError
    """
    folder = Path(folder)
    path = folder / meta["weights"].get("file", WEIGHTS)
    if not path.is_file():
        raise ModelFileError(f"{folder}: the weights file {path.name} is missing")
    with open(path, "rb") as fh:  # the first bytes tell a pickle or zip, whatever the size
        kind = foreign_format(fh.read(9))
    if kind is not None:
        raise ModelFileError(
            f"{path} is {kind}, not safetensors. flarecast never loads pickles, which can run "
            "arbitrary code; re-save the model with flarecast.training.artifacts.save_model"
        )
    size = path.stat().st_size
    expected_size = meta["weights"].get("bytes")
    if expected_size is not None and size != expected_size:
        what = "truncated" if size < expected_size else "longer than written"
        raise ModelFileError(
            f"{path} is {what}: {size} bytes on disk, {expected_size} recorded in {SIDECAR}"
        )
    if size > MAX_WEIGHTS_BYTES:
        raise ModelFileError(
            f"{path} is {size} bytes; flarecast reads weights files of at most {MAX_WEIGHTS_BYTES} "
            "bytes (a flare network is a few MB)"
        )
    blob = path.read_bytes()
    if len(blob) != size:
        raise ModelFileError(f"{path} changed while it was read; try again")
    digest = hashlib.sha256(blob).hexdigest()
    if digest != meta["weights"].get("sha256"):
        raise ModelFileError(
            f"{path} has been modified since it was saved: sha256 {digest[:16]}... does not match "
            f"the {str(meta['weights'].get('sha256'))[:16]}... recorded in {SIDECAR}"
        )
    return blob


def read_model_files(folder: str | Path) -> tuple[dict[str, Any], bytes]:
    """``model.json`` and the weights' bytes of a model folder, every check passed.

    The sidecar (:func:`read_sidecar`), then the weights (:func:`read_weights_bytes`),
    Both engines load through here, parse the tensors, and then check the companion
    files, which must record these weights (:func:`flarecast.training.folder.check_companions`).
    """
    meta = read_sidecar(folder)
    return meta, read_weights_bytes(folder, meta)
