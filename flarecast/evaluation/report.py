"""The comparison in words: the Markdown table with its facts, and a plain reading of it.

:func:`format_markdown` renders the table with its intervals and the facts a
reader needs to judge it (base rate beside HSS, the number of X events and
X-producing regions, the data set's caveats, any overlap of a scored table with
a model's training table), :func:`plain_reading` says in one paragraph what the
table does and does not show, and :func:`format_tune_markdown` renders the
alpha/gamma search. Text only; no files, no torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.evaluation.bootstrap import Summary

__all__ = [
    "SYNTHETIC_BANNER",
    "CLAIMED_GAIN",
    "caveat_lines",
    "markdown_table",
    "score_head",
    "format_markdown",
    "plain_reading",
    "format_tune_markdown",
]

SYNTHETIC_BANNER = "SYNTHETIC DATA: these numbers describe a generated data set, not the Sun."

#: The gain that motivated the comparison (focal minus CE), as reported without a protocol.
CLAIMED_GAIN = {"x_recall": 0.68 - 0.50, "hss": 0.60 - 0.45}

_NAMES = {
    "x_recall": "X-class recall",
    "recall": "recall (>= threshold)",
    "hss": "HSS",
    "tss": "TSS",
    "auc": "ROC AUC",
    "bss": "Brier skill score",
}


def markdown_table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table: the header, the rule under it, one line per row of cells."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def score_head(base_rate: float) -> list[str]:
    """The first columns of a table of scores: the method, then the scores at its threshold."""
    return ["method", "X recall", "recall", f"HSS (base rate {base_rate:.3f})", "TSS"]


def _fmt(v: float, digits: int = 2) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _ci(row: pd.Series, score: str) -> str:
    return f"{_fmt(row[score])} [{_fmt(row[score + '_lo'])}, {_fmt(row[score + '_hi'])}]"


def _header(table: pd.DataFrame, meta: dict[str, Any]) -> list[str]:
    first = table.iloc[0]
    lines = []
    if meta.get("synthetic"):
        lines += [f"**{SYNTHETIC_BANNER}**", ""]
    prot = meta.get("protocol", {})
    split = (
        f"{prot.get('folds')}-fold region-grouped stratified cross-validation"
        if prot.get("split", "kfold") == "kfold"
        else f"chronological hold-out: test from {prot.get('cutoff')}, gap {prot.get('gap')}"
    )
    published = (meta.get("split") or {}).get("folds")
    if published:  # a published split (reproduce --split-column / --train --test)
        split = f"published split ({meta['split']['column']!r}: {published} test fold(s))"
    model = meta.get("model")
    if model:
        how = (
            f"Model: {model['folder']} (trained on {model.get('trained_on') or '?'}; threshold "
            f"{model['threshold']:.3f} chosen at training time; nothing was refitted or re-chosen on this table)."
        )
        overlap = model.get("overlap") or {}
        if model.get("in_sample"):
            how += " IN-SAMPLE: this table is the model's training data, so these scores are optimistic."
        elif overlap.get("regions") or overlap.get("flares"):
            how += (
                f" OVERLAP: {overlap['regions']} of {overlap['of_regions']} test regions and "
                f"{overlap['flares']} of {overlap['of_flares']} flares (same region and GOES class) "
                "were in the model's training table, so these scores are not out-of-sample."
            )
    else:
        how = (
            f"Protocol: {split}; thresholds chosen on an inner validation split by region "
            f"(rule: {prot.get('threshold_metric', '?')}); networks: {prot.get('seeds', '?')} seeds per fold, "
            f"the table shows the seed-ensemble mean."
        )
    if model or prot.get("split", "kfold") != "kfold" or published == 1:
        pooled = "Scores are computed over the one test set (no folds)."
    else:
        pooled = (
            "Scores pool the out-of-fold test predictions, except ROC AUC, which is the mean of the "
            "per-fold AUCs (each fold's model has its own calibration)."
        )
    if meta.get("score_by") == "region":
        pooled += (
            " Each region of a test set is scored once: the mean probability over its records, "
            "positive if any of them is."
        )
    lines += [
        f"Data: {meta.get('dataset', '?')}; target: {meta.get('definition', '?')}.",
        how,
        f"Test rows: {int(first.n_test)} from {int(first.n_regions)} regions; positives {int(first.n_pos)} "
        f"(base rate {first.base_rate:.3f}); X events: {int(first.n_x)} from {int(first.n_x_regions)} regions.",
        f"Brackets: {int(round(100 * prot.get('level', 0.95)))}% intervals from {prot.get('n_boot', '?')} "
        f"bootstrap resamples of active regions. {pooled}",
    ]
    return lines + caveat_lines(meta)


def caveat_lines(meta: dict[str, Any]) -> list[str]:
    """The end of a table header: the flaring-only warning and the data set's caveats, then a blank line."""
    lines = []
    if meta.get("flaring_only"):
        lines.append(
            "Every sample is a flaring region (negatives are weaker flares, not quiet regions), so "
            "the base rate is far above an operational one and HSS is not comparable with AR-day studies."
        )
    if meta.get("data_notes"):
        # The data set's own caveats (a selection artefact, a flux scaling) belong beside its numbers.
        lines += ["", "Data caveats:"] + [f"- {note}" for note in meta["data_notes"]]
    lines.append("")
    return lines


