"""The comparison over R repeated partitions as tables: what table.csv and comparison.csv hold.

How the table aggregates, one choice per column (table.md states it too):

- every figure is the **mean over the R repeats** of that repeat's score;
  ``<score>_sd`` is the standard deviation over repeats and the per-repeat
  values are in repeats.csv;
- **ROC AUC** is each repeat's **mean of per-fold AUCs** (each fold's model
  ranks its own test rows; pooling the folds would also score how well five
  models' probability scales agree). The AUC pooled over a repeat's test rows
  is kept as ``auc_pooled``;
- **TSS, HSS, recall, X recall and BSS pool each repeat's test rows** (every
  row is tested once per repeat, at its own fold's validation threshold);
- the networks' figures are those of the **seed-ensemble forecast** (the mean
  of the members' probabilities with its own threshold), the forecast the
  method delivers. The mean over the members of each member's own figure is
  kept as ``<score>_per_seed`` (NaN for methods without seed members).

Intervals, both from the corrected repeated k-fold t-test
(:mod:`flarecast.evaluation.repeated`, Nadeau & Bengio 2003), so both hold
partition and seed variance:

- paired differences A - B: per fold (R x K differences) for AUC, pooled per
  repeat (R differences) for the pooled scores (:func:`repeat_differences`);
- the interval of a method's mean (``<score>_lo``/``_hi``): the same procedure
  applied to the method's own values, per fold for AUC and per repeat for the
  pooled scores (:func:`method_intervals`). Every repeat tests the same rows,
  so the per-repeat intervals do not resample which regions the data set
  holds; the region bootstrap of one partition (partition0.md) shows that part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import DataError
from flarecast.evaluation.bootstrap import DIFFERENCE_COLUMNS, PAIRS
from flarecast.evaluation.paired import paired_intervals, scores_by
from flarecast.evaluation.repeated import corrected_ttest, corrected_ttest_pooled

__all__ = [
    "TABLE_SCORES",
    "SCORE_NAMES",
    "CONFIGURATIONS_SCORED",
    "configurations_scored",
    "repeat_scores",
    "repeat_summary",
    "repeat_differences",
    "method_intervals",
    "repeated_table",
    "repeated_comparison_frame",
]

#: Columns of the repeated table: (column of repeats.csv, label, procedure of its differences).
TABLE_SCORES: tuple[tuple[str, str, str], ...] = (
    ("auc_fold_mean", "AUC", "fold"),
    ("tss", "TSS", "repeat"),
    ("hss", "HSS", "repeat"),
    ("x_recall", "X recall", "repeat"),
    ("bss", "BSS", "repeat"),
)
SCORE_NAMES: dict[str, str] = {
    "auc": "ROC AUC",
    "tss": "TSS",
    "hss": "HSS",
    "x_recall": "X recall",
    "recall": "recall",
    "bss": "BSS",
}
#: Scores of table.csv (its AUC is the fold mean, column ``auc``), and how each one's
#: interval of the mean is computed.
_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("x_recall", "repeat"),
    ("recall", "repeat"),
    ("hss", "repeat"),
    ("tss", "repeat"),
    ("auc", "fold"),
    ("bss", "repeat"),
)

#: Network configurations whose scores on a data set's test folds had been seen before
#: protocols/comparison.toml (version 1) was frozen, that version's network included. The
#: umich-24h history is in benchmarks/RESULTS.md ("Network selection" and the earlier
#: training benchmarks); a data set not listed has been scored under protocol version 1 only.
CONFIGURATIONS_SCORED: dict[str, tuple[str, ...]] = {
    "umich-24h": (
        "tanh MLP (32, 32)",
        "ReLU MLP (64, 64)",
        "ReLU MLP (32, 32) with a linear skip path (protocol version 1)",
    ),
}
_ONLY_V1: tuple[str, ...] = ("protocol version 1",)


def configurations_scored(dataset: str) -> list[str]:
    """The network configurations that have been scored on ``dataset``'s test folds, this one included."""
    return list(CONFIGURATIONS_SCORED.get(dataset, _ONLY_V1))


