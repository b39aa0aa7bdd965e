"""Interrupted training and comparison runs resume to the same result as uninterrupted ones.

``flarecast train`` checkpoints after every epoch (flarecast.training.checkpoint) and
``flarecast reproduce`` keeps every finished (fold, method) fit under
OUT/.partial/ (flarecast.evaluation.store). Here real processes are killed (SIGKILL,
SIGTERM) once a checkpoint or a finished fold exists, resumed with
``--resume``, and their outputs compared, bit for bit, with a run that was
never interrupted.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.errors import ConfigError, ModelFileError
from flarecast.training.checkpoint import Checkpoint
from flarecast.training.estimator import FlareClassifier

sys.path.insert(0, str(Path(__file__).parent))
from _training_data import region_split, toy_table  # noqa: E402

pytestmark = pytest.mark.slow

FLARECAST = str(Path(sys.executable).with_name("flarecast"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kill_when(proc: subprocess.Popen, ready, sig: int, what: str, timeout: float = 120) -> None:
    """Send ``sig`` to ``proc`` as soon as ``ready()`` is true; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(
                f"the run ended (status {proc.returncode}) before {what}:\n{proc.communicate()[0].decode()}"
            )
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.005)
    proc.send_signal(sig)
    proc.communicate(timeout=60)  # also closes the output pipe
    # SIGKILL ends the process where it stands; SIGTERM unwinds it to a clean exit (143).
    assert proc.returncode == (128 + sig if sig == signal.SIGTERM else -sig)


# -- the library: FlareClassifier.fit(checkpoint=...) ------------------------------------------------------


@pytest.fixture(scope="module")
def toy():
    frame, y = toy_table(n_regions=80)
    tr, te = region_split(frame)
    return frame.iloc[tr], y[tr], frame.iloc[te]


# Dropout and input noise draw from the dropout generator; lr and patience make members stop at different
# epochs, so checkpoints are also taken after members were dropped from the network and the optimiser.
PARAMS = dict(
    n_members=4,
    max_epochs=40,
    patience=3,
    hidden=(8, 8),
    lr=0.03,
    dropout=0.1,
    input_noise=0.1,
    seed=3,
    device="cpu",
)


class Interrupt(Exception):
    pass


def test_fit_resumed_after_any_epoch_is_bit_identical(toy, tmp_path):
    X, y, X_test = toy
    ref = FlareClassifier(**PARAMS).fit(X, y)
    n_epochs = len(ref.history_["val_loss"])
    assert (
        len(set(ref.best_epoch_.tolist())) > 1 and n_epochs < PARAMS["max_epochs"]
    )  # members stopped apart
    for stop in (
        2,
        5,
        n_epochs,
    ):  # interrupted during epoch `stop`: the checkpoint holds epoch stop - 1
        path = tmp_path / f"stop{stop}.safetensors"

        def interrupt(epoch, info, stop=stop):
            if epoch == stop:
                raise Interrupt

        with pytest.raises(Interrupt):
            FlareClassifier(**PARAMS).fit(X, y, callback=interrupt, checkpoint=Checkpoint(path))
        assert Checkpoint(path).peek()["epoch"] == stop - 1
        checkpoint = Checkpoint(path, resume=True)
        res = FlareClassifier(**PARAMS).fit(X, y, checkpoint=checkpoint)
        assert checkpoint.resumed_epoch == stop - 1
        for name, tensor in ref.net_.state_dict().items():
            assert torch.equal(res.net_.state_dict()[name], tensor), name
        assert np.array_equal(res.predict_proba_members(X_test), ref.predict_proba_members(X_test))
        for key, rows in ref.history_.items():
            assert np.array_equal(res.history_[key], rows, equal_nan=True), key
        assert (
            res.best_epoch_.tolist() == ref.best_epoch_.tolist()
            and res.threshold_ == ref.threshold_
        )


