"""``reproduce --repeats R``: the comparison over R partitions, its tables and its files.

How the repeated table aggregates (stated in its header too):

- each figure is the **mean over the R repeats** of that repeat's score, and
  ``±`` is the standard deviation over repeats;
- a repeat's ROC AUC is the mean of its per-fold AUCs (as in ``table.md``:
  each fold's model has its own calibration); every other score pools the
  repeat's test rows (each row is tested once per repeat). ``repeats.csv``
  keeps both AUCs (``auc`` pooled, ``auc_fold_mean``);
- paired differences A - B carry the corrected repeated k-fold t-test
  (:mod:`flarecast.evaluation.repeated`, Nadeau & Bengio 2003): per fold
  (R x K differences) for AUC, pooled per repeat (R differences) for the
  pooled scores. ``repeated_comparison.csv`` keeps both procedures for every
  score where they are defined.

``table.md``, ``table.csv``, ``comparison.csv``, ``predictions.parquet`` and the
figures are written as before from repeat 0 alone (repeat 0 is the
single-partition run of the same seed), with their region-bootstrap
intervals, which hold the partition and seeds fixed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import DataError
from flarecast.evaluation.bootstrap import PAIRS, summarise
from flarecast.evaluation.methods import MethodSpec
from flarecast.evaluation.outputs import staged_output
from flarecast.evaluation.paired import paired_intervals, scores_by
from flarecast.evaluation.protocol import Protocol
from flarecast.evaluation.repeated_run import RepeatedResult, run_repeated
from flarecast.evaluation.tables import SYNTHETIC_BANNER, write_outputs
from flarecast.execution import Executor

__all__ = [
    "REPEAT_FILES",
    "TABLE_SCORES",
    "repeat_scores",
    "repeat_summary",
    "repeat_differences",
    "format_repeated_markdown",
    "run_repeated_comparison",
]

#: Files written besides the single-partition outputs.
REPEAT_FILES: tuple[str, ...] = (
    "repeated.md",
    "repeats.csv",
    "repeated_comparison.csv",
    "predictions_repeats.parquet",
)
#: Columns of the repeated table: (column of repeats.csv, label, procedure of its differences).
TABLE_SCORES: tuple[tuple[str, str, str], ...] = (
    ("auc_fold_mean", "AUC", "fold"),
    ("tss", "TSS", "repeat"),
    ("hss", "HSS", "repeat"),
    ("x_recall", "X recall", "repeat"),
    ("bss", "BSS", "repeat"),
)


def repeat_scores(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per (method, repeat): scores pooled over the repeat's test rows, plus ``auc_fold_mean``."""
    pooled = scores_by(predictions, "repeat")
    folds = scores_by(predictions, "fold")
    fold_mean = folds.groupby(["method", "repeat"], sort=False)["auc"].mean()
    pooled["auc_fold_mean"] = fold_mean.loc[
        list(zip(pooled["method"], pooled["repeat"], strict=True))
    ].to_numpy()
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
    result: RepeatedResult, pairs: Sequence[tuple[str, str]] = PAIRS, level: float = 0.95
) -> pd.DataFrame:
    """Paired differences of every score by both procedures; ``headline`` marks the table's one.

    A score undefined in some fold (X recall in a fold without X events) has
    no per-fold row; its pooled row is the one to read.
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
        headline = {("auc", "fold")} | {(c, p) for c, _, p in TABLE_SCORES if c != "auc_fold_mean"}
        table["headline"] = [
            (s, a) in headline for s, a in zip(table["score"], table["aggregate"], strict=True)
        ]
    return table


def _fmt(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.3f}"


def _signed(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:+.3f}"


def format_repeated_markdown(
    summary: pd.DataFrame, differences: pd.DataFrame, labels: dict[str, str], meta: dict[str, Any]
) -> str:
    """The repeated table, its paired differences and a plain reading, as Markdown."""
    rep = meta.get("repeats", {})
    prot = meta.get("protocol", {})
    lines = []
    if meta.get("synthetic"):
        lines += [f"**{SYNTHETIC_BANNER}**", ""]
    lines += [
        f"# {meta.get('dataset', '?')}: {rep.get('repeats')} region-grouped "
        f"{prot.get('folds')}-fold partitions",
        "",
        f"Target: {meta.get('definition', '?')}. Repeat r has its own folds, inner validation split "
        "and network seeds (seed of repeat r: repeat_seed(seed, r); repeat 0 is the single-partition run).",
        "Each figure is the mean over the repeats (± standard deviation over repeats) of the "
        "method's forecast (networks: the seed-ensemble mean). AUC is each repeat's mean of per-fold "
        "AUCs; TSS, HSS, X recall and BSS pool each repeat's test rows (every row tested once per repeat).",
        "Differences are paired (same test rows) with the corrected repeated k-fold t-test "
        "(Nadeau & Bengio 2003): per fold for AUC, pooled per repeat for the other scores; "
        f"{int(round(100 * prot.get('level', 0.95)))}% intervals. Both procedures for every score "
        "are in repeated_comparison.csv, per-repeat values in repeats.csv.",
        "table.md, comparison.csv and the figures describe repeat 0 alone (one partition, "
        "region-bootstrap intervals that hold the partition and seeds fixed).",
        "",
        "| method | " + " | ".join(label for _, label, _ in TABLE_SCORES) + " |",
        "|---|" + "---|" * len(TABLE_SCORES),
    ]
    for _, row in summary.iterrows():
        cells = [f"{_fmt(row[f'{c}_mean'])} ± {_fmt(row[f'{c}_sd'])}" for c, _, _ in TABLE_SCORES]
        lines.append(f"| {labels.get(row['method'], row['method'])} | " + " | ".join(cells) + " |")
    if len(differences):
        score_rank = {"auc": 0} | {c: i for i, (c, _, _) in enumerate(TABLE_SCORES)}
        head = differences[differences["headline"]]
        pairs = list(dict.fromkeys(zip(head["method"], head["baseline"], strict=True)))
        key = [
            (pairs.index((a, b)), score_rank.get(sc, 99))
            for a, b, sc in zip(head["method"], head["baseline"], head["score"], strict=True)
        ]
        head = head.iloc[sorted(range(len(head)), key=key.__getitem__)]
        lines += ["", "| A − B | score | mean | interval | p |", "|---|---|---|---|---|"]
        names = {"auc": "AUC", "tss": "TSS", "hss": "HSS", "x_recall": "X recall", "bss": "BSS"}
        for _, d in head.iterrows():
            lines.append(
                f"| {d['method']} − {d['baseline']} | {names.get(d['score'], d['score'])} | "
                f"{_signed(d['mean'])} | [{_signed(d['low'])}, {_signed(d['high'])}] | "
                f"{d['p_value']:.3f} |"
            )
        lines += ["", _reading(head)]
    return "\n".join(lines) + "\n"


def _reading(head: pd.DataFrame) -> str:
    sentences = []
    for (a, b), part in head.groupby(["method", "baseline"], sort=False):
        better = part[part["low"] > 0]["score"].tolist()
        worse = part[part["high"] < 0]["score"].tolist()
        if not better and not worse:
            sentences.append(f"{a} vs {b}: no score differs significantly.")
        else:
            said = []
            if better:
                said.append(f"higher on {', '.join(better)}")
            if worse:
                said.append(f"lower on {', '.join(worse)}")
            sentences.append(f"{a} vs {b}: significantly {' and '.join(said)}.")
    return "Reading: " + " ".join(sentences)


def run_repeated_comparison(
    data: Any,
    targets: Any,
    protocol: Protocol,
    out: str | Path,
    repeats: int,
    *,
    figures: bool = True,
    executor: Executor | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    meta: dict[str, Any] | None = None,
    methods: Mapping[str, MethodSpec] | None = None,
    pairs: Sequence[tuple[str, str]] = PAIRS,
) -> tuple[RepeatedResult, str, dict[str, Any]]:
    """Run R repeats on one executor, write the repeat-0 outputs and the repeated ones as one unit.

    ``methods`` is the registry of the rows (default :data:`~flarecast.evaluation.methods.METHODS`)
    and ``pairs`` the paired differences of the repeated table.

    Returns
    -------
    (RepeatedResult, str, dict)
        The runs, the repeated Markdown table (also in repeated.md) and run.json's content.
    """
    t0 = time.perf_counter()
    result = run_repeated(
        targets,
        data.features,
        protocol,
        repeats,
        methods=methods,
        executor=executor,
        progress=progress,
    )
    first = result.runs[0]
    summary = summarise(first)
    per_repeat = repeat_scores(result.predictions)
    table = repeat_summary(per_repeat, protocol.methods)
    differences = repeat_differences(result, pairs, level=protocol.level)
    meta = dict(meta or {})
    meta["wall_seconds"] = round(meta.get("wall_seconds", 0.0) + time.perf_counter() - t0, 2)
    meta["fold_sizes"] = [
        {"fold": f.index, "fit": len(f.fit), "validation": len(f.val), "test": len(f.test)}
        for f in first.folds
    ]
    meta["repeats"] = {
        "repeats": repeats,
        "seeds": result.seeds,
        "interval": "corrected repeated k-fold t-test (Nadeau & Bengio 2003)",
        "files": list(REPEAT_FILES),
        "fold_sizes": result.folds.to_dict(orient="records"),
    }
    synthetic = bool(meta.get("synthetic"))
    text = format_repeated_markdown(table, differences, first.labels, meta)
    from flarecast.io import atomic_open, atomic_path

    with staged_output(out) as staged:
        with atomic_open(staged / "repeated.md", "w") as fh:
            fh.write(text)
        for name, frame in (("repeats.csv", per_repeat), ("repeated_comparison.csv", differences)):
            with atomic_path(staged / name) as tmp:
                frame.assign(dataset=meta.get("dataset", ""), synthetic=synthetic).to_csv(
                    tmp, index=False, float_format="%.6g"
                )
        forecasts = result.predictions[result.predictions["seed"] == -1]
        with atomic_path(staged / "predictions_repeats.parquet") as tmp:
            forecasts.assign(synthetic=synthetic).to_parquet(tmp, index=False)
        write_outputs(staged, first, summary, meta, figures=figures)
    return result, text, meta
