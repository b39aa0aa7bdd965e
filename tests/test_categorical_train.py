"""Categorical features in ``flarecast train``/``predict``: one-hot from the fit rows, stored, unseen counted."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.errors import DataError, DataWarning, ModelFileError
from flarecast.features.categorical import OneHotEncoding, apply_saved_encoding


def test_one_hot_replaces_the_feature_in_place_and_unseen_is_an_all_zero_block():
    train = pd.DataFrame({"a": [1.0, 2.0, 3.0], "cls": pd.Categorical(["B", "A", "B"]), "z": 0.0})
    enc = OneHotEncoding().fit(train, ["cls"])
    test = pd.DataFrame({"a": [1.0, 2.0], "cls": pd.Categorical(["A", "C"]), "z": 0.0})
    out, names = enc.replace(test, ["a", "cls", "z"])
    assert names == ["a", "cls=A", "cls=B", "z"]
    np.testing.assert_array_equal(out[names].to_numpy(), [[1, 1, 0, 0], [2, 0, 0, 0]])
    assert enc.unseen_ == {"cls": 1}
    meta = {"extra": {"categorical": enc.to_dict()}}
    with pytest.warns(DataWarning, match=r"t\.csv: rows with a category never seen.*'cls': 1"):
        apply_saved_encoding(meta, test, "t.csv")
    with pytest.raises(DataError, match=r"lacks the categorical feature column\(s\) \['cls'\]"):
        enc.encode(test.drop(columns="cls"))
    with pytest.raises(ModelFileError, match=r"extra\['categorical'\]\['categories'\]"):
        OneHotEncoding.from_dict({"categories": {"cls": []}})


@pytest.mark.slow
def test_train_on_hayes_slice_and_predict_a_table_with_an_unseen_mcintosh_class(data_dir, tmp_path):
    raw = pd.read_csv(data_dir / "hayes_flare_forecast" / "AR_flare_ml_23_24.csv", index_col=0)
    year = raw[raw["AR issue_date"].str.startswith("2000")]
    # Training never sees a Zurich class F region; the table to score has them.
    year[year["McIntosh"].str[0] != "F"].iloc[:2000].to_csv(tmp_path / "train.csv")
    score = year.iloc[:2000]
    score.to_csv(tmp_path / "score.csv")
    n_f = int((score["McIntosh"].str[0] == "F").sum())
    assert n_f > 0
    model = tmp_path / "model"
    args = ["train", "--dataset", str(tmp_path / "train.csv"), "--negatives", "A,B,C,N",
            "--epochs", "2", "--out", str(model)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (
        "one-hot: ['mcintosh_zurich', 'mcintosh_penumbra', 'mcintosh_compactness'" in result.output
    )
    meta = json.loads((model / "model.json").read_text())
    categories = meta["extra"]["categorical"]["categories"]
    assert "F" not in categories["mcintosh_zurich"] and "E" in categories["mcintosh_zurich"]
    assert "mcintosh_zurich=E" in meta["features"] and "mcintosh_zurich" not in meta["features"]
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(
        main,
        [
            "predict",
            "--model",
            str(model),
            "--dataset",
            str(tmp_path / "score.csv"),
            "--out",
            str(out),
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    assert "rows with a category never seen in training" in result.output
    assert f"'mcintosh_zurich': {n_f}" in result.output
    p = pd.read_csv(out)
    assert len(p) == len(score) and np.isfinite(p["p_flare"]).all()
    # evaluate encodes the table as the model was trained, too.
    args = ["evaluate", "--model", str(model), "--dataset", str(tmp_path / "score.csv"),
            "--n-boot", "10", "--no-figures", "--out", str(tmp_path / "eval")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    # Shown as one 'Warning: ...' line, as every command shows flarecast's warnings.
    assert "Warning: " in result.output and f"'mcintosh_zurich': {n_f}" in result.output
    assert "DataWarning" not in result.output
    assert len(pd.read_parquet(tmp_path / "eval" / "predictions.parquet")) == len(score)
