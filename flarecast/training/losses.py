"""The training loss as configuration: ``LossConfig``, the loss registry and their one validator.

:class:`LossConfig` validates a loss's parameters in the one place every
caller goes through (``TrainConfig``, ``FlareClassifier``, the evaluation
``Protocol``, the command line, a saved model folder), with one message
style, and :data:`LOSS_REGISTRY` maps each loss name to its function in
:mod:`flarecast.training.loss_functions` and the config fields it reads:
adding a loss is that function plus one entry here. This module does not
import torch, so the protocol, the command line and the numpy forecast
engine can read the registry and check a config without it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flarecast.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = [
    "LOSSES",
    "NO_WEIGHTING",
    "LossConfig",
    "LossSpec",
    "LOSS_REGISTRY",
    "LossFn",
    "loss_problems",
    "read_alpha",
    "pos_weight_from_base_rate",
]

#: How the command line and TOML files spell "no class weighting" (``alpha=None`` in Python;
#: TOML has no null).
NO_WEIGHTING = "none"

#: An elementwise loss: ``loss(logits, targets) -> tensor`` of the logits' shape.
LossFn = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]


def _alpha_problem(alpha: Any, caller: str) -> str | None:
    if alpha is None:
        return None
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 <= alpha <= 1.0:
        return (
            f"The 'alpha' parameter of {caller} must be a float in [0, 1], or None for no class "
            f"weighting. Got {alpha!r} instead."
        )
    return None


def _gamma_problem(gamma: Any, caller: str) -> str | None:
    if (
        isinstance(gamma, bool)
        or not isinstance(gamma, int | float)
        or not (gamma >= 0 and math.isfinite(gamma))
    ):
        return (
            f"The 'gamma' parameter of {caller} must be a float >= 0 and finite. "
            f"Got {gamma!r} instead."
        )
    return None


def pos_weight_from_base_rate(base_rate: float) -> float:
    """Positive-class weight ``(1 - r) / r`` that balances the classes at base rate ``r``.

    With it a weighted cross-entropy gives positives and negatives the same
    total weight (``n_neg / n_pos``), as scikit-learn's ``class_weight="balanced"``
    does up to a common factor.

    Raises
    ------
    ConfigError
        Unless ``0 < base_rate < 1``.
    """
    if not (0.0 < base_rate < 1.0):
        raise ConfigError(
            f"The base rate must be strictly between 0 and 1 to weight the classes. Got {base_rate!r}: "
            "the training rows hold only one class."
        )
    return (1.0 - base_rate) / base_rate


@dataclasses.dataclass(frozen=True)
class LossSpec:
    """One entry of :data:`LOSS_REGISTRY`.

    Attributes
    ----------
    function : str
        Name of the loss function in :mod:`flarecast.training.loss_functions`.
    uses : tuple of str
        The :class:`LossConfig` fields besides ``loss`` that the function takes as
        keyword arguments (the others are ignored).
    label : str
        Name of the loss's network in tables and reports.
    positive_weight : callable, optional
        ``positive_weight(base_rate) -> float``, passed to the function as
        ``pos_weight``: the weight of a positive row relative to a negative one.
        None for losses that weight every row alike. The network's linear path
        starts at the logistic regression of the same weighting.
    """

    function: str
    uses: tuple[str, ...]
    label: str
    positive_weight: Callable[[float], float] | None = None


#: Every loss flarecast trains with, by name: the ``--loss`` choices, ``TrainConfig.loss`` and
#: the network rows of ``flarecast reproduce`` are all read from here.
LOSS_REGISTRY: dict[str, LossSpec] = {
    "focal": LossSpec("focal_loss", ("alpha", "gamma"), "focal-loss network"),
    "ce": LossSpec("bce_loss", (), "cross-entropy network"),
    "weighted-ce": LossSpec(
        "weighted_bce_loss",
        (),
        "class-weighted cross-entropy network",
        positive_weight=pos_weight_from_base_rate,
    ),
}
#: Legal loss names (of ``TrainConfig.loss``, ``FlareClassifier(loss=...)`` and ``--loss``).
LOSSES: tuple[str, ...] = tuple(LOSS_REGISTRY)


def loss_problems(loss: Any, alpha: Any, gamma: Any, owner: str = "LossConfig") -> list[str]:
    """Every problem of a (loss, alpha, gamma) triple, one message each; empty when it is valid.

    ``alpha`` and ``gamma`` are checked whatever the loss (a config that switches to focal loss
    later must not carry an invalid one), and messages name ``owner`` as the parameters' owner.
    """
    problems = []
    if loss not in LOSS_REGISTRY:
        problems.append(
            f"The 'loss' parameter of {owner} must be one of {list(LOSSES)}. Got {loss!r} instead."
        )
    for problem in (_alpha_problem(alpha, owner), _gamma_problem(gamma, owner)):
        if problem:
            problems.append(problem)
    return problems


def read_alpha(value: Any, source: str, *, legacy: bool = True) -> float | None:
    """``alpha`` as written on the command line or in a TOML file or model folder.

    ``"none"`` (:data:`NO_WEIGHTING`, any case) is no class weighting. Older train.toml
    files spell it ``-1`` (TOML has no null) and older options "off"; both are read here,
    and only here, so that existing model folders and configs keep loading with the same
    meaning; ``legacy=False`` (the command line) accepts "none" only. Anything else must be
    a number; its range is :class:`LossConfig`'s to check.

    Raises
    ------
    ConfigError
        For a value that is neither a number nor one of those spellings, naming ``source``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text == NO_WEIGHTING or (legacy and text in ("off", "-1")):
            return None
        try:
            return float(text)
        except ValueError:
            raise ConfigError(
                f"{source} must be a number in [0, 1] or {NO_WEIGHTING!r}. Got {value!r}."
            ) from None
    if legacy and isinstance(value, int | float) and not isinstance(value, bool) and value == -1:
        return None
    return value


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """The training loss and its parameters, validated once on construction.

    Attributes
    ----------
    loss : str, default "focal"
        A name in :data:`LOSS_REGISTRY` ("focal", "ce", "weighted-ce").
    alpha : float in [0, 1] or None, default 0.25
        Focal-loss weight of the flare class; None is no class weighting
        (see :func:`flarecast.training.loss_functions.focal_loss`).
    gamma : float >= 0, finite, default 2.0
        Focal-loss focusing parameter.

    Raises
    ------
    ConfigError
        Listing every invalid value, e.g. "The 'gamma' parameter of focal_loss must be a
        float >= 0 and finite. Got inf instead."
    """

    loss: str = "focal"
    alpha: float | None = 0.25
    gamma: float = 2.0

    def __post_init__(self) -> None:
        problems = loss_problems(self.loss, self.alpha, self.gamma, owner="focal_loss")
        if problems:
            raise ConfigError(" ".join(problems))

    @property
    def spec(self) -> LossSpec:
        """This loss's registry entry."""
        return LOSS_REGISTRY[self.loss]