def format_markdown(
    summary: Summary, meta: dict[str, Any], calibration: pd.DataFrame | None = None
) -> str:
    """The table, the paired comparison, notes and the plain reading, as Markdown.

    Parameters
    ----------
    summary : Summary
    meta : dict
        ``dataset``, ``synthetic``, ``definition``, ``protocol`` (a dict of
        :class:`~flarecast.evaluation.protocol.Protocol`), as written to run.json.
    calibration : pandas.DataFrame, optional
        From :func:`calibration_table`; adds a before/after calibration section.
    """
    table = summary.table
    base = table.iloc[0].base_rate
    title = (
        "Scores of a saved model"
        if meta.get("model")
        else "Focal loss vs cross-entropy: comparison table"
    )
    lines = [f"# {title}", ""] + _header(table, meta)
    head = [*score_head(base), "precision", "ROC AUC", "BSS", "HSS seed sd"]
    rows = [
        [
            r.label,
            *(_ci(r, s) for s in ("x_recall", "recall", "hss", "tss")),
            _fmt(r.precision),
            _ci(r, "auc"),
            _ci(r, "bss"),
            _fmt(r.hss_seed_sd, 3),
        ]
        for _, r in table.iterrows()
    ]
    lines += markdown_table(head, rows)
    if len(summary.comparison):
        lines += [
            "",
            "## Paired differences (same folds, seeds and resampled regions)",
            "",
            "| comparison | score | difference | interval | bootstrap p | significant |",
            "|---|---|---|---|---|---|",
        ]
        for _, c in summary.comparison.iterrows():
            lines.append(
                f"| {c.comparison} | {_NAMES.get(c.score, c.score)} | {c.difference:+.3f} | "
                f"[{c.lo:+.3f}, {c.hi:+.3f}] | {_fmt(c.p_boot, 3)} | {'yes' if c.significant else 'no'} |"
            )
    if calibration is not None and len(calibration):
        how = (
            f"The model's own calibrator: {meta['model'].get('calibration')}"
            if meta.get("model")
            else "Platt calibration fitted on each fold's inner validation rows (never the test fold)"
        )
        lines += [
            "",
            "## Calibration (see reliability.png)",
            "",
            f"{how}. It is monotone, so the decisions at a threshold, HSS, TSS and AUC are unchanged; "
            "it changes what a stated probability means.",
            "",
            "| method | mean forecast raw -> calibrated (observed) | Brier raw -> calibrated | "
            "BSS raw -> calibrated |",
            "|---|---|---|---|",
        ]
        for _, c in calibration.iterrows():
            lines.append(
                f"| {c.label} | {c.mean_raw:.3f} -> {c.mean_calibrated:.3f} ({c.observed_frequency:.3f}) | "
                f"{c.brier_raw:.4f} -> {c.brier_calibrated:.4f} | {_fmt(c.bss_raw, 3)} -> "
                f"{_fmt(c.bss_calibrated, 3)} |"
            )
    if summary.notes:
        lines += ["", "Notes:"] + [f"- {n}" for n in summary.notes]
    lines += ["", "## Reading", "", plain_reading(summary, meta), ""]
    return "\n".join(lines)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ". "


