"""Score one fitted model on a labelled table (``flarecast evaluate``).

The model keeps everything it chose at training time: its features, its
transform and its decision threshold. Nothing is refitted or re-chosen on the
table being scored, so the scores are honest out-of-sample numbers whenever
the table was not part of the training data (:func:`same_data` checks the
recorded checksum). The output is a :class:`~flarecast.evaluation.protocol.ProtocolResult`
with a single "fold", so :func:`flarecast.evaluation.bootstrap.summarise` (region
bootstrap) and :func:`flarecast.evaluation.tables.write_outputs` apply unchanged.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.footprint import table_footprint
from flarecast.data.schema import NOAA_AR, TIME
from flarecast.errors import ModelFileError
from flarecast.evaluation.protocol import Fold, Protocol, ProtocolResult

__all__ = [
    "definition_targets",
    "score_model",
    "same_data",
    "Overlap",
    "training_overlap",
]


def definition_targets(definition: str) -> tuple[tuple[str, ...], str] | None:
    """Negatives and positive threshold from a class definition such as ``"positive: >= M1.0; negative: B, C"``.

    Returns ``None`` when the text does not have that form (then the caller
    must be told the target explicitly).
    """
    match = re.fullmatch(r"\s*positive:\s*>=\s*(\S+?);\s*negative:\s*(.+?)\s*", definition or "")
    if not match:
        return None
    letters = tuple(part.strip()[0] for part in match.group(2).split(",") if part.strip())
    if not letters or any(ltr not in "NABCMX" for ltr in letters):
        return None
    return letters, match.group(1)


def same_data(sidecar: dict[str, Any], dataset: Any) -> bool:
    """True when the model's recorded training data has the same checksum as ``dataset``."""
    data = sidecar.get("data") or {}
    return bool(data.get("sha256")) and data.get("sha256") == getattr(dataset, "sha256", None)


@dataclasses.dataclass(frozen=True)
class Overlap:
    """How much of a scored table the model saw in training.

    ``regions``/``flares``: the table's distinct regions and flares (:func:`flarecast.data.footprint.table_footprint`)
    that were in the training table, of ``n_regions``/``n_flares``. ``same_checksum``: the
    table is the training table itself. ``known``: the model folder recorded its training
    regions (older folders record only the checksum).
    """

    regions: int
    n_regions: int
    flares: int
    n_flares: int
    same_checksum: bool
    known: bool

    @property
    def any(self) -> bool:
        return self.same_checksum or self.regions > 0 or self.flares > 0

    def describe(self, trained_on: str) -> str:
        """One sentence for the user, e.g. "412 of 799 test regions (52%) and ... were in ..."."""
        if self.same_checksum:
            return (
                f"the table is the model's training data ({trained_on}, same checksum); "
                "scores are in-sample"
            )
        share = self.regions / self.n_regions if self.n_regions else 0.0
        return (
            f"{self.regions} of {self.n_regions} test regions ({share:.0%}) and {self.flares} of "
            f"{self.n_flares} flares (same region and GOES class) were in the model's training "
            f"table ({trained_on}); scores on them are not out-of-sample"
        )


def training_overlap(sidecar: dict[str, Any], dataset: Any) -> Overlap:
    """Compare a table with the training table recorded in a model folder's ``model.json``.

    Uses ``data.regions`` and ``data.flares`` where the folder records them; an older folder
    records only the checksum, so then only an identical table is recognised.
    """
    recorded = sidecar.get("data") or {}
    mine = table_footprint(dataset.frame)
    same = same_data(sidecar, dataset)
    regions, flares = recorded.get("regions"), recorded.get("flares")
    known = isinstance(regions, list) and isinstance(flares, list)
    if not known:
        n_r, n_f = len(mine["regions"]), len(mine["flares"])
        return Overlap(n_r if same else 0, n_r, n_f if same else 0, n_f, same, False)
    seen_regions = {int(r) for r in regions}
    seen_flares = {str(f) for f in flares}
    return Overlap(
        sum(r in seen_regions for r in mine["regions"]),
        len(mine["regions"]),
        sum(f in seen_flares for f in mine["flares"]),
        len(mine["flares"]),
        same,
        True,
    )


