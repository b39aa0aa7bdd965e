"""Retrain a saved model on a new flare catalogue and compare it with the old one on the latest period.

A retrain has four steps, each reusing the stage that owns it:

1. **Label** the SHARP series with the new catalogue
   (:func:`flarecast.labels.labelled_table`), with the base model's label
   window (from its lineage when it was itself retrained, else the defaults
   or the caller's choice) and its history feature if it used one.
2. **Split by time** (:func:`holdout_split`, over
   :func:`flarecast.splits.chronological_split`): the hold-out is the latest
   period (from ``holdout_start``, or the last ``holdout_days`` days of
   labelled records); the new model trains only on records before
   ``holdout_start - gap`` with ``gap = latency + horizon``, so no training
   label window reaches into the hold-out. Regions alive across the start
   are left out of training by default, so no region is on both sides.
3. **Train** a :class:`~flarecast.training.estimator.FlareClassifier` with the
   base model's configuration (loss, alpha, gamma, architecture, features,
   target definition, threshold rule, calibration method), early-stopped and
   thresholded on a region-level validation split of the training rows.
4. **Score both** models on the same hold-out rows with the scorer of
   ``flarecast evaluate`` (:func:`flarecast.evaluation.score.score_model`), each with its
   own threshold, and summarise them on the *same* region-bootstrap resamples
   (:func:`flarecast.evaluation.bootstrap.summarise`), so the new-minus-base differences
   are paired.

Nothing here writes files or touches the base model's folder; see
:mod:`flarecast.retrain.report` for the new model folder and the comparison.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError, DataError, ModelFileError

__all__ = [
    "RetrainConfig",
    "BaseModel",
    "RetrainResult",
    "read_base_model",
    "check_out_folder",
    "holdout_split",
    "content_sha256",
    "retrain",
]

#: Label window used when neither the caller nor the base model's lineage gives one.
DEFAULT_LABELLING = {"horizon": "24h", "latency": "0h", "event_time": "peak"}
_HISTORY = re.compile(r"^history_max_flux_prev_(\d+(?:\.\d+)?)h$")


@dataclasses.dataclass(frozen=True)
class RetrainConfig:
    """Settings of one retrain (the ``flarecast retrain`` options).

    Attributes
    ----------
    horizon, latency : str or None, default None
        Label window ``(t + latency, t + latency + horizon]``; None takes the
        base model's recorded window, else 24 h and 0 h.
    event_time : {"peak", "start"} or None, default None
        Flare time that must fall in the window; None as above, else "peak".
    holdout_start : str or None, default None
        First hold-out time (UTC); None means ``holdout_days`` before the last labelled record.
    holdout_days : float, default 90
        Length of the default hold-out, days (> 0).
    drop_straddling : bool, default True
        Leave regions with records on both sides of the hold-out start out of training.
    quality_zero : bool, default True
        Keep only SHARP records with ``QUALITY == 0`` (counted).
    max_abs_lon : float or None, default None
        Keep only records with ``|LON_FWT| <= max_abs_lon`` deg; None keeps all.
    max_epochs, device : optional
        Override the base model's values (e.g. a quick CPU run).
    n_boot : int, default 1000
        Region bootstrap resamples.
    seed : int, default 0
        Seed of the bootstrap (the network keeps the base model's seed).
    """

    horizon: str | None = None
    latency: str | None = None
    event_time: str | None = None
    holdout_start: str | None = None
    holdout_days: float = 90.0
    drop_straddling: bool = True
    quality_zero: bool = True
    max_abs_lon: float | None = None
    max_epochs: int | None = None
    device: str | None = None
    n_boot: int = 1000
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class BaseModel:
    """What a retrain reads from the base model's folder (never written to).

    Attributes
    ----------
    folder : Path
    sidecar : dict
        The checked ``model.json``.
    model_id : str
        ``"<folder name>@<first 12 hex of the weights' sha256>"``.
    features : tuple of str
        Feature columns in model order.
    params : dict
        :class:`~flarecast.training.estimator.FlareClassifier` keyword arguments.
    negatives : tuple of str
    positive_threshold : str
    labelling : dict
        ``horizon``, ``latency``, ``event_time`` recorded by an earlier retrain (else empty).
    history : str or None
        Look-back of the history feature among ``features`` ("24h"), if any.
    calibration : str or None
        Method of the folder's ``calibration.json`` ("platt", "isotonic"), if any.
    training_cutoff : pandas.Timestamp or None
        Newest training record time, if recorded.
    """

    folder: Path
    sidecar: dict[str, Any]
    model_id: str
    features: tuple[str, ...]
    params: dict[str, Any]
    negatives: tuple[str, ...]
    positive_threshold: str
    labelling: dict[str, str]
    history: str | None
    calibration: str | None
    training_cutoff: pd.Timestamp | None


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
    lineage : dict
        JSON-ready provenance (base model, catalogue, series, labelling, hold-out, split).
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
    lineage: dict[str, Any]
    flags: list[str]
    fit_frame: pd.DataFrame


def _utc(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"The {name!r} parameter must be a time such as '2017-01-01'. Got {value!r}."
        ) from exc
    if ts is pd.NaT:
        raise ConfigError(
            f"The {name!r} parameter must be a time such as '2017-01-01'. Got {value!r}."
        )
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def read_base_model(folder: str | Path) -> BaseModel:
    """Read the base model's recipe from its folder: sidecar, ``train.toml``, calibration, lineage.

    Raises
    ------
    ModelFileError
        No model folder, an unreadable sidecar, or no recoverable target definition.
    """
    import tomllib

    from flarecast.evaluation.calibration import load_calibrator
    from flarecast.evaluation.score import definition_targets
    from flarecast.training.artifacts import read_sidecar

    folder = Path(folder)
    meta = read_sidecar(folder)
    toml: dict[str, Any] = {}
    if (folder / "train.toml").is_file():
        try:
            toml = tomllib.loads((folder / "train.toml").read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"{folder / 'train.toml'}: invalid TOML: {exc}") from exc
    target = definition_targets(meta.get("class_definition", ""))
    data_table = toml.get("data", {})
    if target is None and "negatives" in data_table and "positive_threshold" in data_table:
        target = (tuple(data_table["negatives"]), str(data_table["positive_threshold"]))
    if target is None:
        raise ModelFileError(
            f"{folder}: the target definition cannot be recovered (model.json 'class_definition' is "
            f"{meta.get('class_definition')!r} and train.toml has no [data] negatives/positive_threshold)."
        )
    features = tuple(str(f) for f in meta["features"])
    params = dict(meta["config"])
    params["hidden"] = tuple(int(h) for h in np.atleast_1d(params.get("hidden", ())))
    params["features"] = features
    if (
        "skip" not in params
    ):  # a folder from before the skip path: its network has none, whatever today's default
        params["skip"] = "none"
    extra = meta.get("extra") or {}
    lineage = extra.get("lineage") or {}
    history = [m.group(1) + "h" for f in features if (m := _HISTORY.match(f))]
    cal = load_calibrator(folder, missing_ok=True)
    cutoff = (extra.get("forecast") or {}).get("training_cutoff")
    return BaseModel(
        folder=folder,
        sidecar=meta,
        model_id=f"{folder.resolve().name}@{meta['weights']['sha256'][:12]}",
        features=features,
        params=params,
        negatives=tuple(target[0]),
        positive_threshold=str(target[1]),
        labelling={
            k: str(v) for k, v in (lineage.get("labelling") or {}).items() if k in DEFAULT_LABELLING
        },
        history=history[0] if history else None,
        calibration=None if cal is None or cal.method == "none" else cal.method,
        training_cutoff=_utc(cutoff, "training_cutoff") if cutoff else None,
    )


def check_out_folder(out: str | Path, base_folder: str | Path) -> Path:
    """Refuse an ``out`` that would overwrite or modify a model: the base folder, inside it, or non-empty.

    Returns
    -------
    Path
        ``out``, safe to create.

    Raises
    ------
    ConfigError
        With the reason and what to do instead.
    """
    out, base = Path(out), Path(base_folder)
    out_abs, base_abs = out.resolve(), base.resolve()
    if out_abs == base_abs or base_abs in out_abs.parents:
        raise ConfigError(
            f"--out {out} would write into the base model folder {base}; model versions are kept side by "
            "side and the base model is never modified. Choose a new folder, e.g. "
            f"{base.parent / (base.name + '-v2')}."
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        what = "is a file" if not out.is_dir() else "already exists and is not empty"
        raise ConfigError(
            f"--out {out} {what}; flarecast retrain never overwrites a model version. "
            "Choose a new folder name, or remove that one yourself if it is no longer needed."
        )
    return out


def holdout_split(
    times: Any,
    groups: Any,
    *,
    gap: str | pd.Timedelta,
    start: Any = None,
    days: float = 90.0,
    drop_straddling: bool = True,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The latest period as hold-out; training rows before ``start - gap``.

    Parameters
    ----------
    times : array-like of tz-aware datetimes, shape (n,)
    groups : array-like, shape (n,)
        Region of each row.
    gap : str or pandas.Timedelta
        Embargo before the hold-out, at least latency + horizon.
    start : str or Timestamp, optional
        First hold-out time (UTC). Default: ``days`` before the last time, floored to 00:00 UTC.
    days : float, default 90
        Length of the default hold-out, days.
    drop_straddling : bool, default True
        Leave regions with rows on both sides out of training.

    Returns
    -------
    train_idx, test_idx : ndarray of int64
        Sorted indices into ``times``.
    info : dict
        JSON-ready: ``start``, ``end`` (last hold-out time), ``gap``, ``train_end``
        (newest training time), row counts and ``straddling_rows_dropped``.
    """
    from flarecast.splits import chronological_split

    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(times), utc=True))
    if start is None:
        if not days > 0:
            raise ConfigError(
                f"The 'holdout_days' parameter must be a number > 0. Got {days!r} instead."
            )
        cutoff = (index.max() - pd.Timedelta(days=float(days))).floor("D")
    else:
        cutoff = _utc(start, "holdout_start")
    step = pd.Timedelta(gap)
    train_all, test = chronological_split(index, cutoff, step)
    train = train_all
    if drop_straddling:
        train, test = chronological_split(index, cutoff, step, groups=groups)
    info = {
        "start": cutoff.isoformat(),
        "end": index[test].max().isoformat(),
        "gap": f"{step / pd.Timedelta('1h'):g}h",
        "train_end": index[train].max().isoformat(),
        "train_rows": int(len(train)),
        "test_rows": int(len(test)),
        "embargoed_rows": int(len(index) - len(train_all) - len(test)),
        "straddling_rows_dropped": int(len(train_all) - len(train)),
        "straddling_regions_dropped": int(
            len(np.unique(np.asarray(groups)[np.setdiff1d(train_all, train)]))
        ),
    }
    return train, test, info


