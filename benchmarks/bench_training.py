#!/usr/bin/env python
"""Training speed on the real ``umich-24h`` table: vectorised ensemble vs sequential fits vs scikit-learn.

    FLARECAST_DATA_DIR=../shared/data python benchmarks/bench_training.py [--repeats 3]

Measures, in one process and interleaved so that machine noise hits both sides alike:

1. a K=10 ensemble (one vectorised network) against 10 sequential single-member
   fits of the same model, (a) with the default early stopping, as used in the
   comparison, and (b) with a fixed number of epochs (pure throughput). Target:
   ratio >= 4 on 2 CPU cores. Both sides get the machine's cores: the ensemble
   runs with one torch thread per core (its batched products are big enough to
   share), the sequential fits at whichever of 1 thread or one per core was
   faster in the same repeat (a single member's products are too small to
   share, so one thread usually wins). Both on one thread is printed too.
2. the wall time and throughput (member-samples/s) of one 10-seed MLP ensemble
   on umich-24h. Target: < 15 s on 2 CPU cores.
3. scikit-learn's ``MLPClassifier`` of the same size and activation (FlareClassifier defaults,
   batch 256, same learning rate, L2 and patience; its early stopping holds out
   random rows, ours holds out regions): ten seeds fitted one after the other
   and averaged, against our 10-member ensemble: time ratio (first fold), and
   held-out ROC AUC over all five region folds (plus logistic regression's).

Data: positives >= M1.0 against C flares; first fold of ``region_kfold(5, seed=0)``
as the held-out set; features through flarecast's FeatureTransformer fitted on the
training rows; our loss is cross-entropy unless ``--loss`` says otherwise. Times are
medians over ``--repeats``; the ratios are also given as the median of the per-repeat ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time
import warnings
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier

from flarecast.data.tables.read import load_dataset
from flarecast.features.transforms import FeatureTransformer
from flarecast.splits import inner_validation, region_kfold
from flarecast.targets import make_targets
from flarecast.training.estimator import FlareClassifier

K = 10


def _timed(fn):
    """(result, wall seconds, process CPU seconds); CPU time barely depends on other jobs' load."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - start, time.process_time() - cpu


