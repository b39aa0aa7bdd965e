"""The network an architecture dict describes (as stored in a model folder's ``model.json``)."""

from __future__ import annotations

from typing import Any

import torch

from flarecast.models.config import stored_activation
from flarecast.models.mlp import EnsembleMLP
from flarecast.models.sequence import EnsembleGRU

__all__ = ["build_network"]


def build_network(
    architecture: dict[str, Any], *, dropout: float, base_rate: float, seed: int
) -> torch.nn.Module:
    """The untrained ensemble network described by ``architecture`` (see ``EnsembleMLP.architecture``)."""
    cls = {"mlp": EnsembleMLP, "sequence": EnsembleGRU}[architecture["kind"]]
    extra = {"skip": True} if architecture.get("skip") else {}
    return cls(
        architecture["n_features"],
        tuple(architecture["hidden"]),
        dropout=dropout,
        base_rate=base_rate,
        n_members=architecture["n_members"],
        seed=seed,
        activation=stored_activation(architecture),
        **extra,
    )
