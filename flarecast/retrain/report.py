"""The side-by-side comparison of a retrained model with its base, and the new model folder.

:func:`comparison_frame` puts the two models' hold-out scores side by side,
one row per score, each with its region-bootstrap interval, plus the paired
new-minus-base difference; :func:`format_comparison` renders it as Markdown
with the facts needed to read it (hold-out period, base rate, event counts,
thresholds, lineage and caveats); :func:`write_retrained` writes the new model
folder: model files, ``comparison.md``, ``comparison.csv``,
``comparison.json`` and ``holdout_predictions.csv``.

The folder is assembled in a temporary sibling and renamed into place at the
end, so an interrupted retrain leaves no half-written model version, and a
finished one never replaces an existing folder. The base model's folder is
only ever read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from flarecast.errors import ConfigError
from flarecast.io import atomic_open, atomic_path, staged_folder, write_json

__all__ = ["COMPARISON_FILES", "comparison_frame", "format_comparison", "write_retrained"]

COMPARISON_FILES: tuple[str, ...] = (
    "comparison.md",
    "comparison.csv",
    "comparison.json",
    "holdout_predictions.csv",
)
_NAMES = {
    "x_recall": "X-class recall",
    "m_recall": "M-class recall",
    "recall": "recall (>= threshold)",
    "precision": "precision",
    "false_alarm_ratio": "false alarm ratio",
    "false_alarm_rate": "false alarm rate",
    "tss": "TSS",
    "hss": "HSS",
    "apss": "ApSS",
    "auc": "ROC AUC",
    "brier": "Brier score",
    "bss": "Brier skill score",
}


def comparison_frame(result: Any) -> pd.DataFrame:
    """One row per score: new and base values with intervals, and the paired difference.

    Parameters
    ----------
    result : flarecast.retrain.run.RetrainResult

    Returns
    -------
    pandas.DataFrame
        Columns ``score, new, new_lo, new_hi, base, base_lo, base_hi,
        difference, difference_lo, difference_hi, p_boot, significant``;
        intervals are percentile intervals over the same region resamples.
    """
    from flarecast.evaluation.bootstrap import interval

    summary = result.summary
    level = 0.95
    table = summary.table.set_index("method")
    rows = []
    for _, pair in result.paired.iterrows():
        score = pair["score"]
        row: dict[str, Any] = {"score": score}
        for method in ("new", "base"):
            lo, hi, _ = interval(summary.boot[method][score], level)
            row[method], row[f"{method}_lo"], row[f"{method}_hi"] = (
                float(table.loc[method, score]),
                lo,
                hi,
            )
        row.update(
            difference=pair["difference"],
            difference_lo=pair["lo"],
            difference_hi=pair["hi"],
            p_boot=pair["p_boot"],
            significant=pair["significant"],
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _json_ready(value: Any) -> Any:
    """NaN (an undefined score) as null: JSON has no NaN."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _json_ready(value.item())
    return value


def _f(value: Any, digits: int = 3) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def _counts(result: Any) -> dict[str, Any]:
    first = result.summary.table.iloc[0]
    letters = result.predictions["goes_class"].str[0]
    return {
        "rows": int(first.n_test),
        "regions": int(first.n_regions),
        "positives": int(first.n_pos),
        "base_rate": float(first.base_rate),
        "m_events": int((letters == "M").sum()),
        "x_events": int(first.n_x),
        "x_regions": int(first.n_x_regions),
        "threshold_new": float(result.model.threshold_),
        "threshold_base": float(
            result.summary.table.set_index("method").loc["base", "threshold_mean"]
        ),
    }


