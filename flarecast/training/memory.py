"""How much memory a training run needs, estimated before anything is allocated.

An ensemble of 100 000 members or two hidden layers of 10^8 units cannot
train on any machine flarecast runs on, but torch only finds out after it has
taken most of the memory (and the machine with it). :func:`check_training_memory`
estimates the run's peak from the configuration and the table's size and
refuses, naming the estimate, what does not fit in the memory available.
"""

from __future__ import annotations

import os
from typing import Any

from flarecast.errors import ConfigError

__all__ = ["estimate_training_bytes", "available_bytes", "check_training_memory"]

_FLOAT = 4  # float32 parameters, activations and inputs
# Copies of every parameter held at once: the weights, their gradient, AdamW's two moments,
# the best-epoch snapshot and the checkpoint's copy.
_PARAMETER_COPIES = 6
# Activations of one batch kept for the backward pass, per hidden unit: pre-activation,
# activation, dropout output and their gradients, rounded up.
_ACTIVATION_COPIES = 4


def _n_parameters(config: Any, n_features: int) -> int:
    """Weights and biases of one member."""
    hidden = [int(h) for h in config.hidden]
    if config.model == "sequence":
        state = hidden[0]
        gru = 3 * state * (n_features + state + 2)
        widths = hidden
        head = sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))
        return gru + head + widths[-1] + 1
    widths = [n_features, *hidden, 1]
    layers = sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))
    return layers + n_features + 1  # the skip path, when there is one


def estimate_training_bytes(config: Any, n_train: int, n_val: int, n_features: int) -> int:
    """An estimate (within a factor of about two) of the peak memory of a training run, in bytes.

    Parameters
    ----------
    config : TrainConfig
    n_train, n_val : int
        Training and validation rows.
    n_features : int
    """
    k = int(config.n_members)
    steps = int(config.window) if config.model == "sequence" else 1
    units = sum(int(h) for h in config.hidden) + 1
    if config.model == "sequence":
        units += 3 * int(config.hidden[0])  # the GRU's gates at every step
    params = k * _n_parameters(config, n_features) * _FLOAT * _PARAMETER_COPIES
    batch = min(int(config.batch_size), max(n_train, 1))
    train_acts = k * batch * steps * (units * _ACTIVATION_COPIES + n_features) * _FLOAT
    # Validation is one forward pass over every validation row, for every member.
    val_acts = k * n_val * steps * (units + n_features) * _FLOAT
    # Each member's permutation of the training rows (int64) every epoch.
    orders = k * n_train * 8
    inputs = (n_train + n_val) * steps * (n_features + 1) * _FLOAT
    return params + train_acts + val_acts + orders + inputs


def available_bytes(device: Any) -> int | None:
    """Memory free for a run on ``device`` (a torch.device), in bytes; None where it is unknown."""
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gb(n: float) -> str:
    return f"{n / 1e9:.3g} GB"


def check_training_memory(
    config: Any,
    n_train: int,
    n_val: int,
    n_features: int,
    device: Any,
    available: int | None = None,
) -> int:
    """Refuse a run whose estimated peak memory exceeds what ``device`` has free.

    Parameters
    ----------
    available : int, optional
        Free bytes; default :func:`available_bytes` of ``device``.

    Returns
    -------
    int
        The estimate, in bytes.

    Raises
    ------
    ConfigError
        Naming the estimate, the memory available and the settings to lower.
    """
    need = estimate_training_bytes(config, n_train, n_val, n_features)
    have = available_bytes(device) if available is None else available
    if have is not None and need > have:
        raise ConfigError(
            f"This training run needs about {_gb(need)} of memory (estimate for {config.n_members} "
            f"member(s), hidden {tuple(config.hidden)}, {n_train} training and {n_val} validation "
            f"rows of {n_features} features) but {device} has {_gb(have)} available; use fewer "
            "members (--seeds) or smaller hidden layers (--hidden)."
        )
    return need
