"""Calibration: Platt and isotonic maps, their JSON round trip, and the point of it all (lower Brier)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression

from flarecast.errors import ConfigError, DataError, ModelFileError
from flarecast.evaluation.calibration import (
    CalibratedClassifier,
    Calibrator,
    fit_calibrator,
    load_calibrator,
    reliability_curve,
    save_calibrator,
)
from flarecast.evaluation.calibration_file import CALIBRATION_FILE


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def test_platt_recovers_the_slope_and_intercept_that_generated_the_labels(rng):
    z = rng.normal(0.0, 1.5, 40_000)
    y = (rng.random(z.size) < _sigmoid(2.0 * z - 1.0)).astype(int)
    cal = fit_calibrator(_sigmoid(z), y, "platt")
    assert cal.params["slope"] == pytest.approx(2.0, abs=0.08)
    assert cal.params["intercept"] == pytest.approx(-1.0, abs=0.06)
    assert (cal.n_samples, cal.n_positive) == (z.size, int(y.sum()))


def test_platt_stays_finite_on_perfectly_separable_scores():
    s = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    y = np.array([0, 0, 0, 1, 1, 1])
    cal = fit_calibrator(s, y, "platt")
    assert np.isfinite([cal.params["slope"], cal.params["intercept"]]).all()
    p = cal.transform(s)
    # Platt's smoothed targets (n+ + 1)/(n+ + 2) keep the fit off 0 and 1
    assert p[:3].max() < 0.5 < p[3:].min()
    assert 0 < p.min() and p.max() < 1


def test_isotonic_matches_scikit_learn_inside_and_outside_the_fitted_range(rng):
    s = rng.beta(1, 5, 3000)
    y = (rng.random(s.size) < s**0.5).astype(int)
    cal = fit_calibrator(s, y, "isotonic")
    ref = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(s, y)
    new = np.concatenate([rng.random(500), [0.0, 1.0, s.min() / 2]])
    np.testing.assert_allclose(cal.transform(new), ref.predict(new), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=6, max_size=60),
    st.lists(st.booleans(), min_size=6, max_size=60),
    st.sampled_from(["platt", "isotonic"]),
)
def test_calibrated_probabilities_are_in_unit_interval_and_non_decreasing(scores, labels, method):
    n = min(len(scores), len(labels))
    s, y = np.array(scores[:n]), np.array(labels[:n], dtype=int)
    if y.min() == y.max():
        y[0] = 1 - y[0]
    cal = fit_calibrator(s, y, method)
    grid = np.linspace(0, 1, 101)
    p = cal.transform(grid)
    assert np.all((p >= 0) & (p <= 1))
    if method == "isotonic" or cal.params["slope"] >= 0:
        assert np.all(np.diff(p) >= -1e-12)


@pytest.mark.parametrize("method", ["platt", "isotonic", "none"])
def test_json_round_trip_gives_identical_probabilities(tmp_path, rng, method):
    s = rng.random(400)
    y = (rng.random(400) < s).astype(int)
    cal = fit_calibrator(s, y, method)
    path = save_calibrator(tmp_path, cal)
    assert path == tmp_path / CALIBRATION_FILE
    state = json.loads(path.read_text())  # plain JSON, never a pickle
    assert state["method"] == method and state["format"] == "flarecast-calibration"
    back = load_calibrator(tmp_path)
    np.testing.assert_array_equal(back.transform(s), cal.transform(s))
    assert back == Calibrator.from_dict(cal.to_dict())


def test_nan_scores_stay_missing_instead_of_becoming_a_probability():
    cal = Calibrator("platt", {"slope": 1.3, "intercept": -0.2})
    p = cal.transform([0.2, np.nan, 0.8])
    assert np.isnan(p[1]) and np.isfinite(p[[0, 2]]).all()


def test_fit_rejects_bad_input_with_the_reason():
    with pytest.raises(
        ConfigError,
        match=r"'method' parameter of fit_calibrator must be one of .*'isotonic'.*Got 'beta'",
    ):
        fit_calibrator([0.1, 0.9], [0, 1], "beta")
    with pytest.raises(DataError, match=r"needs both classes"):
        fit_calibrator([0.1, 0.2, 0.3], [0, 0, 0], "platt")
    with pytest.raises(
        DataError, match=r"probabilities in \[0, 1\].*1 of 3 are not, first at index \[1\]"
    ):
        fit_calibrator([0.1, 1.5, 0.3], [0, 1, 0], "platt")
    with pytest.raises(DataError, match=r"same length; got 2 scores and 3 labels"):
        fit_calibrator([0.1, 0.2], [0, 1, 0], "isotonic")
    with pytest.raises(DataError, match=r"0/1 labels; index \[2\] holds \[2\]"):
        fit_calibrator([0.1, 0.2, 0.3], [0, 1, 2], "isotonic")


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (
            {"method": "sigmoid"},
            r"unknown calibration method 'sigmoid'; legal methods are \['platt', 'isotonic', 'none'\]",
        ),
        ({"method": "platt", "params": {"slope": 1.0}}, r"lacks parameter\(s\) \['intercept'\]"),
        ({"method": "platt", "params": {"slope": "x", "intercept": 0}}, r"must be finite numbers"),
        ({"method": "isotonic", "params": {"x": [0, 1], "y": [0.5]}}, r"equal length"),
        (
            {"method": "isotonic", "params": {"x": [0, 1], "y": [0.9, 0.1]}},
            r"y must be non-decreasing",
        ),
        (
            {"method": "isotonic", "params": {"x": [1, 0], "y": [0.1, 0.2]}},
            r"x must be non-decreasing",
        ),
    ],
)
def test_malformed_calibration_files_are_refused(tmp_path, state, message):
    (tmp_path / CALIBRATION_FILE).write_text(
        json.dumps({"format": "flarecast-calibration", **state})
    )
    with pytest.raises(ModelFileError, match=message):
        load_calibrator(tmp_path)


def test_missing_or_garbled_file(tmp_path):
    assert load_calibrator(tmp_path, missing_ok=True) is None
    with pytest.raises(
        ModelFileError, match=r"calibration.json does not exist.*--calibration platt\|isotonic"
    ):
        load_calibrator(tmp_path)
    (tmp_path / CALIBRATION_FILE).write_text("{not json")
    with pytest.raises(ModelFileError, match=r"cannot read calibration JSON"):
        load_calibrator(tmp_path)


def test_reliability_curve_counts_and_frequencies():
    p = np.array([0.05, 0.05, 0.15, 0.95, 1.0])
    y = np.array([0, 1, 0, 1, 1])
    rc = reliability_curve(y, p, n_bins=10)
    assert rc["count"].sum() == 5
    assert rc["count"][0] == 2 and rc["observed_frequency"][0] == 0.5
    assert rc["count"][9] == 2 and rc["mean_forecast"][9] == pytest.approx(0.975)
    assert np.isnan(rc["observed_frequency"][5])


class _Fixed:
    def __init__(self, p: np.ndarray):
        self.p = p

    def predict_proba(self, X):
        return np.column_stack([1 - self.p, self.p])


def test_calibrated_classifier_applies_the_map_to_column_one():
    cal = Calibrator("platt", {"slope": 0.5, "intercept": 0.0})
    p = CalibratedClassifier(_Fixed(np.array([0.1, 0.5, 0.9])), cal).predict_proba(None)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(
        p[:, 1], _sigmoid(0.5 * np.log(np.array([0.1, 0.5, 0.9]) / np.array([0.9, 0.5, 0.1])))
    )


def test_calibrating_a_focal_loss_network_lowers_its_held_out_brier_score():
    """The reason calibration exists: focal-loss scores are not probabilities.

    Train, calibrate and test on disjoint sets of regions of the synthetic demo
    data: the calibrator (fitted on the validation regions only) must bring the
    test regions' Brier score below that of the raw focal scores.
    """
    from flarecast.data.synthetic import demo_dataset
    from flarecast.evaluation.metrics import brier
    from flarecast.training.estimator import FlareClassifier

    ds = demo_dataset(seed=3, n_regions=200, days=180)
    frame = ds.frame
    y = (frame["peak_flux"].to_numpy() >= 1e-5).astype(int)
    X = frame[list(ds.features)]
    regions = np.unique(frame["noaa_ar"].to_numpy(dtype=int))
    np.random.default_rng(0).shuffle(regions)
    part = np.searchsorted(
        [len(regions) // 2, 3 * len(regions) // 4], np.arange(len(regions)), side="right"
    )
    which = dict(zip(regions, part, strict=True))
    fold = frame["noaa_ar"].map(which).to_numpy()
    tr, va, te = fold == 0, fold == 1, fold == 2
    assert y[va].sum() >= 20 and y[te].sum() >= 20  # enough flares on each side to mean something
    clf = FlareClassifier(
        loss="focal", alpha=0.25, gamma=2.0, hidden=(16,), max_epochs=10, patience=4, seed=0
    )
    clf.fit(X[tr], y[tr], validation=(X[va], y[va]))
    raw_val, raw_test = clf.predict_proba(X[va])[:, 1], clf.predict_proba(X[te])[:, 1]
    for method in ("platt", "isotonic"):
        cal = fit_calibrator(raw_val, y[va], method)
        assert brier(y[te], cal.transform(raw_test)) < brier(y[te], raw_test), method