def format_comparison(result: Any, out_name: str = "new model") -> str:
    """The comparison as Markdown (what ``flarecast retrain`` prints and writes to comparison.md)."""
    from flarecast.evaluation.tables import SYNTHETIC_BANNER

    lin, c = result.lineage, _counts(result)
    hold, cat, base, lab = lin.holdout, lin.catalogue, lin.base_model, lin.labelling
    lines = ["# Retrained model vs base model on the same hold-out", ""]
    if lin.synthetic:
        lines += [f"**{SYNTHETIC_BANNER}**", ""]
    lines += [
        f"- New model: {out_name}, trained on {lin.split['fit_rows']} rows (+ {lin.split['validation_rows']} "
        f"validation rows for early stopping, threshold and calibration) with records before {hold['train_end']} "
        f"(hold-out start minus a {hold['gap']} gap; {hold['straddling_regions_dropped']} region(s) alive "
        f"across the start left out of training, {hold['straddling_rows_dropped']} rows).",
        f"- Base model: {base['id']} (trained on {base['trained_on'] or '?'}; training records up to "
        f"{base['training_cutoff'] or 'unrecorded'}). Its folder was only read.",
        f"- Catalogue: {cat['source']} ({cat['format']}, {cat['events']} events, sha256 {cat['sha256'][:16]}..., "
        f"flux scaling {cat['flux_scaling']}).",
        f"- Labels (both models are scored against these): {lab['window']}; target {result.targets_definition}. "
        f"Base model's own training labels: {base['window'] or 'not recorded'}.",
        f"- Hold-out: {c['rows']} records from {hold['start']} to {hold['end']} (start: "
        f"{hold.get('rule', 'given')}), {c['regions']} regions; "
        f"{c['positives']} positive (base rate {c['base_rate']:.3f}): {c['m_events']} M and {c['x_events']} X "
        f"records ({c['x_regions']} X-flaring regions).",
        f"- Thresholds, each chosen at its own training time: new {c['threshold_new']:.3f}, base "
        f"{c['threshold_base']:.3f}. BSS reference: the new training rows' base rate.",
        "",
        "| score | new | base | new - base | p_boot |",
        "|---|---|---|---|---|",
    ]
    for _, r in comparison_frame(result).iterrows():
        mark = " *" if r.significant else ""
        lines.append(
            f"| {_NAMES.get(r.score, r.score)} | {_f(r.new)} [{_f(r.new_lo)}, {_f(r.new_hi)}] | "
            f"{_f(r.base)} [{_f(r.base_lo)}, {_f(r.base_hi)}] | {_f(r.difference)} "
            f"[{_f(r.difference_lo)}, {_f(r.difference_hi)}]{mark} | {_f(r.p_boot, 2)} |"
        )
    n_boot = int(result.summary.boot["new"]["auc"].size)
    lines += [
        "",
        f"Brackets: 95% intervals from {n_boot} bootstrap resamples of active regions; the difference "
        "uses the same resamples for both models (paired); * = its interval excludes 0. They cover which regions "
        "were observed, not training randomness: another seed can move a model's threshold, and with it "
        "recall and TSS, which these intervals do not include (more ensemble members average it out).",
        "",
    ]
    notes = [*result.flags, *result.summary.notes]
    if notes:
        lines += ["Caveats:", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def _check_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(
            f"--out {out} appeared while retraining and is not empty; nothing was overwritten. "
            "Choose a new folder name."
        )


def write_retrained(
    result: Any,
    out: str | Path,
    *,
    extra: dict[str, Any] | None = None,
    writers: Sequence[Callable[[Path], None]] = (),
) -> Path:
    """Write the new model folder with its comparison; never replace an existing folder.

    Parameters
    ----------
    result : flarecast.retrain.run.RetrainResult
    out : path
        The new folder; must not exist or be empty (see :func:`flarecast.retrain.run.check_out_folder`).
    extra : dict, optional
        More JSON-ready provenance for the sidecar (command line, options).
    writers : sequence of callables
        Each is called with the folder being assembled, to add files (e.g. ``train.toml``).

    Returns
    -------
    Path
        ``out``.
    """
    from flarecast.evaluation.calibration import save_calibrator
    from flarecast.evaluation.tables import provenance
    from flarecast.forecast.support import forecast_support
    from flarecast.training.artifacts import save_model

    out = Path(out)
    _check_target(out)
    # _check_target again under the lock, at the swap: an out that appeared meanwhile is kept.
    with staged_folder(out, staging=".{name}.partial-{id}", check=_check_target) as tmp:
        fit = result.fit_frame
        features = list(result.base.features)
        sidecar_extra = {
            "command": "flarecast retrain",
            **(extra or {}),
            "lineage": result.lineage.to_dict(),
            "split": result.lineage.split,
            "notes": list(result.dataset.notes),
            "forecast": forecast_support(fit[features], fit["peak_flux"], fit["time"]),
        }
        save_model(
            result.model,
            tmp,
            dataset=result.dataset,
            targets_definition=result.targets_definition,
            extra=sidecar_extra,
        )
        if result.calibrator is not None:
            save_calibrator(tmp, result.calibrator)
        for write in writers:
            write(tmp)
        text = format_comparison(result, out.name)
        with atomic_open(tmp / "comparison.md", "w") as fh:
            fh.write(text)
        frame = comparison_frame(result)
        hold = result.lineage.holdout
        csv = frame.assign(
            holdout_start=hold["start"],
            holdout_end=hold["end"],
            **_counts(result),
            synthetic=result.lineage.synthetic,
        )
        with atomic_path(tmp / "comparison.csv") as path:
            csv.to_csv(path, index=False, float_format="%.6g")
        write_json(
            tmp / "comparison.json",
            _json_ready(
                {
                    "synthetic": result.lineage.synthetic,
                    "new_model": out.name,
                    "counts": _counts(result),
                    "scores": frame.to_dict(orient="records"),
                    "caveats": [*result.flags, *result.summary.notes],
                    "lineage": result.lineage.to_dict(),
                    **provenance(),
                }
            ),
        )
        preds = result.predictions.copy()
        if result.lineage.synthetic:
            preds["note"] = "SYNTHETIC data"
        with atomic_path(tmp / "holdout_predictions.csv") as path:
            preds.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ", float_format="%.6g")
    return out
