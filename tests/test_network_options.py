"""Training options chosen by benchmarks/select_network.py: input noise and early stopping on validation AUC."""

import numpy as np
import pytest
from _training_data import region_split, toy_table
from sklearn.metrics import roc_auc_score

from flarecast.errors import ConfigError
from flarecast.models.estimator import FlareClassifier

FAST = {"max_epochs": 12, "patience": 4, "hidden": (16,), "batch_size": 128, "n_members": 2, "seed": 3}


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
    assert not np.allclose(_weights(plain), _weights(noisy))  # the noise reached the training batches
    np.testing.assert_array_equal(_weights(noisy), _weights(again))  # drawn from the seeded generator
    p = noisy.predict_proba(frame.iloc[te])
    np.testing.assert_array_equal(p, noisy.predict_proba(frame.iloc[te]))  # prediction sees clean inputs
    assert noisy.get_params()["input_noise"] == 0.5


def test_negative_input_noise_is_refused(toy):
    frame, y, tr, _ = toy
    with pytest.raises(ConfigError, match=r"'input_noise' parameter of FlareClassifier must be a float >= 0. "
                                          r"Got -0.1 instead"):
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
