"""The evaluation protocol: outer folds x methods (x seeds), thresholds on validation only.

For each outer fold (region-grouped stratified K-fold, or one chronological
hold-out with a gap of at least the forecast horizon) the training rows are
split again *by region* into a fit part and an inner validation part. Every
method is fitted on the fit part; the networks early-stop on the validation
part, and every method's decision threshold is chosen on it (maximum HSS by
default). The test fold is only ever predicted, never used for a choice.

Neural methods train ``seeds`` independently seeded members as one ensemble
fit; the method's forecast is the member mean (with its own validation
threshold), and each member's forecast is kept too so the report can show the
seed spread. Every method sees the same folds and the same fit/validation rows,
and the networks of one fold share their seed, so focal and cross-entropy can
be compared *paired* (see :func:`flarecast.evaluation.bootstrap.summarise`).

The pieces are public and reused: :func:`make_folds`, :func:`fit_fold`,
:func:`run_protocol` (with an ``on_fit`` hook) here, scoring with intervals in
:func:`flarecast.evaluation.bootstrap.summarise`, the alpha/gamma search in
:mod:`flarecast.evaluation.tune`, permutation importance in :mod:`flarecast.evaluation.importance`
and the scoring of a saved model in :mod:`flarecast.evaluation.score`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast import splits
from flarecast.errors import ConfigError, DataError
from flarecast.evaluation.thresholds import choose_threshold, parse_threshold_metric

__all__ = [
    "Protocol",
    "MethodSpec",
    "METHODS",
    "Fold",
    "FoldFit",
    "ProtocolResult",
    "make_folds",
    "fit_fold",
    "fit_one",
    "calibrate_fold",
    "run_protocol",
]

Factory = Callable[["Protocol", int], Any]


@dataclasses.dataclass(frozen=True)
class Protocol:
    """Configuration of one evaluation run (``[protocol]`` table of a TOML file).

    Parameters
    ----------
    split : {"kfold", "chrono"}, default "kfold"
        Outer split: region-grouped stratified K-fold, or train before
        ``cutoff - gap`` and test from ``cutoff``.
    folds : int, default 5
        Number of outer folds (kfold only).
    cutoff : str, default "2015-01-01"
        First test time for ``split="chrono"`` (UTC).
    gap : str, default "48h"
        Gap before the cutoff for ``split="chrono"``; must be at least the
        forecast horizon (48 h covers every registry data set).
    validation_fraction : float, default 0.2
        Share of the training regions held out for early stopping and the threshold.
    seeds : int, default 5
        Ensemble members (independent seeds) per neural fit.
    threshold_metric : str, default "hss"
        "hss", "tss" (maximised on validation) or "fixed:<p>".
    n_boot : int, default 1000
        Region bootstrap resamples.
    level : float, default 0.95
        Confidence level of the intervals.
    alpha, gamma : float, default 0.25, 2.0
        Focal-loss parameters (Lin et al. 2017).
    methods : tuple of str
        Rows of the table, from :data:`METHODS`.
    negatives : tuple of str, default ("C",)
        GOES letters of the negative class (passed to ``make_targets``).
    positive_threshold : str, default "M1.0"
        Smallest positive class.
    seed : int, default 0
        Seeds the folds, the inner splits, the networks and the bootstrap.
    network : dict, default {}
        Extra keyword arguments for every ``FlareClassifier`` (e.g. ``hidden``, ``max_epochs``).
    """

    split: str = "kfold"
    folds: int = 5
    cutoff: str = "2015-01-01"
    gap: str = "48h"
    validation_fraction: float = 0.2
    seeds: int = 5
    threshold_metric: str = "hss"
    n_boot: int = 1000
    level: float = 0.95
    alpha: float = 0.25
    gamma: float = 2.0
    methods: tuple[str, ...] = ("climatology", "logistic", "gboost", "ce", "weighted-ce", "focal")
    negatives: tuple[str, ...] = ("C",)
    positive_threshold: str = "M1.0"
    seed: int = 0
    network: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []

        def bad(name: str, rule: str) -> None:
            problems.append(
                f"The '{name}' parameter of Protocol must be {rule}. Got {getattr(self, name)!r} instead."
            )

        if self.split not in ("kfold", "chrono"):
            bad("split", "one of 'kfold', 'chrono'")
        for name, low in (("folds", 2), ("seeds", 1), ("n_boot", 1)):
            if not isinstance(getattr(self, name), int | np.integer) or getattr(self, name) < low:
                bad(name, f"an int >= {low}")
        if not 0 < self.validation_fraction < 1:
            bad("validation_fraction", "a float in (0, 1)")
        if not 0 < self.level < 1:
            bad("level", "a float in (0, 1)")
        if not 0 < self.alpha < 1:
            bad("alpha", "a float in (0, 1)")
        if not self.gamma >= 0:
            bad("gamma", "a float >= 0")
        if not self.methods or len(set(self.methods)) != len(self.methods):
            bad("methods", "a non-empty list of distinct method names")
        try:
            parse_threshold_metric(self.threshold_metric)
            pd.Timedelta(self.gap)
            pd.Timestamp(self.cutoff)
        except ConfigError as exc:
            problems.append(str(exc))
        except ValueError as exc:
            problems.append(f"Protocol 'gap'/'cutoff' could not be parsed: {exc}")
        if problems:
            raise ConfigError("; ".join(problems))


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """A row of the table: a short name, a label for readers, and a factory ``(protocol, seed) -> estimator``."""

    name: str
    label: str
    factory: Factory
    neural: bool = False
    threads: int | None = None


def _climatology(protocol: Protocol, seed: int) -> Any:
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="prior")


def _logistic(protocol: Protocol, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from flarecast.features.transforms import FeatureTransformer

    # Unweighted: probabilities stay calibrated for the Brier score; the class
    # imbalance is handled by the threshold chosen on validation.
    return Pipeline(
        [("transform", FeatureTransformer()), ("model", LogisticRegression(C=1.0, max_iter=2000))]
    )


def _gboost(protocol: Protocol, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    # No internal early stopping: it would carve a random-row validation set
    # out of the fit rows, splitting regions. Shallow, regularised trees instead:
    # a conventional default (a 15-leaf, 200-tree variant scored AUC 0.63 vs 0.64
    # on umich-24h; nothing else was tried).
    return HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=150,
        max_depth=3,
        min_samples_leaf=50,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )


def _network(loss: str) -> Factory:
    def factory(protocol: Protocol, seed: int) -> Any:
        from flarecast.training.estimator import FlareClassifier

        # TOML gives lists; estimator parameters such as ``hidden`` are tuples.
        extra = {k: tuple(v) if isinstance(v, list) else v for k, v in protocol.network.items()}
        kwargs: dict[str, Any] = {"loss": loss, "n_members": protocol.seeds, "seed": seed, **extra}
        if loss == "focal":
            kwargs.update(alpha=protocol.alpha, gamma=protocol.gamma)
        return FlareClassifier(**kwargs)

    return factory


#: The methods ``flarecast reproduce`` knows, by short name.
METHODS: dict[str, MethodSpec] = {
    "climatology": MethodSpec("climatology", "climatology (training base rate)", _climatology),
    "logistic": MethodSpec("logistic", "logistic regression", _logistic),
    # One OpenMP thread: on a shared 2-core machine the histogram builder's
    # spin-waiting threads made a 0.2 s fit take over 10 s when another process ran.
    "gboost": MethodSpec("gboost", "gradient boosting", _gboost, threads=1),
    "ce": MethodSpec("ce", "cross-entropy network", _network("ce"), neural=True),
    "weighted-ce": MethodSpec(
        "weighted-ce", "class-weighted cross-entropy network", _network("weighted-ce"), neural=True
    ),
    "focal": MethodSpec("focal", "focal-loss network", _network("focal"), neural=True),
}


@dataclasses.dataclass(frozen=True)
class Fold:
    """Row indices (into the targets' arrays) of one outer fold.

    ``train`` = ``fit`` + ``val``; ``val`` is the inner validation part, split
    from ``train`` by region; ``test`` is only ever predicted.
    """

    index: int
    train: np.ndarray
    test: np.ndarray
    fit: np.ndarray
    val: np.ndarray


def make_folds(targets: Any, protocol: Protocol) -> list[Fold]:
    """Outer folds and their inner validation splits, by region or by time.

    Parameters
    ----------
    targets : flarecast.targets.Targets
        Needs ``y``, ``groups`` (region per row) and ``times``.
    protocol : Protocol

    Returns
    -------
    list of Fold
    """
    y = np.asarray(targets.y)
    groups = np.asarray(targets.groups)
    if protocol.split == "kfold":
        outer = splits.region_kfold(y, groups, n_splits=protocol.folds, seed=protocol.seed)
    else:
        # Regions alive across the cutoff are removed from training (test stays complete).
        outer = [
            splits.chronological_split(
                targets.times, protocol.cutoff, gap=protocol.gap, groups=groups
            )
        ]
    folds = []
    for k, (train, test) in enumerate(outer):
        fit, val = splits.inner_validation(
            y, groups, train, fraction=protocol.validation_fraction, seed=protocol.seed + k
        )
        folds.append(Fold(k, np.asarray(train), np.asarray(test), np.asarray(fit), np.asarray(val)))
    return folds


@dataclasses.dataclass
class FoldFit:
    """Predictions of one method on one fold.

    ``p_test`` (n_test,) is the method's forecast and ``threshold`` its cut,
    chosen on validation; ``members_test`` (K, n_test) and ``member_thresholds``
    (K,) are the seed members' (K = 0 for non-ensemble methods). ``p_val``
    (n_val,) are the validation predictions, the only ones a selection (of a
    threshold, or of alpha and gamma by ``tune``) may look at.
    """

    p_test: np.ndarray
    threshold: float
    p_val: np.ndarray
    members_test: np.ndarray
    member_thresholds: np.ndarray
    climatology: float
    seconds: float
    best_epoch: list[int] | None = None


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
    process or as a Dask task (:mod:`flarecast.scaleout.dask`).

    Returns
    -------
    (estimator, FoldFit)
    """
    estimator = spec.factory(protocol, protocol.seed + fold.index)
    with _thread_limit(spec.threads):
        fit = fit_fold(estimator, X, y, groups, fold, protocol.threshold_metric)
    return estimator, fit


@dataclasses.dataclass
class ProtocolResult:
    """Everything :func:`run_protocol` produced.

    ``predictions`` has one row per (method, seed, test row): columns method,
    fold, seed (-1 = the method's forecast, i.e. the seed-ensemble mean for
    networks; 0..K-1 = one member), row (index into the targets), time, region,
    letter, y, p, threshold, pred, climatology (the fold's training base rate)
    and p_calibrated: for a network's forecast (seed -1), ``p`` through a Platt
    map fitted on that fold's inner-validation predictions only (see
    :func:`calibrate_fold`); NaN for members and for the other methods.
    Calibration is monotone, so ``pred`` and every ranking score are unchanged.
    """

    protocol: Protocol
    folds: list[Fold]
    predictions: pd.DataFrame
    labels: dict[str, str]
    seconds: dict[str, float]
    best_epochs: dict[str, list[list[int]]]


def run_protocol(
    targets: Any,
    features: Sequence[str],
    protocol: Protocol,
    *,
    methods: Mapping[str, MethodSpec] | None = None,
    folds: list[Fold] | None = None,
    progress: Callable[[int, str], None] | None = None,
    on_fit: Callable[[Fold, str, Any, FoldFit], None] | None = None,
    scheduler: Any = None,
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
        Registry to resolve ``protocol.methods`` in; default :data:`METHODS`.
    folds : list of Fold, optional
        Precomputed folds; default :func:`make_folds`.
    progress : callable(fold_index, method), optional
        Called after each fit (the CLI drives a progress bar with it).
    on_fit : callable(fold, method, estimator, fold_fit), optional
        Called with each fitted estimator before it is dropped, e.g. to score
        validation predictions (``tune``) or permutation importance on the
        test fold.
    scheduler : str, distributed.Client or flarecast.scaleout.dask.FitPool, optional
        Run the fits as Dask tasks ("local", "processes", "tcp://HOST:PORT", a
        client or a pool; see :mod:`flarecast.scaleout.dask`). The predictions are
        the same as in this process; ``on_fit`` and ``progress`` are still
        called here, in fold and method order. Default: one fit after another here.
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
    frame = targets.frame
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise DataError(f"feature column(s) {missing} are not in the table")
    X = frame[list(features)].reset_index(drop=True)
    y = np.asarray(targets.y).astype(int)
    groups = np.asarray(targets.groups)
    letter = np.asarray(targets.letter, dtype=object)
    times = pd.Series(pd.to_datetime(targets.times, utc=True)).reset_index(drop=True)
    folds = make_folds(targets, protocol) if folds is None else folds
    parts: list[pd.DataFrame] = []
    seconds = dict.fromkeys(protocol.methods, 0.0)
    epochs: dict[str, list[list[int]]] = {m: [] for m in protocol.methods}
    jobs = [(fold, name) for fold in folds for name in protocol.methods]
    done = dict(done or {})
    todo = [(fold, name) for fold, name in jobs if (fold.index, name) not in done]
    if scheduler is None or not todo:  # lazily, one fit at a time, as each result is used
        fits: Iterator[tuple[Any, FoldFit]] = (
            fit_one(registry[name], protocol, fold, X, y, groups) for fold, name in todo
        )
    else:
        from flarecast.scaleout.dask import map_fits

        fits = map_fits(
            scheduler, todo, protocol, registry, X, y, groups, keep_estimators=on_fit is not None
        )
    for fold, name in jobs:
        if (fold.index, name) in done:
            fit = done[(fold.index, name)]
        else:
            estimator, fit = next(fits)
            if on_fit is not None:
                on_fit(fold, name, estimator, fit)
        seconds[name] += fit.seconds
        if fit.best_epoch is not None:
            epochs[name].append(fit.best_epoch)
        forecasts = [(-1, fit.p_test, fit.threshold)]
        forecasts += [
            (k, fit.members_test[k], fit.member_thresholds[k]) for k in range(len(fit.members_test))
        ]
        nan = np.full(len(fold.test), np.nan)
        # Networks only: their scores (focal loss's above all) are not probabilities until mapped.
        calibrated = calibrate_fold(y[fold.val], fit) if registry[name].neural else nan
        for seed, p, thr in forecasts:
            parts.append(
                pd.DataFrame(
                    {
                        "method": name,
                        "fold": fold.index,
                        "seed": seed,
                        "row": fold.test,
                        "time": times.iloc[fold.test].to_numpy(),
                        "region": groups[fold.test],
                        "letter": letter[fold.test],
                        "y": y[fold.test],
                        "p": p,
                        "threshold": thr,
                        "pred": (p >= thr).astype(np.int8),
                        "climatology": fit.climatology,
                        "p_calibrated": calibrated if seed == -1 else nan,
                    }
                )
            )
        if progress is not None:
            progress(fold.index, name)
    if (
        next(fits, None) is not None
    ):  # exhausting the generator also closes a Dask cluster started for it
        raise RuntimeError("run_protocol: more fits than jobs")
    predictions = pd.concat(parts, ignore_index=True)
    predictions["method"] = predictions["method"].astype("string")
    predictions["letter"] = predictions["letter"].astype("string")
    return ProtocolResult(
        protocol,
        folds,
        predictions,
        {m: registry[m].label for m in protocol.methods},
        seconds,
        epochs,
    )
