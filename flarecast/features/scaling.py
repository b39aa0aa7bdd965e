"""The arithmetic of the feature scaling, in numpy only: signed log10 and the bounded z-score.

:class:`flarecast.features.transforms.FeatureTransformer` (scikit-learn's transformer
contract, used in training) and :class:`flarecast.forecast.engine.NumpyMLP`
(the torch- and scikit-learn-free daily-forecast reader) both compute with
these functions, so the two engines cannot drift apart.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Z_LIMIT", "signed_log10", "zscore"]

#: The largest z-score a network input takes. Real features lie within a few hundred standard deviations of
#: the training mean; a corrupt value (or a corrupt scale in a hand-edited model.json) would otherwise overflow
#: the float32 network into inf and then NaN probabilities. Inputs this far out are flagged elsewhere
#: (out_of_range in the forecast); bounding them keeps every probability a probability.
Z_LIMIT = 1e6


def signed_log10(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log10(1 + |x|)``: monotone, odd, defined at 0 and for negative values."""
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log10(1.0 + np.abs(x))


def zscore(x: np.ndarray, log_mask: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(T(x) - mean) / scale`` with ``T`` the signed log10 on the ``log_mask`` columns, within +-:data:`Z_LIMIT`.

    Parameters
    ----------
    x : ndarray of float, shape (n, n_features)
    log_mask : ndarray of bool, shape (n_features,)
    mean, scale : ndarray of float, shape (n_features,)
        ``scale`` > 0.

    Returns
    -------
    ndarray of float64, shape (n, n_features)
    """
    x = np.asarray(x, dtype=float)
    z = np.where(log_mask, signed_log10(x), x)
    with np.errstate(over="ignore"):  # a tiny scale overflows to inf, which the bound brings back
        return np.clip((z - mean) / scale, -Z_LIMIT, Z_LIMIT)
