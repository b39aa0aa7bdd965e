"""Building blocks for ensembles trained as one vectorised network.

An ensemble of ``K`` members stores each layer's weights stacked along a
leading member axis, ``(K, fan_in, fan_out)``, so one batched matrix product
runs every member at once. The members share no parameters and the loss is a
sum of per-member losses, so each member's gradient is exactly what it would
get alone, and AdamW (an elementwise update) treats each member as a separate
model: the ensemble equals ``K`` separate fits in distribution, at the cost of
about one.

Each member draws its initial weights and its batch order from its own
generator seeded by :func:`member_seeds`, so changing ``K`` never changes the
first members' initialisation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from flarecast.models.config import NetworkConfig

__all__ = [
    "member_seeds",
    "member_generators",
    "BatchedLinear",
    "dropout",
    "prior_logit",
    "BestWeights",
    "replace_parameters",
    "ACTIVATIONS",
    "tanh",
    "EnsembleNet",
]

_DEFAULT = NetworkConfig()


class _Tanh(torch.autograd.Function):
    """tanh as ``2 sigmoid(2x) - 1`` (max error 2e-7): torch's CPU tanh kernel is ~5x slower than its
    sigmoid, and in a 10-member ensemble it was a third of the step time."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y = torch.sigmoid(x * 2).mul_(2).sub_(1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return torch.addcmul(grad, grad * y, y, value=-1)  # grad * (1 - y^2) in two passes


#: Below this many elements torch's own tanh wins: ``_Tanh`` pays ~0.1 ms of Python per call.
_FAST_TANH_MIN = 32768


