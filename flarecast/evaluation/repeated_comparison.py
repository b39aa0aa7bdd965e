"""``reproduce --repeats R``: the comparison over R partitions, its tables and its files.

With R > 1, table.md, table.csv, comparison.csv and intervals.png ARE the
repeated comparison: every figure the mean over the repeats, every interval
from the corrected repeated k-fold t-test (Nadeau & Bengio 2003), so they hold
partition and seed variance. How each column aggregates is explained in
:mod:`flarecast.evaluation.repeated_table` and stated in table.md's header.

Besides them (:data:`REPEAT_FILES`): repeats.csv (every score per method and
repeat, seed-ensemble and per-seed), repeated_comparison.csv (both procedures
for every paired score), predictions_repeats.parquet (every repeat's forecasts)
and, for reference, repeat 0 alone as the single-partition run of the same
seed would write it, with region-bootstrap intervals that hold the partition
and seeds fixed: partition0.md, partition0.csv, partition0_comparison.csv,
predictions.parquet, calibration.csv and the ROC, reliability and skill
figures (their titles say "partition 0 of R"). A run with R = 1 is the
single-partition run (:func:`flarecast.evaluation.comparison.run_comparison`),
not this module.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from flarecast.evaluation.bootstrap import PAIRS, summarise
from flarecast.evaluation.methods import MethodSpec
from flarecast.evaluation.outputs import staged_output
from flarecast.evaluation.protocol import Protocol
from flarecast.evaluation.repeated_report import format_repeated_markdown, repeated_interval_figure
from flarecast.evaluation.repeated_run import RepeatedResult, run_repeated
from flarecast.evaluation.repeated_table import (
    TABLE_SCORES,
    configurations_scored,
    method_intervals,
    repeat_differences,
    repeat_scores,
    repeat_summary,
    repeated_comparison_frame,
    repeated_table,
)
from flarecast.evaluation.tables import write_outputs
from flarecast.execution import Executor

__all__ = [
    "DEFAULT_REPEATS",
    "REPEAT_FILES",
    "PARTITION0_FILES",
    "TABLE_SCORES",
    "repeat_scores",
    "repeat_summary",
    "repeat_differences",
    "format_repeated_markdown",
    "run_repeated_comparison",
]

#: Repeats of ``reproduce`` on real data when none are asked for: the ``repeats`` of the
#: frozen protocol (protocols/comparison.toml, version 1; a test keeps the two equal).
DEFAULT_REPEATS = 10
#: Files written besides table.md, table.csv, comparison.csv and the figures.
REPEAT_FILES: tuple[str, ...] = (
    "repeats.csv",
    "repeated_comparison.csv",
    "predictions_repeats.parquet",
)
#: Repeat 0's single-partition files, renamed (the rest keep their names).
PARTITION0_FILES: dict[str, str] = {
    "table.md": "partition0.md",
    "table.csv": "partition0.csv",
    "comparison.csv": "partition0_comparison.csv",
}


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
    """Run R repeats on one executor; write the repeated table, its files and repeat 0's, as one unit.

    ``methods`` is the registry of the rows (default :data:`~flarecast.evaluation.methods.METHODS`)
    and ``pairs`` the paired differences of the repeated table.

    Returns
    -------
    (RepeatedResult, str, dict)
        The runs, table.md's text (the repeated table) and run.json's content.
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
    per_repeat = repeat_scores(result.predictions, per_seed=True)
    table = repeated_table(
        per_repeat,
        method_intervals(result, level=protocol.level),
        summary.table,
        first.labels,
        protocol.methods,
    )
    differences = repeat_differences(result, pairs, level=protocol.level)
    comparison = repeated_comparison_frame(differences)
    meta = dict(meta or {})
    meta["wall_seconds"] = round(meta.get("wall_seconds", 0.0) + time.perf_counter() - t0, 2)
    meta["fold_sizes"] = [f.sizes() for f in first.folds]
    meta["repeats"] = {
        "repeats": repeats,
        "seeds": result.seeds,
        "interval": "corrected repeated k-fold t-test (Nadeau & Bengio 2003)",
        "aggregation": {
            "figures": "mean over repeats",
            "auc": "mean of per-fold AUCs per repeat (auc_pooled: pooled over the folds)",
            "other scores": "pooled over each repeat's test rows",
            "networks": "seed-ensemble forecast (<score>_per_seed: mean of the members' figures)",
            "method intervals": "per fold for AUC, per repeat for the other scores",
            "paired intervals": "per fold for AUC, per repeat for the other scores",
        },
        "files": list(REPEAT_FILES),
        "partition0_files": list(PARTITION0_FILES.values()),
        "fold_sizes": result.folds.to_dict(orient="records"),
    }
    meta["configurations_scored"] = configurations_scored(str(meta.get("dataset", "")))
    synthetic = bool(meta.get("synthetic"))
    text = format_repeated_markdown(table, comparison, meta)
    from flarecast.io import atomic_open, atomic_path, write_json

    with staged_output(out) as staged:
        written = write_outputs(
            staged,
            first,
            summary,
            meta,
            figures=figures,
            figure_scope=f"partition 0 of {repeats}",
        )
        names = [p.name for p in written if p.name != "run.json"]
        for old_name, new_name in PARTITION0_FILES.items():
            if (staged / old_name).exists():
                os.replace(staged / old_name, staged / new_name)
                names[names.index(old_name)] = new_name
        with atomic_open(staged / "table.md", "w") as fh:
            fh.write(text)
        dataset = meta.get("dataset", "")
        frames = (
            ("table.csv", table),
            ("comparison.csv", comparison),
            ("repeats.csv", per_repeat),
            ("repeated_comparison.csv", differences),
        )
        for name, frame in frames:
            with atomic_path(staged / name) as tmp:
                frame.assign(dataset=dataset, synthetic=synthetic).to_csv(
                    tmp, index=False, float_format="%.6g"
                )
        forecasts = result.predictions[result.predictions["seed"] == -1]
        with atomic_path(staged / "predictions_repeats.parquet") as tmp:
            forecasts.assign(synthetic=synthetic).to_parquet(tmp, index=False)
        names += ["table.md", *(name for name, _ in frames), "predictions_repeats.parquet"]
        if figures:
            from flarecast.evaluation.figures import save_png

            fig = repeated_interval_figure(table, comparison, meta, synthetic)
            names.append(save_png(fig, staged / "intervals.png", synthetic).name)
        run = json.loads((staged / "run.json").read_text())
        run.update(meta)
        run["files"] = sorted(set(names)) + ["run.json"]
        write_json(staged / "run.json", run)
    return result, text, meta
