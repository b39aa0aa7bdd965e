"""The repeated table: means over repeats, per-seed figures, intervals of the means, the headline differences."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from flarecast.evaluation import metrics
from flarecast.evaluation.paired import scores_by
from flarecast.evaluation.repeated import corrected_ttest, corrected_ttest_pooled
from flarecast.evaluation.repeated_table import (
    configurations_scored,
    method_intervals,
    repeat_differences,
    repeat_scores,
    repeated_comparison_frame,
    repeated_table,
)


@dataclasses.dataclass
class _Result:
    """The two attributes of a RepeatedResult that the table reads."""

    predictions: pd.DataFrame
    folds: pd.DataFrame


def _result(repeats: int = 3, k: int = 4, n: int = 240, seed: int = 0) -> _Result:
    """'net' has two seed members and a forecast (their mean); 'base' has a forecast only."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    letter = np.where(y == 1, np.where(rng.random(n) < 0.25, "X", "M"), "C")
    parts, folds = [], []
    for r in range(repeats):
        fold_of = rng.permutation(np.arange(n) % k)
        for f in range(k):
            rows = np.flatnonzero(fold_of == f)
            folds.append({"repeat": r, "fold": f, "n_train": n - len(rows)})
            signal = 0.3 * (y[rows] - 0.3)
            members = [np.clip(0.3 + signal + rng.normal(0, 0.2, len(rows)), 0, 1) for _ in "ab"]
            forecasts = {
                ("net", -1): np.mean(members, axis=0),
                ("net", 0): members[0],
                ("net", 1): members[1],
                ("base", -1): np.clip(0.3 + signal + rng.normal(0, 0.2, len(rows)), 0, 1),
            }
            for (method, member), p in forecasts.items():
                parts.append(
                    pd.DataFrame(
                        {
                            "repeat": r,
                            "method": method,
                            "fold": f,
                            "seed": member,
                            "row": rows,
                            "y": y[rows],
                            "p": p,
                            "pred": (p >= 0.35).astype(np.int8),
                            "letter": letter[rows],
                            "climatology": 0.3,
                        }
                    )
                )
    return _Result(pd.concat(parts, ignore_index=True), pd.DataFrame(folds))


def _partition0(result: _Result) -> pd.DataFrame:
    first = result.predictions.query("repeat == 0 and seed == -1 and method == 'base'")
    return pd.DataFrame(
        [
            {
                "n_test": len(first),
                "n_pos": int(first.y.sum()),
                "n_x": int((first.letter == "X").sum()),
                "n_x_regions": 0,
                "n_regions": 0,
                "base_rate": float(first.y.mean()),
            }
        ]
    )


def test_per_seed_scores_are_the_mean_of_each_members_pooled_score() -> None:
    result = _result()
    per_repeat = repeat_scores(result.predictions, per_seed=True)
    pred = result.predictions
    row = per_repeat[(per_repeat.method == "net") & (per_repeat.repeat == 1)].iloc[0]
    expected = []
    for member in (0, 1):
        part = pred[(pred.method == "net") & (pred.repeat == 1) & (pred.seed == member)]
        expected.append(metrics.hss(part.y.to_numpy(), part.pred.to_numpy()))
    assert row["hss_per_seed"] == pytest.approx(np.mean(expected))
    assert row["n_seeds"] == 2
    # the ensemble's own figure is another number: a member is not the ensemble
    ensemble = pred[(pred.method == "net") & (pred.repeat == 1) & (pred.seed == -1)]
    assert row["hss"] == metrics.hss(ensemble.y.to_numpy(), ensemble.pred.to_numpy())
    assert row["hss"] != pytest.approx(row["hss_per_seed"])
    # AUC per seed: the fold mean of each member's per-fold AUC, averaged over the members
    folds = scores_by(pred[pred.repeat == 1], "fold", members=True)
    assert row["auc_per_seed"] == pytest.approx(folds[folds.method == "net"]["auc"].mean())
    base = per_repeat[per_repeat.method == "base"]
    assert base["hss_per_seed"].isna().all() and (base["n_seeds"] == 1).all()


def test_the_table_is_the_mean_over_repeats_with_corrected_intervals_of_the_mean() -> None:
    result = _result()
    per_repeat = repeat_scores(result.predictions, per_seed=True)
    intervals = method_intervals(result)
    table = repeated_table(
        per_repeat, intervals, _partition0(result), {"net": "network"}, ["base", "net"]
    )
    assert table["method"].tolist() == ["base", "net"]
    assert table["label"].tolist() == ["base", "network"]
    net = table.set_index("method").loc["net"]
    mine = per_repeat[per_repeat.method == "net"].sort_values("repeat")
    assert net["hss"] == pytest.approx(mine["hss"].mean())
    assert net["hss_sd"] == pytest.approx(mine["hss"].std(ddof=1))
    assert net["auc"] == pytest.approx(mine["auc_fold_mean"].mean())
    assert net["auc_pooled"] == pytest.approx(mine["auc"].mean())
    assert net["repeats"] == 3 and net["n_seeds"] == 2
    # HSS: the pooled procedure on the 3 per-repeat values
    expected = corrected_ttest_pooled(mine["hss"].to_numpy(), 180, 240)
    assert (net["hss_lo"], net["hss_hi"]) == pytest.approx((expected.low, expected.high))
    # AUC: the per-fold procedure on the 3 x 4 per-fold AUCs
    folds = scores_by(result.predictions, "fold")
    aucs = folds[folds.method == "net"].sort_values(["repeat", "fold"])["auc"].to_numpy()
    expected = corrected_ttest(aucs.reshape(3, 4), 180, 60)
    assert (net["auc_lo"], net["auc_hi"]) == pytest.approx((expected.low, expected.high))
    assert net["auc_lo"] < net["auc"] < net["auc_hi"]


def test_one_repeat_has_no_interval_of_the_mean() -> None:
    intervals = method_intervals(_result(repeats=1)).set_index("method")
    assert intervals.isna().all().all()


def test_comparison_csv_holds_the_headline_procedure_of_each_score() -> None:
    result = _result()
    differences = repeat_differences(result, pairs=[("net", "base")])
    frame = repeated_comparison_frame(differences)
    assert frame["comparison"].unique().tolist() == ["net - base"]
    assert dict(zip(frame["score"], frame["aggregate"], strict=True)) == {
        "x_recall": "repeat",
        "recall": "repeat",
        "hss": "repeat",
        "tss": "repeat",
        "auc": "fold",
        "bss": "repeat",
    }
    hss = frame.set_index("score").loc["hss"]
    per_repeat = repeat_scores(result.predictions).pivot(
        index="repeat", columns="method", values="hss"
    )
    assert hss["difference"] == pytest.approx((per_repeat["net"] - per_repeat["base"]).mean())
    assert hss["significant"] == (hss["lo"] > 0 or hss["hi"] < 0)
    assert repeated_comparison_frame(differences.iloc[:0]).empty


def test_configurations_scored_per_data_set() -> None:
    assert len(configurations_scored("umich-24h")) == 3
    assert configurations_scored("hollanda-2019") == ["protocol version 1"]


def test_default_repeats_are_the_frozen_protocols() -> None:
    from flarecast.evaluation.frozen import load_frozen_protocol
    from flarecast.evaluation.repeated_comparison import DEFAULT_REPEATS

    assert load_frozen_protocol().repeats == DEFAULT_REPEATS == 10