def _member_scores(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per (method, repeat): the mean over seed members of each member's scores (``<score>_per_seed``)."""
    pooled = scores_by(predictions, "repeat", members=True)
    folds = scores_by(predictions, "fold", members=True)
    keys = ["method", "repeat"]
    auc = folds.groupby([*keys, "seed"], sort=False)["auc"].mean().rename("auc_fold_mean")
    pooled = pooled.join(auc, on=[*keys, "seed"])
    scores = ["auc_fold_mean", "hss", "tss", "bss", "recall", "x_recall"]
    means = pooled.groupby(keys, sort=False)[scores].mean()
    means.columns = ["auc_per_seed" if c == "auc_fold_mean" else f"{c}_per_seed" for c in scores]
    means["n_seeds"] = pooled.groupby(keys, sort=False)["seed"].nunique()
    return means.reset_index()


def repeat_scores(predictions: pd.DataFrame, *, per_seed: bool = False) -> pd.DataFrame:
    """Per (method, repeat): scores pooled over the repeat's test rows, plus ``auc_fold_mean``.

    With ``per_seed``, also ``<score>_per_seed`` (the mean over the method's seed members
    of each member's score; NaN for a method without members) and ``n_seeds``.
    """
    pooled = scores_by(predictions, "repeat")
    folds = scores_by(predictions, "fold")
    fold_mean = folds.groupby(["method", "repeat"], sort=False)["auc"].mean()
    pooled["auc_fold_mean"] = fold_mean.loc[
        list(zip(pooled["method"], pooled["repeat"], strict=True))
    ].to_numpy()
    if per_seed:
        members = _member_scores(predictions)
        pooled = pooled.merge(members, on=["method", "repeat"], how="left", validate="1:1")
        pooled["n_seeds"] = pooled["n_seeds"].fillna(1).astype(int)
    return pooled


def repeat_summary(per_repeat: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """Per method, in ``methods`` order: mean and standard deviation (ddof 1) over repeats."""
    scores = [c for c, _, _ in TABLE_SCORES] + ["auc", "recall"]
    grouped = per_repeat.groupby("method", sort=False)[scores]
    table = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=1).add_suffix("_sd"))
    table["repeats"] = per_repeat.groupby("method", sort=False).size()
    present = [m for m in methods if m in table.index]
    return table.loc[present].reset_index()


def repeat_differences(
    result: Any, pairs: Sequence[tuple[str, str]] = PAIRS, level: float = 0.95
) -> pd.DataFrame:
    """Paired differences of every score by both procedures; ``headline`` marks the table's one
    (per fold for AUC, pooled per repeat for the others).

    ``result`` is a :class:`~flarecast.evaluation.repeated_run.RepeatedResult`. A score
    undefined in some fold (X recall in a fold without X events) has no per-fold row; its
    pooled row is the one to read.
    """
    # AUC as the table shows it: the per-fold test's mean of R x K fold differences is the
    # mean over repeats of each repeat's fold-mean AUC difference.
    parts = []
    for score in ("auc", "hss", "tss", "bss", "recall", "x_recall"):
        for aggregate in ("fold", "repeat"):
            try:
                rows = paired_intervals(
                    result.predictions,
                    pairs,
                    result.folds,
                    aggregate=aggregate,
                    scores=[score],
                    level=level,
                )
            except DataError:
                if aggregate == "repeat":
                    raise
                continue  # undefined in some fold: only the pooled procedure applies
            rows["aggregate"] = aggregate
            parts.append(rows)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if len(table):
        headline = {(s, "fold" if s == "auc" else "repeat") for s, _ in _TABLE_COLUMNS}
        table["headline"] = [
            (s, a) in headline for s, a in zip(table["score"], table["aggregate"], strict=True)
        ]
    return table


def _interval_of_mean(values: np.ndarray, n_train: np.ndarray, n_test: np.ndarray, level: float):
    """(low, high) of the corrected interval, or NaNs where it is undefined (one repeat, NaN values)."""
    try:
        if values.ndim == 2:
            res = corrected_ttest(values, n_train, n_test, level)
        else:
            res = corrected_ttest_pooled(values, n_train, n_test, level)
    except DataError:
        return float("nan"), float("nan")
    return res.low, res.high


def method_intervals(result: Any, level: float = 0.95) -> pd.DataFrame:
    """Per method: the corrected interval of the mean of each table score (see the module notes).

    Returns
    -------
    pandas.DataFrame
        One row per method: ``method`` and ``<score>_lo``/``<score>_hi`` for the scores of
        table.csv (``auc``: the fold-mean AUC). NaN where a score is undefined in some
        repeat or fold, or with one repeat.
    """
    folds = scores_by(result.predictions, "fold").merge(
        result.folds[["repeat", "fold", "n_train"]], on=["repeat", "fold"], validate="m:1"
    )
    pooled = scores_by(result.predictions, "repeat")
    train = result.folds.groupby("repeat")["n_train"].mean()
    rows = []
    for method in dict.fromkeys(pooled["method"]):
        row: dict[str, Any] = {"method": method}
        by_fold = folds[folds["method"] == method].sort_values(["repeat", "fold"])
        by_repeat = pooled[pooled["method"] == method].sort_values("repeat")
        for score, aggregate in _TABLE_COLUMNS:
            if aggregate == "fold":
                shape = (by_fold["repeat"].nunique(), -1)
                values = by_fold[score].to_numpy(dtype=float).reshape(shape)
                n_train = by_fold["n_train"].to_numpy(dtype=float).reshape(shape)
                n_test = by_fold["n"].to_numpy(dtype=float).reshape(shape)
                if shape[0] < 2:  # one partition: the region bootstrap is the interval to use
                    values = values[:0]
            else:
                values = by_repeat[score].to_numpy(dtype=float)
                n_train = train.loc[by_repeat["repeat"]].to_numpy(dtype=float)
                n_test = by_repeat["n"].to_numpy(dtype=float)
            row[f"{score}_lo"], row[f"{score}_hi"] = _interval_of_mean(
                values, n_train, n_test, level
            )
        rows.append(row)
    return pd.DataFrame(rows)


