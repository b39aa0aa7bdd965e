"""Focal-loss tuning: the two-stage search picks the best validation score and never looks at test rows."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from flarecast.cli import main
from flarecast.data.synthetic import demo_dataset
from flarecast.errors import ConfigError
from flarecast.evaluation.methods import MethodSpec
from flarecast.evaluation.protocol import Protocol, make_folds
from flarecast.evaluation.tune import TuneConfig, tune_focal, validation_scores
from flarecast.features.transforms import FeatureTransformer
from flarecast.targets import make_targets


@pytest.fixture(scope="module")
def small():
    ds = demo_dataset(seed=3, n_regions=120, days=120)
    return make_targets(ds), list(ds.features)


class Blurred(ClassifierMixin, BaseEstimator):
    """Logistic regression whose probabilities are blurred more the further (alpha, gamma) is from (0.75, 1)."""

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, seed: int = 0):
        self.alpha, self.gamma, self.seed = alpha, gamma, seed

    def fit(self, X, y):
        self.model_ = make_pipeline(FeatureTransformer(), LogisticRegression()).fit(X, y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        logit = self.model_.decision_function(X)
        noise = np.random.default_rng(len(X)).normal(size=len(X))
        blur = 4.0 * (abs(self.alpha - 0.75) + abs(self.gamma - 1.0))
        p = 1 / (1 + np.exp(-(logit + blur * noise)))
        return np.c_[1 - p, p]


METHODS = {
    "focal": MethodSpec("focal", "focal", lambda prot, seed: Blurred(prot.alpha, prot.gamma, seed))
}


def test_two_stage_search_selects_on_validation(small):
    targets, feats = small
    prot = Protocol(folds=3, seed=1)
    calls = []
    table = tune_focal(
        targets,
        feats,
        prot,
        TuneConfig(alphas=(0.25, 0.75, 0.9), gammas=(0.5, 1.0, 2.0)),
        methods=METHODS,
        progress=lambda f, m: calls.append(f),
    )
    assert table["stage"].tolist() == [1, 1, 1, 2, 2]  # (0.75, 2) is not trained twice
    assert len(calls) == 5 * 3
    chosen = table[table["selected"]]
    assert len(chosen) == 1 and (chosen.alpha.item(), chosen.gamma.item()) == (0.75, 1.0)
    assert table.loc[table.stage == 2, "alpha"].eq(0.75).all()
    # The scores are the fold means of validation scores computed independently.
    folds = make_folds(targets, prot)
    y = targets.y.astype(int)
    X = targets.frame[feats]
    expected = []
    for fold in folds:
        est = Blurred(0.25, 2.0).fit(X.iloc[fold.fit], y[fold.fit])
        expected.append(
            validation_scores(y[fold.val], est.predict_proba(X.iloc[fold.val])[:, 1])["tss"]
        )
    first = table[(table.alpha == 0.25) & (table.gamma == 2.0)]
    assert first["val_tss"].item() == pytest.approx(np.mean(expected))


def test_test_rows_do_not_influence_the_choice(small):
    targets, feats = small
    cutoff = str(targets.times.sort_values().iloc[len(targets.y) * 2 // 3])
    prot = Protocol(split="chrono", cutoff=cutoff, gap="48h")
    (fold,) = make_folds(targets, prot)
    config = TuneConfig(alphas=(0.25, 0.75), gammas=(1.0, 3.0))
    table = tune_focal(targets, feats, prot, config, methods=METHODS, folds=[fold])
    y = targets.y.copy()
    y[fold.test] = 1 - y[fold.test]
    again = tune_focal(
        dataclasses.replace(targets, y=y), feats, prot, config, methods=METHODS, folds=[fold]
    )
    pd.testing.assert_frame_equal(table, again)


def test_tune_config_validation():
    with pytest.raises(ConfigError, match="'alphas'.*\\(0, 1\\)"):
        TuneConfig(alphas=(0.0, 0.5))
    with pytest.raises(ConfigError, match="'select'.*'tss', 'hss', 'auc'.*'brier'"):
        TuneConfig(select="brier")


def test_cli_tune_end_to_end(tmp_path):
    config = tmp_path / "fast.toml"
    config.write_text(
        "[protocol]\nfolds = 2\nseeds = 1\n\n[protocol.network]\nmax_epochs = 8\npatience = 2\n"
        'hidden = [8]\n\n[tune]\nselect = "auc"\n'
    )
    out = tmp_path / "tune"
    result = CliRunner().invoke(
        main,
        [
            "tune",
            "--dataset",
            "demo",
            "--config",
            str(config),
            "--alphas",
            "0.25,0.75",
            "--gammas",
            "1,2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "tune.csv")
    assert len(table) == 3 and table["selected"].sum() == 1 and table["synthetic"].all()
    assert (table["select_by"] == "val_auc").all()
    assert "SYNTHETIC" in (out / "tune.md").read_text() and "Chosen: alpha" in result.output
    assert b"SYNTHETIC" in (out / "tune_heatmap.png").read_bytes()
    meta = json.loads((out / "run.json").read_text())
    assert meta["tune"]["alphas"] == [0.25, 0.75] and meta["protocol"]["folds"] == 2