def test_a_checkpoint_only_resumes_its_own_run(toy, tmp_path):
    X, y, _ = toy
    path = tmp_path / "c.safetensors"

    def interrupt(epoch, info):
        if epoch == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        FlareClassifier(**PARAMS).fit(X, y, callback=interrupt, checkpoint=Checkpoint(path))
    edited = X.copy()
    edited.iloc[0, edited.columns.get_loc("NOISE")] += 3.0  # one value of one feature
    for changed, X_other in (({"seed": 4}, X), ({"lr": 0.01}, X), ({}, edited)):
        with pytest.raises(
            ConfigError, match="was written by a different training run .* without --resume"
        ):
            FlareClassifier(**{**PARAMS, **changed}).fit(
                X_other, y, checkpoint=Checkpoint(path, resume=True)
            )
    # Without resume the file is simply replaced by the new run's first epoch.
    FlareClassifier(**{**PARAMS, "max_epochs": 1}).fit(X, y, checkpoint=Checkpoint(path))
    assert Checkpoint(path).peek()["epoch"] == 1


def test_checkpoint_file_holds_no_pickle_and_a_planted_one_never_runs(toy, tmp_path):
    X, y, _ = toy
    path = tmp_path / "c.safetensors"
    FlareClassifier(**{**PARAMS, "max_epochs": 2}).fit(X, y, checkpoint=Checkpoint(path))
    blob = path.read_bytes()
    assert blob[:1] != b"\x80" and blob[:4] != b"PK\x03\x04"
    header = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])
    assert {
        "net/layers.0.weight",
        "best/layers.0.weight",
        "optim/layers.0.weight/exp_avg",
        "optim/layers.0.weight/exp_avg_sq",
        "optim/layers.0.weight/step",
        "rng/dropout",
        "rng/order/3",
        "loop/best_score",
        "loop/since_best",
        "loop/active",
        "loop/members",
        "history/val_loss",
    } <= set(header)
    meta = json.loads(header["__metadata__"]["flarecast_checkpoint"])
    assert meta["epoch"] == 2 and len(meta["fingerprint"]) == 64
    # Truncated (disk damage; a kill cannot do this: the file is replaced atomically) ...
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ModelFileError, match="is not a flarecast training checkpoint"):
        FlareClassifier(**PARAMS).fit(X, y, checkpoint=Checkpoint(path, resume=True))
    # ... or replaced by a pickle whose unpickling would create a marker file.
    marker = tmp_path / "PWNED"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelFileError, match="is not a flarecast training checkpoint"):
        FlareClassifier(**PARAMS).fit(X, y, checkpoint=Checkpoint(path, resume=True))
    assert not marker.exists()


# -- the command: flarecast train --resume after SIGKILL --------------------------------------------------------

TRAIN = [
    "train",
    "--dataset",
    "demo",
    "--seed",
    "5",
    "--seeds",
    "3",
    "--epochs",
    "80",
    "--device",
    "cpu",
    "--quiet",
]


