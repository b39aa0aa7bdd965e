"""Forecast outputs (JSON schema, CSV, SWPC text, Markdown, HTML, index), atomic day swap, and the CLI."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.forecast.config import ForecastConfig, InputInfo, ModelInfo
from flarecast.forecast.core import make_forecast
from flarecast.forecast.formats import (
    SCHEMA_PATH,
    forecast_to_dict,
    percent,
    render_csv,
    render_md,
    render_txt,
)
from flarecast.forecast.report import FILES, read_history, write_report

sys.path.insert(0, str(Path(__file__).parent))
from _forecast_model import TARGET, TRAIN_DATA, demo_records, train_tiny_model, write_jsoc_csv  # noqa: E402

SCHEMA = json.loads(SCHEMA_PATH.read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


class Scale:
    """predict_proba = USFLUX / 1e23, clipped: easy to reason about in assertions."""

    def predict_proba(self, X):
        p = np.clip(X["USFLUX"].to_numpy() / 1e23, 0, 1)
        return np.column_stack([1 - p, p])


def _forecast(day: str = "2014-01-02", synthetic: bool = False, flux=(2e22, 5e22)) -> object:
    t0 = pd.Timestamp(day, tz="UTC")
    rows = [
        {"noaa_ar": 11944, "LON_FWT": -20.0, "LAT_FWT": -10.0, "USFLUX": flux[0], "MEANSHR": 40.0},
        {"noaa_ar": 11946, "LON_FWT": 75.0, "LAT_FWT": 12.0, "USFLUX": flux[1], "MEANSHR": 45.0},
        {"noaa_ar": 11950, "LON_FWT": 10.0, "LAT_FWT": 8.0, "USFLUX": 1e22, "MEANSHR": np.nan},
    ]
    frame = pd.DataFrame(rows).assign(time=t0 - pd.Timedelta(hours=1))
    frame["noaa_ar"] = frame["noaa_ar"].astype("Int64")
    info = ModelInfo(
        model_id="test-abc",
        features=("USFLUX", "MEANSHR"),
        target_definition=TARGET,
        flaring_only=False,
        calibration="platt (test)",
        calibration_method="platt",
        feature_range={"USFLUX": (1e20, 1e23), "MEANSHR": (0, 90)},
        x_counts=(90, 10),
    )
    return make_forecast(
        frame, Scale(), info, t0, input_info=InputInfo("test.csv", "ab" * 32, synthetic)
    )


# -- JSON ----------------------------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema_and_the_json_follows_it():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    data = forecast_to_dict(_forecast())
    VALIDATOR.validate(data)
    assert json.loads(json.dumps(data, allow_nan=False)) == data  # no NaN sneaks into the JSON
    regions = {r["region"]: r for r in data["regions"]}
    assert regions["11950"]["p_m"] is None and regions["11950"]["status"] == "no_forecast"
    assert regions["11944"]["p_m"] == pytest.approx(0.2)
    assert data["full_disk"]["p_m"] == pytest.approx(1 - 0.8 * 0.5)
    assert (
        data["issue_time"] == "2014-01-02T00:00:00Z" and data["valid_end"] == "2014-01-03T00:00:00Z"
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("regions", 0, "p_m"), 1.5),
        (("regions", 2, "p_m"), 0.1),
        (("regions", 0, "flags"), ["bogus"]),
        (("issue_time",), "2014-01-02 00:00"),
        (("full_disk", "n_regions"), -1),
        (("x_method", "method"), "guess"),
    ],
)
def test_schema_rejects_broken_documents(path, value):
    data = forecast_to_dict(_forecast())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(data)


def test_empty_forecast_still_follows_the_schema():
    fc = _forecast()
    empty = make_forecast(
        pd.DataFrame({"time": pd.to_datetime([], utc=True), "noaa_ar": pd.array([], "Int64")}),
        Scale(),
        fc.model,
        fc.issue_time,
    )
    data = forecast_to_dict(empty)
    VALIDATOR.validate(data)
    assert data["regions"] == [] and data["full_disk"]["p_m"] is None


# -- text formats --------------------------------------------------------------------------------


def test_percent_follows_swpc_whole_percent_convention():
    assert [percent(p) for p in (0.0, 0.004, 0.05, 0.456, 0.999, 1.0)] == [
        "01",
        "01",
        "05",
        "46",
        "99",
        "99",
    ]
    assert percent(float("nan")) == "--"


def test_txt_has_swpc_layout_with_full_disk_and_region_lines():
    txt = render_txt(_forecast())
    assert txt.startswith(":Product: Daily Flare Probability Forecast")
    assert ":Issued: 2014 Jan 02 0000 UTC" in txt
    assert re.search(r"^III\.  Event probabilities 02 Jan-02 Jan$", txt, re.M)
    assert re.search(r"^Class M    60$", txt, re.M) and re.search(
        r"^Class X    07$", txt, re.M
    )  # 1 - 0.98 * 0.95
    assert re.search(r"^R1-R2\s+60%$", txt, re.M) and re.search(r"^R3 or greater\s+07%$", txt, re.M)
    assert re.search(r"^ 11944  S10E20\s+20\s+02$", txt, re.M)
    assert re.search(r"^ 11946  N12W75\s+50\s+05  near_limb$", txt, re.M)
    assert re.search(r"^ 11950  N08W10\s+no forecast: feature MEANSHR is nan", txt, re.M)
    assert "SYNTHETIC" not in txt and "SYNTHETIC" in render_txt(_forecast(synthetic=True))
    assert (
        "assuming the regions flare independently" in txt
        and "# WARNING: 1 of 3 regions have no forecast" in txt
    )


def test_csv_has_one_row_per_region_and_empty_cells_for_no_forecast():
    rows = pd.read_csv(pd.io.common.StringIO(render_csv(_forecast())), dtype={"region": str})
    assert rows["region"].tolist() == ["11944", "11946", "11950"]
    assert rows["p_m"].tolist()[:2] == pytest.approx([0.2, 0.5])
    assert np.isnan(rows["p_m"].iloc[2]) and rows["status"].iloc[2] == "no_forecast"
    assert rows["flags"].iloc[1] == "near_limb" and rows["m_percent"].tolist()[:2] == [20, 50]


def test_small_probabilities_are_never_printed_as_zero(tmp_path):
    fc = _forecast(flux=(3e19, 5e22))  # P(>=M) = 0.0003
    assert "| <0.1% |" in render_md(fc)
    page = (write_report(fc, tmp_path) / "forecast.html").read_text()
    assert "&lt;0.1%" in page and ">0.0%<" not in page
    # SWPC's floor of 1 %; 3e19 Mx is also below the training minimum, and says so
    assert re.search(r"^ 11944  S10E20\s+01\s+01  out_of_range$", render_txt(fc), re.M)


def test_markdown_table_lists_every_region():
    md = render_md(_forecast(synthetic=True))
    assert md.startswith("> **SYNTHETIC DATA")
    assert "| 11944 | S10E20 |" in md and "| 20.0% | 2.0% |" in md
    assert "| 11950 | N08W10 |" in md and "no forecast" in md


# -- the day folder --------------------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_rerunning_a_day_replaces_that_day_only(tmp_path):
    day1 = write_report(_forecast("2014-01-01"), tmp_path)
    day2 = write_report(_forecast("2014-01-02"), tmp_path)
    assert sorted(p.name for p in day2.iterdir()) == sorted(FILES)
    before = _snapshot(day1)
    write_report(_forecast("2014-01-02", flux=(9e22, 5e22)), tmp_path)
    assert _snapshot(day1) == before  # the other day is untouched, bytes and mtimes
    data = json.loads((day2 / "forecast.json").read_text())
    assert data["regions"][0]["p_m"] == pytest.approx(0.9)
    # nothing but the two days and the index is left behind (no temp or old folders)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2014-01-01", "2014-01-02", "index.html"]
    index = (tmp_path / "index.html").read_text()
    assert index.index("2014-01-02/forecast.html") < index.index(
        "2014-01-01/forecast.html"
    )  # newest first
    assert oct((tmp_path / "index.html").stat().st_mode & 0o777) == "0o644"


def test_a_failure_while_writing_leaves_the_old_day_complete(tmp_path, monkeypatch):
    day = write_report(_forecast("2014-01-02"), tmp_path)
    before = _snapshot(day)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("flarecast.forecast.report.render_html", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(_forecast("2014-01-02", flux=(9e22, 9e22)), tmp_path)
    assert _snapshot(day) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2014-01-02", "index.html"]


def test_leftovers_of_a_killed_run_are_cleaned_and_unreadable_days_listed(tmp_path):
    stale = tmp_path / ".2014-01-02.abc.tmp"
    stale.mkdir()
    os.utime(stale, (0, 0))  # a temp folder from a run killed long ago
    fresh_other_day = tmp_path / ".2014-01-05.def.tmp"
    fresh_other_day.mkdir()
    (tmp_path / "2014-01-09").mkdir()
    (tmp_path / "2014-01-09" / "forecast.json").write_text("{truncated")
    write_report(_forecast("2014-01-02"), tmp_path)
    assert not stale.exists() and fresh_other_day.exists()  # only this day's leftovers go
    index = (tmp_path / "index.html").read_text()
    assert "2014-01-09</td><td colspan=6>forecast.json missing or unreadable" in index
    assert read_history(tmp_path, "2014-01-10")["11944"] == [("2014-01-02", pytest.approx(0.2))]


def test_history_collects_earlier_days_only(tmp_path):
    for day, flux in (("2014-01-01", 1e22), ("2014-01-02", 3e22), ("2014-01-03", 4e22)):
        write_report(_forecast(day, flux=(flux, 5e22)), tmp_path)
    hist = read_history(tmp_path, "2014-01-03")
    assert hist["11944"] == [("2014-01-01", pytest.approx(0.1)), ("2014-01-02", pytest.approx(0.3))]
    assert "11950" not in hist  # never had a forecast
    page = (tmp_path / "2014-01-03" / "forecast.html").read_text()
    assert 'id="history"' in page and "11944 (40%)" in page
    assert 'id="no-history"' in (tmp_path / "2014-01-01" / "forecast.html").read_text()


def test_html_is_self_contained(tmp_path):
    page = (write_report(_forecast(synthetic=True), tmp_path) / "forecast.html").read_text()
    # the only URL is the SVG namespace, which browsers never fetch
    assert set(re.findall(r"https?://[^\s\"')]+", page)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(script|link|img|iframe)\b", page) and "url(http" not in page
    assert 'id="synthetic-banner"' in page and 'id="regions"' in page
    assert page.count('class="bar"') == 2 and page.count('class="region"') == 3
    plain = (write_report(_forecast("2014-01-05"), tmp_path) / "forecast.html").read_text()
    assert "synthetic-banner" not in plain


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return train_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return demo_records()


def _run(*args: str):
    return CliRunner().invoke(main, ["forecast", *map(str, args)], catch_exceptions=False)


def test_cli_writes_a_valid_report_from_a_jsoc_style_csv(tmp_path, model_dir, records):
    features = write_jsoc_csv(records, tmp_path / "sharp.csv")
    out = tmp_path / "reports"
    res = _run("--model", model_dir, "--features", features, "--date", "2011-01-20", "--out", out)
    assert res.exit_code == 0, res.output
    # the file itself is not marked synthetic, but the model was trained on SYNTHETIC data: so is the forecast
    assert "Full disk: Class M" in res.output and res.output.startswith("SYNTHETIC DATA")
    day = out / "2011-01-20"
    assert sorted(p.name for p in day.iterdir()) == sorted(FILES)
    data = json.loads((day / "forecast.json").read_text())
    VALIDATOR.validate(data)
    assert data["model"]["target_definition"] == TARGET and data["model"]["flaring_only"] is False
    assert (
        data["model"]["calibration"]["method"] == "platt" and data["model"]["feature_range_stored"]
    )
    assert (
        data["input"]["synthetic"] is False and data["model"]["training_data"]["synthetic"] is True
    )
    assert data["synthetic"] is True
    from flarecast.data.synthetic import demo_dataset

    newest = demo_dataset(**TRAIN_DATA).frame["time"].max()
    assert data["model"]["training_cutoff"] == newest.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert data["x_method"]["method"] == "climatology"
    # T_REC in TAI was converted once, to UTC: the newest record used is exactly the issue time
    assert max(r["record_time"] for r in data["regions"]) == "2011-01-20T00:00:00Z"
    expected = records[records["time"] <= pd.Timestamp("2011-01-20", tz="UTC")]
    recent = expected.groupby("noaa_ar")["time"].max()
    assert len(data["regions"]) == int((recent >= pd.Timestamp("2011-01-17", tz="UTC")).sum())
    assert data["input"]["sha256"] and len(data["input"]["sha256"]) == 64


def test_cli_uses_an_x_model_folder_and_warns_about_a_flaring_only_model(tmp_path, model_dir):
    import shutil

    model = shutil.copytree(model_dir, tmp_path / "m")
    shutil.copytree(
        model_dir, model / "x"
    )  # an >=X model in the x/ sub-folder (here: the same network)
    meta = json.loads((model / "model.json").read_text())
    meta["data"]["flaring_only"] = True  # as if trained on an X/M-vs-C table
    (model / "model.json").write_text(json.dumps(meta))
    res = _run(
        "--model", model, "--features", "demo", "--date", "2011-06-01", "--out", tmp_path / "r"
    )
    assert res.exit_code == 0, res.output
    assert "trained on flaring regions only" in res.output
    data = json.loads((tmp_path / "r" / "2011-06-01" / "forecast.json").read_text())
    assert data["x_method"]["method"] == "x-model" and data["model"]["flaring_only"] is True
    forecast = [r for r in data["regions"] if r["status"] == "forecast"]
    assert forecast and all(
        r["p_x"] == pytest.approx(r["p_m"]) for r in forecast
    )  # same network, capped
    assert (
        "trained on flaring regions only"
        in (tmp_path / "r" / "2011-06-01" / "forecast.html").read_text()
    )


def test_numpy_engine_matches_the_torch_classifier(model_dir, records):
    from flarecast.forecast.engine import NumpyMLP
    from flarecast.training.artifacts import load_model

    torch_clf, numpy_clf = load_model(model_dir), NumpyMLP.from_folder(model_dir)
    X = records.sample(2000, random_state=0)[list(torch_clf.feature_names_in_)].dropna()
    np.testing.assert_allclose(numpy_clf.predict_proba(X), torch_clf.predict_proba(X), atol=2e-6)
    assert list(numpy_clf.feature_names_in_) == list(torch_clf.feature_names_in_)


@pytest.mark.parametrize("skip", ["none", "linear"])
def test_numpy_engine_matches_a_deeper_ensemble(tmp_path, records, skip):
    from flarecast.data.synthetic import demo_dataset
    from flarecast.forecast.engine import NumpyMLP
    from flarecast.training.artifacts import save_model
    from flarecast.training.estimator import FlareClassifier

    ds = demo_dataset(seed=2, n_regions=40, days=30)
    X = ds.frame[list(ds.features)]
    y = (ds.frame["peak_flux"].to_numpy() >= 1e-6).astype(
        int
    )  # >= C: enough positives for a tiny set
    clf = FlareClassifier(hidden=(6, 5), n_members=3, max_epochs=2, seed=1, skip=skip).fit(
        X, y, groups=ds.frame["noaa_ar"]
    )
    save_model(clf, tmp_path / "ens", dataset=ds, targets_definition="positive: >= C1.0")
    Xr = records.head(500)[list(ds.features)].dropna()
    np.testing.assert_allclose(
        NumpyMLP.from_folder(tmp_path / "ens").predict_proba(Xr), clf.predict_proba(Xr), atol=2e-6
    )


def test_numpy_engine_checks_the_folder_like_load_model(tmp_path, model_dir):
    import shutil

    from flarecast.errors import ModelFileError
    from flarecast.forecast.engine import NumpyMLP, UnsupportedModel

    model = shutil.copytree(model_dir, tmp_path / "m")
    blob = bytearray((model / "weights.safetensors").read_bytes())
    blob[-1] ^= 1  # one flipped bit in the last weight
    (model / "weights.safetensors").write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match=r"has been modified since it was saved"):
        NumpyMLP.from_folder(model)
    res = _run("--model", model, "--features", "demo", "--out", tmp_path / "r")
    assert res.exit_code == 1 and "has been modified since it was saved" in res.output
    seq = shutil.copytree(model_dir, tmp_path / "s")
    meta = json.loads((seq / "model.json").read_text())
    # a consistent sidecar of a sequence model (one half-edited is refused earlier, as inconsistent)
    meta["architecture"]["kind"] = meta["config"]["model"] = "sequence"
    (seq / "model.json").write_text(json.dumps(meta))
    with pytest.raises(UnsupportedModel, match=r"is not a plain MLP"):
        NumpyMLP.from_folder(seq)
    res = _run("--model", seq, "--features", "demo", "--engine", "numpy", "--out", tmp_path / "r")
    assert (
        res.exit_code == 1 and "--engine numpy" in res.output and "use --engine torch" in res.output
    )


def test_both_engines_publish_the_same_forecast(tmp_path, model_dir):
    docs = {}
    for engine in ("numpy", "torch"):
        res = _run(
            "--model",
            model_dir,
            "--features",
            "demo",
            "--date",
            "2011-06-01",
            "--engine",
            engine,
            "--json",
            "--out",
            tmp_path / engine,
        )
        assert res.exit_code == 0, res.output
        docs[engine] = json.loads(res.output)
        assert docs[engine]["model"]["inference"] == engine
    for a, b in zip(docs["numpy"]["regions"], docs["torch"]["regions"], strict=True):
        assert a["region"] == b["region"] and a["p_m"] == pytest.approx(b["p_m"], abs=1e-6)
    assert docs["numpy"]["full_disk"]["p_m"] == pytest.approx(
        docs["torch"]["full_disk"]["p_m"], abs=1e-6
    )


@pytest.mark.parametrize(
    ("definition", "warning"),
    [
        ("positive: >= M1.0; negative: C", "trained on flaring regions only"),
        ("positive: >= C1.0; negative: N, A, B", "positive class is >= C1.0, not >= M1.0"),
    ],
)
def test_cli_reads_the_target_definition_for_warnings(tmp_path, model_dir, definition, warning):
    import shutil

    model = shutil.copytree(model_dir, tmp_path / "m")
    meta = json.loads((model / "model.json").read_text())
    assert meta["data"]["flaring_only"] is False  # the data set had quiet regions...
    meta["class_definition"] = definition  # ...but the target left them out, or is not >= M
    (model / "model.json").write_text(json.dumps(meta))
    res = _run(
        "--model",
        model,
        "--features",
        "demo",
        "--date",
        "2011-06-01",
        "--json",
        "--out",
        tmp_path / "r",
    )
    data = json.loads(res.output[res.output.index("{") :])
    assert (
        any(warning in w for w in data["warnings"])
        and data["model"]["target_definition"] == definition
    )


def test_train_command_stores_calibrator_and_forecast_support(tmp_path):
    out = tmp_path / "models" / "demo"
    res = CliRunner().invoke(
        main,
        [
            "train",
            "--dataset",
            "demo",
            "--negatives",
            "A,B,C,N",
            "--epochs",
            "2",
            "--hidden",
            "8",
            "--quiet",
            "--calibration",
            "isotonic",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    cal = json.loads((out / "calibration.json").read_text())
    assert cal["method"] == "isotonic" and cal["fitted_on"] == "validation"
    meta = json.loads((out / "model.json").read_text())
    assert (
        cal["n_samples"] == meta["extra"]["split"]["validation_rows"]
    )  # fitted on the validation rows only
    support = meta["extra"]["forecast"]
    assert set(support["feature_range"]) == set(meta["features"]) and support["x_counts"][1] > 0
    res = _run(
        "--model",
        out,
        "--features",
        "demo",
        "--date",
        "2011-06-01",
        "--json",
        "--out",
        tmp_path / "r",
    )
    data = json.loads(res.stdout)  # the training-period warning goes to stderr
    assert (
        data["model"]["calibration"]["method"] == "isotonic"
        and data["model"]["flaring_only"] is False
    )
    assert not any("flaring regions only" in w or "no calibrator" in w for w in data["warnings"])


def test_cli_demo_input_is_marked_synthetic(tmp_path, model_dir):
    res = _run(
        "--model", model_dir, "--features", "demo", "--date", "2011-06-01", "--out", tmp_path
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith("SYNTHETIC DATA -- NOT A REAL FORECAST")
    assert "SYNTHETIC DATA" in (tmp_path / "2011-06-01" / "forecast.txt").read_text()
    res = _run(
        "--model",
        model_dir,
        "--features",
        "demo",
        "--issue-time",
        "2011-06-01T12:00",
        "--json",
        "--out",
        tmp_path,
    )
    data = json.loads(res.output)  # --json prints the document and nothing else
    VALIDATOR.validate(data)
    assert data["issue_time"] == "2011-06-01T12:00:00Z" and data["synthetic"] is True
    assert (
        json.loads((tmp_path / "2011-06-01" / "forecast.json").read_text())["issue_time"]
        == data["issue_time"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--features", "x.csv", "--jsoc"], "give exactly one of --features"),
        ([], "give exactly one of --features"),
        (["--features", "demo", "--date", "2011-6-1"], "--date must be YYYY-MM-DD; got '2011-6-1'"),
        (
            ["--features", "demo", "--date", "2011-06-01", "--issue-time", "2011-06-01T00:00Z"],
            "give --date or --issue-time, not both",
        ),
        (
            ["--features", "nope.csv"],
            "SHARP series 'nope.csv' is neither a file nor a registered name",
        ),
        (
            ["--features", "demo", "--stale-hours", "48", "--lookback-hours", "24"],
            "must be >= stale_hours",
        ),
    ],
)
def test_cli_errors_are_one_clean_line(tmp_path, model_dir, args, message):
    res = _run("--model", model_dir, *args, "--out", tmp_path)
    assert res.exit_code != 0
    assert message in res.output and "Traceback" not in res.output


def test_cli_refuses_a_missing_model_folder(tmp_path):
    res = _run("--model", tmp_path / "nothing", "--features", "demo", "--out", tmp_path)
    assert (
        res.exit_code == 1 and "No model folder at" in res.output and "Traceback" not in res.output
    )


class RecordedJSOC:
    """Answers drms keyword queries with records shaped like JSOC's (T_REC in TAI, NOAA_AR 0 = none)."""

    def __init__(self, records: pd.DataFrame):
        self.records = records
        self.queries: list[str] = []

    def query(
        self, ds: str, key: list[str], **kwargs
    ) -> pd.DataFrame:  # drms options such as skip_conversion
        self.queries.append(ds)
        out = self.records.rename(columns={"noaa_ar": "NOAA_AR", "harpnum": "HARPNUM"})
        out = out.assign(
            T_REC=(out["time"] + pd.Timedelta(seconds=34)).dt.strftime("%Y.%m.%d_%H:%M:%S_TAI"),
            NOAA_ARS=out["NOAA_AR"].astype(str),
            QUALITY=[f"0x{int(q):08x}" for q in out["QUALITY"]],
        )  # JSOC sends QUALITY as hex text
        return out[[k for k in key if k in out.columns]].reset_index(drop=True)


