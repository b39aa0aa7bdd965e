"""``flarecast reproduce --repeats R`` end to end on a small synthetic table."""

from __future__ import annotations

import json

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
    single = CliRunner().invoke(main, [*common, "--out", str(folder / "one")])
    assert single.exit_code == 0, single.output
    return folder, common, repeated


def test_repeat_zero_outputs_equal_the_single_partition_run(runs) -> None:
    folder, _, _ = runs
    for name in ("table.csv", "comparison.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(folder / "rep" / name), pd.read_csv(folder / "one" / name)
        )
    pd.testing.assert_frame_equal(
        pd.read_parquet(folder / "rep" / "predictions.parquet"),
        pd.read_parquet(folder / "one" / "predictions.parquet"),
    )
    assert not (folder / "one" / "repeated.md").exists()


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
    text = (folder / "rep" / "repeated.md").read_text()
    assert text.startswith("# ") and "3 region-grouped 3-fold partitions" in text
    assert "mean over the repeats" in text and "Nadeau & Bengio 2003" in text
    assert "| focal − ce | HSS |" in text
    assert text in result.output
    run = json.loads((folder / "rep" / "run.json").read_text())
    assert run["repeats"]["seeds"] == [repeat_seed(0, r) for r in range(3)]
    assert len(run["repeats"]["fold_sizes"]) == 9
    predictions = pd.read_parquet(folder / "rep" / "predictions_repeats.parquet")
    assert (predictions["seed"] == -1).all() and not predictions["synthetic"].any()
    assert len(predictions) == 3 * 4 * len(
        pd.read_parquet(folder / "one" / "predictions.parquet").query("method == 'logistic'")
    )


def test_a_rerun_without_repeats_removes_the_repeated_files(runs, tmp_path) -> None:
    folder, common, _ = runs
    out = tmp_path / "out"
    assert CliRunner().invoke(main, [*common, "--repeats", "2", "--out", str(out)]).exit_code == 0
    assert (out / "repeated.md").exists()
    assert CliRunner().invoke(main, [*common, "--out", str(out)]).exit_code == 0
    assert not (out / "repeated.md").exists() and not (out / "repeats.csv").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--repeats", "0"], "0 is not in the range x>=1"),
        (["--repeats", "2", "--resume"], "cannot be used with --repeats"),
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
