"""Permutation importance: only the features a model uses matter, and the hook scores test folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from flarecast.errors import ConfigError
from flarecast.evaluation.importance import ImportanceCollector, permutation_auc_drop
from flarecast.evaluation.protocol import Fold


class OnlyA:
    """A fitted model that reads column 'a' only."""

    def __init__(self, X, y):
        self.model = LogisticRegression().fit(X[["a"]], y)

    def predict_proba(self, X):
        return self.model.predict_proba(X[["a"]])


@pytest.fixture
def data(rng):
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = (X["a"] + 0.5 * rng.normal(size=300) > 0.8).astype(int).to_numpy()
    return X, y


def test_unused_feature_has_zero_drop(data):
    X, y = data
    table = permutation_auc_drop(OnlyA(X, y), X, y, ["a", "b"], n_repeats=4, seed=1).set_index(
        "feature"
    )
    assert table.loc["b", "auc_drop"] == 0 and table.loc["b", "auc_drop_sd"] == 0
    assert table.loc["a", "auc_drop"] > 0.2
    assert table.loc["a", "auc"] == table.loc["b", "auc"] > 0.8


def test_one_class_gives_empty_table_and_bad_repeats_raise(data):
    X, y = data
    model = OnlyA(X, y)
    assert permutation_auc_drop(model, X.iloc[:5], np.zeros(5), ["a"]).empty
    with pytest.raises(ConfigError, match="'n_repeats'.*>= 1. Got 0"):
        permutation_auc_drop(model, X, y, ["a"], n_repeats=0)


def test_collector_scores_test_rows_of_listed_methods_only(data):
    X, y = data
    collector = ImportanceCollector(X, y, ["a", "b"], methods=("focal",), n_repeats=2)
    model = OnlyA(X, y)
    for k, test in enumerate((np.arange(0, 150), np.arange(150, 300))):
        fold = Fold(k, np.setdiff1d(np.arange(300), test), test, np.array([]), np.array([]))
        collector(fold, "focal", model, None)
        collector(fold, "logistic", model, None)  # not listed: ignored
    table = collector.table()
    assert set(table["method"]) == {"focal"} and (table["n_folds"] == 2).all()
    assert table.set_index("feature").loc["a", "rank"] == 1
    fold0 = permutation_auc_drop(
        model, X.iloc[:150].reset_index(drop=True), y[:150], ["a"], n_repeats=2, seed=0
    )
    fold1 = permutation_auc_drop(
        model, X.iloc[150:].reset_index(drop=True), y[150:], ["a"], n_repeats=2, seed=1
    )
    expected = (fold0["auc_drop"].item() + fold1["auc_drop"].item()) / 2
    assert table.set_index("feature").loc["a", "auc_drop"] == pytest.approx(expected)


def test_row_auc_matches_sklearn(rng):
    from sklearn.metrics import roc_auc_score

    from flarecast.evaluation.importance import _auc_rows

    y = rng.integers(0, 2, 80)
    p = np.round(rng.uniform(size=(4, 80)), 1)  # many ties
    np.testing.assert_allclose(_auc_rows(p, y), [roc_auc_score(y, row) for row in p])
