"""Calibration in the comparison and evaluate outputs: fitted on inner validation only, shown before and after."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.data.synthetic import demo_dataset
from flarecast.evaluation.bootstrap import summarise
from flarecast.evaluation.calibration import fit_calibrator, load_calibrator
from flarecast.evaluation.figures import reliability_figure
from flarecast.evaluation.fits import calibrate_fold, run_protocol
from flarecast.evaluation.methods import METHODS, MethodSpec
from flarecast.evaluation.metrics import brier, roc_auc
from flarecast.evaluation.protocol import Protocol, make_folds
from flarecast.evaluation.report import format_markdown
from flarecast.evaluation.score import score_model
from flarecast.evaluation.tables import calibration_table
from flarecast.targets import make_targets

sys.path.insert(0, str(Path(__file__).parent))
from _forecast_model import train_tiny_model  # noqa: E402


class Squashed:
    """A logistic regression whose probabilities are squashed towards 0.5, like an uncalibrated network."""

    def __init__(self, members: int = 2):
        self.members = members

    def fit(self, X, y, groups=None, validation=None):
        self.model_ = METHODS["logistic"].factory(Protocol(), 0).fit(X, y)
        return self

    def predict_proba_members(self, X):
        p = self.model_.predict_proba(X)[:, 1]
        return np.vstack([0.35 + 0.3 * p + 0.01 * k for k in range(self.members)])

    def predict_proba(self, X):
        p = self.predict_proba_members(X).mean(axis=0)
        return np.c_[1 - p, p]


@pytest.fixture(scope="module")
def small():
    ds = demo_dataset(seed=3, n_regions=120, days=120)
    return make_targets(ds), list(ds.features)


@pytest.fixture(scope="module")
def methods():
    return {
        "net": MethodSpec("net", "squashed network", lambda p, s: Squashed(), neural=True),
        "logistic": METHODS["logistic"],
    }


@pytest.fixture(scope="module")
def result(small, methods):
    targets, feats = small
    return run_protocol(
        targets, feats, Protocol(folds=3, methods=("logistic", "net"), n_boot=100), methods=methods
    )


def test_networks_are_calibrated_on_their_folds_validation_rows_only(small, methods, result):
    targets, feats = small
    pred = result.predictions
    X = targets.frame[feats].reset_index(drop=True)
    for fold in result.folds:
        est = Squashed().fit(X.iloc[fold.fit], targets.y[fold.fit])
        p_val, p_test = (
            est.predict_proba(X.iloc[fold.val])[:, 1],
            est.predict_proba(X.iloc[fold.test])[:, 1],
        )
        expected = fit_calibrator(p_val, targets.y[fold.val], "platt").transform(p_test)
        got = pred[
            (pred.method == "net") & (pred.seed == -1) & (pred.fold == fold.index)
        ].sort_values("row")
        np.testing.assert_allclose(got["p_calibrated"], expected[np.argsort(fold.test)], rtol=1e-12)
    # Networks' forecasts only: members and reference methods carry NaN.
    assert pred.loc[(pred.method == "net") & (pred.seed >= 0), "p_calibrated"].isna().all()
    assert pred.loc[pred.method == "logistic", "p_calibrated"].isna().all()
    # Calibration is monotone: the ranking (AUC) of each fold is unchanged.
    net = pred[(pred.method == "net") & (pred.seed == -1)]
    for _, sub in net.groupby("fold"):
        assert roc_auc(sub.y, sub.p_calibrated) == pytest.approx(roc_auc(sub.y, sub.p))
    # The squashed scores sit near 0.5 against a base rate near 0.1: calibration must lower the Brier score.
    assert brier(net.y, net.p_calibrated) < brier(net.y, net.p)


def test_test_labels_never_reach_the_calibrator(small, methods, result):
    targets, feats = small
    folds = result.folds
    flipped = targets.y.copy()
    flipped[folds[0].test] = 1 - flipped[folds[0].test]
    again = run_protocol(
        dataclasses.replace(targets, y=flipped),
        feats,
        result.protocol,
        methods=methods,
        folds=folds,
    ).predictions
    key = ["method", "fold", "seed", "row"]
    a = result.predictions.sort_values(key).reset_index(drop=True)
    b = again.sort_values(key).reset_index(drop=True)
    fold0 = (a.fold == 0) & (a.method == "net") & (a.seed == -1)
    np.testing.assert_array_equal(a.loc[fold0, "p_calibrated"], b.loc[fold0, "p_calibrated"])
    assert not np.array_equal(a.loc[fold0, "y"], b.loc[fold0, "y"])


def test_one_class_validation_gives_nan_not_a_crash(small, methods, result):
    fit = dataclasses.replace(_any_fit(small), p_val=np.array([0.2, 0.4]))
    out = calibrate_fold(np.array([0, 0]), fit)
    assert out.shape == fit.p_test.shape and np.isnan(out).all()


def _any_fit(small):
    from flarecast.evaluation.fits import fit_fold

    targets, feats = small
    fold = make_folds(targets, Protocol(folds=3))[0]
    X = targets.frame[feats].reset_index(drop=True)
    return fit_fold(Squashed(), X, targets.y.astype(int), np.asarray(targets.groups), fold)


def test_reliability_figure_shows_before_and_after(result):
    summary = summarise(result)
    fig = reliability_figure(result, summary)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 4 and "before and after calibration" in fig.get_suptitle()
    assert any("inner validation" in t for t in titles) and any(
        "before calibration" in t for t in titles
    )
    after = fig.axes[
        1
    ]  # the calibrated column holds the network only (plus the two reference lines)
    assert [ln.get_label().split(" (Brier")[0] for ln in after.get_lines()][0] == "squashed network"
    assert len(after.get_lines()) == 3
    # Without calibrated forecasts the figure is the single raw column, as before.
    raw_only = dataclasses.replace(
        result, predictions=result.predictions.drop(columns="p_calibrated")
    )
    fig = reliability_figure(raw_only, summary)
    assert len(fig.axes) == 2 and "before and after" not in fig.get_suptitle()


def test_calibration_table_and_markdown(result):
    table = calibration_table(result)
    assert table["method"].tolist() == ["net"]
    pred = result.predictions
    net = pred[(pred.method == "net") & (pred.seed == -1)]
    row = table.iloc[0]
    assert row.brier_raw == pytest.approx(brier(net.y, net.p))
    assert row.brier_calibrated == pytest.approx(brier(net.y, net.p_calibrated))
    assert row.bss_calibrated > row.bss_raw
    assert row.observed_frequency == pytest.approx(net.y.mean())
    text = format_markdown(summarise(result), {"dataset": "demo", "protocol": {}}, table)
    assert "## Calibration" in text and "never the test fold" in text and "squashed network" in text
    assert "## Calibration" not in format_markdown(
        summarise(result), {"dataset": "demo", "protocol": {}}
    )


def test_saved_model_is_scored_with_its_own_calibrator(tmp_path):
    folder = train_tiny_model(tmp_path / "model")
    from flarecast.training.artifacts import load_model

    model = load_model(folder)
    cal = load_calibrator(folder)
    ds = demo_dataset(seed=5, n_regions=60, days=60)
    targets = make_targets(ds, ("N", "A", "B", "C"))
    res = score_model(
        model,
        targets,
        list(model.feature_names_in_),
        threshold=0.5,
        climatology=0.1,
        calibrator=cal,
    )
    p = res.predictions
    np.testing.assert_allclose(p["p_calibrated"], cal.transform(p["p"]))
    assert calibration_table(res)["method"].tolist() == ["model"]


def test_evaluate_cli_shows_the_models_calibration(tmp_path):
    from flarecast.cli import main

    folder = train_tiny_model(tmp_path / "model")
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--model",
            str(folder),
            "--dataset",
            "demo",
            "--n-boot",
            "50",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "The model's own calibrator: platt (fitted on validation" in result.output
    cal = pd.read_csv(out / "calibration.csv")
    assert cal["method"].tolist() == ["model"] and cal["synthetic"].all()
    assert (out / "reliability.png").stat().st_size > 0
