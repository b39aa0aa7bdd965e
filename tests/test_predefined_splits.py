"""Published splits: fold numbers or roles from a column, tables per role, scoring per region."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.data.schema import Dataset
from flarecast.data.synthetic import demo_dataset
from flarecast.errors import ConfigError, DataError, DataWarning
from flarecast.evaluation.published import region_predictions
from flarecast.published_splits import (
    ROLE_COLUMN,
    combine_role_tables,
    predefined_folds,
    read_split_column,
)


def test_fold_numbers_give_one_test_fold_each():
    values = [1, 1, 2, 2, 3, 3]
    groups = [10, 10, 20, 20, 30, 30]
    folds = predefined_folds(values, groups, "fold")
    assert [f.index for f in folds] == [0, 1, 2]
    np.testing.assert_array_equal(folds[1].test, [2, 3])
    np.testing.assert_array_equal(folds[1].train, [0, 1, 4, 5])
    assert all(f.val is None for f in folds)
    assert read_split_column(pd.Series(["0", "1", "1"]), "fold")[0] == "folds"


def test_roles_give_one_test_set_and_the_named_validation_rows():
    values = ["train", "TRAIN ", "val", "test", "train", "test"]
    (fold,) = predefined_folds(values, [1, 1, 2, 3, 4, 3], "role")
    np.testing.assert_array_equal(fold.test, [3, 5])
    np.testing.assert_array_equal(fold.train, [0, 1, 2, 4])
    np.testing.assert_array_equal(fold.val, [2])
    (no_val,) = predefined_folds(["train", "test"], [1, 2], "role")
    assert no_val.val is None


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (
            ["train", "tset", "test"],
            r"unknown role\(s\) \['tset'\] at row 1: 'tset'.*train, val, test",
        ),
        ([1, 2, None], r"'fold' is empty at row 2"),
        ([0, 0, 2, 2], r"fold\(s\) \[1\] have no rows"),
        ([3, 3, 3], r"names one fold"),
        ([1, 1.5, 2], r"non-integer fold numbers at row 1: 1.5"),
        (["train", "val", "val"], r"has no 'test' rows"),
    ],
)
def test_bad_split_columns_name_the_column_rows_and_legal_values(values, match):
    column = "fold" if any(isinstance(v, int | float) or v is None for v in values) else "role"
    with pytest.raises(DataError, match=match):
        predefined_folds(values, list(range(len(values))), column)


def test_a_region_in_two_roles_is_warned_about_with_the_count():
    with pytest.warns(DataWarning, match=r"2 of 3 regions have rows in more than one role"):
        predefined_folds(["train", "test", "train", "test", "train"], [1, 1, 2, 2, 3], "role")
    with pytest.warns(DataWarning, match=r"1 of 2 regions have rows in more than one fold"):
        predefined_folds([0, 1, 1], [5, 5, 6], "fold")


def _table(name: str, regions: range, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    n = 4 * len(regions)
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2012-01-01", periods=n, freq="6h", tz="UTC"),
            "noaa_ar": np.repeat(list(regions), 4),
            "peak_flux": rng.choice([1e-6, 2e-5], n),
            "USFLUX": rng.normal(size=n),
        }
    )
    return Dataset(frame=frame, name=name, features=("USFLUX",), sha256=name)


def test_tables_per_role_are_combined_with_their_role():
    train, test = _table("a.csv", range(1, 4), 0), _table("b.csv", range(4, 6), 1)
    data = combine_role_tables({"train": train, "test": test})
    assert data.frame[ROLE_COLUMN].tolist() == ["train"] * 12 + ["test"] * 8
    assert data.name == "train=a.csv + test=b.csv"
    with pytest.raises(ConfigError, match="needs a test table"):
        combine_role_tables({"train": train})
    lacking = Dataset(frame=test.frame.drop(columns="USFLUX"), name="c.csv", features=())
    with pytest.raises(DataError, match=r"test table c.csv lacks feature column\(s\) \['USFLUX'\]"):
        combine_role_tables({"train": train, "test": lacking})


def test_region_scoring_averages_a_regions_records():
    predictions = pd.DataFrame(
        {
            "method": ["m"] * 4,
            "fold": [0] * 4,
            "seed": [-1] * 4,
            "row": [0, 1, 2, 3],
            "time": pd.date_range("2012-01-01", periods=4, tz="UTC"),
            "region": [7, 7, 8, 8],
            "letter": ["C", "M", "C", "C"],
            "y": [0, 1, 0, 0],
            "p": [0.2, 0.6, 0.1, 0.3],
            "threshold": [0.35] * 4,
            "pred": [0, 1, 0, 0],
            "climatology": [0.1] * 4,
            "p_calibrated": [np.nan] * 4,
        }
    )
    out = region_predictions(predictions)
    assert out["region"].tolist() == [7, 8]
    assert out["p"].tolist() == pytest.approx([0.4, 0.2])
    assert out["y"].tolist() == [1, 0]
    assert out["letter"].tolist() == ["M", "C"]
    assert out["pred"].tolist() == [1, 0]
    assert list(out.columns) == list(predictions.columns)


@pytest.fixture(scope="module")
def fold_file(tmp_path_factory):
    frame = demo_dataset(seed=3, n_regions=90, days=90).frame
    rank = frame["noaa_ar"].rank(method="dense").astype(int)
    path = tmp_path_factory.mktemp("split") / "folds.parquet"
    frame.assign(fold=rank % 3 + 1).to_parquet(path)
    roles = tmp_path_factory.mktemp("split") / "roles.parquet"
    role = (rank % 5).map({0: "train", 1: "train", 2: "train", 3: "val", 4: "test"})
    frame.assign(role=role).to_parquet(roles)
    return path, roles, frame, rank


def _reproduce(args, out):
    base = ["reproduce", "--methods", "climatology,logistic", "--n-boot", "50", "--no-figures"]
    return CliRunner().invoke(main, [*base, *args, "--quiet", "--out", str(out)])


def test_reproduce_uses_the_published_folds(fold_file, tmp_path):
    path, _, frame, rank = fold_file
    result = _reproduce(["--dataset", str(path), "--split-column", "fold"], tmp_path / "o")
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["split"] == {"column": "fold", "folds": 3}
    assert "fold" not in run["features"]
    predictions = pd.read_parquet(tmp_path / "o" / "predictions.parquet")
    # Each test fold holds exactly the regions the column put there.
    by_fold = predictions.groupby("fold")["region"].agg(set)
    region_fold = dict(zip(frame["noaa_ar"], rank % 3, strict=True))
    for k, regions in by_fold.items():
        assert {region_fold[r] for r in regions} == {k}


def test_reproduce_roles_and_region_scoring(fold_file, tmp_path):
    _, roles, frame, rank = fold_file
    args = ["--dataset", str(roles), "--split-column", "role", "--score-by", "region"]
    result = _reproduce(args, tmp_path / "o")
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["score_by"] == "region" and run["split"]["folds"] == 1
    table = (tmp_path / "o" / "table.md").read_text()
    assert "published split ('role': 1 test fold(s))" in table
    assert "one test set (no folds)" in table and "scored once" in table
    predictions = pd.read_parquet(tmp_path / "o" / "predictions.parquet")
    forecasts = predictions[predictions["seed"] == -1]
    assert not forecasts.duplicated(["method", "region"]).any()  # one row per region
    test_regions = set(frame.loc[(rank % 5 == 4).to_numpy(), "noaa_ar"])
    assert set(forecasts["region"]) <= test_regions
    # --repeats with a published split is refused, naming the options.
    refused = _reproduce([*args, "--repeats", "3"], tmp_path / "r")
    assert refused.exit_code != 0 and "one partition" in refused.output


def test_reproduce_refuses_a_bad_split_column(fold_file, tmp_path):
    path, _, _, _ = fold_file
    result = _reproduce(["--dataset", str(path), "--split-column", "fould"], tmp_path / "o")
    assert result.exit_code != 0
    assert "'fould' is not a column" in result.output and "fold" in result.output


def test_train_fits_on_train_rows_and_evaluate_scores_the_test_rows(fold_file, tmp_path):
    _, roles, frame, rank = fold_file
    model = tmp_path / "model"
    args = ["train", "--dataset", str(roles), "--split-column", "role", "--epochs", "2"]
    result = CliRunner().invoke(main, [*args, "--seeds", "1", "--quiet", "--out", str(model)])
    assert result.exit_code == 0, result.output
    assert "test rows left out" in result.output
    sidecar = json.loads((model / "model.json").read_text())
    assert "role" not in sidecar["features"]
    kept = frame.assign(role=(rank % 5).to_numpy())
    # Fit rows are the kept 'train' rows and validation rows the 'val' rows (C and above).
    kept_rows = kept[kept["peak_flux"] >= 1e-6]
    split = sidecar["extra"]["split"]
    assert split["method"].startswith("published split role")
    assert split["fit_rows"] == int(kept_rows["role"].isin([0, 1, 2]).sum())
    assert split["validation_rows"] == int((kept_rows["role"] == 3).sum())
    out = tmp_path / "eval"
    args = ["evaluate", "--model", str(model), "--dataset", str(roles), "--split-column", "role"]
    args += ["--score-by", "region", "--n-boot", "50", "--no-figures", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    predictions = pd.read_parquet(out / "predictions.parquet")
    test_regions = set(kept.loc[kept["role"] == 4, "noaa_ar"])
    assert set(predictions["region"]) <= test_regions
    assert not predictions.duplicated(["method", "seed", "region"]).any()
    # Fold numbers do not say which rows to train a model on.
    folds = fold_file[0]
    args = [
        "train",
        "--dataset",
        str(folds),
        "--split-column",
        "fold",
        "--out",
        str(tmp_path / "m"),
    ]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code != 0 and "must name roles" in refused.output