def test_jsoc_input_asks_for_the_look_back_window_of_the_nrt_series(model_dir, records):
    from flarecast.forecast.inputs import read_jsoc
    from flarecast.training.artifacts import load_model

    features = tuple(load_model(model_dir).feature_names_in_)
    t0 = pd.Timestamp("2011-01-20", tz="UTC")
    window = records[(records["time"] > t0 - pd.Timedelta(hours=72)) & (records["time"] <= t0)]
    client = RecordedJSOC(window)
    frame, info = read_jsoc(t0, 72.0, features, client=client)
    assert client.queries and all(q.startswith("hmi.sharp_cea_720s_nrt[]") for q in client.queries)
    assert "2011.01.17_00:00:00_TAI" in client.queries[0]
    assert frame["time"].max() == t0  # TAI converted back to UTC
    assert set(features) <= set(frame.columns)
    assert (frame["QUALITY"] == 0).all() and "JSOC" in info.source


def test_report_files_are_world_readable(tmp_path):
    day = write_report(_forecast(), tmp_path)
    assert oct(os.stat(day).st_mode & 0o777) == "0o755"
    assert all(oct(p.stat().st_mode & 0o444) == "0o444" for p in day.iterdir())


def test_config_values_appear_in_the_report(tmp_path):
    fc = _forecast()
    fc2 = make_forecast(
        pd.DataFrame(
            {
                "time": pd.to_datetime(["2014-01-01T23:00Z"]),
                "noaa_ar": pd.array([1], "Int64"),
                "USFLUX": [1e22],
                "MEANSHR": [40.0],
            }
        ),
        Scale(),
        fc.model,
        fc.issue_time,
        config=ForecastConfig(stale_hours=12, limb_deg=60),
    )
    data = forecast_to_dict(fc2)
    assert data["config"]["stale_hours"] == 12 and data["config"]["limb_deg"] == 60


@pytest.mark.parametrize(
    ("key", "value"),
    [("feature_range", {"USFLUX": 5}), ("x_counts", ["a", "b"])],
)
def test_malformed_forecast_support_in_model_json_is_a_clean_error(tmp_path, model_dir, key, value):
    import shutil

    model = shutil.copytree(model_dir, tmp_path / "m")
    meta = json.loads((model / "model.json").read_text())
    meta.setdefault("extra", {}).setdefault("forecast", {})[key] = value
    (model / "model.json").write_text(json.dumps(meta))
    res = CliRunner().invoke(
        main,
        [
            "forecast",
            "--model",
            str(model),
            "--features",
            "demo",
            "--date",
            "2011-06-01",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert (
        res.exit_code == 1 and res.exception is not None and isinstance(res.exception, SystemExit)
    )
    assert "extra.forecast is malformed" in res.output and "Traceback" not in res.output
