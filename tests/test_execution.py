"""Executors are injected: the local one runs tasks lazily in order; partitioned labelling and the
protocol give the same results on any executor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flarecast.data.synthetic import demo_catalogue, demo_dataset, demo_sharp_series
from flarecast.evaluation.fits import FitQueue, run_protocol
from flarecast.evaluation.methods import METHODS
from flarecast.evaluation.protocol import Protocol, make_folds
from flarecast.execution import LocalExecutor
from flarecast.labels import label_records
from flarecast.partitions import label_in_partitions
from flarecast.targets import make_targets


class CountingExecutor(LocalExecutor):
    """A local executor that records what it was given, as a cluster would see it."""

    def __init__(self, workers: int = 1):
        self.workers = workers
        self.shared: list[object] = []
        self.names: list[tuple[str, int]] = []

    def share(self, value, *, to_all=False):
        self.shared.append(value)
        return value

    def submit(self, func, *args, priority=0, name="task"):
        self.names.append((name, priority))
        return super().submit(func, *args, priority=priority, name=name)


def test_local_executor_runs_a_task_once_when_asked():
    calls = []
    task = LocalExecutor().submit(lambda x: calls.append(x) or x * 2, 21)
    assert calls == []  # nothing runs at submit
    assert task.result() == 42 and task.result() == 42 and calls == [21]


def test_local_executor_reraises_a_failed_task_every_time():
    task = LocalExecutor().submit(lambda: 1 / 0)
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            task.result()


@pytest.mark.parametrize("workers", [1, 3, 7])
def test_labelling_in_partitions_equals_one_piece(workers):
    records = demo_sharp_series(seed=4, n_regions=40, days=30).sample(frac=1.0, random_state=2)
    records.loc[records.index[:25], "noaa_ar"] = pd.NA
    events = demo_catalogue(seed=4, n_regions=40, days=30)
    options = {"history": "24h", "unknown": "drop", "horizon": "48h"}
    single = label_records(records, events, **options)
    executor = CountingExecutor(workers)
    parts = label_records(records, events, executor=executor, **options)
    pd.testing.assert_frame_equal(single, parts, check_exact=True)
    assert single.attrs == parts.attrs
    assert len(executor.names) == min(workers, records["noaa_ar"].nunique() + 1)
    direct = label_in_partitions(
        label_records, records, events, executor=LocalExecutor(), partitions=5, **options
    )
    pd.testing.assert_frame_equal(single, direct, check_exact=True)


@pytest.fixture(scope="module")
def small():
    data = demo_dataset(seed=3, n_regions=80, days=90)
    return data, make_targets(data)


def test_run_protocol_on_an_injected_executor_equals_the_default(small):
    data, targets = small
    protocol = Protocol(folds=2, seeds=1, methods=("climatology", "logistic", "gboost"), seed=2)
    default = run_protocol(targets, data.features, protocol)
    executor = CountingExecutor()
    injected = run_protocol(targets, data.features, protocol, executor=executor)
    pd.testing.assert_frame_equal(default.predictions, injected.predictions, check_exact=True)
    # The table was shared once, and every (fold, method) fit was one task.
    assert len(executor.shared) == 1
    assert [n for n, _ in executor.names] == [
        f"fit-{m}-fold{f}" for f in range(2) for m in protocol.methods
    ]


def test_fit_queue_submits_a_fit_once_and_networks_first(small):
    data, targets = small
    protocol = Protocol(folds=2, seeds=1, methods=("logistic", "focal"))
    folds = make_folds(targets, protocol)
    X = targets.frame[list(data.features)].reset_index(drop=True)
    executor = CountingExecutor()
    queue = FitQueue(executor, X, targets.y.astype(int), np.asarray(targets.groups), METHODS)
    queue.submit(protocol, folds)
    queue.submit(protocol, folds)
    assert executor.names == [
        ("fit-logistic-fold0", 0),
        ("fit-focal-fold0", 1),
        ("fit-logistic-fold1", 0),
        ("fit-focal-fold1", 1),
    ]
    estimator, fit = queue.result(protocol, folds[0], "logistic")
    assert estimator is None and len(fit.p_test) == len(folds[0].test)
