"""A model folder as one unit: assembled aside, swapped into place, every file tied to the weights.

A trained model is several files (``weights.safetensors``, ``model.json``,
``calibration.json``, ``train.toml``, ``history.csv``). Writing them one by one
into the final folder let a second training, or a process killed between two
saves, leave a folder whose files come from different trainings, which
``predict`` and ``forecast`` then used together. So:

- :func:`staged_model_folder` assembles the files in a hidden sibling folder
  and only then puts it in place of ``out`` (an atomic exchange on Linux, two
  renames elsewhere), under a lock on the parent folder so two runs into one
  ``out`` finish one after the other: the last one wins, cleanly.
- Every companion file records the sha256 of the weights it belongs to
  (:data:`WEIGHTS_KEY` in ``calibration.json``, a ``[model]`` table in
  ``train.toml``, which also holds ``history.csv``'s sha256), and
  :func:`check_companions` refuses a folder where one does not match.
  Files without the record (folders written before it existed) still load.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from flarecast.errors import ConfigError, ModelFileError
from flarecast.io import staged_folder

__all__ = [
    "WEIGHTS_KEY",
    "CHECKPOINT_DIR",
    "MODEL_FILES",
    "check_out_folder",
    "staged_model_folder",
    "weights_sha256",
    "check_companions",
    "write_history",
]

#: Key of the weights' sha256 in companion files.
WEIGHTS_KEY = "weights_sha256"
#: Training checkpoints live here inside ``out`` until the model is saved (see ``--resume``).
CHECKPOINT_DIR = ".checkpoint"
#: Files a model folder may hold; anything else in ``out`` is someone else's and is never replaced.
MODEL_FILES = (
    "weights.safetensors",
    "model.json",
    "calibration.json",
    "train.toml",
    "history.csv",
)
#: Companion files larger than this are refused unread (real ones are a few kB).
MAX_COMPANION_BYTES = 16 * 1024 * 1024


def check_out_folder(out: str | Path, *, overwrite: bool) -> Path:
    """Refuse an ``out`` that holds anything besides a training checkpoint, unless ``overwrite``.

    Even with ``overwrite`` only a model folder (files of :data:`MODEL_FILES` and
    the checkpoint) is replaced: a folder holding other files is never deleted.

    Raises
    ------
    ConfigError
        Naming the folder, what is in it and what to do.
    """
    out = Path(out)
    if not out.exists():
        return out
    if not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder; choose a folder name.")
    entries = sorted(p.name for p in out.iterdir() if p.name != CHECKPOINT_DIR)
    if not entries:
        return out
    foreign = [name for name in entries if name not in MODEL_FILES]
    if foreign:
        raise ConfigError(
            f"--out {out} holds {foreign[:5]}, which are not model files; flarecast train never "
            "deletes them. Choose a new folder, or move those files away."
        )
    if not overwrite:
        raise ConfigError(
            f"--out {out} already holds a model ({', '.join(entries)}); give --overwrite to replace "
            "it, or choose a new folder."
        )
    return out


def staged_model_folder(
    out: str | Path, *, overwrite: bool
) -> contextlib.AbstractContextManager[Path]:
    """Yield an empty hidden folder beside ``out``; on success, put it in place of ``out``.

    On an exception the staged folder is deleted and ``out`` is untouched. The
    swap runs under a lock on ``out``'s parent, and ``out`` is checked again
    under it (:func:`check_out_folder`), so of two runs into one ``out`` without
    ``overwrite`` the second gets a clean error, and with it the last one wins.
    The checkpoint of this run (``out/.checkpoint``) goes away with the old folder.
    """
    return staged_folder(
        out,
        staging=".{name}.partial-{id}",
        lock="another flarecast train",
        check=lambda path: check_out_folder(path, overwrite=overwrite),
    )


def weights_sha256(folder: str | Path) -> str:
    """The weights' sha256 recorded in ``folder/model.json`` (written first when a folder is built)."""
    path = Path(folder) / "model.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["weights"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(
            f"{path}: cannot read the weights' sha256 to tie the other files to ({exc}); "
            "save the model before its companion files"
        ) from exc


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_small(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_COMPANION_BYTES:
        raise ModelFileError(f"{path} is {size} bytes; at most {MAX_COMPANION_BYTES} are read")
    return path.read_bytes()


def check_companions(folder: str | Path, meta: dict[str, Any]) -> None:
    """Refuse a folder whose companion files record other weights than ``model.json``'s.

    Parameters
    ----------
    folder : path
    meta : dict
        The folder's checked ``model.json``.

    Raises
    ------
    ModelFileError
        Naming the file that belongs to another training and what to do.
    """
    from flarecast.io import read_json

    folder = Path(folder)
    want = meta["weights"]["sha256"]
    mixed = []
    cal = folder / "calibration.json"
    if cal.is_file():
        state = read_json(cal, _read_small(cal), error=ModelFileError)
        if isinstance(state, dict) and state.get(WEIGHTS_KEY, want) != want:
            mixed.append(f"calibration.json (fitted for weights {str(state[WEIGHTS_KEY])[:16]}...)")
    toml = folder / "train.toml"
    if toml.is_file():
        try:
            table = tomllib.loads(_read_small(toml).decode("utf-8")).get("model", {})
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ModelFileError(f"{toml}: invalid TOML ({exc})") from exc
        if isinstance(table, dict) and table.get(WEIGHTS_KEY, want) != want:
            mixed.append(f"train.toml (written for weights {str(table[WEIGHTS_KEY])[:16]}...)")
        history = folder / "history.csv"
        recorded = table.get("history_sha256") if isinstance(table, dict) else None
        if recorded is not None and history.is_file() and _sha256(history) != recorded:
            mixed.append("history.csv (not the one train.toml records)")
    if mixed:
        raise ModelFileError(
            f"{folder} mixes two trainings: {'; '.join(mixed)} do(es) not belong to the weights "
            f"{want[:16]}... in model.json. Retrain into a new folder (or with --overwrite)."
        )


def write_history(path: str | Path, history: dict[str, Any]) -> None:
    """Write the per-epoch, per-member history (``FlareClassifier.history_``) as CSV, atomically."""
    from flarecast.io import atomic_open

    n_epochs, k = history["val_loss"].shape
    with atomic_open(path, "w") as fh:
        fh.write("epoch,member,train_loss,val_loss,val_auc\n")
        for e in range(n_epochs):
            for m in range(k):
                fh.write(
                    f"{e + 1},{m},{history['train_loss'][e, m]:.6g},{history['val_loss'][e, m]:.6g},"
                    f"{history['val_auc'][e, m]:.6g}\n"
                )
