"""Evolution features never reach past a row's time and never cross regions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flarecast.errors import ConfigError, DataError, SchemaError
from flarecast.features.evolution import (
    FLARE,
    LEAD,
    evolution_columns,
    evolution_features,
    lead_snapshots,
    previous_records,
    umich_evolution,
)

DAY = pd.Timestamp("2014-01-01", tz="UTC")


def _frame(rows: list[tuple[int, float, float]]) -> pd.DataFrame:
    """(region, days after DAY, value) rows in the given order."""
    return pd.DataFrame(
        {
            "noaa_ar": pd.array([r for r, _, _ in rows], dtype="Int64"),
            "time": [DAY + pd.Timedelta(days=d) for _, d, _ in rows],
            "USFLUX": [v for _, _, v in rows],
        }
    )


def test_two_interleaved_regions_by_hand() -> None:
    frame = _frame(
        [(1, 0, 0.0), (2, 0.5, 100.0), (1, 1, 1.0), (2, 1.5, 200.0), (1, 2, 3.0), (2, 3.5, 250.0)]
    )
    evo = evolution_features(frame, ["USFLUX"], lags=2)
    assert list(evo.columns) == evolution_columns(["USFLUX"], 2)
    assert evo.index.equals(frame.index)
    np.testing.assert_array_equal(evo["USFLUX_diff1"], [np.nan, np.nan, 1, 100, 2, 50])
    np.testing.assert_array_equal(evo["USFLUX_diff2"], [np.nan, np.nan, np.nan, np.nan, 3, 150])
    np.testing.assert_array_equal(evo["hours_since1"], [np.nan, np.nan, 24, 24, 24, 48])
    np.testing.assert_allclose(
        evo["USFLUX_rate1"], [np.nan, np.nan, 1 / 24, 100 / 24, 2 / 24, 50 / 48]
    )
    np.testing.assert_array_equal(evo["hours_since2"], [np.nan] * 4 + [48, 72])


def _random_frame(rng: np.random.Generator, n: int = 80) -> pd.DataFrame:
    """Three regions interleaved, with repeated time stamps inside a region."""
    days = rng.integers(0, 12, size=n) / 2  # many ties
    return pd.DataFrame(
        {
            "noaa_ar": pd.array(rng.integers(11000, 11003, size=n), dtype="Int64"),
            "time": DAY + pd.to_timedelta(days, unit="D"),
            "USFLUX": rng.normal(size=n),
            "TOTPOT": rng.normal(size=n),
        }
    )


def test_shuffled_rows_give_each_row_the_same_features(rng: np.random.Generator) -> None:
    frame = _random_frame(rng)
    frame = frame.drop_duplicates(["noaa_ar", "time"])  # tie order among earlier records aside
    evo = evolution_features(frame, ["USFLUX", "TOTPOT"], lags=3)
    shuffled = frame.sample(frac=1.0, random_state=3)
    again = evolution_features(shuffled, ["USFLUX", "TOTPOT"], lags=3)
    pd.testing.assert_frame_equal(again.loc[frame.index], evo)


def test_every_row_sees_only_its_own_region_up_to_its_own_time(rng: np.random.Generator) -> None:
    """Recomputing a row from its own region's records up to its time gives the same features.

    A window that used a later record, a record of the same time stamp or
    another region's record would change (or lose) a value here.
    """
    frame = _random_frame(rng, n=120)
    features = ["USFLUX", "TOTPOT"]
    evo = evolution_features(frame, features, lags=3)
    assert evo["hours_since1"].notna().sum() > 40  # the check below has histories to look at
    for i in frame.index:
        row = frame.loc[i]
        own = frame[(frame["noaa_ar"] == row["noaa_ar"]) & (frame["time"] <= row["time"])]
        alone = evolution_features(own, features, lags=3)
        pd.testing.assert_series_equal(alone.loc[i], evo.loc[i])
        earlier = own[own["time"] < row["time"]]
        expected = (row["time"] - earlier["time"].max()) / pd.Timedelta("1h")
        assert evo.loc[i, "hours_since1"] == (
            expected if len(earlier) else pytest.approx(np.nan, nan_ok=True)
        )


def test_a_future_record_and_a_same_time_duplicate_are_never_used() -> None:
    base = _frame([(1, 0, 1.0), (1, 1, 2.0)])
    with_future = _frame([(1, 2, 1e9), (1, 0, 1.0), (2, 0.9, -5.0), (1, 1, 2.0), (1, 1, 7.0)])
    evo = evolution_features(with_future, ["USFLUX"], lags=2)
    # rows 3 and 4 share a time: each compares with day 0 only, never with the other
    assert evo.loc[3, "USFLUX_diff1"] == 1.0 and evo.loc[4, "USFLUX_diff1"] == 6.0
    assert np.isnan(evo.loc[3, "USFLUX_diff2"]) and np.isnan(evo.loc[4, "USFLUX_diff2"])
    # the day-0 row of region 1 has no history: not the future row, not region 2's
    assert np.isnan(evo.loc[1, "USFLUX_diff1"])
    assert evolution_features(base, ["USFLUX"]).loc[1, "USFLUX_diff1"] == 1.0


def test_previous_records_positions_and_max_gap() -> None:
    frame = _frame([(1, 0, 0.0), (1, 5, 0.0), (1, 5.5, 0.0), (2, 5.25, 0.0)])
    previous, hours = previous_records(frame["noaa_ar"], frame["time"], lags=2)
    np.testing.assert_array_equal(previous, [[-1, -1], [0, -1], [1, 0], [-1, -1]])
    np.testing.assert_array_equal(hours[2], [12.0, 132.0])
    limited, limited_hours = previous_records(frame["noaa_ar"], frame["time"], 2, max_gap="48h")
    np.testing.assert_array_equal(limited, [[-1, -1], [-1, -1], [1, -1], [-1, -1]])
    assert np.isnan(limited_hours[1, 0])


def test_bad_inputs_are_refused() -> None:
    frame = _frame([(1, 0, 0.0), (1, 1, 1.0)])
    naive = frame.assign(time=frame["time"].dt.tz_localize(None))
    with pytest.raises(SchemaError, match="timezone-aware"):
        evolution_features(naive, ["USFLUX"])
    with pytest.raises(DataError, match=r"missing at row 1"):
        evolution_features(frame.assign(noaa_ar=pd.array([1, None], dtype="Int64")), ["USFLUX"])
    with pytest.raises(SchemaError, match=r"\['TOTPOT'\]"):
        evolution_features(frame, ["TOTPOT"])
    with pytest.raises(ConfigError, match="'lags' parameter"):
        evolution_features(frame, ["USFLUX"], lags=0)
    with pytest.raises(ConfigError, match="'max_gap' parameter.*unit"):
        evolution_features(frame, ["USFLUX"], max_gap=24)


def _lead_table(rows: list[tuple[int, float, str, float]]) -> pd.DataFrame:
    """(region, peak flux, snapshot time, USFLUX) rows of one lead-time file."""
    return pd.DataFrame(
        {
            "time": pd.to_datetime([t for _, _, t, _ in rows], utc=True),
            "noaa_ar": pd.array([r for r, _, _, _ in rows], dtype="Int64"),
            "goes_class": "M1.0",
            "peak_flux": [f for _, f, _, _ in rows],
            "USFLUX": [v for _, _, _, v in rows],
        }
    )


def _lead_tables() -> dict[int, pd.DataFrame]:
    """Three flares: F0 and F1 of region 1 with one flux, peaks 2 h apart; F2 of region 2.

    F0 peaks 2014-01-03 00:00, F1 02:00, F2 00:00. The 12 h file holds F0's
    snapshot taken after its 24 h forecast time; it must never be used.
    """
    return {
        24: _lead_table(
            [
                (1, 1e-5, "2014-01-02 00:00", 10.0),
                (1, 1e-5, "2014-01-02 02:00", 20.0),
                (2, 1e-5, "2014-01-02 00:00", 30.0),
            ]
        ),
        36: _lead_table(
            [
                (2, 1e-5, "2014-01-01 12:00", 29.0),
                (1, 1e-5, "2014-01-01 12:12", 9.0),  # F0: peak estimate 12 min off
                (1, 2e-5, "2014-01-01 14:00", 99.0),  # another flux: another flare
            ]
        ),
        48: _lead_table([(1, 1e-5, "2014-01-01 02:00", 17.0)]),  # F1 only
        12: _lead_table([(1, 1e-5, "2014-01-02 12:00", 1e6)]),
    }


def test_lead_snapshots_join_one_flare_and_nothing_after_its_forecast_time() -> None:
    tables = _lead_tables()
    long = lead_snapshots(tables, 24, ["USFLUX"])
    assert sorted(long[LEAD].unique()) == [24, 36, 48]
    assert long.groupby(FLARE)["noaa_ar"].nunique().eq(1).all()
    got = {(f, lead): v for f, lead, v in long[[FLARE, LEAD, "USFLUX"]].itertuples(index=False)}
    assert got == {
        (0, 24): 10.0,
        (0, 36): 9.0,
        (1, 24): 20.0,
        (1, 48): 17.0,
        (2, 24): 30.0,
        (2, 36): 29.0,
    }
    evo = umich_evolution(tables, 24, ["USFLUX"])
    np.testing.assert_array_equal(evo["USFLUX_diff1"], [1.0, 3.0, 1.0])
    np.testing.assert_array_equal(evo["hours_since1"], [11.8, 24.0, 12.0])
    assert evo["USFLUX_diff2"].isna().all()


def test_lead_snapshots_ignore_row_order() -> None:
    tables = _lead_tables()
    shuffled = {h: t.sample(frac=1.0, random_state=1) for h, t in tables.items()}
    evo = umich_evolution(tables, 24, ["USFLUX"])
    again = umich_evolution(shuffled, 24, ["USFLUX"])
    assert again.index.equals(shuffled[24].index)
    pd.testing.assert_frame_equal(again.loc[evo.index], evo)


def test_umich_files_join_without_reaching_past_the_forecast_time(data_dir) -> None:
    from flarecast.data.tables.per_flare import UMICH_FEATURES, read_umich

    folder = data_dir / "umich_arflares"
    tables = {h: read_umich(folder / f"arflares{h}h.csv").frame for h in (6, 12, 24, 36, 48)}
    long = lead_snapshots(tables, 24, UMICH_FEATURES)
    target = tables[24].reset_index(drop=True)
    forecast_time = target["time"].to_numpy()[long[FLARE].to_numpy()]
    earlier = long[LEAD] > 24
    assert (long.loc[earlier, "time"].to_numpy() < forecast_time[earlier.to_numpy()]).all()
    assert (long["noaa_ar"].to_numpy() == target["noaa_ar"].to_numpy()[long[FLARE]]).all()
    assert set(long[LEAD]) == {24, 36, 48}
    counts = long[LEAD].value_counts()
    assert (
        counts[24] == len(target)
        and counts[36] > 0.85 * len(target)
        and counts[48] > 0.8 * len(target)
    )
    evo = umich_evolution(tables, 24, UMICH_FEATURES)
    only_longer = umich_evolution({h: tables[h] for h in (24, 36, 48)}, 24, UMICH_FEATURES)
    pd.testing.assert_frame_equal(evo, only_longer)
    assert evo["hours_since1"].dropna().between(11.5, 24.5).all()


def test_lead_tables_without_a_region_are_refused() -> None:
    tables = _lead_tables()
    tables[36] = tables[36].assign(noaa_ar=pd.array([2, None, 1], dtype="Int64"))
    with pytest.raises(DataError, match=r"36 h table's 'noaa_ar' is missing at row 1"):
        lead_snapshots(tables, 24, ["USFLUX"])
