"""The forecast core: which record, which flags, which probabilities, and the full disk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flarecast.errors import ConfigError, SchemaError
from flarecast.forecast.config import ForecastConfig, ModelInfo
from flarecast.forecast.core import full_disk_probability, make_forecast
from flarecast.forecast.records import latest_records, location_string
from flarecast.forecast.support import forecast_support, training_range, x_climatology

T0 = pd.Timestamp("2014-01-02T00:00:00Z")
FEATURES = ("USFLUX", "MEANSHR")


class LogisticOnFlux:
    """Any object with predict_proba will do; this one is monotone in USFLUX and records its inputs."""

    def __init__(self, shift: float = 22.0):
        self.shift = shift
        self.seen: list[pd.DataFrame] = []

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        self.seen.append(X.copy())
        p = 1.0 / (1.0 + np.exp(-(np.log10(X["USFLUX"].to_numpy()) - self.shift) * 4))
        return np.column_stack([1 - p, p])


def _records(rows: list[dict]) -> pd.DataFrame:
    base = {
        "noaa_ar": pd.NA,
        "harpnum": pd.NA,
        "LON_FWT": 0.0,
        "LAT_FWT": 10.0,
        "USFLUX": 1e22,
        "MEANSHR": 40.0,
    }
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["noaa_ar"] = frame["noaa_ar"].astype("Int64")
    frame["harpnum"] = frame["harpnum"].astype("Int64")
    return frame


def _info(**kw) -> ModelInfo:
    defaults = dict(
        model_id="m-123",
        features=FEATURES,
        target_definition="positive: >= M1.0; negative: N, A, B, C",
        flaring_only=False,
        calibration="platt (test)",
        calibration_method="platt",
        feature_range={"USFLUX": (1e20, 1e23), "MEANSHR": (10.0, 80.0)},
        x_counts=(90, 10),
    )
    return ModelInfo(**{**defaults, **kw})


# -- full disk ----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_full_disk_is_one_minus_product_and_bounded_by_max_and_sum(ps):
    p = np.array(ps)
    full = full_disk_probability(p)
    assert full == pytest.approx(1 - np.prod(1 - p), abs=1e-12)
    assert p.max() - 1e-12 <= full <= min(1.0, p.sum()) + 1e-12
    assert full == pytest.approx(full_disk_probability(p[::-1]), abs=1e-12)  # order does not matter


def test_full_disk_skips_missing_regions_and_is_nan_without_any():
    assert full_disk_probability([0.2, np.nan, 0.5]) == pytest.approx(1 - 0.8 * 0.5)
    assert np.isnan(full_disk_probability([np.nan, np.nan]))
    assert np.isnan(full_disk_probability([]))
    assert full_disk_probability([0.3, 1.0]) == 1.0
    with pytest.raises(ConfigError, match=r"must lie in \[0, 1\]; got values from -0.1 to 0.5"):
        full_disk_probability([-0.1, 0.5])


# -- records ------------------------------------------------------------------------------------


def test_latest_record_at_or_before_issue_time_wins_and_later_ones_are_counted():
    frame = _records(
        [
            {"time": "2014-01-01T12:00Z", "noaa_ar": 11944, "USFLUX": 1e21},
            {
                "time": "2014-01-02T00:00Z",
                "noaa_ar": 11944,
                "USFLUX": 2e21,
            },  # exactly at issue time: used
            {"time": "2014-01-02T06:00Z", "noaa_ar": 11944, "USFLUX": 3e21},  # after: never used
            {"time": "2014-01-01T23:00Z", "noaa_ar": 11946, "USFLUX": 4e21},
        ]
    )
    rec, notes = latest_records(frame, T0)
    assert rec["region"].tolist() == ["11944", "11946"]
    assert rec["USFLUX"].tolist() == [2e21, 4e21]
    assert rec["age_hours"].tolist() == [0.0, 1.0]
    assert any("1 of 4 records after the issue time were not used" in n for n in notes)


def test_unnumbered_regions_fall_back_to_harp_and_old_regions_leave_the_disk():
    frame = _records(
        [
            {
                "time": "2014-01-01T20:00Z",
                "noaa_ar": 0,
                "harpnum": 3563,
            },  # JSOC writes 0 for no NOAA number
            {"time": "2014-01-01T20:00Z", "harpnum": 3570},
            {"time": "2013-12-29T00:00Z", "noaa_ar": 11930},  # 96 h old: rotated off
            {"time": "2014-01-01T20:00Z"},  # no number at all
        ]
    )
    rec, notes = latest_records(frame, T0, ForecastConfig(lookback_hours=72))
    assert rec["region"].tolist() == ["H3563", "H3570"]
    assert any("1 regions last seen more than 72 h" in n for n in notes)
    assert any("1 records with neither a NOAA nor a HARP number" in n for n in notes)


def test_times_must_be_utc_aware():
    frame = _records([{"time": "2014-01-01T20:00Z", "noaa_ar": 1}])
    with pytest.raises(ConfigError, match=r"issue_time must be timezone-aware"):
        latest_records(frame, pd.Timestamp("2014-01-02"))
    naive = frame.assign(time=frame["time"].dt.tz_localize(None))
    with pytest.raises(SchemaError, match=r"timezone-aware UTC 'time' column"):
        latest_records(naive, T0)
    with pytest.raises(SchemaError, match=r"'noaa_ar' or 'harpnum' column"):
        latest_records(frame.drop(columns=["noaa_ar", "harpnum"]), T0)


# -- flags and probabilities --------------------------------------------------------------------


def _one(frame: pd.DataFrame, **kw):
    fc = make_forecast(frame, kw.pop("model", LogisticOnFlux()), kw.pop("info", _info()), T0, **kw)
    return fc, fc.regions.set_index("region")


def test_every_flag_case_in_one_forecast():
    frame = _records([
        {"time": "2014-01-01T23:00Z", "noaa_ar": 1, "USFLUX": 5e21},                      # clean
        {"time": "2014-01-01T20:00Z", "noaa_ar": 2, "MEANSHR": np.nan},                   # NaN -> no forecast
        {"time": "2013-12-31T18:00Z", "noaa_ar": 3},                                      # 30 h old -> stale
        {"time": "2014-01-01T23:00Z", "noaa_ar": 4, "LON_FWT": -75.0},                    # east limb
        {"time": "2014-01-01T23:00Z", "noaa_ar": 5, "LON_FWT": 70.0},                     # exactly 70: not flagged
        {"time": "2014-01-01T23:00Z", "noaa_ar": 6, "USFLUX": 5e23, "MEANSHR": 5.0},      # above max and below min
        {"time": "2014-01-01T23:00Z", "noaa_ar": 7, "LON_FWT": np.nan},                   # position unknown
        {"time": "2014-01-01T23:00Z", "noaa_ar": 8, "USFLUX": np.inf},                    # inf -> no forecast
    ])  # fmt: skip
    model = LogisticOnFlux()
    fc, r = _one(frame, model=model)
    assert r.loc["1", "flags"] == () and r.loc["1", "status"] == "forecast"
    assert (
        r.loc["2", "status"] == "no_forecast"
        and np.isnan(r.loc["2", "p_m"])
        and np.isnan(r.loc["2", "p_x"])
    )
    assert r.loc["2", "flags"] == ("nan_feature",) and "MEANSHR is nan" in r.loc["2", "reasons"][0]
    assert (
        r.loc["3", "flags"] == ("stale",)
        and "30.0 h before issue time (> 24 h)" in r.loc["3", "reasons"][0]
    )
    assert r.loc["3", "status"] == "forecast"  # stale is a flag, not a refusal
    assert r.loc["4", "flags"] == ("near_limb",) and "-75.0 deg" in r.loc["4", "reasons"][0]
    assert r.loc["5", "flags"] == ()
    assert r.loc["6", "flags"] == ("out_of_range",)
    assert any("USFLUX = 5e+23 above training max 1e+23" in x for x in r.loc["6", "reasons"])
    assert any("MEANSHR = 5 below training min 10" in x for x in r.loc["6", "reasons"])
    assert r.loc["7", "flags"] == ("no_position",) and r.loc["7", "location"] == ""
    assert r.loc["8", "status"] == "no_forecast" and "USFLUX is inf" in r.loc["8", "reasons"][0]
    assert r.loc["1", "location"] == "N10W00"
    # the no-forecast rows never reached the model, and the full disk says it is a lower bound
    assert len(model.seen) == 1 and len(model.seen[0]) == 6
    assert np.isfinite(model.seen[0].to_numpy()).all()
    assert fc.full_disk_m == pytest.approx(1 - np.prod(1 - fc.regions["p_m"].dropna()))
    assert any("2 of 8 regions have no forecast" in w and "lower bound" in w for w in fc.warnings)


def test_a_missing_feature_column_gives_no_forecast_for_every_region_not_a_crash():
    frame = _records(
        [{"time": "2014-01-01T23:00Z", "noaa_ar": 1}, {"time": "2014-01-01T22:00Z", "noaa_ar": 2}]
    )
    model = LogisticOnFlux()
    fc, r = _one(frame.drop(columns=["MEANSHR"]), model=model)
    assert (r["status"] == "no_forecast").all()
    assert all("feature MEANSHR absent from the input" in x[0] for x in r["reasons"])
    assert np.isnan(fc.full_disk_m) and model.seen == []
    assert any("['MEANSHR'] absent from the input" in w for w in fc.warnings)


def test_model_sees_exactly_the_model_features_in_model_order():
    frame = _records(
        [{"time": "2014-01-01T23:00Z", "noaa_ar": 1, "goes_class": "X9.3", "EXTRA": 1.0}]
    )
    model = LogisticOnFlux()
    _one(frame, model=model, info=_info(features=("MEANSHR", "USFLUX")))
    assert list(model.seen[0].columns) == ["MEANSHR", "USFLUX"]  # never the label, never extras


def test_x_probability_from_climatology_is_stated_and_proportional():
    frame = _records([{"time": "2014-01-01T23:00Z", "noaa_ar": 1, "USFLUX": 3e22}])
    fc, r = _one(frame, info=_info(x_counts=(270, 30)))
    assert fc.x_method == "climatology" and fc.x_fraction == pytest.approx(0.1)
    assert r.loc["1", "p_x"] == pytest.approx(0.1 * r.loc["1", "p_m"])
    assert "climatological fraction of X" in fc.x_description and "30 X of 300" in fc.x_description


def test_x_probability_is_unavailable_rather_than_zero_without_x_flares():
    frame = _records([{"time": "2014-01-01T23:00Z", "noaa_ar": 1}])
    for counts, why in (((100, 0), "held no X-class sample"), (None, "neither an X model nor")):
        fc, r = _one(frame, info=_info(x_counts=counts))
        assert (
            fc.x_method == "unavailable"
            and np.isnan(r.loc["1", "p_x"])
            and np.isnan(fc.full_disk_x)
        )
        assert any(why in w for w in fc.warnings)


def test_x_model_is_used_and_capped_at_the_m_probability():
    frame = _records(
        [
            {"time": "2014-01-01T23:00Z", "noaa_ar": 1, "USFLUX": 1e22},
            {"time": "2014-01-01T23:00Z", "noaa_ar": 2, "USFLUX": 1e21},
        ]
    )
    x_model = LogisticOnFlux(shift=21.0)  # more confident than the M model: must be capped
    fc, r = _one(frame, x_model=x_model)
    assert fc.x_method == "x-model"
    np.testing.assert_allclose(r["p_x"], np.minimum(r["p_x"], r["p_m"]))
    assert (r["p_x"] == r["p_m"]).all()
    assert any("capped at P(>=M)" in n for n in fc.notes)


def test_warnings_about_the_model():
    frame = _records([{"time": "2014-01-01T23:00Z", "noaa_ar": 1}])
    fc, _ = _one(
        frame, info=_info(flaring_only=True, calibration_method="none", feature_range=None)
    )
    assert "trained on flaring regions only" in fc.warnings[0]
    assert any("raw model scores, not calibrated" in w for w in fc.warnings)
    assert any("out-of-range check skipped" in w for w in fc.warnings)
    fc, _ = _one(frame, info=_info(flaring_only=None))
    assert "does not say whether its training data included non-flaring regions" in fc.warnings[0]
    fc, _ = _one(frame, info=_info(positive_class="M5.0"))
    assert "positive class is >= M5.0, not >= M1.0" in fc.warnings[0]
    fc, _ = _one(frame)
    assert (
        fc.warnings == ()
    )  # a calibrated all-regions >= M model with a stored range: nothing to warn about


def test_no_region_on_the_disk_is_said_not_zero():
    frame = _records([{"time": "2013-12-20T00:00Z", "noaa_ar": 1}])
    fc, _ = _one(frame)
    assert len(fc.regions) == 0 and np.isnan(fc.full_disk_m)
    assert any("no region has a record within 72 h" in w for w in fc.warnings)


def test_valid_period_follows_the_config():
    frame = _records([{"time": "2014-01-01T23:00Z", "noaa_ar": 1}])
    fc = make_forecast(frame, LogisticOnFlux(), _info(), T0, config=ForecastConfig(valid_hours=48))
    assert (fc.valid_start, fc.valid_end) == (T0, T0 + pd.Timedelta(hours=48))


def test_bad_model_output_is_refused():
    class Broken:
        def predict_proba(self, X):
            return np.column_stack([np.zeros(len(X)), np.full(len(X), np.nan)])

    frame = _records([{"time": "2014-01-01T23:00Z", "noaa_ar": 1}])
    with pytest.raises(ConfigError, match=r"probabilities outside \[0, 1\] or NaN"):
        make_forecast(frame, Broken(), _info(), T0)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"stale_hours": 0}, r"'stale_hours' parameter of ForecastConfig must be a number > 0"),
        ({"stale_hours": 48, "lookback_hours": 24}, r"'lookback_hours' .* must be >= stale_hours"),
        ({"limb_deg": 95}, r"'limb_deg' .* must be <= 90"),
    ],
)
def test_config_is_validated(kw, message):
    with pytest.raises(ConfigError, match=message):
        ForecastConfig(**kw)


# -- training-side helpers ----------------------------------------------------------------------


def test_forecast_support_records_range_counts_and_cutoff():
    X = pd.DataFrame({"USFLUX": [1e21, 5e22, np.nan], "MEANSHR": [30.0, 10.0, 50.0]})
    flux = np.array([0.0, 2e-5, 3e-4])
    times = pd.to_datetime(["2013-01-01T00:00", "2013-06-01T12:00", "2013-03-01T00:00"], utc=True)
    sup = forecast_support(X, flux, times)
    assert sup["feature_range"] == {"USFLUX": [1e21, 5e22], "MEANSHR": [10.0, 50.0]}
    assert sup["x_counts"] == [1, 1]
    assert sup["training_cutoff"] == "2013-06-01T12:00:00Z"
    assert training_range(X, ["MEANSHR"]) == {"MEANSHR": [10.0, 50.0]}
    # classes compared as fluxes: M9.9 is M, X1.0 is X, C9.9 is neither
    assert x_climatology([9.9e-5, 1e-4, 9.9e-6, 0.0]) == (1, 1)


@pytest.mark.parametrize(
    ("lat", "lon", "text"), [(-12.4, 34.6, "S12W35"), (5.0, -70.2, "N05E70"), (np.nan, 10.0, "")]
)
def test_location_string(lat, lon, text):
    assert location_string(lat, lon) == text
