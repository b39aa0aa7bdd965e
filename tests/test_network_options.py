"""Training options chosen by benchmarks/select_network.py: input noise, early stopping on validation AUC, skip path."""

import numpy as np
import pytest
from _training_data import region_split, toy_table
from sklearn.metrics import roc_auc_score

from flarecast.errors import ConfigError
from flarecast.training.estimator import FlareClassifier

FAST = {
    "max_epochs": 12,
    "patience": 4,
    "hidden": (16,),
    "batch_size": 128,
    "n_members": 2,
    "seed": 3,
}


@pytest.fixture(scope="module")
def toy():
    frame, y = toy_table()
    tr, te = region_split(frame)
    return frame, y, tr, te


def _weights(clf):
    return np.concatenate([p.detach().numpy().ravel() for p in clf.net_.parameters()])


def test_input_noise_regularises_reproducibly_and_leaves_prediction_alone(toy):
    frame, y, tr, te = toy
    plain = FlareClassifier(loss="ce", **FAST).fit(frame.iloc[tr], y[tr])
    noisy = FlareClassifier(loss="ce", input_noise=0.5, **FAST).fit(frame.iloc[tr], y[tr])
    again = FlareClassifier(loss="ce", input_noise=0.5, **FAST).fit(frame.iloc[tr], y[tr])
    assert not np.allclose(
        _weights(plain), _weights(noisy)
    )  # the noise reached the training batches
    np.testing.assert_array_equal(
        _weights(noisy), _weights(again)
    )  # drawn from the seeded generator
    p = noisy.predict_proba(frame.iloc[te])
    np.testing.assert_array_equal(
        p, noisy.predict_proba(frame.iloc[te])
    )  # prediction sees clean inputs
    assert noisy.get_params()["input_noise"] == 0.5


def test_negative_input_noise_is_refused(toy):
    frame, y, tr, _ = toy
    with pytest.raises(
        ConfigError,
        match=r"'input_noise' parameter of FlareClassifier must be a float >= 0. "
        r"Got -0.1 instead",
    ):
        FlareClassifier(input_noise=-0.1).fit(frame.iloc[tr], y[tr])


@pytest.mark.parametrize("loss", ["ce", "focal"])
def test_auc_stopping_keeps_each_members_best_validation_auc_epoch(toy, loss):
    frame, y, tr, te = toy
    clf = FlareClassifier(loss=loss, early_stopping="auc", **FAST)
    clf.fit(frame.iloc[tr], y[tr], validation=(frame.iloc[te], y[te]))
    auc = clf.history_["val_auc"]
    members = clf.predict_proba_members(frame.iloc[te])
    for k in range(FAST["n_members"]):
        seen = auc[:, k][~np.isnan(auc[:, k])]
        assert clf.best_epoch_[k] == int(np.argmax(seen)) + 1  # first maximum, 1-based
        # the restored weights are that epoch's: they reproduce its validation AUC
        assert roc_auc_score(y[te], members[k]) == pytest.approx(seen.max(), abs=1e-6)


def test_linear_skip_adds_a_linear_map_of_the_inputs_to_the_logit():
    import torch

    from flarecast.models.mlp import EnsembleMLP

    net = EnsembleMLP(5, (4,), n_members=3, seed=1, activation="relu", skip=True).eval()
    assert net.architecture()["skip"] is True and "skip" not in EnsembleMLP(5, (4,)).architecture()
    x = torch.randn(7, 5)
    with torch.no_grad():
        np.testing.assert_array_equal(
            net(x).numpy(), net.head(torch.relu(net.layers[0](x))).squeeze(-1).numpy()
        )
        net.linear.weight.normal_()  # starts at zero; once set, it adds x @ v_k + d_k to every member's logit
        net.linear.bias.fill_(0.5)
        expected = net.head(torch.relu(net.layers[0](x))) + x @ net.linear.weight + 0.5
    np.testing.assert_allclose(
        net(x).detach().numpy(), expected.squeeze(-1).numpy(), rtol=1e-6, atol=1e-6
    )


def test_logistic_start_makes_the_untrained_network_a_logistic_regression(toy):
    import torch
    from sklearn.linear_model import LogisticRegression

    from flarecast.training.estimator import _logistic_start

    frame, y, tr, _ = toy
    clf = FlareClassifier(loss="ce", skip="logistic", **{**FAST, "max_epochs": 1}).fit(
        frame.iloc[tr], y[tr]
    )
    z = clf.transformer_.transform(
        frame.iloc[tr][list(clf.feature_names_in_)].to_numpy(dtype=float)
    )
    coef, intercept = _logistic_start(z, y[tr])
    reference = LogisticRegression(C=1.0, max_iter=2000).fit(z, y[tr])
    np.testing.assert_allclose(coef, reference.coef_[0])
    # "weighted-ce" starts from the linear model of its own loss: positives weighted by pos_weight
    coef_w, intercept_w = _logistic_start(z, y[tr], 9.0)
    weighted = LogisticRegression(C=1.0, max_iter=2000, class_weight={0: 1.0, 1: 9.0}).fit(z, y[tr])
    np.testing.assert_allclose(coef_w, weighted.coef_[0], rtol=1e-3, atol=1e-4)
    assert intercept_w > intercept + 1  # the weighting moves the start towards flares
    # A fresh network of that architecture, started from the fit, with the hidden layers' head zeroed:
    # its logits are exactly the logistic regression's decision function.
    net = clf.net_.__class__(z.shape[1], FAST["hidden"], n_members=2, skip=True)
    net.start_linear(coef, intercept)
    with torch.no_grad():
        net.head.weight.zero_()
        logits = net.eval()(torch.from_numpy(z).float())
    np.testing.assert_allclose(
        logits.numpy(), np.tile(reference.decision_function(z), (2, 1)), atol=1e-4
    )
    # after one epoch of training the members have moved from that start, but not far
    assert roc_auc_score(y[tr], clf.predict_proba(frame.iloc[tr])[:, 1]) == pytest.approx(
        roc_auc_score(y[tr], reference.decision_function(z)), abs=0.05
    )


@pytest.mark.parametrize("bad", [{"skip": "yes"}, {"skip": "linear", "model": "sequence"}])
def test_bad_skip_values_are_refused_with_the_choices(toy, bad):
    frame, y, tr, _ = toy
    with pytest.raises(
        ConfigError,
        match=r"'skip' parameter of FlareClassifier must be one of "
        r"\[.none., .linear., .logistic.\] or None",
    ):
        FlareClassifier(**bad).fit(frame.iloc[tr], y[tr])


def test_start_linear_needs_the_skip_path():
    from flarecast.models.mlp import EnsembleMLP

    with pytest.raises(ValueError, match="skip=True"):
        EnsembleMLP(3, (2,)).start_linear([0.0, 0.0, 0.0], 0.0)
