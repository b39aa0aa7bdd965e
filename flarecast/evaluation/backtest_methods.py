"""The methods a backtest compares, behind one interface: ``fit(frame, y, n_events)``, ``predict_proba(frame)``.

Reference forecasts (:mod:`flarecast.reference`) read the region-day frame
directly. Learned methods (logistic regression, gradient boosting) see a
numeric design matrix built by :class:`RegionDayMatrix`, which is fitted on the
training rows and stored with the method:

- one-hot columns of each categorical feature (McIntosh components, Mt Wilson
  class) for the categories **seen in training**
  (:class:`flarecast.features.categorical.OneHotEncoding`, as ``flarecast train``
  uses); a category never seen in training gives an all-zero block for that
  feature, and such rows are counted (:attr:`RegionDayMatrix.unseen_`), not
  refused and not silently mapped;
- ``log10(1 + area)``, extent and spots, as numbers;
- persistence: 1 when the region had an event the day before, else 0.

Position (latitude, longitude) is left out of the learned methods, as in the
issue's reference run: it says where a region is, not how likely it is to flare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import categorical_features
from flarecast.errors import ConfigError
from flarecast.features.categorical import OneHotEncoding
from flarecast.reference.baselines import Climatology, Persistence
from flarecast.reference.history import PREV_EVENT
from flarecast.reference.mcintosh import MCEVOL, MCSTAT

__all__ = ["RegionDayMatrix", "Learned", "Network", "METHODS", "NETWORKS", "make_method"]

_NUMERIC = ("area_msh", "extent_deg", "spots")


class RegionDayMatrix:
    """One-hot categoricals plus numeric features of a region-day frame, fitted on training rows.

    Attributes
    ----------
    categories_ : dict of str to list of str
        Categories of each categorical feature seen in training (one column each).
    columns_ : list of str
        Names of the matrix columns, e.g. ``mcintosh_zurich=D``, ``log10_area``.
    unseen_ : dict of str to int
        Rows of the last :meth:`transform` with a category never seen in
        training, per feature (their block of that feature is all zero).
    """

    def fit(self, frame: pd.DataFrame) -> RegionDayMatrix:
        """Learn the categories of each categorical feature from ``frame``."""
        cats = categorical_features(frame, [c for c in frame.columns])
        if not cats:
            raise ConfigError(
                "The learned backtest methods need categorical features (a region-day table "
                "such as hayes-srs); none found."
            )
        self.encoding_ = OneHotEncoding().fit(frame, cats)
        self.categories_ = self.encoding_.categories_
        self.columns_ = list(self.encoding_.columns_)
        self.columns_ += ["log10_area", "extent_deg", "spots", "persistence"]
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The design matrix, shape (n, len(columns_)); counts unseen categories in :attr:`unseen_`."""
        blocks = [self.encoding_.encode(frame)]
        self.unseen_ = dict(self.encoding_.unseen_)
        area = frame["area_msh"].to_numpy(dtype=float)
        persistence = (frame[PREV_EVENT].to_numpy(dtype=float) == 1.0).astype(float)
        blocks.append(
            np.column_stack(
                [
                    np.log10(1.0 + np.clip(area, 0.0, None)),
                    frame["extent_deg"].to_numpy(dtype=float),
                    frame["spots"].to_numpy(dtype=float),
                    persistence,
                ]
            )
        )
        return np.hstack(blocks)

    def to_dict(self) -> dict[str, Any]:
        """The fitted encoding as JSON-ready data (stored with the run)."""
        return {"categories": self.categories_, "columns": self.columns_}


class Learned:
    """A scikit-learn classifier on :class:`RegionDayMatrix` features, standardised on training rows.

    Parameters
    ----------
    factory : callable
        Returns a fresh unfitted scikit-learn classifier.
    scale : bool, default True
        Standardise the matrix (logistic regression needs it; trees do not).
    """

    def __init__(self, factory: Callable[[], Any], scale: bool = True) -> None:
        self.factory = factory
        self.scale = scale

    def fit(self, frame: pd.DataFrame, y: Any, n_events: Any = None) -> Learned:
        """Fit the encoding, the scaling and the classifier on the training rows."""
        self.matrix_ = RegionDayMatrix().fit(frame)
        X = self.matrix_.transform(frame)
        self.mean_ = X.mean(axis=0) if self.scale else np.zeros(X.shape[1])
        std = X.std(axis=0) if self.scale else np.ones(X.shape[1])
        self.std_ = np.where(std > 0, std, 1.0)
        self.model_ = self.factory().fit((X - self.mean_) / self.std_, np.asarray(y, dtype=int))
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """P(no event), P(event) per row, shape (n, 2)."""
        X = self.matrix_.transform(frame)
        return self.model_.predict_proba((X - self.mean_) / self.std_)

    def backoff_counts(self, frame: pd.DataFrame) -> dict[str, int]:
        """Rows of ``frame`` with a category unseen in training, per categorical feature."""
        self.matrix_.transform(frame)
        return dict(self.matrix_.unseen_)


class Network(Learned):
    """A :class:`flarecast.training.estimator.FlareClassifier` on :class:`RegionDayMatrix` features.

    The network gets the same one-hot and numeric columns as logistic regression
    (with ``log="none"``: area is already logged, and one-hot columns must not
    be). Early stopping uses the classifier's own validation split by region,
    inside the training rows.

    Parameters
    ----------
    loss : {"ce", "focal"}
    seed : int, default 0
    """

    def __init__(self, loss: str, seed: int = 0) -> None:
        super().__init__(self._classifier, scale=False)
        self.loss = loss
        self.seed = seed

    def _classifier(self) -> Any:
        from flarecast.training.estimator import FlareClassifier  # torch: only when a network runs

        return FlareClassifier(loss=self.loss, log="none", seed=self.seed)

    def fit(self, frame: pd.DataFrame, y: Any, n_events: Any = None) -> Network:
        """Fit the encoding and train the network (validation rows split off by region)."""
        self.matrix_ = RegionDayMatrix().fit(frame)
        X = self.matrix_.transform(frame)
        self.mean_, self.std_ = np.zeros(X.shape[1]), np.ones(X.shape[1])
        groups = frame["noaa_ar"].to_numpy(dtype=np.int64)
        self.model_ = self._classifier().fit(X, np.asarray(y, dtype=int), groups=groups)
        return self


def _logistic() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000)


def _boosting() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    # Early stopping off: its internal validation split would be a random, not a time-ordered, one.
    return HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=15, early_stopping=False, random_state=0
    )


#: Method name -> factory of an unfitted method, in table order.
METHODS: dict[str, Callable[[], Any]] = {
    "climatology": Climatology,
    "persistence": Persistence,
    "MCSTAT": MCSTAT,
    "MCEVOL": MCEVOL,
    "logistic regression": lambda: Learned(_logistic),
    "gradient boosting": lambda: Learned(_boosting, scale=False),
    "CE network": lambda: Network("ce"),
    "focal network": lambda: Network("focal"),
}

#: The rows whose scores are not probabilities until calibrated.
NETWORKS = ("CE network", "focal network")


def make_method(name: str) -> Any:
    """A fresh unfitted method by its table name."""
    if name not in METHODS:
        raise ConfigError(f"Unknown backtest method {name!r}; choose from {list(METHODS)}.")
    return METHODS[name]()
