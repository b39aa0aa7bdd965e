"""The daily report's McIntosh-Poisson comparison: rates file, --srs, --srs-previous, --skill."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from _forecast_model import train_tiny_model
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.errors import ConfigError, ModelFileError

pytest.importorskip("sunpy")


def srs_file(name: str) -> str:
    from sunpy.data.test import get_test_filepath

    return str(get_test_filepath(f"SRS/{name}SRS.txt"))


@pytest.fixture(scope="module")
def hayes(data_dir):
    from flarecast.data.tables.read import load_dataset

    return load_dataset("hayes-srs", data_dir=data_dir)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, hayes):
    """A rates file from hayes-srs, a tiny model, and SYNTHETIC SHARP records on 2015-01-01
    whose first two regions carry the NOAA numbers of two regions of the real 20150101 SRS."""
    from flarecast.data.synthetic import demo_sharp_series
    from flarecast.forecast.rates import fit_rates, save_rates

    root = tmp_path_factory.mktemp("comparison")
    rates = save_rates(
        root / "rates.json",
        fit_rates(hayes.frame, dataset=hayes.name, sha256=hayes.sha256),
    )
    model = train_tiny_model(root / "model")
    frame = demo_sharp_series(seed=1, n_regions=40, days=20, start="2014-12-20")
    on_disk = sorted(frame.loc[frame["time"] == "2014-12-31 23:00", "noaa_ar"].dropna().unique())
    # 12246 as SHARP writes it before the 5-digit rule, 12253 already 5-digit
    frame["noaa_ar"] = frame["noaa_ar"].replace({on_disk[0]: 2246, on_disk[1]: 12253})
    sharp = root / "sharp.csv"
    frame.to_csv(sharp, index=False)
    return {"root": root, "rates": rates, "model": model, "sharp": sharp}


def run(setup, out, *extra):
    args = ["forecast", "--model", str(setup["model"]), "--features", str(setup["sharp"]),
            "--date", "2015-01-01", "--out", str(out), *extra]  # fmt: skip
    return CliRunner().invoke(main, args)


def test_rates_match_a_hand_count(hayes, setup):
    rates = json.loads(setup["rates"].read_text())
    frame = hayes.frame
    train = frame[frame["time"] < pd.Timestamp("2009-01-01", tz="UTC")]
    cls = (
        train["mcintosh_zurich"].astype(str)
        + train["mcintosh_penumbra"].astype(str)
        + train["mcintosh_compactness"].astype(str)
    )
    eac = train[cls == "EAC"]
    expected = (eac["flares_m"] + eac["flares_x"]).sum() / len(eac)
    assert rates["thresholds"]["M"]["class_rate"]["EAC"] == pytest.approx(expected)
    assert rates["thresholds"]["X"]["class_rate"]["EAC"] == pytest.approx(
        eac["flares_x"].sum() / len(eac)
    )
    assert rates["region_days"] == len(train)
    assert rates["last_issue"] < "2009-01-01"


def test_report_shows_mcstat_beside_flarecast(setup, tmp_path):
    import jsonschema

    from flarecast.forecast.formats import SCHEMA_PATH

    result = run(setup, tmp_path, "--srs", srs_file("20150101"), "--reference-rates",
                 str(setup["rates"]))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Full disk Class M: flarecast" in result.output
    day = tmp_path / "2015-01-01"
    data = json.loads((day / "forecast.json").read_text())
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    cmp = data["comparison"]
    rates = json.loads(setup["rates"].read_text())["thresholds"]
    srs_rows = {r["noaa_ar"]: r for r in cmp["regions"] if r["mcintosh"]}
    # 20150101SRS.txt part I: 2246 HSX, 2248 HSX, 2251 DAI, 2252 CAO, 2253 EAC, 2254 CSO
    assert {k: r["mcintosh"] for k, r in srs_rows.items()} == {
        12246: "HSX", 12248: "HSX", 12251: "DAI", 12252: "CAO", 12253: "EAC", 12254: "CSO"
    }  # fmt: skip
    for r in srs_rows.values():
        for t in ("m", "x"):
            rate = rates[t.upper()]["class_rate"][r["mcintosh"]]
            assert r["MCSTAT"][f"p_{t}"] == pytest.approx(1 - math.exp(-rate))
    p = np.array([r["MCSTAT"]["p_m"] for r in srs_rows.values()])
    methods = {m["name"]: m for m in cmp["methods"]}
    assert list(methods) == ["flarecast", "MCSTAT"]  # no previous day: no MCEVOL
    assert methods["MCSTAT"]["full_disk"]["p_m"] == pytest.approx(1 - np.prod(1 - p))
    assert methods["flarecast"]["full_disk"]["p_m"] == data["full_disk"]["p_m"]
    # the two shared regions carry flarecast's own probability beside MCSTAT's
    ours = {r["region"]: r["p_m"] for r in data["regions"]}
    assert srs_rows[12246]["flarecast"]["p_m"] == ours["2246"]
    assert srs_rows[12253]["flarecast"]["p_m"] == ours["12253"]
    assert srs_rows[12251]["flarecast"]["p_m"] is None
    assert all(m["skill"] is None and m["skill_text"] == "no verified track record"
               for m in methods.values())  # fmt: skip
    txt = (day / "forecast.txt").read_text()
    assert "C.  Comparison: McIntosh-Poisson beside flarecast" in txt
    assert "no verified track record" in txt
    html = (day / "forecast.html").read_text()
    assert 'id="comparison"' in html and "EAC" in html
    assert "| MCSTAT P(>= M) |" in (day / "forecast.md").read_text().replace(
        "flarecast P(>= M) | ", ""
    )


def test_skill_is_stated_beside_each_method(setup, tmp_path):
    table = tmp_path / "table.csv"
    table.write_text(
        "method,n,events,base_rate,bss,roc_auc,tss,bss_low,bss_high,level\n"
        "MCSTAT,12039,404,0.0336,0.0642,0.839,0.553,0.03,0.09,region-day\n"
        "MCSTAT,3000,300,0.1,0.1,0.8,0.5,,,full-disk day\n"
    )
    result = run(setup, tmp_path / "r", "--srs", srs_file("20150101"), "--reference-rates",
                 str(setup["rates"]), "--skill", str(table))  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r" / "2015-01-01" / "forecast.json").read_text())
    methods = {m["name"]: m for m in data["comparison"]["methods"]}
    assert methods["MCSTAT"]["skill"]["region-day"]["bss"] == pytest.approx(0.0642)
    assert methods["MCSTAT"]["skill_text"].startswith(
        "region-day: BSS +0.06 [+0.03, +0.09], ROC AUC 0.84, TSS 0.55 (n=12039, 404 events; table.csv)"
    )
    assert methods["flarecast"]["skill_text"] == "no verified track record"


def test_mcevol_from_the_previous_day(setup, hayes):
    """MCEVOL reads yesterday's classes; yesterday here is the hayes-srs rows of 2000-09-21 (real)."""
    from flarecast.data.tables.srs_text import read_srs_text
    from flarecast.forecast.comparison import compare
    from flarecast.forecast.core import make_forecast
    from flarecast.forecast.loading import load_forecaster
    from flarecast.forecast.rates import load_rates

    today = read_srs_text(srs_file("20000922"))
    frame = hayes.frame
    previous = frame[frame["time"] == pd.Timestamp("2000-09-21 00:30", tz="UTC")].copy()
    previous.attrs = {"issue_time": previous["time"].iloc[0], "source": "hayes-srs 2000-09-21"}
    model, info, x_model = load_forecaster(setup["model"])
    from flarecast.data.synthetic import demo_sharp_series

    records = demo_sharp_series(seed=1, n_regions=40, days=20, start="2000-09-10")
    fc = make_forecast(records, model, info, pd.Timestamp("2000-09-22", tz="UTC"), x_model=x_model)
    rates = load_rates(setup["rates"])
    cmp = compare(fc, today, rates, previous=previous)
    assert cmp.methods == ("flarecast", "MCSTAT", "MCEVOL")
    rows = cmp.regions.set_index("noaa_ar")
    # 9166: EKI on 2000-09-21, EKO on 2000-09-22; 9170 is new on 2000-09-22 (no previous day)
    assert rows.loc[19166, "prev_mcintosh"] == "EKI"
    pair = rates["thresholds"]["M"]["pair_rate"]["EKI>EKO"]
    assert rows.loc[19166, "MCEVOL_m"] == pytest.approx(1 - math.exp(-pair))
    assert rows.loc[19166, "MCEVOL_m"] != rows.loc[19166, "MCSTAT_m"]
    assert rows.loc[19166, "MCEVOL_source"] == "pair"
    assert pd.isna(rows.loc[19170, "prev_mcintosh"])
    assert rows.loc[19170, "MCEVOL_m"] == rows.loc[19170, "MCSTAT_m"]  # backs off to MCSTAT
    assert rows.loc[19170, "MCEVOL_source"] == "class"
    with pytest.raises(ConfigError, match="not on the day before"):
        compare(fc, today, rates, previous=read_srs_text(srs_file("20000927")))


