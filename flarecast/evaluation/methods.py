"""The methods a comparison can fit: a short name, a label for readers, and an estimator factory.

Every method follows the scikit-learn contract (``fit``, ``predict_proba``), so the
networks, logistic regression, gradient boosting and climatology are interchangeable in
:func:`flarecast.evaluation.fits.run_protocol`. A factory takes the protocol and the fold's
seed and returns an unfitted estimator; estimators are imported only when built (the
networks bring torch).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from flarecast.evaluation.protocol import Protocol
from flarecast.training.losses import LOSS_REGISTRY

__all__ = ["MethodSpec", "METHODS"]

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


def _network(loss: str) -> Factory:
    def factory(protocol: Protocol, seed: int) -> Any:
        from flarecast.training.estimator import FlareClassifier

        # TOML gives lists; estimator parameters such as ``hidden`` are tuples.
        extra = {k: tuple(v) if isinstance(v, list) else v for k, v in protocol.network.items()}
        kwargs: dict[str, Any] = {"loss": loss, "n_members": protocol.seeds, "seed": seed, **extra}
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
