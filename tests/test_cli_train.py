"""``flarecast train`` and ``flarecast predict`` through click's CliRunner, on the demo and the real data."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.evaluation.calibration import load_calibrator
from flarecast.training.artifacts import foreign_format, load_model


def _run(args):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result


@pytest.mark.slow
def test_train_and_predict_on_real_umich(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("FLARECAST_DATA_DIR", str(data_dir))
    out = tmp_path / "models" / "x"
    res = _run(
        [
            "train",
            "--dataset",
            "umich-24h",
            "--loss",
            "focal",
            "--epochs",
            "4",
            "--seeds",
            "2",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert res.exit_code == 0, res.output
    assert (
        "umich-24h: 5650 rows (positive: >= M1.0; negative: C), 597 positive; left out 3341 rows"
        in res.output
    )
    assert "ensemble AUC 0." in res.output and "best epochs per member: [" in res.output
    assert "SYNTHETIC" not in res.output
    assert sorted(p.name for p in out.iterdir()) == [
        "calibration.json",
        "history.csv",
        "model.json",
        "train.toml",
        "weights.safetensors",
    ]
    for path in out.iterdir():  # no pickle or torch.save zip anywhere in the folder
        assert foreign_format(path.read_bytes()) is None, path
    meta = json.loads((out / "model.json").read_text())
    assert meta["data"]["name"] == "umich-24h" and len(meta["data"]["sha256"]) == 64
    assert meta["class_definition"] == "positive: >= M1.0; negative: C"
    assert meta["config"]["loss"] == "focal" and meta["config"]["n_members"] == 2
    history = pd.read_csv(out / "history.csv")
    assert set(history["member"]) == {0, 1} and history["epoch"].max() <= 4

    preds = tmp_path / "preds.csv"
    res = _run(["predict", "--model", str(out), "--dataset", "umich-24h", "--out", str(preds)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(preds)
    assert len(table) == 8991  # every row of the table, B flares included
    assert list(table.columns) == [
        "time",
        "noaa_ar",
        "goes_class",
        "p_flare",
        "p_calibrated",
        "p_member_std",
        "prediction",
    ]
    assert table["p_flare"].between(0, 1).all()
    clf = load_model(out)
    assert ((table["p_flare"] >= clf.threshold_).astype(int) == table["prediction"]).all()
    # the probability a forecast would publish: the folder's calibrator applied to p_flare
    calibrator = load_calibrator(out)
    np.testing.assert_allclose(
        table["p_calibrated"], calibrator.transform(table["p_flare"].to_numpy()), atol=1e-9
    )
    assert "calibrated" in res.output
    target_rows = (
        table["goes_class"].str[0].isin(["C", "M", "X"])
    )  # the rows of the class definition
    observed = table.loc[target_rows, "goes_class"].str[0].isin(["M", "X"]).mean()
    assert table.loc[target_rows, "p_calibrated"].mean() == pytest.approx(observed, abs=0.03)
    assert (
        abs(table.loc[target_rows, "p_flare"].mean() - observed) > 0.03
    )  # raw focal scores are not probabilities
    (
        out / "calibration.json"
    ).unlink()  # a folder trained with --calibration none: the column is left out
    res = _run(["predict", "--model", str(out), "--dataset", "umich-24h", "--out", str(preds)])
    assert res.exit_code == 0 and "no p_calibrated column" in res.output
    assert "p_calibrated" not in pd.read_csv(preds).columns


def test_demo_sequence_run_says_synthetic_and_config_reruns(tmp_path):
    out = tmp_path / "seq"
    res = _run(
        [
            "train",
            "--dataset",
            "demo",
            "--loss",
            "ce",
            "--model",
            "sequence",
            "--hidden",
            "8",
            "--epochs",
            "2",
            "--features",
            "USFLUX,TOTPOT,R_VALUE",
            "--alpha",
            "none",
            "--out",
            str(out),
            "--quiet",
            "--negatives",
            "N,A,B,C",
        ]
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith("SYNTHETIC data: demo")
    assert "(positive: >= M1.0; negative: N, A, B, C)" in res.output
    toml = (out / "train.toml").read_text()
    assert 'alpha = "none"' in toml and 'model = "sequence"' in toml and "hidden = [8]" in toml
    assert 'skip = "none"' in toml  # resolved: a rerun keeps it when the default changes
    # the written config trains the same network again
    again = tmp_path / "again"
    res = _run(
        [
            "train",
            "--dataset",
            "demo",
            "--config",
            str(out / "train.toml"),
            "--features",
            "USFLUX,TOTPOT,R_VALUE",
            "--out",
            str(again),
            "--quiet",
        ]
    )
    assert res.exit_code == 0, res.output
    a, b = (json.loads((p / "model.json").read_text())["config"] for p in (out, again))
    assert {**a, "threshold": None} == {**b, "threshold": None}
    preds = tmp_path / "p.csv"
    res = _run(["predict", "--model", str(out), "--dataset", "demo", "--out", str(preds)])
    assert res.exit_code == 0, res.output
    assert "SYNTHETIC" in res.output
    assert (pd.read_csv(preds)["note"] == "SYNTHETIC data").all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--features", "USFLUX,TOTPOTT"],
            "Error: --features: 'TOTPOTT' (did you mean 'TOTPOT'?) not in demo",
        ),
        (["--alpha", "lots"], "Error: --alpha must be a number in [0, 1] or 'none'. Got 'lots'."),
        (
            ["--alpha", "1.5"],
            "Error: The 'alpha' parameter of FlareClassifier must be a float in [0, 1]",
        ),
        (["--device", "tpu"], "Error: Unknown device 'tpu'"),
        (["--negatives", "C,Q"], "Invalid value for '--negatives'"),
        (
            ["--skip", "linear", "--model", "sequence"],
            "The 'skip' parameter of FlareClassifier must be one of "
            "['none', 'linear', 'logistic'] or None ('none' for the 'sequence'",
        ),
        (["--threads", "0"], "Invalid value for '--threads'"),
    ],
)
def test_train_bad_options(tmp_path, args, message):
    res = CliRunner().invoke(
        main,
        [
            "train",
            "--dataset",
            "demo",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "m"),
            "--quiet",
            *args,
        ],
    )
    assert res.exit_code != 0
    assert message in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "m" / "model.json").exists()


def test_predict_with_a_broken_model_folder_is_a_clean_error(tmp_path):
    (tmp_path / "m").mkdir()
    res = CliRunner().invoke(
        main,
        [
            "predict",
            "--model",
            str(tmp_path / "m"),
            "--dataset",
            "demo",
            "--out",
            str(tmp_path / "p.csv"),
        ],
    )
    assert res.exit_code == 1
    assert "Error: " in res.output and "model.json is missing" in res.output
    assert not (tmp_path / "p.csv").exists()


def test_help_lists_the_options():
    res = _run(["train", "--help"])
    for option in (
        "--dataset",
        "--loss",
        "--alpha",
        "--gamma",
        "--model",
        "--features",
        "--seeds",
        "--device",
        "--out",
        "--negatives",
        "--positive-threshold",
        "--config",
        "--skip",
        "--threads",
    ):
        assert option in res.output


def test_skip_and_threads_reach_the_saved_model(tmp_path):
    out = tmp_path / "wide"
    res = _run(
        [
            "train",
            "--dataset",
            "demo",
            "--loss",
            "ce",
            "--hidden",
            "8",
            "--epochs",
            "2",
            "--seeds",
            "2",
            "--skip",
            "logistic",
            "--threads",
            "2",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "model.json").read_text())
    assert meta["config"]["skip"] == "logistic" and meta["config"]["cpu_threads"] == 2
    assert meta["architecture"]["skip"] is True
    preds = tmp_path / "p.csv"
    assert (
        _run(["predict", "--model", str(out), "--dataset", "demo", "--out", str(preds)]).exit_code
        == 0
    )
    assert pd.read_csv(preds)["p_flare"].between(0, 1).all()


def test_before_trains_on_the_records_whose_label_window_closed(tmp_path):
    from flarecast.data.tables.read import load_dataset

    out = tmp_path / "cut"
    res = _run(
        [
            "train",
            "--dataset",
            "demo",
            "--loss",
            "ce",
            "--hidden",
            "8",
            "--epochs",
            "2",
            "--before",
            "2011-05-01",
            "--gap",
            "24h",
            "--negatives",
            "A,B,C,N",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert res.exit_code == 0, res.output
    times = pd.to_datetime(load_dataset("demo").frame["time"], utc=True)
    later = int((times >= pd.Timestamp("2011-04-30", tz="UTC")).sum())
    assert 0 < later < len(times)
    assert (
        f"left out {later} records at or after 2011-04-30 00:00 UTC (--before 2011-05-01 - --gap 24h)"
        in res.output
    )
    meta = json.loads((out / "model.json").read_text())
    assert (
        meta["extra"]["options"]["before"] == "2011-05-01"
        and meta["extra"]["options"]["gap"] == "24h"
    )
    # the model's data cut-off (used by forecast's staleness flags) is before the cut
    assert pd.Timestamp(meta["extra"]["forecast"]["training_cutoff"]) < pd.Timestamp(
        "2011-04-30", tz="UTC"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--before", "someday"], "--before must be a time such as 2014-10-24"),
        (
            ["--before", "2011-05-01", "--gap", "-1h"],
            "The '--gap' parameter must be a duration >= 0",
        ),
        (
            ["--before", "1990-01-01"],
            "demo: no record before 1989-12-30 00:00 UTC (--before 1990-01-01 - --gap 48h); "
            "its first record is at",
        ),
    ],
)
def test_bad_before_is_a_clear_error(tmp_path, args, message):
    res = CliRunner().invoke(
        main,
        [
            "train",
            "--dataset",
            "demo",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "m"),
            "--quiet",
            *args,
        ],
    )
    assert res.exit_code != 0 and message in res.output, res.output
    assert not (tmp_path / "m" / "model.json").exists()