def test_refusals(setup, tmp_path):
    result = run(setup, tmp_path, "--srs", srs_file("20150101"))
    assert result.exit_code != 0 and "--srs needs --reference-rates FILE" in result.output
    result = run(setup, tmp_path, "--srs", srs_file("20150306"), "--reference-rates",
                 str(setup["rates"]))  # fmt: skip
    assert result.exit_code != 0
    assert "was issued on 2015-03-06, but the forecast is for 2015-01-01" in result.output
    result = run(setup, tmp_path, "--skill", str(setup["rates"]))
    assert result.exit_code != 0 and "need --srs FILE" in result.output
    assert not (tmp_path / "2015-01-01").exists()
    bad = tmp_path / "rates.json"
    bad.write_text('{"schema": "something else"}')
    from flarecast.forecast.rates import load_rates

    with pytest.raises(ModelFileError, match="not a McIntosh-Poisson rates file"):
        load_rates(bad)


def test_no_srs_no_comparison(setup, tmp_path):
    result = run(setup, tmp_path)
    assert result.exit_code == 0, result.output
    day = tmp_path / "2015-01-01"
    assert "comparison" not in json.loads((day / "forecast.json").read_text())
    assert "McIntosh" not in (day / "forecast.txt").read_text()
    assert 'id="comparison"' not in (day / "forecast.html").read_text()


