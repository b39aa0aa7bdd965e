"""Per-fold and per-repeat scores of a repeated run's predictions, and their paired intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flarecast.errors import DataError
from flarecast.evaluation import metrics
from flarecast.evaluation.paired import paired_intervals, scores_by
from flarecast.evaluation.repeated import corrected_ttest, corrected_ttest_pooled


def _predictions(rng: np.random.Generator, repeats: int = 3, k: int = 4, n: int = 200):
    """A repeated run's predictions: 'good' sees the label, 'noise' does not, both on the same rows."""
    y = (rng.random(n) < 0.3).astype(int)
    letter = np.where(y == 1, np.where(rng.random(n) < 0.2, "X", "M"), "C")
    parts, folds = [], []
    for r in range(repeats):
        fold_of = rng.permutation(np.arange(n) % k)
        for f in range(k):
            rows = np.flatnonzero(fold_of == f)
            folds.append({"repeat": r, "fold": f, "n_train": n - len(rows)})
            for method, signal in (("good", 1.0), ("noise", 0.0)):
                p = np.clip(
                    0.3 + signal * 0.4 * (y[rows] - 0.3) + rng.normal(0, 0.15, len(rows)), 0, 1
                )
                for seed in (-1, 0):
                    parts.append(
                        pd.DataFrame(
                            {
                                "repeat": r,
                                "method": method,
                                "fold": f,
                                "seed": seed,
                                "row": rows,
                                "y": y[rows],
                                "p": p if seed == -1 else 1 - p,  # members must not be scored
                                "pred": (p >= 0.4).astype(np.int8),
                                "letter": letter[rows],
                                "climatology": 0.3,
                            }
                        )
                    )
    return pd.concat(parts, ignore_index=True), pd.DataFrame(folds)


def test_fold_scores_are_the_metrics_of_each_cell(rng: np.random.Generator) -> None:
    pred, _ = _predictions(rng)
    table = scores_by(pred, "fold")
    assert len(table) == 2 * 3 * 4
    cell = pred[(pred.method == "good") & (pred.repeat == 1) & (pred.fold == 2) & (pred.seed == -1)]
    row = table[(table.method == "good") & (table.repeat == 1) & (table.fold == 2)].iloc[0]
    assert row["n"] == len(cell)
    assert row["auc"] == metrics.roc_auc(cell.y, cell.p)
    assert row["hss"] == metrics.hss(cell.y, cell.pred)
    assert row["bss"] == pytest.approx(metrics.bss(cell.y, cell.p, 0.3))
    pooled = scores_by(pred, "repeat")
    assert len(pooled) == 2 * 3
    whole = pred[(pred.method == "noise") & (pred.repeat == 0) & (pred.seed == -1)]
    row = pooled[(pooled.method == "noise") & (pooled.repeat == 0)].iloc[0]
    assert row["n"] == 200 and row["auc"] == metrics.roc_auc(whole.y, whole.p)


def test_paired_intervals_per_fold_and_pooled(rng: np.random.Generator) -> None:
    pred, folds = _predictions(rng)
    res = paired_intervals(
        pred, [("good", "noise"), ("good", "absent")], folds, scores=["auc", "tss"]
    )
    assert list(res.score) == ["auc", "tss"] and set(res.baseline) == {"noise"}
    table = scores_by(pred, "fold")
    good = table[table.method == "good"].sort_values(["repeat", "fold"])
    noise = table[table.method == "noise"].sort_values(["repeat", "fold"])
    d = (good.auc.to_numpy() - noise.auc.to_numpy()).reshape(3, 4)
    expected = corrected_ttest(d, 150, 50)
    auc = res[res.score == "auc"].iloc[0]
    assert (auc["mean"], auc["low"], auc["high"]) == pytest.approx(
        (expected.mean, expected.low, expected.high)
    )
    assert auc["low"] > 0 and auc["n"] == 12 and auc["repeats"] == 3

    pooled = paired_intervals(pred, [("good", "noise")], folds, aggregate="repeat", scores=["auc"])
    per_repeat = scores_by(pred, "repeat")
    d = (
        per_repeat[per_repeat.method == "good"].auc.to_numpy()
        - per_repeat[per_repeat.method == "noise"].auc.to_numpy()
    )
    expected = corrected_ttest_pooled(d, 150, 200)
    assert pooled.iloc[0]["mean"] == pytest.approx(expected.mean)
    assert pooled.iloc[0]["high"] == pytest.approx(expected.high)
    assert pooled.iloc[0]["ratio"] == pytest.approx(200 / 150)


def test_undefined_fold_scores_are_refused_per_fold_but_pooled_per_repeat(
    rng: np.random.Generator,
) -> None:
    pred, folds = _predictions(rng)
    pred.loc[(pred.repeat == 2) & (pred.fold == 1) & (pred.letter == "X"), "letter"] = "M"
    with pytest.raises(DataError, match="repeat 2 fold 1"):
        paired_intervals(pred, [("good", "noise")], folds, scores=["x_recall"])
    pooled = paired_intervals(
        pred, [("good", "noise")], folds, aggregate="repeat", scores=["x_recall"]
    )
    assert np.isfinite(pooled.iloc[0]["mean"])


def test_a_single_partition_run_is_repeat_zero(rng: np.random.Generator) -> None:
    pred, folds = _predictions(rng, repeats=1)
    res = paired_intervals(
        pred.drop(columns="repeat"),
        [("good", "noise")],
        folds.drop(columns="repeat"),
        scores=["auc"],
    )
    assert res.iloc[0]["repeats"] == 1 and res.iloc[0]["n"] == 4


def test_unpaired_cells_and_missing_sizes_are_refused(rng: np.random.Generator) -> None:
    pred, folds = _predictions(rng)
    with pytest.raises(DataError, match="same \\(repeat, fold\\) cells"):
        paired_intervals(
            pred[~((pred.method == "noise") & (pred.fold == 3))], [("good", "noise")], folds
        )
    with pytest.raises(DataError, match="no n_train"):
        paired_intervals(pred, [("good", "noise")], folds[folds.fold != 0])
