"""``TrainConfig``: everything that fixes a training run, built from the loss and network configs.

The loss's fields and defaults belong to :class:`flarecast.training.losses.LossConfig`
and the architecture's to :class:`flarecast.models.config.NetworkConfig`;
``TrainConfig`` repeats them as flat fields (so ``train.toml``'s ``[train]``
table and ``FlareClassifier.get_params`` stay flat) with their defaults read
from those two classes, and :func:`check_config` validates them through their
validators. No torch here.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from flarecast.errors import ConfigError
from flarecast.io import require_regular_file
from flarecast.models.config import NetworkConfig, network_problems
from flarecast.training.losses import NO_WEIGHTING, LossConfig, loss_problems, read_alpha

__all__ = [
    "TrainConfig",
    "check_config",
    "skip_path",
    "load_train_config",
    "train_config_from_dict",
    "write_train_toml",
    "EARLY_STOPPING",
    "MAX_THREADS",
    "ESTIMATOR_PARAMS",
]

EARLY_STOPPING = ("loss", "auc")
#: Most torch threads a configuration may ask for (more than any machine this runs on has cores).
MAX_THREADS = 1024

_LOSS = LossConfig()
_NET = NetworkConfig()


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that fixes a training run; saved next to every model.

    Attributes
    ----------
    loss, alpha, gamma
        The loss and its parameters: see :class:`flarecast.training.losses.LossConfig`,
        which owns their defaults ("focal", 0.25, 2.0) and their validation.
    model, hidden, activation, skip, dropout, window
        The network: see :class:`flarecast.models.config.NetworkConfig`, which owns
        their defaults ("mlp", (32, 32), "relu", None, 0.0, 4) and their validation.
    input_noise : float, default 0.0
        Standard deviation of Gaussian noise added to the (z-scored) input features
        of every training batch, a smoothness regulariser; validation and
        prediction see the inputs unchanged.
    weight_decay : float, default 1e-2
        AdamW decoupled weight decay, applied to weight matrices only (not biases).
    lr : float, default 2e-3
        AdamW learning rate.
    batch_size : int, default 256
        Rows per member per step (the epoch is cut into equal slices near this size).
    max_epochs : int, default 60
    patience : int, default 8
        Epochs without validation improvement before a member stops.
    n_members : int, default 1
        Ensemble size K.
    seed : int in [0, 2**63), default 0
    device : str, default "auto"
        "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:1", "mps".
    early_stopping : {"loss", "auc"}, default "auc"
        Validation score for early stopping and best-epoch choice: the training
        objective (e.g. focal loss) on the validation rows, or ROC AUC. AUC by
        default: one criterion whatever the loss, and the one the comparison
        scores; the validation focal loss is a poor signal of ranking skill.
    cpu_threads : int in [1, 1024] or None, default 1
        torch intra-op threads while training or predicting on the CPU (restored
        afterwards); None keeps torch's setting. The cap keeps a hand-edited
        model.json from asking torch for billions of threads, which aborts the
        process. One thread is the default because these matrices are tiny: a
        second thread gains little on an idle machine and, on a busy one,
        spinning threads made fits 3-4x slower.
    """

    loss: str = _LOSS.loss
    alpha: float | None = _LOSS.alpha
    gamma: float = _LOSS.gamma
    model: str = _NET.model
    hidden: tuple[int, ...] = _NET.hidden
    activation: str = _NET.activation
    skip: str | None = _NET.skip
    dropout: float = _NET.dropout
    input_noise: float = 0.0
    weight_decay: float = 1e-2
    lr: float = 2e-3
    batch_size: int = 256
    max_epochs: int = 60
    patience: int = 8
    n_members: int = 1
    seed: int = 0
    device: str = "auto"
    window: int = _NET.window
    early_stopping: str = "auc"
    cpu_threads: int | None = 1

    def loss_config(self) -> LossConfig:
        """The :class:`LossConfig` of this run (validated)."""
        return LossConfig(self.loss, self.alpha, self.gamma)

    def network_config(self) -> NetworkConfig:
        """The :class:`NetworkConfig` of this run (not validated: see :func:`check_config`)."""
        return NetworkConfig(**_network_settings(self))


#: Parameters of ``FlareClassifier`` (saved as a model folder's ``config``): TrainConfig's fields
#: plus three of its own. A test checks this against the estimator's signature.
ESTIMATOR_PARAMS: tuple[str, ...] = (
    *(f.name for f in dataclasses.fields(TrainConfig)),
    "threshold",
    "log",
    "features",
)


