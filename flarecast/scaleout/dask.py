"""Scale out on Dask: a client for a scheduler name, region-partitioned labelling, fits as tasks.

flarecast does not schedule work itself; it hands independent pieces to a
Dask cluster (``pip install 'flarecast[dask]'``; Dask is imported only here and
only when a scheduler is asked for). A *scheduler* is one of

``"local"``
    A cluster of threads inside this process (one worker, one thread per
    CPU). Cheap to start; good for the labeller, whose numpy work releases
    the GIL.
``"processes"``
    A cluster of single-threaded worker processes on this machine, one per
    CPU (Dask sets ``OMP_NUM_THREADS=1`` in them). The choice for model fits.
``"tcp://HOST:PORT"`` (or another Dask address: ``tls://``, ``ucx://``, ``inproc://``)
    A running ``dask scheduler`` with workers, e.g. on a batch cluster.
a :class:`distributed.Client`
    Used as it is, never closed here.

Two kinds of work are distributed, both with results identical to the
single-process path:

* **Labelling** (:func:`label_records_distributed`, reached through
  ``label_records(..., scheduler=)``): the SHARP records are split into
  partitions of whole regions (a region never spans two partitions), each
  partition goes to a worker with only its regions' flares, and the same
  vectorised :func:`flarecast.labels.label_records` labels it. A record's label
  depends only on its own region's flares and the catalogue's coverage, which
  is computed once from the whole catalogue, so the pieces put back in the
  records' order equal the single-process result row for row.
* **Fits** (:class:`FitPool`, reached through ``run_protocol(..., scheduler=)``
  and ``tune_focal(..., scheduler=)``): every (fold, method, setting) fit is one
  task running :func:`flarecast.evaluation.protocol.fit_one` on one thread. Each fit
  carries its own seed, so the results do not depend on where or in which
  order the tasks run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX, TIME
from flarecast.errors import ConfigError, SchemaError

__all__ = [
    "LOCAL_SCHEDULERS",
    "make_client",
    "single_threaded",
    "region_partitions",
    "label_records_distributed",
    "FitPool",
    "fit_pool",
    "map_fits",
]

#: Scheduler names that start a cluster on this machine (anything else must be a Dask address).
LOCAL_SCHEDULERS: tuple[str, ...] = ("local", "processes")
_ADDRESS_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://", "ws://", "wss://")


def _worker_config(dask_config: Any) -> dict[str, Any]:
    """Dask settings for the clusters started here (after ``import distributed`` loaded its defaults).

    Dask starts worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``, which
    hands freed memory back to the OS at once; torch's many small allocations
    then fault pages in again and again, and a network fit took twice the CPU
    time it takes in a plain process (7.2 s vs 3.7 s of thread CPU time for
    six umich-24h focal fits). The statistical profiler (a stack sample every
    10 ms) cost another ~8%. And the housekeeping timers (event-loop watchdog
    every 20 ms, system monitor every 0.5 s, memory monitor every 0.1 s) kept
    an idle 2-worker cluster at 0.17 s of CPU per worker and 0.45 s in this
    process every 10 s; at 0.2 s, 2 s and 1 s they cost a quarter of that.
    flarecast's tasks need none of it. Last, the scheduler hands each
    single-threaded worker one task at a time (worker-saturation 1.0; Dask's
    1.1 rounds up to two), so no worker sits on a queued network fit while the
    other has run out of work. docs/cluster.md gives the same settings for a
    cluster started by hand.
    """
    environ = dict(dask_config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ["MALLOC_TRIM_THRESHOLD_"] = None  # None: not set in the workers
    return {
        "distributed.nanny.pre-spawn-environ": environ,
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "200ms",
        "distributed.admin.system-monitor.interval": "2s",
        "distributed.worker.memory.monitor-interval": "1s",
        "distributed.scheduler.worker-saturation": 1.0,
    }


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # the optional extra is missing
        raise ConfigError(
            "A Dask scheduler was requested but dask.distributed is not installed; "
            "install it with: pip install 'flarecast[dask]'"
        ) from exc
    return distributed


@contextlib.contextmanager
def make_client(
    scheduler: Any, *, n_workers: int | None = None, timeout: str = "20s"
) -> Iterator[Any]:
    """A :class:`distributed.Client` for ``scheduler``, closed (with its cluster) on exit.

    Parameters
    ----------
    scheduler : {"local", "processes"}, str or distributed.Client
        See the module docstring. An address such as ``"tcp://10.0.0.5:8786"``
        connects to a running scheduler; a ``Client`` is passed through and left open.
    n_workers : int, optional
        Workers of a cluster started here: threads for "local", processes for
        "processes". Default: the number of CPUs.
    timeout : str, default "20s"
        How long to try to reach a scheduler at an address.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ConfigError
        An unknown scheduler name, dask.distributed not installed, or no
        scheduler answering at the address.
    """
    if not isinstance(scheduler, str):
        if hasattr(scheduler, "submit") and hasattr(scheduler, "scatter"):
            yield scheduler  # a Client (or compatible) owned by the caller
            return
        raise ConfigError(
            f"The 'scheduler' parameter must be 'local', 'processes', a Dask address such as "
            f"'tcp://HOST:8786' or a distributed.Client. Got {scheduler!r} instead."
        )
    if scheduler not in LOCAL_SCHEDULERS and not scheduler.startswith(_ADDRESS_SCHEMES):
        raise ConfigError(
            f"The 'scheduler' parameter must be one of {list(LOCAL_SCHEDULERS)} or a Dask "
            f"address such as 'tcp://HOST:8786'. Got {scheduler!r} instead."
        )
    distributed = _distributed()
    from dask import config as dask_config

    if n_workers is not None and (isinstance(n_workers, bool) or int(n_workers) < 1):
        raise ConfigError(
            f"The 'n_workers' parameter must be an int >= 1. Got {n_workers!r} instead."
        )
    workers = int(n_workers or os.cpu_count() or 1)
    if scheduler in LOCAL_SCHEDULERS:
        processes = scheduler == "processes"
        # Processes talk TCP on the loopback only; threads use Dask's in-process transport. The
        # scheduler's HTTP server takes any free loopback port: the default 8787 clashes between
        # users of a shared machine.
        where = {"host": "127.0.0.1"} if processes else {}
        with dask_config.set(_worker_config(dask_config)):
            cluster = distributed.LocalCluster(
                n_workers=workers if processes else 1,
                threads_per_worker=1 if processes else workers,
                processes=processes,
                dashboard_address="127.0.0.1:0",
                **where,
            )
        try:
            with distributed.Client(cluster, set_as_default=False) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = distributed.Client(scheduler, set_as_default=False, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"No Dask scheduler answered at {scheduler}: {exc}. Start one with 'dask scheduler' "
            "and workers with 'dask worker ADDRESS', or use --scheduler processes."
        ) from exc
    with client:
        yield client


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run the block with one BLAS/OpenMP thread and one torch intra-op thread (then restore).

    Fits run as tasks use this so that two tasks on two cores do not each
    start a thread per core; the sequential baseline of a benchmark should use
    it too, for a fair comparison.
    """
    import sys

    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")  # only if already imported: never import torch for labelling
    before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None and before is not None:
                torch.set_num_threads(before)