def repeated_table(
    per_repeat: pd.DataFrame,
    intervals: pd.DataFrame,
    partition0: pd.DataFrame,
    labels: dict[str, str],
    methods: Sequence[str],
) -> pd.DataFrame:
    """table.csv of a repeated run: one row per method, in ``methods`` order.

    Parameters
    ----------
    per_repeat : pandas.DataFrame
        From :func:`repeat_scores` with ``per_seed=True``.
    intervals : pandas.DataFrame
        From :func:`method_intervals`.
    partition0 : pandas.DataFrame
        The single-partition table of repeat 0 (:attr:`flarecast.evaluation.bootstrap.Summary.table`),
        for the counts of the tested rows (the same rows in every repeat).
    labels : dict
        Method name -> label.
    methods : sequence of str

    Returns
    -------
    pandas.DataFrame
        ``method``, ``label``; per score ``<score>`` (mean over repeats), ``<score>_lo``,
        ``<score>_hi``, ``<score>_sd``; ``auc_pooled``; ``<score>_per_seed``; the counts
        ``n_test``, ``n_pos``, ``n_x``, ``n_x_regions``, ``n_regions``, ``base_rate``;
        ``n_seeds`` and ``repeats``.
    """
    scores = [s for s, _ in _TABLE_COLUMNS]
    source = per_repeat.assign(auc_pooled=per_repeat["auc"], auc=per_repeat["auc_fold_mean"])
    grouped = source.groupby("method", sort=False)
    seed_cols = [f"{s}_per_seed" for s in scores]
    table = grouped[[*scores, "auc_pooled", *seed_cols]].mean()
    table = table.join(grouped[scores].std(ddof=1).add_suffix("_sd"))
    table["n_seeds"] = grouped["n_seeds"].max()
    table["repeats"] = grouped.size()
    table = table.join(intervals.set_index("method"))
    present = [m for m in methods if m in table.index]
    table = table.loc[present].reset_index()
    table.insert(1, "label", [labels.get(m, m) for m in table["method"]])
    counts = partition0.iloc[0]
    for column in ("n_test", "n_pos", "n_x", "n_x_regions", "n_regions", "base_rate"):
        table[column] = counts[column]
    order = ["method", "label"]
    for score in scores:
        order += [score, f"{score}_lo", f"{score}_hi", f"{score}_sd"]
    order += ["auc_pooled", *seed_cols]
    order += ["n_test", "n_pos", "n_x", "n_x_regions", "n_regions", "base_rate", "n_seeds"]
    return table[[*order, "repeats"]]


def repeated_comparison_frame(differences: pd.DataFrame) -> pd.DataFrame:
    """comparison.csv of a repeated run: the headline paired differences, one row per (pair, score).

    Columns: ``comparison`` ("A - B"), ``method``, ``baseline``, ``score``,
    ``difference`` (mean over the differences), ``lo``, ``hi``, ``p_value``,
    ``significant`` (the interval excludes 0), ``aggregate`` ("fold" or "repeat"),
    ``procedure``, ``n``, ``df``, ``se``, ``ratio``, ``repeats``.
    """
    columns = [
        *DIFFERENCE_COLUMNS,
        "p_value",
        "significant",
        "aggregate",
        "procedure",
        "n",
        "df",
        "se",
        "ratio",
        "repeats",
    ]
    if not len(differences):
        return pd.DataFrame(columns=columns)
    head = differences[differences["headline"]].rename(
        columns={"mean": "difference", "low": "lo", "high": "hi"}
    )
    head = head.assign(
        comparison=head["method"] + " - " + head["baseline"],
        significant=(head["lo"] > 0) | (head["hi"] < 0),
    )
    rank = {s: i for i, (s, _) in enumerate(_TABLE_COLUMNS)}
    pairs = list(dict.fromkeys(head["comparison"]))
    key = [
        (pairs.index(c), rank.get(s, 99))
        for c, s in zip(head["comparison"], head["score"], strict=True)
    ]
    head = head.iloc[sorted(range(len(head)), key=key.__getitem__)]
    return head[columns].reset_index(drop=True)