def _verb(c: pd.Series) -> str:
    if not c.significant:
        return "did not significantly change"
    return "significantly raised" if c.difference > 0 else "significantly lowered"


def plain_reading(summary: Summary, meta: dict[str, Any]) -> str:
    """One paragraph saying what the table shows, with the base rate and the X-event count.

    It reports the paired focal-minus-CE differences that are and are not
    significant, whether the originally claimed gain lies inside their
    intervals, and how many X events and regions the X recall rests on.
    """
    table = summary.table.set_index("method")
    first = table.iloc[0]
    prefix = "SYNTHETIC DATA, not the Sun: " if meta.get("synthetic") else ""
    facts = (
        f"the X recall rests on {int(first.n_x)} X events from {int(first.n_x_regions)} regions, "
        f"and HSS depends on the base rate, here {first.base_rate:.3f} "
        f"({int(first.n_pos)} positives in {int(first.n_test)} test rows)"
    )
    comp = summary.comparison
    pair = comp[comp.comparison == "focal - ce"] if len(comp) else comp
    if len(pair):
        by = pair.set_index("score")
        parts = []
        for score in ("x_recall", "hss", "tss", "auc"):
            if score in by.index:
                c = by.loc[score]
                parts.append(
                    f"{_verb(c)} {_NAMES[score]} ({table.loc['ce', score]:.2f} -> "
                    f"{table.loc['focal', score]:.2f}, difference {c.difference:+.2f}, "
                    f"interval [{c.lo:+.2f}, {c.hi:+.2f}])"
                )
        claim = []
        for score, gain in CLAIMED_GAIN.items():
            if score in by.index and not math.isnan(by.loc[score].lo):
                inside = by.loc[score].lo <= gain <= by.loc[score].hi
                claim.append(
                    f"the claimed {_NAMES[score]} gain of {gain:+.2f} is "
                    f"{'inside' if inside else 'outside'} the interval"
                )
        text = (
            f"{prefix}On this data ({meta.get('dataset', '?')}), compared with cross-entropy on the same "
            f"folds and seeds, focal loss "
            + "; ".join(parts)
            + ". "
            + (_sentence("; ".join(claim)) if claim else "")
        )
    elif meta.get("model"):
        r = table.iloc[0]
        text = (
            f"{prefix}On this data ({meta.get('dataset', '?')}) the saved model, trained on "
            f"{meta['model'].get('trained_on') or '?'}, reaches ROC AUC {_ci(r, 'auc')}, TSS {_ci(r, 'tss')}, "
            f"HSS {_ci(r, 'hss')} and X-class recall {_ci(r, 'x_recall')} at its training threshold. "
        )
        if meta["model"].get("in_sample"):
            text += "These are in-sample scores on its own training data. "
    else:
        best = table["tss"].idxmax() if table["tss"].notna().any() else table.index[0]
        text = (
            f"{prefix}On this data ({meta.get('dataset', '?')}) focal loss and cross-entropy were not both "
            f"run, so no paired comparison is made; the highest TSS is {table.loc[best, 'label']}'s "
            f"({_ci(table.loc[best], 'tss')}). "
        )
    refs = [m for m in ("logistic", "gboost") if m in table.index]
    if refs:
        best_ref = max(
            refs, key=lambda m: -np.inf if math.isnan(table.loc[m, "auc"]) else table.loc[m, "auc"]
        )
        text += (
            f"The best scikit-learn reference, {table.loc[best_ref, 'label']}, reaches ROC AUC "
            f"{_fmt(table.loc[best_ref, 'auc'])} and TSS {_fmt(table.loc[best_ref, 'tss'])}. "
        )
    text += _against_logistic(summary)
    return text + _sentence(facts).rstrip()