def _member_samples(clfs: list[FlareClassifier], n_train: int) -> int:
    """Training rows x epochs each member trained (its history is NaN after it stopped), summed."""
    return sum(
        (n_train - c.validation_["n"]) * int(np.isfinite(c.history_["val_loss"]).sum())
        for c in clfs
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fixed-epochs", type=int, default=30)
    parser.add_argument(
        "--loss", default="ce", help="our loss (default ce, like MLPClassifier's log-loss)"
    )
    args = parser.parse_args()

    data = load_dataset("umich-24h")
    targets = make_targets(data, negatives=("C",))
    X, y, g = targets.frame, targets.y.astype(np.int64), targets.groups
    tr, te = region_kfold(y, g, n_splits=5, seed=0)[0]
    Xtr, ytr, gtr = X.iloc[tr], y[tr], g[tr]
    print(
        f"umich-24h: {len(X)} rows ({targets.definition}), train {len(tr)} rows / {len(np.unique(gtr))} regions "
        f"(20% of the regions validate), held-out {len(te)} rows; {len(data.features)} features"
    )

    def ours(n_members: int, seed: int, **kw) -> FlareClassifier:
        return FlareClassifier(
            n_members=n_members, seed=seed, device="cpu", loss=args.loss, **kw
        ).fit(Xtr, ytr, groups=gtr)

    cores = len(os.sched_getaffinity(0))
    ours(1, 0, max_epochs=2)  # warm-up: thread pools, first-call overheads
    ours(K, 0, max_epochs=2, cpu_threads=cores)

    # ens1/ens: the ensemble on one thread / on every core; seq1/seq2: the 10 fits one after the
    # other on one thread / on every core. The target compares the ensemble on the machine's cores
    # with the sequential fits at whichever thread count was faster in the same repeat.
    kinds = ("ens1", "ens", "seq1", "seq2")
    results: dict[str, list[float]] = {f"{k}_{m}": [] for k in kinds for m in ("es", "fix")} | {
        "sk10": []
    }
    cpu: dict[str, list[float]] = {k: [] for k in results}
    fixed = {"max_epochs": args.fixed_epochs, "patience": args.fixed_epochs}
    kept: dict[str, Any] = {}
    for rep in range(args.repeats):
        for mode, extra in (("es", {}), ("fix", fixed)):
            runs = {
                "ens1": lambda r=rep, e=extra: ours(K, 100 * r, cpu_threads=1, **e),
                "ens": lambda r=rep, e=extra: ours(K, 100 * r, cpu_threads=cores, **e),
                "seq1": lambda r=rep, e=extra: [
                    ours(1, 100 * r + s, cpu_threads=1, **e) for s in range(K)
                ],
                "seq2": lambda r=rep, e=extra: [
                    ours(1, 100 * r + s, cpu_threads=cores, **e) for s in range(K)
                ],
            }
            for kind, fn in runs.items():
                out, t, c = _timed(fn)
                results[f"{kind}_{mode}"].append(t)
                cpu[f"{kind}_{mode}"].append(c)
                if rep == 0:
                    kept[f"{kind}_{mode}"] = out
        print(
            f"repeat {rep + 1}: "
            + "; ".join(
                f"{mode}: ensemble {results['ens_' + mode][-1]:.2f} s ({cores} threads), {results['ens1_' + mode][-1]:.2f}"
                f" s (1 thread); sequential {results['seq1_' + mode][-1]:.2f} s (1 thread), "
                f"{results['seq2_' + mode][-1]:.2f} s ({cores} threads)"
                for mode in ("es", "fix")
            ),
            flush=True,
        )

    ens, seq = kept["ens_es"], kept["seq1_es"]
    med = {k: statistics.median(v) for k, v in results.items() if v}
    cmed = {k: statistics.median(v) for k, v in cpu.items() if v}

    def best_seq(mode: str) -> list[float]:
        return [
            min(a, b) for a, b in zip(results[f"seq1_{mode}"], results[f"seq2_{mode}"], strict=True)
        ]

    print(
        f"\n1. K={K} vectorised ensemble vs {K} sequential fits (medians of {args.repeats} repeats; wall time):"
    )
    for mode, label in (("es", "early stopping"), ("fix", f"fixed {args.fixed_epochs} epochs")):
        seq_best = best_seq(mode)
        per_repeat = [b / a for a, b in zip(results[f"ens_{mode}"], seq_best, strict=True)]
        one = [b / a for a, b in zip(results[f"ens1_{mode}"], results[f"seq1_{mode}"], strict=True)]
        print(
            f"   {label}, on {cores} cores: ensemble {med['ens_' + mode]:.2f} s ({cores} threads) vs sequential "
            f"{statistics.median(seq_best):.2f} s (faster of 1 thread {med['seq1_' + mode]:.2f} s and {cores} threads "
            f"{med['seq2_' + mode]:.2f} s) -> {statistics.median(per_repeat):.1f}x (median of per-repeat ratios; "
            f"per repeat {', '.join(f'{r:.1f}' for r in per_repeat)}; total time over the repeats "
            f"{sum(seq_best) / sum(results['ens_' + mode]):.1f}x)"
        )
        print(
            f"   {label}, both on 1 thread: {med['ens1_' + mode]:.2f} s vs {med['seq1_' + mode]:.2f} s -> "
            f"{statistics.median(one):.1f}x (total time over the repeats "
            f"{sum(results['seq1_' + mode]) / sum(results['ens1_' + mode]):.1f}x); process CPU time {cmed['ens1_' + mode]:.2f} s vs "
            f"{cmed['seq1_' + mode]:.2f} s -> {cmed['seq1_' + mode] / cmed['ens1_' + mode]:.1f}x"
        )
    print(
        f"   epochs: the ensemble ran {len(ens.history_['val_loss'])} (its members stopped on their own); the "
        f"sequential fits ran {[len(c.history_['val_loss']) for c in seq]}"
    )
    ens_fix, epochs_ens = kept["ens_fix"], ens.best_epoch_.tolist()

    rate = _member_samples([ens], len(tr)) / med["ens_es"]
    rate_fix = _member_samples([ens_fix], len(tr)) / med["ens_fix"]
    p_ens = ens.predict_proba(X.iloc[te])[:, 1]
    auc_ens = roc_auc_score(y[te], p_ens)
    auc_seq = roc_auc_score(
        y[te], np.mean([c.predict_proba(X.iloc[te])[:, 1] for c in seq], axis=0)
    )
    print(
        f"\n2. one {K}-seed MLP ensemble on umich-24h: {med['ens_es']:.2f} s (target < 15 s); "
        f"{rate:,.0f} member-samples/s with early stopping, {rate_fix:,.0f} at fixed epochs; best epochs "
        f"{epochs_ens}; held-out AUC {auc_ens:.4f} (mean of the {K} sequential fits: {auc_seq:.4f})"
    )

    # scikit-learn on the same transformed features, same size and optimiser settings.
    params = ens.get_params()
    features = list(data.features)

    def sk(seed: int, fit_rows: np.ndarray) -> tuple[MLPClassifier, FeatureTransformer]:
        ft = FeatureTransformer().fit(X.iloc[fit_rows][features])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = MLPClassifier(
                hidden_layer_sizes=params["hidden"],
                activation=params["activation"],
                solver="adam",
                alpha=params["weight_decay"],
                batch_size=params["batch_size"],
                learning_rate_init=params["lr"],
                max_iter=params["max_epochs"],
                early_stopping=True,
                validation_fraction=0.2,
                n_iter_no_change=params["patience"],
                random_state=seed,
            )
            return model.fit(ft.transform(X.iloc[fit_rows][features]), y[fit_rows]), ft

    for rep in range(args.repeats):
        sk_models, t, _ = _timed(lambda r=rep: [sk(100 * r + s, tr) for s in range(K)])
        results["sk10"].append(t)
    sk_med = statistics.median(results["sk10"])
    print(
        f"\n3. scikit-learn MLPClassifier{tuple(params['hidden'])}, {K} seeds one after the other: {sk_med:.2f} s "
        f"vs our {K}-member ensemble {med['ens_es']:.2f} s -> time ratio sklearn/ours "
        f"{sk_med / med['ens_es']:.1f}x; sklearn epochs {[m.n_iter_ for m, _ in sk_models]}"
    )

    # Skill over all five region folds (one fold alone is too noisy to compare AUCs), with the
    # protocol of flarecast.evaluation.protocol: ours and logistic regression fit on the same rows, ours
    # early-stopping on the inner validation regions; sklearn holds out its own random 20% of rows.
    aucs: dict[str, list[float]] = {"ours": [], "sklearn": [], "logistic": []}
    for f, (ftr, fte) in enumerate(region_kfold(y, g, n_splits=5, seed=0)):
        fit, val = inner_validation(y, g, ftr, fraction=0.2, seed=f)
        clf = FlareClassifier(n_members=K, seed=f, device="cpu", loss=args.loss).fit(
            X.iloc[fit], y[fit], validation=(X.iloc[val], y[val])
        )
        aucs["ours"].append(roc_auc_score(y[fte], clf.predict_proba(X.iloc[fte])[:, 1]))
        models = [sk(s, ftr) for s in range(K)]
        p_sk = np.mean(
            [m.predict_proba(ft.transform(X.iloc[fte][features]))[:, 1] for m, ft in models], axis=0
        )
        aucs["sklearn"].append(roc_auc_score(y[fte], p_sk))
        ft = FeatureTransformer().fit(X.iloc[fit][features])
        lr = LogisticRegression(max_iter=5000).fit(ft.transform(X.iloc[fit][features]), y[fit])
        aucs["logistic"].append(
            roc_auc_score(y[fte], lr.predict_proba(ft.transform(X.iloc[fte][features]))[:, 1])
        )
    print(
        "   held-out ROC AUC over the 5 region folds (mean; per fold): "
        + "; ".join(
            f"{name} {np.mean(v):.4f} ({', '.join(f'{a:.3f}' for a in v)})"
            for name, v in aucs.items()
        )
        + f"  [ours ({args.loss}) and sklearn (log-loss): {K}-seed averages; ours and logistic fitted on the "
        "same rows, sklearn on those plus the validation rows]"
    )

    lscpu = (
        subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()[:15]
        if os.path.exists("/usr/bin/lscpu")
        else []
    )
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs visible, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; Python {platform.python_version()}, torch "
        f"{torch.__version__}, numpy {np.__version__}"
    )
    print("\n".join(lscpu))


if __name__ == "__main__":
    main()
