"""The same command with the same seed on the CPU gives the same bits, and every output says what produced it.

Two ``flarecast train`` processes with one seed must write byte-identical
weights and histories (and so identical predictions); a run with another
seed must not (the comparison can fail). The model folder and the forecast
report made from it must record their configuration, the checksums of their
data and the code version. (``run.json`` of ``flarecast reproduce`` is checked
in tests/test_cli_reproduce.py; a reproduce run resumed in another process
equals an uninterrupted one byte for byte in tests/test_resume.py.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from flarecast import __version__
from flarecast.cli import main
from flarecast.data.tables.read import load_dataset
from flarecast.training.artifacts import load_model
from flarecast.training.loop import TrainConfig

pytestmark = pytest.mark.slow

FLARECAST = str(Path(sys.executable).with_name("flarecast"))
TRAIN = [
    "train",
    "--dataset",
    "demo",
    "--seeds",
    "2",
    "--epochs",
    "4",
    "--hidden",
    "16,16",
    "--device",
    "cpu",
    "--quiet",
]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Seed 7 in two separate processes; seed 8 (the control) here."""
    base = tmp_path_factory.mktemp("repro")
    procs = [
        subprocess.Popen(
            [FLARECAST, *TRAIN, "--seed", "7", "--out", str(base / name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for name in ("a", "b")
    ]
    other = CliRunner().invoke(main, [*TRAIN, "--seed", "8", "--out", str(base / "other")])
    assert other.exit_code == 0, other.output
    for (
        proc
    ) in procs:  # communicate, not wait: a full pipe would block the child, and it closes the pipe
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, output.decode()
    return {name: base / name for name in ("a", "b", "other")}


def test_same_seed_in_two_processes_is_bit_identical(models):
    a, b, other = models["a"], models["b"], models["other"]
    for name in ("weights.safetensors", "history.csv", "calibration.json", "train.toml"):
        assert sha(a / name) == sha(b / name), name
    assert sha(a / "weights.safetensors") != sha(other / "weights.safetensors")
    X = load_dataset("demo").frame
    p = {name: load_model(models[name]).predict_proba_members(X) for name in models}
    assert np.array_equal(p["a"], p["b"]) and not np.array_equal(p["a"], p["other"])
    meta_a, meta_b = (json.loads((m / "model.json").read_text()) for m in (a, b))
    assert (
        meta_a["threshold"] == meta_b["threshold"]
        and meta_a["training"]["history"] == meta_b["training"]["history"]
    )


def test_model_folder_records_config_data_and_code(models):
    folder = models["a"]
    meta = json.loads((folder / "model.json").read_text())
    data = load_dataset("demo")
    # configuration: every TrainConfig field, the command's options, and a train.toml to rerun it
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= set(meta["config"])
    assert (
        meta["config"]["seed"] == 7
        and meta["config"]["hidden"] == [16, 16]
        and meta["config"]["max_epochs"] == 4
    )
    assert meta["extra"]["options"]["seed"] == 7 and meta["extra"]["command"] == "flarecast train"
    assert "seed = 7" in (folder / "train.toml").read_text()
    # data: name, checksum and the target definition
    assert (
        meta["data"]["name"] == "demo"
        and meta["data"]["sha256"] == data.sha256
        and len(data.sha256) == 64
    )
    assert (
        meta["class_definition"] == "positive: >= M1.0; negative: C" and meta["synthetic"] is True
    )
    # code: package version, library versions, git commit of a source checkout; weights checksum; time (UTC)
    prov = meta["extra"]["provenance"]
    assert meta["flarecast_version"] == __version__ == prov["versions"]["flarecast"]
    assert prov["versions"]["torch"] and prov["versions"]["numpy"] == np.__version__
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True
    )
    if head.returncode == 0:
        assert prov["git_commit"] == head.stdout.strip() and isinstance(prov["git_dirty"], bool)
    assert meta["weights"]["sha256"] == sha(folder / "weights.safetensors")
    assert meta["created"].endswith("+00:00")


def test_forecast_records_model_data_and_code(models, tmp_path):
    from flarecast.data.synthetic import demo_sharp_series

    records = tmp_path / "sharp.csv"
    demo_sharp_series(seed=1, n_regions=20, days=20).to_csv(records, index=False)
    res = CliRunner().invoke(
        main,
        [
            "forecast",
            "--model",
            str(models["a"]),
            "--features",
            str(records),
            "--date",
            "2011-01-15",
            "--stale-hours",
            "12",
            "--out",
            str(tmp_path / "reports"),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "reports" / "2011-01-15" / "forecast.json").read_text())
    meta = json.loads((models["a"] / "model.json").read_text())
    assert doc["flarecast_version"] == __version__
    assert doc["input"]["sha256"] == sha(records)
    assert doc["model"]["weights_sha256"] == meta["weights"]["sha256"]
    assert doc["model"]["training_data"]["sha256"] == meta["data"]["sha256"]
    assert (
        doc["model"]["flarecast_version"] == meta["flarecast_version"]
        and doc["model"]["created"] == meta["created"]
    )
    assert doc["model"]["target_definition"] == meta["class_definition"]
    assert doc["config"]["stale_hours"] == 12
    assert doc["generated_at"].endswith("Z") and doc["model"]["inference"] in ("numpy", "torch")
