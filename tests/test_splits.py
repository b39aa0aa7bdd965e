"""Leak-free splits: no region on both sides, gaps respected, every row tested once."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flarecast.errors import ConfigError, DataError, DataWarning
from flarecast.splits import chronological_split, inner_validation, region_kfold

T0 = pd.Timestamp("2012-01-01", tz="UTC")


@st.composite
def grouped_labels(draw, min_regions=2):
    """Rows of 2-40 regions; each region has its own positive rate so some regions are all-negative."""
    n_regions = draw(st.integers(min_regions, 40))
    sizes = draw(st.lists(st.integers(1, 12), min_size=n_regions, max_size=n_regions))
    rates = draw(
        st.lists(st.sampled_from([0.0, 0.0, 0.2, 0.7]), min_size=n_regions, max_size=n_regions)
    )
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    # Region numbers are shuffled 5-digit NOAA numbers, so order and value carry no information.
    numbers = 11000 + rng.permutation(1000)[:n_regions]
    groups = np.repeat(numbers, sizes)
    y = (rng.random(len(groups)) < np.repeat(rates, sizes)).astype(int)
    order = rng.permutation(len(groups))
    return y[order], groups[order]


@settings(max_examples=60, deadline=None)
@given(data=grouped_labels(), n_splits=st.integers(2, 5), seed=st.integers(0, 100))
def test_region_kfold_invariants(data, n_splits, seed):
    y, groups = data
    n_pos_regions = len(np.unique(groups[y == 1]))
    assume(len(np.unique(groups)) >= n_splits and n_pos_regions >= n_splits)
    folds = region_kfold(y, groups, n_splits=n_splits, seed=seed)
    assert len(folds) == n_splits
    tested = np.concatenate([test for _, test in folds])
    # Every row is in exactly one test fold.
    np.testing.assert_array_equal(np.sort(tested), np.arange(len(y)))
    for train, test in folds:
        assert len(np.intersect1d(train, test)) == 0
        assert len(train) + len(test) == len(y)
        assert not set(groups[train]) & set(groups[test])
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)


@settings(max_examples=60, deadline=None)
@given(data=grouped_labels(min_regions=4), fraction=st.floats(0.05, 0.6), seed=st.integers(0, 100))
def test_inner_validation_invariants(data, fraction, seed):
    y, groups = data
    assume(len(np.unique(groups[y == 1])) >= 4)
    (train, test), *_ = region_kfold(y, groups, n_splits=2, seed=seed)
    assume(len(np.unique(groups[train][y[train] == 1])) >= 2)
    fit, val = inner_validation(y, groups, train, fraction=fraction, seed=seed)
    # Subsets of the training rows, disjoint, together all of them, no region on both sides.
    np.testing.assert_array_equal(np.sort(np.concatenate([fit, val])), train)
    assert len(np.intersect1d(fit, val)) == 0
    assert not set(groups[fit]) & set(groups[val])
    assert not set(groups[val]) & set(groups[test])
    assert y[fit].sum() > 0 and y[val].sum() > 0


@settings(max_examples=80, deadline=None)
@given(
    hours=st.lists(st.integers(0, 24 * 60), min_size=2, max_size=80),
    cut_hour=st.integers(0, 24 * 60),
    gap_hours=st.integers(0, 72),
    n_regions=st.integers(1, 8),
    with_groups=st.booleans(),
)
def test_chronological_split_invariants(hours, cut_hour, gap_hours, n_regions, with_groups):
    times = pd.Series(T0 + pd.to_timedelta(hours, unit="h"))
    groups = np.arange(len(hours)) % n_regions
    cutoff, gap = T0 + pd.Timedelta(hours=cut_hour), pd.Timedelta(hours=gap_hours)
    try:
        train, test = chronological_split(
            times, cutoff, gap, groups=groups if with_groups else None
        )
    except DataError as exc:
        assert "leaves no" in str(exc)
        return
    assert (times[train] < cutoff - gap).all()
    assert (times[test] >= cutoff).all()
    assert times[test].min() - times[train].max() > gap  # the gap is respected
    assert len(np.intersect1d(train, test)) == 0
    # Every row at or after the cutoff is tested.
    np.testing.assert_array_equal(test, np.flatnonzero(times >= cutoff))
    if with_groups:
        assert not set(groups[train]) & set(groups[test])
    else:
        np.testing.assert_array_equal(train, np.flatnonzero(times < cutoff - gap))


def test_straddling_regions_leave_train_only():
    times = pd.Series(pd.date_range("2012-03-01", periods=6, freq="1D", tz="UTC"))
    groups = np.array([11429, 11429, 11430, 11430, 11429, 11431])
    train, test = chronological_split(times, "2012-03-05", gap="24h")
    assert train.tolist() == [0, 1, 2] and test.tolist() == [4, 5]
    train, test = chronological_split(times, "2012-03-05", gap="24h", groups=groups)
    assert train.tolist() == [2] and test.tolist() == [4, 5]


def test_naive_cutoff_is_utc_and_aware_cutoff_converted():
    times = pd.Series(pd.date_range("2012-03-06 20:00", periods=8, freq="1h", tz="UTC"))
    a = chronological_split(times, "2012-03-07 00:00", gap="0h")
    b = chronological_split(times, pd.Timestamp("2012-03-07 01:00", tz="Europe/Paris"), gap="0h")
    assert a[1].tolist() == b[1].tolist() == [4, 5, 6, 7]


def test_folds_are_seeded():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), 5)
    y = (rng.random(200) < 0.3).astype(int)
    a, b = region_kfold(y, groups, seed=3), region_kfold(y, groups, seed=3)
    c = region_kfold(y, groups, seed=4)
    assert all(np.array_equal(x[1], z[1]) for x, z in zip(a, b, strict=True))
    assert not all(np.array_equal(x[1], z[1]) for x, z in zip(a, c, strict=True))
    # Row order does not matter: permuting rows permutes the folds.
    perm = rng.permutation(200)
    d = region_kfold(y[perm], groups[perm], seed=3)
    assert sorted(tuple(sorted(groups[t])) for _, t in a) == sorted(
        tuple(sorted(groups[perm][t])) for _, t in d
    )


def test_inner_validation_keeps_fraction_of_regions():
    groups = np.repeat(np.arange(50), 4)
    y = np.where(np.repeat(np.arange(50), 4) % 5 == 0, 1, 0)  # 10 positive regions, 40 negative
    fit, val = inner_validation(y, groups, np.arange(200), fraction=0.2, seed=1)
    assert len(np.unique(groups[val])) == 10  # 2 positive + 8 negative regions
    assert len(np.unique(groups[val][y[val] == 1])) == 2


def test_warns_when_some_folds_get_no_positive():
    groups = np.repeat(np.arange(10), 3)
    y = np.zeros(30, dtype=int)
    y[[0, 3]] = 1  # two positive regions
    with pytest.warns(
        DataWarning, match="Only 2 region\\(s\\) have a positive row for 5 folds: 3 test fold"
    ):
        region_kfold(y, groups, n_splits=5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_splits": 1}, ConfigError, "'n_splits' parameter of region_kfold must be an int >= 2"),
        ({"n_splits": 7}, DataError, "Cannot make 7 region folds from 6 region"),
        ({"y": np.zeros(12, dtype=int)}, DataError, "No region has a positive row"),
        ({"y": np.full(12, 2)}, DataError, "y must hold only 0 and 1; bad values at row 0: "),
        (
            {"groups": np.arange(11)},
            DataError,
            r"groups must be 1-D with one region per row \(12 rows\)",
        ),
        (
            {"groups": pd.array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, None], dtype="Int64")},
            DataError,
            "missing at row 11",
        ),
        ({"y": np.zeros((12, 1))}, DataError, "y must be 1-D"),
    ],
)
def test_region_kfold_errors(kwargs, error, match):
    args = {"y": np.tile([0, 1], 6), "groups": np.repeat(np.arange(6), 2), "n_splits": 3, **kwargs}
    with pytest.raises(error, match=match):
        region_kfold(**args)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"times": pd.date_range("2012-01-01", periods=5, freq="1D")}, DataError, "timezone-aware"),
        ({"times": ["2012-01-01", None]}, DataError, "timezone-aware"),
        ({"times": pd.Series([T0, pd.NaT, T0])}, DataError, r"missing \(NaT\) at row 1"),
        ({"cutoff": "2013-01-01"}, DataError, "leaves no test rows; the times span 2012-01-01"),
        ({"cutoff": "2011-01-01"}, DataError, "leaves no training rows"),
        ({"gap": "-1h"}, ConfigError, "'gap' parameter must be a duration >= 0"),
        ({"gap": "soon"}, ConfigError, "needs a cutoff time and a gap duration"),
        ({"gap": "24"}, ConfigError, r"'gap' parameter .*bare number is ambiguous"),
        ({"gap": 24}, ConfigError, r"'gap' parameter .*bare number is ambiguous"),
        ({"cutoff": "not a date"}, ConfigError, "needs a cutoff time and a gap duration"),
        ({"groups": [1, 2]}, DataError, "groups must be 1-D with one region per row"),
    ],
)
def test_chronological_split_errors(kwargs, error, match):
    args = {
        "times": pd.date_range("2012-01-01", periods=5, freq="1D", tz="UTC"),
        "cutoff": "2012-01-04",
        **kwargs,
    }
    with pytest.raises(error, match=match):
        chronological_split(**args)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"fraction": 0.0},
            ConfigError,
            r"'fraction' parameter of inner_validation must be a float in \(0, 1\)",
        ),
        ({"fraction": 1.5}, ConfigError, "must be a float in"),
        (
            {"train_idx": np.array([0, 1, 40])},
            DataError,
            "train_idx points outside the 12 rows: row 2: 40",
        ),
        ({"train_idx": np.array([0, 0, 1])}, DataError, "repeated indices"),
        ({"train_idx": np.array([0.0, 1.0])}, DataError, "1-D array of integer indices"),
        (
            {"train_idx": np.arange(3)},
            DataError,
            "needs at least 2 training regions with a positive row.*has 1 of 2",
        ),
    ],
)
def test_inner_validation_errors(kwargs, error, match):
    args = {
        "y": np.tile([0, 1], 6),
        "groups": np.repeat(np.arange(6), 2),
        "train_idx": np.arange(12),
        **kwargs,
    }
    with pytest.raises(error, match=match):
        inner_validation(**args)


def test_splits_do_not_import_torch():
    code = "import sys, flarecast.splits, flarecast.targets; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
