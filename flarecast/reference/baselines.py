"""The two forecasts any method must beat: climatology and persistence, as scikit-learn-style classifiers.

**Climatology** forecasts the training base rate for every row (the reference
of the Brier skill score; scikit-learn's ``DummyClassifier(strategy="prior")``).

**Persistence** forecasts from whether the same region had an event the day
before. A bare 0/1 forecast (P = 1 after a flare day) has a Brier score far
worse than climatology whenever persistence fails, so flarecast uses the
*empirical* version instead, fitted on the training period::

    P(event today | event yesterday)          = events after event days / event days with a next day
    P(event today | no event or no yesterday) = the same for all other rows

A region with no previous-day record (new, or a gap) is grouped with "no event
yesterday": at issue time nobody saw it flare. Both probabilities are
frequencies of the training rows, so they are calibrated there by construction.

Input ``X`` needs :data:`flarecast.reference.history.PREV_EVENT` (1.0, 0.0 or NaN).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError, DataError
from flarecast.reference.history import PREV_EVENT

__all__ = ["Climatology", "Persistence"]


def _labels(y: Any, n: int) -> np.ndarray:
    labels = np.asarray(y, dtype=float)
    if labels.shape != (n,) or not np.isin(labels, (0.0, 1.0)).all():
        raise DataError(f"Labels must be {n} values of 0 or 1 (one per row).")
    if n == 0:
        raise DataError("At least one training row is needed.")
    return labels


class Climatology:
    """The training base rate for every row.

    Attributes
    ----------
    base_rate_ : float
        Fraction of training rows with an event.
    classes_ : ndarray, shape (2,)
    """

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """No parameters (scikit-learn contract)."""
        return {}

    def fit(self, X: pd.DataFrame, y: Any, n_events: Any = None) -> Climatology:
        """Fit the base rate of the 0/1 labels ``y``; ``n_events`` is accepted and ignored."""
        self.base_rate_ = float(_labels(y, len(X)).mean())
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(no event), P(event) per row, shape (n, 2)."""
        if not hasattr(self, "base_rate_"):
            raise ConfigError("This Climatology is not fitted yet; call fit first.")
        p = np.full(len(X), self.base_rate_)
        return np.column_stack([1.0 - p, p])


class Persistence:
    """Empirical persistence: P(event today | the region's yesterday), fitted on training rows.

    Attributes
    ----------
    p_after_event_ : float
        Training frequency of an event on days after an event day.
    p_otherwise_ : float
        Training frequency of an event on all other days (no event yesterday, or no yesterday).
    classes_ : ndarray, shape (2,)
    """

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """No parameters (scikit-learn contract)."""
        return {}

    @staticmethod
    def _after_event(X: pd.DataFrame) -> np.ndarray:
        if PREV_EVENT not in X.columns:
            raise DataError(
                f"Persistence needs the previous day's event in column {PREV_EVENT!r} "
                "(flarecast.reference.history.with_previous_day adds it)."
            )
        return X[PREV_EVENT].to_numpy(dtype=float) == 1.0

    def fit(self, X: pd.DataFrame, y: Any, n_events: Any = None) -> Persistence:
        """Fit both frequencies from the 0/1 labels ``y``; ``n_events`` is accepted and ignored.

        A group with no training rows gets the overall base rate.
        """
        labels = _labels(y, len(X))
        after = self._after_event(X)
        base = float(labels.mean())
        self.p_after_event_ = float(labels[after].mean()) if after.any() else base
        self.p_otherwise_ = float(labels[~after].mean()) if (~after).any() else base
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(no event), P(event) per row, shape (n, 2)."""
        if not hasattr(self, "p_after_event_"):
            raise ConfigError("This Persistence is not fitted yet; call fit first.")
        p = np.where(self._after_event(X), self.p_after_event_, self.p_otherwise_)
        return np.column_stack([1.0 - p, p])