def test_train_killed_mid_run_then_resumed_equals_an_uninterrupted_run(tmp_path):
    config = tmp_path / "long.toml"
    config.write_text(
        "[train]\npatience = 1000  # no early stop: every epoch runs, the kill lands mid-run\n"
    )
    args = [*TRAIN, "--config", str(config)]
    killed = tmp_path / "killed"
    ckpt = killed / ".checkpoint" / "train.safetensors"
    proc = subprocess.Popen(
        [FLARECAST, *args, "--out", str(killed)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    kill_when(proc, ckpt.is_file, signal.SIGKILL, "a checkpoint was written")
    epoch = Checkpoint(ckpt).peek()["epoch"]
    assert 1 <= epoch < 80 and not (killed / "model.json").exists()

    runner = CliRunner()
    res = runner.invoke(main, [*args, "--epochs", "79", "--resume", "--out", str(killed)])
    assert res.exit_code == 1 and "was written by a different training run" in res.output
    res = runner.invoke(main, [*args, "--resume", "--out", str(killed)])
    assert res.exit_code == 0, res.output
    assert f"resuming after epoch {epoch} from {ckpt}" in res.output
    ref = runner.invoke(main, [*args, "--out", str(tmp_path / "ref")])
    assert ref.exit_code == 0, ref.output

    for name in ("weights.safetensors", "history.csv", "calibration.json"):
        assert sha(killed / name) == sha(tmp_path / "ref" / name), name
    meta = {d: json.loads((tmp_path / d / "model.json").read_text()) for d in ("killed", "ref")}
    assert meta["killed"]["weights"] == meta["ref"]["weights"]
    assert (
        meta["killed"]["extra"]["resumed_after_epoch"] == epoch
        and "resumed_after_epoch" not in meta["ref"]["extra"]
    )
    assert not (killed / ".checkpoint").exists()  # removed once the model was saved
    preds = {}
    for d in ("killed", "ref"):
        out = tmp_path / f"{d}.csv"
        assert (
            runner.invoke(
                main,
                ["predict", "--model", str(tmp_path / d), "--dataset", "demo", "--out", str(out)],
            ).exit_code
            == 0
        )
        preds[d] = pd.read_csv(out)
    assert preds["killed"].equals(preds["ref"])


# -- the command: flarecast reproduce --resume after SIGTERM ----------------------------------------------------

REPRODUCE = [
    "reproduce",
    "--dataset",
    "demo",
    "--folds",
    "3",
    "--seeds",
    "2",
    "--n-boot",
    "200",
    "--no-figures",
    "--methods",
    "climatology,logistic,ce,focal",
]
OUTPUTS = ("table.csv", "comparison.csv", "importance.csv", "calibration.csv")


def test_reproduce_killed_after_some_folds_then_resumed_equals_an_uninterrupted_run(tmp_path):
    config = tmp_path / "fast.toml"
    config.write_text("[protocol.network]\nmax_epochs = 15\npatience = 3\nhidden = [16]\n")
    args = [*REPRODUCE, "--config", str(config)]
    killed = tmp_path / "killed"
    partial = killed / ".partial"
    proc = subprocess.Popen(
        [FLARECAST, *args, "--out", str(killed)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    # Fold 0's climatology, logistic and CE fits are kept; the run still has 9 of its 12 fits to go.
    kill_when(
        proc,
        lambda: len(list(partial.glob("fold*.safetensors"))) >= 3,
        signal.SIGTERM,
        "three fits were finished",
    )
    finished = sorted(p.name for p in partial.glob("fold*.safetensors"))
    assert 3 <= len(finished) < 12 and not (killed / "table.csv").exists()

    runner = CliRunner()
    res = runner.invoke(main, [*args, "--gamma", "1", "--resume", "--out", str(killed)])
    assert res.exit_code == 1 and "holds fits of a different run" in res.output
    res = runner.invoke(main, [*args, "--resume", "--out", str(killed)])
    assert res.exit_code == 0, res.output
    assert (
        f"--resume: {len(finished)} of 12 fits were finished by the interrupted run" in res.output
    )
    ref = runner.invoke(main, [*args, "--out", str(tmp_path / "ref")])
    assert ref.exit_code == 0, ref.output

    for name in OUTPUTS:
        assert (killed / name).read_bytes() == (tmp_path / "ref" / name).read_bytes(), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(killed / "predictions.parquet"),
        pd.read_parquet(tmp_path / "ref" / "predictions.parquet"),
    )
    runs = {d: json.loads((tmp_path / d / "run.json").read_text()) for d in ("killed", "ref")}
    assert runs["killed"]["resumed_fits"] == len(finished) and runs["ref"]["resumed_fits"] == 0
    assert not partial.exists() and not (tmp_path / "ref" / ".partial").exists()


def test_reproduce_without_resume_starts_afresh(tmp_path):
    from flarecast.evaluation.protocol import FoldFit
    from flarecast.evaluation.store import FoldStore

    out = tmp_path / "out"
    stale = FoldStore(out / ".partial", "0" * 64)
    stale.save(
        0,
        "climatology",
        FoldFit(np.zeros(2), 0.5, np.zeros(2), np.empty((0, 2)), np.empty(0), 0.1, 1.0),
    )
    res = CliRunner().invoke(
        main,
        [
            "reproduce",
            "--dataset",
            "demo",
            "--folds",
            "2",
            "--methods",
            "climatology,logistic",
            "--n-boot",
            "50",
            "--no-figures",
            "--no-importance",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "discarding 1 finished fits" in res.output and not (out / ".partial").exists()
    assert json.loads((out / "run.json").read_text())["resumed_fits"] == 0
