"""The SYNTHETIC demo generator: determinism, shape, magnitudes, class balance, consistent labels, signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from flarecast.data.schema import SHARP_UNITS, feature_columns, validate_labelled
from flarecast.data.synthetic import (
    FEATURES,
    _window_max,
    demo_catalogue,
    demo_dataset,
    demo_sharp_series,
)
from flarecast.errors import ConfigError
from flarecast.features.transforms import FeatureTransformer
from flarecast.goes import flux_to_class, parse_goes_class
from flarecast.splits import region_kfold
from flarecast.targets import make_targets

SMALL = {"n_regions": 60, "days": 60}


@pytest.fixture(scope="module")
def demo():
    return demo_dataset(0)


@pytest.fixture(scope="module")
def small_series():
    return demo_sharp_series(3, **SMALL)


@pytest.fixture(scope="module")
def small_catalogue():
    return demo_catalogue(3, **SMALL)


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = demo_dataset(5, **SMALL), demo_dataset(5, **SMALL), demo_dataset(6, **SMALL)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.sha256 == b.sha256
    assert a.sha256 != c.sha256
    pd.testing.assert_frame_equal(demo_catalogue(5, **SMALL), demo_catalogue(5, **SMALL))
    assert not demo_catalogue(5, **SMALL)["peak"].equals(demo_catalogue(6, **SMALL)["peak"])


def test_series_columns_and_types(small_series):
    s = small_series
    assert list(s.columns) == [
        "time",
        "harpnum",
        "noaa_ar",
        "LON_FWT",
        "LAT_FWT",
        "QUALITY",
        *FEATURES,
    ]
    assert str(s["time"].dtype) == "datetime64[ns, UTC]"
    assert s["noaa_ar"].dtype == "Int64" and s["harpnum"].dtype == "Int64"
    assert s["noaa_ar"].min() >= 11158 and s["noaa_ar"].max() < 100000
    assert s["noaa_ar"].nunique() == SMALL["n_regions"]
    # One region per HARP and per NOAA number.
    assert (s.groupby("harpnum")["noaa_ar"].nunique() == 1).all()
    assert set(FEATURES) <= set(SHARP_UNITS)
    assert np.isfinite(s[list(FEATURES)].to_numpy()).all()
    assert not s.duplicated(["time", "noaa_ar"]).any()
    assert s["time"].is_monotonic_increasing


def test_series_magnitudes_like_sharp(small_series):
    med = small_series[list(FEATURES)].median()
    assert 1e20 < med["USFLUX"] < 1e23  # Mx
    assert 1e21 < med["TOTPOT"] < 1e24  # erg/cm
    assert 1e11 < med["TOTUSJZ"] < 1e14  # A
    assert 10 < med["TOTUSJH"] < 1e4  # G^2/m
    assert 10 < med["AREA_ACR"] < 5000  # micro-hemispheres
    assert 10 < med["MEANSHR"] < 60  # deg
    assert (small_series["R_VALUE"] >= 0).all() and (small_series["R_VALUE"] == 0).any()
    assert small_series["SHRGT45"].between(0, 100).all()
    # Signed quantities take both signs.
    assert (small_series["MEANJZH"] < 0).any() and (small_series["MEANJZH"] > 0).any()


def test_regions_rotate_across_the_disk(small_series):
    s = small_series
    assert s["LON_FWT"].between(-90, 90).all()
    assert s["LON_FWT"].min() < -85 and s["LON_FWT"].max() > 85
    assert s["LAT_FWT"].abs().max() < 45
    assert (s["QUALITY"] == 0).mean() > 0.9 and (s["QUALITY"] != 0).any()
    days = (s["time"] - s["time"].min()).dt.total_seconds() / 86400
    rates = [
        np.polyfit(days[g.index], g["LON_FWT"], 1)[0]
        for _, g in s.groupby("noaa_ar")
        if len(g) > 48
    ]
    # Synodic rotation: about 13.3 deg/day, i.e. limb to limb in about 13.5 days.
    assert 12.0 < np.median(rates) < 14.5


def test_coarser_cadence_is_a_subset_of_hourly_records(small_series):
    six = demo_sharp_series(3, cadence="6h", **SMALL)
    assert (six["time"].dt.hour % 6 == 0).all()
    merged = six.merge(small_series, on=["time", "noaa_ar"], suffixes=("", "_1h"))
    assert len(merged) == len(six)
    np.testing.assert_array_equal(merged["TOTPOT"], merged["TOTPOT_1h"])


def test_catalogue_is_consistent(small_series, small_catalogue):
    cat = small_catalogue
    assert list(cat.columns) == [
        "start",
        "peak",
        "end",
        "goes_class",
        "peak_flux",
        "noaa_ar",
        "source",
    ]
    assert all(str(cat[c].dtype) == "datetime64[ns, UTC]" for c in ("start", "peak", "end"))
    assert cat["noaa_ar"].dtype == "Int64"
    assert (cat["source"] == "SYNTHETIC demo").all()
    assert cat["peak"].is_monotonic_increasing
    assert ((cat["start"] <= cat["peak"]) & (cat["peak"] <= cat["end"])).all()
    np.testing.assert_array_equal(parse_goes_class(cat["goes_class"]), cat["peak_flux"])
    # Every attributed flare belongs to a region while that region is on the disk.
    span = small_series.groupby("noaa_ar")["time"].agg(["min", "max"])
    attributed = cat[cat["noaa_ar"].notna()]
    assert set(attributed["noaa_ar"]) <= set(span.index)
    lo = span.loc[attributed["noaa_ar"], "min"].reset_index(drop=True)
    hi = span.loc[attributed["noaa_ar"], "max"].reset_index(drop=True)
    peak = attributed["peak"].reset_index(drop=True)
    assert (peak >= lo).all() and (peak <= hi + pd.Timedelta("1h")).all()


def test_catalogue_leaves_weak_flares_unattributed():
    cat = demo_catalogue(0)
    weak = cat["peak_flux"] < 1e-5
    share = cat.loc[weak, "noaa_ar"].isna().mean()
    assert 0.10 < share < 0.20
    assert cat.loc[~weak, "noaa_ar"].notna().all()
    letters = cat["goes_class"].str[0].value_counts()
    assert letters["C"] > letters["M"] > letters["X"] > 0
    assert letters.get("A", 0) < 0.05 * len(cat)


def test_dataset_is_labelled_synthetic_and_valid(demo):
    assert demo.synthetic and demo.name == "demo" and not demo.flaring_only
    assert any("SYNTHETIC" in note for note in demo.notes)
    assert "SYNTHETIC" in demo.window and "24 h" in demo.window
    assert demo.features == FEATURES
    assert feature_columns(demo.frame) == list(FEATURES)
    validate_labelled(demo.frame, "demo")
    assert "QUALITY" not in demo.frame.columns
    assert 8_000 <= len(demo.frame) <= 12_000
    assert 300 <= demo.frame["noaa_ar"].nunique() <= 500
    assert (demo.frame["time"].dt.hour % 6 == 0).all()


def test_dataset_class_balance_like_real_sets(demo):
    letters = demo.frame["goes_class"].str[0]
    counts = letters.value_counts()
    flaring = (letters != "N").sum()
    assert set(counts.index) == {"N", "A", "B", "C", "M", "X"}
    assert counts["N"] > len(letters) / 2
    assert counts["X"] >= 30
    assert 0.003 <= counts["X"] / flaring <= 0.012
    assert 0.01 <= counts["M"] / len(letters) <= 0.06
    assert counts["C"] > 3 * counts["M"]
    assert counts["A"] < 0.01 * len(letters)


def test_labels_match_a_brute_force_reading_of_the_catalogue():
    ds = demo_dataset(2, **SMALL)
    cat = demo_catalogue(2, **SMALL)
    frame = ds.frame
    rows = np.random.default_rng(0).choice(len(frame), 300, replace=False)
    for i in rows:
        t, ar = frame["time"].iloc[i], frame["noaa_ar"].iloc[i]
        hits = cat[
            (cat["noaa_ar"] == ar) & (cat["peak"] > t) & (cat["peak"] <= t + pd.Timedelta("24h"))
        ]
        assert frame["peak_flux"].iloc[i] == (hits["peak_flux"].max() if len(hits) else 0.0)
    np.testing.assert_array_equal(frame["goes_class"], flux_to_class(frame["peak_flux"]))
    # Rows whose window would run past the simulated period are not labelled.
    assert frame["time"].max() + pd.Timedelta("24h") <= pd.Timestamp(
        "2011-01-01", tz="UTC"
    ) + pd.Timedelta(days=60)


def test_window_max_is_left_open_right_closed():
    t0 = pd.Timestamp("2012-03-07 00:00", tz="UTC")
    rows = pd.DataFrame(
        {"time": [t0, t0, t0], "noaa_ar": pd.array([11429, 11430, 11431], dtype="Int64")}
    )
    cat = pd.DataFrame(
        {
            "peak": [
                t0,
                t0 + pd.Timedelta("24h"),
                t0 + pd.Timedelta("1h"),
                t0 + pd.Timedelta("2h"),
            ],
            "peak_flux": [5.4e-4, 1.3e-5, 2.0e-6, 9.0e-5],
            "noaa_ar": pd.array([11429, 11429, 11430, pd.NA], dtype="Int64"),
        }
    )
    # 11429: the X5.4 at t is excluded, the M1.3 at t + 24 h included; 11431: the unattributed M9 is ignored.
    np.testing.assert_array_equal(
        _window_max(rows, cat, pd.Timedelta("24h")), [1.3e-5, 2.0e-6, 0.0]
    )


def test_logistic_regression_has_clear_but_imperfect_skill(demo):
    targets = make_targets(demo)
    X = targets.frame[list(FEATURES)]
    scores = np.zeros(len(targets.y))
    for train, test in region_kfold(targets.y, targets.groups, n_splits=5, seed=0):
        model = make_pipeline(FeatureTransformer(), LogisticRegression(max_iter=1000))
        model.fit(X.iloc[train], targets.y[train])
        scores[test] = model.predict_proba(X.iloc[test])[:, 1]
    auc = roc_auc_score(targets.y, scores)
    assert 0.65 < auc < 0.95
    # Control: the same pipeline on shuffled labels has no skill, even in-sample.
    shuffled = np.random.default_rng(1).permutation(targets.y)
    model = make_pipeline(FeatureTransformer(), LogisticRegression(max_iter=1000)).fit(X, shuffled)
    assert abs(roc_auc_score(shuffled, model.predict_proba(X)[:, 1]) - 0.5) < 0.1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_regions": 0}, "'n_regions' parameter must be an int >= 1"),
        ({"days": 5}, "'days' parameter must be an int >= 14"),
        ({"seed": -1}, "'seed' parameter must be an int >= 0"),
        ({"sample": "90min"}, "'sample' parameter must be a whole number of hours"),
        ({"sample": "often"}, "'sample' parameter must be a positive duration"),
        ({"window": "-1h"}, "'window' parameter must be a positive duration"),
    ],
)
def test_bad_sizes_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        demo_dataset(**{"n_regions": 20, "days": 30, **kwargs})


def test_bad_cadence_is_refused():
    with pytest.raises(ConfigError, match="'cadence' parameter must be a whole number of hours"):
        demo_sharp_series(0, cadence="12min", **SMALL)
