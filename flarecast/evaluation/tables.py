"""The comparison table as files: CSV, Parquet, JSON and the figures; no torch.

:func:`table_frame` and :func:`calibration_table` are the tables as written to
table.csv and calibration.csv, :func:`provenance` the software versions every
run records, and :func:`write_outputs` writes every file of a comparison into a
folder (the commands give it a staging folder, see
:mod:`flarecast.evaluation.outputs`). The words (table.md and the plain reading)
come from :mod:`flarecast.evaluation.report`. Outputs made from synthetic data
say SYNTHETIC in every file (:data:`SYNTHETIC_BANNER`).
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd

from flarecast.evaluation.bootstrap import Summary
from flarecast.evaluation.protocol import ProtocolResult
from flarecast.evaluation.report import SYNTHETIC_BANNER, format_markdown
from flarecast.io import atomic_open, atomic_path, write_json

__all__ = [
    "TABLE_COLUMNS",
    "SYNTHETIC_BANNER",
    "table_frame",
    "calibration_table",
    "provenance",
    "write_outputs",
]

#: Columns of table.csv, in order (``<score>_lo``/``_hi`` are the bootstrap interval bounds).
TABLE_COLUMNS: tuple[str, ...] = (
    "method",
    "label",
    "x_recall",
    "x_recall_lo",
    "x_recall_hi",
    "m_recall",
    "recall",
    "recall_lo",
    "recall_hi",
    "precision",
    "false_alarm_ratio",
    "false_alarm_rate",
    "hss",
    "hss_lo",
    "hss_hi",
    "tss",
    "tss_lo",
    "tss_hi",
    "apss",
    "auc",
    "auc_lo",
    "auc_hi",
    "brier",
    "bss",
    "bss_lo",
    "bss_hi",
    "base_rate",
    "n_test",
    "n_pos",
    "n_x",
    "n_x_regions",
    "n_regions",
    "threshold_mean",
    "n_seeds",
    "x_recall_seed_sd",
    "hss_seed_sd",
    "tss_seed_sd",
    "auc_seed_sd",
    "dataset",
    "synthetic",
)


def table_frame(summary: Summary, dataset: str, synthetic: bool) -> pd.DataFrame:
    """The table as written to table.csv: :data:`TABLE_COLUMNS`, one row per method."""
    table = summary.table.copy()
    table["dataset"] = dataset
    table["synthetic"] = bool(synthetic)
    return table.reindex(columns=list(TABLE_COLUMNS))


def calibration_table(result: ProtocolResult) -> pd.DataFrame:
    """Brier score and skill of each calibrated forecast, before and after calibration.

    Only forecasts with ``p_calibrated`` (the networks, mapped by a Platt
    calibrator fitted on each fold's inner validation rows) appear. Scores pool
    the out-of-fold test rows; the Brier skill score's reference is each fold's
    training base rate, as in the main table.

    Returns
    -------
    pandas.DataFrame
        One row per method: method, label, n_test, observed_frequency,
        mean_raw, mean_calibrated, brier_raw, brier_calibrated, bss_raw,
        bss_calibrated. Empty when nothing was calibrated.
    """
    from flarecast.evaluation.metrics import brier, bss

    columns = [
        "method",
        "label",
        "n_test",
        "observed_frequency",
        "mean_raw",
        "mean_calibrated",
        "brier_raw",
        "brier_calibrated",
        "bss_raw",
        "bss_calibrated",
    ]
    pred = result.predictions
    if "p_calibrated" not in pred.columns:
        return pd.DataFrame(columns=columns)
    rows = []
    for method in result.labels:
        sub = pred[(pred["method"] == method) & (pred["seed"] == -1)]
        if not len(sub) or sub["p_calibrated"].isna().any():
            continue
        y, raw, cal, clim = (
            sub[c].to_numpy(dtype=float) for c in ("y", "p", "p_calibrated", "climatology")
        )
        rows.append(
            {
                "method": method,
                "label": result.labels[method],
                "n_test": len(sub),
                "observed_frequency": float(y.mean()),
                "mean_raw": float(raw.mean()),
                "mean_calibrated": float(cal.mean()),
                "brier_raw": brier(y, raw),
                "brier_calibrated": brier(y, cal),
                "bss_raw": bss(y, raw, clim),
                "bss_calibrated": bss(y, cal, clim),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def provenance() -> dict[str, Any]:
    """Package versions, Python, platform and the git commit of the flarecast source (if in a checkout)."""
    versions = {
        n: _version(n)
        for n in ("flarecast", "numpy", "pandas", "scikit-learn", "torch", "matplotlib")
    }
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=Path(__file__).parent,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
            or None
        )
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=Path(__file__).parent,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {
        "versions": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": commit,
        "git_dirty": dirty,
    }


def write_outputs(
    out_dir: str | Path,
    result: ProtocolResult,
    summary: Summary,
    meta: dict[str, Any],
    *,
    figures: bool = True,
    importance: pd.DataFrame | None = None,
    figure_scope: str = "",
) -> list[Path]:
    """Write table.md, table.csv, comparison.csv (when a pair ran), calibration.csv (when forecasts were
    calibrated), predictions.parquet, run.json, figures.

    Parameters
    ----------
    out_dir : path
        Created if missing; files in it are replaced atomically.
    result, summary
        From :func:`~flarecast.evaluation.protocol.run_protocol` and :func:`~flarecast.evaluation.protocol.summarise`.
    meta : dict
        Written to run.json (config, data checksum, provenance, wall time ...);
        needs ``dataset`` and ``synthetic``.
    figures : bool, default True
        Also write the PNG figures (see :mod:`flarecast.evaluation.figures`).
    importance : pandas.DataFrame, optional
        Permutation importance (:mod:`flarecast.evaluation.importance`), written as
        importance.csv (and importance.png with ``figures``).
    figure_scope : str, default ""
        Leads the title of every comparison figure (e.g. "partition 0 of 10").

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    synthetic = bool(meta.get("synthetic"))
    written = []
    calibration = calibration_table(result)
    path = out / "table.md"
    with atomic_open(path, "w") as fh:
        fh.write(format_markdown(summary, meta, calibration))
    written.append(path)
    path = out / "table.csv"
    with atomic_path(path) as tmp:
        table_frame(summary, meta.get("dataset", ""), synthetic).to_csv(
            tmp, index=False, float_format="%.6g"
        )
    written.append(path)
    if len(summary.comparison):
        path = out / "comparison.csv"
        comp = summary.comparison.assign(dataset=meta.get("dataset", ""), synthetic=synthetic)
        with atomic_path(path) as tmp:
            comp.to_csv(tmp, index=False, float_format="%.6g")
        written.append(path)
    if len(calibration):
        path = out / "calibration.csv"
        with atomic_path(path) as tmp:
            calibration.assign(synthetic=synthetic).to_csv(tmp, index=False, float_format="%.6g")
        written.append(path)
    path = out / "predictions.parquet"
    preds = result.predictions.assign(synthetic=synthetic)
    with atomic_path(path) as tmp:
        preds.to_parquet(tmp, index=False)
    written.append(path)
    if importance is not None and len(importance):
        path = out / "importance.csv"
        with atomic_path(path) as tmp:
            importance.assign(synthetic=synthetic).to_csv(tmp, index=False, float_format="%.6g")
        written.append(path)
    if figures:
        from flarecast.evaluation.figures import importance_figure, save_png, write_figures

        written += write_figures(out, result, summary, synthetic=synthetic, scope=figure_scope)
        if importance is not None and len(importance):
            written.append(
                save_png(
                    importance_figure(importance, result.labels, synthetic),
                    out / "importance.png",
                    synthetic,
                )
            )
    path = out / "run.json"
    write_json(
        path,
        {
            **meta,
            "files": [p.name for p in written] + ["run.json"],
            "notes": summary.notes,
            "seconds_per_method": result.seconds,
            "best_epochs": result.best_epochs,
        },
    )
    written.append(path)
    return written
