"""The benchmark's words, figure and files: summary.md, summary.csv, forest.png, run.json.

How the summary aggregates (stated in summary.md's header too): every score is
the mean over the R repeats of that repeat's figure for the method's forecast
(networks: the seed-ensemble mean); a repeat's AUC is the mean of its per-fold
AUCs, its TSS, HSS, X recall and BSS pool its test rows. A difference A - B is
paired on the same rows, with the corrected repeated k-fold t-test (Nadeau &
Bengio 2003; :mod:`flarecast.evaluation.repeated`): per fold for AUC, pooled
per repeat for the others, as in each row's repeated.md. matplotlib only, no
torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.evaluation.repeated_comparison import TABLE_SCORES
from flarecast.evaluation.tables import SYNTHETIC_BANNER

__all__ = [
    "BENCHMARK_PAIRS",
    "BENCHMARK_FILES",
    "format_summary_markdown",
    "plain_reading",
    "forest_figure",
    "write_benchmark",
]

#: Paired differences of the summary: focal against CE, and each network against logistic regression.
BENCHMARK_PAIRS: tuple[tuple[str, str], ...] = (
    ("focal", "ce"),
    ("ce", "logistic"),
    ("weighted-ce", "logistic"),
    ("focal", "logistic"),
)
#: Files written at the top of the benchmark's output folder (plus datasets/, one folder per row).
BENCHMARK_FILES: tuple[str, ...] = (
    "summary.md",
    "summary.csv",
    "differences.csv",
    "forest.png",
    "run.json",
)
#: Score keys of the summary columns, with their labels.
_SCORES: tuple[tuple[str, str], ...] = tuple(
    ("auc" if c == "auc_fold_mean" else c, label) for c, label, _ in TABLE_SCORES
)
_NAMES = {
    "climatology": "climatology",
    "logistic": "logistic regression",
    "gboost": "gradient boosting",
    "ce": "CE",
    "weighted-ce": "weighted CE",
    "focal": "focal",
}


def _fmt(v: float, signed: bool = False) -> str:
    if not np.isfinite(v):
        return "n/a"
    return f"{v:+.3f}" if signed else f"{v:.3f}"


def _pair_name(a: str, b: str) -> str:
    return f"{_NAMES.get(a, a)} − {_NAMES.get(b, b)}"


def _interval(row: pd.Series, key: str) -> str:
    mean = row.get(key, np.nan)
    if not np.isfinite(mean):
        return "n/a"
    return f"{_fmt(mean, True)} [{_fmt(row[f'{key}_low'], True)}, {_fmt(row[f'{key}_high'], True)}]"


def _significant(row: pd.Series, a: str, b: str) -> tuple[list[str], list[str]]:
    """Scores where A - B's interval lies wholly above zero, and wholly below."""
    above, below = [], []
    for key, label in _SCORES:
        low, high = row.get(f"{a}-{b}_{key}_low", np.nan), row.get(f"{a}-{b}_{key}_high", np.nan)
        if np.isfinite(low) and low > 0:
            above.append(label)
        elif np.isfinite(high) and high < 0:
            below.append(label)
    return above, below


def _present(summary: pd.DataFrame, a: str, b: str) -> bool:
    key = f"{a}-{b}_auc"
    return key in summary.columns and bool(np.isfinite(summary[key]).any())


def plain_reading(summary: pd.DataFrame) -> list[str]:
    """One sentence per data set and an overall paragraph, generated from the intervals."""
    lines = []
    networks = [(a, b) for a, b in BENCHMARK_PAIRS if b == "logistic"]
    beats: list[str] = []
    focal_differs: list[str] = []
    for _, row in summary.iterrows():
        parts = []
        if _present(summary, "focal", "ce"):
            above, below = _significant(row, "focal", "ce")
            if not above and not below:
                parts.append("focal − CE: no significant difference (every interval spans zero)")
            else:
                focal_differs.append(row["dataset"])
                said = [f"higher on {', '.join(above)}"] if above else []
                said += [f"lower on {', '.join(below)}"] if below else []
                parts.append(f"focal − CE: significantly {' and '.join(said)}")
        winners, losers = [], []
        for a, b in networks:
            if not _present(summary, a, b):
                continue
            above, below = _significant(row, a, b)
            if above:
                winners.append(f"{_NAMES.get(a, a)} on {', '.join(above)}")
            if below:
                losers.append(f"{_NAMES.get(a, a)} on {', '.join(below)}")
        if winners:
            beats.append(row["dataset"])
            parts.append("a network beats logistic regression: " + "; ".join(winners))
        elif any(_present(summary, a, b) for a, b in networks):
            parts.append("no network beats logistic regression")
        if losers:
            parts.append("below logistic regression: " + "; ".join(losers))
        lines.append(f"- **{row['dataset']}**: " + "; ".join(parts) + ".")
    n = len(summary)
    overall = []
    if _present(summary, "focal", "ce"):
        overall.append(
            f"Focal loss differs significantly from cross-entropy on {len(focal_differs)} of {n} "
            "data sets" + (f" ({', '.join(focal_differs)})" if focal_differs else "") + "."
        )
    if any(_present(summary, a, b) for a, b in networks):
        overall.append(
            f"A network beats logistic regression with an interval excluding zero on {len(beats)} "
            f"of {n} data sets" + (f" ({', '.join(beats)})" if beats else "") + "."
        )
    overall.append(_multiplicity(summary))
    return lines + ["", "Overall: " + " ".join(overall)]


