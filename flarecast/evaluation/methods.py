"""The methods a comparison can fit: a short name, a label for readers, and an estimator factory.

Every method follows the scikit-learn contract (``fit``, ``predict_proba``), so the
networks, logistic regression, gradient boosting and climatology are interchangeable in
:func:`flarecast.evaluation.fits.run_protocol`. A factory takes the protocol and the fold's
seed and returns an unfitted estimator; estimators are imported only when built (the
networks bring torch).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError
from flarecast.evaluation.bootstrap import PAIRS
from flarecast.evaluation.protocol import Protocol
from flarecast.training.losses import LOSS_REGISTRY

__all__ = [
    "MethodSpec",
    "METHODS",
    "ColumnView",
    "augmented_methods",
    "AugmentedRun",
    "augmented_run",
]

Factory = Callable[[Protocol, int], Any]


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


def _network(loss: str, **model: Any) -> Factory:
    def factory(protocol: Protocol, seed: int) -> Any:
        from flarecast.training.estimator import FlareClassifier

        # TOML gives lists; estimator parameters such as ``hidden`` are tuples.
        extra = {k: tuple(v) if isinstance(v, list) else v for k, v in protocol.network.items()}
        kwargs: dict[str, Any] = {"loss": loss, "n_members": protocol.seeds, "seed": seed, **extra}
        kwargs.update(model)
        kwargs.update({field: getattr(protocol, field) for field in LOSS_REGISTRY[loss].uses})
        return FlareClassifier(**kwargs)

    return factory


#: The methods ``flarecast reproduce`` knows, by short name.
METHODS: dict[str, MethodSpec] = {
    "climatology": MethodSpec("climatology", "climatology (training base rate)", _climatology),
    "logistic": MethodSpec("logistic", "logistic regression", _logistic),
    # One OpenMP thread: on a shared 2-core machine the histogram builder's
    # spin-waiting threads made a 0.2 s fit take over 10 s when another process ran.
    "gboost": MethodSpec("gboost", "gradient boosting", _gboost, threads=1),
    # One network row per loss of the registry: the baselines first, focal loss last.
    **{
        name: MethodSpec(name, LOSS_REGISTRY[name].label, _network(name), neural=True)
        for name in sorted(LOSS_REGISTRY, key=lambda name: name == "focal")
    },
}


class ColumnView:
    """An estimator that sees only ``columns`` of the table, with NaN filled from its fit rows.

    Rule for missing values (an added column, e.g. a flare without an earlier snapshot): each
    NaN becomes the median of its column over the rows ``fit`` is given (0 for a column
    without any value there), fitted once, so validation and test rows are filled with the
    fit rows' medians and never with their own. The
    :class:`~flarecast.features.augment.Addition` indicator columns tell the model which
    values were filled. Columns without NaN pass unchanged, so a method on the original
    columns predicts exactly as it does unwrapped. Columns in ``unfilled`` (a flare's earlier
    snapshots, which the sequence model masks where missing) pass with their NaN.

    ``validation=`` and ``groups=`` are passed on when the wrapped ``fit`` takes them (the
    networks), ``predict_proba_members`` and ``best_epoch_`` when it has them.
    """

    def __init__(self, estimator: Any, columns: Sequence[str], unfilled: Sequence[str] = ()):
        self.estimator = estimator
        self.columns = list(columns)
        self.unfilled = list(unfilled)

    def _view(self, X: pd.DataFrame) -> pd.DataFrame:
        part = X[self.columns]
        return part.fillna(self.fill_) if part.isna().to_numpy().any() else part

    def fit(
        self, X: pd.DataFrame, y: Any, groups: Any = None, validation: Any = None
    ) -> ColumnView:
        filled = [c for c in self.columns if c not in self.unfilled]
        self.fill_ = X[filled].median(skipna=True).fillna(0.0)
        kwargs: dict[str, Any] = {}
        params = inspect.signature(self.estimator.fit).parameters
        if validation is not None and "validation" in params:
            kwargs["validation"] = (self._view(validation[0]), validation[1])
        if groups is not None and "groups" in params:
            kwargs["groups"] = groups
        self.estimator.fit(self._view(X), y, **kwargs)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator.predict_proba(self._view(X))

    def __getattr__(self, name: str) -> Any:
        # Only what the wrapped estimator has: fit_fold asks hasattr() before using them.
        inner = self.__dict__.get("estimator")
        if name == "predict_proba_members" and hasattr(inner, name):
            return lambda X: inner.predict_proba_members(self._view(X))
        if name == "best_epoch_" and inner is not None:
            return getattr(inner, name)
        raise AttributeError(name)


def _viewed(
    spec: MethodSpec, name: str, label: str, columns: Sequence[str], unfilled: Sequence[str] = ()
) -> MethodSpec:
    def factory(protocol: Protocol, seed: int) -> Any:
        return ColumnView(spec.factory(protocol, seed), columns, unfilled)

    return dataclasses.replace(spec, name=name, label=label, factory=factory)


#: Row of a sequence model: a GRU (cross-entropy) reading the record and the region's two
#: previous records (:func:`flarecast.models.sequence.make_windows`) or, on the Michigan
#: tables, the flare's own two earlier snapshots (:mod:`flarecast.features.snapshots`).
SEQUENCE = "sequence"
#: Columns the sequence row reads its windows by.
WINDOW_COLUMNS: tuple[str, ...] = ("time", "noaa_ar")


def augmented_methods(
    methods: Sequence[str],
    base: Sequence[str],
    additions: Sequence[tuple[str, Sequence[str]]],
    *,
    sequence: bool = False,
    snapshots: Sequence[str] = (),
) -> tuple[dict[str, MethodSpec], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Rows with added feature columns, and the pairs that measure each addition.

    Parameters
    ----------
    methods : sequence of str
        The protocol's rows (names in :data:`METHODS`); each keeps its row on ``base``.
    base : sequence of str
        The data set's own feature columns.
    additions : sequence of (name, columns)
        E.g. ``[("evolution", [...]), ("history", [...])]``. Each method but climatology gets
        a row ``"<method>+<name>"`` on ``base`` + those columns; with two or more additions,
        a row with all of them too (``"<method>+evolution+history"``).
    sequence : bool, default False
        Add the :data:`SEQUENCE` row (a GRU over the record and the region's two previous
        records, on ``base``; the table must hold :data:`WINDOW_COLUMNS`), paired with
        logistic regression on the same information (``logistic+evolution``) and with CE.
    snapshots : sequence of str, optional
        Columns holding each row's own two earlier snapshots of ``base``
        (:func:`~flarecast.features.snapshots.snapshot_columns`): the :data:`SEQUENCE` row then
        reads its windows from them instead of from neighbouring rows, with the same network
        and pairs; its missing snapshots are masked, not filled.

    Returns
    -------
    registry : dict of str to MethodSpec
        Every row, each seeing only its own columns (:class:`ColumnView`).
    rows : tuple of str
        The table's rows: the original methods, then each addition's rows.
    pairs : tuple of (str, str)
        (A, B) paired differences: the base table's :data:`~flarecast.evaluation.bootstrap.PAIRS`;
        each row with an addition against the same method without it; and, on the same
        features, every row against logistic regression and focal against cross-entropy.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"unknown method(s) {unknown}; legal methods are {sorted(METHODS)}")
    sets = [(name, list(columns)) for name, columns in additions]
    if len(sets) > 1:
        sets.append(("+".join(n for n, _ in sets), [c for _, cols in sets for c in cols]))
    registry = {m: _viewed(METHODS[m], m, METHODS[m].label, base) for m in methods}
    rows = list(methods)
    pairs = [(a, b) for a, b in PAIRS if a in methods and b in methods]
    for suffix, columns in sets:
        added = [m for m in methods if m != "climatology"]
        for m in added:
            name = f"{m}+{suffix}"
            label = f"{METHODS[m].label} + {suffix.replace('+', ' + ')}"
            registry[name] = _viewed(METHODS[m], name, label, [*base, *columns])
            rows.append(name)
            pairs.append((name, m))
        logistic = f"logistic+{suffix}"
        if logistic in registry:
            pairs += [(f"{m}+{suffix}", logistic) for m in added if m != "logistic"]
        if {"focal", "ce"} <= set(added):
            pairs.append((f"focal+{suffix}", f"ce+{suffix}"))
    if snapshots:
        # The network's features are ``base`` alone: the snapshot columns are read only as the
        # earlier steps of each row's window.
        network = _network("ce", model="sequence", window=3, features=tuple(base))
        gru = MethodSpec(
            SEQUENCE, "GRU over the flare's last 3 snapshots (CE)", network, neural=True
        )
        registry[SEQUENCE] = _viewed(gru, SEQUENCE, gru.label, [*base, *snapshots], snapshots)
        rows.append(SEQUENCE)
    elif sequence:
        gru = MethodSpec(
            SEQUENCE,
            "GRU over the last 3 records (CE)",
            _network("ce", model="sequence", window=3),
            neural=True,
        )
        registry[SEQUENCE] = _viewed(gru, SEQUENCE, gru.label, [*base, *WINDOW_COLUMNS])
        rows.append(SEQUENCE)
    if sequence or snapshots:
        pairs += [(SEQUENCE, b) for b in ("logistic+evolution", "ce") if b in registry]
    return registry, tuple(rows), tuple(dict.fromkeys(pairs))


@dataclasses.dataclass
class AugmentedRun:
    """What ``reproduce --evolution/--history`` runs: the augmented data, its targets and rows."""

    data: Any
    targets: Any
    protocol: Protocol
    registry: dict[str, MethodSpec]
    pairs: tuple[tuple[str, str], ...]
    additions: list[Any]


def augmented_run(
    data: Any,
    protocol: Protocol,
    *,
    evolution: bool = False,
    history: str | None = None,
    data_dir: str | None = None,
) -> AugmentedRun:
    """The data set with the added columns, its targets, and the protocol with the added rows.

    See :func:`flarecast.features.augment.augment_dataset` for the columns and
    :func:`augmented_methods` for the rows and pairs. The targets are rebuilt from the
    augmented table under ``protocol``'s class definition (same rows, same order).
    """
    from flarecast.features.augment import augment_dataset
    from flarecast.targets import make_targets

    augmented, additions = augment_dataset(
        data, evolution=evolution, history=history, data_dir=data_dir
    )
    targets = make_targets(augmented, protocol.negatives, protocol.positive_threshold)
    # The GRU row joins the networks' rows (only with cross-entropy, its loss, as a row). On a
    # region series it reads its windows from the kept rows, so only when the class definition
    # keeps every row: a row kept or left out by its label (a flare up to 24 h after it) would
    # tell the GRU the future. On the Michigan tables it reads each flare's own earlier
    # snapshots, carried as columns of the flare's row, whatever rows are kept.
    snapshots = [c for a in additions for c in a.snapshots] if "ce" in protocol.methods else []
    sequence = (
        "ce" in protocol.methods
        and any(a.windows for a in additions)
        and not any(targets.dropped.values())
    )
    registry, rows, pairs = augmented_methods(
        protocol.methods,
        data.features,
        [(a.name, a.columns) for a in additions],
        sequence=sequence,
        snapshots=snapshots,
    )
    extra = tuple(snapshots) if snapshots else WINDOW_COLUMNS if sequence else ()
    if extra:  # the columns the GRU row reads its windows from, in the fits' table
        augmented = dataclasses.replace(augmented, features=tuple(augmented.features) + extra)
        targets = make_targets(augmented, protocol.negatives, protocol.positive_threshold)
    protocol = dataclasses.replace(protocol, methods=rows)
    return AugmentedRun(augmented, targets, protocol, registry, pairs, additions)
