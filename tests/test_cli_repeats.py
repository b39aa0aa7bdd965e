"""``flarecast reproduce --repeats R`` end to end on a small synthetic table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.data.synthetic import demo_dataset
from flarecast.evaluation.repeated import repeat_seed

FAST = "[protocol]\nseeds = 2\nn_boot = 200\n\n[protocol.network]\nmax_epochs = 8\npatience = 2\nhidden = [8]\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("repeats")
    table = folder / "small_demo.parquet"
    demo_dataset(seed=3, n_regions=90, days=90).frame.to_parquet(table)
    config = folder / "fast.toml"
    config.write_text(FAST)
    common = ["reproduce", "--dataset", str(table), "--config", str(config), "--folds", "3"]
    common += ["--methods", "climatology,logistic,ce,focal", "--no-figures", "--no-importance"]
    repeated = CliRunner().invoke(main, [*common, "--repeats", "3", "--out", str(folder / "rep")])
    assert repeated.exit_code == 0, repeated.output
    single = CliRunner().invoke(main, [*common, "--repeats", "1", "--out", str(folder / "one")])
    assert single.exit_code == 0, single.output
    return folder, common, repeated


def test_repeat_zero_outputs_equal_the_single_partition_run(runs) -> None:
    """--repeats 1 is the single-partition run, and repeat 0 of a repeated run is kept as it."""
    folder, _, _ = runs
    for name, single in (
        ("partition0.md", "table.md"),
        ("partition0.csv", "table.csv"),
        ("partition0_comparison.csv", "comparison.csv"),
        ("calibration.csv", "calibration.csv"),
    ):
        assert (folder / "rep" / name).read_bytes() == (folder / "one" / single).read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(folder / "rep" / "predictions.parquet"),
        pd.read_parquet(folder / "one" / "predictions.parquet"),
    )
    one = sorted(p.name for p in (folder / "one").iterdir())
    assert "partition0.md" not in one and "repeats.csv" not in one
    assert json.loads((folder / "one" / "run.json").read_text()).get("repeats") is None


def test_per_repeat_values_and_the_repeated_table(runs) -> None:
    folder, _, result = runs
    per_repeat = pd.read_csv(folder / "rep" / "repeats.csv")
    assert sorted(per_repeat["repeat"].unique()) == [0, 1, 2]
    assert set(per_repeat["method"]) == {"climatology", "logistic", "ce", "focal"}
    assert (per_repeat.groupby("method").size() == 3).all()
    # repeats differ: another partition and other seeds give other scores
    assert per_repeat[per_repeat.method == "focal"]["hss"].nunique() == 3
    comparison = pd.read_csv(folder / "rep" / "repeated_comparison.csv")
    focal_ce = comparison[(comparison.method == "focal") & (comparison.baseline == "ce")]
    hss = focal_ce[(focal_ce["score"] == "hss") & (focal_ce["aggregate"] == "repeat")].iloc[0]
    wide = per_repeat.pivot(index="repeat", columns="method", values="hss")
    assert hss["mean"] == pytest.approx((wide["focal"] - wide["ce"]).mean(), abs=1e-6)
    assert hss["low"] < hss["mean"] < hss["high"] and hss["repeats"] == 3
    # table.csv is the repeated table: the mean over repeats, with corrected intervals
    table = pd.read_csv(folder / "rep" / "table.csv").set_index("method")
    focal = per_repeat[per_repeat.method == "focal"]
    assert table.loc["focal", "hss"] == pytest.approx(focal["hss"].mean(), abs=1e-5)
    assert table.loc["focal", "auc"] == pytest.approx(focal["auc_fold_mean"].mean(), abs=1e-5)
    assert table.loc["focal", "auc_pooled"] == pytest.approx(focal["auc"].mean(), abs=1e-5)
    assert table.loc["focal", "hss_lo"] < table.loc["focal", "hss"] < table.loc["focal", "hss_hi"]
    assert table.loc["focal", "hss_per_seed"] == pytest.approx(
        focal["hss_per_seed"].mean(), abs=1e-5
    )
    assert np.isnan(table.loc["logistic", "hss_per_seed"])
    assert (table["repeats"] == 3).all() and table.loc["focal", "n_seeds"] == 2
    # comparison.csv holds the repeated paired differences, the table's procedure per score
    paired = pd.read_csv(folder / "rep" / "comparison.csv").set_index(["comparison", "score"])
    assert paired.loc[("focal - ce", "hss"), "difference"] == pytest.approx(hss["mean"], abs=1e-5)
    assert paired.loc[("focal - ce", "hss"), "aggregate"] == "repeat"
    assert paired.loc[("focal - ce", "auc"), "aggregate"] == "fold"
    text = (folder / "rep" / "table.md").read_text()
    assert text.startswith("# Focal loss vs cross-entropy: comparison table over 3 partitions")
    assert "each figure is the mean over the 3 repeats" in text
    assert "mean of per-fold AUCs" in text and "seed-ensemble" in text
    assert "Nadeau & Bengio 2003" in text and "| focal - ce | HSS |" in text
    assert "Network configurations scored on these test folds so far: 1" in text
    assert text in result.output
    run = json.loads((folder / "rep" / "run.json").read_text())
    assert run["repeats"]["seeds"] == [repeat_seed(0, r) for r in range(3)]
    assert len(run["repeats"]["fold_sizes"]) == 9
    assert run["configurations_scored"] == ["protocol version 1"]
    assert {"table.md", "table.csv", "partition0.md", "repeats.csv"} <= set(run["files"])
    assert sorted(run["files"]) == sorted(p.name for p in (folder / "rep").iterdir())
    predictions = pd.read_parquet(folder / "rep" / "predictions_repeats.parquet")
    assert (predictions["seed"] == -1).all() and not predictions["synthetic"].any()
    assert len(predictions) == 3 * 4 * len(
        pd.read_parquet(folder / "one" / "predictions.parquet").query("method == 'logistic'")
    )


def test_a_rerun_without_repeats_removes_the_repeated_files(runs, tmp_path) -> None:
    folder, common, _ = runs
    out = tmp_path / "out"
    assert CliRunner().invoke(main, [*common, "--repeats", "2", "--out", str(out)]).exit_code == 0
    assert (out / "partition0.md").exists()
    assert CliRunner().invoke(main, [*common, "--repeats", "1", "--out", str(out)]).exit_code == 0
    assert not (out / "partition0.md").exists() and not (out / "repeats.csv").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--repeats", "0"], "0 is not in the range x>=1"),
        (["--repeats", "2", "--resume"], "cannot be used with --repeats"),
        (["--resume"], "add --repeats 1 to resume"),
        (["--repeats", "2", "--split", "chrono", "--cutoff", "2011-03-01"], "one partition"),
    ],
)
def test_bad_repeat_options_fail_cleanly(runs, tmp_path, extra, message) -> None:
    _, common, _ = runs
    result = CliRunner().invoke(main, [*common, *extra, "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


def _frozen_copy(tmp_path):
    """protocols/comparison.toml with cheap values: 2 repeats, 3 folds, the two fast methods."""
    from flarecast.evaluation.frozen import DEFAULT_PATH

    text = DEFAULT_PATH.read_text()
    for old, new in (
        ("repeats = 10", "repeats = 2"),
        ("folds = 5", "folds = 3"),
        (
            'methods = ["climatology", "logistic", "gboost", "ce", "weighted-ce", "focal"]',
            'methods = ["climatology", "logistic"]',
        ),
    ):
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "frozen.toml"
    path.write_text(text)
    return path


def test_a_frozen_protocol_runs_as_written_and_records_its_hash(runs, tmp_path) -> None:
    import hashlib

    folder, _, _ = runs
    frozen = _frozen_copy(tmp_path)
    out = tmp_path / "out"
    args = ["reproduce", "--dataset", str(folder / "small_demo.parquet"), "--no-figures"]
    result = CliRunner().invoke(main, [*args, "--protocol", str(frozen), "--out", str(out)])
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["protocol_sha256"] == hashlib.sha256(frozen.read_bytes()).hexdigest()
    assert run["protocol_version"] == 1 and run["protocol"]["folds"] == 3
    assert run["repeats"]["repeats"] == 2
    assert sorted(pd.read_csv(out / "repeats.csv")["method"].unique()) == [
        "climatology",
        "logistic",
    ]
    refused = CliRunner().invoke(
        main, [*args, "--protocol", str(frozen), "--folds", "4", "--seed", "1", "--out", str(out)]
    )
    assert refused.exit_code != 0
    assert "frozen protocol; --folds, --seed would change it" in refused.output


def test_real_data_defaults_to_the_frozen_repeats_and_synthetic_data_to_one(runs, tmp_path) -> None:
    folder, _, _ = runs
    cheap = ["--folds", "2", "--methods", "climatology,logistic", "--no-figures", "--n-boot", "20"]
    real = CliRunner().invoke(
        main,
        [
            "reproduce",
            "--dataset",
            str(folder / "small_demo.parquet"),
            *cheap,
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert real.exit_code == 0, real.output
    assert json.loads((tmp_path / "r" / "run.json").read_text())["repeats"]["repeats"] == 10
    assert "comparison table over 10 partitions" in (tmp_path / "r" / "table.md").read_text()
    demo = CliRunner().invoke(
        main, ["reproduce", "--dataset", "demo", *cheap, "--out", str(tmp_path / "d")]
    )
    assert demo.exit_code == 0, demo.output
    assert json.loads((tmp_path / "d" / "run.json").read_text()).get("repeats") is None
    assert not (tmp_path / "d" / "partition0.md").exists()
