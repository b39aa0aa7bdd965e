"""``flarecast reproduce`` end to end on a small synthetic table, through click's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.data.synthetic import demo_dataset

REQUIRED = [
    "method",
    "x_recall",
    "x_recall_lo",
    "x_recall_hi",
    "recall",
    "hss",
    "hss_lo",
    "hss_hi",
    "tss",
    "tss_lo",
    "tss_hi",
    "precision",
    "auc",
    "auc_lo",
    "auc_hi",
    "bss",
    "n_test",
    "n_pos",
    "n_x",
    "n_x_regions",
    "base_rate",
]


@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "small_demo.parquet"
    demo_dataset(seed=3, n_regions=120, days=120).frame.to_parquet(path)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    config = out.parent / "fast.toml"
    config.write_text(
        "[protocol]\nfolds = 5\nseeds = 2\nn_boot = 300\n\n"
        "[protocol.network]\nmax_epochs = 15\npatience = 3\nhidden = [16]\n"
    )
    result = CliRunner().invoke(
        main,
        [
            "reproduce",
            "--dataset",
            "demo",
            "--config",
            str(config),
            "--folds",
            "3",
            "--methods",
            "climatology,logistic,ce,focal",
            "--gamma",
            "1.5",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out, result


def test_writes_every_file(run):
    out, _ = run
    for name in (
        "table.md",
        "table.csv",
        "comparison.csv",
        "predictions.parquet",
        "run.json",
        "roc.png",
        "reliability.png",
        "skill_threshold.png",
        "intervals.png",
        "importance.csv",
        "importance.png",
    ):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".*.tmp"))  # atomic writes left no temporaries


def test_table_and_comparison(run):
    out, _ = run
    table = pd.read_csv(out / "table.csv")
    assert set(REQUIRED) <= set(table.columns)
    assert table["method"].tolist() == ["climatology", "logistic", "ce", "focal"]
    assert (table["x_recall_lo"] <= table["x_recall_hi"]).all()
    assert table.loc[table.method == "focal", "n_seeds"].item() == 2
    comp = pd.read_csv(out / "comparison.csv")
    assert set(comp["score"]) == {"x_recall", "recall", "hss", "tss", "auc", "bss"}
    assert set(comp["comparison"]) == {"focal - ce", "ce - logistic", "focal - logistic"}
    by_method = table.set_index("method")
    pairs = comp.set_index(["comparison", "score"])
    for (a, b), score in (
        (("focal", "ce"), "hss"),
        (("ce", "logistic"), "auc"),
        (("focal", "logistic"), "tss"),
    ):
        assert pairs.loc[(f"{a} - {b}", score), "difference"] == pytest.approx(
            by_method.loc[a, score] - by_method.loc[b, score], abs=1e-5
        )
    reading = (out / "table.md").read_text().split("## Reading")[1]
    assert "Against logistic regression, paired: the cross-entropy network ROC AUC" in reading


def test_importance_of_both_networks(run):
    out, _ = run
    imp = pd.read_csv(out / "importance.csv")
    features = json.loads((out / "run.json").read_text())["features"]
    assert set(imp["method"]) == {"focal", "ce"}
    for _, sub in imp.groupby("method"):
        assert sorted(sub["feature"]) == sorted(features) and sorted(sub["rank"]) == list(
            range(1, len(features) + 1)
        )
    assert (imp["n_folds"] == 3).all() and imp["synthetic"].all()


def test_predictions_cover_every_row_per_method(run):
    out, _ = run
    pred = pd.read_parquet(out / "predictions.parquet")
    assert {"fold", "seed", "method", "region", "letter", "threshold", "time", "p", "y"} <= set(
        pred.columns
    )
    n = pd.read_csv(out / "table.csv")["n_test"].iloc[0]
    for method, sub in pred[pred.seed == -1].groupby("method"):
        assert sorted(sub["row"]) == list(range(n)), method
    assert sorted(pred.loc[pred.method == "focal", "seed"].unique()) == [-1, 0, 1]
    assert str(pred["time"].dtype).endswith("UTC]")


def test_every_output_says_synthetic(run):
    out, result = run
    assert "SYNTHETIC" in result.output
    assert "SYNTHETIC" in (out / "table.md").read_text()
    assert pd.read_csv(out / "table.csv")["synthetic"].all()
    assert pd.read_csv(out / "comparison.csv")["synthetic"].all()
    assert pd.read_parquet(out / "predictions.parquet")["synthetic"].all()
    assert pd.read_csv(out / "importance.csv")["synthetic"].all()
    assert json.loads((out / "run.json").read_text())["synthetic"] is True
    for png in out.glob("*.png"):
        assert b"SYNTHETIC" in png.read_bytes(), png.name


def test_run_json_records_config_and_provenance(run, table_file):
    out, _ = run
    meta = json.loads((out / "run.json").read_text())
    prot = meta["protocol"]
    assert prot["folds"] == 3  # the command line beats the config file
    assert prot["seeds"] == 2 and prot["n_boot"] == 300  # from the config file
    assert prot["gamma"] == 1.5 and prot["alpha"] == 0.25
    assert prot["network"] == {"max_epochs": 15, "patience": 3, "hidden": [16]}
    assert len(meta["data_sha256"]) == 64
    assert meta["versions"]["numpy"] == np.__version__
    assert "git_commit" in meta and meta["wall_seconds"] > 0
    assert [f["fold"] for f in meta["fold_sizes"]] == [0, 1, 2]


def test_prints_table_and_plain_reading(run):
    _, result = run
    assert "| focal-loss network |" in result.output
    assert "On this data" in result.output and "focal loss" in result.output
    assert "base rate" in result.output and "X events from" in result.output


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--threshold-metric", "auc"], "'hss', 'tss' or 'fixed:<p>'"),
        (["--methods", "climatology,focl"], "unknown method.*'focl'"),
        (["--folds", "1"], "'folds'.*>= 2"),
        (["--negatives", "Q"], "Invalid value for '--negatives'"),
    ],
)
def test_bad_options_fail_cleanly(table_file, tmp_path, args, match):
    result = CliRunner().invoke(
        main,
        [
            "reproduce",
            "--dataset",
            str(table_file),
            *args,
            "--n-boot",
            "10",
            "--methods" if "--methods" not in args else "--seed",
            "climatology" if "--methods" not in args else "0",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    import re

    assert re.search(match, result.output, re.S), result.output


def test_unknown_config_key_lists_legal_keys(table_file, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[protocol]\nfold = 3\n")
    result = CliRunner().invoke(
        main,
        [
            "reproduce",
            "--dataset",
            str(table_file),
            "--config",
            str(config),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 1
    assert "unknown key(s) ['fold']" in result.output and "'folds'" in result.output


def test_cli_module_imports_neither_torch_nor_matplotlib():
    code = (
        "import sys, flarecast.cli.reproduce, flarecast.cli.tune, flarecast.cli.evaluate, "
        "flarecast.evaluation.protocol, flarecast.evaluation.tables, flarecast.evaluation.bootstrap; "
        "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_config_file_sets_targets_unless_the_option_is_given(table_file, tmp_path):
    config = tmp_path / "targets.toml"
    config.write_text(
        '[protocol]\nnegatives = ["B", "C"]\nfolds = 2\nn_boot = 20\nmethods = ["climatology"]\n'
    )
    base = ["reproduce", "--dataset", str(table_file), "--config", str(config), "--no-figures"]
    result = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "a" / "run.json").read_text())
    assert meta["protocol"]["negatives"] == ["B", "C"] and "negative: B, C" in meta["definition"]
    assert not (tmp_path / "a" / "roc.png").exists()
    result = CliRunner().invoke(main, [*base, "--negatives", "C", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "b" / "run.json").read_text())
    assert meta["protocol"]["negatives"] == ["C"] and meta["definition"].endswith("negative: C")


@pytest.mark.slow
def test_reproduce_on_real_umich_24h(data_dir, tmp_path):
    """The real Michigan 24 h table: counts match its PROVENANCE.md (597 M/X, 5,053 C, 37 X in 24 regions)."""
    result = CliRunner().invoke(
        main,
        [
            "reproduce",
            "--dataset",
            "umich-24h",
            "--data-dir",
            str(data_dir),
            "--methods",
            "climatology,logistic",
            "--folds",
            "3",
            "--n-boot",
            "100",
            "--no-figures",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "table.csv").set_index("method")
    assert table["n_test"].iloc[0] == 597 + 5053 and table["n_pos"].iloc[0] == 597
    assert table["n_x"].iloc[0] == 37 and table["n_x_regions"].iloc[0] == 24
    assert not table["synthetic"].any() and "SYNTHETIC" not in result.output
    assert 0.6 < table.loc["logistic", "auc"] < 0.8  # real but modest skill (C vs M/X is hard)
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["flaring_only"] is True and "flaring region" in (tmp_path / "table.md").read_text()


FAST_RUN = [
    "reproduce",
    "--dataset",
    "demo",
    "--folds",
    "2",
    "--seeds",
    "1",
    "--n-boot",
    "50",
    "--methods",
    "climatology,logistic,focal",
    "--no-importance",
]


def _fast_config(tmp_path):
    config = tmp_path / "fast.toml"
    config.write_text("[protocol.network]\nmax_epochs = 4\npatience = 2\nhidden = [8]\n")
    return ["--config", str(config)]


def test_a_rerun_replaces_the_whole_folder(tmp_path):
    """A rerun without figures left the first run's PNGs beside its new tables."""
    out = tmp_path / "out"
    args = [*FAST_RUN, *_fast_config(tmp_path), "--out", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert (out / "roc.png").exists()
    (out / "my-notes.txt").write_text("kept")
    result = CliRunner().invoke(main, [*args, "--no-figures", "--seeds", "2"])
    assert result.exit_code == 0, result.output
    assert not list(out.glob("*.png")) and (out / "my-notes.txt").read_text() == "kept"
    assert json.loads((out / "run.json").read_text())["protocol"]["seeds"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fast.toml", "out"]


def test_sigint_is_a_clean_exit_and_leaves_the_old_outputs(tmp_path):
    """Ctrl-C once ended reproduce with SIGABRT and no message; a killed rerun mixed old and new files."""
    import os
    import signal
    import time
    from pathlib import Path

    flarecast = str(Path(sys.executable).with_name("flarecast"))
    out = tmp_path / "out"
    args = [*FAST_RUN, *_fast_config(tmp_path), "--no-figures"]
    assert CliRunner().invoke(main, [*args, "--out", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    # SIGINT as a terminal's Ctrl-C finds it: pytest started in the background by a
    # non-interactive shell (cmd &) ignores SIGINT, a child inherits that, and Python then
    # installs no KeyboardInterrupt handler, so the rerun would ignore the signal and end with 0.
    proc = subprocess.Popen(
        [flarecast, *args, "--seeds", "2", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not list((out / ".partial").glob("fold*.safetensors")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no fit was finished"
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr.decode()
    assert b"Interrupted" in stderr and b"--resume" in stderr and b"Traceback" not in stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fast.toml", "out"]


@pytest.mark.slow
def test_progress_is_shown_on_a_terminal_only(tmp_path):
    """reproduce printed one line and then nothing for the whole run."""
    import os
    import pty
    from pathlib import Path

    flarecast = str(Path(sys.executable).with_name("flarecast"))
    args = [*FAST_RUN, *_fast_config(tmp_path), "--no-figures"]
    outputs = {}
    for name, extra in (("tty", []), ("quiet", ["--quiet"])):
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [flarecast, *args, *extra, "--out", str(tmp_path / name)],
            stdout=subprocess.DEVNULL,
            stderr=follower,
            env={**os.environ, "COLUMNS": "120"},
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the process closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        os.close(leader)
        assert proc.wait(timeout=120) == 0
        outputs[name] = b"".join(chunks).decode(errors="replace")
    assert "reproduce" in outputs["tty"] and "6/6" in outputs["tty"]
    assert "fold 2/2, focal (1 seeds)" in outputs["tty"]
    assert "fit" not in outputs["quiet"].replace("fits", "")
    # Not a terminal (CliRunner): no bar at all.
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "pipe")])
    assert result.exit_code == 0 and "6/6" not in result.output


def test_each_method_has_one_colour_in_every_figure(run):
    """Logistic regression was orange in roc.png and blue in skill_threshold.png."""
    from flarecast.evaluation.figures import PALETTE, method_colours

    assert method_colours(["logistic", "ce", "focal", "climatology"]) == {
        m: PALETTE[m] for m in ("logistic", "ce", "focal", "climatology")
    }
    # Another order or subset of methods does not move a colour.
    assert method_colours(["focal"])["focal"] == method_colours(["ce", "focal"])["focal"]
    assert len(set(method_colours(["a", "b", "ce"]).values())) == 3


def test_table_notes_follow_what_was_run(run, tmp_path):
    """A chronological hold-out has one test set: no "out-of-fold" or "per-fold AUC" wording; every
    table.md lists the data set's caveats (they were only in run.json)."""
    out, _ = run
    text = (out / "table.md").read_text()
    assert "Data caveats:" in text and "out-of-fold" in text  # 3 region folds: pooled over folds
    result = CliRunner().invoke(
        main,
        [
            "reproduce",
            "--dataset",
            "demo",
            "--split",
            "chrono",
            "--cutoff",
            "2011-09-01",
            "--methods",
            "climatology,logistic",
            "--n-boot",
            "50",
            "--no-figures",
            "--out",
            str(tmp_path / "chrono"),
        ],
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "chrono" / "table.md").read_text()
    assert "one test set (no folds)" in text
    assert "out-of-fold" not in text and "per-fold" not in text
    assert "Data caveats:" in text and "SYNTHETIC demo data" in text


def test_an_interrupt_that_surfaced_as_another_error_is_still_an_interrupt():
    # Ctrl-C during `import torch` came out as "RuntimeError: Error calling __set_name__ ...".
    from flarecast.cli._runs import _interrupt

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as inner:
            raise RuntimeError("Error calling __set_name__") from inner
    except RuntimeError as exc:
        assert isinstance(exc.__cause__, KeyboardInterrupt) and _interrupt(exc) is exc.__cause__
    assert _interrupt(RuntimeError("a real error")) is None
