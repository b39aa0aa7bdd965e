"""``flarecast retrain``: relabel, retrain with the base model's recipe, compare on the latest period.

End to end through click's CliRunner on the SYNTHETIC demo series and catalogue
(offline), plus the refusals, and once on the real Hollanda series with the
sunpy/HEK catalogue. Networks run for 1-2 epochs: these tests check the
plumbing and the bookkeeping, not the skill.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.data.catalogues.read import read_catalogue
from flarecast.data.sharp.series import clean_series, read_sharp_series
from flarecast.data.synthetic import demo_dataset
from flarecast.errors import ConfigError
from flarecast.evaluation.metrics import tss
from flarecast.labels import labelled_table
from flarecast.retrain.base import check_out_folder, read_base_model
from flarecast.retrain.holdout import holdout_split
from flarecast.retrain.lineage import content_sha256
from flarecast.targets import make_targets
from flarecast.training.artifacts import load_model

FILES = [
    "calibration.json",
    "comparison.csv",
    "comparison.json",
    "comparison.md",
    "history.csv",
    "holdout_predictions.csv",
    "model.json",
    "train.toml",
    "weights.safetensors",
]


def _run(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _snapshot(folder):
    """Every file's bytes (as sha256), size and modification time, by relative path."""
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_size,
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "demo-base"
    res = _run(["train", "--dataset", "demo", "--epochs", "2", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    return out


def test_demo_retrain_end_to_end_keeps_the_base_folder_byte_identical(demo_base, tmp_path):
    before = _snapshot(demo_base)
    out = tmp_path / "models" / "demo-v2"
    out.mkdir(parents=True)  # an existing *empty* folder is accepted
    res = _run(
        [
            "retrain",
            "--sharp",
            "demo",
            "--catalogue",
            "demo",
            "--base-model",
            str(demo_base),
            "--out",
            str(out),
            "--horizon",
            "12h",
            "--n-boot",
            "200",
            "--quiet",
        ]
    )
    assert res.exit_code == 0, res.output
    assert _snapshot(demo_base) == before
    assert res.output.startswith("SYNTHETIC data: labelled")
    assert "# Retrained model vs base model on the same hold-out" in res.output
    assert sorted(p.name for p in out.iterdir()) == FILES
    assert "SYNTHETIC DATA" in (out / "comparison.md").read_text()
    assert not list(out.parent.glob(".*partial*"))  # the folder was assembled aside and renamed

    meta = json.loads((out / "model.json").read_text())
    base_meta = json.loads((demo_base / "model.json").read_text())
    lin = meta["extra"]["lineage"]
    assert lin["base_model"]["weights_sha256"] == base_meta["weights"]["sha256"]
    assert lin["base_model"]["id"] == f"demo-base@{base_meta['weights']['sha256'][:12]}"
    assert lin["catalogue"]["sha256"] == content_sha256(read_catalogue("demo"))
    assert lin["catalogue"]["sha256_of"].startswith("table contents")
    assert (
        lin["labelling"]["horizon"] == "12h" and lin["labelling"]["source"]["horizon"] == "option"
    )
    # same recipe as the base model: only the data changed
    assert meta["config"] == base_meta["config"]
    assert (
        meta["features"] == base_meta["features"]
        and meta["class_definition"] == base_meta["class_definition"]
    )
    # trained only on records before the hold-out minus the 12 h gap
    start = pd.Timestamp(lin["holdout"]["start"])
    assert pd.Timestamp(meta["extra"]["forecast"]["training_cutoff"]) < start - pd.Timedelta("12h")
    assert read_base_model(out).labelling == {
        "horizon": "12h",
        "latency": "0h",
        "event_time": "peak",
    }

    # Both models' scores, recomputed here from the hold-out records and the saved models.
    series = clean_series(read_sharp_series("demo"), max_abs_lon=None, keywords=())
    table = labelled_table(series, read_catalogue("demo"), horizon="12h")
    targets = make_targets(table, ("C",), "M1.0")
    assert start == (targets.times.max() - pd.Timedelta(days=90)).floor(
        "D"
    )  # default: the last 90 days
    rows = targets.frame[targets.frame["time"] >= start]
    y = targets.y[(targets.frame["time"] >= start).to_numpy()]
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["counts"]["rows"] == len(rows) and comparison["counts"]["positives"] == int(
        y.sum()
    )
    assert comparison["counts"]["base_rate"] == pytest.approx(y.mean())
    assert comparison["synthetic"] is True
    scores = {r["score"]: r for r in comparison["scores"]}
    for name, folder in (("new", out), ("base", demo_base)):
        model = load_model(folder)
        p = model.predict_proba(rows)[:, 1]
        assert scores["tss"][name] == pytest.approx(
            tss(y, (p >= model.threshold_).astype(int)), abs=1e-12
        )
        assert scores["tss"][f"{name}_lo"] <= scores["tss"][name] <= scores["tss"][f"{name}_hi"]
    assert scores["tss"]["difference"] == pytest.approx(
        scores["tss"]["new"] - scores["tss"]["base"]
    )
    csv = pd.read_csv(out / "comparison.csv")
    assert list(csv["score"]) == [
        r["score"] for r in comparison["scores"]
    ] and "base_rate" not in set(csv["score"])
    preds = pd.read_csv(out / "holdout_predictions.csv")
    assert len(preds) == len(rows) and (preds["note"] == "SYNTHETIC data").all()
    assert ((preds["p_new"] >= load_model(out).threshold_) == preds["pred_new"]).all()


def test_refusals_before_any_work(demo_base, tmp_path):
    common = ["retrain", "--sharp", "demo", "--catalogue", "demo", "--quiet"]
    before = _snapshot(demo_base)
    res = _run([*common, "--base-model", str(tmp_path / "nope"), "--out", str(tmp_path / "v2")])
    assert res.exit_code == 1 and f"Error: No model folder at {tmp_path / 'nope'}" in res.output
    (tmp_path / "empty").mkdir()
    res = _run([*common, "--base-model", str(tmp_path / "empty"), "--out", str(tmp_path / "v2")])
    assert (
        res.exit_code == 1
        and "is not a flarecast model folder: model.json is missing" in res.output
    )
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("keep me")
    res = _run([*common, "--base-model", str(demo_base), "--out", str(taken)])
    assert (
        res.exit_code == 1
        and "already exists and is not empty; flarecast retrain never overwrites" in res.output
    )
    assert (taken / "notes.txt").read_text() == "keep me"
    for out in (demo_base, demo_base / "v2"):
        # the command line's output guard refuses it first (a usage error) ...
        res = _run([*common, "--base-model", str(demo_base), "--out", str(out)])
        assert res.exit_code == 2 and "writing there would destroy the model" in res.output
        # ... and the library refuses it too, for callers that bypass the command line
        with pytest.raises(ConfigError, match="would write into the base model folder"):
            check_out_folder(out, demo_base)
    # --holdout-start is read by flarecast.time.to_utc before any work: no zone = UTC, words refused
    res = _run([*common, "--base-model", str(demo_base), "--out", str(tmp_path / "v3"),
                "--holdout-start", "today"])  # fmt: skip
    assert res.exit_code == 1 and "must be a time written out as a date" in res.output
    assert not (tmp_path / "v3").exists()
    assert _snapshot(demo_base) == before
    with pytest.raises(ConfigError, match="is a file"):
        check_out_folder(taken / "notes.txt", demo_base)


def test_incompatible_features_and_holdout_outside_the_data(demo_base, tmp_path, rng):
    table = demo_dataset().frame.assign(TOTBSQ=rng.lognormal(20, 1, len(demo_dataset().frame)))
    table.to_parquet(tmp_path / "with-totbsq.parquet")
    other = tmp_path / "totbsq-base"
    res = _run(
        [
            "train",
            "--dataset",
            str(tmp_path / "with-totbsq.parquet"),
            "--epochs",
            "1",
            "--out",
            str(other),
            "--quiet",
            "--calibration",
            "none",
        ]
    )
    assert res.exit_code == 0, res.output
    res = _run(
        [
            "retrain",
            "--sharp",
            "demo",
            "--catalogue",
            "demo",
            "--base-model",
            str(other),
            "--out",
            str(tmp_path / "v2"),
            "--quiet",
        ]
    )
    assert res.exit_code == 1
    assert (
        "the base model uses feature(s) ['TOTBSQ'], which the labelled series (SYNTHETIC demo) lacks"
        in res.output
    )
    res = _run(
        [
            "retrain",
            "--sharp",
            "demo",
            "--catalogue",
            "demo",
            "--base-model",
            str(demo_base),
            "--out",
            str(tmp_path / "v2"),
            "--holdout-start",
            "2012-06-01",
            "--quiet",
        ]
    )
    assert res.exit_code == 1 and "leaves no test rows" in res.output
    assert not (tmp_path / "v2").exists()


def test_holdout_split_embargo_and_straddling_regions():
    times = pd.Series(pd.date_range("2020-01-01", periods=10, freq="h", tz="UTC"))
    groups = np.array([1, 1, 2, 2, 3, 3, 3, 4, 4, 4])  # region 3 lives across the start (06:00)
    train, test, info = holdout_split(times, groups, gap="2h", start="2020-01-01T06:00Z")
    # 04:00 and 05:00 are embargoed; region 3's 04:00 row would be too, so nothing more is lost
    assert train.tolist() == [0, 1, 2, 3] and test.tolist() == [6, 7, 8, 9]
    assert info["embargoed_rows"] == 2 and info["straddling_rows_dropped"] == 0
    train, test, info = holdout_split(times, groups, gap="1h", start="2020-01-01T06:00Z")
    assert train.tolist() == [0, 1, 2, 3] and info["straddling_rows_dropped"] == 1
    assert info["straddling_regions_dropped"] == 1
    train, _, info = holdout_split(
        times, groups, gap="1h", start="2020-01-01T06:00Z", drop_straddling=False
    )
    assert train.tolist() == [0, 1, 2, 3, 4] and info["train_end"] == "2020-01-01T04:00:00+00:00"
    three_days = pd.Series(pd.date_range("2020-01-01", periods=72, freq="h", tz="UTC"))
    # default: the last `days` before the newest record (2020-01-03 23:00), floored to 00:00 UTC
    train, test, info = holdout_split(three_days, np.arange(72), gap="3h", days=1)
    assert info["start"] == "2020-01-02T00:00:00+00:00" and test.tolist() == list(range(24, 72))
    assert train.tolist() == list(range(21))
    with pytest.raises(ConfigError, match="holdout_days"):
        holdout_split(times, groups, gap="1h", days=0)


@pytest.mark.slow
def test_real_hollanda_with_hek_catalogue(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FLARECAST_DATA_DIR", str(data_dir))
    base = tmp_path / "hollanda-base"
    res = _run(
        ["train", "--dataset", "hollanda-2019", "--epochs", "2", "--out", str(base), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    common = [
        "retrain",
        "--sharp",
        "hollanda-2019",
        "--catalogue",
        "hek-2010-2019",
        "--on-bad-rows",
        "skip",
        "--base-model",
        str(base),
        "--quiet",
        "--n-boot",
        "200",
    ]
    # The defaults work on the only real series: the last 90 days (solar minimum) hold no
    # >= M1.0 record, so the hold-out starts earlier, and says so; the base model's labels were
    # made from start times (its data.window says so), and so are the new ones.
    res = _run([*common, "--out", str(tmp_path / "v0")])
    assert res.exit_code == 0, res.output
    assert "(the last 90 days held 0 positive rows) to hold at least 20 positive rows" in res.output
    assert "event_time start (base model (data.window))" in res.output
    defaults = json.loads((tmp_path / "v0" / "comparison.json").read_text())
    assert defaults["counts"]["positives"] >= 20
    assert defaults["lineage"]["labelling"]["event_time"] == "start"
    assert defaults["lineage"]["labelling"]["source"]["event_time"] == "base model (data.window)"
    assert defaults["lineage"]["holdout"]["rule"].startswith("moved back from 2019-02-13")
    # --holdout-min-positives 0: exactly the last 90 days, which cannot be scored
    res = _run([*common, "--holdout-min-positives", "0", "--out", str(tmp_path / "v1")])
    assert res.exit_code == 1 and "holds 6 rows with 0 positive" in res.output
    # a hold-out start in the quiet years names one that would work
    res = _run([*common, "--holdout-start", "2019-03-01", "--out", str(tmp_path / "v1")])
    assert res.exit_code == 1 and "holds 6 rows with 0 positive" in res.output
    assert re.search(
        r"--holdout-start \d{4}-\d{2}-\d{2} would hold 20 positive row\(s\)", res.output
    )
    common += ["--event-time", "start"]
    out = tmp_path / "hollanda-hek"
    res = _run([*common, "--holdout-start", "2015-01-01", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "SYNTHETIC" not in res.output
    assert "skipped 1 malformed row(s): row 14715" in res.output
    comparison = json.loads((out / "comparison.json").read_text())
    hek = comparison["lineage"]["catalogue"]
    assert hek["sha256"] == "e57a0744398f6bd37d8246efbead358e5a7f68c04fec3a60862d900d370dfc90"
    assert hek["malformed_rows_skipped"] == 1 and hek["duplicates_removed"] == 145
    assert comparison["lineage"]["sharp_series"]["dropped"] == {"quality": 182}
    # C/M/X records from 2015 on, labelled from HEK start times: counted here from the labelled table
    table = labelled_table(
        clean_series(read_sharp_series("hollanda-2019"), max_abs_lon=None, keywords=()),
        read_catalogue("hek-2010-2019", on_bad_rows="skip"),
        event_time="start",
    )
    late = table[table["time"] >= pd.Timestamp("2015-01-01", tz="UTC")]
    flux = late["peak_flux"].to_numpy()
    assert comparison["counts"]["positives"] == int((flux >= 1e-5).sum())
    assert comparison["counts"]["rows"] == int((flux >= 1e-6).sum())
    assert comparison["counts"]["x_events"] == int((flux >= 1e-4).sum())
    # the base model saw the whole period: the comparison must say so
    assert any("it has seen part of the hold-out period" in c for c in comparison["caveats"])


def test_the_recipe_keeps_the_base_networks_skip_path(demo_base, tmp_path):
    """A base folder saved before the skip path existed (no 'skip' anywhere) is retrained without one."""
    import shutil

    assert (
        read_base_model(demo_base).params["skip"] == "logistic"
    )  # flarecast train records it resolved
    old = tmp_path / "old-base"
    shutil.copytree(demo_base, old)
    meta = json.loads((old / "model.json").read_text())
    del meta["config"]["skip"], meta["architecture"]["skip"]
    (old / "model.json").write_text(json.dumps(meta))
    assert read_base_model(old).params["skip"] == "none"
