"""The protocol over repeated partitions: repeat 0 is the single run, repeats differ, one executor queue."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from flarecast.data.synthetic import demo_dataset
from flarecast.errors import ConfigError
from flarecast.evaluation.fits import run_protocol
from flarecast.evaluation.paired import paired_intervals
from flarecast.evaluation.protocol import Protocol
from flarecast.evaluation.repeated import repeat_seed
from flarecast.evaluation.repeated_run import run_repeated
from flarecast.execution import LocalExecutor

PROTOCOL = Protocol(methods=("climatology", "logistic"), folds=3, seed=4)


@pytest.fixture(scope="module")
def small():
    from flarecast.targets import make_targets

    ds = demo_dataset(seed=3, n_regions=90, days=90)
    return make_targets(ds), list(ds.features)


class LoggingExecutor(LocalExecutor):
    """The in-process executor, noting when each task is submitted and when it is collected."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def submit(self, func, *args, priority=0, name="task"):
        self.log.append("submit")
        task = super().submit(func, *args, priority=priority, name=name)
        outer = self

        class Noted:
            def result(self):
                outer.log.append("result")
                return task.result()

        return Noted()


def test_repeat_zero_is_the_single_partition_run(small) -> None:
    targets, features = small
    single = run_protocol(targets, features, PROTOCOL)
    repeated = run_repeated(targets, features, PROTOCOL, 3)
    first = repeated.predictions[repeated.predictions["repeat"] == 0].drop(columns="repeat")
    pd.testing.assert_frame_equal(first.reset_index(drop=True), single.predictions)
    assert repeated.seeds == [repeat_seed(4, r) for r in range(3)] and repeated.seeds[0] == 4


def test_repeats_use_distinct_partitions_and_sizes_add_up(small) -> None:
    targets, features = small
    result = run_repeated(targets, features, PROTOCOL, 3)
    n = len(targets.y)
    partitions = set()
    for run in result.runs:
        tested = np.sort(np.concatenate([f.test for f in run.folds]))
        assert np.array_equal(tested, np.arange(n))
        partitions.add(frozenset(tuple(f.test) for f in run.folds))
    assert len(partitions) == 3
    folds = result.folds
    assert len(folds) == 9
    assert (folds.n_train + folds.n_test == n).all() and (
        folds.n_fit + folds.n_val == folds.n_train
    ).all()
    intervals = paired_intervals(
        result.predictions, [("logistic", "climatology")], folds, scores=["auc"]
    )
    row = intervals.iloc[0]
    assert row["n"] == 9 and row["low"] < row["mean"] < row["high"] and row["repeats"] == 3


def test_every_fit_is_queued_before_the_first_is_collected(small) -> None:
    targets, features = small
    executor = LoggingExecutor()
    seen = []
    run_repeated(
        targets,
        features,
        PROTOCOL,
        2,
        executor=executor,
        progress=lambda r, k, m: seen.append((r, k, m)),
    )
    fits = 2 * 3 * 2
    assert executor.log == ["submit"] * fits + ["result"] * fits
    assert seen == [(r, k, m) for r in range(2) for k in range(3) for m in PROTOCOL.methods]


def test_bad_repeats_are_refused(small) -> None:
    targets, features = small
    with pytest.raises(ConfigError, match="'repeats' parameter must be an int >= 1"):
        run_repeated(targets, features, PROTOCOL, 0)
    chrono = dataclasses.replace(PROTOCOL, split="chrono", cutoff="2011-03-01")
    with pytest.raises(ConfigError, match="one partition"):
        run_repeated(targets, features, chrono, 2)
