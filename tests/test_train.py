"""The training loop and FlareClassifier: learning, early stopping, determinism, bad input."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from _training_data import region_split, toy_table
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from flarecast.errors import ConfigError, DataError, DataWarning, SchemaError
from flarecast.training.config import TrainConfig
from flarecast.training.device import resolve_device
from flarecast.training.estimator import FlareClassifier
from flarecast.training.loop import batched_auc

FAST = {"max_epochs": 25, "patience": 5, "hidden": (16, 16), "batch_size": 128}


@pytest.fixture(scope="module")
def toy():
    frame, y = toy_table()
    tr, te = region_split(frame)
    return frame, y, tr, te


@pytest.fixture(scope="module")
def fitted(toy):
    # From random weights (no logistic-start skip path): these tests watch the loop learn from scratch.
    frame, y, tr, _ = toy
    return FlareClassifier(loss="focal", n_members=3, seed=1, skip="none", **FAST).fit(
        frame.iloc[tr], y[tr]
    )


def test_defaults_match_train_config():
    params = FlareClassifier().get_params()
    for name, value in vars(TrainConfig()).items():
        assert params[name] == value, name


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else ("mps" if torch.backends.mps.is_available() else "cpu")
    )
    assert resolve_device("auto").type == expected
    with pytest.raises(ConfigError, match="Unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="sees no CUDA GPU; use --device cpu or auto"):
            resolve_device("cuda")


def test_cpu_threads_are_restored_after_fit(toy):
    frame, y, tr, _ = toy
    before = torch.get_num_threads()
    seen = []
    FlareClassifier(max_epochs=2, hidden=(4,), cpu_threads=1, device="cpu").fit(
        frame.iloc[tr], y[tr], callback=lambda e, info: seen.append(torch.get_num_threads())
    )
    assert seen == [1, 1]
    assert torch.get_num_threads() == before


def test_batched_auc_matches_sklearn(rng):
    y = rng.integers(0, 2, 200)
    scores = rng.normal(size=(3, 200)) + y
    got = batched_auc(torch.from_numpy(scores), torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(got, [roc_auc_score(y, s) for s in scores], rtol=1e-12)
    assert np.isnan(batched_auc(torch.ones(2, 3), torch.zeros(3))).all()


def test_fit_learns_and_validation_loss_falls(toy, fitted):
    frame, y, _, te = toy
    hist = fitted.history_
    assert hist["val_loss"].shape[1] == 3
    # every member's best validation loss is clearly below its first-epoch loss
    assert (np.nanmin(hist["val_loss"], axis=0) < 0.9 * hist["val_loss"][0]).all()
    auc = roc_auc_score(y[te], fitted.predict_proba(frame.iloc[te])[:, 1])
    assert auc > 0.75
    assert fitted.validation_["auc"] > 0.7
    assert 0.05 < fitted.base_rate_ < 0.25


def test_each_member_keeps_its_best_epoch_weights(toy, fitted):
    """The restored weights reproduce each member's best validation loss from the history."""
    frame, y, tr, _ = toy
    from flarecast.splits import inner_validation

    _, va = inner_validation(
        y[tr], frame["noaa_ar"].iloc[tr].to_numpy(), np.arange(len(tr)), 0.2, seed=1
    )
    logits = torch.from_numpy(fitted._member_logits(frame.iloc[tr].iloc[va]))
    yv = torch.from_numpy(y[tr][va]).double().expand_as(logits)
    loss = fitted._loss_fn(logits, yv).mean(1).numpy()
    best = fitted.history_["val_loss"][fitted.best_epoch_ - 1, np.arange(3)]
    np.testing.assert_allclose(loss, best, rtol=1e-5)
    assert (fitted.best_epoch_ >= 1).all() and (
        fitted.best_epoch_ <= len(fitted.history_["val_loss"])
    ).all()


