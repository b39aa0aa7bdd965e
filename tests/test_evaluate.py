"""The protocol: folds by region/time, choices on validation only, paired scoring."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from flarecast.data.synthetic import demo_dataset
from flarecast.errors import ConfigError, MetricWarning
from flarecast.evaluation.bootstrap import summarise
from flarecast.evaluation.fits import run_protocol
from flarecast.evaluation.methods import METHODS, MethodSpec
from flarecast.evaluation.protocol import Protocol, make_folds
from flarecast.evaluation.thresholds import choose_threshold
from flarecast.features.transforms import FeatureTransformer
from flarecast.targets import make_targets

ROW = "_row"  # a column carrying the row index, so estimators can report what they saw


@pytest.fixture(scope="module")
def small():
    ds = demo_dataset(seed=3, n_regions=120, days=120)
    targets = make_targets(ds)
    frame = targets.frame.assign(**{ROW: np.arange(len(targets.y), dtype=float)})
    return dataclasses.replace(targets, frame=frame), list(ds.features)


class Recorder(ClassifierMixin, BaseEstimator):
    """Logistic regression on the features that records the rows of every fit and predict call."""

    log: list = []

    def __init__(self, members: int = 0):
        self.members = members

    def _x(self, X, phase="predict"):
        Recorder.log.append((phase, X[ROW].to_numpy(dtype=int)))
        return X.drop(columns=ROW)

    def fit(self, X, y):
        self.model_ = make_pipeline(FeatureTransformer(), LogisticRegression()).fit(
            self._x(X, "fit"), y
        )
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(self._x(X))


class EnsembleRecorder(Recorder):
    """Behaves like a seed-ensemble network: ``fit(..., groups=, validation=)``, members that differ."""

    def fit(self, X, y, groups=None, validation=None):
        super().fit(X, y)
        if validation is not None:
            self._x(validation[0], "validation-passed")
        return self

    def predict_proba_members(self, X):
        p = self.model_.predict_proba(self._x(X))[:, 1]
        return np.vstack([np.clip(p * (0.8 + 0.1 * k), 0, 1) for k in range(self.members)])

    def predict_proba(self, X):
        p = self.predict_proba_members(X).mean(axis=0)
        return np.c_[1 - p, p]


def _recorder(members):
    return EnsembleRecorder(members) if members else Recorder()


def _methods(**specs):
    return {name: MethodSpec(name, name, factory, neural=False) for name, factory in specs.items()}


def test_kfold_folds_split_regions_and_cover_every_row_once(small):
    targets, _ = small
    folds = make_folds(targets, Protocol(folds=4, seed=1))
    assert len(folds) == 4
    tested = np.concatenate([f.test for f in folds])
    assert np.array_equal(np.sort(tested), np.arange(len(targets.y)))
    g = targets.groups
    for f in folds:
        assert set(np.r_[f.fit, f.val]) == set(f.train)
        assert not set(g[f.test]) & set(g[f.train])
        assert not set(g[f.fit]) & set(g[f.val])


def test_chronological_fold_respects_cutoff_and_gap(small):
    targets, _ = small
    cutoff = targets.times.sort_values().iloc[len(targets.y) * 2 // 3]
    (fold,) = make_folds(targets, Protocol(split="chrono", cutoff=str(cutoff), gap="48h"))
    t = targets.times
    assert t.iloc[fold.train].max() < cutoff - pd.Timedelta("48h")
    assert t.iloc[fold.val].max() < cutoff - pd.Timedelta("48h")
    assert t.iloc[fold.test].min() >= cutoff
    assert not set(targets.groups[fold.train]) & set(targets.groups[fold.test])


@pytest.mark.parametrize("members", [0, 3])
def test_test_fold_is_never_used_for_fitting_or_thresholds(small, members):
    targets, feats = small
    prot = Protocol(folds=3, methods=("rec",), threshold_metric="hss")
    folds = make_folds(targets, prot)
    methods = _methods(rec=lambda p, s: _recorder(members))
    Recorder.log = []
    res = run_protocol(targets, [*feats, ROW], prot, methods=methods, folds=folds)
    log = Recorder.log
    fits = [rows for phase, rows in log if phase == "fit"]
    for fold, rows in zip(folds, fits, strict=True):
        assert np.array_equal(np.sort(rows), np.sort(fold.fit))
    if members:  # the network-style path receives exactly the validation rows
        passed = [rows for phase, rows in log if phase == "validation-passed"]
        for fold, rows in zip(folds, passed, strict=True):
            assert np.array_equal(np.sort(rows), np.sort(fold.val))
    # The threshold is the one chosen on validation predictions alone.
    pred = res.predictions
    for fold in folds:
        est = _recorder(members).fit(
            targets.frame.loc[fold.fit, [*feats, ROW]], targets.y[fold.fit]
        )
        p_val = est.predict_proba(targets.frame.loc[fold.val, [*feats, ROW]])[:, 1]
        expected = choose_threshold(targets.y[fold.val], p_val, "hss")
        got = pred.loc[(pred.fold == fold.index) & (pred.seed == -1), "threshold"].unique()
        assert got == pytest.approx([expected])
    # Flipping the labels of fold 0's test rows must change nothing chosen for fold 0
    # (fit, thresholds, probabilities). Folds 1 and 2 train on those rows, so they do change.
    flipped_y = targets.y.copy()
    flipped_y[folds[0].test] = 1 - flipped_y[folds[0].test]
    res2 = run_protocol(
        dataclasses.replace(targets, y=flipped_y), [*feats, ROW], prot, methods=methods, folds=folds
    )
    a = pred.sort_values(["fold", "seed", "row"])
    b = res2.predictions.sort_values(["fold", "seed", "row"])
    same = a["fold"].to_numpy() == 0
    np.testing.assert_array_equal(a["threshold"].to_numpy()[same], b["threshold"].to_numpy()[same])
    np.testing.assert_array_equal(a["p"].to_numpy()[same], b["p"].to_numpy()[same])
    assert not np.array_equal(a["y"].to_numpy()[same], b["y"].to_numpy()[same])
    assert not np.array_equal(a["p"].to_numpy()[~same], b["p"].to_numpy()[~same])


def test_ensemble_forecast_is_member_mean_with_own_thresholds(small):
    targets, feats = small
    prot = Protocol(folds=3, methods=("rec",), n_boot=200)
    res = run_protocol(
        targets, [*feats, ROW], prot, methods=_methods(rec=lambda p, s: EnsembleRecorder(3))
    )
    pred = res.predictions
    assert sorted(pred.seed.unique()) == [-1, 0, 1, 2]
    wide = pred.pivot_table(index="row", columns="seed", values="p")
    np.testing.assert_allclose(wide[-1], wide[[0, 1, 2]].mean(axis=1))
    assert (pred["pred"] == (pred["p"] >= pred["threshold"])).all()
    table = summarise(res).table
    assert table.loc[0, "n_seeds"] == 3
    assert table.loc[0, "hss_seed_sd"] >= 0


def test_reference_methods_end_to_end(small):
    targets, feats = small
    prot = Protocol(folds=3, methods=("climatology", "logistic", "gboost"), n_boot=300, seed=2)
    steps, fitted = [], []
    res = run_protocol(
        targets,
        feats,
        prot,
        progress=lambda f, m: steps.append((f, m)),
        on_fit=lambda fold, m, est, fit: fitted.append((fold, m, est, fit)),
    )
    assert len(steps) == 9 and [(f.index, m) for f, m, _, _ in fitted] == steps
    for (
        fold,
        _,
        est,
        fit,
    ) in fitted:  # the hook sees the fitted estimator and its validation predictions
        assert fit.p_val.shape == fold.val.shape
        np.testing.assert_allclose(
            est.predict_proba(targets.frame.loc[fold.val, feats])[:, 1], fit.p_val
        )
    pred = res.predictions
    for m in prot.methods:
        rows = pred.loc[(pred.method == m) & (pred.seed == -1), "row"]
        assert np.array_equal(np.sort(rows), np.arange(len(targets.y)))  # every row predicted once
    # Climatology predicts each fold's training base rate: BSS exactly 0, AUC exactly 0.5.
    clim = pred[pred.method == "climatology"]
    np.testing.assert_allclose(clim["p"], clim["climatology"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetricWarning)
        summary = summarise(res)
    table = summary.table.set_index("method")
    assert table.loc["climatology", "bss"] == pytest.approx(0, abs=1e-12)
    assert table.loc["climatology", "auc"] == pytest.approx(0.5)
    assert table.loc["logistic", "auc"] > 0.6
    first = table.iloc[0]
    assert first.n_test == len(targets.y) and first.n_pos == targets.y.sum()
    assert first.n_x == (targets.letter == "X").sum()
    assert first.n_x_regions == len(set(targets.groups[targets.letter == "X"]))
    for score in ("x_recall", "hss", "tss", "auc", "bss"):
        lo, hi = table.loc["logistic", [f"{score}_lo", f"{score}_hi"]]
        assert lo <= table.loc["logistic", score] <= hi
    assert summary.comparison.empty  # focal and ce did not run


def test_paired_comparison_same_regions(small):
    targets, feats = small
    prot = Protocol(folds=3, methods=("focal", "ce", "weighted-ce"), n_boot=400)
    methods = {
        "focal": METHODS["logistic"],
        "ce": METHODS["logistic"],
        "weighted-ce": METHODS["climatology"],
    }
    summary = summarise(run_protocol(targets, feats, prot, methods=methods))
    comp = summary.comparison.set_index(["comparison", "score"])
    same = comp.loc["focal - ce"]
    assert (
        (same["difference"] == 0).all()
        and (same["lo"] == 0).all()
        and not same["significant"].any()
    )
    better = comp.loc[("focal - weighted-ce", "auc")]
    assert better["significant"] and better["lo"] > 0 and better["p_boot"] < 0.05
    assert set(comp.index.get_level_values("score")) == {
        "x_recall",
        "recall",
        "hss",
        "tss",
        "auc",
        "bss",
    }


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"split": "random"}, "'split'.*'kfold', 'chrono'.*'random'"),
        ({"folds": 1}, "'folds'.*int >= 2. Got 1"),
        ({"alpha": 1.5}, "'alpha'.*\\[0, 1\\].*Got 1.5"),
        ({"gamma": -1.0}, "'gamma'.*>= 0.*Got -1.0"),
        ({"threshold_metric": "auc"}, "'hss', 'tss' or 'fixed:<p>'"),
        ({"methods": ()}, "'methods'"),
    ],
)
def test_protocol_validation(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Protocol(**kwargs)


def test_unknown_method_lists_legal_ones(small):
    targets, feats = small
    with pytest.raises(ConfigError, match="unknown method.*'focl'.*legal methods are.*'focal'"):
        run_protocol(targets, feats, Protocol(methods=("focl",)))