def content_sha256(frame: pd.DataFrame) -> str:
    """sha256 of a table's contents (values and column names, not the index): an id for generated tables."""
    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    h.update("\x1f".join(map(str, frame.columns)).encode())
    return h.hexdigest()


def _labelling(base: BaseModel, config: RetrainConfig) -> dict[str, str]:
    out = {}
    for key, default in DEFAULT_LABELLING.items():
        given = getattr(config, key)
        out[key] = given if given is not None else base.labelling.get(key, default)
    return out


def _subset(targets: Any, idx: np.ndarray) -> Any:
    return dataclasses.replace(
        targets,
        frame=targets.frame.iloc[idx].reset_index(drop=True),
        y=targets.y[idx],
        letter=targets.letter[idx],
        groups=targets.groups[idx],
        times=targets.times.iloc[idx].reset_index(drop=True),
    )


def _need_both(y: np.ndarray, where: str, definition: str, hint: str) -> None:
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        raise DataError(
            f"The {where} holds {len(y)} rows with {n_pos} positive ({definition}): both classes are "
            f"needed. {hint}"
        )


def _paired(summary: Any, level: float) -> pd.DataFrame:
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


def _flags(
    base: BaseModel,
    holdout: dict[str, Any],
    gap: pd.Timedelta,
    n_pos: int,
    synthetic: bool,
    base_synthetic: bool,
) -> list[str]:
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
    if n_pos < 20:
        flags.append(
            f"Only {n_pos} positive hold-out rows: the intervals are wide and small differences "
            "mean little."
        )
    if synthetic != base_synthetic:
        which = "the new training data are" if synthetic else "the base model's training data were"
        flags.append(f"SYNTHETIC mismatch: {which} synthetic.")
    return flags


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
    from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX, TIME, Dataset
    from flarecast.data.sharp.series import clean_series
    from flarecast.evaluation.bootstrap import summarise
    from flarecast.evaluation.calibration import fit_calibrator
    from flarecast.evaluation.protocol import ProtocolResult
    from flarecast.evaluation.score import score_model
    from flarecast.labels import labelled_table
    from flarecast.splits import inner_validation
    from flarecast.targets import make_targets
    from flarecast.training.artifacts import load_model
    from flarecast.training.estimator import FlareClassifier

    config = config or RetrainConfig()
    base = read_base_model(base_folder)
    base_clf = load_model(base.folder, device="cpu")  # checks the weights before the long part
    params = {**base.params}
    if config.max_epochs is not None:
        params["max_epochs"] = int(config.max_epochs)
    if config.device is not None:
        params["device"] = config.device
    FlareClassifier(**params).train_config()  # validate the recipe (and overrides) up front

    lab = _labelling(base, config)
    cleaned = clean_series(
        series, max_abs_lon=config.max_abs_lon, quality_zero=config.quality_zero, keywords=()
    )
    table = labelled_table(
        cleaned,
        events,
        horizon=lab["horizon"],
        latency=lab["latency"],
        event_time=lab["event_time"],
        history=base.history,
        harp_map=harp_map,
    )
    missing = [f for f in base.features if f not in table.columns]
    if missing:
        raise ModelFileError(
            f"{base.folder}: the base model uses feature(s) {missing}, which the labelled series "
            f"({series.attrs.get('source', 'SHARP series')}) lacks; it has {table.attrs['features']}. "
            "Retrain needs a series with every base-model feature."
        )
    targets = make_targets(table, base.negatives, base.positive_threshold)
    gap = pd.Timedelta(lab["latency"]) + pd.Timedelta(lab["horizon"])
    train_idx, test_idx, holdout = holdout_split(
        targets.times,
        targets.groups,
        gap=gap,
        start=config.holdout_start,
        days=config.holdout_days,
        drop_straddling=config.drop_straddling,
    )
    y = targets.y.astype(np.int64)
    _need_both(
        y[test_idx],
        f"hold-out ({holdout['start']} to {holdout['end']})",
        targets.definition,
        "Choose an earlier --holdout-start (or more --holdout-days) that includes flaring periods.",
    )
    _need_both(
        y[train_idx],
        f"training part (records before {holdout['start']} minus {holdout['gap']})",
        targets.definition,
        "Choose a later --holdout-start.",
    )
    fit_idx, val_idx = inner_validation(
        y, targets.groups, train_idx, fraction=0.2, seed=int(params["seed"])
    )

    frame = targets.frame
    clf = FlareClassifier(**params)
    clf.fit(
        frame.iloc[fit_idx],
        y[fit_idx],
        validation=(frame.iloc[val_idx], y[val_idx]),
        callback=callback,
    )
    calibrator = None
    if base.calibration is not None:
        p_val = clf.predict_proba(frame.iloc[val_idx])[:, 1]
        calibrator = fit_calibrator(p_val, y[val_idx], base.calibration)

    holdout_targets = _subset(targets, test_idx)
    climatology = float(y[train_idx].mean())  # one reference for both models' Brier skill
    parts = [
        score_model(
            m,
            holdout_targets,
            base.features,
            threshold=float(m.threshold_),
            climatology=climatology,
            name=name,
            label=label,
            n_boot=config.n_boot,
            seed=config.seed,
        )
        for m, name, label in (
            (clf, "new", "new (retrained)"),
            (base_clf, "base", f"base ({base.model_id})"),
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
    paired = _paired(summary, result.protocol.level)

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

    synthetic = bool(table.attrs.get("synthetic"))
    train_end = pd.Timestamp(holdout["start"]) - gap
    train_table = table[table[TIME] < train_end].reset_index(drop=True)
    a = table.attrs
    name = f"{a['sharp_source']} labelled with {a['catalogue_source']}, records before {train_end.isoformat()}"
    dataset = Dataset(
        frame=train_table,
        name=name,
        features=base.features,
        synthetic=synthetic,
        sha256=content_sha256(train_table),
        window=a["window"],
        flaring_only=bool((train_table[PEAK_FLUX] > 0).all()),
        notes=(
            f"relabelled by flarecast retrain from {a['sharp_source']} and {a['catalogue_source']}",
        ),
    )
    events_sha = events.attrs.get("sha256") or None
    lineage = {
        "base_model": {
            "id": base.model_id,
            "folder": str(base.folder),
            "weights_sha256": base.sidecar["weights"]["sha256"],
            "created": base.sidecar.get("created"),
            "class_definition": base.sidecar.get("class_definition"),
            "trained_on": (base.sidecar.get("data") or {}).get("name"),
            "trained_on_sha256": (base.sidecar.get("data") or {}).get("sha256"),
            "window": (base.sidecar.get("data") or {}).get("window"),
            "training_cutoff": base.training_cutoff.isoformat()
            if base.training_cutoff is not None
            else None,
        },
        "catalogue": {
            "source": a["catalogue_source"],
            "format": a["catalogue_format"],
            "sha256": events_sha or content_sha256(events),
            "sha256_of": "file(s)" if events_sha else "table contents (generated catalogue)",
            "events": a["catalogue_events"],
            "malformed_rows_skipped": a["catalogue_bad_rows"],
            "duplicates_removed": a["catalogue_duplicates_removed"],
            "flux_scaling": a["catalogue_flux_scaling"],
            "coverage": [a["coverage_start"], a["coverage_end"]],
        },
        "sharp_series": {
            "source": a["sharp_source"],
            "sha256": a["sharp_sha256"] or content_sha256(series),
            "records": int(len(series)),
            "dropped": cleaned.attrs.get("dropped", {}),
            "dropped_unknown_label": a["dropped_unknown_label"],
            "dropped_missing_feature": a["dropped_missing_feature"],
        },
        "labelling": {
            **lab,
            "history": base.history or "",
            "window": a["window"],
            "source": {
                k: (
                    "option"
                    if getattr(config, k) is not None
                    else "base lineage"
                    if k in base.labelling
                    else "default"
                )
                for k in lab
            },
        },
        "holdout": holdout,
        "split": {
            "method": "chronological hold-out, then inner_validation by region",
            "fraction": 0.2,
            "seed": int(params["seed"]),
            "fit_rows": len(fit_idx),
            "validation_rows": len(val_idx),
            "drop_straddling": config.drop_straddling,
        },
        "synthetic": synthetic,
    }
    flags = _flags(
        base,
        holdout,
        gap,
        int(holdout_targets.y.sum()),
        synthetic,
        bool(base.sidecar.get("synthetic")),
    )
    return RetrainResult(
        model=clf,
        calibrator=calibrator,
        dataset=dataset,
        targets_definition=targets.definition,
        base=base,
        summary=summary,
        paired=paired,
        predictions=predictions,
        lineage=lineage,
        flags=flags,
        fit_frame=frame.iloc[np.sort(np.concatenate([fit_idx, val_idx]))],
    )