def _against_logistic(summary: Summary) -> str:
    """A sentence per network row on its paired ROC AUC and TSS differences from logistic regression."""
    comp = summary.comparison
    if not len(comp):
        return ""
    parts = []
    for method, name in (("ce", "cross-entropy"), ("focal", "focal-loss")):
        rows = comp[comp.comparison == f"{method} - logistic"].set_index("score")
        if {"auc", "tss"} <= set(rows.index):
            diffs = [
                f"{_NAMES[s]} {rows.loc[s, 'difference']:+.3f} [{rows.loc[s, 'lo']:+.3f}, "
                f"{rows.loc[s, 'hi']:+.3f}]"
                for s in ("auc", "tss")
            ]
            short = [_NAMES[s] for s in ("auc", "tss") if rows.loc[s, "difference"] < 0]
            parts.append(
                f"the {name} network {', '.join(diffs)} ("
                + (f"below it on {' and '.join(short)}" if short else "at or above it on both")
                + ")"
            )
    return _sentence("Against logistic regression, paired: " + "; ".join(parts)) if parts else ""


def format_tune_markdown(table: pd.DataFrame, meta: dict[str, Any]) -> str:
    """The alpha/gamma search of :func:`flarecast.evaluation.tune.tune_focal` as Markdown, with the choice stated."""
    key = str(table["select_by"].iloc[0])
    lines = ["# Focal-loss tuning (validation folds only)", ""]
    if meta.get("synthetic"):
        lines += [f"**{SYNTHETIC_BANNER}**", ""]
    prot = meta.get("protocol", {})
    lines += [
        f"Data: {meta.get('dataset', '?')}; target: {meta.get('definition', '?')}.",
        f"Each candidate is trained on the fit rows of every outer fold ({prot.get('split', '?')}, "
        f"{prot.get('seeds', '?')} seeds each) and scored on the fold's inner validation regions; no test "
        f"fold is scored. Stage 1 searches alpha at a fixed gamma, stage 2 gamma at the best alpha; "
        f"selection maximises {key.replace('val_', 'validation ').upper()} (mean over folds; TSS and HSS use "
        "the threshold chosen on the same validation rows, so they rank candidates but are optimistic).",
        "",
        "| stage | alpha | gamma | validation AUC | validation TSS | validation HSS | median best epoch | chosen |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| {int(r.stage)} | {r.alpha:g} | {r.gamma:g} | {_fmt(r.val_auc, 3)} ± {_fmt(r.val_auc_sd, 3)} | "
            f"{_fmt(r.val_tss, 3)} ± {_fmt(r.val_tss_sd, 3)} | {_fmt(r.val_hss, 3)} ± {_fmt(r.val_hss_sd, 3)} | "
            f"{_fmt(r.median_best_epoch, 0)} | {'**yes**' if r.selected else ''} |"
        )
    chosen = table[table["selected"]].iloc[0]
    lines += [
        "",
        f"Chosen: alpha = {chosen.alpha:g}, gamma = {chosen.gamma:g}. '±' is the spread over folds. "
        f"Score it on the test folds with `flarecast reproduce --dataset {meta.get('dataset', '?')} "
        f"--alpha {chosen.alpha:g} --gamma {chosen.gamma:g}`.",
        "",
    ]
    return "\n".join(lines)