# -- labelling --------------------------------------------------------------------------------------


def region_partitions(keys: np.ndarray, n_partitions: int) -> tuple[np.ndarray, np.ndarray]:
    """Assign whole regions to ``n_partitions`` partitions of about equal record counts.

    Parameters
    ----------
    keys : ndarray of float, shape (n,)
        Region of each record (NaN = none; those records form one group of their own).
    n_partitions : int >= 1

    Returns
    -------
    part : ndarray of int16, shape (n,)
        Partition of each record, ``0 .. P - 1``, ``P <= n_partitions``; every partition is non-empty.
    regions : ndarray of float, shape (P + 1,)
        Boundaries: partition ``p`` holds the regions ``regions[p] <= r < regions[p + 1]``
        (NaN-region records go to the last partition).
    """
    if isinstance(n_partitions, bool) or not 1 <= int(n_partitions) <= 32767:
        raise ConfigError(
            f"The 'partitions' parameter must be an int in [1, 32767]. Got {n_partitions!r} "
            "instead."
        )
    keys = np.asarray(keys, dtype=float)
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int16), np.array([-np.inf, np.inf])
    regions, sizes = _region_sizes(keys)
    n_missing = len(keys) - int(sizes.sum())
    sizes = np.append(sizes, n_missing)  # records without a region: one extra group, last
    parts = max(1, min(int(n_partitions), int((sizes > 0).sum())))
    # Regions in sorted order are cut where the running record count crosses each 1/P share.
    first = np.cumsum(sizes) - sizes
    group_part = np.minimum(first * parts // len(keys), parts - 1)
    # A large region can jump over a share: renumber the partitions that received groups 0..P-1.
    used = np.unique(group_part[sizes > 0])
    group_part = np.searchsorted(used, group_part)
    starts = np.searchsorted(group_part[:-1], np.arange(1, len(used)))
    # A partition holding only records without a region (the last one) starts at +inf: it needs no flares.
    bounds = np.concatenate([[-np.inf], np.append(regions, np.inf)[starts], [np.inf]])
    # NaN sorts after +inf, so records without a region land in the last partition.
    part = np.searchsorted(bounds[1:-1], keys, side="right").astype(np.int16)
    return part, bounds


def _region_sizes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct regions (sorted, float) and their record counts, NaN left out.

    Region numbers are integers in a modest range (NOAA ARs, HARPs), so a
    bincount does it in a few passes; anything else falls back to a sort.
    """
    values = keys[~np.isnan(keys)]
    if len(values) == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    low, high = values.min(), values.max()
    if (
        np.isfinite(high - low)
        and high - low < 50_000_000
        and np.array_equal(values, np.floor(values))
    ):
        counts = np.bincount((values - low).astype(np.int64))
        present = np.flatnonzero(counts)
        return present + low, counts[present]
    return np.unique(values, return_counts=True)


def _label_partition(
    part: tuple[np.ndarray, np.ndarray, pd.DataFrame], options: dict[str, Any]
) -> dict[str, Any]:
    """Task: label one partition (record times in ns, region keys, its flares); return the label columns."""
    from flarecast.labels import label_records

    times, keys, events = part
    records = pd.DataFrame({TIME: pd.to_datetime(times, unit="ns", utc=True), options["key"]: keys})
    labelled = label_records(records, events, **options)
    kept = labelled.index.to_numpy()
    hist = labelled.attrs["history_feature"]
    a = labelled.attrs
    # Classes travel as int32 codes into this part's few distinct names, not as millions of strings.
    codes, names = pd.factorize(labelled[GOES_CLASS], use_na_sentinel=True)
    return {
        "kept": None if len(kept) == len(records) else kept,
        "flux": labelled[PEAK_FLUX].to_numpy(),
        "codes": codes.astype(np.int32),
        "names": [str(name) for name in names],
        "history": labelled[hist].to_numpy() if hist else None,
        "records_without_region": a["records_without_region"],
        "records_outside_coverage": a["records_outside_coverage"],
    }


def label_records_distributed(
    records: pd.DataFrame,
    events: pd.DataFrame,
    *,
    scheduler: Any,
    partitions: int | None = None,
    key: str = NOAA_AR,
    unknown: str = "missing",
    coverage: tuple[object, object] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """:func:`flarecast.labels.label_records` on a Dask cluster, partitioned by region.

    Parameters
    ----------
    records, events, key, unknown, coverage
        As for :func:`~flarecast.labels.label_records`.
    scheduler : str or distributed.Client
        See :func:`make_client`.
    partitions : int, optional
        Number of region partitions; default the cluster's total worker threads.
    **options
        ``horizon``, ``latency``, ``event_time``, ``history`` of ``label_records``.

    Returns
    -------
    pandas.DataFrame
        Equal, row for row and in ``attrs``, to ``label_records(records, events, ...)``.
    """
    from flarecast.labels import label_records

    # Every check of the single-process path (options, columns, region numbers, coverage), on no rows.
    template = label_records(
        records.iloc[:0], events, key=key, unknown=unknown, coverage=coverage, **options
    )
    if records[TIME].isna().any():
        rows = np.flatnonzero(records[TIME].isna().to_numpy())[:5]
        raise SchemaError(
            f"The records' column {TIME!r} has missing times at rows {rows.tolist()}."
        )
    a = template.attrs
    task_options = {
        **options,
        "key": key,
        "unknown": unknown,
        "coverage": (a["coverage_start"], a["coverage_end"]),
    }  # the whole catalogue's, for every part
    need = list(dict.fromkeys([options.get("event_time", "peak"), "peak", PEAK_FLUX, key]))
    ev = events.loc[events[key].notna(), need]
    keys = records[key].to_numpy(dtype=float, na_value=np.nan)
    n = len(records)

    with make_client(scheduler) as client:
        n_parts = int(partitions or sum(client.nthreads().values()) or 1)
        part, bounds = region_partitions(keys, n_parts)
        order = np.argsort(
            part, kind="stable"
        )  # int16 keys: a radix sort; rows keep their order in a part
        cuts = np.searchsorted(part[order], np.arange(len(bounds)))
        # Only what the labeller reads travels: times (ns) and regions as plain arrays, and each
        # partition's own flares.
        times = records[TIME].dt.tz_convert("UTC").dt.as_unit("ns").array.asi8
        ev_keys = ev[key].to_numpy(dtype=float)
        pieces, positions = [], []
        for p in range(len(bounds) - 1):
            idx = order[cuts[p] : cuts[p + 1]]
            in_part = (ev_keys >= bounds[p]) & (ev_keys < bounds[p + 1])
            pieces.append((times[idx], keys[idx], ev.loc[in_part]))
            positions.append(idx)
        futures = [
            client.submit(
                _label_partition,
                data,
                task_options,
                pure=False,
                key=f"flarecast-label-{p}-{uuid.uuid4().hex[:8]}",
            )
            for p, data in enumerate(client.scatter(pieces, hash=False))
        ]
        results = client.gather(futures)

    # Put the pieces back in the records' order by position (no sort); the class strings are made
    # once, from codes into all parts' names, the way label_records makes them.
    import pyarrow as pa

    where = np.concatenate(
        [
            pos if r["kept"] is None else pos[r["kept"]]
            for pos, r in zip(positions, results, strict=True)
        ]
    )
    names = sorted(set().union(*(r["names"] for r in results)))
    lookup = {name: i for i, name in enumerate(names)}
    code = np.full(n, -1, dtype=np.int32)
    code[where] = np.concatenate(
        [
            np.array([*(lookup[x] for x in r["names"]), -1], dtype=np.int32)[r["codes"]]
            for r in results
        ]
    )  # a part's code -1 (no label) indexes the final -1
    flux = np.full(n, np.nan)
    flux[where] = np.concatenate([r["flux"] for r in results])
    out = records.copy(deep=False)
    out[PEAK_FLUX] = flux
    out[GOES_CLASS] = pd.array(
        pa.array(names, type=pa.large_string()).take(pa.array(code, mask=code < 0)), dtype="str"
    )
    hist_name = a["history_feature"]
    if hist_name:
        hist = np.full(n, np.nan)
        hist[where] = np.concatenate([r["history"] for r in results])
        out[hist_name] = hist
    if len(where) < n:  # unknown="drop" left some out
        kept = np.zeros(n, dtype=bool)
        kept[where] = True
        out = out.loc[kept]
    out.attrs = {**records.attrs, **a}
    for count in ("records_without_region", "records_outside_coverage"):
        out.attrs[count] = int(sum(r[count] for r in results))
    out.attrs["unknown_labels_dropped"] = int(n - len(where))
    return out


# -- fits as tasks ----------------------------------------------------------------------------------


def _fit_task(
    spec: Any,
    protocol: Any,
    fold: Any,
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray],
    keep_estimator: bool,
) -> tuple[Any, Any]:
    """Task: one (fold, method) fit on one thread; the estimator comes back only when asked for."""
    from flarecast.evaluation.protocol import fit_one

    X, y, groups = data
    with single_threaded():
        estimator, fit = fit_one(spec, protocol, fold, X, y, groups)
    return (estimator if keep_estimator else None), fit


def _fold_digest(fold: Any) -> str:
    h = hashlib.sha1(usedforsecurity=False)
    for part in (fold.fit, fold.val, fold.test):
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()[:16]


class FitPool:
    """Fits of one table on a Dask cluster: submit early, collect in order.

    The table (features, labels, regions) is sent to every worker once. A fit
    is named by its protocol (which holds every setting and the seed), fold
    and method; submitting the same fit twice runs it once, so a caller can
    submit a whole stage ahead (``tune`` submits all alpha candidates of every
    fold together) and collect the results one protocol run at a time.

    Parameters
    ----------
    client : distributed.Client
    X : pandas.DataFrame, shape (n, F)
    y, groups : ndarray, shape (n,)
    methods : mapping of str to MethodSpec
        Registry the method names are resolved in.
    keep_estimators : bool, default False
        Send the fitted estimators back (needed by ``on_fit`` hooks; costs a transfer).
    """

    def __init__(
        self,
        client: Any,
        X: pd.DataFrame,
        y: np.ndarray,
        groups: np.ndarray,
        methods: Mapping[str, Any],
        *,
        keep_estimators: bool = False,
    ):
        self.client = client
        self.methods = dict(methods)
        self.keep_estimators = keep_estimators
        [self._data] = client.scatter(
            [(X, np.asarray(y), np.asarray(groups))], broadcast=True, hash=False
        )
        self._futures: dict[tuple[str, int, str, str], Any] = {}

    def _key(self, protocol: Any, fold: Any, method: str) -> tuple[str, int, str, str]:
        return repr(protocol), int(fold.index), _fold_digest(fold), method

    def submit(
        self, protocol: Any, folds: Sequence[Any], methods: Sequence[str] | None = None
    ) -> None:
        """Start the fits of ``protocol`` (its ``methods`` by default) on every fold, unless already started."""
        for fold in folds:
            for name in protocol.methods if methods is None else methods:
                key = self._key(protocol, fold, name)
                if key not in self._futures:
                    spec = self.methods[name]
                    # Networks first: the long fits start early, and the short ones fill the gaps at
                    # the end, so no worker idles while another finishes a network.
                    self._futures[key] = self.client.submit(
                        _fit_task,
                        spec,
                        protocol,
                        fold,
                        self._data,
                        self.keep_estimators,
                        pure=False,
                        priority=1 if getattr(spec, "neural", False) else 0,
                        key=f"flarecast-fit-{name}-fold{fold.index}-{uuid.uuid4().hex[:8]}",
                    )

    def result(self, protocol: Any, fold: Any, method: str) -> tuple[Any, Any]:
        """(estimator or None, FoldFit) of one fit, waiting for it; submitted first if needed."""
        key = self._key(protocol, fold, method)
        if key not in self._futures:
            self.submit(protocol, [fold], [method])
        return self._futures.pop(key).result()  # pop: the worker may free the fitted model


@contextlib.contextmanager
def fit_pool(
    scheduler: Any,
    targets: Any,
    features: Sequence[str],
    methods: Mapping[str, Any],
    *,
    keep_estimators: bool = False,
) -> Iterator[FitPool]:
    """A :class:`FitPool` holding the table that :func:`flarecast.evaluation.protocol.run_protocol` builds from ``targets``.

    The client (and any cluster started for ``scheduler``) is closed on exit.
    """
    with make_client(scheduler) as client:
        X = targets.frame[list(features)].reset_index(drop=True)
        yield FitPool(
            client,
            X,
            np.asarray(targets.y).astype(int),
            np.asarray(targets.groups),
            methods,
            keep_estimators=keep_estimators,
        )


def map_fits(
    scheduler: Any,
    jobs: Sequence[tuple[Any, str]],
    protocol: Any,
    methods: Mapping[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    keep_estimators: bool = False,
) -> Iterator[tuple[Any, Any]]:
    """Run the (fold, method) ``jobs`` of ``protocol`` as Dask tasks; yield (estimator, FoldFit) in job order.

    ``scheduler`` is a :class:`FitPool` (reused, e.g. across the candidates of
    ``tune``), a ``distributed.Client``, or a scheduler name / address for
    :func:`make_client` (a cluster started for this call and closed after it).
    All jobs are submitted before the first result is awaited.
    """
    with contextlib.ExitStack() as stack:
        pool = scheduler
        if not isinstance(scheduler, FitPool):
            client = stack.enter_context(make_client(scheduler))
            pool = FitPool(client, X, y, groups, methods, keep_estimators=keep_estimators)
        for fold, name in jobs:
            pool.submit(protocol, [fold], [name])
        for fold, name in jobs:
            yield pool.result(protocol, fold, name)
