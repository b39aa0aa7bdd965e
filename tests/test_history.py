"""Flare-history features from hand-made catalogues: strictly before the snapshot, own region only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flarecast.errors import ConfigError, DataError, SchemaError
from flarecast.features.history import NO_FLARE_LOG_FLUX, flare_history, history_columns
from flarecast.labels import label_records

T0 = pd.Timestamp("2014-01-10 12:00", tz="UTC")


def _events(rows: list[tuple[object, str, str, float]]) -> pd.DataFrame:
    """(region, start, peak, flux) rows."""
    events = pd.DataFrame(
        {
            "start": pd.to_datetime([s for _, s, _, _ in rows], utc=True),
            "peak": pd.to_datetime([p for _, _, p, _ in rows], utc=True),
            "peak_flux": [f for _, _, _, f in rows],
            "noaa_ar": pd.array([r for r, _, _, _ in rows], dtype="Int64"),
        }
    )
    events.attrs = {"coverage_start": "2014-01-01", "coverage_end": "2014-01-31"}
    return events


def _records(rows: list[tuple[object, pd.Timestamp]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"noaa_ar": pd.array([r for r, _ in rows], dtype="Int64"), "time": [t for _, t in rows]}
    )


CATALOGUE = _events(
    [
        (1, "2014-01-09 10:00", "2014-01-09 11:00", 2e-5),  # 25 h before T0: 48 h window only
        (1, "2014-01-09 13:00", "2014-01-09 14:00", 3e-6),  # 22 h before: both windows
        (1, "2014-01-10 11:30", "2014-01-10 12:00", 1e-4),  # peaks at T0 itself: never
        (1, "2014-01-10 11:50", "2014-01-10 12:10", 5e-4),  # started before T0, peaks after: never
        (2, "2014-01-10 09:00", "2014-01-10 10:00", 1e-3),  # another region: never for region 1
        (None, "2014-01-10 10:00", "2014-01-10 10:30", 1e-2),  # no region: cannot be attributed
    ]
)


def test_counts_and_largest_class_by_hand() -> None:
    records = _records([(1, T0), (2, T0), (3, T0), (1, T0 + pd.Timedelta("1min"))])
    hist = flare_history(records, CATALOGUE)
    assert (
        list(hist.columns)
        == history_columns(("24h", "48h"))
        == [
            "history_count_prev_24h",
            "history_max_log_flux_prev_24h",
            "history_count_prev_48h",
            "history_max_log_flux_prev_48h",
        ]
    )
    np.testing.assert_array_equal(hist["history_count_prev_24h"], [1, 1, 0, 2])
    np.testing.assert_array_equal(hist["history_count_prev_48h"], [2, 1, 0, 3])
    np.testing.assert_allclose(
        hist["history_max_log_flux_prev_24h"], [np.log10(3e-6), -3.0, NO_FLARE_LOG_FLUX, -4.0]
    )
    np.testing.assert_allclose(
        hist["history_max_log_flux_prev_48h"], [np.log10(2e-5), -3.0, NO_FLARE_LOG_FLUX, -4.0]
    )
    assert hist.attrs["events_without_region"] == 1


def test_window_edges_are_open_at_both_ends() -> None:
    events = _events([(1, "2014-01-09 11:00", "2014-01-09 12:00", 1e-5)])  # exactly 24 h before T0
    hist = flare_history(_records([(1, T0), (1, T0 - pd.Timedelta("1ns"))]), events, ["24h"])
    np.testing.assert_array_equal(hist["history_count_prev_24h"], [0, 1])


def test_row_and_event_order_do_not_matter(rng: np.random.Generator) -> None:
    n_events, n_records = 300, 200
    start = pd.Timestamp("2014-01-03", tz="UTC")
    peaks = start + pd.to_timedelta(rng.integers(0, 20 * 24, n_events), unit="h")
    events = pd.DataFrame(
        {
            "start": peaks - pd.Timedelta("20min"),
            "peak": peaks,
            "peak_flux": 10.0 ** rng.uniform(-7, -4, n_events),
            "noaa_ar": pd.array(rng.integers(1, 6, n_events), dtype="Int64"),
        }
    )
    events.attrs = {"coverage_start": "2014-01-01", "coverage_end": "2014-01-31"}
    records = _records(
        [
            (int(r), start + pd.Timedelta(hours=int(h)))
            for r, h in zip(
                rng.integers(1, 7, n_records), rng.integers(0, 20 * 24, n_records), strict=True
            )
        ]
    )
    hist = flare_history(records, events)
    shuffled = flare_history(records.sample(frac=1.0, random_state=2), events.sample(frac=1.0))
    pd.testing.assert_frame_equal(shuffled.loc[hist.index], hist)
    # brute force, one record at a time
    for i in records.index[:60]:
        r, t = records.loc[i, "noaa_ar"], records.loc[i, "time"]
        for h in (24, 48):
            own = events[(events["noaa_ar"] == r) & (events["peak"] < t)]
            own = own[own["peak"] > t - pd.Timedelta(hours=h)]
            assert hist.loc[i, f"history_count_prev_{h}h"] == len(own)
            top = np.log10(own["peak_flux"].max()) if len(own) else NO_FLARE_LOG_FLUX
            assert hist.loc[i, f"history_max_log_flux_prev_{h}h"] == pytest.approx(top)


def test_agrees_with_the_labeller_history_where_no_flare_peaks_at_the_snapshot_time() -> None:
    records = _records([(1, T0 - pd.Timedelta("30min")), (2, T0), (1, T0 + pd.Timedelta("3h"))])
    hist = flare_history(records, CATALOGUE, ["24h"])
    labelled = label_records(records, CATALOGUE, history="24h")
    largest = labelled["history_max_flux_prev_24h"].to_numpy()
    np.testing.assert_allclose(
        hist["history_max_log_flux_prev_24h"],
        np.where(largest > 0, np.log10(np.where(largest > 0, largest, 1.0)), NO_FLARE_LOG_FLUX),
    )


def test_unknown_history_is_nan_and_counted() -> None:
    records = _records(
        [(None, T0), (1, pd.Timestamp("2014-01-01 20:00", tz="UTC")), (1, T0)]
    )  # no region; window starts before the coverage; known
    hist = flare_history(records, CATALOGUE, ["24h"])
    assert np.isnan(hist.iloc[0]).all() and np.isnan(hist.iloc[1]).all()
    assert hist.iloc[2].notna().all()
    assert hist.attrs["records_without_region"] == 1
    assert hist.attrs["records_outside_coverage"] == {"24h": 1}


def test_bad_inputs_are_refused() -> None:
    records = _records([(1, T0)])
    with pytest.raises(ConfigError, match="'windows' parameter must be a duration.*with a unit"):
        flare_history(records, CATALOGUE, [24])
    with pytest.raises(ConfigError, match="distinct"):
        flare_history(records, CATALOGUE, ["24h", "1440min"])
    with pytest.raises(SchemaError, match=r"lack column\(s\) \['peak'\]"):
        flare_history(records, CATALOGUE.drop(columns="peak"))
    with pytest.raises(SchemaError, match="timezone-aware"):
        flare_history(records.assign(time=records["time"].dt.tz_localize(None)), CATALOGUE)
    with pytest.raises(DataError, match=r"peak_flux must be finite.*row 1: -1.0"):
        flare_history(records, CATALOGUE.assign(peak_flux=[1e-5, -1.0, 1e-5, 1e-5, 1e-5, 1e-5]))
    with pytest.raises(DataError, match="no 'noaa_ar' values"):
        flare_history(records, CATALOGUE.assign(noaa_ar=pd.array([None] * 6, dtype="Int64")))


def test_coverage_is_read_as_the_labeller_reads_it() -> None:
    records = _records([(1, T0), (1, T0 + pd.Timedelta("30D"))])
    naive = flare_history(records, CATALOGUE, coverage=("2014-01-01", "2014-01-31"))
    zoned = flare_history(
        records, CATALOGUE, coverage=("2014-01-01T01:00+01:00", "2014-01-31T00:00Z")
    )
    pd.testing.assert_frame_equal(naive, zoned)
    assert np.isnan(naive["history_count_prev_24h"].iloc[1])  # after the coverage's end
    for bad in (("now", "2014-01-31"), ("2014-01-01",), 20140101):
        with pytest.raises(ConfigError, match="'coverage' parameter must be two times"):
            flare_history(records, CATALOGUE, coverage=bad)