def score_model(
    model: Any,
    targets: Any,
    features: Sequence[str],
    *,
    threshold: float,
    climatology: float,
    name: str = "model",
    label: str = "saved model",
    n_boot: int = 1000,
    seed: int = 0,
    calibrator: Any = None,
) -> ProtocolResult:
    """Predict every row of ``targets`` with a fitted model; package the result for scoring.

    Parameters
    ----------
    model : fitted classifier
        ``predict_proba``; ``predict_proba_members`` too for a seed ensemble. A
        model whose ``model`` attribute is "sequence" also gets the time and
        region columns, from which it builds its record windows.
    targets : flarecast.targets.Targets
    features : sequence of str
        Columns in the model's order; all must be in ``targets.frame``.
    threshold : float
        The model's decision threshold (chosen at training time).
    climatology : float
        Base rate of the model's training data, the Brier skill score reference.
    name, label : str
        Method name and label in the table.
    n_boot, seed : int
        Region bootstrap settings carried in the result's protocol.
    calibrator : flarecast.evaluation.calibration.Calibrator, optional
        The model's own calibrator (fitted on its validation rows at training
        time); fills ``p_calibrated`` of the model's forecast. Default: NaN.

    Returns
    -------
    ProtocolResult
        One fold (index 0) whose test rows are all rows.
    """
    missing = [f for f in features if f not in targets.frame.columns]
    if missing:
        raise ModelFileError(
            f"the model needs feature column(s) {missing}, which the table lacks; "
            f"it has {[c for c in targets.frame.columns if c not in ('time', 'noaa_ar')]}"
        )
    columns = list(features)
    if (
        getattr(model, "model", None) == "sequence"
    ):  # its windows need each record's time and region
        columns = [c for c in (TIME, NOAA_AR) if c not in columns] + columns
    X = targets.frame[columns].reset_index(drop=True)
    y = np.asarray(targets.y).astype(int)
    n = len(y)
    rows = np.arange(n)
    p = model.predict_proba(X)[:, 1]
    forecasts = [(-1, p)]
    if hasattr(model, "predict_proba_members"):
        members = np.atleast_2d(model.predict_proba_members(X))
        if len(members) > 1:
            forecasts += list(enumerate(members))
    times = pd.Series(pd.to_datetime(targets.times, utc=True)).reset_index(drop=True).to_numpy()
    nan = np.full(n, np.nan)
    calibrated = nan if calibrator is None else calibrator.transform(p)
    parts = [
        pd.DataFrame(
            {
                "method": name,
                "fold": 0,
                "seed": s,
                "row": rows,
                "time": times,
                "region": np.asarray(targets.groups),
                "letter": np.asarray(targets.letter, dtype=object),
                "y": y,
                "p": q,
                "threshold": float(threshold),
                "pred": (q >= threshold).astype(np.int8),
                "climatology": float(climatology),
                "p_calibrated": calibrated if s == -1 else nan,
            }
        )
        for s, q in forecasts
    ]
    predictions = pd.concat(parts, ignore_index=True)
    predictions["method"] = predictions["method"].astype("string")
    predictions["letter"] = predictions["letter"].astype("string")
    protocol = Protocol(folds=2, methods=(name,), n_boot=n_boot, seed=seed)
    fold = Fold(0, np.empty(0, dtype=int), rows, np.empty(0, dtype=int), np.empty(0, dtype=int))
    return ProtocolResult(protocol, [fold], predictions, {name: label}, {name: 0.0}, {name: []})


def evaluate_saved_model(
    model_dir: str | Any,
    model: Any,
    sidecar: dict[str, Any],
    data: Any,
    targets: Any,
    out: str | Any,
    *,
    threshold: float | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    figures: bool = True,
    meta: dict[str, Any] | None = None,
    score_by: str = "record",
) -> tuple[ProtocolResult, Any, dict[str, Any]]:
    """What ``flarecast evaluate`` does after loading: score, summarise, and write OUT as one unit.

    Parameters
    ----------
    model_dir : path
        The model folder (its calibrator, if any, fills ``p_calibrated``).
    model, sidecar
        :func:`flarecast.training.artifacts.load_model` and ``read_sidecar`` of ``model_dir``.
    data, targets
        The table to score and its targets under the model's class definition.
    out : path
    threshold : float, optional
        Default the model's own (chosen at training time).
    n_boot, seed : int
        Region bootstrap.
    figures : bool, default True
    meta : dict, optional
        run.json content so far (:func:`flarecast.evaluation.comparison.run_meta`); the model's
        record and its overlap with the table (:func:`training_overlap`) are added.
    score_by : {"record", "region"}, default "record"
        "region": each region scored once, by the mean probability over its records
        (:func:`flarecast.evaluation.published.region_predictions`).

    Returns
    -------
    (ProtocolResult, Summary, dict)
        The scored predictions, the table with intervals, and run.json's content.
    """
    from flarecast import config as cfg
    from flarecast.evaluation.bootstrap import summarise
    from flarecast.evaluation.calibration import load_calibrator
    from flarecast.evaluation.outputs import staged_output
    from flarecast.evaluation.tables import write_outputs

    t0 = time.perf_counter()
    thr = float(model.threshold_ if threshold is None else threshold)
    calibrator = load_calibrator(model_dir, missing_ok=True)  # fitted on its validation rows
    result = score_model(
        model,
        targets,
        sidecar["features"],
        threshold=thr,
        climatology=float(sidecar["base_rate"]),
        n_boot=n_boot,
        seed=seed,
        calibrator=calibrator,
    )
    if score_by != "record":
        from flarecast.evaluation.published import check_score_by, region_predictions

        check_score_by(score_by)
        result = dataclasses.replace(result, predictions=region_predictions(result.predictions))
    summary = summarise(result)
    overlap = training_overlap(sidecar, data)
    trained = sidecar.get("data") or {}
    meta = dict(meta or {})
    meta["protocol"] = cfg.to_dict(result.protocol)
    meta["wall_seconds"] = round(meta.get("wall_seconds", 0.0) + time.perf_counter() - t0, 2)
    meta.update(
        synthetic=bool(data.synthetic or sidecar.get("synthetic")),
        model={
            "folder": str(model_dir),
            "trained_on": trained.get("name"),
            "trained_sha256": trained.get("sha256"),
            "class_definition": sidecar.get("class_definition"),
            "threshold": thr,
            "in_sample": overlap.same_checksum,
            "overlap": {
                "recorded": overlap.known,
                "regions": overlap.regions,
                "of_regions": overlap.n_regions,
                "flares": overlap.flares,
                "of_flares": overlap.n_flares,
            },
            "weights_sha256": sidecar["weights"]["sha256"],
            "created": sidecar.get("created"),
            "calibration": None if calibrator is None else calibrator.describe(),
        },
    )
    with staged_output(out) as staged:
        write_outputs(staged, result, summary, meta, figures=figures)
    return result, summary, meta