def test_verify_scores_what_mcstat_published(setup, tmp_path, data_dir):
    """Two reports with the real SRS of 2015-01-01 and 2015-03-06, verified against the real SWPC list:
    12297 produced an M3.0 and an M1.5 on 2015-03-06 but is not in that day's SRS (part I lists
    2293 and 2295), so MCSTAT's 8 region-days hold no event and its full disk 1 event day of 2."""
    from flarecast.data.synthetic import demo_sharp_series

    march = setup["root"] / "sharp_march.csv"
    if not march.exists():
        demo_sharp_series(seed=1, n_regions=40, days=20, start="2015-02-20").to_csv(
            march, index=False
        )
    reports = tmp_path / "reports"
    for day, sharp in (("20150101", setup["sharp"]), ("20150306", march)):
        date = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        args = ["forecast", "--model", str(setup["model"]), "--features", str(sharp), "--date", date,
                "--out", str(reports), "--srs", srs_file(day), "--reference-rates",
                str(setup["rates"])]  # fmt: skip
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    out = tmp_path / "verified"
    result = CliRunner().invoke(
        main,
        ["verify", str(reports), "--catalogue", "swpc-2010-2021", "--out", str(out),
         "--n-boot", "0", "--data-dir", str(data_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "table.csv").set_index(["method", "level"])
    assert table.loc[("MCSTAT", "region-day"), "n"] == 8
    assert table.loc[("MCSTAT", "region-day"), "events"] == 0
    assert table.loc[("MCSTAT", "full-disk day"), "events"] == 1
    assert table.loc[("flarecast", "full-disk day"), "events"] == 1
    p = [
        next(m for m in json.loads((reports / d / "forecast.json").read_text())["comparison"]["methods"]
             if m["name"] == "MCSTAT")["full_disk"]["p_m"]
        for d in ("2015-01-01", "2015-03-06")
    ]  # fmt: skip
    y = np.array([0, 1])
    assert table.loc[("MCSTAT", "full-disk day"), "brier"] == pytest.approx(
        np.mean((np.array(p) - y) ** 2), rel=1e-5
    )
    # the verify table is a --skill table: its rows come back beside the methods
    result = run(setup, tmp_path / "again", "--srs", srs_file("20150101"), "--reference-rates",
                 str(setup["rates"]), "--skill", str(out / "table.csv"))  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "again" / "2015-01-01" / "forecast.json").read_text())
    texts = {m["name"]: m["skill_text"] for m in data["comparison"]["methods"]}
    assert (
        texts["flarecast"].startswith("region-day: BSS ")
        and "full-disk day: BSS" in texts["flarecast"]
    )
    assert "(n=8, 0 events; table.csv)" in texts["MCSTAT"]


