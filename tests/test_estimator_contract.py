"""FlareClassifier as a scikit-learn citizen: estimator checks, pickle, clone, defaults from the configs."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from flarecast.models.config import ACTIVATION_NAMES, NetworkConfig
from flarecast.models.ensemble import ACTIVATIONS
from flarecast.models.mlp import EnsembleMLP
from flarecast.models.sequence import EnsembleGRU
from flarecast.training.config import ESTIMATOR_PARAMS, TrainConfig
from flarecast.training.estimator import FlareClassifier
from flarecast.training.losses import LossConfig

# Labels must be 0 and 1 (1 = flare): other pairs are refused rather than mapped, so that a swapped
# encoding cannot invert every forecast silently. These checks fit on labels such as [1, 2] or
# ['one', 'two'].
_LABELS = "labels other than 0/1 are refused (a swapped encoding would invert the forecast)"
EXPECTED_FAILURES = {
    "check_estimators_dtypes": _LABELS,
    "check_classifier_data_not_an_array": _LABELS,
    "check_classifiers_classes": _LABELS,
    "check_fit2d_1feature": _LABELS,
    "check_supervised_y_2d": "y must be 1-D: a (n, 1) column is refused, not raveled with a warning",
    # Without groups, the last 20% of the rows validate (time order, never random rows, which
    # would leak near-duplicate records); these checks' rows are sorted by class, so that block
    # holds one class, and early stopping needs both.
    "check_positive_only_tag_during_fit": "last-20% validation block of class-sorted rows",
    "check_estimators_nan_inf": "last-20% validation block of class-sorted rows",
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES


@parametrize_with_checks(
    [FlareClassifier(max_epochs=3, patience=2, hidden=(4,), device="cpu")],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_parameter_defaults_come_from_the_configs():
    """FlareClassifier used to repeat all 20 TrainConfig defaults by hand."""
    signature = inspect.signature(FlareClassifier.__init__).parameters
    assert tuple(name for name in signature if name != "self") == tuple(
        sorted(ESTIMATOR_PARAMS, key=list(signature).index)
    )
    assert set(signature) - {"self"} == set(ESTIMATOR_PARAMS)
    defaults = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        assert signature[field.name].default == getattr(defaults, field.name), field.name
    loss, net = LossConfig(), NetworkConfig()
    for name in ("loss", "alpha", "gamma"):
        assert getattr(defaults, name) == getattr(loss, name)
    for name in ("model", "hidden", "activation", "skip", "dropout", "window"):
        assert getattr(defaults, name) == getattr(net, name)


def test_one_default_activation():
    """relu in TrainConfig but tanh in mlp.py, sequence.py, the estimator and the forecast engine."""
    from flarecast.forecast.engine import _ACTIVATIONS as NUMPY_ACTIVATIONS

    assert set(ACTIVATIONS) == set(NUMPY_ACTIVATIONS) == set(ACTIVATION_NAMES)
    for cls in (EnsembleMLP, EnsembleGRU):
        params = inspect.signature(cls.__init__).parameters
        assert params["activation"].default == NetworkConfig().activation == "relu"
        assert params["hidden"].default == NetworkConfig().hidden
    assert EnsembleMLP(3).activation == TrainConfig().activation


@pytest.fixture(scope="module")
def ensemble():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=600) > 1.0).astype(int)
    groups = np.repeat(np.arange(60), 10)
    clf = FlareClassifier(n_members=5, max_epochs=6, hidden=(8,), device="cpu", seed=3)
    return clf.fit(X, y, groups=groups), X


def test_fitted_model_pickles_and_clones(ensemble):
    """A lambda in _loss_fn made a fitted FlareClassifier unpicklable."""
    clf, X = ensemble
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "net_")


def test_decision_function_ranks_as_predict_proba(ensemble):
    """For an ensemble the mean member logit ranked 250 of 600 rows differently from the mean
    probability; decision_function is now the logit of predict_proba's probability."""
    clf, X = ensemble
    d, p = clf.decision_function(X), clf.predict_proba(X)[:, 1]
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-d)), p, rtol=1e-12)
    np.testing.assert_array_equal(np.argsort(d, kind="stable"), np.argsort(p, kind="stable"))
    mean_logit = clf._member_logits(X).mean(axis=0)
    assert not np.array_equal(np.argsort(mean_logit), np.argsort(p))  # the finding was real
