"""Scale out on Dask: a client for a scheduler name, and an executor that runs tasks on it.

flarecast does not schedule work itself; its labelling and evaluation hand independent tasks to
an executor (:mod:`flarecast.execution`), and :class:`DaskExecutor` gives them to a Dask cluster
(``pip install 'flarecast[dask]'``; Dask is imported only here and only when a scheduler is asked
for). The command line builds one from ``--scheduler`` with :func:`dask_executor`; no science
module imports this one. A *scheduler* is one of

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

Two kinds of work are distributed, both with results identical to the single-process path:
region partitions of the labeller (:mod:`flarecast.partitions`) and (fold, method, setting)
fits of the evaluation (:class:`flarecast.evaluation.fits.FitQueue`). Each task runs on one
thread (:func:`single_threaded`) and carries its own data and seed, so the results do not depend
on where or in which order the tasks run.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from flarecast.errors import ConfigError

__all__ = ["LOCAL_SCHEDULERS", "make_client", "single_threaded", "DaskExecutor", "dask_executor"]

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


# -- the executor -----------------------------------------------------------------------------------


def _one_thread(func: Callable[..., Any], *args: Any) -> Any:
    """Task body: ``func(*args)`` on one thread, so two tasks on two cores do not each start a
    thread per core."""
    with single_threaded():
        return func(*args)


class DaskExecutor:
    """An executor (:mod:`flarecast.execution`) whose tasks run on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client
        Used as it is; closing it is the caller's business (see :func:`dask_executor`).
    """

    def __init__(self, client: Any):
        self.client = client

    @property
    def workers(self) -> int:
        """The cluster's worker threads."""
        return int(sum(self.client.nthreads().values()) or 1)

    def share(self, value: Any, *, to_all: bool = False) -> Any:
        [future] = self.client.scatter([value], broadcast=to_all, hash=False)
        return future

    def submit(
        self, func: Callable[..., Any], *args: Any, priority: int = 0, name: str = "task"
    ) -> Any:
        return self.client.submit(
            _one_thread,
            func,
            *args,
            pure=False,
            priority=priority,
            key=f"flarecast-{name}-{uuid.uuid4().hex[:8]}",
        )


@contextlib.contextmanager
def dask_executor(scheduler: Any, *, n_workers: int | None = None) -> Iterator[DaskExecutor]:
    """A :class:`DaskExecutor` on :func:`make_client` (``scheduler``), closed with its cluster on exit."""
    with make_client(scheduler, n_workers=n_workers) as client:
        yield DaskExecutor(client)
