"""Model folders written as one unit, tied to their weights, refused when mixed (issue #16 findings).

Every test here failed on 15b87a9: train --out replaced a model silently, a retrain
with --calibration none kept the old calibration.json, a folder mixing two trainings
loaded, and a pair of concurrent runs into one --out could crash.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.errors import ConfigError, ModelFileError
from flarecast.evaluation.calibration import load_calibrator
from flarecast.forecast.engine import NumpyMLP
from flarecast.training.artifacts import load_model
from flarecast.training.config import TrainConfig
from flarecast.training.fit import prepare_training, save_trained
from flarecast.training.folder import check_out_folder

TRAIN = ["train", "--dataset", "demo", "--epochs", "2", "--quiet", "--device", "cpu"]


def _train(out: Path, *extra: str):
    return CliRunner().invoke(main, [*TRAIN, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "base"
    res = _train(out)
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture
def folder(trained, tmp_path) -> Path:
    return Path(shutil.copytree(trained, tmp_path / "model"))


def test_train_refuses_a_folder_holding_a_model_without_overwrite(folder):
    before = (folder / "weights.safetensors").read_bytes()
    res = _train(folder, "--seed", "5")
    assert res.exit_code == 1
    assert "already holds a model" in res.output and "--overwrite" in res.output
    assert (folder / "weights.safetensors").read_bytes() == before
    res = _train(folder, "--seed", "5", "--overwrite")
    assert res.exit_code == 0, res.output
    assert (folder / "weights.safetensors").read_bytes() != before
    assert load_model(folder).get_params()["seed"] == 5


def test_a_folder_with_other_files_is_never_replaced(tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.tex").write_text("keep me")
    res = _train(out, "--overwrite")
    assert res.exit_code == 1 and "['thesis.tex'], which are not model files" in res.output
    assert (out / "thesis.tex").read_text() == "keep me"


def test_retraining_without_calibration_leaves_no_old_calibration(folder):
    assert (folder / "calibration.json").is_file()
    res = _train(folder, "--overwrite", "--calibration", "none", "--seed", "3")
    assert res.exit_code == 0, res.output
    assert not (folder / "calibration.json").exists()
    assert load_calibrator(folder, missing_ok=True) is None
    assert sorted(p.name for p in folder.iterdir()) == [
        "history.csv",
        "model.json",
        "train.toml",
        "weights.safetensors",
    ]


def test_every_file_records_the_weights_it_belongs_to(folder):
    sha = json.loads((folder / "model.json").read_text())["weights"]["sha256"]
    assert json.loads((folder / "calibration.json").read_text())["weights_sha256"] == sha
    assert f'weights_sha256 = "{sha}"' in (folder / "train.toml").read_text()
    assert "history_sha256 = " in (folder / "train.toml").read_text()


@pytest.mark.parametrize("stranger", ["calibration.json", "train.toml", "history.csv"])
def test_a_folder_mixing_two_trainings_is_refused(folder, tmp_path, stranger):
    other = tmp_path / "other"
    res = _train(other, "--seed", "9")
    assert res.exit_code == 0, res.output
    shutil.copy(other / stranger, folder / stranger)  # e.g. a kill between two saves
    for load in (load_model, NumpyMLP.from_folder):
        with pytest.raises(ModelFileError, match=rf"mixes two trainings: {stranger}"):
            load(folder)
    res = CliRunner().invoke(
        main,
        ["predict", "--model", str(folder), "--dataset", "demo", "--out", str(tmp_path / "p.csv")],
    )
    assert res.exit_code == 1 and "mixes two trainings" in res.output
    assert not (tmp_path / "p.csv").exists()


def test_a_failure_while_writing_leaves_the_old_folder_whole(folder):
    """The folder is assembled aside: a crash before the swap leaves the previous model intact."""
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    prepared = prepare_training("demo", seed=0)
    clf = load_model(folder)

    def crash(path: Path) -> None:
        (path / "calibration.json").write_text("{}")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_trained(
            folder,
            clf,
            prepared,
            TrainConfig(),
            threshold="tss",
            extra={},
            writers=[crash],
            overwrite=True,
        )
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".model.")]


def test_check_out_folder_allows_a_checkpoint_only(tmp_path):
    out = tmp_path / "m"
    (out / ".checkpoint").mkdir(parents=True)
    assert check_out_folder(out, overwrite=False) == out
    (out / "model.json").write_text("{}")
    with pytest.raises(ConfigError, match="already holds a model"):
        check_out_folder(out, overwrite=False)


@pytest.mark.slow
def test_two_runs_into_one_folder_end_cleanly(tmp_path):
    """Two concurrent train runs into one --out raised FileNotFoundError in 1 of 6 rounds."""
    env = {**os.environ, "FLARECAST_DATA_DIR": os.environ.get("FLARECAST_DATA_DIR", "")}
    out = tmp_path / "shared"
    code = "from flarecast.cli import main; main()"
    for round_ in range(2):
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    code,
                    *TRAIN,
                    "--out",
                    str(out),
                    "--overwrite",
                    "--seed",
                    str(seed),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )  # fmt: skip
            for seed in (round_, round_ + 10)
        ]
        results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
        for _stdout, stderr, rc in results:
            assert "Traceback" not in stderr, stderr
            assert rc == 0, stderr
        clf = load_model(out)  # the last writer's folder, whole
        assert clf.get_params()["seed"] in (round_, round_ + 10)
        assert not (out / ".checkpoint").exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".shared.")]


@pytest.mark.slow
def test_predict_shows_data_warnings_as_one_line(folder, tmp_path, table_missing_one_cell):
    """predict printed raw Python warnings, with the source line that raised them."""
    table = table_missing_one_cell
    res = subprocess.run(
        [sys.executable, "-c", "from flarecast.cli import main; main()", "predict", "--model",
         str(folder), "--dataset", str(table), "--out", str(tmp_path / "p.csv")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stderr.startswith(f"Warning: {table}: dropped 1 row(s)"), res.stderr
    assert "DataWarning" not in res.stderr and "return " not in res.stderr