def _network_settings(config: TrainConfig) -> dict[str, Any]:
    """``config``'s values of the :class:`NetworkConfig` fields (a TrainConfig has them all)."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(NetworkConfig)}


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_config(config: TrainConfig, owner: str = "FlareClassifier") -> None:
    """Raise one :class:`ConfigError` listing every invalid value of ``config``."""
    problems = loss_problems(config.loss, config.alpha, config.gamma, owner)
    problems += network_problems(**_network_settings(config), owner=owner)

    def bad(name: str, rule: str) -> None:
        problems.append(
            f"The {name!r} parameter of {owner} must be {rule}. Got {getattr(config, name)!r} instead."
        )

    if config.early_stopping not in EARLY_STOPPING:
        bad("early_stopping", f"one of {list(EARLY_STOPPING)}")
    for name in ("weight_decay", "input_noise"):
        if not getattr(config, name) >= 0:
            bad(name, "a float >= 0")
    if not config.lr > 0:
        bad("lr", "a float > 0")
    if config.cpu_threads is not None and (
        not _is_int(config.cpu_threads) or not 1 <= config.cpu_threads <= MAX_THREADS
    ):
        bad("cpu_threads", f"an int in [1, {MAX_THREADS}] or None")
    for name in ("batch_size", "max_epochs", "patience", "n_members"):
        value = getattr(config, name)
        if not _is_int(value) or value < 1:
            bad(name, "an int >= 1")
    # numpy's SeedSequence and torch's manual_seed both take the seed: it must fit both.
    if not _is_int(config.seed) or not 0 <= config.seed < 2**63:
        bad("seed", "an int in [0, 2**63)")
    if problems:
        raise ConfigError(" ".join(problems))


def skip_path(config: TrainConfig) -> str:
    """``config.skip``, with None resolved to the model's default ("logistic" for the MLP, "none" otherwise)."""
    return config.network_config().skip_path()


def train_config_from_dict(data: dict[str, Any], source: str) -> TrainConfig:
    """A :class:`TrainConfig` from a TOML table or a model folder's saved parameters.

    Unknown keys are refused with the legal ones listed; ``alpha`` may be spelled
    ``"none"`` (see :func:`flarecast.training.losses.read_alpha`); lists become tuples.
    """
    from flarecast import config as cfg

    data = dict(data)
    if "alpha" in data:
        data["alpha"] = read_alpha(data["alpha"], f"{source}: 'alpha'")
    return cfg.from_dict(TrainConfig, data, source=source)


def load_train_config(path: str | Path, table: str = "train") -> TrainConfig:
    """Read the ``[table]`` of a TOML file (e.g. a model folder's ``train.toml``) as a TrainConfig."""
    path = Path(path)
    if path.exists():  # a FIFO would block the read below forever
        require_regular_file(path, what="config file", error=ConfigError)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    return train_config_from_dict(data.get(table, {}), str(path))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def write_train_toml(
    path: str | Path,
    tables: dict[str, dict[str, Any]],
    *,
    header: str = "# Written by `flarecast train`; rerun with: flarecast train --config THIS_FILE ...",
) -> None:
    """Write ``tables`` as TOML (atomically), e.g. ``{"train": ..., "data": ...}``.

    ``alpha = None`` is written as ``alpha = "none"`` (TOML has no null); any other
    None value is left out as a comment, since an absent key means the default.
    When the folder holds a saved model, a ``[model]`` table records the sha256 of
    its weights (and of ``history.csv``, if written already), tying the file to
    that training (:func:`flarecast.training.folder.check_companions`).
    """
    from flarecast.io import atomic_open, sha256_file
    from flarecast.training.folder import WEIGHTS_KEY, weights_sha256

    path = Path(path)
    if (path.parent / "model.json").is_file():
        model = {WEIGHTS_KEY: weights_sha256(path.parent)}
        if (path.parent / "history.csv").is_file():
            model["history_sha256"] = sha256_file(path.parent / "history.csv")
        tables = {**tables, "model": model}
    with atomic_open(path, "w") as fh:
        fh.write(header.rstrip("\n") + "\n")
        for name, table in tables.items():
            fh.write(f"\n[{name}]\n")
            for key, value in table.items():
                if key == "alpha" and value is None:
                    fh.write(f'alpha = "{NO_WEIGHTING}"  # no class weighting\n')
                elif value is None:
                    fh.write(f"# {key} = (none)\n")
                else:
                    fh.write(f"{key} = {_toml_value(value)}\n")