def test_sklearn_contract(toy, fitted):
    frame, _, _, te = toy
    p = fitted.predict_proba(frame.iloc[te])
    assert p.shape == (len(te), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert fitted.predict_proba_members(frame.iloc[te]).shape == (3, len(te))
    # decision_function is the logit of the ensemble probability, so it ranks rows as predict_proba
    # does (the mean member logit did not: 250 of 600 rows ranked differently on a 5-member model)
    d = fitted.decision_function(frame.iloc[te])
    np.testing.assert_allclose(1 / (1 + np.exp(-d)), p[:, 1], rtol=1e-12)
    np.testing.assert_array_equal(np.argsort(d, kind="stable"), np.argsort(p[:, 1], kind="stable"))
    assert fitted.classes_.tolist() == [0, 1]
    # metadata columns (time, noaa_ar) are not features
    assert list(fitted.feature_names_in_) == ["USFLUX", "TOTPOT", "MEANSHR", "NOISE"]
    assert fitted.transformer_.log_mask_.tolist() == [True, True, False, False]
    fresh = clone(fitted)
    assert fresh.get_params() == fitted.get_params() and not hasattr(fresh, "net_")
    # predict follows threshold_, which can be reassigned
    fitted_copy = clone(fitted).set_params(threshold=0.5)
    assert fitted_copy.threshold == 0.5
    old = fitted.threshold_
    try:
        fitted.threshold_ = 0.0
        assert fitted.predict(frame.iloc[te]).all()
        fitted.threshold_ = 1.0
        assert not fitted.predict(frame.iloc[te]).any()
    finally:
        fitted.threshold_ = old


def test_seeded_cpu_fit_is_bit_for_bit_reproducible(toy):
    frame, y, tr, te = toy
    kw = {**FAST, "max_epochs": 6, "n_members": 2, "dropout": 0.3, "device": "cpu"}
    a = FlareClassifier(seed=7, **kw).fit(frame.iloc[tr], y[tr])
    b = FlareClassifier(seed=7, **kw).fit(frame.iloc[tr], y[tr])
    c = FlareClassifier(seed=8, **kw).fit(frame.iloc[tr], y[tr])
    pa, pb, pc = (m.predict_proba_members(frame.iloc[te]) for m in (a, b, c))
    assert np.array_equal(pa, pb)
    np.testing.assert_array_equal(a.history_["val_loss"], b.history_["val_loss"])
    assert not np.array_equal(pa, pc)


def test_ensemble_member_equals_a_separate_fit(toy):
    """Without dropout, member 0 of a K-member ensemble is the single fit with the same seed.

    With seed 5, member 1 stops first and is dropped from the network at epoch 16; member 0
    trains on (its best epoch comes after that), so this also checks that dropping members
    leaves the others untouched.
    """
    frame, y, tr, _ = toy
    # The stopping pattern described above was found with these settings (the defaults until the
    # network selections made ReLU, AUC stopping and the skip path the defaults); pinned so the case stays the same.
    kw = {
        **FAST,
        "dropout": 0.0,
        "device": "cpu",
        "seed": 5,
        "activation": "tanh",
        "early_stopping": "loss",
        "skip": "none",
    }
    X, yt = frame.iloc[tr], y[tr]
    ens = FlareClassifier(n_members=3, **kw).fit(X, yt)
    one = FlareClassifier(n_members=1, **kw).fit(X, yt)
    stopped = np.isnan(ens.history_["val_loss"])  # NaN once a member stopped
    last = [int(np.flatnonzero(~stopped[:, m])[-1]) + 1 for m in range(3)]
    assert last[1] < ens.best_epoch_[0] < last[0], (
        last,
        ens.best_epoch_,
    )  # the case described above
    assert ens.best_epoch_[0] == one.best_epoch_[0]
    np.testing.assert_allclose(
        ens.predict_proba_members(X)[0], one.predict_proba_members(X)[0], rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(
        ens.history_["val_loss"][: last[0], 0], one.history_["val_loss"][:, 0], rtol=1e-5
    )


@pytest.mark.parametrize("loss", ["ce", "weighted-ce"])
def test_other_losses_train(toy, loss):
    frame, y, tr, te = toy
    clf = FlareClassifier(loss=loss, threshold="tss", **FAST).fit(frame.iloc[tr], y[tr])
    p = clf.predict_proba(frame.iloc[te])[:, 1]
    assert roc_auc_score(y[te], p) > 0.75
    assert 0 < clf.threshold_ < 1
    if loss == "weighted-ce":  # balanced weighting pushes probabilities up, far above the base rate
        assert p.mean() > 2 * y[tr].mean()


def test_explicit_validation_and_callback(toy):
    frame, y, tr, te = toy
    seen = []
    clf = FlareClassifier(max_epochs=4, patience=10, hidden=(8,)).fit(
        frame.iloc[tr],
        y[tr],
        validation=(frame.iloc[te], y[te]),
        callback=lambda e, info: seen.append((e, info)),
    )
    assert [e for e, _ in seen] == [1, 2, 3, 4]
    assert set(seen[0][1]) == {"train_loss", "val_loss", "val_auc", "active"}
    assert clf.validation_["n"] == len(te)


def test_arrays_without_groups_warn_and_use_a_tail_block(toy):
    frame, y, _, _ = toy
    X = frame[["USFLUX", "TOTPOT", "MEANSHR", "NOISE"]].to_numpy()
    with pytest.warns(DataWarning, match="last 20% of the rows as validation"):
        clf = FlareClassifier(max_epochs=2, hidden=(4,)).fit(X, y)
    assert clf.validation_["n"] == len(y) - round(0.8 * len(y))
    assert list(clf.feature_names_in_) == ["x0", "x1", "x2", "x3"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FlareClassifier(max_epochs=2, hidden=(4,)).fit(X, y, groups=frame["noaa_ar"].to_numpy())


def test_sequence_model_trains(toy):
    frame, y, tr, te = toy
    clf = FlareClassifier(
        model="sequence", hidden=(16,), window=3, max_epochs=15, patience=4, n_members=2
    )
    clf.fit(frame.iloc[tr], y[tr])
    p = clf.predict_proba(frame.iloc[te])[:, 1]
    assert p.shape == (len(te),)
    assert roc_auc_score(y[te], p) > 0.7
    with pytest.raises(SchemaError, match="needs a DataFrame with 'time' and 'noaa_ar' columns"):
        clf.predict_proba(frame.iloc[te].drop(columns="time"))


def test_demo_data_learns():
    from flarecast.data.synthetic import demo_dataset
    from flarecast.targets import make_targets

    targets = make_targets(demo_dataset(seed=0), negatives=("C",))
    X, y, g = targets.frame, targets.y, targets.groups
    from flarecast.splits import region_kfold

    tr, te = region_kfold(y, g, n_splits=4, seed=0)[0]
    clf = FlareClassifier(n_members=2, max_epochs=20, seed=0).fit(X.iloc[tr], y[tr], groups=g[tr])
    assert (np.nanmin(clf.history_["val_loss"], axis=0) < clf.history_["val_loss"][0]).all()
    assert roc_auc_score(y[te], clf.predict_proba(X.iloc[te])[:, 1]) > 0.65


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"loss": "hinge"},
            r"The 'loss' parameter of FlareClassifier must be one of \['focal', 'ce', 'weighted-ce'\]",
        ),
        ({"model": "lstm"}, r"'model' parameter .* one of \['mlp', 'sequence'\]. Got 'lstm'"),
        ({"alpha": 2.0}, r"'alpha' parameter of FlareClassifier must be a float in \[0, 1\]"),
        (
            {"batch_size": 0, "patience": -1},
            r"'batch_size' .* an int >= 1. Got 0 .* 'patience' .* Got -1",
        ),
        (
            {"threshold": "f1"},
            r"'threshold' parameter of FlareClassifier must be a float in \[0, 1\] or 'tss'",
        ),
        ({"device": "tpu"}, r"Unknown device 'tpu'"),
        ({"activation": "sigmoid"}, r"'activation' parameter .* one of \['tanh', 'relu', 'silu'\]"),
        (
            {"cpu_threads": 0},
            r"'cpu_threads' parameter of FlareClassifier must be an int in \[1, 1024\] or None",
        ),
        (
            {"cpu_threads": 1025},
            r"'cpu_threads' parameter of FlareClassifier must be an int in \[1, 1024\] or None",
        ),
    ],
)
def test_bad_parameters(toy, params, match):
    frame, y, _, _ = toy
    with pytest.raises(ConfigError, match=match):
        FlareClassifier(**params).fit(frame, y)


