"""Feature transforms fitted on training data only: signed log10, then standardisation.

The arithmetic is in :mod:`flarecast.features.scaling` (z-scores bounded by ``Z_LIMIT``).

SHARP extensive quantities span up to 25 decades (TOTPOT ~1e24 erg/cm next to
MEANALP ~1e-2 1/Mm) and are heavy-tailed, so they go through
``sign(x) * log10(1 + |x|)`` before the z-score. Which columns get the log is
decided by name (:data:`flarecast.data.schema.SIGNED_LOG_FEATURES`) or, for
unknown columns, by their dynamic range in the *training* data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from flarecast.data.schema import SIGNED_LOG_FEATURES
from flarecast.errors import ConfigError
from flarecast.features.scaling import signed_log10, zscore

__all__ = ["signed_log10", "FeatureTransformer"]


class FeatureTransformer(TransformerMixin, BaseEstimator):
    """Signed log10 on heavy-tailed columns, then z-score; scikit-learn transformer.

    Parameters
    ----------
    feature_names : sequence of str, optional
        Column names, used to choose log columns by name. Default: taken from a
        DataFrame passed to ``fit``.
    log : {"auto", "none", "all"}, default "auto"
        "auto" logs known extensive SHARP keywords, plus unknown columns whose
        training values span more than ``range_decades`` decades.
    range_decades : float, default 3.0
        Dynamic-range threshold for unknown columns under "auto".

    Attributes
    ----------
    feature_names_ : tuple of str, shape (n_features,)
    log_mask_ : ndarray of bool, shape (n_features,)
    mean_, scale_ : ndarray of float, shape (n_features,)
        Fitted on the (logged) training data; constant columns get scale 1.
    """

    def __init__(
        self,
        feature_names: Sequence[str] | None = None,
        log: str = "auto",
        range_decades: float = 3.0,
    ):
        self.feature_names = feature_names
        self.log = log
        self.range_decades = range_decades

    def fit(self, X: Any, y: Any = None) -> FeatureTransformer:
        if self.log not in ("auto", "none", "all"):
            raise ConfigError(
                f"The 'log' parameter of FeatureTransformer must be one of 'auto', 'none', 'all'. Got {self.log!r} instead."
            )
        names = self._names(X)
        arr = np.asarray(X, dtype=float)
        if self.log == "none":
            mask = np.zeros(arr.shape[1], dtype=bool)
        elif self.log == "all":
            mask = np.ones(arr.shape[1], dtype=bool)
        else:
            absx = np.abs(arr)
            with np.errstate(divide="ignore", invalid="ignore"):
                lo = np.nanpercentile(np.where(absx > 0, absx, np.nan), 1, axis=0)
                hi = np.nanpercentile(absx, 99, axis=0)
                decades = np.log10(hi / lo)
            by_range = np.nan_to_num(decades, nan=0.0) > self.range_decades
            mask = np.array([n in SIGNED_LOG_FEATURES for n in names]) | by_range
        z = np.where(mask, signed_log10(arr), arr)
        self.feature_names_ = tuple(names)
        self.log_mask_ = mask
        self.mean_, scale = _mean_std(z)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "mean_")
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != len(self.mean_):
            raise ConfigError(
                f"FeatureTransformer was fitted on {len(self.mean_)} features {list(self.feature_names_)}; "
                f"got an array of shape {arr.shape}."
            )
        return zscore(arr, self.log_mask_, self.mean_, self.scale_)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fitted state, for model sidecars."""
        check_is_fitted(self, "mean_")
        return {
            "feature_names": list(self.feature_names_),
            "log": self.log,
            "log_mask": self.log_mask_.tolist(),
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> FeatureTransformer:
        """Rebuild a fitted transformer from :meth:`to_dict` output."""
        obj = cls(feature_names=state["feature_names"], log=state["log"])
        obj.feature_names_ = tuple(state["feature_names"])
        obj.log_mask_ = np.asarray(state["log_mask"], dtype=bool)
        obj.mean_ = np.asarray(state["mean"], dtype=float)
        obj.scale_ = np.asarray(state["scale"], dtype=float)
        return obj

    def _names(self, X: Any) -> list[str]:
        if hasattr(X, "columns"):
            return [str(c) for c in X.columns]
        n = np.asarray(X).shape[1]
        if self.feature_names is not None:
            if len(self.feature_names) != n:
                raise ConfigError(
                    f"FeatureTransformer got {len(self.feature_names)} feature names for {n} columns."
                )
            return list(self.feature_names)
        return [f"x{i}" for i in range(n)]


def _mean_std(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations that do not overflow for values near the float limit.

    A column at +-1e308 overflows the sums inside ``mean`` and ``std`` to inf, and
    the z-scores to NaN. Such columns (only those: the others keep numpy's exact
    result) are computed on the column divided by its largest magnitude, and
    scaled back, which is finite because both results are at most that magnitude.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = z.mean(axis=0), z.std(axis=0)
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if bad.any():
        big = np.abs(z[:, bad]).max(axis=0)
        unit = z[:, bad] / big
        mean[bad] = big * unit.mean(axis=0)
        std[bad] = big * unit.std(axis=0)
    return mean, std
