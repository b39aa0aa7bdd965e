"""Step 4 of a retrain: score the new and the base model on the same hold-out rows, paired.

Each model is scored with the scorer of ``flarecast evaluate``
(:func:`flarecast.evaluation.score.score_model`) at its own threshold, against
one Brier-skill reference (the new training rows' base rate), and both are
summarised on the *same* region-bootstrap resamples
(:func:`flarecast.evaluation.bootstrap.summarise`), so the new-minus-base
differences are paired. :func:`caveats` lists what a reader must see beside
the scores.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from flarecast.retrain.base import BaseModel

__all__ = ["Comparison", "subset_targets", "compare_on_holdout", "paired_differences", "caveats"]

#: Fewer positive hold-out rows than this make the intervals too wide to read much into.
FEW_POSITIVES = 20


@dataclasses.dataclass
class Comparison:
    """The two models on the hold-out: summary, paired differences, per-row predictions."""

    summary: Any
    paired: pd.DataFrame
    predictions: pd.DataFrame


def subset_targets(targets: Any, idx: np.ndarray) -> Any:
    """The rows ``idx`` of a :class:`flarecast.targets.Targets`, renumbered from 0."""
    return dataclasses.replace(
        targets,
        frame=targets.frame.iloc[idx].reset_index(drop=True),
        y=targets.y[idx],
        letter=targets.letter[idx],
        groups=targets.groups[idx],
        times=targets.times.iloc[idx].reset_index(drop=True),
    )


def compare_on_holdout(
    new_model: Any,
    base_model: Any,
    base: BaseModel,
    holdout_targets: Any,
    *,
    climatology: float,
    n_boot: int,
    seed: int,
) -> Comparison:
    """Score ``new_model`` and ``base_model`` on ``holdout_targets`` and pair them.

    Parameters
    ----------
    new_model, base_model : fitted classifiers with ``threshold_``
    base : BaseModel
        For the base model's features and id.
    holdout_targets : flarecast.targets.Targets
    climatology : float
        The Brier-skill reference for both models.
    n_boot, seed : int
        Region bootstrap resamples and their seed.
    """
    from flarecast.data.schema import GOES_CLASS, NOAA_AR, TIME
    from flarecast.evaluation.bootstrap import summarise
    from flarecast.evaluation.protocol import ProtocolResult
    from flarecast.evaluation.score import score_model

    parts = [
        score_model(
            m,
            holdout_targets,
            base.features,
            threshold=float(m.threshold_),
            climatology=climatology,
            name=name,
            label=label,
            n_boot=n_boot,
            seed=seed,
        )
        for m, name, label in (
            (new_model, "new", "new (retrained)"),
            (base_model, "base", f"base ({base.model_id})"),
        )
    ]
    result = ProtocolResult(
        parts[0].protocol,
        parts[0].folds,
        pd.concat([p.predictions for p in parts], ignore_index=True),
        {"new": parts[0].labels["new"], "base": parts[1].labels["base"]},
        {"new": 0.0, "base": 0.0},
        {"new": [], "base": []},
    )
    summary = summarise(result)
    pred = result.predictions[result.predictions["seed"] == -1]
    p_of = {m: pred[pred["method"] == m].sort_values("row") for m in ("new", "base")}
    predictions = pd.DataFrame(
        {
            TIME: holdout_targets.frame[TIME],
            NOAA_AR: holdout_targets.frame[NOAA_AR],
            GOES_CLASS: holdout_targets.frame[GOES_CLASS],
            "y": holdout_targets.y.astype(np.int8),
            **{f"p_{m}": p_of[m]["p"].to_numpy() for m in p_of},
            **{f"pred_{m}": p_of[m]["pred"].to_numpy() for m in p_of},
        }
    )
    return Comparison(summary, paired_differences(summary, result.protocol.level), predictions)


def paired_differences(summary: Any, level: float) -> pd.DataFrame:
    """One row per score: new minus base, its paired interval, ``p_boot`` and whether it excludes 0."""
    from flarecast.evaluation.bootstrap import SCORES, interval

    rows = []
    table = summary.table.set_index("method")
    for score in (s for s in SCORES if s != "base_rate"):  # the base rate is the same rows for both
        diff = summary.boot["new"][score] - summary.boot["base"][score]
        lo, hi, n_nan = interval(diff, level)
        ok = diff[~np.isnan(diff)]
        # Two-sided bootstrap p with ties at zero split evenly, as flarecast.evaluation.bootstrap.summarise does.
        below = np.mean(ok < 0) + 0.5 * np.mean(ok == 0) if ok.size else np.nan
        rows.append(
            {
                "score": score,
                "difference": float(table.loc["new", score] - table.loc["base", score]),
                "lo": lo,
                "hi": hi,
                "n_undefined": n_nan,
                "p_boot": float(min(1.0, 2 * min(below, 1 - below))) if ok.size else float("nan"),
                "significant": bool(lo > 0 or hi < 0),
            }
        )
    return pd.DataFrame(rows)


def caveats(
    base: BaseModel,
    holdout: dict[str, Any],
    gap: pd.Timedelta,
    n_pos: int,
    synthetic: bool,
    base_synthetic: bool,
    labelling_source: dict[str, str],
) -> list[str]:
    """What a reader must see beside the scores: leakage into the hold-out, few positives,
    a SYNTHETIC mismatch, a label window the base model folder does not record, a moved hold-out."""
    flags = []
    start = pd.Timestamp(holdout["start"])
    if base.training_cutoff is None:
        flags.append(
            "The base model's sidecar does not record its training period: whether it saw records "
            "of the hold-out period is unknown."
        )
    elif base.training_cutoff >= start - gap:
        flags.append(
            f"The base model's training records run to {base.training_cutoff.isoformat()}, past the "
            f"hold-out start minus the gap ({(start - gap).isoformat()}): it has seen part of the "
            "hold-out period (with its own labels), so its scores there are optimistic and the "
            "comparison favours the base model."
        )
    if n_pos < FEW_POSITIVES:
        flags.append(
            f"Only {n_pos} positive hold-out rows: the intervals are wide and small differences "
            "mean little."
        )
    if synthetic != base_synthetic:
        which = "the new training data are" if synthetic else "the base model's training data were"
        flags.append(f"SYNTHETIC mismatch: {which} synthetic.")
    defaulted = [k for k, v in labelling_source.items() if v == "default"]
    if defaulted:
        flags.append(
            f"The base model folder does not record how its training labels were made, so "
            f"{', '.join(defaulted)} took the default(s); if the base model was trained on other "
            "labels, the comparison mixes two questions. Pass --event-time, --horizon and --latency "
            "as the base model's labels were made."
        )
    if holdout.get("rule", "").startswith("moved back"):
        flags.append(f"Default hold-out {holdout['rule']}: it starts {holdout['start']}.")
    return flags
