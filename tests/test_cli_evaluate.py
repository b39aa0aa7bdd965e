"""``flarecast evaluate``: a saved model scored on another table, with nothing re-chosen."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.data.synthetic import demo_dataset
from flarecast.evaluation.score import definition_targets
from flarecast.targets import make_targets


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from flarecast.training.artifacts import save_model
    from flarecast.training.estimator import FlareClassifier

    train = demo_dataset(seed=3, n_regions=120, days=120)
    targets = make_targets(train, ("B", "C"))
    clf = FlareClassifier(
        loss="focal",
        n_members=2,
        hidden=(8,),
        max_epochs=6,
        patience=2,
        seed=0,
        threshold="tss",
        device="cpu",
    )
    clf.fit(targets.frame[list(train.features)], targets.y, groups=targets.groups)
    folder = tmp_path_factory.mktemp("model") / "m"
    save_model(clf, folder, dataset=train, targets_definition=targets.definition)
    return folder


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("positive: >= M1.0; negative: C", (("C",), "M1.0")),
        ("positive: >= M5.0; negative: B, C, M < M5.0", (("B", "C", "M"), "M5.0")),
        ("something else", None),
        ("", None),
    ],
)
def test_definition_targets(text, expected):
    assert definition_targets(text) == expected


def test_evaluate_scores_with_the_models_threshold_and_target(model_dir, tmp_path):
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--model",
            str(model_dir),
            "--dataset",
            "demo",
            "--n-boot",
            "200",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    sidecar = json.loads((model_dir / "model.json").read_text())
    pred = pd.read_parquet(out / "predictions.parquet")
    assert (
        pred["threshold"] == sidecar["threshold"]
    ).all()  # the training-time threshold, not re-chosen
    assert sorted(pred["seed"].unique()) == [-1, 0, 1]
    table = pd.read_csv(out / "table.csv")
    target = make_targets(
        demo_dataset(), ("B", "C")
    )  # the model's class definition, not the CLI default
    assert table["n_test"].item() == len(target.y) and table["n_pos"].item() == target.y.sum()
    assert table["synthetic"].item() and "SYNTHETIC" in (out / "table.md").read_text()
    assert not (out / "comparison.csv").exists()
    meta = json.loads((out / "run.json").read_text())
    assert meta["model"]["in_sample"] is False and meta["model"]["trained_on"] == "demo"
    assert "saved model" in result.output and "IN-SAMPLE" not in result.output
    clim = pred["climatology"].unique()
    assert clim == pytest.approx([sidecar["base_rate"]])  # BSS against the training climatology
    assert np.isfinite(table["auc"].item())


def test_threshold_option_overrides_the_models(model_dir, tmp_path):
    path = tmp_path / "other.parquet"
    demo_dataset(seed=5, n_regions=80, days=100).frame.to_parquet(path)
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--model",
            str(model_dir),
            "--dataset",
            str(path),
            "--n-boot",
            "50",
            "--no-figures",
            "--threshold",
            "0.3",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    pred = pd.read_parquet(tmp_path / "o" / "predictions.parquet")
    assert (pred["threshold"] == 0.3).all()
    assert (pred["pred"] == (pred["p"] >= 0.3)).all()


def test_scoring_the_training_data_is_flagged_in_sample(model_dir, tmp_path):
    from flarecast.training.artifacts import load_model, save_model

    # The same network, recorded as trained on the registered demo table (same checksum as --dataset demo).
    folder = tmp_path / "m2"
    save_model(
        load_model(model_dir),
        folder,
        dataset=demo_dataset(),
        targets_definition="positive: >= M1.0; negative: B, C",
    )
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--model",
            str(folder),
            "--dataset",
            "demo",
            "--n-boot",
            "50",
            "--no-figures",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "in-sample" in result.output and "IN-SAMPLE" in (tmp_path / "o" / "table.md").read_text()
    assert json.loads((tmp_path / "o" / "run.json").read_text())["model"]["in_sample"] is True


def test_missing_feature_is_a_clean_error(model_dir, tmp_path):
    frame = demo_dataset(seed=1, n_regions=60, days=90).frame.drop(columns=["R_VALUE"])
    path = tmp_path / "lacking.parquet"
    frame.to_parquet(path)
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--model",
            str(model_dir),
            "--dataset",
            str(path),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 1
    assert (
        "Error:" in result.output
        and "R_VALUE" in result.output
        and "Traceback" not in result.output
    )


def test_a_saved_sequence_model_is_scored_with_its_record_windows(tmp_path):
    """The GRU builds windows from each record's time and region, which evaluate passes along with the features."""
    from flarecast.training.artifacts import load_model, save_model
    from flarecast.training.estimator import FlareClassifier

    train = demo_dataset(seed=3, n_regions=60, days=60)
    targets = make_targets(train, ("B", "C"))
    X = targets.frame[["time", "noaa_ar", *train.features]]
    clf = FlareClassifier(
        loss="ce", model="sequence", hidden=(8,), window=3, max_epochs=3, seed=0, device="cpu"
    )
    clf.fit(X, targets.y, groups=targets.groups)
    folder = tmp_path / "gru"
    save_model(clf, folder, dataset=train, targets_definition=targets.definition)
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--model",
            str(folder),
            "--dataset",
            "demo",
            "--n-boot",
            "50",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    pred = pd.read_parquet(out / "predictions.parquet").sort_values("row")
    scored = make_targets(demo_dataset(), ("B", "C"))
    expected = load_model(folder).predict_proba(scored.frame[["time", "noaa_ar", *train.features]])[
        :, 1
    ]
    np.testing.assert_allclose(pred.loc[pred["seed"] == -1, "p"].to_numpy(), expected, rtol=1e-6)