def _forecast_on(setup, day: str):
    from flarecast.data.synthetic import demo_sharp_series
    from flarecast.forecast.core import make_forecast
    from flarecast.forecast.loading import load_forecaster

    model, info, x_model = load_forecaster(setup["model"])
    start = (pd.Timestamp(day) - pd.Timedelta(days=12)).strftime("%Y-%m-%d")
    records = demo_sharp_series(seed=1, n_regions=40, days=20, start=start)
    return make_forecast(records, model, info, pd.Timestamp(day, tz="UTC"), x_model=x_model)


def test_unseen_class_backs_off_and_is_counted(setup):
    from flarecast.data.tables.srs_text import read_srs_text
    from flarecast.forecast.comparison import compare
    from flarecast.forecast.rates import load_rates

    rates = load_rates(setup["rates"])
    srs = read_srs_text(srs_file("20000922"))
    # CAC (a Zurich C group with a compact spot distribution) never occurs in the 1996-2008 rows
    assert "CAC" not in rates["thresholds"]["M"]["class_rate"]
    srs.loc[4, "mcintosh_compactness"] = "C"  # 9170 CAO -> CAC
    cmp = compare(_forecast_on(setup, "2000-09-22"), srs, rates)
    row = cmp.regions.set_index("noaa_ar").loc[19170]
    assert row["MCSTAT_source"] == "zurich"
    assert row["MCSTAT_m"] == pytest.approx(
        1 - math.exp(-rates["thresholds"]["M"]["zurich_rate"]["C"])
    )
    assert "MCSTAT: rates of {'zurich': 1} region(s) come from a back-off rule." in cmp.notes


def test_srs_without_spotted_regions(setup):
    """19960430SRS.txt lists no region with sunspots: MCSTAT has no region and no full disk."""
    from flarecast.data.tables.srs_text import read_srs_text
    from flarecast.forecast.comparison import compare
    from flarecast.forecast.rates import load_rates

    srs = read_srs_text(srs_file("19960430"))
    assert len(srs) == 0
    fc = _forecast_on(setup, "1996-04-30")
    cmp = compare(fc, srs, load_rates(setup["rates"]))
    assert cmp.regions["mcintosh"].isna().all() and len(cmp.regions) > 0
    assert math.isnan(cmp.full_disk["MCSTAT"][0])
    assert cmp.full_disk["flarecast"][0] == fc.full_disk_m


def test_previous_srs_must_be_the_day_before(setup, tmp_path):
    from flarecast.data.synthetic import demo_sharp_series

    sharp = tmp_path / "sharp.csv"
    demo_sharp_series(seed=1, n_regions=40, days=20, start="2000-09-20").to_csv(sharp, index=False)
    args = ["forecast", "--model", str(setup["model"]), "--features", str(sharp), "--date",
            "2000-10-01", "--out", str(tmp_path / "r"), "--srs", srs_file("20001001"),
            "--reference-rates", str(setup["rates"]), "--srs-previous", srs_file("20000927")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "20000927SRS.txt was issued on 2000-09-27, not on the day before" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r" / "2000-10-01").exists()
