"""The backtest: no look-ahead, the block resampler, full-disk aggregation, the Murphy decomposition, the CLI."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from flarecast.data.tables.srs import SRS_CATEGORIES
from flarecast.errors import ConfigError
from flarecast.evaluation.backtest import (
    BacktestConfig,
    make_folds,
    murphy,
    run_backtest,
    score,
)
from flarecast.evaluation.backtest_methods import METHODS, make_method
from flarecast.evaluation.backtest_report import paired_differences
from flarecast.evaluation.blocks import block_bootstrap, block_interval, rotation_blocks
from flarecast.evaluation.full_disk import catalogue_days, full_disk, relabel


def region_days(seed: int = 0, years: int = 4, per_day: int = 3) -> pd.DataFrame:
    """A small synthetic region-day table: regions living 10 days, flaring more when large."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2001-01-01 00:30", periods=365 * years, freq="D", tz="UTC")
    rows = []
    for i, day in enumerate(days):
        for k in range(per_day):
            region = 10000 + (i // 10) * per_day + k
            size = rng.integers(0, 4)
            n_m = rng.poisson(0.02 + 0.08 * size)
            rows.append((day, region, "ABDE"[size], "XSAK"[size], "XOIC"[size],
                         ["ALPHA", "BETA", "BETA-GAMMA", "BETA-GAMMA-DELTA"][size],
                         10.0 * 4**size, 2.0 + size, 1.0 + 3 * size, n_m, int(rng.random() < 0.01)))  # fmt: skip
    frame = pd.DataFrame(rows, columns=["time", "noaa_ar", "mcintosh_zurich", "mcintosh_penumbra",
                                        "mcintosh_compactness", "mtwilson", "area_msh", "extent_deg",
                                        "spots", "flares_m", "flares_x"])  # fmt: skip
    frame["flares_c"] = 0
    for col, legal in SRS_CATEGORIES.items():
        frame[col] = pd.Categorical(frame[col], categories=legal)
    return frame


CONFIG = dict(train_until="2002-12-31", validation_years=1, min_validation_events=5, n_boot=0)
# Gradient boosting is the slow one; the look-ahead test keeps it, the others leave it out.
FAST = ("climatology", "persistence", "MCSTAT", "MCEVOL", "logistic regression")


@pytest.mark.parametrize("retrain", ["none", "yearly"])
@pytest.mark.slow
def test_no_test_row_is_used_to_fit_a_model_a_rate_or_a_threshold(retrain):
    frame = region_days()
    # All eight methods on the fixed split; the yearly folds leave out gradient boosting and the
    # networks (slow here), whose fitting path (Learned.fit via the same hook) the fixed split covers.
    methods = tuple(METHODS) if retrain == "none" else FAST
    config = BacktestConfig(retrain=retrain, methods=methods, **CONFIG)
    calls = []
    result = run_backtest(frame, config, fit_hook=lambda *a: calls.append(a))
    folds = {f.name: f for f in make_folds(frame["time"], config)}
    assert len(folds) == (1 if retrain == "none" else 2)
    seen = set()
    for method, fold_name, purpose, rows in calls:
        fold = folds[fold_name]
        seen.add((method, fold_name, purpose))
        used = frame["time"].iloc[rows]
        # Each used row's label day ends no later than the test period starts.
        assert (used.dt.floor("D") + pd.Timedelta(days=1) <= fold.test_start).all()
        assert not np.intersect1d(rows, fold.test).size
        assert (frame["time"].iloc[fold.test] >= fold.test_start).all()
    # Three purposes per method and fold, plus the Platt map of each network on the fixed split.
    networks = [m for m in config.methods if m.endswith("network")]
    assert len(seen) == (len(config.methods) * 3 + len(networks)) * len(folds)
    assert {(m, f) for m, f, purpose in seen if purpose == "calibration"} == {
        (m, f) for m in networks for f in folds
    }
    # Test predictions cover exactly the test rows of each fold, once per method.
    regions = result["regions"]
    for name, fold in folds.items():
        got = regions.loc[regions["fold"] == name]
        assert sorted(got["row"].unique()) == sorted(fold.test)
    for net in networks:
        raw = regions[regions["method"] == net]
        platt = regions[regions["method"] == f"{net} (Platt)"]
        np.testing.assert_array_equal(platt["row"], raw["row"])
        assert not np.allclose(platt["p"], raw["p"]) and platt["p"].between(0, 1).all()


def test_changing_test_labels_changes_no_threshold_rate_or_climatology():
    frame = region_days()
    config = BacktestConfig(**CONFIG, methods=FAST)
    base = run_backtest(frame, config)
    altered = frame.copy()
    test = altered["time"] >= pd.Timestamp("2003-01-01", tz="UTC")
    altered.loc[test, "flares_m"] = 3 - altered.loc[test, "flares_m"].clip(upper=3)
    other = run_backtest(altered, config)
    for key in ("regions", "disk"):
        a, b = base[key], other[key]
        np.testing.assert_array_equal(a["threshold"], b["threshold"])
        np.testing.assert_array_equal(a["clim"], b["clim"])
    assert not np.array_equal(base["regions"]["y"], other["regions"]["y"])
    # Methods that do not read yesterday's label give the same test probabilities.
    for method in ("climatology", "MCSTAT"):
        a = base["regions"].loc[base["regions"]["method"] == method, "p"].to_numpy()
        b = other["regions"].loc[other["regions"]["method"] == method, "p"].to_numpy()
        np.testing.assert_array_equal(a, b)


def test_rotation_blocks_and_block_bootstrap():
    t = pd.to_datetime(["2009-01-01 00:30", "2009-01-27 00:30", "2009-01-28 00:30",
                        "2009-02-23 00:30", "2009-02-24 00:30"], utc=True)  # fmt: skip
    blocks = rotation_blocks(t)
    assert blocks.tolist() == [0, 0, 1, 1, 2]
    resamples = block_bootstrap(blocks, n_boot=50, seed=3)
    sizes = {0: 2, 1: 2, 2: 1}
    for idx in resamples:
        drawn = pd.Series(blocks[idx]).value_counts()
        # Whole blocks only: each block's rows appear together, a multiple of its size.
        for b, count in drawn.items():
            assert count % sizes[b] == 0
            members = pd.Series(idx[blocks[idx] == b]).value_counts()
            assert members.nunique() == 1 and len(members) == sizes[b]
        assert drawn.sum() / 1 == len(idx)
    assert [i.tolist() for i in block_bootstrap(blocks, 5, 3)] == [
        i.tolist() for i in block_bootstrap(blocks, 5, 3)
    ]
    # The resamples vary, and a constant statistic has a zero-width interval.
    assert len({tuple(i) for i in resamples}) > 5
    assert block_interval(lambda i: 0.3, resamples) == (0.3, 0.3)
    with pytest.raises(ConfigError, match="block length must be an int >= 1"):
        rotation_blocks(t, days=0)


def test_full_disk_probability_and_event():
    frame = pd.DataFrame(
        {"time": pd.to_datetime(["2010-01-01 00:30"] * 2 + ["2010-01-02 00:30"], utc=True)}
    )
    disk = full_disk(frame, np.array([0.5, 0.2, 0.1]), np.array([0, 1, 0]))
    np.testing.assert_allclose(disk["p"], [1 - 0.5 * 0.8, 0.1])
    assert disk["y"].tolist() == [1, 0]


def test_murphy_decomposition_is_exact_when_bins_hold_one_probability():
    y = np.array([0, 1, 1, 1, 0, 0])
    p = np.array([0.15, 0.15, 0.85, 0.85, 0.05, 0.05])
    m = murphy(y, p)
    assert m["brier"] == pytest.approx(m["reliability"] - m["resolution"] + m["uncertainty"])
    # Bins: {0.05: y 0,0}, {0.15: y 0,1}, {0.85: y 1,1}; base rate 1/2.
    assert m["uncertainty"] == 0.25
    assert m["reliability"] == pytest.approx((2 * 0.05**2 + 2 * 0.35**2 + 2 * 0.15**2) / 6)
    assert m["resolution"] == pytest.approx((2 * 0.25 + 0 + 2 * 0.25) / 6)


def test_scores_have_intervals_and_bad_settings_are_named():
    frame = region_days()
    config = BacktestConfig(**{**CONFIG, "n_boot": 20}, methods=FAST)
    table = score(run_backtest(frame, config)["regions"], config)
    assert list(table["method"]) == list(config.methods)
    assert (table["bss_low"] <= table["bss"]).all() and (table["bss"] <= table["bss_high"]).all()
    assert table.loc[table["method"] == "climatology", "roc_auc"].item() == 0.5
    with pytest.raises(ConfigError, match=r"retrain must be 'none' or 'yearly'.*positive must be"):
        BacktestConfig(retrain="monthly", positive="B").check()


def _as_hayes_csv(frame: pd.DataFrame, path) -> None:
    """Write a region-day frame in the layout of Hayes' AR_flare_ml_23_24.csv."""
    mc = (frame["mcintosh_zurich"].astype(str) + frame["mcintosh_penumbra"].astype(str)
          + frame["mcintosh_compactness"].astype(str))  # fmt: skip
    c, m, x = frame["flares_c"], frame["flares_m"], frame["flares_x"]
    pd.DataFrame({
        "AR issue_date": frame["time"].dt.strftime("%Y-%m-%d %H:%M"), "noaa_ar": frame["noaa_ar"],
        "Carrington_long": 0, "AREA": frame["area_msh"], "McIntosh": mc,
        "Longitude_extent": frame["extent_deg"], "Latitude": 10, "Longitude": 0,
        "No_sunspots": frame["spots"], "MAGTYPE": frame["mtwilson"].astype(str), "LOCATION": "N10W00",
        "C": c, "M": m, "X": x, "C+": c + m + x, "M+": m + x, "X+": x,
    }).to_csv(path)  # fmt: skip


@pytest.mark.slow
def test_cli_writes_every_output(tmp_path):
    import json

    from click.testing import CliRunner

    from flarecast.cli import main

    _as_hayes_csv(region_days(), tmp_path / "srs.csv")
    out = tmp_path / "run"
    args = ["backtest", "--dataset", str(tmp_path / "srs.csv"), "--out", str(out),
            "--train-until", "2002-12-31", "--validation-years", "1", "--n-boot", "5",
            "--methods", ",".join(FAST)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "| MCSTAT |" in result.output and "full-disk day" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["table.md", "table.csv", "predictions.parquet", "run.json",
                            "reliability.png", "roc.png", "skill_per_year.png",
                            "full_disk_timeseries.png"])  # fmt: skip
    table = pd.read_csv(out / "table.csv")
    assert len(table) == 2 * len(FAST) and set(table["level"]) == {"region-day", "full-disk day"}
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["train_until"] == "2002-12-31" and run["folds"][0]["test"] == 730 * 3
    assert "mcintosh_zurich" in run["encodings"]["logistic regression | test"]["categories"]
    preds = pd.read_parquet(out / "predictions.parquet")
    assert len(preds) == len(FAST) * (730 * 3 + 730)  # methods x (region-days + days) of 2003-2004
    bad = CliRunner().invoke(main, [*args[:5], "--train-until", "2030-01-01"])
    assert bad.exit_code == 1 and "No test rows after train_until='2030-01-01'" in bad.output


def test_paired_differences_of_x_recall_bss_and_tss():
    t = pd.date_range("2010-01-01 00:30", periods=60, freq="D", tz="UTC")
    y = np.zeros(60, int)
    y[[5, 20, 40]] = 1
    x = np.zeros(60, int)
    x[[5, 40]] = 1
    base = pd.DataFrame({"time": t, "row": np.arange(60), "fold": "test", "y": y, "x_event": x,
                         "clim": 0.05, "threshold": 0.5})  # fmt: skip
    ce = base.assign(method="CE network", p=np.where(np.arange(60) == 5, 0.9, 0.01))
    focal = base.assign(method="focal network", p=np.where(y == 1, 0.9, 0.01))
    config = BacktestConfig(n_boot=30, methods=("CE network", "focal network"))
    out = paired_differences(pd.concat([ce, focal]), config).set_index("score")
    # X recall: focal finds both X days (1.0), CE one of two (0.5).
    assert out.loc["recall_x", "difference"] == 0.5 and out.loc["recall_x", "x_events"] == 2
    # TSS: focal 3/3 - 0 = 1, CE 1/3 - 0.
    assert out.loc["tss", "difference"] == pytest.approx(2 / 3)
    assert (out["low"] <= out["difference"]).all() and (out["difference"] <= out["high"]).all()
    same = paired_differences(pd.concat([ce, ce.assign(method="focal network")]), config)
    assert (
        (same["difference"] == 0).all() and (same["low"] == 0).all() and (same["high"] == 0).all()
    )


def test_unseen_category_gives_an_all_zero_block_and_is_counted():
    from flarecast.evaluation.backtest_methods import RegionDayMatrix
    from flarecast.reference.history import with_previous_day

    frame = with_previous_day(region_days(years=1), np.zeros(365 * 3))
    train = frame[frame["mcintosh_zurich"] != "E"]
    matrix = RegionDayMatrix().fit(train)
    assert "mcintosh_zurich=E" not in matrix.columns_ and "mcintosh_zurich=D" in matrix.columns_
    X = matrix.transform(frame)
    zurich = [i for i, c in enumerate(matrix.columns_) if c.startswith("mcintosh_zurich=")]
    unseen = (frame["mcintosh_zurich"] == "E").to_numpy()
    assert unseen.sum() > 0 and matrix.unseen_["mcintosh_zurich"] == unseen.sum()
    assert (X[unseen][:, zurich] == 0).all() and (X[~unseen][:, zurich].sum(axis=1) == 1).all()
    # In this synthetic table K, C and BETA-GAMMA-DELTA occur only with E: they are unseen too.
    assert matrix.unseen_ == dict.fromkeys(SRS_CATEGORIES, int(unseen.sum()))
    learned = make_method("logistic regression").fit(train, (train["flares_m"] > 0).astype(int))
    assert learned.backoff_counts(frame) == matrix.unseen_


def test_catalogue_truth_counts_flares_without_a_region_and_drops_days_it_does_not_cover():
    t = pd.to_datetime(["2010-01-01 00:30", "2010-01-02 00:30", "2010-01-03 00:30"], utc=True)
    disk = full_disk(pd.DataFrame({"time": t}), np.array([0.1, 0.2, 0.3]), np.array([0, 0, 1]))
    disk["x_event"] = 0
    events = pd.DataFrame({
        "start": pd.to_datetime(["2010-01-01 05:00", "2010-01-02 23:50"], utc=True),
        "peak_flux": [2e-6, 1.2e-4],  # C2 on day 1; an X1.2 without a region on day 2
        "noaa_ar": pd.array([11000, pd.NA], dtype="Int64"),
    })  # fmt: skip
    truth = catalogue_days(events, "M")
    out = relabel(disk, truth)
    # Day 3 lies after the catalogue's last event: no truth, dropped.
    assert out["y"].tolist() == [0, 1] and out["x_event"].tolist() == [0, 1]
    np.testing.assert_allclose(out["p"], [0.1, 0.2])
    assert relabel(disk, None) is disk


def test_day_k_label_is_the_same_region_k_minus_1_days_later_or_unknown():
    from flarecast.evaluation.backtest_labels import day_counts, target_counts

    t = pd.to_datetime(["2010-01-01 00:30", "2010-01-02 00:30", "2010-01-03 00:30",
                        "2010-01-01 00:30", "2010-01-02 00:30"], utc=True)  # fmt: skip
    frame = pd.DataFrame({"time": t, "noaa_ar": [11000, 11000, 11000, 11001, 11001],
                          "flares_c": [1, 0, 2, 0, 0], "flares_m": [0, 1, 0, 0, 3],
                          "flares_x": [0, 0, 1, 0, 0]})  # fmt: skip
    np.testing.assert_array_equal(day_counts(frame, "C"), [1, 1, 3, 0, 3])
    np.testing.assert_array_equal(day_counts(frame, "X"), [0, 0, 1, 0, 0])
    # Day 2: the same region's next row; 11001 is not listed on 2010-01-03 -> unknown, not 0.
    np.testing.assert_array_equal(target_counts(frame, "M", 2), [1, 1, np.nan, 3, np.nan])
    np.testing.assert_array_equal(target_counts(frame, "M", 3), [1, np.nan, np.nan, np.nan, np.nan])


@pytest.mark.slow
def test_day_2_backtest_leaves_unknown_labels_out_and_looks_no_further_ahead():
    frame = region_days(years=3)
    config = BacktestConfig(**{**CONFIG, "train_until": "2002-12-31"}, methods=FAST, horizon_days=2)
    calls = []
    result = run_backtest(frame, config, fit_hook=lambda *a: calls.append(a))
    test_start = pd.Timestamp("2003-01-01", tz="UTC")
    for _, _, _, rows in calls:
        # A day-2 label of an issue on day d is day d + 1's flares: it must end before the test.
        assert (frame["time"].iloc[rows].dt.floor("D") + pd.Timedelta(days=2) <= test_start).all()
    # Regions live 10 days: their last day, and the table's last day, have no day-2 label.
    nxt = frame.assign(time=frame["time"] - pd.Timedelta(days=1)).set_index(["time", "noaa_ar"])
    known = frame.set_index(["time", "noaa_ar"]).index.isin(nxt.index)
    assert result["labels"] == {"positive": "M1.0", "horizon_days": 2, "rows": len(frame),
                                "unknown_rows": int((~known).sum())}  # fmt: skip
    got = result["regions"][result["regions"]["method"] == "MCSTAT"]
    assert set(got["row"]) == set(np.flatnonzero(known & (frame["time"] >= test_start).to_numpy()))
    later = nxt["flares_m"] + nxt["flares_x"]
    want = later.reindex(pd.MultiIndex.from_arrays([got["time"], got["noaa_ar"]])).to_numpy() > 0
    np.testing.assert_array_equal(got["y"], want.astype(int))
    # Persistence still reads the issue day's yesterday, not the label's.
    pers = result["regions"][result["regions"]["method"] == "persistence"]
    day1 = (frame["flares_m"] + frame["flares_x"] > 0).to_numpy()
    prev = frame.assign(time=frame["time"] + pd.Timedelta(days=1)).set_index(["time", "noaa_ar"])
    had = prev.index.isin(pers.set_index(["time", "noaa_ar"]).index)
    assert had.sum() > 0
    yesterday = pd.Series(day1, index=prev.index)[had].to_numpy()
    hit = pers.set_index(["time", "noaa_ar"]).loc[prev.index[had], "p"].to_numpy()
    # One probability per value of yesterday's issue-day event: the grouping is that event's.
    assert len(set(hit[yesterday])) == 1 and len(set(hit[~yesterday])) == 1
    assert hit[yesterday][0] != hit[~yesterday][0]


def test_latency_and_disagreeing_thresholds_are_refused(tmp_path):
    from click.testing import CliRunner

    from flarecast.cli import main

    with pytest.raises(ConfigError, match=r"latency_hours must be 0, got 6: .*whole-UT-day"):
        BacktestConfig(latency_hours=6).check()
    base = ["backtest", "--dataset", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o")]
    out = CliRunner().invoke(main, [*base, "--latency", "3"])
    assert out.exit_code == 1 and "latency_hours must be 0, got 3" in out.output
    out = CliRunner().invoke(main, [*base, "--positive", "C", "--positive-threshold", "X1.0"])
    assert (
        out.exit_code == 2 and "--positive C and --positive-threshold X1.0 disagree" in out.output
    )
    out = CliRunner().invoke(main, [*base, "--positive-threshold", "M5.0"])
    assert out.exit_code == 2 and "'C1.0', 'M1.0', 'X1.0'" in out.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("word", ["now", "today", "2008-13-01", "12/31/2008x"])
def test_train_until_is_a_date_never_a_word(word):
    """`--train-until now` was read by pandas as the current time (all rows in training)."""
    with pytest.raises(
        ConfigError,
        match=rf"train_until must be a date such as '2008-12-31', got '{re.escape(word)}'",
    ):
        BacktestConfig(train_until=word).check()
    assert BacktestConfig(train_until="2008-12-31T00:00Z").check() is None
