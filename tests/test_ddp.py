"""Data-parallel training: a real ``torchrun --nproc_per_node=2`` run on the CPU (gloo) against one process.

The invariants of :mod:`flarecast.training.ddp` (shards cover each batch once, the
weighted average of the ranks' losses is the batch mean) are checked without
processes; a one-rank gloo group checks the collectives in this process; and
the end-to-end test runs ``flarecast train`` under torchrun on the SYNTHETIC
demo data and compares it with the same command in one process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from flarecast.cli import main
from flarecast.errors import ConfigError
from flarecast.models.mlp import EnsembleMLP
from flarecast.training import ddp
from flarecast.training.artifacts import load_model
from flarecast.training.loop import TrainConfig, train_ensemble
from flarecast.training.loss_functions import make_loss

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def _context(rank: int, world: int) -> ddp.DDPContext:
    return ddp.DDPContext(
        rank=rank, world_size=world, local_rank=rank, device=torch.device("cpu"), backend="gloo"
    )


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(0, 40), st.integers(0, 2**31 - 1))
def test_shards_cover_each_batch_once_and_average_to_the_batch_mean(k, world, extra, seed):
    size = world + extra  # a batch has at least one row per rank
    gen = torch.Generator().manual_seed(seed)
    idx = torch.stack([torch.randperm(size + 7, generator=gen)[:size] for _ in range(k)])
    losses = torch.rand(k, size + 7, generator=gen, dtype=torch.float64)
    shards = [_context(r, world).shard(idx) for r in range(world)]
    assert torch.equal(torch.cat([s for s, _ in shards], dim=1), idx)  # every column once, in order
    # DDP averages the ranks' gradients: (1/W) sum_r weight_r * mean_r(loss) must be the batch mean.
    averaged = sum(w * losses.gather(1, s).mean(dim=1) for s, w in shards) / world
    torch.testing.assert_close(averaged, losses.gather(1, idx).mean(dim=1), rtol=1e-12, atol=1e-12)


def test_shard_rejects_batches_smaller_than_the_world():
    with pytest.raises(ConfigError, match="3 rows per member, fewer than the 4 torchrun processes"):
        _context(0, 4).shard(torch.zeros(2, 3, dtype=torch.long))


def test_init_from_env_outside_torchrun(monkeypatch):
    for name in TORCHRUN_VARS:
        monkeypatch.delenv(name, raising=False)
    assert ddp.init_from_env("cpu") is None and ddp.active() is None


@pytest.mark.parametrize(
    "env, message",
    [
        (
            {"WORLD_SIZE": "2"},
            r"\['RANK', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'\] are not: start .* with torchrun",
        ),
        (
            {
                "WORLD_SIZE": "2",
                "RANK": "two",
                "LOCAL_RANK": "0",
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": "1",
            },
            "RANK must be an integer. Got 'two'",
        ),
        (
            {
                "WORLD_SIZE": "2",
                "RANK": "2",
                "LOCAL_RANK": "0",
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": "1",
            },
            "Inconsistent torchrun variables: RANK=2, WORLD_SIZE=2",
        ),
    ],
)
def test_init_from_env_rejects_a_broken_environment(monkeypatch, env, message):
    for name in TORCHRUN_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        ddp.init_from_env("cpu")


@pytest.fixture
def one_rank_group(monkeypatch):
    """A real gloo process group of one rank in this process, as torchrun --nproc_per_node=1 would make."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name, value in {
        "RANK": "0",
        "WORLD_SIZE": "1",
        "LOCAL_RANK": "0",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
    }.items():
        monkeypatch.setenv(name, value)
    context = ddp.init_from_env("cpu", timeout_s=60)
    yield context
    ddp.shutdown()
    assert not dist.is_initialized()


