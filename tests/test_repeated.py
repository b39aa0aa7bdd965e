"""The corrected repeated k-fold t-test: formula, edge cases, distinct partitions, calibration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from flarecast.errors import ConfigError, DataError
from flarecast.evaluation.metrics import roc_auc
from flarecast.evaluation.repeated import (
    corrected_ttest,
    corrected_ttest_pooled,
    repeat_seed,
    repeated_folds,
)


def test_formula_on_a_hand_example() -> None:
    d = np.array([[0.1, 0.2], [0.0, 0.3]])
    res = corrected_ttest(d, n_train=50, n_test=50)  # K = 2: test and train equal, ratio 1
    var = 0.05 / 3  # squared deviations from 0.15, ddof 1
    se = np.sqrt((1 / 4 + 1) * var)
    half = stats.t.ppf(0.975, 3) * se
    assert res.mean == pytest.approx(0.15)
    assert res.se == pytest.approx(se)
    assert (res.low, res.high) == pytest.approx((0.15 - half, 0.15 + half))
    assert res.p_value == pytest.approx(2 * stats.t.sf(0.15 / se, 3))
    assert (res.df, res.n, res.ratio) == (3, 4, 1.0)


def test_correction_widens_the_naive_interval_and_uses_the_mean_ratio() -> None:
    d = np.array([[0.02, 0.05, -0.01, 0.04], [0.03, 0.00, 0.06, 0.01]])
    n_train = np.array([[300, 310, 290, 300], [305, 295, 300, 300]])
    n_test = 400 - n_train
    res = corrected_ttest(d, n_train, n_test)
    assert res.ratio == pytest.approx(np.mean(n_test / n_train))
    naive_se = d.std(ddof=1) / np.sqrt(d.size)
    assert res.se == pytest.approx(naive_se * np.sqrt(1 + d.size * res.ratio))
    assert res.low < 0 < res.high  # the naive interval would exclude 0 here
    assert d.mean() - stats.t.ppf(0.975, 7) * naive_se > 0


def test_pooled_variant_uses_one_value_per_repeat() -> None:
    d = np.array([0.01, 0.03, 0.02, 0.00, 0.04])
    res = corrected_ttest_pooled(d, n_train=800, n_test=1000)
    se = np.sqrt((1 / 5 + 1000 / 800) * d.var(ddof=1))
    assert (res.n, res.df) == (5, 4)
    assert res.se == pytest.approx(se)
    assert "pooled per repeat" in res.procedure


def test_constant_differences() -> None:
    zero = corrected_ttest(np.zeros((3, 5)), 4, 1)
    assert (zero.low, zero.high, zero.p_value) == (0.0, 0.0, 1.0)
    # A constant non-zero difference has no spread to estimate the variance from: the interval
    # and p-value are undefined (NaN), never a zero-width "significant" interval.
    shifted = corrected_ttest(np.full((3, 5), 0.1), 4, 1)
    assert shifted.mean == pytest.approx(0.1)
    assert np.isnan([shifted.low, shifted.high, shifted.p_value]).all()
    assert shifted.covers(0.0)


def test_bad_inputs_are_named() -> None:
    d = np.zeros((2, 5))
    d[1, 3] = np.nan
    with pytest.raises(DataError, match=r"repeat 1 fold 3: nan"):
        corrected_ttest(d, 4, 1)
    with pytest.raises(DataError, match="at least 2"):
        corrected_ttest([0.1], 4, 1)
    with pytest.raises(DataError, match="at least 2 repeats"):
        corrected_ttest_pooled([0.1], 4, 1)
    with pytest.raises(DataError, match="positive row counts"):
        corrected_ttest(np.zeros((2, 5)), 0, 1)
    with pytest.raises(DataError, match=r"shape \(2, 5\)"):
        corrected_ttest(np.zeros((2, 5)), np.ones(3), 1)
    with pytest.raises(ConfigError, match="'level' parameter .* Got 1.5 instead"):
        corrected_ttest(np.zeros((2, 5)), 4, 1, level=1.5)


def test_repeat_seeds() -> None:
    assert repeat_seed(7, 0) == 7
    seeds = [repeat_seed(0, r) for r in range(50)]
    assert len(set(seeds)) == 50
    # the protocol adds the fold index: no repeat may reuse another's base + k seeds
    used = {s + k for s in seeds for k in range(10)}
    assert len(used) == 500
    assert all(0 <= s < 2**31 - 2**16 for s in seeds)
    assert repeat_seed(3, 4) == repeat_seed(3, 4)
    with pytest.raises(ConfigError, match="'repeat' parameter"):
        repeat_seed(0, -1)


def _regions(rng: np.random.Generator, n_regions: int = 60, per: int = 8):
    """Rows of ``n_regions`` regions, with a region effect on the target and on two noise features.

    Columns: intercept, x1 (informative), x2, x3 (noise, identical in distribution).
    """
    g = np.repeat(np.arange(n_regions), per)
    u = rng.normal(0, 1.0, n_regions)[g]
    x1 = rng.normal(size=len(g)) + 0.5 * u
    noise = rng.normal(size=(len(g), 2)) + rng.normal(size=(n_regions, 2))[g]
    X = np.column_stack([np.ones(len(g)), x1, noise])
    y = (rng.random(len(g)) < 1 / (1 + np.exp(-(-1.5 + x1 + 0.7 * u)))).astype(int)
    return X, y, g


def test_repeats_use_distinct_region_partitions(rng: np.random.Generator) -> None:
    _, y, g = _regions(rng)
    parts = repeated_folds(y, g, n_splits=5, repeats=4, seed=0)
    assert len(parts) == 4
    signatures = set()
    for folds in parts:
        tested = np.concatenate([te for _, te in folds])
        assert np.array_equal(np.sort(tested), np.arange(len(y)))  # each row tested once
        for tr, te in folds:
            assert not set(g[tr]) & set(g[te])  # no region on both sides
        signatures.add(tuple(tuple(sorted(set(g[te]))) for _, te in folds))
    assert len(signatures) == 4


def _bagged_ridge(X, y, tr, te, rng, cols):
    """A ridge score fitted on one bootstrap draw of the training rows (the seed matters)."""
    boot = rng.choice(tr, size=len(tr), replace=True)
    A = X[boot][:, cols]
    w = np.linalg.solve(A.T @ A + np.eye(len(cols)), A.T @ y[boot])
    return 1 / (1 + np.exp(-(X[te][:, cols] @ w)))


def _simulate(seed: int, cols_a: list[int], cols_b: list[int], repeats: int = 10, k: int = 5):
    """Per-fold and per-repeat pooled AUC differences of two methods on one fresh data set."""
    rng = np.random.default_rng(seed)
    X, y, g = _regions(rng)
    d = np.zeros((repeats, k))
    n_train = np.zeros((repeats, k))
    pooled = np.zeros(repeats)
    for r, folds in enumerate(repeated_folds(y, g, n_splits=k, repeats=repeats, seed=seed)):
        pa, pb = np.zeros(len(y)), np.zeros(len(y))
        for j, (tr, te) in enumerate(folds):
            pa[te] = _bagged_ridge(X, y, tr, te, rng, cols_a)
            pb[te] = _bagged_ridge(X, y, tr, te, rng, cols_b)
            d[r, j] = roc_auc(y[te], pa[te]) - roc_auc(y[te], pb[te])
            n_train[r, j] = len(tr)
        pooled[r] = roc_auc(y, pa) - roc_auc(y, pb)
    return d, n_train, len(y) - n_train, pooled


@pytest.mark.slow
def test_calibrated_when_two_methods_are_identical_in_distribution() -> None:
    """40 fresh data sets; A sees noise feature x2, B the independent copy x3, each bagged with its own seed.

    A and B are identical in distribution, so the expected AUC difference is 0;
    on one data set they differ by chance (which noise feature happens to
    correlate with the target, which rows the bootstraps drew, which regions
    trained which model). The 95 % interval must cover 0 in >= 90 % of the runs.
    The naive t-test (variance / n) on the same differences covers less often:
    that is what the correction is for.
    """
    runs = 40
    covered = pooled_covered = naive_covered = 0
    for seed in range(runs):
        d, n_train, n_test, pooled = _simulate(seed, [0, 1, 2], [0, 1, 3])
        covered += corrected_ttest(d, n_train, n_test).covers(0.0)
        pooled_covered += corrected_ttest_pooled(
            pooled, n_train.mean(axis=1), n_test.sum(axis=1)
        ).covers(0.0)
        half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
        naive_covered += abs(d.mean()) <= half
    assert covered >= 0.9 * runs
    assert pooled_covered >= 0.9 * runs
    assert naive_covered < covered


def test_detects_a_real_difference() -> None:
    """A keeps the informative feature x1, B replaces it by noise: A's AUC is higher every time."""
    for seed in range(5):
        d, n_train, n_test, pooled = _simulate(100 + seed, [0, 1, 2], [0, 2, 3])
        per_fold = corrected_ttest(d, n_train, n_test)
        per_repeat = corrected_ttest_pooled(pooled, n_train.mean(axis=1), n_test.sum(axis=1))
        assert per_fold.low > 0 and per_fold.p_value < 0.01
        assert per_repeat.low > 0 and per_repeat.p_value < 0.01
