"""A torch-free reader of MLP model folders, for the daily forecast's time budget.

A daily forecast scores a few dozen records once. Importing torch and
scikit-learn for that takes 2-5 s on a 2-core machine, more than the whole
forecast may take (under 3 s after Python start), while the
arithmetic is a few small matrix products. :class:`NumpyMLP` reads the same
model folder as :func:`flarecast.training.artifacts.load_model` (the same sidecar
checks, the weights' size and sha256, never a pickle) and evaluates the same
function in numpy:

``z = (T(x) - mean) / scale`` with ``T`` the signed log10 on the logged
columns, bounded by +-1e6 (:func:`flarecast.features.scaling.zscore`, shared with
:class:`flarecast.features.transforms.FeatureTransformer`); per member ``k``,
``h = act(h @ W_k + b_k)`` through the hidden layers, ``logit_k = h @ w_k + c_k``,
plus ``z @ v_k + d_k`` for a network with a linear skip path
(:class:`flarecast.models.mlp.EnsembleMLP` in eval mode, so no dropout); and
``P = mean_k sigmoid(logit_k)`` (``FlareClassifier.predict_proba``). Weights
and activations are float32, as in torch on the CPU.

It handles exactly the tensors an ``mlp`` folder holds (``layers.{i}.weight``
``(K, in, out)``, ``layers.{i}.bias`` ``(K, 1, out)``, ``head.weight``,
``head.bias``, and ``linear.weight`` ``(K, in, 1)``, ``linear.bias`` with a skip
path) and activations tanh, relu and silu; anything else raises
:class:`UnsupportedModel`, and the caller falls back to torch. A test checks
its probabilities against ``FlareClassifier.predict_proba`` on a trained model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from flarecast.errors import ModelFileError
from flarecast.features.scaling import zscore
from flarecast.models.config import stored_activation

__all__ = ["NumpyMLP", "UnsupportedModel"]

_ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
}


class UnsupportedModel(Exception):
    """The folder holds a model this reader does not evaluate (use the torch path)."""


class NumpyMLP:
    """``predict_proba`` of a saved ``mlp`` FlareClassifier, in numpy.

    Build it with :meth:`from_folder`.

    Attributes
    ----------
    feature_names_in_ : ndarray of str, shape (n_features,)
    metadata_ : dict
        The model folder's ``model.json``.
    model : str
        Always ``"mlp"`` (mirrors the estimator parameter).
    """

    model = "mlp"

    def __init__(self, metadata: dict[str, Any], tensors: dict[str, np.ndarray]):
        self.metadata_ = metadata
        arch = metadata["architecture"]
        self.feature_names_in_ = np.asarray(metadata["features"], dtype=object)
        transform = metadata["transform"]
        self._log_mask = np.asarray(transform["log_mask"], dtype=bool)
        self._mean = np.asarray(transform["mean"], dtype=float)
        self._scale = np.asarray(transform["scale"], dtype=float)
        self._act = _ACTIVATIONS[stored_activation(arch)]
        n_hidden = len(arch.get("hidden", []))
        self._layers = [
            (tensors[f"layers.{i}.weight"], tensors[f"layers.{i}.bias"]) for i in range(n_hidden)
        ]
        self._head = (tensors["head.weight"], tensors["head.bias"])
        self._linear = (
            (tensors["linear.weight"], tensors["linear.bias"]) if arch.get("skip") else None
        )

    @classmethod
    def from_folder(cls, folder: str | Path) -> NumpyMLP:
        """Read and check a model folder.

        Raises
        ------
        ModelFileError
            Missing, truncated, modified or pickled files (as ``load_model``).
        UnsupportedModel
            Not an ``mlp`` with a known activation and the expected tensors.
        """
        from safetensors import SafetensorError
        from safetensors.numpy import load as st_load

        from flarecast.training.folder import check_companions
        from flarecast.training.sidecar import SIDECAR, read_model_files

        folder = Path(folder)
        meta, blob = read_model_files(folder)  # the torch loader's checks
        arch = meta.get("architecture") or {}
        config = meta.get("config") or {}
        activation = stored_activation(arch)
        if (
            arch.get("kind") != "mlp"
            or config.get("model", "mlp") != "mlp"
            or activation not in _ACTIVATIONS
        ):
            raise UnsupportedModel(
                f"{folder}: architecture {arch} is not a plain MLP this reader evaluates"
            )
        path = folder / meta["weights"].get("file", "weights.safetensors")
        try:
            tensors = st_load(blob)
        except (SafetensorError, ValueError) as exc:
            raise ModelFileError(f"{path} is not a readable safetensors file: {exc}") from exc
        k, widths = (
            int(arch.get("n_members", 1)),
            [int(arch["n_features"]), *map(int, arch.get("hidden", []))],
        )
        expected = {
            f"layers.{i}.weight": (k, a, b)
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True))
        }
        expected |= {f"layers.{i}.bias": (k, 1, b) for i, b in enumerate(widths[1:])}
        expected |= {"head.weight": (k, widths[-1], 1), "head.bias": (k, 1, 1)}
        if arch.get("skip"):
            expected |= {"linear.weight": (k, widths[0], 1), "linear.bias": (k, 1, 1)}
        got = {name: tuple(t.shape) for name, t in tensors.items()}
        if got != expected:
            raise UnsupportedModel(f"{path}: tensors {got} are not the MLP layout {expected}")
        if (
            len(meta["transform"].get("mean", [])) != widths[0]
            or len(meta["features"]) != widths[0]
        ):
            raise ModelFileError(
                f"{folder / SIDECAR}: transform or features do not have {widths[0]} entries"
            )
        check_companions(folder, meta)
        return cls(meta, {n: t.astype(np.float32) for n, t in tensors.items()})

    def predict_proba(self, X: Any) -> np.ndarray:
        """Mean member probability as ``[P(no flare), P(flare)]``, shape (n, 2).

        ``X`` is a DataFrame holding the model's feature columns (any order) or
        an array in model order; values must be finite.
        """
        names = list(self.feature_names_in_)
        arr = (
            X[names].to_numpy(dtype=float) if hasattr(X, "columns") else np.asarray(X, dtype=float)
        )
        if arr.ndim != 2 or arr.shape[1] != len(names) or not np.isfinite(arr).all():
            raise ModelFileError(
                f"NumpyMLP needs a finite (n, {len(names)}) matrix of {names}; got {arr.shape}"
            )
        h = z = zscore(arr, self._log_mask, self._mean, self._scale).astype(np.float32)
        for weight, bias in self._layers:
            h = self._act(np.matmul(h, weight) + bias)  # (B, in) @ (K, in, out) -> (K, B, out)
        out = np.matmul(h, self._head[0]) + self._head[1]
        if self._linear is not None:
            out = out + (np.matmul(z, self._linear[0]) + self._linear[1])
        logits = out[..., 0].astype(float)  # (K, B)
        p = (1.0 / (1.0 + np.exp(-logits))).mean(axis=0)
        return np.column_stack([1.0 - p, p])