def test_bad_data(toy):
    frame, y, tr, _ = toy
    clf = FlareClassifier(max_epochs=1)
    with pytest.raises(DataError, match=r"y must hold 0/1 labels \(1 = flare\)"):
        clf.fit(frame, np.where(y == 1, 2, 0))
    with pytest.raises(DataError, match="training rows hold only one class"):
        clf.fit(frame, np.zeros(len(y)), validation=(frame, y))
    with pytest.raises(DataError, match="X has 1200 rows but y has 3"):
        clf.fit(frame, y[:3])
    bad = frame.copy()
    bad.loc[5, "MEANSHR"] = np.nan
    with pytest.raises(DataError, match=r"non-finite feature values at row 5: 'MEANSHR'"):
        clf.fit(bad, y)
    with pytest.raises(SchemaError, match=r"lacks feature column\(s\) \['GHOST'\]"):
        FlareClassifier(features=["USFLUX", "GHOST"]).fit(frame, y)
    fitted = FlareClassifier(max_epochs=1, hidden=(4,)).fit(frame.iloc[tr], y[tr])
    with pytest.raises(SchemaError, match=r"lacks feature column\(s\) \['NOISE'\]"):
        fitted.predict(frame.drop(columns="NOISE"))
    with pytest.raises(
        SchemaError, match="X has 3 features, but FlareClassifier is expecting 4 features as input"
    ):
        fitted.predict(np.ones((2, 3)))
    assert fitted.predict(
        pd.DataFrame(frame[list(fitted.feature_names_in_)]).to_numpy()[:3]
    ).shape == (3,)


def test_gpu_check_script_cpu_path(capsys):
    """scripts/gpu_check.py --quick: on a machine without CUDA it runs the CPU half and passes."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    status = module.main(["--quick"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "== mlp:" in out and "== sequence:" in out and "member-samples/s" in out
    assert "SYNTHETIC demo set" in out
    if torch.cuda.is_available():
        assert "RESULT: PASS\n" in out and "same weights, cuda vs cpu" in out
    else:
        assert "CUDA is not available" in out and "RESULT: PASS (CPU only)" in out
        assert module.main(["--quick", "--require-cuda"]) == 1
    # The same-weights comparison is reached only with CUDA; run its code on the CPU (it once called a
    # method the house redesign had renamed, found on a lent H100).
    X, y, groups, tr, te = module._data(True, 0)
    clf, _ = module._fit(
        {"model": "sequence", "n_members": 2, "max_epochs": 2, "window": 4},
        "cpu",
        X.iloc[tr],
        y[tr],
        groups[tr],
    )
    p = clf.predict_proba(X.iloc[te])[:, 1]
    p_moved, p_fp32 = module.moved_predictions(clf, X.iloc[te], "cpu")
    assert p_moved.shape == p_fp32.shape == p.shape
    assert np.abs(p_moved - p).max() == 0 and np.abs(p_fp32 - p).max() < 1e-6
