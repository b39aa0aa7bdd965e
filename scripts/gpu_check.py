#!/usr/bin/env python
"""Check that flarecast's networks really train on a CUDA GPU, agree with the CPU, and how fast.

Run it wherever a CUDA GPU is at hand (needs only torch with CUDA, numpy, pandas
and scikit-learn; flarecast may be installed with ``pip install --no-deps -e .``)::

    python scripts/gpu_check.py            # full check, a few minutes at most
    python scripts/gpu_check.py --quick    # small sizes (CI runs this on the CPU)

For the MLP and the sequence (GRU) model it

1. trains a seeded ensemble on the CPU and on the GPU, on the SYNTHETIC demo
   data (flarecast.data.synthetic), and asserts that every parameter and the
   predictions really lived on the GPU (and that CUDA memory was used);
2. moves the CPU-trained weights to the GPU and compares predictions (the
   GPU predicts under bf16 autocast, so a tolerance applies), and compares
   the held-out ROC AUC of the CPU- and GPU-trained ensembles (different
   float paths give different trajectories, so only the skill must agree);
3. prints throughput in member-samples per second (training rows x epochs
   each member trained / training time) on both devices, on the demo table
   and on a larger replicated table.

Without CUDA it runs the CPU half, says so, and exits 0 (1 with --require-cuda).
Exit status 1 when a check fails. Everything it prints is needed to judge the run.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from flarecast.data.synthetic import demo_dataset
from flarecast.splits import region_kfold
from flarecast.targets import make_targets
from flarecast.training.estimator import FlareClassifier
from flarecast.training.inputs import network_inputs

PROB_TOL = 0.02  # max |p_cpu - p_gpu| for the same weights (bf16 autocast on the GPU)
AUC_TOL = 0.05  # |AUC_cpu - AUC_gpu| for ensembles trained separately on each device


def _data(quick: bool, seed: int):
    sizes = {"n_regions": 80, "days": 120} if quick else {}
    targets = make_targets(demo_dataset(seed=seed, **sizes), negatives=("N", "A", "B", "C"))
    tr, te = region_kfold(targets.y, targets.groups, n_splits=4, seed=seed)[0]
    return targets.frame, targets.y.astype(np.int64), targets.groups, tr, te


def _fit(params: dict, device: str, X, y, groups) -> tuple[FlareClassifier, float]:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    clf = FlareClassifier(**params, device=device).fit(X, y, groups=groups)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return clf, time.perf_counter() - start


def _throughput(clf: FlareClassifier, n_rows: int, seconds: float) -> float:
    """Training member-samples per second: rows x the epochs each member trained (validation not counted)."""
    member_epochs = int(np.isfinite(clf.history_["val_loss"]).sum())  # NaN once a member stopped
    return (n_rows - clf.validation_["n"]) * member_epochs / seconds


def _warm_up(devices: list[str], data) -> None:
    """One tiny untimed fit per device: CUDA context, kernels and thread pools start here."""
    X, y, groups, tr, _ = data
    for device in devices:
        for kind in ("mlp", "sequence"):
            _fit(
                {"model": kind, "max_epochs": 1, "hidden": (8,)},
                device,
                X.iloc[tr],
                y[tr],
                groups[tr],
            )


def _on_cuda(clf: FlareClassifier) -> bool:
    return clf.device_.type == "cuda" and all(
        p.device.type == "cuda" for p in clf.net_.parameters()
    )


def moved_predictions(clf: FlareClassifier, X, device: str) -> tuple[np.ndarray, np.ndarray]:
    """Move a fitted ensemble to ``device``; its probabilities there as predicted (bf16 autocast on
    CUDA) and in float32 without autocast. The CPU half of the tests runs this with ``device="cpu"``."""
    clf.net_.to(device)
    clf.device_ = torch.device(device)
    p_moved = clf.predict_proba(X)[:, 1]
    with torch.inference_mode():
        raw = clf._matrix(X, fitting=False)
        inputs = [
            t.to(device) for t in network_inputs(X, raw, clf.model, clf.window, clf.transformer_)
        ]
        p_fp32 = torch.sigmoid(clf.net_(*inputs).float()).mean(0).cpu().numpy()
    return p_moved, p_fp32


def check_model(kind: str, args, data, failures: list[str]) -> None:
    X, y, groups, tr, te = data
    params = {
        "model": kind,
        "n_members": args.members,
        "seed": args.seed,
        "max_epochs": args.epochs,
        "patience": args.epochs if args.fixed_epochs else 8,
    }
    if kind == "sequence":
        params.update(hidden=(32,), window=4)
    print(
        f"\n== {kind}: {len(tr)} rows (20% of their regions validate), {len(te)} held-out rows, "
        f"{args.members} members"
    )
    cpu, t_cpu = _fit(params, "cpu", X.iloc[tr], y[tr], groups[tr])
    p_cpu = cpu.predict_proba(X.iloc[te])[:, 1]
    auc_cpu = roc_auc_score(y[te], p_cpu)
    print(
        f"cpu : fit {t_cpu:7.2f} s, {len(cpu.history_['val_loss']):3d} epochs, "
        f"{_throughput(cpu, len(tr), t_cpu):12,.0f} member-samples/s, held-out AUC {auc_cpu:.4f}, "
        f"best epochs {cpu.best_epoch_.tolist()}"
    )
    if not args.cuda:
        return
    torch.cuda.reset_peak_memory_stats()
    gpu, t_gpu = _fit(params, "cuda", X.iloc[tr], y[tr], groups[tr])
    p_gpu = gpu.predict_proba(X.iloc[te])[:, 1]
    auc_gpu = roc_auc_score(y[te], p_gpu)
    peak = torch.cuda.max_memory_allocated()
    print(
        f"cuda: fit {t_gpu:7.2f} s, {len(gpu.history_['val_loss']):3d} epochs, "
        f"{_throughput(gpu, len(tr), t_gpu):12,.0f} member-samples/s, held-out AUC {auc_gpu:.4f}, "
        f"best epochs {gpu.best_epoch_.tolist()}, peak CUDA memory {peak / 2**20:.1f} MiB"
    )
    if not (_on_cuda(gpu) and peak > 0):
        failures.append(f"{kind}: parameters not on CUDA or no CUDA memory used")
    # Same weights on both devices: the CPU-trained net moved to the GPU.
    p_moved, p_fp32 = moved_predictions(cpu, X.iloc[te], "cuda")
    diff, diff32 = np.abs(p_moved - p_cpu).max(), np.abs(p_fp32 - p_cpu).max()
    print(
        f"same weights, cuda vs cpu: max |dp| {diff:.2e} (bf16 autocast, tolerance {PROB_TOL}), "
        f"{diff32:.2e} (float32)"
    )
    print(
        f"separately trained: |AUC_cuda - AUC_cpu| = {abs(auc_gpu - auc_cpu):.4f} (tolerance {AUC_TOL})"
    )
    if diff > PROB_TOL:
        failures.append(f"{kind}: same-weight predictions differ by {diff:.3g} > {PROB_TOL}")
    if abs(auc_gpu - auc_cpu) > AUC_TOL:
        failures.append(f"{kind}: held-out AUC differs by {abs(auc_gpu - auc_cpu):.3g} > {AUC_TOL}")


def check_throughput(args, data) -> None:
    """Fixed-epoch fits on a table replicated ``--scale`` times (noise added), CPU vs GPU."""
    X, y, groups, tr, _ = data
    rng = np.random.default_rng(args.seed)
    reps = args.scale
    big = X.iloc[np.tile(tr, reps)].reset_index(drop=True)
    feats = [
        c
        for c in big.columns
        if big[c].dtype.kind == "f" and c not in ("peak_flux", "LON_FWT", "LAT_FWT")
    ]
    big[feats] = big[feats] * rng.lognormal(0, 0.05, size=(len(big), len(feats)))
    big_y = np.tile(y[tr], reps)
    big_g = np.concatenate([groups[tr] + 100000 * r for r in range(reps)])
    print(
        f"\n== throughput: MLP, {len(big)} rows ({reps} noisy copies), {args.members} members, 3 epochs, "
        f"batch 1024"
    )
    params = {
        "n_members": args.members,
        "max_epochs": 3,
        "patience": 3,
        "batch_size": 1024,
        "seed": args.seed,
    }
    for device in ["cpu", "cuda"] if args.cuda else ["cpu"]:
        clf, seconds = _fit(params, device, big, big_y, big_g)
        print(
            f"{device:4s}: {seconds:7.2f} s, {_throughput(clf, len(big), seconds):14,.0f} member-samples/s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (seconds; what CI runs on the CPU)"
    )
    parser.add_argument(
        "--require-cuda", action="store_true", help="fail when CUDA is not available"
    )
    parser.add_argument(
        "--members", type=int, default=None, help="ensemble size (default 10, quick 2)"
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="maximum epochs (default 40, quick 3)"
    )
    parser.add_argument(
        "--scale", type=int, default=None, help="copies of the table for throughput (default 20)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.members = args.members or (2 if args.quick else 10)
    args.epochs = args.epochs or (3 if args.quick else 40)
    args.scale = args.scale or (2 if args.quick else 20)
    args.fixed_epochs = args.quick
    args.cuda = torch.cuda.is_available()

    print(
        f"flarecast gpu_check: python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {np.__version__}, {platform.machine()} with {torch.get_num_threads()} torch threads"
        f"{' (QUICK sizes)' if args.quick else ''}"
    )
    if args.cuda:
        props = torch.cuda.get_device_properties(0)
        print(
            f"CUDA {torch.version.cuda}: {torch.cuda.get_device_name(0)}, {props.total_memory / 2**30:.0f} GiB, "
            f"bf16 supported: {torch.cuda.is_bf16_supported()}"
        )
    else:
        print(
            "CUDA is not available: running the CPU half only"
            + (" (--require-cuda: this is a failure)" if args.require_cuda else "")
        )
    print(
        "data: SYNTHETIC demo set (flarecast.data.synthetic), positive >= M1.0 vs N/A/B/C, region split"
    )
    data = _data(args.quick, args.seed)
    failures: list[str] = []
    _warm_up(["cpu", "cuda"] if args.cuda else ["cpu"], data)
    start = time.perf_counter()
    for kind in ("mlp", "sequence"):
        check_model(kind, args, data, failures)
    check_throughput(args, data)
    print(f"\ntotal {time.perf_counter() - start:.1f} s")
    if args.require_cuda and not args.cuda:
        failures.append("CUDA not available")
    for f in failures:
        print(f"FAIL: {f}")
    print("RESULT:", "FAIL" if failures else ("PASS" if args.cuda else "PASS (CPU only)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
