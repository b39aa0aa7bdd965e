"""Fitting the methods on the folds: one fit, a queue of fits on an executor, and the whole run.

:func:`fit_fold` fits one estimator on a fold's fit rows, chooses its thresholds on the fold's
inner validation rows and predicts the test rows; :func:`fit_one` builds a method's estimator
with the fold's seed and fits it, one unit of work. :class:`FitQueue` hands such units to an
executor (:mod:`flarecast.execution`: in this process by default, or a Dask cluster's that the
command line built) and collects them in order; :func:`run_protocol` runs every method on every
fold and gathers the predictions. Which executor runs the fits never changes a number: each fit
carries its data and its seed.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError, DataError
from flarecast.evaluation.methods import METHODS, MethodSpec
from flarecast.evaluation.protocol import (
    Fold,
    FoldFit,
    Protocol,
    ProtocolResult,
    count_unseen,
    make_folds,
)
from flarecast.evaluation.thresholds import choose_threshold
from flarecast.execution import Executor, local_executor
from flarecast.features.categorical import one_hot_input

__all__ = ["fit_fold", "fit_one", "calibrate_fold", "FitQueue", "run_protocol"]


def _accepts(func: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def fit_fold(
    estimator: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    fold: Fold,
    threshold_metric: str = "hss",
) -> FoldFit:
    """Fit on ``fold.fit``, choose thresholds on ``fold.val``, predict ``fold.test``.

    Estimators whose ``fit`` takes ``validation=`` (the networks) get the
    validation rows for early stopping, and ``groups=`` for the fit rows.
    """
    start = time.perf_counter()
    X_fit, y_fit = X.iloc[fold.fit], y[fold.fit]
    X_val, y_val = X.iloc[fold.val], y[fold.val]
    kwargs: dict[str, Any] = {}
    if _accepts(estimator.fit, "validation"):
        kwargs["validation"] = (X_val, y_val)
        if _accepts(estimator.fit, "groups"):
            kwargs["groups"] = groups[fold.fit]
    estimator.fit(X_fit, y_fit, **kwargs)
    X_test = X.iloc[fold.test]
    p_val = estimator.predict_proba(X_val)[:, 1]
    p_test = estimator.predict_proba(X_test)[:, 1]
    if hasattr(estimator, "predict_proba_members"):
        m_val = np.atleast_2d(estimator.predict_proba_members(X_val))
        m_test = np.atleast_2d(estimator.predict_proba_members(X_test))
        m_thr = np.array([choose_threshold(y_val, m, threshold_metric) for m in m_val])
    else:
        m_test, m_thr = np.empty((0, len(fold.test))), np.empty(0)
    best = getattr(estimator, "best_epoch_", None)
    return FoldFit(
        p_test=np.asarray(p_test, dtype=float),
        threshold=choose_threshold(y_val, p_val, threshold_metric),
        p_val=np.asarray(p_val, dtype=float),
        members_test=np.asarray(m_test, dtype=float),
        member_thresholds=m_thr,
        climatology=float(np.mean(y_fit)),
        seconds=time.perf_counter() - start,
        best_epoch=None if best is None else np.atleast_1d(best).astype(int).tolist(),
    )


@contextlib.contextmanager
def _thread_limit(threads: int | None) -> Iterator[None]:
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="openmp"):
        yield


def calibrate_fold(y_val: np.ndarray, fit: FoldFit, method: str = "platt") -> np.ndarray:
    """A fold's test probabilities through a calibrator fitted on its validation predictions only.

    Parameters
    ----------
    y_val : ndarray of 0/1, shape (n_val,)
        Labels of the fold's inner validation rows (``y[fold.val]``).
    fit : FoldFit
        Its ``p_val`` fit the map; its ``p_test`` are mapped. The test labels
        play no part.
    method : {"platt", "isotonic"}, default "platt"
        See :func:`flarecast.evaluation.calibration.fit_calibrator`.

    Returns
    -------
    ndarray, shape (n_test,)
        Calibrated P(positive); NaN when the validation rows hold one class only.
    """
    from flarecast.evaluation.calibration import fit_calibrator

    try:
        calibrator = fit_calibrator(fit.p_val, y_val, method, fitted_on="inner validation")
    except DataError:  # one class in validation: nothing to calibrate against
        return np.full(len(fit.p_test), np.nan)
    return calibrator.transform(fit.p_test)


def fit_one(
    spec: MethodSpec,
    protocol: Protocol,
    fold: Fold,
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
) -> tuple[Any, FoldFit]:
    """Build ``spec``'s estimator with the fold's seed and :func:`fit_fold` it: one unit of work.

    Everything a fit depends on is in its arguments (the seed is
    ``protocol.seed + fold.index``), so it gives the same result in this
    process or as a task on any executor (:class:`FitQueue`).

    Returns
    -------
    (estimator, FoldFit)
    """
    # Categorical columns become one-hot columns of the fit rows' categories, inside the fit.
    estimator = one_hot_input(spec.factory(protocol, protocol.seed + fold.index), X)
    with _thread_limit(spec.threads):
        fit = fit_fold(estimator, X, y, groups, fold, protocol.threshold_metric)
    return estimator, fit


def _fit_task(
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray],
    spec: MethodSpec,
    protocol: Protocol,
    fold: Fold,
    keep_estimator: bool,
) -> tuple[Any, FoldFit]:
    """Task: one (fold, method) fit; the estimator comes back only when asked for."""
    X, y, groups = data
    estimator, fit = fit_one(spec, protocol, fold, X, y, groups)
    return (estimator if keep_estimator else None), fit


def _fold_digest(fold: Fold) -> str:
    h = hashlib.sha1(usedforsecurity=False)
    for part in (fold.fit, fold.val, fold.test):
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()[:16]


class FitQueue:
    """Fits of one table on an executor: submit early, collect in order, each fit run once.

    The table (features, labels, regions) is shared with the executor once. A fit is named by
    its protocol (which holds every setting and the seed), fold and method; submitting the same
    fit twice runs it once, so a caller can submit a whole stage ahead (``tune`` submits all
    alpha candidates of every fold together) and collect the results one protocol run at a time.

    Parameters
    ----------
    executor : flarecast.execution.Executor, optional
        Runs the fits; default :class:`~flarecast.execution.LocalExecutor` (each fit in this
        process when its result is collected).
    X : pandas.DataFrame, shape (n, F)
    y, groups : ndarray, shape (n,)
    methods : mapping of str to MethodSpec
        Registry the method names are resolved in.
    keep_estimators : bool, default False
        Return the fitted estimators too (needed by ``on_fit`` hooks; on a cluster it costs a
        transfer).
    """

    def __init__(
        self,
        executor: Executor | None,
        X: pd.DataFrame,
        y: np.ndarray,
        groups: np.ndarray,
        methods: Mapping[str, MethodSpec],
        *,
        keep_estimators: bool = False,
    ):
        self.executor = local_executor(executor)
        self.methods = dict(methods)
        self.keep_estimators = keep_estimators
        self._data = self.executor.share((X, np.asarray(y), np.asarray(groups)), to_all=True)
        self._pending: dict[tuple[str, int, str, str], Any] = {}

    def _key(self, protocol: Protocol, fold: Fold, method: str) -> tuple[str, int, str, str]:
        return repr(protocol), int(fold.index), _fold_digest(fold), method

    def submit(
        self, protocol: Protocol, folds: Sequence[Fold], methods: Sequence[str] | None = None
    ) -> None:
        """Start the fits of ``protocol`` (its ``methods`` by default) on every fold, unless started."""
        for fold in folds:
            for name in protocol.methods if methods is None else methods:
                key = self._key(protocol, fold, name)
                if key not in self._pending:
                    spec = self.methods[name]
                    # Networks first: the long fits start early, and the short ones fill the gaps at
                    # the end, so no worker idles while another finishes a network.
                    self._pending[key] = self.executor.submit(
                        _fit_task,
                        self._data,
                        spec,
                        protocol,
                        fold,
                        self.keep_estimators,
                        priority=1 if spec.neural else 0,
                        name=f"fit-{name}-fold{fold.index}",
                    )

    def result(self, protocol: Protocol, fold: Fold, method: str) -> tuple[Any, FoldFit]:
        """(estimator or None, FoldFit) of one fit, waiting for it; submitted first if needed."""
        key = self._key(protocol, fold, method)
        if key not in self._pending:
            self.submit(protocol, [fold], [method])
        return self._pending.pop(key).result()  # pop: the fitted model may be freed


def table_queue(
    executor: Executor | None,
    targets: Any,
    features: Sequence[str],
    methods: Mapping[str, MethodSpec],
    *,
    keep_estimators: bool = False,
) -> FitQueue:
    """A :class:`FitQueue` holding the table that :func:`run_protocol` builds from ``targets``."""
    X, y, groups = _table(targets, features)
    return FitQueue(executor, X, y, groups, methods, keep_estimators=keep_estimators)


def _table(targets: Any, features: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    frame = targets.frame
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise DataError(f"feature column(s) {missing} are not in the table")
    X = frame[list(features)].reset_index(drop=True)
    return X, np.asarray(targets.y).astype(int), np.asarray(targets.groups)


def run_protocol(
    targets: Any,
    features: Sequence[str],
    protocol: Protocol,
    *,
    methods: Mapping[str, MethodSpec] | None = None,
    folds: list[Fold] | None = None,
    progress: Callable[[int, str], None] | None = None,
    on_fit: Callable[[Fold, str, Any, FoldFit], None] | None = None,
    executor: Executor | None = None,
    queue: FitQueue | None = None,
    done: Mapping[tuple[int, str], FoldFit] | None = None,
) -> ProtocolResult:
    """Run every method of ``protocol.methods`` on every fold.

    Parameters
    ----------
    targets : flarecast.targets.Targets
        Kept rows (``frame``), ``y``, ``letter``, ``groups`` and ``times``.
    features : sequence of str
        Feature columns of ``targets.frame`` (raw values; each method owns its transform).
    protocol : Protocol
    methods : mapping of str to MethodSpec, optional
        Registry to resolve ``protocol.methods`` in; default :data:`~flarecast.evaluation.methods.METHODS`.
    folds : list of Fold, optional
        Precomputed folds; default :func:`~flarecast.evaluation.protocol.make_folds`.
    progress : callable(fold_index, method), optional
        Called after each fit (the CLI drives a progress bar with it).
    on_fit : callable(fold, method, estimator, fold_fit), optional
        Called with each fitted estimator before it is dropped, e.g. to score
        validation predictions (``tune``) or permutation importance on the
        test fold.
    executor : flarecast.execution.Executor, optional
        Runs the fits (e.g. a Dask cluster's, built by the command line). All fits are
        submitted before the first is collected; the predictions are the same as in this
        process, and ``on_fit`` and ``progress`` are still called here, in fold and method
        order. Default: one fit after another in this process.
    queue : FitQueue, optional
        A queue of fits on this table already in use (``tune`` shares one across its
        candidates); replaces ``executor``.
    done : mapping of (fold index, method) to FoldFit, optional
        Fits finished by an interrupted run of the same protocol on the same
        data (:class:`flarecast.evaluation.store.FoldStore`): used as they are, not
        refitted, and ``on_fit`` is not called for them (there is no model).

    Returns
    -------
    ProtocolResult
    """
    registry = dict(METHODS if methods is None else methods)
    unknown = [m for m in protocol.methods if m not in registry]
    if unknown:
        raise ConfigError(f"unknown method(s) {unknown}; legal methods are {sorted(registry)}")
    X, y, groups = _table(targets, features)
    folds = count_unseen(make_folds(targets, protocol) if folds is None else folds, X)
    jobs = [(fold, name) for fold in folds for name in protocol.methods]
    done = dict(done or {})
    todo = [(fold, name) for fold, name in jobs if (fold.index, name) not in done]
    if queue is None and todo:
        queue = FitQueue(executor, X, y, groups, registry, keep_estimators=on_fit is not None)
    for fold, name in todo:
        queue.submit(protocol, [fold], [name])  # type: ignore[union-attr]
    rows = _Rows(targets, y, groups)
    seconds = dict.fromkeys(protocol.methods, 0.0)
    epochs: dict[str, list[list[int]]] = {m: [] for m in protocol.methods}
    for fold, name in jobs:
        if (fold.index, name) in done:
            fit = done[(fold.index, name)]
        else:
            estimator, fit = queue.result(protocol, fold, name)  # type: ignore[union-attr]
            if on_fit is not None:
                on_fit(fold, name, estimator, fit)
        seconds[name] += fit.seconds
        if fit.best_epoch is not None:
            epochs[name].append(fit.best_epoch)
        rows.add(fold, name, fit, neural=registry[name].neural)
        if progress is not None:
            progress(fold.index, name)
    return ProtocolResult(
        protocol,
        folds,
        rows.frame(),
        {m: registry[m].label for m in protocol.methods},
        seconds,
        epochs,
    )


class _Rows:
    """The predictions table of a run, one (method, fold) fit at a time."""

    def __init__(self, targets: Any, y: np.ndarray, groups: np.ndarray):
        self.y, self.groups = y, groups
        self.letter = np.asarray(targets.letter, dtype=object)
        self.times = pd.Series(pd.to_datetime(targets.times, utc=True)).reset_index(drop=True)
        self.parts: list[pd.DataFrame] = []

    def add(self, fold: Fold, name: str, fit: FoldFit, *, neural: bool) -> None:
        """Rows of the method's forecast (seed -1) and of each seed member (0..K-1)."""
        forecasts = [(-1, fit.p_test, fit.threshold)]
        forecasts += [
            (k, fit.members_test[k], fit.member_thresholds[k]) for k in range(len(fit.members_test))
        ]
        nan = np.full(len(fold.test), np.nan)
        # Networks only: their scores (focal loss's above all) are not probabilities until mapped.
        calibrated = calibrate_fold(self.y[fold.val], fit) if neural else nan
        test = fold.test
        for seed, p, thr in forecasts:
            self.parts.append(
                pd.DataFrame(
                    {
                        "method": name,
                        "fold": fold.index,
                        "seed": seed,
                        "row": test,
                        "time": self.times.iloc[test].to_numpy(),
                        "region": self.groups[test],
                        "letter": self.letter[test],
                        "y": self.y[test],
                        "p": p,
                        "threshold": thr,
                        "pred": (p >= thr).astype(np.int8),
                        "climatology": fit.climatology,
                        "p_calibrated": calibrated if seed == -1 else nan,
                    }
                )
            )

    def frame(self) -> pd.DataFrame:
        predictions = pd.concat(self.parts, ignore_index=True)
        predictions["method"] = predictions["method"].astype("string")
        predictions["letter"] = predictions["letter"].astype("string")
        return predictions
