"""Which SHARP parameters a fitted model leans on: permutation importance on the test folds.

The importance of a feature is the drop in ROC AUC on a fold's *test* rows
when that feature's column is shuffled among those rows (Breiman 2001;
Fisher, Rudin & Dominici 2019), averaged over ``n_repeats`` shuffles. The
model is not refitted, so correlated features share credit: shuffling one of
two near-copies (USFLUX and TOTUSJZ, say) costs little even when their common
information matters. Nothing is chosen from these numbers, so computing them
on the test folds leaks nothing into the comparison.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from flarecast.errors import ConfigError

__all__ = ["permutation_auc_drop", "ImportanceCollector"]


def _auc_rows(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``p`` (m, n) against ``y`` (n,): Mann-Whitney with mid-ranks for ties."""
    ranks = rankdata(p, axis=1, method="average")
    n1 = int(y.sum())
    n0 = y.size - n1
    return (ranks[:, y == 1].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def permutation_auc_drop(
    estimator: Any,
    X: pd.DataFrame,
    y: Any,
    features: Sequence[str],
    *,
    n_repeats: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """AUC drop per feature when its column is shuffled among the rows of ``X``.

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba``
    X : pandas.DataFrame, shape (n, n_columns)
        Rows to score (a test fold), raw features.
    y : array-like of 0/1, shape (n,)
    features : sequence of str
        Columns to permute one at a time.
    n_repeats : int, default 5
        Shuffles per feature.
    seed : int, default 0

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``auc_drop`` (mean over shuffles), ``auc_drop_sd``
        (spread over shuffles), ``auc`` (unshuffled). Empty when ``y`` holds one class.
    """
    if int(n_repeats) < 1:
        raise ConfigError(
            f"The 'n_repeats' parameter must be an int >= 1. Got {n_repeats!r} instead."
        )
    y = np.asarray(y).astype(int)
    if y.min(initial=0) == y.max(initial=0):
        return pd.DataFrame(columns=["feature", "auc_drop", "auc_drop_sd", "auc"])
    rng = np.random.default_rng(seed)
    n = len(X)
    # One predict call for every (feature, repeat) copy: a network's per-call
    # overhead dominates on test folds of ~1000 rows.
    copies = [X]
    for feature in features:
        for _ in range(n_repeats):
            shuffled = X.copy()
            shuffled[feature] = rng.permutation(X[feature].to_numpy())
            copies.append(shuffled)
    p = estimator.predict_proba(pd.concat(copies, ignore_index=True))[:, 1].reshape(len(copies), n)
    auc = _auc_rows(p, y)
    base = float(auc[0])
    rows = []
    for i, feature in enumerate(features):
        drops = base - auc[1 + i * n_repeats : 1 + (i + 1) * n_repeats]
        rows.append(
            {
                "feature": feature,
                "auc_drop": float(np.mean(drops)),
                "auc_drop_sd": float(np.std(drops, ddof=1)) if n_repeats > 1 else float("nan"),
                "auc": base,
            }
        )
    return pd.DataFrame(rows)


@dataclasses.dataclass
class ImportanceCollector:
    """An ``on_fit`` hook for :func:`flarecast.evaluation.protocol.run_protocol` that scores importance per fold.

    Parameters
    ----------
    X : pandas.DataFrame
        The raw feature table of the run (rows as in the targets).
    y : ndarray of 0/1
    features : sequence of str
    methods : tuple of str, default ("focal", "ce")
        Methods whose fitted models are scored.
    n_repeats : int, default 3
        Shuffles per feature and fold; with 5 folds each feature's drop is a
        mean over 15 shuffles, and it keeps the cost of a umich-24h run to
        about one network forward pass over 50 copies of each test fold.
    seed : int, default 0
    """

    X: pd.DataFrame
    y: np.ndarray
    features: Sequence[str]
    methods: tuple[str, ...] = ("focal", "ce")
    n_repeats: int = 3
    seed: int = 0
    parts: list[pd.DataFrame] = dataclasses.field(default_factory=list)

    def __call__(self, fold: Any, method: str, estimator: Any, fit: Any) -> None:
        if method not in self.methods:
            return
        rows = fold.test
        part = permutation_auc_drop(
            estimator,
            self.X.iloc[rows].reset_index(drop=True),
            self.y[rows],
            self.features,
            n_repeats=self.n_repeats,
            seed=self.seed + fold.index,
        )
        self.parts.append(part.assign(method=method, fold=fold.index))

    def table(self) -> pd.DataFrame:
        """Mean AUC drop per (method, feature) over folds, its spread over folds, and the rank per method."""
        if not self.parts:
            return pd.DataFrame(
                columns=["method", "feature", "auc_drop", "auc_drop_sd_folds", "n_folds", "rank"]
            )
        per_fold = pd.concat(self.parts, ignore_index=True)
        out = (
            per_fold.groupby(["method", "feature"], sort=False)["auc_drop"]
            .agg(auc_drop="mean", auc_drop_sd_folds="std", n_folds="count")
            .reset_index()
        )
        out["rank"] = (
            out.groupby("method")["auc_drop"].rank(ascending=False, method="first").astype(int)
        )
        return out.sort_values(["method", "rank"], ignore_index=True)
