"""Benchmark: Dask scale-out of labelling and of a reproduce sweep, against one process.

Usage::

    FLARECAST_DATA_DIR=../shared/data python benchmarks/bench_scaleout.py [--records 10000000] [--repeats 3]
        [--skip-labels] [--skip-sweep] [--dataset umich-24h]

**Labelling.** The 10 million SYNTHETIC SHARP records and the real NCEI
catalogue of ``bench_labels.py`` are labelled (24 h window) by
``label_records`` in this process, and with ``executor=`` a Dask executor on a
``LocalCluster`` of 1 and of 2 single-threaded worker processes on
127.0.0.1 (partitioned by region; the client splits the records, sends each
worker its partition with only its regions' flares, and puts the answers back
in order). The runs are interleaved (single, 1 worker, 2 workers, repeated)
so that the machine's load drifts over all three alike, after one unrecorded
full-size round: the clusters are started and every side has labelled the
10M records once before the clock runs. The 2-worker result is checked equal
to the single-process one.

**Sweep.** ``run_protocol`` with 4 region folds x 5 methods (logistic,
gradient boosting, CE, weighted CE and focal networks of 5 seeds each) = 20
fits on a real table, sequentially in this process and as 20 Dask tasks on a
2-worker LocalCluster. Every fit runs on ONE thread in both cases (the
sequential baseline inside ``flarecast.scaleout.dask.single_threaded()``, like
each task), so the comparison is of 2 cores against 1, not of thread
settings. Both sides are warmed up first (torch imported, one fit done) and
the predictions are checked identical. Cluster start-up is reported
separately.

**CPU time.** Linux's autogroup scheduler (``/proc/sys/kernel/sched_autogroup_enabled``)
gives every session an equal share of the CPUs. So while another session on a
shared machine keeps a core busy, the client and both workers (one session)
share what one process would get, and no wall-clock speed-up is possible,
whatever the code does. Each run therefore also prints the CPU seconds used
(this process plus the workers' ``time.process_time()``) and an estimate for
free cores, if every process kept its CPU time: the client's CPU time plus
the busier worker's, with no overlap counted (so the estimate is conservative).

Results go to stdout; copy them to benchmarks/RESULTS.md ("Scale-out").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_labels import catalogue, sharp_records  # noqa: E402  (the same records and catalogue)

from flarecast.labels import label_records  # noqa: E402
from flarecast.scaleout.dask import DaskExecutor, make_client, single_threaded  # noqa: E402


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cluster(n_workers: int, stack: contextlib.ExitStack):
    """A LocalCluster of ``n_workers`` single-threaded processes on 127.0.0.1, as ``--scheduler processes``."""
    t0 = time.perf_counter()
    client = stack.enter_context(make_client("processes", n_workers=n_workers))
    return client, time.perf_counter() - t0


def _warm_labels() -> int:
    import flarecast.labels  # noqa: F401

    return 1


def bench_labels(args: argparse.Namespace) -> None:
    events, what = catalogue()
    records = sharp_records(events, args.records, args.regions)
    print(
        f"catalogue: {what}; records: {len(records):,} SYNTHETIC SHARP records of "
        f"{records['noaa_ar'].nunique():,} regions"
    )
    stack = contextlib.ExitStack()
    clusters = {}
    for n in (1, 2):
        client, started = cluster(n, stack)
        client.run(_warm_labels)
        label_records(
            records.head(50_000), events, executor=DaskExecutor(client)
        )  # first use: imports, connections
        clusters[n] = client
        print(f"LocalCluster with {n} worker process(es) started in {started:.1f} s")
    times: dict[str, list[float]] = {"single": [], "1 worker": [], "2 workers": []}
    checked = False
    cpu: dict[str, list[float]] = {k: [] for k in times}
    bound: dict[str, list[float]] = {k: [] for k in times}  # client CPU + the busier worker's
    # One full-size round first, not recorded: every side's first 10M-record run pays for fresh
    # memory (about 2 s more for the single process here), and none should be timed cold.
    t0 = time.perf_counter()
    label_records(records, events, horizon="24h")
    for client in clusters.values():
        label_records(records, events, horizon="24h", executor=DaskExecutor(client))
    print(f"warm-up round (not recorded): {time.perf_counter() - t0:.1f} s")
    for rep in range(args.repeats):
        for name in times:
            t0, c0 = time.perf_counter(), time.process_time()
            if name == "single":
                out = label_records(records, events, horizon="24h")
                cpu[name].append(time.process_time() - c0)
                bound[name].append(cpu[name][-1])
            else:
                client = clusters[1 if name == "1 worker" else 2]
                w0 = client.run(time.process_time)
                out = label_records(records, events, horizon="24h", executor=DaskExecutor(client))
                w1 = client.run(time.process_time)
                client_cpu, per_worker = time.process_time() - c0, [w1[w] - w0[w] for w in w1]
                cpu[name].append(client_cpu + sum(per_worker))
                bound[name].append(client_cpu + max(per_worker))
            times[name].append(time.perf_counter() - t0)
            if name == "single":
                reference = out
            elif name == "2 workers" and not checked:
                same = (
                    np.array_equal(
                        out["peak_flux"].to_numpy(),
                        reference["peak_flux"].to_numpy(),
                        equal_nan=True,
                    )
                    and out["goes_class"].equals(reference["goes_class"])
                    and out.index.equals(reference.index)
                )
                print(f"2-worker labels identical to the single-process labels: {same}")
                checked = True
            del out
        print(
            f"  repeat {rep + 1}: "
            + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items())
            + f" (load {load()})"
        )
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"labelling {args.records:,} records, median of {args.repeats} interleaved runs:")
    for k, v in med.items():
        print(
            f"  {k:10s} {v:6.2f} s  ({args.records / v:,.0f} records/s); CPU seconds (client + workers) "
            f"{statistics.median(cpu[k]):.2f}"
        )
    ratios = [d / s for d, s in zip(times["2 workers"], times["single"], strict=True)]
    scaling = [a / b for a, b in zip(times["1 worker"], times["2 workers"], strict=True)]
    print(
        f"  2 workers / single process: {med['2 workers'] / med['single']:.2f}x (per repeat "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; target <= 1.3)"
    )
    print(
        f"  scaling 1 -> 2 workers: {med['1 worker'] / med['2 workers']:.2f}x faster (per repeat "
        f"{', '.join(f'{r:.2f}' for r in scaling)})"
    )
    est = {k: statistics.median(v) for k, v in bound.items()}
    print(
        f"  estimated from CPU times for free cores (client CPU + the busier worker's, no overlap counted): "
        f"2 workers / single {est['2 workers'] / est['single']:.2f}x, scaling 1 -> 2 workers "
        f"{est['1 worker'] / est['2 workers']:.2f}x"
    )
    stack.close()


def _warm_fits() -> int:
    import flarecast.evaluation.fits  # noqa: F401
    import flarecast.training.estimator  # noqa: F401

    return 1


def bench_sweep(args: argparse.Namespace) -> None:
    from flarecast.data.tables.read import load_dataset
    from flarecast.evaluation.fits import run_protocol
    from flarecast.evaluation.protocol import Protocol
    from flarecast.targets import make_targets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            data = load_dataset(args.dataset)
        except Exception as exc:  # no shared data here: the SYNTHETIC demo table instead
            print(f"{args.dataset} not available ({exc}); using the SYNTHETIC demo table")
            data = load_dataset("demo")
    targets = make_targets(data)
    protocol = Protocol(
        folds=4, seeds=5, methods=("logistic", "gboost", "ce", "weighted-ce", "focal")
    )
    n_fits = protocol.folds * len(protocol.methods)
    print(
        f"sweep: {data.name} ({len(targets.y)} rows, {int(targets.y.sum())} positive, "
        f"{'SYNTHETIC' if data.synthetic else 'real'}), {protocol.folds} folds x {len(protocol.methods)} "
        f"methods = {n_fits} fits, networks of {protocol.seeds} seeds"
    )
    warm = Protocol(folds=2, seeds=1, methods=("logistic", "focal"), network={"max_epochs": 2})
    stack = contextlib.ExitStack()
    client, started = cluster(2, stack)
    client.run(_warm_fits)
    print(f"LocalCluster with 2 worker processes started in {started:.1f} s")
    with single_threaded():
        run_protocol(targets, data.features, warm)  # warm-up: torch's first fit here
    run_protocol(targets, data.features, warm, executor=DaskExecutor(client))  # and on the workers
    times: dict[str, list[float]] = {"sequential": [], "dask": []}
    cpu: dict[str, list[float]] = {"sequential": [], "dask": []}
    bound: dict[str, list[float]] = {"dask": []}
    reference = None
    for rep in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        with single_threaded():
            seq = run_protocol(targets, data.features, protocol)
        times["sequential"].append(time.perf_counter() - t0)
        cpu["sequential"].append(time.process_time() - c0)
        t0, c0, w0 = time.perf_counter(), time.process_time(), client.run(time.process_time)
        par = run_protocol(targets, data.features, protocol, executor=DaskExecutor(client))
        times["dask"].append(time.perf_counter() - t0)
        w1 = client.run(time.process_time)
        client_cpu, per_worker = time.process_time() - c0, [w1[w] - w0[w] for w in w1]
        worker_cpu = sum(per_worker)
        cpu["dask"].append(client_cpu + worker_cpu)
        # What 2 free cores would give if every process kept its CPU time: the busier worker plus
        # all of the client's work (counted as if it never overlapped the workers').
        bound["dask"].append(max(per_worker) + client_cpu)
        if reference is None:
            reference = seq
            same = seq.predictions.equals(par.predictions)
            print(f"Dask predictions identical to the sequential ones: {same}")
            fit_s = sum(seq.seconds.values())
            print(
                "  fit seconds by method (sequential run): "
                + ", ".join(f"{m} {s:.1f}" for m, s in seq.seconds.items())
                + f"; total {fit_s:.1f}"
            )
        print(
            f"  repeat {rep + 1}: sequential {times['sequential'][-1]:.2f} s, 2 Dask workers "
            f"{times['dask'][-1]:.2f} s, speed-up {times['sequential'][-1] / times['dask'][-1]:.2f}x; "
            f"CPU seconds used: sequential {cpu['sequential'][-1]:.2f}, Dask {cpu['dask'][-1]:.2f} (workers "
            f"{' + '.join(f'{c:.2f}' for c in per_worker)}, client and scheduler {client_cpu:.2f}); "
            f"CPU-time speed-up bound {cpu['sequential'][-1] / bound['dask'][-1]:.2f}x (load {load()})"
        )
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"{n_fits}-fit sweep, median of {args.repeats}: sequential {med['sequential']:.2f} s, 2 Dask workers "
        f"{med['dask']:.2f} s: speed-up {med['sequential'] / med['dask']:.2f}x (target >= 1.6); "
        f"with the cluster start-up counted: {med['sequential'] / (med['dask'] + started):.2f}x; "
        f"CPU seconds Dask / sequential: {statistics.median(cpu['dask']) / statistics.median(cpu['sequential']):.2f}; "
        f"speed-up on 2 free cores estimated from CPU times (sequential CPU / (busier worker + client "
        f"CPU)): {statistics.median(cpu['sequential']) / statistics.median(bound['dask']):.2f}x"
    )
    stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--regions", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dataset", default="umich-24h")
    parser.add_argument("--skip-labels", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {load()}")
    if not args.skip_labels:
        bench_labels(args)
    if not args.skip_sweep:
        bench_sweep(args)
    import dask
    import torch

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs visible, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}, torch {torch.__version__}, dask {dask.__version__}; "
        f"load average at end: {load()}"
    )


if __name__ == "__main__":  # Dask's worker processes re-import this file: nothing may run at import
    main()
