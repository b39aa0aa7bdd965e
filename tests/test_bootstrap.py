"""The region bootstrap: vectorised scores equal an explicit loop over drawn regions."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from flarecast.errors import ConfigError, DataError
from flarecast.evaluation import metrics as M
from flarecast.evaluation.bootstrap import SCORES, bootstrap_scores, interval, region_resampler


def _sample(rng, n_regions=12, per=(1, 9)):
    sizes = rng.integers(*per, size=n_regions)
    groups = np.repeat(11000 + np.arange(n_regions), sizes)
    n = groups.size
    y = (rng.uniform(size=n) < 0.3).astype(int)
    letter = np.where(y == 1, np.where(rng.uniform(size=n) < 0.3, "X", "M"), "C")
    p = np.round(np.clip(0.25 * y + rng.uniform(0, 0.75, n), 0, 1), 2)  # rounded: ties happen
    pred = (p >= 0.5).astype(int)
    return groups, y, p, pred, letter


def test_point_estimate_equals_metrics(rng):
    groups, y, p, pred, letter = _sample(rng)
    rs = region_resampler(groups, n_boot=10, seed=1)
    point = {
        k: v[0]
        for k, v in bootstrap_scores(rs, y, p, pred, letter, 0.3, weights=rs.identity).items()
    }
    assert point["tss"] == pytest.approx(M.tss(y, pred))
    assert point["hss"] == pytest.approx(M.hss(y, pred))
    assert point["recall"] == pytest.approx(M.recall(y, pred))
    assert point["precision"] == pytest.approx(M.precision(y, pred))
    assert point["x_recall"] == pytest.approx(M.class_recall(pred, letter, "X"))
    assert point["m_recall"] == pytest.approx(M.class_recall(pred, letter, "M"))
    assert point["auc"] == pytest.approx(M.roc_auc(y, p))
    assert point["brier"] == pytest.approx(M.brier(y, p))
    assert point["bss"] == pytest.approx(M.bss(y, p, 0.3))
    assert point["base_rate"] == pytest.approx(y.mean())


def test_resamples_equal_an_explicit_loop_over_drawn_regions(rng):
    groups, y, p, pred, letter = _sample(rng)
    rs = region_resampler(groups, n_boot=6, seed=3)
    boot = bootstrap_scores(rs, y, p, pred, letter, 0.3)
    for b in range(rs.n_boot):
        # Build the resample by hand: each drawn region's rows, as often as it was drawn.
        rows = np.concatenate(
            [
                np.flatnonzero(groups == rs.regions[r]).repeat(1)
                for r in range(rs.regions.size)
                for _ in range(int(rs.weights[b, r]))
            ]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert boot["tss"][b] == pytest.approx(M.tss(y[rows], pred[rows]), nan_ok=True)
            assert boot["hss"][b] == pytest.approx(M.hss(y[rows], pred[rows]), nan_ok=True)
            assert boot["x_recall"][b] == pytest.approx(
                M.class_recall(pred[rows], letter[rows], "X"), nan_ok=True
            )
            assert boot["auc"][b] == pytest.approx(M.roc_auc(y[rows], p[rows]), nan_ok=True)
            assert boot["bss"][b] == pytest.approx(M.bss(y[rows], p[rows], 0.3), nan_ok=True)


def test_weighted_auc_matches_sklearn_sample_weight(rng):
    groups, y, p, pred, letter = _sample(rng, n_regions=30)
    rs = region_resampler(groups, n_boot=300, seed=0)  # > one chunk of resamples
    auc = bootstrap_scores(rs, y, p, pred, letter, 0.3)["auc"]
    for b in (0, 150, 299):
        w = rs.weights[b, rs.codes]
        assert auc[b] == pytest.approx(roc_auc_score(y, p, sample_weight=w))


def test_regions_are_drawn_whole_and_resamples_are_seeded(rng):
    groups, y, p, pred, letter = _sample(rng)
    rs = region_resampler(groups, n_boot=50, seed=7)
    assert rs.weights.shape == (50, 12)
    np.testing.assert_array_equal(rs.weights.sum(axis=1), 12)
    np.testing.assert_array_equal(rs.regions[rs.codes], groups)
    np.testing.assert_array_equal(region_resampler(groups, 50, seed=7).weights, rs.weights)
    assert not np.array_equal(region_resampler(groups, 50, seed=8).weights, rs.weights)


def test_region_bootstrap_is_wider_than_a_row_bootstrap_for_clustered_rows(rng):
    # Ten regions whose rows are exact duplicates: the information is ten samples, not 400.
    groups = np.repeat(np.arange(10), 40)
    y = np.repeat(np.r_[np.ones(5), np.zeros(5)], 40).astype(int)
    pred = np.repeat(np.r_[1, 1, 1, 0, 0, 1, 0, 0, 0, 0], 40)
    p = pred * 0.8 + 0.1
    letter = np.where(y == 1, "M", "C")
    by_region = bootstrap_scores(region_resampler(groups, 2000, seed=0), y, p, pred, letter, 0.5)[
        "tss"
    ]
    by_row = bootstrap_scores(
        region_resampler(np.arange(400), 2000, seed=0), y, p, pred, letter, 0.5
    )["tss"]
    assert np.nanstd(by_region) > 3 * np.nanstd(by_row)


def test_paired_differences_of_identical_forecasts_are_zero(rng):
    groups, y, p, pred, letter = _sample(rng)
    rs = region_resampler(groups, n_boot=200, seed=2)
    a = bootstrap_scores(rs, y, p, pred, letter, 0.3)
    b = bootstrap_scores(rs, y, p.copy(), pred.copy(), letter, 0.3)
    for k in SCORES:
        d = a[k] - b[k]
        assert np.all((d == 0) | np.isnan(d))


def test_interval_ignores_and_counts_undefined_resamples():
    lo, hi, n_nan = interval(np.r_[np.arange(101.0), np.nan, np.nan], level=0.9)
    assert (lo, hi, n_nan) == (pytest.approx(5.0), pytest.approx(95.0), 2)
    lo, hi, n_nan = interval([np.nan, np.nan])
    assert np.isnan(lo) and np.isnan(hi) and n_nan == 2


def test_missing_region_and_bad_n_boot_raise():
    with pytest.raises(DataError, match="no region label.*row 1"):
        region_resampler(pd.array([11158, None, 11166], dtype="Int64"))
    with pytest.raises(ConfigError, match="'n_boot'.*>= 1. Got 0"):
        region_resampler([1, 2], n_boot=0)
    rs = region_resampler([1, 1, 2])
    with pytest.raises(DataError, match="3 rows"):
        bootstrap_scores(rs, [1, 0], [0.5, 0.5], [1, 0], ["M", "C"], 0.5)