def test_one_rank_group_trains_like_one_process(one_rank_group, rng):
    ctx = one_rank_group
    assert ctx.backend == "gloo" and ctx.is_main and ddp.active() == ctx
    net = EnsembleMLP(3, (8,), n_members=2, seed=1)
    x = torch.from_numpy(rng.normal(size=(50, 3)).astype(np.float32))
    with torch.no_grad():
        torch.testing.assert_close(ctx.gather_rows(net, [x]), net(x), rtol=0, atol=0)
    assert torch.equal(ctx.all_sum(torch.arange(3.0)), torch.arange(3.0))

    y = torch.from_numpy((rng.random(200) < 0.3).astype(np.int64))
    X = torch.from_numpy(rng.normal(size=(200, 3)).astype(np.float32)) + y[:, None] * 0.8
    config = TrainConfig(hidden=(8,), n_members=2, max_epochs=4, batch_size=32, seed=3)
    results = {}
    for name, parallel in (
        ("alone", None),
        ("ddp", "auto"),
    ):  # "auto" finds the group initialised above
        net = EnsembleMLP(3, (8,), n_members=2, seed=3, base_rate=0.3)
        res = train_ensemble(
            net,
            (X[:150],),
            y[:150],
            (X[150:],),
            y[150:],
            make_loss("focal"),
            config,
            torch.device("cpu"),
            parallel=parallel,
        )
        results[name] = (res, [p.detach().clone() for p in net.parameters()])
    (alone, w_alone), (par, w_par) = results["alone"], results["ddp"]
    assert np.array_equal(alone.best_epoch, par.best_epoch)
    np.testing.assert_allclose(alone.history["val_loss"], par.history["val_loss"], rtol=1e-6)
    for a, b in zip(w_alone, w_par, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_nccl_group_refuses_a_cpu_model():
    ctx = ddp.DDPContext(
        rank=0, world_size=2, local_rank=0, device=torch.device("cuda", 0), backend="nccl"
    )
    with pytest.raises(
        ConfigError, match="model is on cpu but this torchrun process group uses NCCL"
    ):
        ctx.wrap(EnsembleMLP(2, (4,)))


def _flarecast_script() -> Path:
    script = Path(sys.executable).with_name("flarecast")
    if not script.exists():
        pytest.skip("the flarecast console script is not installed next to this Python")
    return script


@pytest.mark.slow
def test_torchrun_two_processes_match_one_process(tmp_path):
    args = [
        "train",
        "--dataset",
        "demo",
        "--device",
        "cpu",
        "--epochs",
        "4",
        "--seeds",
        "2",
        "--quiet",
        "--calibration",
        "none",
    ]
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_VARS}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--standalone",
            str(_flarecast_script()),
            *args,
            "--out",
            str(tmp_path / "ddp"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    single = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "one")])
    assert single.exit_code == 0, single.output

    # Only rank 0 printed and wrote.
    assert run.stdout.count("data-parallel: 2 torchrun processes (gloo)") == 1
    assert run.stdout.count("saved ") == 1 and run.stdout.count("validating on ") == 1
    side = {
        name: json.loads((tmp_path / name / "model.json").read_text()) for name in ("ddp", "one")
    }
    assert side["ddp"]["extra"]["data_parallel"] == {"world_size": 2, "backend": "gloo"}
    assert "data_parallel" not in side["one"]["extra"]

    # Same validation AUC within a small tolerance; the per-epoch validation losses agree closely, because
    # the averaged gradient of the two half-batches is the gradient of the whole batch.
    auc = {name: s["training"]["validation"]["auc"] for name, s in side.items()}
    assert auc["ddp"] == pytest.approx(auc["one"], abs=0.005) and auc["one"] > 0.6
    hist = {
        name: np.asarray(s["training"]["history"]["val_loss"], dtype=float)
        for name, s in side.items()
    }
    assert hist["ddp"].shape == hist["one"].shape == (4, 2)
    np.testing.assert_allclose(hist["ddp"], hist["one"], rtol=1e-3)

    # The written model is an ordinary model folder: it predicts like the single-process one.
    from flarecast.data.synthetic import demo_dataset

    frame = demo_dataset().frame.head(300)
    p = {
        name: load_model(tmp_path / name, device="cpu").predict_proba(frame)[:, 1]
        for name in ("ddp", "one")
    }
    np.testing.assert_allclose(p["ddp"], p["one"], atol=2e-3)
