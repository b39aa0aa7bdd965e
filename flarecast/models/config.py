"""The network's configuration: one frozen dataclass that owns the architecture defaults.

:class:`NetworkConfig` is read by :class:`flarecast.models.mlp.EnsembleMLP` and
:class:`flarecast.models.sequence.EnsembleGRU` for their constructor defaults,
by ``TrainConfig`` and ``FlareClassifier`` for their parameters' defaults, and
by the numpy forecast engine; :func:`network_problems` is the one validator of
its values. No torch here, so the forecast engine can read it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = [
    "NetworkConfig",
    "MODELS",
    "ACTIVATION_NAMES",
    "SKIPS",
    "STORED_ACTIVATION_DEFAULT",
    "network_problems",
    "stored_activation",
]

#: Network kinds: a snapshot MLP or a GRU over record windows.
MODELS: tuple[str, ...] = ("mlp", "sequence")
#: Hidden activations by name (the functions are in :data:`flarecast.models.ensemble.ACTIVATIONS`
#: and the forecast engine's numpy table; a test checks that all three agree).
ACTIVATION_NAMES: tuple[str, ...] = ("tanh", "relu", "silu")
#: Linear skip paths of the MLP (see :class:`flarecast.models.mlp.EnsembleMLP`).
SKIPS: tuple[str, ...] = ("none", "linear", "logistic")

#: The activation of a saved architecture that names none. It is not the default of a new
#: network: a ``model.json`` architecture without an "activation" key describes a tanh
#: network (the key is optional in the file format), so both the torch loader and the numpy
#: forecast engine evaluate such a folder with tanh; any other reading changes its probabilities.
STORED_ACTIVATION_DEFAULT = "tanh"


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """Architecture of the flare network.

    Attributes
    ----------
    model : {"mlp", "sequence"}, default "mlp"
    hidden : tuple of int, default (32, 32)
        MLP hidden widths; for "sequence", the GRU state size then head widths.
    activation : {"tanh", "relu", "silu"}, default "relu"
        Hidden activation.
    skip : {"none", "linear", "logistic"} or None, default None
        MLP only: a linear path from the inputs to the logit next to the hidden
        layers (see :class:`flarecast.models.mlp.EnsembleMLP`), starting at zero
        ("linear") or at a logistic regression fitted to the training rows
        ("logistic": the network starts as that model, and its hidden layers,
        whose output starts near zero, learn what it misses; the combined
        actuarial neural network of Wuthrich & Merz 2019). None means the
        model's default: "logistic" for the MLP, "none" for the sequence model.
    dropout : float in [0, 1), default 0.0
        Dropout after hidden activations. Off by default: on the Michigan table it
        did not change the AUC (0.2 vs 0 within 0.002) and it doubles the step time.
    window : int >= 1, default 4
        Records per window for the sequence model.

    ``hidden``, ``activation`` and ``skip`` defaults were chosen together (with
    ``TrainConfig.early_stopping``) on inner-validation rows only, as the
    candidate that came closest to logistic regression's validation AUC and TSS
    with both losses (``benchmarks/select_network.py``, "Network selection" in
    ``benchmarks/RESULTS.md``).
    """

    model: str = "mlp"
    hidden: tuple[int, ...] = (32, 32)
    activation: str = "relu"
    skip: str | None = None
    dropout: float = 0.0
    window: int = 4

    def skip_path(self) -> str:
        """``skip`` with None resolved to the model's default ("logistic" for the MLP, "none" otherwise)."""
        if self.skip is not None:
            return self.skip
        return "logistic" if self.model == "mlp" else "none"


def network_problems(
    *,
    model: Any,
    hidden: Any,
    activation: Any,
    skip: Any,
    dropout: Any,
    window: Any,
    owner: str = "NetworkConfig",
) -> list[str]:
    """Every problem of these network settings, one message each; empty when they are valid."""
    problems = []

    def bad(name: str, value: Any, rule: str) -> None:
        problems.append(f"The {name!r} parameter of {owner} must be {rule}. Got {value!r} instead.")

    if model not in MODELS:
        bad("model", model, f"one of {list(MODELS)}")
    if activation not in ACTIVATION_NAMES:
        bad("activation", activation, f"one of {list(ACTIVATION_NAMES)}")
    if not all(
        isinstance(h, int | np.integer) and not isinstance(h, bool) and h >= 1 for h in hidden
    ) or (model == "sequence" and len(hidden) == 0):
        bad("hidden", hidden, "a tuple of ints >= 1 (at least one for the sequence model)")
    resolved = skip if skip is not None else ("logistic" if model == "mlp" else "none")
    if (skip is not None and skip not in SKIPS) or (resolved != "none" and model != "mlp"):
        bad("skip", skip, f"one of {list(SKIPS)} or None ('none' for the 'sequence' model)")
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        bad("dropout", dropout, "a float in [0, 1)")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        bad("window", window, "an int >= 1")
    return problems


def stored_activation(architecture: dict[str, Any]) -> str:
    """The activation of a saved ``architecture`` dict (see :data:`STORED_ACTIVATION_DEFAULT`)."""
    return architecture.get("activation", STORED_ACTIVATION_DEFAULT)
