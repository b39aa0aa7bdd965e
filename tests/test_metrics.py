"""Metrics against hand-computed tables, scikit-learn, and invariants (hypothesis)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    cohen_kappa_score,
    roc_auc_score,
)

from flarecast.errors import DataError, MetricWarning
from flarecast.evaluation import metrics as M


def _table(tp: int, fp: int, fn: int, tn: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.r_[np.ones(tp + fn, int), np.zeros(fp + tn, int)]
    pred = np.r_[np.ones(tp, int), np.zeros(fn, int), np.ones(fp, int), np.zeros(tn, int)]
    return y, pred


# tp=3 fp=2 fn=1 tn=4, worked by hand:
#   POD 3/4, precision 3/5, FAR ratio 2/5, POFD 2/6, TSS 3/4 - 1/3 = 5/12,
#   HSS 2(3*4 - 1*2) / (4*5 + 5*6) = 20/50, ApSS (positives are the minority) (3-2)/4.
HAND = {
    "recall": 0.75,
    "precision": 0.6,
    "false_alarm_ratio": 0.4,
    "false_alarm_rate": 1 / 3,
    "tss": 5 / 12,
    "hss": 0.4,
    "apss": 0.25,
}


def test_contingency_counts():
    y, pred = _table(3, 2, 1, 4)
    assert M.contingency(y, pred) == (3, 2, 1, 4)
    assert M.contingency(y, pred).fn == 1


@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_computed_table(name):
    y, pred = _table(3, 2, 1, 4)
    assert M.POINT_METRICS[name](y, pred) == pytest.approx(HAND[name])


def test_aliases_are_unambiguous():
    y, pred = _table(3, 2, 1, 4)
    assert M.pod(y, pred) == M.recall(y, pred)
    assert M.far(y, pred) == pytest.approx(0.4)  # ratio, the meteorological FAR
    assert M.pofd(y, pred) == pytest.approx(1 / 3)  # rate
    assert M.far(y, pred) == pytest.approx(1 - M.precision(y, pred))


def test_apss_when_positives_are_the_majority():
    y, pred = _table(tp=5, fp=1, fn=2, tn=2)  # 7 positives, 3 negatives
    assert M.apss(y, pred) == pytest.approx((2 - 2) / 3)


def test_scores_from_counts_vectorised_matches_scalar():
    tables = np.array([[3, 2, 1, 4], [10, 0, 5, 20], [1, 9, 0, 3]])
    scores = M.scores_from_counts(*tables.T)
    for i, row in enumerate(tables):
        y, pred = _table(*row)
        for name in M.COUNT_SCORES:
            assert scores[name][i] == pytest.approx(M.POINT_METRICS[name](y, pred))


@st.composite
def _labels_and_forecasts(draw):
    n = draw(st.integers(4, 60))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    pred = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    return y, pred


@settings(max_examples=150, deadline=None)
@given(_labels_and_forecasts())
def test_hss_is_kappa_and_tss_is_adjusted_balanced_accuracy(data):
    y, pred = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h, t = M.hss(y, pred), M.tss(y, pred)
        if 0 < y.sum() < y.size:
            assert h == pytest.approx(cohen_kappa_score(y, pred), abs=1e-12)
            assert t == pytest.approx(balanced_accuracy_score(y, pred, adjusted=True), abs=1e-12)
            assert -1 <= t <= 1 and -1 <= h <= 1
        else:
            assert np.isnan(h) and np.isnan(t)


@settings(max_examples=100, deadline=None)
@given(_labels_and_forecasts())
def test_skill_invariants(data):
    y, pred = data
    if not 0 < y.sum() < y.size:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetricWarning)
        # Perfect forecasts score 1, inverted forecasts -1 (TSS); swapping the
        # class labels in both truth and forecast leaves TSS and HSS unchanged.
        assert M.tss(y, y) == 1 and M.hss(y, y) == 1
        assert M.tss(y, 1 - y) == -1
        assert M.tss(1 - y, 1 - pred) == pytest.approx(M.tss(y, pred))
        assert M.hss(1 - y, 1 - pred) == pytest.approx(M.hss(y, pred))
        # A constant forecast has no skill.
        assert M.tss(y, np.ones_like(y)) == 0 and M.hss(y, np.zeros_like(y)) == 0


@pytest.mark.parametrize(
    ("func", "y", "pred", "reason"),
    [
        (M.recall, [0, 0, 0], [0, 1, 0], "no positive cases"),
        (M.precision, [1, 0, 1], [0, 0, 0], "no positive forecasts"),
        (M.false_alarm_ratio, [1, 0, 1], [0, 0, 0], "no positive forecasts"),
        (M.false_alarm_rate, [1, 1], [1, 0], "no negative cases"),
        (M.tss, [1, 1, 1], [1, 0, 1], "both classes"),
        (M.hss, [0, 0], [0, 1], "both classes"),
        (M.apss, [1, 1], [1, 1], "both classes"),
    ],
)
def test_degenerate_counts_give_nan_and_warning(func, y, pred, reason):
    with pytest.warns(MetricWarning, match=reason):
        assert np.isnan(func(y, pred))


def test_degenerate_probabilistic_metrics():
    with pytest.warns(MetricWarning, match="both classes"):
        assert np.isnan(M.roc_auc([0, 0, 0], [0.1, 0.2, 0.3]))
    with pytest.warns(MetricWarning, match="both classes"):
        assert np.isnan(M.pr_auc([1, 1], [0.1, 0.2]))
    with pytest.warns(MetricWarning, match="no rows"):
        assert np.isnan(M.brier([], []))
    with pytest.warns(MetricWarning, match="reference is perfect"):
        assert np.isnan(M.bss([0, 0], [0.1, 0.0], climatology=0.0))


def test_empty_input_is_nan_not_a_crash():
    with pytest.warns(MetricWarning):
        assert np.isnan(M.tss([], []))


def test_class_recall_counts_only_that_class():
    pred = np.array([1, 0, 1, 1, 0, 0])
    letter = np.array(["X", "X", "M", "M", "C", "X"])
    assert M.class_recall(pred, letter, "X") == pytest.approx(1 / 3)
    assert M.class_recall(pred, letter, "M") == 1.0
    with pytest.warns(MetricWarning, match="no X-class events"):
        assert np.isnan(M.class_recall(pred[2:5], letter[2:5], "X"))


def test_probabilistic_metrics_match_sklearn(rng):
    y = rng.integers(0, 2, 200)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 200), 0, 1)
    assert M.roc_auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert M.pr_auc(y, p) == pytest.approx(average_precision_score(y, p))
    assert M.brier(y, p) == pytest.approx(brier_score_loss(y, p))
    clim = 0.3
    expected = 1 - brier_score_loss(y, p) / np.mean((clim - y) ** 2)
    assert M.bss(y, p, clim) == pytest.approx(expected)
    assert M.bss(y, np.full(200, clim), clim) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("y", "pred", "match"),
    [
        ([0, 1, 2], [0, 1, 1], "only 0 and 1"),
        ([0, 1], [0, 1, 1], "differ in length"),
        ([[0, 1]], [[0, 1]], "one-dimensional"),
    ],
)
def test_bad_labels_raise(y, pred, match):
    with pytest.raises(DataError, match=match):
        M.contingency(y, pred)


def test_bad_probabilities_raise():
    with pytest.raises(DataError, match=r"probabilities in \[0, 1\].*1.5"):
        M.roc_auc([0, 1], [0.2, 1.5])
    with pytest.raises(DataError, match="shape"):
        M.brier([0, 1], [0.2])
