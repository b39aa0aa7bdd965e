"""Reference forecasts against tables computed by hand on a tiny region-day set."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from flarecast.errors import ConfigError, DataError
from flarecast.reference.baselines import Climatology, Persistence
from flarecast.reference.history import PREV_CLASS, PREV_EVENT, previous_day, with_previous_day
from flarecast.reference.mcintosh import MCEVOL, MCSTAT

# region, day, McIntosh class, number of >=M flares that day
ROWS = [
    (1, 1, "DAI", 0),
    (1, 2, "DAI", 2),
    (1, 3, "EKC", 1),
    (2, 1, "DAI", 0),
    (2, 2, "CSO", 0),
    (3, 2, "EKC", 0),
    (3, 3, "EKC", 0),
    (4, 1, "HSX", 0),
]


def _frame(rows) -> tuple[pd.DataFrame, np.ndarray]:
    day0 = pd.Timestamp("2000-01-01 00:30", tz="UTC")
    frame = pd.DataFrame(
        {
            "time": [day0 + pd.Timedelta(days=d) for _, d, _, _ in rows],
            "noaa_ar": pd.array([r for r, _, _, _ in rows], dtype="Int64"),
            "mcintosh_zurich": [c[0] for _, _, c, _ in rows],
            "mcintosh_penumbra": [c[1] for _, _, c, _ in rows],
            "mcintosh_compactness": [c[2] for _, _, c, _ in rows],
        }
    )
    counts = np.array([n for *_, n in rows], dtype=float)
    return with_previous_day(frame, counts > 0), counts


def test_previous_day_links_same_region_one_day_earlier():
    frame, _ = _frame(ROWS)
    assert previous_day(frame).tolist() == [-1, 0, 1, -1, 3, -1, 5, -1]
    prev = frame[PREV_CLASS]
    assert prev.isna().tolist() == [True, False, False, True, False, True, False, True]
    assert prev.dropna().tolist() == ["DAI", "DAI", "DAI", "EKC"]
    np.testing.assert_array_equal(frame[PREV_EVENT], [np.nan, 0, 1, np.nan, 0, np.nan, 0, np.nan])
    # A gap of two days is no previous day.
    gap, _ = _frame([(1, 1, "DAI", 0), (1, 3, "DAI", 0)])
    assert previous_day(gap).tolist() == [-1, -1]


def test_mcstat_matches_the_hand_computed_table():
    frame, counts = _frame(ROWS)
    model = MCSTAT().fit(frame, counts > 0, n_events=counts)
    # DAI: 3 region-days (r1d1, r1d2, r2d1) with 0 + 2 + 0 = 2 flares -> 2/3 per day.
    # EKC: 3 region-days (r1d3, r3d2, r3d3) with 1 + 0 + 0 = 1 flare  -> 1/3 per day.
    # CSO and HSX: 1 region-day each, no flare -> 0.
    assert model.rate_ == pytest.approx({"DAI": 2 / 3, "EKC": 1 / 3, "CSO": 0.0, "HSX": 0.0})
    assert model.days_ == {"DAI": 3, "EKC": 3, "CSO": 1, "HSX": 1}
    # All 8 region-days hold 3 flares.
    assert model.climatology_rate_ == pytest.approx(3 / 8)
    test, _ = _frame([(9, 1, "DAI", 0), (9, 2, "EKC", 0), (8, 1, "CSO", 0)])
    p = model.predict_proba(test)
    # P = 1 - exp(-rate): 1 - e^(-2/3) = 0.48658, 1 - e^(-1/3) = 0.28347, 0.
    np.testing.assert_allclose(p[:, 1], [0.486583, 0.283469, 0.0], atol=1e-6)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # Flares, not flare-days: with 0/1 labels DAI's rate is 1/3 (one flare-day in 3).
    assert MCSTAT().fit(frame, counts > 0).rate_["DAI"] == pytest.approx(1 / 3)


def test_unseen_class_backs_off_to_zurich_then_climatology_and_is_counted():
    frame, counts = _frame(ROWS)
    model = MCSTAT().fit(frame, counts > 0, n_events=counts)
    test, _ = _frame([(9, 1, "DKC", 0), (9, 2, "FKC", 0), (8, 1, "DAI", 0)])
    rate, source = model.rates(test)
    # DKC unseen -> Zurich D (only DAI in training: 2/3); FKC: no F at all -> 3/8.
    np.testing.assert_allclose(rate, [2 / 3, 3 / 8, 2 / 3])
    assert source.tolist() == ["zurich", "climatology", "class"]
    assert model.backoff_counts(test) == {"class": 1, "zurich": 1, "climatology": 1}
    assert model.predict_proba(test)[1, 1] == pytest.approx(1 - math.exp(-3 / 8))


def test_mcevol_pairs_and_backoff():
    frame, counts = _frame(ROWS)
    # Pairs with a known previous day: DAI>DAI (2 flares), DAI>EKC (1), DAI>CSO (0), EKC>EKC (0).
    model = MCEVOL(min_days=1).fit(frame, counts > 0, n_events=counts)
    assert model.pair_rate_ == {"DAI>DAI": 2.0, "DAI>EKC": 1.0, "DAI>CSO": 0.0, "EKC>EKC": 0.0}
    rate, source = model.rates(frame)
    # Rows without a previous day use MCSTAT: DAI 2/3, DAI 2/3, EKC 1/3, HSX 0.
    np.testing.assert_allclose(rate, [2 / 3, 2.0, 1.0, 2 / 3, 0.0, 1 / 3, 0.0, 0.0])
    assert source.tolist() == ["class", "pair", "pair", "class", "pair", "class", "pair", "class"]
    # Every pair was seen once: with min_days=2 all rows back off to MCSTAT.
    strict = MCEVOL(min_days=2).fit(frame, counts > 0, n_events=counts)
    assert strict.pair_rate_ == {}
    np.testing.assert_allclose(
        strict.predict_proba(frame), MCSTAT().fit(frame, None, counts).predict_proba(frame)
    )
    assert strict.backoff_counts(frame) == {"pair": 0, "class": 8, "zurich": 0, "climatology": 0}
    with pytest.raises(ConfigError, match="'min_days' parameter of MCEVOL must be an int >= 1"):
        MCEVOL(min_days=0).fit(frame, counts > 0)
    with pytest.raises(DataError, match="prev_mcintosh"):
        model.predict_proba(frame.drop(columns=PREV_CLASS))


def test_climatology_and_persistence_match_hand_computation():
    frame, counts = _frame(ROWS)
    y = (counts > 0).astype(int)  # flare-days: r1d2 and r1d3 -> 2 of 8
    clim = Climatology().fit(frame, y)
    assert clim.base_rate_ == 0.25
    np.testing.assert_allclose(clim.predict_proba(frame[:2]), [[0.75, 0.25], [0.75, 0.25]])
    pers = Persistence().fit(frame, y)
    # After an event day: only r1d3 (previous r1d2 flared), which flared -> 1/1.
    # Otherwise: the 7 other rows, of which r1d2 flared -> 1/7.
    assert pers.p_after_event_ == 1.0
    assert pers.p_otherwise_ == pytest.approx(1 / 7)
    np.testing.assert_allclose(pers.predict_proba(frame)[:, 1], [1 / 7, 1 / 7, 1, *[1 / 7] * 5])


def test_unfitted_and_bad_input_raise():
    frame, counts = _frame(ROWS)
    with pytest.raises(ConfigError, match="not fitted yet"):
        MCSTAT().predict_proba(frame)
    with pytest.raises(DataError, match="Event counts must be 8 finite numbers >= 0"):
        MCSTAT().fit(frame, counts, n_events=-counts)
    with pytest.raises(DataError, match="Labels must be 8 values of 0 or 1"):
        Climatology().fit(frame, counts)
    with pytest.raises(DataError, match="prev_event"):
        Persistence().fit(frame.drop(columns=PREV_EVENT), counts > 0)