def tanh(x: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent: ``_Tanh`` for large CPU tensors, torch's own kernel otherwise.

    Measured forward + backward on (10, 256, 32): 0.18 ms vs 0.51 ms; on (1, 256, 32)
    torch's kernel is faster (0.05 ms vs 0.14 ms).
    """
    if x.device.type == "cpu" and x.numel() >= _FAST_TANH_MIN:
        return _Tanh.apply(x)
    return torch.tanh(x)


#: Hidden-layer activations by name (the names are :data:`flarecast.models.config.ACTIVATION_NAMES`;
#: the default is ``NetworkConfig.activation``). ReLU is the default because, with focal loss on
#: inner-validation rows only, tanh left the focal network below logistic regression and ReLU did
#: not (benchmarks/select_network.py); with cross-entropy alone tanh matched logistic regression
#: (AUC 0.688-0.691 over two 5-fold region splits) where ReLU gave 0.677-0.678.
ACTIVATIONS = {"tanh": tanh, "relu": torch.relu, "silu": torch.nn.functional.silu}


def member_seeds(seed: int, n_members: int) -> list[int]:
    """Independent 63-bit seeds for ``n_members`` members, derived from one ``seed``.

    Uses :class:`numpy.random.SeedSequence` spawning, so member ``k``'s seed
    depends only on ``(seed, k)`` and ensembles with different ``seed`` share no
    member.
    """
    children = np.random.SeedSequence(int(seed)).spawn(int(n_members))
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def member_generators(seeds: Sequence[int]) -> list[torch.Generator]:
    """One CPU :class:`torch.Generator` per member seed (CPU, so results do not depend on the device)."""
    return [torch.Generator().manual_seed(int(s)) for s in seeds]


def prior_logit(base_rate: float) -> float:
    """``log(pi / (1 - pi))``: the output bias that makes an untrained network predict the base rate.

    This is the prior-probability initialisation of Lin et al. (2017, section
    4.1); it keeps the first updates from being dominated by the many easy
    negatives. ``pi`` is clipped to [1e-4, 1 - 1e-4].
    """
    pi = min(max(float(base_rate), 1e-4), 1 - 1e-4)
    return math.log(pi / (1 - pi))


class BatchedLinear(nn.Module):
    """``K`` independent affine maps ``x @ W_k + b_k`` evaluated with one batched matmul.

    Parameters
    ----------
    generators : list of torch.Generator, length K
        One per member; draws the initial weights like :class:`torch.nn.Linear`
        (uniform in ``+-1/sqrt(in_features)``) unless ``weight_std`` is given.
    in_features, out_features : int
    weight_std : float, optional
        Draw weights from N(0, weight_std^2) instead (used for output layers).
    bias : float, optional
        Constant initial bias instead of the uniform draw.
    bound : float, optional
        Half-width of the uniform draws; default ``1/sqrt(in_features)``.

    Shapes
    ------
    input ``(B, in)`` (shared by all members) or ``(K, B, in)``; output ``(K, B, out)``.
    """

    def __init__(
        self,
        generators: Sequence[torch.Generator],
        in_features: int,
        out_features: int,
        *,
        weight_std: float | None = None,
        bias: float | None = None,
        bound: float | None = None,
    ):
        super().__init__()
        k = len(generators)
        bound = 1.0 / math.sqrt(in_features) if bound is None else float(bound)
        if weight_std is None:
            w = [
                (torch.rand(in_features, out_features, generator=g) * 2 - 1) * bound
                for g in generators
            ]
        else:
            w = [
                torch.randn(in_features, out_features, generator=g) * weight_std for g in generators
            ]
        if bias is None:
            b = [(torch.rand(1, out_features, generator=g) * 2 - 1) * bound for g in generators]
        else:
            b = [torch.full((1, out_features), float(bias)) for _ in range(k)]
        self.weight = nn.Parameter(torch.stack(w))
        self.bias = nn.Parameter(torch.stack(b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            # matmul broadcasts a shared (B, in) input over the member axis: no K-fold copy.
            return torch.matmul(x, self.weight) + self.bias
        if self.weight.shape[-1] == 1:
            # One output: a row-wise dot product is ~1.6x cheaper (forward + backward) than a bmm.
            # squeeze/unsqueeze rather than transpose: the gradient then has the weight's own strides,
            # which DistributedDataParallel's gradient buckets expect.
            return (x * self.weight.squeeze(-1).unsqueeze(1)).sum(dim=-1, keepdim=True) + self.bias
        # baddbmm fuses the bias: ~1.5x cheaper (forward + backward) than matmul + add on the CPU.
        return torch.baddbmm(self.bias, x, self.weight)

    def extra_repr(self) -> str:
        k, i, o = self.weight.shape
        return f"members={k}, in_features={i}, out_features={o}"


class EnsembleNet(nn.Module):
    """What the ensemble networks share: the constructor, the settings and the output layer.

    ``__init__`` stores the settings that fix the weight shapes and calls the subclass's
    ``_build_layers(generators, base_rate, **layers)`` with one generator per member
    (:func:`member_seeds`), from which it draws every initial weight in a fixed order.
    Parameters: see :class:`flarecast.models.mlp.EnsembleMLP`; ``layers`` are a
    subclass's own (the MLP's ``skip``).
    """

    kind: str

    def __init__(
        self,
        n_features: int,
        hidden: Sequence[int] = _DEFAULT.hidden,
        dropout: float = _DEFAULT.dropout,
        base_rate: float = 0.5,
        n_members: int = 1,
        seed: int = 0,
        activation: str = _DEFAULT.activation,
        **layers: Any,
    ):
        super().__init__()
        self.activation = activation
        self._act = ACTIVATIONS[activation]
        self.n_features = int(n_features)
        self.hidden = tuple(int(h) for h in hidden)
        self.p_drop = float(dropout)
        self.n_members = int(n_members)
        self._build_layers(member_generators(member_seeds(seed, n_members)), base_rate, **layers)

    def _build_layers(self, gens: list[torch.Generator], base_rate: float, **layers: Any) -> None:
        """Create the network's layers, drawing from ``gens`` (each subclass has its own)."""
        raise NotImplementedError

    @staticmethod
    def _hidden_layers(gens: Sequence[torch.Generator], widths: Sequence[int]) -> nn.ModuleList:
        """Default-initialised layers ``widths[0] -> widths[1] -> ... -> widths[-1]``."""
        return nn.ModuleList(
            BatchedLinear(gens, a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )

    @staticmethod
    def _output_layer(
        gens: Sequence[torch.Generator], width: int, base_rate: float
    ) -> BatchedLinear:
        """The logit layer: weights near zero (N(0, 0.01^2)), bias at the prior logit."""
        return BatchedLinear(gens, width, 1, weight_std=0.01, bias=prior_logit(base_rate))

    def architecture(self) -> dict:
        """The constructor arguments that fix the weight shapes (stored in model files)."""
        return {
            "kind": self.kind,
            "n_features": self.n_features,
            "hidden": list(self.hidden),
            "n_members": self.n_members,
            "activation": self.activation,
        }


def dropout(
    x: torch.Tensor, p: float, training: bool, generator: torch.Generator | None
) -> torch.Tensor:
    """Inverted dropout drawing its mask from ``generator`` (not the global RNG), for reproducible runs."""
    if not training or p == 0.0:
        return x
    keep = torch.empty_like(x).bernoulli_(1.0 - p, generator=generator)
    return x * keep / (1.0 - p)


class BestWeights:
    """Per-member snapshot of the best weights seen so far, for per-member early stopping.

    Every parameter has the member axis first, so "member k improved" selects
    rows of that axis. The network may hold a subset of the members (the
    training loop drops members that stopped), named by their indices.
    """

    def __init__(self, module: nn.Module):
        self._module = module
        self._state = {n: p.detach().clone() for n, p in module.named_parameters()}

    @torch.no_grad()
    def update(
        self, improved: np.ndarray | torch.Tensor, members: np.ndarray | None = None
    ) -> None:
        """Copy the weights of the members that improved.

        Parameters
        ----------
        improved : bool array, shape (m,)
            One flag per member the module holds now.
        members : int array, shape (m,), optional
            Their indices in the full ensemble; default ``0..m-1``.
        """
        improved = np.asarray(improved, dtype=bool)
        members = np.arange(len(improved)) if members is None else np.asarray(members)
        if not improved.any():
            return
        rows = torch.from_numpy(np.flatnonzero(improved))
        targets = torch.from_numpy(members[improved])
        for name, p in self._module.named_parameters():
            snap = self._state[name]
            snap[targets.to(snap.device)] = (
                p.detach().index_select(0, rows.to(p.device)).to(snap.dtype)
            )

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The snapshot, parameter name -> tensor with all members (for checkpoints)."""
        return dict(self._state)

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Replace the snapshot by ``state`` (from :meth:`state_dict`), on the snapshot's devices."""
        if set(state) != set(self._state):
            raise ValueError(f"snapshot names differ: {sorted(state)} vs {sorted(self._state)}")
        self._state = {
            name: state[name].to(self._state[name].device, self._state[name].dtype).clone()
            for name in self._state
        }

    @torch.no_grad()
    def restore(self) -> None:
        """Put the snapshot (all members) back into the module, as new parameters."""
        replace_parameters(self._module, lambda name, p: self._state[name].clone())


def replace_parameters(
    module: nn.Module, new_value: Callable[[str, nn.Parameter], torch.Tensor]
) -> dict[nn.Parameter, nn.Parameter]:
    """Swap every parameter of ``module`` for a new one holding ``new_value(name, old)``.

    New :class:`~torch.nn.Parameter` objects, rather than assigning ``.data``,
    because autograd remembers a leaf's shape: a parameter shrunk in place to
    fewer members fails in the next backward pass. Returns ``{old: new}`` so an
    optimiser can be pointed at the new ones.
    """
    mapping: dict[nn.Parameter, nn.Parameter] = {}
    for prefix, sub in module.named_modules():
        for name, p in list(sub._parameters.items()):
            if p is None:
                continue
            full = f"{prefix}.{name}" if prefix else name
            new = nn.Parameter(new_value(full, p).detach(), requires_grad=p.requires_grad)
            sub._parameters[name] = new
            mapping[p] = new
    return mapping
