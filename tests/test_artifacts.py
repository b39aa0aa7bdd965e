"""Model folders: round trips, provenance, and every corruption case is a clear ModelFileError."""

import json
import pickle

import numpy as np
import pytest
import torch
from _training_data import region_split, toy_table

from flarecast import __version__
from flarecast.data.schema import Dataset
from flarecast.errors import ModelFileError
from flarecast.training.artifacts import SIDECAR, WEIGHTS, load_model, read_sidecar, save_model
from flarecast.training.estimator import FlareClassifier

FEATURES = ["USFLUX", "TOTPOT", "MEANSHR", "NOISE"]


@pytest.fixture(scope="module")
def data():
    frame, y = toy_table(n_regions=60)
    tr, te = region_split(frame)
    return frame, y, tr, te


@pytest.fixture(scope="module")
def fitted(data):
    frame, y, tr, _ = data
    return FlareClassifier(n_members=3, max_epochs=5, hidden=(8, 8), threshold="tss").fit(
        frame.iloc[tr], y[tr]
    )


@pytest.fixture
def folder(tmp_path, fitted, data):
    ds = Dataset(
        frame=data[0], name="toy", features=tuple(FEATURES), synthetic=True, sha256="ab" * 32
    )
    return save_model(
        fitted,
        tmp_path / "m",
        dataset=ds,
        targets_definition="positive: >= M1.0; negative: C",
        extra={"command": "test"},
    )


def test_round_trip_predicts_identically(folder, fitted, data):
    frame, _, _, te = data
    loaded = load_model(folder, expected_features=FEATURES)
    assert np.array_equal(
        loaded.predict_proba_members(frame.iloc[te]), fitted.predict_proba_members(frame.iloc[te])
    )
    assert loaded.threshold_ == fitted.threshold_
    assert np.array_equal(loaded.predict(frame.iloc[te]), fitted.predict(frame.iloc[te]))
    assert loaded.get_params() == {**fitted.get_params(), "device": "cpu"}
    np.testing.assert_array_equal(loaded.best_epoch_, fitted.best_epoch_)
    np.testing.assert_allclose(loaded.history_["val_loss"], fitted.history_["val_loss"])


def test_folder_holds_no_pickle_and_full_provenance(folder, fitted):
    assert sorted(p.name for p in folder.iterdir()) == [SIDECAR, WEIGHTS]
    for path in folder.iterdir():
        head = path.read_bytes()[:4]
        assert head[:1] != b"\x80" and head != b"PK\x03\x04"
    meta = json.loads((folder / SIDECAR).read_text())
    assert meta["features"] == FEATURES
    assert meta["flarecast_version"] == __version__
    assert meta["class_definition"] == "positive: >= M1.0; negative: C"
    assert meta["data"]["sha256"] == "ab" * 32 and meta["synthetic"] is True
    assert meta["architecture"] == {
        "kind": "mlp",
        "n_features": 4,
        "hidden": [8, 8],
        "n_members": 3,
        "activation": "relu",
        "skip": True,
    }
    assert meta["transform"]["log_mask"] == [True, True, False, False]
    assert meta["threshold"] == pytest.approx(fitted.threshold_)
    assert meta["created"].endswith("+00:00")
    assert meta["extra"] == {"command": "test"}
    assert len(meta["weights"]["sha256"]) == 64


def test_sequence_model_round_trip(tmp_path, data):
    frame, y, tr, te = data
    clf = FlareClassifier(model="sequence", hidden=(8,), window=3, max_epochs=3, n_members=2).fit(
        frame.iloc[tr], y[tr]
    )
    loaded = load_model(save_model(clf, tmp_path / "seq"))
    assert np.array_equal(loaded.predict_proba(frame.iloc[te]), clf.predict_proba(frame.iloc[te]))
    assert loaded.window == 3 and loaded.model == "sequence"


def test_saving_again_replaces_atomically(folder, fitted):
    first = (folder / WEIGHTS).read_bytes()
    save_model(fitted, folder)
    assert (folder / WEIGHTS).read_bytes() == first
    assert sorted(p.name for p in folder.iterdir()) == [SIDECAR, WEIGHTS]  # no temp files left


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(ModelFileError, match="needs a fitted FlareClassifier"):
        save_model(FlareClassifier(), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_truncated_weights(folder):
    blob = (folder / WEIGHTS).read_bytes()
    (folder / WEIGHTS).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(
        ModelFileError,
        match=rf"weights.safetensors is truncated: {len(blob) // 2} bytes on disk, "
        rf"{len(blob)} recorded",
    ):
        load_model(folder)


def test_tampered_weights(folder):
    blob = bytearray((folder / WEIGHTS).read_bytes())
    blob[-5] ^= 0x01  # one bit in the last tensor's data, same size
    (folder / WEIGHTS).write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="has been modified since it was saved: sha256"):
        load_model(folder)


