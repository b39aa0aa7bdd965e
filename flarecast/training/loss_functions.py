"""Losses on logits: focal loss, binary cross-entropy and class-weighted cross-entropy.

Every loss here is a pure function ``(logits, targets) -> tensor`` computed from
logits in a numerically stable way (``log(sigmoid(x))`` is never formed: it
underflows to ``-inf`` for ``x < -104`` in float32). Thin :class:`torch.nn.Module`
wrappers hold the parameters for use inside a model. Which loss a run trains
with, and its parameters, is a :class:`flarecast.training.losses.LossConfig`;
:func:`build_loss` turns one into the function.

The shapes are free: ``logits`` and ``targets`` must have the same shape, for
example ``(n,)`` for one network or ``(K, n)`` for an ensemble of ``K``
members, and ``reduction="none"`` returns that shape unchanged.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from flarecast.errors import ConfigError
from flarecast.training.losses import (
    LOSS_REGISTRY,
    LOSSES,
    LossConfig,
    LossFn,
    _alpha_problem,
    _gamma_problem,
    pos_weight_from_base_rate,
)

__all__ = [
    "REDUCTIONS",
    "focal_loss",
    "bce_loss",
    "weighted_bce_loss",
    "build_loss",
    "make_loss",
    "FocalLoss",
    "BCELoss",
    "WeightedBCELoss",
]

#: Legal ``reduction`` values of every loss here.
REDUCTIONS: tuple[str, ...] = ("none", "mean", "sum", "positives")


def _check_reduction(reduction: str, caller: str) -> None:
    if reduction not in REDUCTIONS:
        raise ConfigError(
            f"The 'reduction' parameter of {caller} must be one of {list(REDUCTIONS)}. "
            f"Got {reduction!r} instead."
        )


def _check_shapes(logits: torch.Tensor, targets: torch.Tensor, caller: str) -> None:
    if logits.shape != targets.shape:
        raise ConfigError(
            f"{caller}: logits and targets must have the same shape; got logits {tuple(logits.shape)} "
            f"and targets {tuple(targets.shape)}. Reshape the targets (e.g. y.view_as(logits))."
        )


def _reduce(loss: torch.Tensor, targets: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    # "positives": normalise by the number of positive targets, as Detectron's RetinaNet does,
    # so the loss scale does not depend on how many easy negatives a batch holds.
    return loss.sum() / targets.sum().clamp(min=1.0)


def _check_alpha(alpha: float | None, caller: str) -> float | None:
    problem = _alpha_problem(alpha, caller)
    if problem:
        raise ConfigError(problem)
    return None if alpha is None else float(alpha)


def _check_gamma(gamma: float, caller: str) -> float:
    problem = _gamma_problem(gamma, caller)
    if problem:
        raise ConfigError(problem)
    return float(gamma)


def focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
) -> torch.Tensor:
    r"""Binary focal loss of Lin et al. (2017), from logits.

    .. math:: \mathrm{FL}(p_t) = -\alpha_t (1 - p_t)^\gamma \log p_t

    with :math:`p_t = p` for a positive target and :math:`1 - p` for a negative
    one, :math:`p = \sigma(\text{logit})`.

    Parameters
    ----------
    logits : torch.Tensor, any shape
        Raw scores; ``sigmoid(logits)`` is P(flare).
    targets : torch.Tensor, same shape as ``logits``
        1 for a flare (positive), 0 otherwise. Soft targets in [0, 1] are allowed.
    alpha : float in [0, 1] or None, default 0.25
        Weight of the **flare (positive) class**; negatives get ``1 - alpha``.
        ``None`` turns the weighting off (``alpha_t = 1``). Beware:
        with the paper's ``alpha=0.25`` a missed flare costs *less* than a false
        alarm of the same confidence, the opposite of what many readers expect.
        Lin et al. chose it together with ``gamma=2``, which already
        down-weights the many easy negatives; on a 1:10 flare data set a larger
        alpha (0.5-0.9) is usually the better start.
    gamma : float >= 0, default 2.0
        Focusing parameter; 0 gives (alpha-weighted) cross-entropy.
    reduction : {"none", "mean", "sum", "positives"}, default "none"
        "positives" divides the sum by ``max(1, number of positive targets)``,
        as Detectron does for RetinaNet.

    Returns
    -------
    torch.Tensor
        Shape of ``logits`` for "none", else a scalar.

    Raises
    ------
    ConfigError (a ValueError)
        For ``gamma < 0`` or infinite, ``alpha`` outside [0, 1], an unknown ``reduction`` or
        mismatched shapes; the message lists the legal choices.

    References
    ----------
    T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollar, "Focal Loss for Dense
    Object Detection", ICCV 2017, arXiv:1708.02002.
    """
    alpha = _check_alpha(alpha, "focal_loss")
    gamma = _check_gamma(gamma, "focal_loss")
    _check_reduction(reduction, "focal_loss")
    _check_shapes(logits, targets, "focal_loss")
    targets = targets.to(logits.dtype)
    # -log p_t, stable for any logit (log-sum-exp inside torch).
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    loss = ce
    if gamma != 0.0:
        # 1 - p_t = p (1 - t) + (1 - p) t; sigmoid(-x) keeps 1 - p accurate where p -> 1.
        one_minus_pt = torch.sigmoid(logits) * (1 - targets) + torch.sigmoid(-logits) * targets
        loss = ce * one_minus_pt.pow(gamma)
    if alpha is not None:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return _reduce(loss, targets, reduction)


def bce_loss(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "none") -> torch.Tensor:
    """Binary cross-entropy from logits, ``-[t log p + (1 - t) log(1 - p)]``: the baseline.

    Parameters and returns as :func:`focal_loss` (no alpha, no gamma).
    """
    _check_reduction(reduction, "bce_loss")
    _check_shapes(logits, targets, "bce_loss")
    targets = targets.to(logits.dtype)
    return _reduce(
        F.binary_cross_entropy_with_logits(logits, targets, reduction="none"), targets, reduction
    )


def weighted_bce_loss(
    logits: torch.Tensor, targets: torch.Tensor, pos_weight: float, reduction: str = "none"
) -> torch.Tensor:
    """Class-weighted cross-entropy, ``-[w t log p + (1 - t) log(1 - p)]``.

    Parameters
    ----------
    pos_weight : float > 0
        Weight ``w`` of the positive (flare) terms, usually
        :func:`pos_weight_from_base_rate` of the training rows.

    Other parameters and returns as :func:`focal_loss`.
    """
    _check_reduction(reduction, "weighted_bce_loss")
    _check_shapes(logits, targets, "weighted_bce_loss")
    if (
        isinstance(pos_weight, bool)
        or not isinstance(pos_weight, int | float)
        or not pos_weight > 0
    ):
        raise ConfigError(
            f"The 'pos_weight' parameter of weighted_bce_loss must be a float > 0. Got {pos_weight!r} instead."
        )
    targets = targets.to(logits.dtype)
    weight = torch.tensor(float(pos_weight), dtype=logits.dtype, device=logits.device)
    loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="none", pos_weight=weight)
    return _reduce(loss, targets, reduction)


def build_loss(config: LossConfig, base_rate: float | None = None) -> LossFn:
    """The elementwise (``reduction="none"``) loss function of ``config``; picklable.

    Parameters
    ----------
    config : LossConfig
    base_rate : float, optional
        Training base rate; required by losses with a ``positive_weight`` ("weighted-ce").

    Returns
    -------
    callable
        ``loss(logits, targets) -> tensor`` of the logits' shape: the registry's
        function with the config fields it uses bound (``functools.partial`` of
        a module-level function, never a lambda, so a fitted estimator pickles).
    """
    spec = LOSS_REGISTRY[config.loss]
    kwargs = {field: getattr(config, field) for field in spec.uses}
    if spec.positive_weight is not None:
        if base_rate is None:
            raise ConfigError(
                f"The {config.loss!r} loss needs the training base rate to set its pos_weight."
            )
        kwargs["pos_weight"] = spec.positive_weight(base_rate)
    function = globals()[spec.function]
    return functools.partial(function, **kwargs) if kwargs else function


def make_loss(
    name: str, *, alpha: float | None = 0.25, gamma: float = 2.0, base_rate: float | None = None
) -> LossFn:
    """The elementwise (``reduction="none"``) loss function called ``name``.

    Parameters
    ----------
    name : str
        A name in :data:`LOSS_REGISTRY` ("focal", "ce", "weighted-ce").
    alpha, gamma : float
        Focal-loss parameters (ignored by the others, but validated).
    base_rate : float, optional
        Training base rate; required by "weighted-ce" for its ``pos_weight``.

    Returns
    -------
    callable
        ``loss(logits, targets) -> tensor`` of the logits' shape; picklable.
    """
    if name not in LOSS_REGISTRY:
        raise ConfigError(f"Unknown loss {name!r}; choose one of {list(LOSSES)}.")
    return build_loss(LossConfig(name, alpha, gamma), base_rate)


class FocalLoss(nn.Module):
    """:func:`focal_loss` as a module; see there for the meaning of ``alpha`` and ``gamma``."""

    def __init__(self, alpha: float | None = 0.25, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        self.alpha = _check_alpha(alpha, "FocalLoss")
        self.gamma = _check_gamma(gamma, "FocalLoss")
        _check_reduction(reduction, "FocalLoss")
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return focal_loss(logits, targets, self.alpha, self.gamma, self.reduction)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, gamma={self.gamma}, reduction={self.reduction!r}"


class BCELoss(nn.Module):
    """:func:`bce_loss` as a module."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        _check_reduction(reduction, "BCELoss")
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return bce_loss(logits, targets, self.reduction)


class WeightedBCELoss(nn.Module):
    """:func:`weighted_bce_loss` as a module; build it with ``from_base_rate`` to balance the classes."""

    def __init__(self, pos_weight: float, reduction: str = "mean"):
        super().__init__()
        _check_reduction(reduction, "WeightedBCELoss")
        self.pos_weight = float(pos_weight)
        self.reduction = reduction

    @classmethod
    def from_base_rate(cls, base_rate: float, reduction: str = "mean") -> WeightedBCELoss:
        return cls(pos_weight_from_base_rate(base_rate), reduction)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return weighted_bce_loss(logits, targets, self.pos_weight, self.reduction)

    def extra_repr(self) -> str:
        return f"pos_weight={self.pos_weight:.4g}, reduction={self.reduction!r}"
