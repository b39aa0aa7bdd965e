"""Outputs of a backtest: ``table.md``, ``table.csv``, ``predictions.parquet``, ``run.json`` and figures.

Every file is written atomically (:mod:`flarecast.io`); figures are drawn on
Agg-backed :class:`matplotlib.figure.Figure` objects, never through pyplot.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import TIME
from flarecast.errors import MetricWarning
from flarecast.evaluation.backtest import BacktestConfig, score
from flarecast.evaluation.blocks import block_bootstrap, block_interval, rotation_blocks
from flarecast.io import atomic_open, atomic_path, write_json

__all__ = ["skill_per_year", "markdown_table", "paired_differences", "write_backtest"]

_LEVELS = {"regions": "region-day", "disk": "full-disk day"}


def skill_per_year(pred: pd.DataFrame, config: BacktestConfig) -> pd.DataFrame:
    """BSS, ROC AUC and TSS of each method in each test year (no intervals)."""
    quick = dataclasses.replace(config, n_boot=0)
    rows = []
    for year, g in pred.groupby(pred[TIME].dt.year):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetricWarning)
            table = score(g, quick)
        rows.append(table[["method", "events", "bss", "roc_auc", "tss"]].assign(year=year))
    return pd.concat(rows, ignore_index=True)


def _pairs(methods: tuple[str, ...]) -> list[tuple[str, str]]:
    """(method, reference) pairs to compare: focal - CE, and each network - logistic regression / MCSTAT.

    The Platt-calibrated network rows are compared the same way.
    """
    pairs = []
    for suffix in ("", " (Platt)"):
        ce, focal = f"CE network{suffix}", f"focal network{suffix}"
        pairs += [(focal, ce)]
        pairs += [(net, ref) for net in (ce, focal)
                  for ref in ("logistic regression", "MCSTAT")]  # fmt: skip
    return [(a, b) for a, b in pairs if a in methods and b in methods]


def _pair_stats(y: np.ndarray, x: np.ndarray, p: np.ndarray, t: np.ndarray, c: np.ndarray) -> dict:
    pos, neg = p >= t, p < t
    tss = pos[y == 1].mean() - pos[y == 0].mean() if 0 < y.sum() < len(y) else np.nan
    ref = np.sum((c - y) ** 2)
    return {
        "bss": 1.0 - np.sum((p - y) ** 2) / ref if ref > 0 else np.nan,
        "tss": tss,
        "recall_x": 1.0 - neg[x == 1].mean() if x.any() else np.nan,
    }


def paired_differences(pred: pd.DataFrame, config: BacktestConfig) -> pd.DataFrame:
    """Method-minus-reference differences of BSS, TSS and X recall, with paired block-bootstrap intervals.

    Both methods are resampled with the same 27-day blocks, so the interval is
    that of the difference itself. Thresholds are each method's validation ones.
    """
    methods = tuple(pred["method"].unique())
    rows = []
    for a, b in _pairs(methods):
        ga = pred[pred["method"] == a].sort_values(["row" if "row" in pred else TIME, "fold"])
        gb = pred[pred["method"] == b].sort_values(["row" if "row" in pred else TIME, "fold"])
        y, x = ga["y"].to_numpy(dtype=int), ga["x_event"].to_numpy(dtype=int)
        cols = ("p", "threshold", "clim")
        A = [ga[k].to_numpy(dtype=float) for k in cols]
        B = [gb[k].to_numpy(dtype=float) for k in cols]

        def diff(i: np.ndarray, A=A, B=B, y=y, x=x) -> dict:
            sa = _pair_stats(y[i], x[i], *(v[i] for v in A))
            sb = _pair_stats(y[i], x[i], *(v[i] for v in B))
            return {k: sa[k] - sb[k] for k in sa}

        point = diff(np.arange(len(y)))
        resamples = block_bootstrap(rotation_blocks(ga[TIME], config.block_days),
                                    config.n_boot, config.seed)  # fmt: skip
        for key, value in point.items():
            low, high = block_interval(lambda i, key=key: diff(i)[key], resamples)
            rows.append({"method": a, "minus": b, "score": key, "difference": value,
                         "low": low, "high": high, "x_events": int(x.sum())})  # fmt: skip
    return pd.DataFrame(rows)


def _cell(row: pd.Series, key: str) -> str:
    value = f"{row[key]:+.3f}" if key == "bss" else f"{row[key]:.3f}"
    if f"{key}_low" in row and np.isfinite(row[f"{key}_low"]):
        value += f" [{row[f'{key}_low']:.2f}, {row[f'{key}_high']:.2f}]"
    return value


def markdown_table(table: pd.DataFrame, level: str, positive: str = "M") -> str:
    """One Markdown table of a score frame (:func:`flarecast.evaluation.backtest.score`).

    ``positive`` names the recall column of the event class (``recall_m`` in the frame).
    """
    head = ("| method | BSS [95%] | REL | RES | ROC AUC [95%] | TSS [95%] | HSS | ApSS | TSS@50% "
            f"| max TSS (test) | >={positive} recall | X recall |")  # fmt: skip
    lines = [f"**{level}** ({int(table['n'].iloc[0])} rows, {int(table['events'].iloc[0])} events, "
             f"base rate {table['base_rate'].iloc[0]:.3f})", "", head,
             "|---" * 12 + "|"]  # fmt: skip
    for _, r in table.iterrows():
        lines.append(
            f"| {r['method']} | {_cell(r, 'bss')} | {r['reliability']:.4f} | {r['resolution']:.4f} "
            f"| {_cell(r, 'roc_auc')} | {_cell(r, 'tss')} | {r['hss']:.3f} | {r['apss']:.3f} "
            f"| {r['tss_50']:.3f} | {r['tss_max_test']:.3f} | {r['recall_m']:.3f} | {r['recall_x']:.3f} |"
        )
    return "\n".join(lines)


def _figure(size: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def _reliability(result: dict[str, Any], path: Path) -> None:
    fig = _figure((11, 4.8))
    for ax, (key, level) in zip(fig.subplots(1, 2), _LEVELS.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        for name, g in result[key].groupby("method", sort=False):
            bins = np.minimum((g["p"].to_numpy() * 10).astype(int), 9)
            t = (
                g.assign(bin=bins)
                .groupby("bin")
                .agg(p=("p", "mean"), y=("y", "mean"), n=("y", "size"))
            )
            t = t[t["n"] >= 10]  # fewer rows give no usable frequency
            ax.plot(t["p"], t["y"], marker="o", ms=3, label=name)
        ax.set(title=f"Reliability, {level} (bins with >= 10 rows)", xlabel="forecast probability",
               ylabel="observed frequency", xlim=(0, 1), ylim=(0, 1))  # fmt: skip
    ax.legend(fontsize=7)
    _save(fig, path)


def _roc(result: dict[str, Any], path: Path) -> None:
    from sklearn.metrics import roc_curve

    fig = _figure((11, 4.8))
    for ax, (key, level) in zip(fig.subplots(1, 2), _LEVELS.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        for name, g in result[key].groupby("method", sort=False):
            if g["y"].nunique() == 2:
                fpr, tpr, _ = roc_curve(g["y"], g["p"])
                ax.plot(fpr, tpr, lw=1, label=name)
        ax.set(title=f"ROC, {level}", xlabel="false-alarm rate (POFD)", ylabel="hit rate (POD)")
    ax.legend(fontsize=7)
    _save(fig, path)


def _per_year(per_year: pd.DataFrame, path: Path) -> None:
    fig = _figure((11, 4.2))
    for ax, key in zip(fig.subplots(1, 2), ("bss", "tss"), strict=True):
        for name, g in per_year.groupby("method", sort=False):
            ax.plot(g["year"], g[key], marker="o", ms=3, label=name)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set(
            title=f"{key.upper()} per test year (region-days)", xlabel="year", ylabel=key.upper()
        )
    ax.legend(fontsize=7)
    _save(fig, path)


def _disk_series(
    result: dict[str, Any], path: Path, methods: tuple[str, ...], positive: str
) -> None:
    fig = _figure((12, 4.2))
    ax = fig.subplots()
    disk = result["disk"]
    for name in methods:
        g = disk[disk["method"] == name]
        ax.plot(g[TIME], g["p"], lw=0.6, label=f"P(>={positive}1.0) {name}")
    first = disk[disk["method"] == disk["method"].iloc[0]]
    hit = first[first["y"] == 1]
    ax.scatter(
        hit[TIME],
        np.full(len(hit), 1.02),
        s=4,
        color="black",
        label=f"observed >={positive}1.0 day",
    )
    ax.set(
        title="Full-disk probability and observed event days", ylabel="probability", ylim=(0, 1.05)
    )
    ax.legend(fontsize=7, loc="upper right")
    _save(fig, path)


def write_backtest(
    out: str | Path,
    result: dict[str, Any],
    config: BacktestConfig,
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """Score ``result`` (:func:`~flarecast.evaluation.backtest.run_backtest`) and write every output under ``out``.

    Returns
    -------
    dict
        ``tables``: score frame per level; ``paths``: written files.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = {key: score(result[key], config).assign(level=level) for key, level in _LEVELS.items()}
    both = pd.concat(tables.values(), ignore_index=True)
    with atomic_open(out / "table.csv", "w", newline="") as fh:
        both.to_csv(fh, index=False, float_format="%.6g")
    text = [f"# Backtest: {provenance.get('dataset')}, >= {config.positive}1.0, day "
            f"{config.horizon_days}, retrain={config.retrain}",
            "", *(markdown_table(tables[k], lvl, config.positive) + "\n"
                  for k, lvl in _LEVELS.items()),
            "TSS, HSS, ApSS and recalls use the threshold chosen on training-period validation years "
            "(TSS maximum); TSS@50% the fixed 50% threshold; max TSS (test) is the best threshold chosen "
            "on the test rows, not a forecast. Intervals: 95% block bootstrap over 27-day rotations "
            f"({config.n_boot} resamples). Full disk: 1 - prod(1 - p_i), regions assumed independent."]  # fmt: skip
    if any(m.endswith("(Platt)") for m in result["regions"]["method"].unique()):
        text[-1] += (" Network rows are raw scores; '(Platt)' rows are the same scores through a "
                     "Platt map fitted on the training-period validation years only.")  # fmt: skip
    labels = result.get("labels", {})
    if labels.get("unknown_rows"):
        text[-1] += (f" Day-{config.horizon_days} labels: {labels['unknown_rows']} of "
                     f"{labels['rows']} region-days have no row of the same region that day "
                     "(left the disk or not listed) and are left out as unknown.")  # fmt: skip
    tables["pairs"] = {k: paired_differences(result[k], config) for k in _LEVELS}
    for key, level in _LEVELS.items():
        pairs = tables["pairs"][key]
        if len(pairs):
            text += [
                "",
                f"**Paired differences, {level}** (95% block-bootstrap interval of the difference)",
                "",
                "| method | minus | score | difference [95%] |",
                "|---|---|---|---|",
            ]
            text += [f"| {r.method} | {r.minus} | {r.score} | {r.difference:+.3f} [{r.low:+.3f}, {r.high:+.3f}] |"
                     for r in pairs.itertuples()]  # fmt: skip
    with atomic_open(out / "table.md", "w") as fh:
        fh.write("\n".join(text) + "\n")
    preds = pd.concat([result["regions"].assign(level="region-day"),
                       result["disk"].assign(level="full-disk day")], ignore_index=True)  # fmt: skip
    with atomic_path(out / "predictions.parquet") as tmp:
        preds.to_parquet(tmp, index=False)
    per_year = skill_per_year(result["regions"], config)
    _reliability(result, out / "reliability.png")
    _roc(result, out / "roc.png")
    _per_year(per_year, out / "skill_per_year.png")
    shown = tuple(m for m in ("MCSTAT", "logistic regression") if m in config.methods)
    _disk_series(
        result, out / "full_disk_timeseries.png", shown or config.methods[:1], config.positive
    )
    write_json(out / "run.json", {
        "config": dataclasses.asdict(config), **provenance, "folds": result["folds"],
        "disk_truth": result["disk_truth"], "labels": result.get("labels"),
        "backoff": result["backoff"], "encodings": result["encodings"],
        "skill_per_year": per_year.to_dict(orient="records"),
        "paired_differences": {k: v.to_dict(orient="records") for k, v in tables["pairs"].items()},
    })  # fmt: skip
    names = ["table.md", "table.csv", "predictions.parquet", "run.json", "reliability.png",
             "roc.png", "skill_per_year.png", "full_disk_timeseries.png"]  # fmt: skip
    return {"tables": tables, "paths": [out / n for n in names]}
