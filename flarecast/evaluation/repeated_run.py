"""The protocol over R repeated partitions: every repeat's fits on one executor, predictions kept per repeat.

Repeat ``r`` is the protocol with its seed replaced by
:func:`flarecast.evaluation.repeated.repeat_seed` ``(protocol.seed, r)``; since
that one seed fixes the outer folds, the inner validation splits and the
networks' seeds, every repeat has its own partition, inner splits and seeds,
and repeat 0 *is* the single-partition run of ``protocol`` (same predictions,
row for row).

All fits of all repeats are submitted to one
:class:`flarecast.evaluation.fits.FitQueue` before the first is collected, so
an executor that runs tasks in parallel (Dask) spreads the repeats as it
spreads the folds; the default executor still runs one fit at a time, in
this process, when it is collected. The results do not depend on the executor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from flarecast.errors import ConfigError
from flarecast.evaluation.fits import run_protocol, table_queue
from flarecast.evaluation.methods import METHODS, MethodSpec
from flarecast.evaluation.protocol import Protocol, ProtocolResult, make_folds
from flarecast.evaluation.repeated import repeat_seed
from flarecast.execution import Executor

__all__ = ["RepeatedResult", "run_repeated"]


@dataclasses.dataclass
class RepeatedResult:
    """What :func:`run_repeated` produced.

    Attributes
    ----------
    runs : list of ProtocolResult
        One per repeat; ``runs[r].protocol.seed`` is repeat ``r``'s seed.
    predictions : pandas.DataFrame
        Every run's predictions with a leading ``repeat`` column (int).
    folds : pandas.DataFrame
        One row per (repeat, fold): ``repeat``, ``fold``, ``seed`` (the repeat's),
        ``n_fit``, ``n_val``, ``n_train`` (= fit + validation), ``n_test``; on a table
        with categorical features also ``unseen_test`` (:attr:`~flarecast.evaluation.protocol.Fold.unseen`).
    """

    runs: list[ProtocolResult]
    predictions: pd.DataFrame
    folds: pd.DataFrame

    @property
    def seeds(self) -> list[int]:
        """The protocol seed of each repeat."""
        return [run.protocol.seed for run in self.runs]


def run_repeated(
    targets: Any,
    features: Sequence[str],
    protocol: Protocol,
    repeats: int,
    *,
    methods: Mapping[str, MethodSpec] | None = None,
    executor: Executor | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> RepeatedResult:
    """Run ``protocol`` on ``repeats`` region-grouped partitions.

    Parameters
    ----------
    targets : flarecast.targets.Targets
    features : sequence of str
    protocol : Protocol
        ``split`` must be "kfold" (a chronological hold-out has one partition only).
    repeats : int >= 1
    methods : mapping of str to MethodSpec, optional
        Default :data:`~flarecast.evaluation.methods.METHODS`.
    executor : flarecast.execution.Executor, optional
        Runs every fit of every repeat; default in this process.
    progress : callable(repeat, fold_index, method), optional
        Called after each fit, in repeat, fold and method order.

    Returns
    -------
    RepeatedResult

    Raises
    ------
    ConfigError
        ``repeats`` < 1, more than one repeat of a chronological split, or an unknown method.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"The 'repeats' parameter must be an int >= 1. Got {repeats!r} instead.")
    if protocol.split != "kfold" and repeats > 1:
        raise ConfigError(
            f"Repeats need region folds (split='kfold'); a {protocol.split!r} split has one "
            "partition, so use repeats = 1."
        )
    registry = dict(METHODS if methods is None else methods)
    unknown = [m for m in protocol.methods if m not in registry]
    if unknown:
        raise ConfigError(f"unknown method(s) {unknown}; legal methods are {sorted(registry)}")
    plans = []
    for r in range(repeats):
        repeat_protocol = dataclasses.replace(protocol, seed=repeat_seed(protocol.seed, r))
        plans.append((repeat_protocol, make_folds(targets, repeat_protocol)))
    queue = table_queue(executor, targets, features, registry)
    for repeat_protocol, folds in plans:  # everything queued before anything is collected
        queue.submit(repeat_protocol, folds)
    runs, parts, sizes = [], [], []
    for r, (repeat_protocol, folds) in enumerate(plans):
        step = None if progress is None else (lambda k, name, r=r: progress(r, k, name))
        run = run_protocol(
            targets,
            features,
            repeat_protocol,
            methods=registry,
            folds=folds,
            progress=step,
            queue=queue,
        )
        runs.append(run)
        parts.append(run.predictions.assign(repeat=r))
        sizes += [
            {
                "repeat": r,
                "fold": f.index,
                "seed": repeat_protocol.seed,
                "n_fit": len(f.fit),
                "n_val": len(f.val),
                "n_train": len(f.train),
                "n_test": len(f.test),
                **({} if f.unseen is None else {"unseen_test": dict(f.unseen)}),
            }
            for f in run.folds  # as run: with the test rows' unseen categories counted
        ]
    predictions = pd.concat(parts, ignore_index=True)
    predictions = predictions[["repeat", *[c for c in predictions.columns if c != "repeat"]]]
    return RepeatedResult(runs, predictions, pd.DataFrame(sizes))
