"""A multilayer perceptron on one snapshot of SHARP features, as a vectorised ensemble."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from flarecast.models.ensemble import BatchedLinear, EnsembleNet, dropout

__all__ = ["EnsembleMLP"]


class EnsembleMLP(EnsembleNet):
    """``K`` independent MLPs ``F -> hidden... -> 1 logit`` with dropout, run as one network.

    Parameters
    ----------
    n_features : int
        Input width ``F`` (standardised features).
    hidden : sequence of int, default ``NetworkConfig.hidden`` (32, 32)
        Widths of the hidden layers; empty gives K logistic regressions.
    dropout : float in [0, 1), default ``NetworkConfig.dropout`` (0.0)
        Dropout after every hidden activation.
    activation : {"tanh", "relu", "silu"}, default ``NetworkConfig.activation`` ("relu")
    skip : bool, default False
        Add a linear path from the inputs straight to the logit ("wide and
        deep", Cheng et al. 2016): ``logit = head(h) + x @ v_k``, so every
        member contains a logistic regression and the hidden layers learn what
        a linear model misses. ``v_k`` starts at zero.
    base_rate : float, default 0.5
        Training base rate; the output bias starts at its logit (prior init) and
        the output weights near zero (N(0, 0.01^2)), so every member starts out
        predicting the climatological probability.
    n_members : int, default 1
    seed : int, default 0
        Member ``k`` is initialised from ``member_seeds(seed, n_members)[k]``.

    Shapes
    ------
    ``forward(x)``: ``x`` is ``(B, F)`` (shared by all members) or ``(K, B, F)``
    (one batch per member); returns logits ``(K, B)``.
    """

    kind = "mlp"

    def _build_layers(self, gens: list[torch.Generator], base_rate: float, skip: bool = False):
        widths = (self.n_features, *self.hidden)
        self.layers = self._hidden_layers(gens, widths)
        self.head = self._output_layer(gens, widths[-1], base_rate)
        self.skip = bool(skip)
        if self.skip:  # zero weights, zero bias: the head's bias alone carries the prior
            self.linear = BatchedLinear(gens, self.n_features, 1, weight_std=0.0, bias=0.0)

    @torch.no_grad()
    def start_linear(self, coef: Sequence[float], intercept: float) -> None:
        """Start every member's linear path at ``x @ coef + intercept`` (e.g. a fitted logistic regression).

        The intercept replaces the prior bias of the head, whose small weights
        (N(0, 0.01^2)) keep the hidden layers' share of the first logits near zero.
        """
        if not self.skip:
            raise ValueError("start_linear needs a network built with skip=True")
        coef_t = torch.as_tensor(coef, dtype=self.linear.weight.dtype).reshape(
            1, self.n_features, 1
        )
        self.linear.weight.copy_(coef_t.expand_as(self.linear.weight))
        self.linear.bias.zero_()
        self.head.bias.fill_(float(intercept))

    def forward(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        h = x
        for layer in self.layers:
            h = dropout(self._act(layer(h)), self.p_drop, self.training, generator)
        out = self.head(h)
        if self.skip:
            out = out + self.linear(x)
        return out.squeeze(-1)

    def architecture(self) -> dict:
        """The constructor arguments that fix the weight shapes (stored in model files)."""
        arch = super().architecture()
        return arch | {"skip": True} if self.skip else arch
