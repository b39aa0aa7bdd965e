"""The comparison over R repeated partitions in words and one figure: table.md and intervals.png.

:func:`format_repeated_markdown` renders table.csv and comparison.csv of a
repeated run (:mod:`flarecast.evaluation.repeated_table`, which explains how
each column aggregates) with the facts a reader needs: the rows and X events
the scores rest on, how the table aggregates, the interval procedure, how many
network configurations have been scored on these test folds, and a plain
reading. :func:`repeated_interval_figure` draws the same intervals. No torch;
matplotlib is imported when the figure is drawn.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from flarecast.evaluation.repeated_table import SCORE_NAMES
from flarecast.evaluation.report import (
    CLAIMED_GAIN,
    SYNTHETIC_BANNER,
    caveat_lines,
    markdown_table,
    score_head,
)

__all__ = ["format_repeated_markdown", "repeated_reading", "repeated_interval_figure"]


def _fmt(v: float, digits: int = 3) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _signed(v: float) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:+.3f}"


def _ci(row: pd.Series, score: str) -> str:
    return f"{_fmt(row[score])} [{_fmt(row[score + '_lo'])}, {_fmt(row[score + '_hi'])}]"


def _header(table: pd.DataFrame, meta: dict[str, Any]) -> list[str]:
    first = table.iloc[0]
    prot = meta.get("protocol") or {}
    rep = meta.get("repeats") or {}
    repeats, folds = rep.get("repeats"), prot.get("folds")
    level = int(round(100 * prot.get("level", 0.95)))
    configurations = meta.get("configurations_scored") or []
    lines = [f"**{SYNTHETIC_BANNER}**", ""] if meta.get("synthetic") else []
    lines += [
        f"Data: {meta.get('dataset', '?')}; target: {meta.get('definition', '?')}.",
        f"Protocol: {repeats} repeats of {folds}-fold region-grouped stratified cross-validation; "
        "each repeat has its own folds, inner validation split by region and network seeds "
        "(repeat 0 is the single-partition run of the same seed). Thresholds chosen on the inner "
        f"validation split (rule: {prot.get('threshold_metric', '?')}); networks: "
        f"{prot.get('seeds', '?')} seeds per fold.",
        f"Test rows (every row once per repeat): {int(first.n_test)} from {int(first.n_regions)} "
        f"regions; positives {int(first.n_pos)} (base rate {first.base_rate:.3f}); X events: "
        f"{int(first.n_x)} from {int(first.n_x_regions)} regions.",
        f"How the table aggregates: each figure is the mean over the {repeats} repeats. ROC AUC is "
        "each repeat's mean of per-fold AUCs (table.csv: auc_pooled pools the folds); TSS, HSS, "
        "recall, X recall and BSS pool each repeat's test rows. Network rows are the seed-ensemble "
        "forecast (table.csv: <score>_per_seed is the mean of the members' own figures).",
        f"Brackets: {level}% intervals of the mean from the corrected repeated k-fold t-test "
        "(Nadeau & Bengio 2003) over the per-fold AUCs and over the per-repeat values of the other "
        "scores; they hold partition and seed variance but not the sampling of the regions (every "
        "repeat tests the same rows). Paired differences below use the same procedure on the "
        "differences (per fold for AUC, per repeat for the others).",
        f"Network configurations scored on these test folds so far: {len(configurations)} "
        f"({'; '.join(configurations)}).",
    ]
    if meta.get("protocol_sha256"):
        lines.append(
            f"Frozen protocol: {meta.get('protocol_file')} version {meta.get('protocol_version')}, "
            f"sha256 {meta['protocol_sha256']}."
        )
    return lines + caveat_lines(meta)


def format_repeated_markdown(
    table: pd.DataFrame, comparison: pd.DataFrame, meta: dict[str, Any]
) -> str:
    """table.md of a repeated run: the table, the paired differences and the plain reading.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`flarecast.evaluation.repeated_table.repeated_table`.
    comparison : pandas.DataFrame
        From :func:`flarecast.evaluation.repeated_table.repeated_comparison_frame`.
    meta : dict
        run.json's content: ``dataset``, ``synthetic``, ``definition``, ``protocol``,
        ``repeats``, ``configurations_scored`` and optionally the frozen protocol's record.
    """
    repeats = (meta.get("repeats") or {}).get("repeats")
    base = table.iloc[0].base_rate
    lines = [f"# Focal loss vs cross-entropy: comparison table over {repeats} partitions", ""]
    lines += _header(table, meta)
    head = [*score_head(base), "ROC AUC (fold mean)", "BSS", "HSS per seed"]
    rows = [
        [
            r.label,
            *(_ci(r, s) for s in ("x_recall", "recall", "hss", "tss", "auc", "bss")),
            _fmt(r.hss_per_seed),
        ]
        for _, r in table.iterrows()
    ]
    lines += markdown_table(head, rows)
    if len(comparison):
        lines += [
            "",
            f"## Paired differences (same rows, folds and seeds; {repeats} partitions)",
            "",
            "| comparison | score | difference | interval | p | significant |",
            "|---|---|---|---|---|---|",
        ]
        for _, c in comparison.iterrows():
            lines.append(
                f"| {c.comparison} | {SCORE_NAMES.get(c.score, c.score)} | {_signed(c.difference)} | "
                f"[{_signed(c.lo)}, {_signed(c.hi)}] | {_fmt(c.p_value)} | "
                f"{'yes' if c.significant else 'no'} |"
            )
    lines += [
        "",
        "Per-repeat values: repeats.csv; both procedures for every score: repeated_comparison.csv. "
        "partition0.md, partition0.csv and partition0_comparison.csv are repeat 0 alone with "
        "region-bootstrap intervals (they hold the partition and seeds fixed); predictions.parquet, "
        "calibration.csv and the ROC, reliability and skill figures describe repeat 0 too.",
        "",
        "## Reading",
        "",
        repeated_reading(table, comparison, meta),
        "",
    ]
    return "\n".join(lines)


def _verdict(c: pd.Series) -> str:
    if not c.significant:
        return "no significant difference"
    return "significantly higher" if c.difference > 0 else "significantly lower"


def repeated_reading(table: pd.DataFrame, comparison: pd.DataFrame, meta: dict[str, Any]) -> str:
    """One paragraph: focal minus CE, the networks against logistic regression, and the facts."""
    rows = table.set_index("method")
    first = table.iloc[0]
    repeats = (meta.get("repeats") or {}).get("repeats")
    text = "SYNTHETIC DATA, not the Sun: " if meta.get("synthetic") else ""
    comp = comparison.set_index(["comparison", "score"]) if len(comparison) else None
    if comp is not None and ("focal - ce", "hss") in comp.index:
        parts = []
        for score in ("hss", "tss", "auc", "x_recall"):
            if ("focal - ce", score) in comp.index:
                c = comp.loc[("focal - ce", score)]
                parts.append(
                    f"{SCORE_NAMES[score]} {_signed(c.difference)} [{_signed(c.lo)}, "
                    f"{_signed(c.hi)}] ({_verdict(c)})"
                )
        text += (
            f"On this data ({meta.get('dataset', '?')}), over {repeats} partitions, focal loss minus "
            f"cross-entropy (paired): " + "; ".join(parts) + ". "
        )
        claims = []
        for score, gain in CLAIMED_GAIN.items():
            if ("focal - ce", score) in comp.index:
                c = comp.loc[("focal - ce", score)]
                if math.isfinite(c.lo):
                    where = "inside" if c.lo <= gain <= c.hi else "outside"
                    claims.append(
                        f"the claimed {SCORE_NAMES[score]} gain of {gain:+.2f} lies {where} its interval"
                    )
        if claims:
            said = "; ".join(claims)
            text += said[:1].upper() + said[1:] + ". "
    else:
        text += (
            f"On this data ({meta.get('dataset', '?')}) focal loss and cross-entropy were not both "
            "run, so no focal-minus-CE difference is made. "
        )
    against = []
    for method in ("ce", "focal", "weighted-ce", "gboost"):
        key = f"{method} - logistic"
        if comp is not None and (key, "auc") in comp.index and (key, "tss") in comp.index:
            auc, tss = comp.loc[(key, "auc")], comp.loc[(key, "tss")]
            above = auc.lo > 0 or tss.lo > 0
            against.append(
                f"{rows.loc[method, 'label'] if method in rows.index else method}: ROC AUC "
                f"{_signed(auc.difference)} [{_signed(auc.lo)}, {_signed(auc.hi)}], TSS "
                f"{_signed(tss.difference)} [{_signed(tss.lo)}, {_signed(tss.hi)}]"
                + (" (significantly above)" if above else "")
            )
    if against:
        text += "Against logistic regression, paired: " + "; ".join(against) + ". "
    text += (
        f"X recall rests on {int(first.n_x)} X events from {int(first.n_x_regions)} regions, and "
        f"HSS depends on the base rate, here {first.base_rate:.3f}."
    )
    return text


def repeated_interval_figure(
    table: pd.DataFrame, comparison: pd.DataFrame, meta: dict[str, Any], synthetic: bool = False
) -> Any:
    """intervals.png of a repeated run: X recall and HSS per method, and the paired differences.

    Every bar is a corrected repeated k-fold interval (the ones of table.md).
    """
    from flarecast.evaluation.figures import figure_canvas, finish_figure, method_colours

    pairs = comparison[comparison["score"].isin(["hss", "tss", "auc", "x_recall"])]
    fig = figure_canvas((10, 2.5 + 0.45 * len(table) + 0.3 * len(pairs)))
    grid = fig.add_gridspec(2, 2, height_ratios=[len(table) + 1, max(len(pairs), 1) + 1])
    axes = [fig.add_subplot(grid[0, 0])]
    axes.append(fig.add_subplot(grid[0, 1], sharey=axes[0]))
    ypos = np.arange(len(table))[::-1]
    colours = method_colours(table["method"])
    for ax, score in zip(axes, ("x_recall", "hss"), strict=True):
        v, lo, hi = (table[c].to_numpy(dtype=float) for c in (score, f"{score}_lo", f"{score}_hi"))
        for k, method in enumerate(table["method"]):
            err = [[np.nan_to_num(v[k] - lo[k])], [np.nan_to_num(hi[k] - v[k])]]
            ax.errorbar(v[k], ypos[k], xerr=err, fmt="o", capsize=3, color=colours[method])
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set(xlabel=f"{SCORE_NAMES[score]} (mean over repeats)")
    first = table.iloc[0]
    axes[0].set_title(
        f"{int(first.n_x)} X events from {int(first.n_x_regions)} regions", fontsize=9
    )
    axes[1].set_title(f"base rate {first.base_rate:.3f}", fontsize=9)
    axes[0].set_yticks(ypos, table["label"])
    axes[1].tick_params(labelleft=False)
    diff = fig.add_subplot(grid[1, :])
    dpos = np.arange(len(pairs))[::-1]
    for k, (_, c) in enumerate(pairs.iterrows()):
        err = [[np.nan_to_num(c.difference - c.lo)], [np.nan_to_num(c.hi - c.difference)]]
        colour = "C3" if c.significant else "black"
        diff.errorbar(c.difference, dpos[k], xerr=err, fmt="o", capsize=3, color=colour)
    diff.axvline(0, color="grey", linewidth=0.8)
    diff.set_yticks(dpos, [f"{c.comparison}: {SCORE_NAMES[c.score]}" for _, c in pairs.iterrows()])
    diff.set(xlabel="paired difference A - B (red: interval excludes 0)")
    repeats = (meta.get("repeats") or {}).get("repeats")
    level = int(round(100 * (meta.get("protocol") or {}).get("level", 0.95)))
    return finish_figure(
        fig,
        f"{meta.get('dataset', '?')}: means over {repeats} partitions, {level}% corrected "
        "repeated k-fold intervals",
        synthetic,
    )
