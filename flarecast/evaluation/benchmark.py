"""``flarecast benchmark``: the frozen comparison on every registered real data set.

:func:`run_benchmark` runs each row that :func:`flarecast.evaluation.benchmark_plan.plan_benchmark`
planned with :func:`~flarecast.evaluation.repeated_comparison.run_repeated_comparison` (R
region-grouped partitions, repeat 0 the single-partition run) into a subfolder of the output,
and collects one summary row per data set (:func:`summary_row`): its size, each method's
scores as means over repeats, and the paired differences with the corrected repeated k-fold
intervals. The words, the forest plot and the files are in
:mod:`flarecast.evaluation.benchmark_report`. No torch is imported here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError
from flarecast.evaluation.benchmark_plan import BenchmarkPlan, BenchmarkRow
from flarecast.evaluation.benchmark_report import BENCHMARK_PAIRS, write_benchmark
from flarecast.evaluation.repeated_comparison import (
    TABLE_SCORES,
    repeat_differences,
    repeat_scores,
    repeat_summary,
)
from flarecast.execution import Executor

__all__ = ["BenchmarkResult", "summary_row", "run_benchmark"]

# A progress factory: (row, fits) -> context manager yielding callback(repeat, fold, method).
ProgressFactory = Callable[
    ["BenchmarkRow", int], contextlib.AbstractContextManager[Callable[[int, int, str], None]]
]


@dataclasses.dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` produced.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per benchmark row (:func:`summary_row`), as summary.csv.
    differences : pandas.DataFrame
        The headline paired differences of every row (:data:`BENCHMARK_PAIRS`),
        with a leading ``dataset`` column (the row label).
    plan : BenchmarkPlan
    meta : dict
        run.json's content; on a table with categorical features its row entry holds
        ``unseen_test``, the test rows with a category their fold's fit rows never had,
        per feature, summed over every repeat's folds.
    """

    summary: pd.DataFrame
    differences: pd.DataFrame
    plan: BenchmarkPlan
    meta: dict[str, Any]


def _describe(targets: Any) -> dict[str, Any]:
    y = np.asarray(targets.y)
    groups = np.asarray(targets.groups)
    x = np.asarray(targets.letter, dtype=object) == "X"
    return {
        "n": int(len(y)),
        "positives": int(y.sum()),
        "x_events": int(x.sum()),
        "x_regions": int(len(np.unique(groups[x]))),
        "regions": int(len(np.unique(groups))),
        "base_rate": float(y.mean()) if len(y) else float("nan"),
    }


def summary_row(
    row: BenchmarkRow, result: Any, methods: Sequence[str], level: float
) -> tuple[dict[str, Any], pd.DataFrame]:
    """One summary.csv row and the row's headline paired differences.

    Columns: ``dataset`` (row label), ``data_set``, ``negatives``, ``repeats``,
    ``n``, ``positives``, ``x_events``, ``x_regions``, ``regions``,
    ``base_rate``; per method ``<method>_<score>`` for ``auc``, ``tss``,
    ``hss``, ``x_recall``, ``bss``, each the mean over repeats (AUC: of each
    repeat's mean of per-fold AUCs; the others pooled over each repeat's test
    rows, as in repeated.md); per pair ``<A>-<B>_<score>`` with ``_low``,
    ``_high`` and ``_p`` (the corrected repeated k-fold t-test: per fold for AUC,
    pooled per repeat for the others).
    """
    per_repeat = repeat_scores(result.predictions)
    table = repeat_summary(per_repeat, methods).set_index("method")
    out: dict[str, Any] = {
        "dataset": row.name,
        "data_set": row.dataset,
        "negatives": ",".join(row.negatives),
        "repeats": len(result.runs),
        **_describe(row.targets),
    }
    for method in methods:
        for column, _, _ in TABLE_SCORES:
            key = "auc" if column == "auc_fold_mean" else column
            value = table.at[method, f"{column}_mean"] if method in table.index else np.nan
            out[f"{method}_{key}"] = float(value)
    diffs = repeat_differences(result, pairs=BENCHMARK_PAIRS, level=level)
    head = diffs[diffs["headline"]] if len(diffs) else diffs
    for a, b in BENCHMARK_PAIRS:
        for column, _, _ in TABLE_SCORES:
            score = "auc" if column == "auc_fold_mean" else column
            hit = head[(head["method"] == a) & (head["baseline"] == b) & (head["score"] == score)]
            found = len(hit) == 1
            for suffix, field in (
                ("", "mean"),
                ("_low", "low"),
                ("_high", "high"),
                ("_p", "p_value"),
            ):
                out[f"{a}-{b}_{score}{suffix}"] = float(hit[field].iloc[0]) if found else np.nan
    return out, head.assign(dataset=row.name)


@contextlib.contextmanager
def _no_progress(row: BenchmarkRow, steps: int) -> Iterator[Callable[[int, int, str], None]]:
    yield lambda r, k, name: None


