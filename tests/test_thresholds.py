"""Threshold choice on validation data, and skill as a function of threshold."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flarecast.errors import ConfigError, MetricWarning
from flarecast.evaluation import metrics as M
from flarecast.evaluation import thresholds as T


def test_choose_threshold_maximises_validation_hss():
    y = np.array([0, 0, 0, 0, 1, 0, 1, 1])
    p = np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.8, 0.9])
    t = T.choose_threshold(y, p, "hss")
    grid = np.linspace(0, 1, 1001)
    best = max(M.hss(y, (p >= g).astype(int)) for g in grid)
    assert M.hss(y, (p >= t).astype(int)) == pytest.approx(best)
    # The cut lies midway between the chosen probability and the next lower one.
    assert t == pytest.approx(0.35)


def test_choose_threshold_tss_and_fixed():
    y = np.array([0, 0, 1, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    assert T.choose_threshold(y, p, "tss") == pytest.approx(0.25)
    assert T.choose_threshold(y, p, "fixed:0.3") == 0.3
    with pytest.raises(ConfigError, match="'hss', 'tss' or 'fixed:<p>'.*'auc'"):
        T.choose_threshold(y, p, "auc")
    with pytest.raises(ConfigError, match="fixed:2"):
        T.parse_threshold_metric("fixed:2")


def test_choose_threshold_constant_forecast_says_no():
    # Climatology: every candidate has HSS 0; the tie goes to "nothing positive".
    y = np.array([0, 1, 0, 0])
    t = T.choose_threshold(y, np.full(4, 0.25))
    assert t > 0.25


def test_choose_threshold_one_class_validation_falls_back():
    with pytest.warns(MetricWarning, match="both classes"):
        assert T.choose_threshold([0, 0, 0], [0.1, 0.5, 0.7], default=0.4) == 0.4


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1)), min_size=3, max_size=40))
@example([(0, 0.0), (0, 0.0), (1, 5e-324)])  # a subnormal midpoint rounds to 0.0
@example([(0, 0.25), (0, 0.0), (1, float(np.nextafter(0.25, 1.0)))])  # adjacent floats
def test_choose_threshold_is_optimal_over_candidates(rows):
    y = np.array([r[0] for r in rows])
    p = np.array([r[1] for r in rows])
    if not 0 < y.sum() < y.size:
        return
    t = T.choose_threshold(y, p, "tss")
    cands = np.r_[np.unique(p), 1.01]
    best = max(M.scores_from_counts(*M.contingency(y, (p >= c).astype(int)))["tss"] for c in cands)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetricWarning)
        assert M.tss(y, (p >= t).astype(int)) == pytest.approx(best)


@pytest.mark.parametrize(
    "low, high", [(0.0, 5e-324), (0.25, float(np.nextafter(0.25, 1.0))), (0.5, 0.5 + 2**-53)]
)
def test_choose_threshold_separates_adjacent_probabilities(low, high):
    # The midpoint of two adjacent floats rounds onto the lower one; the cut must still
    # leave the lower probability negative (TSS 1, not 0).
    y = np.array([0, 0, 1])
    p = np.array([low, low, high])
    t = T.choose_threshold(y, p, "tss")
    assert low < t <= high
    assert M.tss(y, (p >= t).astype(int)) == 1.0


def test_skill_curve_matches_pointwise(rng):
    y = rng.integers(0, 2, 50)
    p = rng.uniform(size=50)
    ts = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    curve = T.skill_curve(y, p, ts)
    for i, t in enumerate(ts):
        pred = (p >= t).astype(int)
        assert (curve["tp"][i], curve["fp"][i], curve["fn"][i], curve["tn"][i]) == M.contingency(
            y, pred
        )
    assert curve["tss"][0] == 0  # everything positive
