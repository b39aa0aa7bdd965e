"""Scores per (repeat, fold) and paired differences with corrected intervals, from a run's predictions.

A run over R repeated partitions (:func:`flarecast.evaluation.repeated.repeated_folds`)
leaves one predictions table (the layout of
:class:`flarecast.evaluation.fits.ProtocolResult`, plus a ``repeat`` column;
a table without one is a single repeat, 0). This module scores it and
compares methods *paired*, on the same test rows:

- :func:`scores_by` scores each method's forecast (``seed == -1``) per
  (repeat, fold), or pooled over the K test folds of each repeat;
- :func:`paired_intervals` takes, for each pair (A, B) and score, the
  differences A - B and their corrected interval: per fold with
  :func:`~flarecast.evaluation.repeated.corrected_ttest` (``aggregate="fold"``,
  R x K differences), or per repeat with
  :func:`~flarecast.evaluation.repeated.corrected_ttest_pooled`
  (``aggregate="repeat"``, R differences, each over all tested rows).

Which aggregate a table uses is the caller's choice and must be stated in its
header; both are kept. A fold score that is undefined (X recall in a fold
without X events) is NaN; the per-fold procedure then refuses that score (it
names the cells) and the pooled one is the one to use.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from flarecast.errors import ConfigError, DataError, MetricWarning
from flarecast.evaluation import metrics
from flarecast.evaluation.repeated import corrected_ttest, corrected_ttest_pooled

__all__ = ["SCORES", "AGGREGATES", "scores_by", "paired_intervals"]

#: Scores of :func:`scores_by`, in column order.
SCORES: tuple[str, ...] = ("auc", "hss", "tss", "bss", "recall", "x_recall")
AGGREGATES: tuple[str, ...] = ("fold", "repeat")
_NEEDED = ("method", "fold", "seed", "y", "p", "pred", "letter", "climatology")


def _score(part: pd.DataFrame) -> dict[str, float]:
    y = part["y"].to_numpy(dtype=int)
    pred = part["pred"].to_numpy(dtype=int)
    p = part["p"].to_numpy(dtype=float)
    with warnings.catch_warnings():
        # An undefined score is NaN in the table, where it is visible; the warning adds nothing.
        warnings.simplefilter("ignore", MetricWarning)
        return {
            "auc": metrics.roc_auc(y, p),
            "hss": metrics.hss(y, pred),
            "tss": metrics.tss(y, pred),
            "bss": metrics.bss(y, p, part["climatology"].to_numpy(dtype=float)),
            "recall": metrics.recall(y, pred),
            "x_recall": metrics.class_recall(pred, part["letter"].astype(object).to_numpy(), "X"),
        }


def scores_by(
    predictions: pd.DataFrame, aggregate: str = "fold", *, members: bool = False
) -> pd.DataFrame:
    """Each method's scores per (repeat, fold), or per repeat pooled over its test folds.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Columns method, fold, seed, y, p, pred, letter, climatology (and
        optionally repeat). Only the methods' forecasts (``seed == -1``) are scored.
    aggregate : {"fold", "repeat"}, default "fold"
    members : bool, default False
        Score each seed member's own forecast (``seed >= 0``) instead, with ``seed`` as
        a further key; a method without members has no rows.

    Returns
    -------
    pandas.DataFrame
        One row per (method, repeat[, fold][, seed]): those keys, ``n`` (test rows),
        ``positives`` and the :data:`SCORES` (NaN where undefined).
    """
    if aggregate not in AGGREGATES:
        raise ConfigError(
            f"The 'aggregate' parameter must be one of {list(AGGREGATES)}. Got {aggregate!r} instead."
        )
    missing = [c for c in _NEEDED if c not in predictions.columns]
    if missing:
        raise DataError(
            f"The predictions lack column(s) {missing}; they need {list(_NEEDED)} (and 'repeat')."
        )
    chosen = predictions["seed"] >= 0 if members else predictions["seed"] == -1
    forecasts = predictions.loc[chosen]
    if "repeat" not in forecasts.columns:
        forecasts = forecasts.assign(repeat=0)
    keys = ["method", "repeat", "fold"] if aggregate == "fold" else ["method", "repeat"]
    keys += ["seed"] if members else []
    rows = []
    for key, part in forecasts.groupby(keys, sort=True, observed=True):
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "n": len(part),
                "positives": int(part["y"].sum()),
                **_score(part),
            }
        )
    return pd.DataFrame(rows, columns=[*keys, "n", "positives", *SCORES])


def _train_rows(folds: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("fold", "n_train") if c not in folds.columns]
    if missing:
        raise DataError(
            f"The fold table lacks column(s) {missing}; it needs fold, n_train, repeat."
        )
    return folds if "repeat" in folds.columns else folds.assign(repeat=0)


def paired_intervals(
    predictions: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    folds: pd.DataFrame,
    *,
    aggregate: str = "fold",
    scores: Sequence[str] = SCORES,
    level: float = 0.95,
) -> pd.DataFrame:
    """Paired differences A - B of every score, with the corrected repeated k-fold interval.

    Parameters
    ----------
    predictions : pandas.DataFrame
        As :func:`scores_by`.
    pairs : sequence of (str, str)
        (A, B) method pairs; a pair with a method not in ``predictions`` is skipped.
    folds : pandas.DataFrame
        Training rows (fit + validation) of each test fold: columns repeat
        (optional), fold, n_train.
    aggregate : {"fold", "repeat"}, default "fold"
        Differences per (repeat, fold), or per repeat pooled over its folds (see the module notes).
    scores : sequence of str, default :data:`SCORES`
    level : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row per (method, baseline, score): ``mean``, ``low``, ``high``,
        ``p_value``, ``se``, ``df``, ``n`` (differences), ``repeats``,
        ``ratio`` (n_test / n_train), ``procedure``.

    Raises
    ------
    DataError
        Missing columns, a fold without its training size, repeats that do
        not cover the same folds for A and B, or an undefined per-fold score
        (use ``aggregate="repeat"`` for it).
    """
    unknown = [s for s in scores if s not in SCORES]
    if unknown:
        raise ConfigError(f"unknown score(s) {unknown}; legal scores are {list(SCORES)}")
    table = scores_by(predictions, aggregate)
    train = _train_rows(folds)
    cell = ["repeat", "fold"] if aggregate == "fold" else ["repeat"]
    sizes = (
        train.groupby(cell, sort=True)["n_train"].mean()
        if aggregate == "repeat"
        else train.set_index(cell)["n_train"]
    )
    methods = set(table["method"])
    rows = []
    for a, b in pairs:
        if a not in methods or b not in methods:
            continue
        left = table.loc[table["method"] == a].set_index(cell).sort_index()
        right = table.loc[table["method"] == b].set_index(cell).sort_index()
        if not left.index.equals(right.index):
            raise DataError(
                f"{a} and {b} were not scored on the same (repeat, fold) cells; a paired "
                "comparison needs both on every test fold."
            )
        absent = left.index.difference(sizes.index)
        if len(absent):
            raise DataError(f"The fold table has no n_train for {list(absent)[:5]}.")
        n_train = sizes.loc[left.index].to_numpy(dtype=float)
        n_test = left["n"].to_numpy(dtype=float)
        repeats = left.index.get_level_values("repeat").unique()
        for score in scores:
            diff = (left[score] - right[score]).to_numpy(dtype=float)
            if aggregate == "fold":
                per_repeat = left.groupby(level="repeat").size()
                if per_repeat.nunique() != 1:
                    raise DataError(
                        f"{a} vs {b}: the repeats hold different numbers of folds "
                        f"({per_repeat.to_dict()}); the per-fold test needs R x K cells."
                    )
                shape = (len(repeats), int(per_repeat.iloc[0]))
                res = corrected_ttest(
                    diff.reshape(shape), n_train.reshape(shape), n_test.reshape(shape), level
                )
            else:
                res = corrected_ttest_pooled(diff, n_train, n_test, level)
            rows.append(
                {
                    "method": a,
                    "baseline": b,
                    "score": score,
                    "mean": res.mean,
                    "low": res.low,
                    "high": res.high,
                    "p_value": res.p_value,
                    "se": res.se,
                    "df": res.df,
                    "n": res.n,
                    "repeats": len(repeats),
                    "ratio": res.ratio,
                    "procedure": res.procedure,
                }
            )
    return pd.DataFrame(rows)