def run_benchmark(
    plan: BenchmarkPlan,
    frozen: Any,
    out: str | Path,
    repeats: int,
    *,
    figures: bool = True,
    executor: Executor | None = None,
    progress: ProgressFactory | None = None,
    command: str = "",
) -> BenchmarkResult:
    """Run every planned row with the frozen protocol and write ``out`` as one unit.

    Parameters
    ----------
    plan : BenchmarkPlan
    frozen : flarecast.evaluation.frozen.FrozenProtocol
        Its protocol (with each row's negatives) runs every row; its sha256 goes into run.json.
    out : path
        Output folder: summary.md, summary.csv, forest.png, run.json and one
        subfolder per row (reproduce --repeats' files). Replaced as a whole
        once everything is written.
    repeats : int >= 2
        Partitions per row (the paired intervals need at least two).
    figures : bool, default True
        Write each row's repeat-0 figures (forest.png is always written).
    executor : Executor, optional
        Runs every fit; default in this process.
    progress : callable(row, fits) -> context manager yielding callback(repeat, fold, method)
        One progress display per row.
    command : str
        The command line, for run.json.

    Returns
    -------
    BenchmarkResult

    Raises
    ------
    ConfigError
        ``repeats`` < 2, a protocol without region folds, or a plan without rows.
    """
    from flarecast.evaluation.comparison import run_meta
    from flarecast.evaluation.outputs import staged_output
    from flarecast.evaluation.repeated_comparison import run_repeated_comparison
    from flarecast.evaluation.tables import provenance

    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 2:
        raise ConfigError(
            f"The 'repeats' parameter of the benchmark must be an int >= 2 (the corrected "
            f"intervals need two partitions). Got {repeats!r} instead."
        )
    base = frozen.protocol
    if base.split != "kfold":
        raise ConfigError(f"The benchmark needs region folds (split='kfold'), not {base.split!r}.")
    if not plan.rows:
        raise ConfigError(
            "No data set to benchmark: "
            + ("; ".join(f"{s.dataset}: {s.reason}" for s in plan.skipped) or "none named")
            + "."
        )
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    progress = progress or _no_progress
    rows, differences, timings = [], [], {}
    unseen: dict[str, dict[str, int]] = {}
    with staged_output(out) as staged:
        for row in plan.rows:
            protocol = dataclasses.replace(base, negatives=row.negatives)
            t_row = time.perf_counter()
            meta = run_meta(row.data, row.targets, protocol, started, 0.0, command)
            meta.update(frozen.record())
            meta["benchmark_row"] = row.name
            steps = repeats * protocol.folds * len(protocol.methods)
            with progress(row, steps) as step:
                result, _, _ = run_repeated_comparison(
                    row.data,
                    row.targets,
                    protocol,
                    staged / row.folder,
                    repeats,
                    figures=figures,
                    executor=executor,
                    progress=step,
                    meta=meta,
                )
            summary, head = summary_row(row, result, protocol.methods, protocol.level)
            timings[row.name] = round(time.perf_counter() - t_row, 2)
            if "unseen_test" in result.folds:  # categorical features: summed over every test fold
                counts = list(result.folds["unseen_test"])
                unseen[row.name] = {k: int(sum(c[k] for c in counts)) for k in counts[0]}
            summary["wall_seconds"] = timings[row.name]
            summary["synthetic"] = bool(row.data.synthetic)
            rows.append(summary)
            differences.append(head)
        table = pd.DataFrame(rows)
        diffs = pd.concat(differences, ignore_index=True) if differences else pd.DataFrame()
        meta = {
            "command": command,
            **frozen.record(),
            "protocol": _protocol_record(base),
            "repeats": repeats,
            "protocol_repeats": frozen.repeats,
            "interval": "corrected repeated k-fold t-test (Nadeau & Bengio 2003)",
            "pairs": [list(p) for p in BENCHMARK_PAIRS],
            "rows": [
                {
                    "dataset": r.name,
                    "data_set": r.dataset,
                    "negatives": list(r.negatives),
                    "folder": r.folder,
                    "data_sha256": r.data.sha256,
                    "wall_seconds": timings[r.name],
                    **({"unseen_test": unseen[r.name]} if r.name in unseen else {}),
                }
                for r in plan.rows
            ],
            "skipped": [dataclasses.asdict(s) for s in plan.skipped],
            "synthetic": any(bool(r.data.synthetic) for r in plan.rows),
            "started_utc": started.isoformat(),
            "wall_seconds": round(time.perf_counter() - t0, 2),
            **provenance(),
        }
        write_benchmark(staged, table, diffs, plan, meta, methods=base.methods)
    return BenchmarkResult(table, diffs, plan, meta)


def _protocol_record(protocol: Any) -> dict[str, Any]:
    from flarecast import config as cfg

    return cfg.to_dict(protocol)