def test_pickle_renamed_as_weights(folder):
    with open(folder / WEIGHTS, "wb") as fh:
        pickle.dump({"weight": np.ones(3)}, fh)
    with pytest.raises(
        ModelFileError, match="is a Python pickle, not safetensors. flarecast never loads pickles"
    ):
        load_model(folder)
    torch.save({"w": torch.ones(2)}, folder / WEIGHTS)
    with pytest.raises(ModelFileError, match=r"is a zip archive \(torch.save format"):
        load_model(folder)


def test_wrong_format_version(folder):
    meta = json.loads((folder / SIDECAR).read_text())
    meta["format_version"] = 99
    (folder / SIDECAR).write_text(json.dumps(meta))
    with pytest.raises(
        ModelFileError, match=rf"format version 99 .*; this flarecast {__version__} reads version 1"
    ):
        load_model(folder)


def test_wrong_features(folder):
    with pytest.raises(
        ModelFileError,
        match=r"the model needs \['NOISE'\], which the input lacks; the input has "
        r"\['R_VALUE'\]",
    ):
        load_model(folder, expected_features=["USFLUX", "TOTPOT", "MEANSHR", "R_VALUE"])
    with pytest.raises(ModelFileError, match="same names in a different order"):
        load_model(folder, expected_features=FEATURES[::-1])


def test_corrupt_or_missing_sidecar(folder, tmp_path):
    text = (folder / SIDECAR).read_text()
    (folder / SIDECAR).write_text(text[: len(text) // 2])
    with pytest.raises(
        ModelFileError, match=r"model.json is not valid JSON \(truncated or edited\?\)"
    ):
        load_model(folder)
    (folder / SIDECAR).unlink()
    with pytest.raises(
        ModelFileError, match="is not a flarecast model folder: model.json is missing"
    ):
        load_model(folder)
    with pytest.raises(ModelFileError, match="No model folder at"):
        load_model(tmp_path / "nowhere")


def test_sidecar_not_describing_the_weights(folder):
    meta = json.loads((folder / SIDECAR).read_text())
    meta["architecture"]["hidden"] = [8, 9]
    (folder / SIDECAR).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="tensors do not fit the recorded architecture"):
        load_model(folder)
    del meta["transform"]
    (folder / SIDECAR).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=r"lacks the required key\(s\) \['transform'\]"):
        read_sidecar(folder)


def test_missing_weights_file(folder):
    (folder / WEIGHTS).unlink()
    with pytest.raises(ModelFileError, match="the weights file weights.safetensors is missing"):
        load_model(folder)


# -- folders written before NetworkConfig / LossConfig keep loading as they did -------------------


def test_old_folder_without_an_activation_key_is_read_as_tanh(tmp_path, data):
    """Such folders were written when tanh was the only activation; both engines must keep using it
    (new networks default to NetworkConfig's relu)."""
    from flarecast.forecast.engine import NumpyMLP

    frame, y, tr, te = data
    clf = FlareClassifier(max_epochs=2, hidden=(6,), activation="tanh", device="cpu")
    folder = save_model(clf.fit(frame.iloc[tr], y[tr]), tmp_path / "m")
    expected = clf.predict_proba(frame.iloc[te])
    meta = json.loads((folder / SIDECAR).read_text())
    del meta["architecture"]["activation"]
    (folder / SIDECAR).write_text(json.dumps(meta))
    np.testing.assert_array_equal(load_model(folder).predict_proba(frame.iloc[te]), expected)
    np.testing.assert_allclose(
        NumpyMLP.from_folder(folder).predict_proba(frame.iloc[te]), expected, rtol=1e-5, atol=1e-7
    )


def test_old_spellings_of_no_class_weighting_still_load(folder, tmp_path):
    """alpha = -1 (train.toml, hand-set model.json) meant "no class weighting"; it still does, and
    only there: FlareClassifier(alpha=-1) is refused."""
    from click.testing import CliRunner

    from flarecast.cli import main
    from flarecast.training.config import load_train_config

    meta = json.loads((folder / SIDECAR).read_text())
    meta["config"]["alpha"] = -1
    (folder / SIDECAR).write_text(json.dumps(meta))
    assert load_model(folder).alpha is None
    with pytest.raises(ValueError, match="'alpha' parameter of FlareClassifier"):
        FlareClassifier(alpha=-1).train_config()
    for spelling in ("-1", '"none"', '"off"'):
        toml = tmp_path / f"old{len(spelling)}.toml"
        toml.write_text(f'[train]\nloss = "focal"\nalpha = {spelling}\nhidden = [4]\n')
        assert load_train_config(toml).alpha is None
        res = CliRunner().invoke(
            main,
            ["train", "--dataset", "demo", "--config", str(toml), "--epochs", "1", "--quiet",
             "--out", str(tmp_path / f"m{len(spelling)}")],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        assert 'alpha = "none"' in (tmp_path / f"m{len(spelling)}" / "train.toml").read_text()
    res = CliRunner().invoke(main, ["train", "--dataset", "demo", "--alpha", "off", "--out", "x"])
    assert res.exit_code == 1 and "--alpha must be a number in [0, 1] or 'none'" in res.output