def _multiplicity(summary: pd.DataFrame) -> str:
    """How many of the table's intervals exclude zero, against what chance alone gives."""
    total = excluding = 0
    for a, b in BENCHMARK_PAIRS:
        for key, _ in _SCORES:
            col = f"{a}-{b}_{key}"
            if f"{col}_low" not in summary.columns:
                continue
            low = summary[f"{col}_low"].to_numpy(dtype=float)
            high = summary[f"{col}_high"].to_numpy(dtype=float)
            ok = np.isfinite(low) & np.isfinite(high)
            total += int(ok.sum())
            excluding += int(((low > 0) | (high < 0))[ok].sum())
    return (
        f"Of the {total} paired intervals above, {excluding} exclude zero; with no true "
        f"difference about {total / 20:.0f} would at 95% by chance alone, so a single excluded "
        "interval is weak evidence."
    )


def format_summary_markdown(
    summary: pd.DataFrame, plan: Any, meta: dict[str, Any], methods: Any
) -> str:
    """summary.md: the data sets, each method's scores, the paired differences, the reading."""
    lines = []
    if meta.get("synthetic"):
        lines += [f"**{SYNTHETIC_BANNER}** (at least one row is synthetic)", ""]
    repeats, frozen = meta.get("repeats"), meta.get("protocol_repeats")
    note = "" if repeats == frozen else f" (the protocol file says {frozen}; --repeats overrode it)"
    prot = meta.get("protocol") or {}
    lines += [
        f"# Benchmark: the frozen comparison on {len(summary)} data set(s)",
        "",
        f"Protocol `{meta.get('protocol_file')}` version {meta.get('protocol_version')}, sha256 "
        f"`{meta.get('protocol_sha256')}`. {repeats} region-grouped {prot.get('folds')}-fold "
        f"partitions per data set{note}; target >= {prot.get('positive_threshold')} against the "
        "row's negative letters.",
        "Each score is the mean over the repeats of the method's forecast (networks: the "
        "seed-ensemble mean). AUC is each repeat's mean of per-fold AUCs; TSS, HSS, X recall and "
        "BSS pool each repeat's test rows. Differences A − B are paired (same rows), mean "
        f"[{int(round(100 * prot.get('level', 0.95)))}% interval] by the corrected repeated "
        "k-fold t-test (Nadeau & Bengio 2003): per fold for AUC, pooled per repeat for the others. "
        "Per-repeat values: <folder>/repeats.csv; every procedure: <folder>/repeated_comparison.csv.",
        "",
        "## Data sets",
        "",
        "| data set | negatives | n | positives | X events | X regions | regions | base rate | folder |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    folders = {r.name: r.folder for r in plan.rows}
    for _, r in summary.iterrows():
        lines.append(
            f"| {r['dataset']} | {r['negatives']} | {r['n']} | {r['positives']} | {r['x_events']} | "
            f"{r['x_regions']} | {r['regions']} | {r['base_rate']:.3f} | {folders.get(r['dataset'], '')} |"
        )
    present = [m for m in methods if f"{m}_auc" in summary.columns]
    for key, label in _SCORES:
        lines += [
            "",
            f"## {label} (mean over repeats)",
            "",
            "| data set | " + " | ".join(_NAMES.get(m, m) for m in present) + " |",
            "|---|" + "---|" * len(present),
        ]
        for _, r in summary.iterrows():
            cells = [_fmt(r[f"{m}_{key}"]) for m in present]
            lines.append(f"| {r['dataset']} | " + " | ".join(cells) + " |")
    for a, b in BENCHMARK_PAIRS:
        if not _present(summary, a, b):
            continue
        lines += [
            "",
            f"## {_pair_name(a, b)}",
            "",
            "| data set | " + " | ".join(label for _, label in _SCORES) + " |",
            "|---|" + "---|" * len(_SCORES),
        ]
        for _, r in summary.iterrows():
            cells = [_interval(r, f"{a}-{b}_{key}") for key, _ in _SCORES]
            lines.append(f"| {r['dataset']} | " + " | ".join(cells) + " |")
    lines += ["", "## Reading", "", *plain_reading(summary)]
    if plan.skipped:
        lines += [
            "",
            "## Left out",
            "",
            "| data set | rows | regions | reason |",
            "|---|---|---|---|",
        ]
        for s in plan.skipped:
            rows = "" if s.rows is None else str(s.rows)
            regions = "" if s.regions is None else str(s.regions)
            lines.append(f"| {s.dataset} | {rows} | {regions} | {s.reason} |")
    return "\n".join(lines) + "\n"


def forest_figure(summary: pd.DataFrame, synthetic: bool = False) -> Any:
    """Forest plot: per score, each data set's paired differences with their intervals."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pairs = [(a, b) for a, b in BENCHMARK_PAIRS if _present(summary, a, b)]
    n = len(summary)
    fig = Figure(figsize=(3.2 * len(_SCORES), 1.5 + 0.3 * n * max(len(pairs), 1)), dpi=110)
    fig.set_layout_engine("constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(_SCORES), sharey=True, squeeze=False)[0]
    offsets = np.linspace(-0.3, 0.3, len(pairs)) if len(pairs) > 1 else np.zeros(1)
    colours = {("focal", "ce"): "C3", ("ce", "logistic"): "C1"}
    spare = iter(["C4", "C5", "C2", "C6", "C8"])
    pair_colour = {p: colours.get(p) or next(spare) for p in pairs}
    ys = np.arange(n)[::-1]
    for ax, (key, label) in zip(axes, _SCORES, strict=True):
        ax.axvline(0.0, color="grey", lw=0.8)
        for offset, (a, b) in zip(offsets, pairs, strict=True):
            col = f"{a}-{b}_{key}"
            mean = summary[col].to_numpy(dtype=float)
            low = summary[f"{col}_low"].to_numpy(dtype=float)
            high = summary[f"{col}_high"].to_numpy(dtype=float)
            ok = np.isfinite(mean) & np.isfinite(low) & np.isfinite(high)
            ax.errorbar(
                mean[ok],
                ys[ok] + offset,
                xerr=[mean[ok] - low[ok], high[ok] - mean[ok]],
                fmt="o",
                ms=4,
                capsize=2,
                color=pair_colour[(a, b)],
                label=_pair_name(a, b),
            )
        ax.set_title(label)
        ax.set_xlabel("difference A − B")
    axes[0].set_yticks(ys, summary["dataset"].tolist())
    if pairs:
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=len(pairs), fontsize="small")
    title = "Paired differences per data set (mean, corrected repeated k-fold 95% interval)"
    if synthetic:
        title = "SYNTHETIC DATA - " + title
        fig.text(0.5, 0.5, "SYNTHETIC", fontsize=60, color="grey", alpha=0.15, ha="center",
                 va="center", rotation=30)  # fmt: skip
    fig.suptitle(title)
    return fig


def write_benchmark(
    folder: str | Path,
    summary: pd.DataFrame,
    differences: pd.DataFrame,
    plan: Any,
    meta: dict[str, Any],
    *,
    methods: Any,
) -> str:
    """Write summary.md, summary.csv, differences.csv, forest.png and run.json into ``folder``.

    Returns the Markdown of summary.md, for the command to print.
    """
    from flarecast.evaluation.figures import save_png
    from flarecast.io import atomic_open, atomic_path, write_json

    folder = Path(folder)
    synthetic = bool(meta.get("synthetic"))
    text = format_summary_markdown(summary, plan, meta, methods)
    with atomic_open(folder / "summary.md", "w") as fh:
        fh.write(text)
    with atomic_path(folder / "summary.csv") as tmp:
        summary.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_path(folder / "differences.csv") as tmp:
        differences.to_csv(tmp, index=False, float_format="%.6g")
    save_png(forest_figure(summary, synthetic), folder / "forest.png", synthetic)
    files = [*BENCHMARK_FILES, *[r.folder + "/" for r in plan.rows]]
    write_json(folder / "run.json", {**meta, "files": files})
    return text
