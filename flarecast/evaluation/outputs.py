"""An evaluation's output folder, written as one unit: built beside the old one, then swapped in.

``reproduce``, ``tune`` and ``evaluate`` write several files that belong together (tables,
predictions, figures and the ``run.json`` that describes them). Replacing them one by one
left mixtures when a run died part-way: new tables beside an old ``run.json`` (2 seeds
against 5), old figures beside new numbers, ``.png.*.tmp`` files. :func:`staged_output`
gives the run an empty hidden folder beside ``OUT`` and, only once everything is written,
puts it in place of ``OUT`` in one rename (an atomic exchange where Linux offers one). A run
that fails or is interrupted leaves ``OUT`` exactly as it was and removes its staging folder.

What the commands did not write themselves is kept: any other entry of the old ``OUT`` (a
user's notes, a ``tune/`` folder inside it, the finished fits of ``OUT/.partial`` that
``--resume`` reads) is moved into the new folder before the swap.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from flarecast.errors import ConfigError
from flarecast.io import staged_folder

__all__ = ["OUTPUT_FILES", "staged_output", "write_tune_outputs"]

#: Every file ``reproduce``, ``tune`` and ``evaluate`` write; in an old ``OUT`` they are replaced
#: as a set (a rerun with --no-figures does not keep the old figures).
OUTPUT_FILES: frozenset[str] = frozenset(
    {
        "table.md",
        "table.csv",
        "comparison.csv",
        "calibration.csv",
        "importance.csv",
        "predictions.parquet",
        "run.json",
        "roc.png",
        "reliability.png",
        "skill_threshold.png",
        "intervals.png",
        "importance.png",
        "tune.md",
        "tune.csv",
        "tune_heatmap.png",
        # reproduce --repeats (flarecast.evaluation.repeated_comparison.REPEAT_FILES and
        # PARTITION0_FILES); repeated.md stays listed so that a rerun into a folder an older
        # flarecast wrote replaces it
        "repeated.md",
        "partition0.md",
        "partition0.csv",
        "partition0_comparison.csv",
        "repeats.csv",
        "repeated_comparison.csv",
        "predictions_repeats.parquet",
        # benchmark (flarecast.evaluation.benchmark_report.BENCHMARK_FILES; one folder per row in
        # datasets/, replaced as a whole so a rerun with other data sets leaves no old rows)
        "summary.md",
        "summary.csv",
        "differences.csv",
        "forest.png",
        "datasets",
    }
)
# flarecast.io's temporary files (".NAME.RANDOM.tmp") of a run that was killed.
_TEMPORARY = re.compile(r"^\..+\.tmp$")


def _kept(name: str) -> bool:
    return name not in OUTPUT_FILES and not _TEMPORARY.match(name)


def staged_output(out: str | Path) -> contextlib.AbstractContextManager[Path]:
    """Yield an empty hidden folder beside ``out``; when the block succeeds, it becomes ``out``.

    Parameters
    ----------
    out : path
        The output folder; created if missing. Its entries that no evaluation command writes
        are carried into the new folder.

    Returns
    -------
    context manager
        Yields ``.OUT.staging-XXXXXXXX`` beside ``out``: write every output file there.

    Raises
    ------
    ConfigError
        If ``out`` exists and is not a folder.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder; choose a folder name.")
    return staged_folder(out, keep=_kept)


def write_tune_outputs(out: str | Path, table: Any, meta: dict[str, Any]) -> str:
    """Write tune.md, tune.csv, tune_heatmap.png and run.json into ``out`` as one unit.

    Parameters
    ----------
    out : path
    table : pandas.DataFrame
        From :func:`flarecast.evaluation.tune.tune_focal`.
    meta : dict
        run.json content (:func:`flarecast.evaluation.comparison.run_meta` plus the search);
        needs ``dataset`` and ``synthetic``.

    Returns
    -------
    str
        The Markdown table (tune.md), for the command to print.
    """
    from flarecast.evaluation.figures import save_png, tune_heatmap
    from flarecast.evaluation.report import format_tune_markdown
    from flarecast.io import atomic_open, atomic_path, write_json

    synthetic = bool(meta.get("synthetic"))
    text = format_tune_markdown(table, meta)
    with staged_output(out) as staged:
        with atomic_open(staged / "tune.md", "w") as fh:
            fh.write(text)
        with atomic_path(staged / "tune.csv") as tmp:
            table.assign(dataset=meta.get("dataset", ""), synthetic=synthetic).to_csv(
                tmp, index=False, float_format="%.6g"
            )
        save_png(tune_heatmap(table, synthetic=synthetic), staged / "tune_heatmap.png", synthetic)
        write_json(
            staged / "run.json",
            {**meta, "files": ["tune.md", "tune.csv", "tune_heatmap.png", "run.json"]},
        )
    return text
