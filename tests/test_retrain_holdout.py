"""How a retrain chooses its hold-out and finds the base model's label window (small, exact cases)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flarecast.data.catalogues.read import read_catalogue
from flarecast.data.sharp.series import read_sharp_series
from flarecast.data.synthetic import demo_dataset
from flarecast.labels import labelled_table
from flarecast.retrain.holdout import default_start, holdout_split, suggest_start
from flarecast.retrain.relabel import (
    DEFAULT_LABELLING,
    choose_labelling,
    label_recipe,
    recipe_from_window,
    recorded_labelling,
)


def _days(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2020-01-01", periods=24 * n, freq="h", tz="UTC")


def test_the_default_holdout_is_the_last_days_when_they_hold_enough_positives():
    index = _days(10)
    y = np.zeros(len(index), dtype=int)
    y[-30:] = 1  # 30 positive rows in the last day and a half
    start, rule = default_start(index, 2, y=y, min_positives=5)
    assert start == pd.Timestamp("2020-01-08", tz="UTC") and rule == "the last 2 days"


def test_a_quiet_end_moves_the_default_holdout_back_to_hold_the_positives():
    index = _days(10)
    y = np.zeros(len(index), dtype=int)
    y[24 * 3 + 5] = y[24 * 3 + 6] = y[24 * 5 + 1] = 1  # days 4 and 6; the last 2 days are quiet
    y[24 * 1 : 24 * 1 + 3] = 1  # and 3 on day 2: 6 positives in all
    start, rule = default_start(index, 2, y=y, min_positives=3)
    # three positives from day 4 on: the latest start that holds them is 2020-01-04
    assert start == pd.Timestamp("2020-01-04", tz="UTC")
    assert rule == (
        "moved back from 2020-01-08 (the last 2 days held 0 positive rows) "
        "to hold at least 3 positive rows"
    )
    train, test, info = holdout_split(
        index, np.arange(len(index)), gap="1h", days=2, y=y, min_positives=3
    )
    assert info["start"] == "2020-01-04T00:00:00+00:00" and int(y[test].sum()) == 3
    assert int(y[train].sum()) == 3 and info["rule"] == rule


def test_the_hold_out_never_takes_more_than_half_of_the_positives():
    index = _days(10)
    y = np.zeros(len(index), dtype=int)
    y[[10, 30, 100, 150]] = 1  # four positives, all long before the last two days
    start, _ = default_start(index, 2, y=y, min_positives=20)
    assert int(y[np.asarray(index >= start)].sum()) == 2  # half, not 20 (training keeps two)
    assert start == pd.Timestamp("2020-01-05", tz="UTC")


def test_min_positives_zero_or_no_labels_keep_the_last_days():
    index = _days(10)
    y = np.zeros(len(index), dtype=int)
    y[5] = y[6] = 1
    for kwargs in ({"y": y, "min_positives": 0}, {}):
        assert default_start(index, 2, **kwargs)[0] == pd.Timestamp("2020-01-08", tz="UTC")


def test_suggest_start_is_the_latest_day_holding_n_positives():
    index = _days(5)
    y = np.zeros(len(index), dtype=int)
    y[[3, 50, 51, 100]] = 1
    assert suggest_start(index, y, 1) == pd.Timestamp("2020-01-05", tz="UTC")
    assert suggest_start(index, y, 3) == pd.Timestamp("2020-01-03", tz="UTC")
    assert suggest_start(index, y, 5) is None and suggest_start(index, y, 0) is None


def test_the_library_refuses_a_naive_holdout_start_and_words():
    from flarecast.errors import ConfigError

    index = _days(3)
    _, test, info = holdout_split(index, np.arange(72), gap="1h", start="2020-01-02T00:00+02:00")
    assert info["start"] == "2020-01-01T22:00:00+00:00" and test[0] == 22
    with pytest.raises(ConfigError, match="'holdout_start' parameter must be timezone-aware"):
        holdout_split(index, np.arange(72), gap="1h", start="2020-01-02T00:00")
    with pytest.raises(ConfigError, match="written out as a date"):
        holdout_split(index, np.arange(72), gap="1h", start="today")


@pytest.mark.parametrize(
    ("latency", "horizon", "event_time"), [("0h", "24h", "peak"), ("6h", "12h", "start")]
)
def test_the_window_of_a_flarecast_label_table_gives_back_its_recipe(latency, horizon, event_time):
    series = read_sharp_series("demo")
    series = series[series["noaa_ar"] < series["noaa_ar"].min() + 5]
    table = labelled_table(
        series, read_catalogue("demo"), horizon=horizon, latency=latency, event_time=event_time
    )
    recipe = {"horizon": horizon, "latency": latency, "event_time": event_time}
    assert recipe_from_window(table.attrs["window"]) == recipe
    assert label_recipe(table.attrs) == {
        **recipe,
        "catalogue": table.attrs["catalogue_source"],
        **(
            {"catalogue_sha256": table.attrs["catalogue_sha256"]}
            if table.attrs["catalogue_sha256"]
            else {}
        ),
    }


def test_the_windows_of_the_registered_tables():
    assert recipe_from_window(demo_dataset(n_regions=5, days=14).window) == DEFAULT_LABELLING
    hollanda = "largest GOES flare of the same NOAA region starting in {} (sunpy/SWPC event list)"
    assert recipe_from_window(hollanda.format("(T_REC, T_REC+24h]")) == {
        "horizon": "24h",
        "latency": "0h",
        "event_time": "start",
    }
    assert recipe_from_window(hollanda.format("(T_REC+24h, T_REC+48h]")) == {
        "horizon": "24h",
        "latency": "24h",
        "event_time": "start",
    }
    assert recipe_from_window("the flare itself: goes_class is a flare of the region") is None
    assert recipe_from_window("") is None and label_recipe({"window": "x"}) is None


def test_the_real_hollanda_table_records_start_times(data_dir, monkeypatch):
    from flarecast.data.tables.read import load_dataset

    monkeypatch.setenv("FLARECAST_DATA_DIR", str(data_dir))
    window = load_dataset("hollanda-2019").window
    assert recipe_from_window(window) == {"horizon": "24h", "latency": "0h", "event_time": "start"}


def test_recorded_labelling_prefers_lineage_then_structured_then_window():
    window = "largest listed flare of the region with peak in (t, t + 24 h] (SYNTHETIC)"
    lineage = {"labelling": {"horizon": "12h", "latency": "0h", "event_time": "start", "x": 1}}
    structured = {"horizon": "48h", "latency": "0h", "event_time": "start"}
    meta = {"extra": {"lineage": lineage}, "data": {"labelling": structured, "window": window}}
    assert recorded_labelling(meta) == (
        {"horizon": "12h", "latency": "0h", "event_time": "start"},
        "lineage",
    )
    del meta["extra"]
    assert recorded_labelling(meta) == (structured, "data.labelling")
    del meta["data"]["labelling"]
    assert recorded_labelling(meta) == (DEFAULT_LABELLING, "data.window")
    assert recorded_labelling({"data": {"window": "unspecified"}}) == ({}, "")


def test_options_override_the_record_and_the_default_fills_the_rest():
    labelling, source = choose_labelling(
        {"event_time": "start", "horizon": "12h"}, "data.window", {"horizon": "6h"}
    )
    assert labelling == {"horizon": "6h", "latency": "0h", "event_time": "start"}
    assert source == {
        "horizon": "option",
        "latency": "default",
        "event_time": "base model (data.window)",
    }