def _tiny_model_on(dataset, folder):
    """A small network fitted on ``dataset`` and saved as trained on it (its regions recorded)."""
    from flarecast.training.artifacts import save_model
    from flarecast.training.estimator import FlareClassifier

    targets = make_targets(dataset)
    clf = FlareClassifier(loss="ce", hidden=(8,), max_epochs=3, patience=2, seed=0, device="cpu")
    clf.fit(targets.frame[list(dataset.features)], targets.y, groups=targets.groups)
    save_model(clf, folder, dataset=dataset, targets_definition=targets.definition)
    return folder


def test_near_overlap_with_the_training_table_is_reported(data_dir, tmp_path):
    """umich-12h holds the same flares as umich-24h at another lead time: no shared row, no shared
    checksum, but nearly every region and flare. Scoring a umich-24h model on it said nothing."""
    import warnings

    from flarecast.data.tables.read import load_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train = load_dataset("umich-24h", data_dir=data_dir)
    folder = _tiny_model_on(train, tmp_path / "m24")
    recorded = json.loads((folder / "model.json").read_text())["data"]
    assert len(recorded["regions"]) == 799 and len(recorded["flares"]) == 7249
    out = tmp_path / "o"
    args = ["evaluate", "--model", str(folder), "--n-boot", "50", "--no-figures"]
    result = CliRunner().invoke(
        main, [*args, "--dataset", "umich-12h", "--data-dir", str(data_dir), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (
        "799 of 822 test regions (97%) and 7081 of 7518 flares (same region and GOES class) "
        "were in the model's training table (umich-24h)" in result.output
    )
    assert "OVERLAP: 799 of 822 test regions" in (out / "table.md").read_text()
    overlap = json.loads((out / "run.json").read_text())["model"]["overlap"]
    assert overlap == {
        "recorded": True,
        "regions": 799,
        "of_regions": 822,
        "flares": 7081,
        "of_flares": 7518,
    }


def test_disjoint_regions_give_no_overlap_warning_and_old_folders_fall_back(model_dir, tmp_path):
    from flarecast.evaluation.score import training_overlap

    sidecar = json.loads((model_dir / "model.json").read_text())
    other = demo_dataset(seed=5, n_regions=80, days=100)
    other.frame["noaa_ar"] = other.frame["noaa_ar"] + 50_000  # regions the model never saw
    overlap = training_overlap(sidecar, other)
    assert overlap.known and not overlap.any and overlap.n_regions == 80
    # A folder written before regions were recorded: only the checksum can tell.
    old = {
        **sidecar,
        "data": {k: v for k, v in sidecar["data"].items() if k not in ("regions", "flares")},
    }
    assert not training_overlap(old, demo_dataset()).known
    assert not training_overlap(old, demo_dataset()).any
    same = training_overlap(old, demo_dataset(seed=3, n_regions=120, days=120))
    assert same.same_checksum and same.regions == same.n_regions
    assert "same checksum" in same.describe("demo")


def test_evaluate_notes_say_one_test_set_and_list_the_data_caveats(model_dir, tmp_path):
    out = tmp_path / "o"
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--model",
            str(model_dir),
            "--n-boot",
            "50",
            "--no-figures",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = (out / "table.md").read_text()
    assert "out-of-fold" not in text and "per-fold" not in text
    assert "one test set (no folds)" in text
    assert "Data caveats:" in text and "SYNTHETIC demo data" in text
