"""Retrain a saved model on a new flare catalogue and compare it with the old one on the latest period.

A retrain has four steps, each reusing the stage that owns it:

1. **Label** the SHARP series with the new catalogue
   (:mod:`flarecast.retrain.relabel`), with the base model's label window
   (the caller's choice, else what the base model folder records, else the
   defaults) and its history feature if it used one.
2. **Split by time** (:mod:`flarecast.retrain.holdout`): the hold-out is the
   latest period (from ``holdout_start``, or the last ``holdout_days`` days
   of labelled records, moved back until it holds ``holdout_min_positives``
   positive rows); the new model trains only on records before
   ``holdout_start - gap`` with ``gap = latency + horizon``, so no training
   label window reaches into the hold-out. Regions alive across the start
   are left out of training by default, so no region is on both sides.
3. **Train** the base model's recipe (:mod:`flarecast.retrain.fit`).
4. **Score both** models on the same hold-out rows, paired
   (:mod:`flarecast.retrain.compare`).

Nothing here writes files or touches the base model's folder; see
:mod:`flarecast.retrain.report` for the new model folder and the comparison,
and :mod:`flarecast.retrain.lineage` for what the new folder records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.retrain.base import BaseModel, read_base_model
from flarecast.retrain.compare import caveats, compare_on_holdout, subset_targets
from flarecast.retrain.config import RetrainConfig
from flarecast.retrain.fit import VALIDATION_FRACTION, fit_new_model, recipe_params
from flarecast.retrain.holdout import holdout_split, need_both_classes, suggest_start
from flarecast.retrain.lineage import (
    Lineage,
    base_model_lineage,
    catalogue_lineage,
    series_lineage,
    training_dataset,
)
from flarecast.retrain.relabel import DEFAULT_LABELLING, choose_labelling, relabel

__all__ = ["RetrainResult", "retrain"]


@dataclasses.dataclass
class RetrainResult:
    """Everything :func:`retrain` produced; :func:`flarecast.retrain.report.write_retrained` saves it.

    Attributes
    ----------
    model : FlareClassifier
        The new, fitted model.
    calibrator : Calibrator or None
        Fitted on the new validation rows with the base model's method.
    dataset : Dataset
        The training rows (labelled table before ``holdout_start - gap``).
    targets_definition : str
    base : BaseModel
    summary : flarecast.evaluation.bootstrap.Summary
        Methods "new" and "base" scored on the same hold-out and resamples.
    paired : pandas.DataFrame
        One row per score: new minus base, paired interval, ``p_boot``.
    predictions : pandas.DataFrame
        Hold-out rows: time, noaa_ar, goes_class, y, p_new, p_base, pred_new, pred_base.
    lineage : Lineage
        Provenance (base model, catalogue, series, labelling, hold-out, split).
    flags : list of str
        Caveats a reader must see beside the scores.
    fit_frame : pandas.DataFrame
        Training + validation rows (for the sidecar's forecast support).
    """

    model: Any
    calibrator: Any
    dataset: Any
    targets_definition: str
    base: BaseModel
    summary: Any
    paired: pd.DataFrame
    predictions: pd.DataFrame
    lineage: Lineage
    flags: list[str]
    fit_frame: pd.DataFrame


def retrain(
    base_folder: str | Path,
    series: pd.DataFrame,
    events: pd.DataFrame,
    config: RetrainConfig | None = None,
    *,
    harp_map: pd.DataFrame | None = None,
    callback: Callable[[int, dict[str, Any]], None] | None = None,
) -> RetrainResult:
    """Label ``series`` with ``events``, retrain the base model's recipe, score new and base on the hold-out.

    Parameters
    ----------
    base_folder : path
        The base model folder (read only).
    series : pandas.DataFrame
        SHARP series (:func:`flarecast.data.sharp.series.read_sharp_series`).
    events : pandas.DataFrame
        The new catalogue (:func:`flarecast.data.catalogues.read.read_catalogue`).
    config : RetrainConfig, optional
    harp_map : pandas.DataFrame, optional
        Label by HARP (see :func:`flarecast.labels.labelled_table`).
    callback : callable, optional
        Per-epoch training progress, see :func:`flarecast.training.loop.train_ensemble`.

    Returns
    -------
    RetrainResult

    Raises
    ------
    ModelFileError
        Unusable base model, or features the labelled series lacks.
    DataError
        A hold-out or training part without both classes.
    """
    from flarecast.targets import make_targets
    from flarecast.training.artifacts import load_model

    config = config or RetrainConfig()
    base = read_base_model(base_folder)
    base_clf = load_model(base.folder, device="cpu")  # checks the weights before the long part
    params = recipe_params(base.params, config.max_epochs, config.device)

    options = {k: getattr(config, k) for k in DEFAULT_LABELLING}
    lab, lab_source = choose_labelling(base.labelling, base.labelling_from, options)
    cleaned, table = relabel(
        series,
        events,
        lab,
        features=base.features,
        history=base.history,
        base_folder=base.folder,
        quality_zero=config.quality_zero,
        max_abs_lon=config.max_abs_lon,
        harp_map=harp_map,
    )
    targets = make_targets(table, base.negatives, base.positive_threshold)
    y = targets.y.astype(np.int64)

    gap = pd.Timedelta(lab["latency"]) + pd.Timedelta(lab["horizon"])
    train_idx, test_idx, holdout = holdout_split(
        targets.times,
        targets.groups,
        gap=gap,
        start=config.holdout_start,
        days=config.holdout_days,
        drop_straddling=config.drop_straddling,
        y=y,
        min_positives=config.holdout_min_positives,
    )
    _check_both_sides(targets, y, train_idx, test_idx, holdout, config)

    new = fit_new_model(params, targets, train_idx, base.calibration, callback)
    holdout_targets = subset_targets(targets, test_idx)
    comparison = compare_on_holdout(
        new.model,
        base_clf,
        base,
        holdout_targets,
        climatology=float(y[train_idx].mean()),  # one reference for both models' Brier skill
        n_boot=config.n_boot,
        seed=config.seed,
    )

    synthetic = bool(table.attrs.get("synthetic"))
    lineage = Lineage(
        base_model=base_model_lineage(base),
        catalogue=catalogue_lineage(table.attrs, events),
        sharp_series=series_lineage(table.attrs, series, cleaned),
        labelling={
            **lab,
            "history": base.history or "",
            "window": table.attrs["window"],
            "source": lab_source,
        },
        holdout=holdout,
        split={
            "method": "chronological hold-out, then inner_validation by region",
            "fraction": VALIDATION_FRACTION,
            "seed": int(params["seed"]),
            "fit_rows": len(new.fit_idx),
            "validation_rows": len(new.val_idx),
            "drop_straddling": config.drop_straddling,
        },
        synthetic=synthetic,
    )
    return RetrainResult(
        model=new.model,
        calibrator=new.calibrator,
        dataset=training_dataset(table, base.features, pd.Timestamp(holdout["start"]) - gap),
        targets_definition=targets.definition,
        base=base,
        summary=comparison.summary,
        paired=comparison.paired,
        predictions=comparison.predictions,
        lineage=lineage,
        flags=caveats(
            base,
            holdout,
            gap,
            int(holdout_targets.y.sum()),
            synthetic,
            bool(base.sidecar.get("synthetic")),
            lab_source,
        ),
        fit_frame=targets.frame.iloc[np.sort(np.concatenate([new.fit_idx, new.val_idx]))],
    )


def _check_both_sides(
    targets: Any,
    y: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    holdout: dict[str, Any],
    config: RetrainConfig,
) -> None:
    """Refuse a hold-out or training part with one class only, naming a hold-out start that would work."""
    index = pd.DatetimeIndex(targets.times)
    want = max(1, min(config.holdout_min_positives, int(y.sum()) // 2))
    start = suggest_start(index, y, want)
    hint = (
        f"--holdout-start {start:%Y-%m-%d} would hold {want} positive row(s)."
        if start is not None
        else f"The labelled records hold {int(y.sum())} positive row(s) in all: too few to split."
    )
    need_both_classes(
        y[test_idx],
        f"hold-out ({holdout['start']} to {holdout['end']})",
        targets.definition,
        f"Choose an earlier --holdout-start that includes flaring periods: {hint}",
    )
    need_both_classes(
        y[train_idx],
        f"training part (records before {holdout['start']} minus {holdout['gap']})",
        targets.definition,
        "Choose a later --holdout-start.",
    )
