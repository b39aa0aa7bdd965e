"""The ``reproduce`` pipeline: run the protocol with resumable fits and importance, summarise, write.

:func:`run_comparison` is what ``flarecast reproduce`` does between reading the data and
printing the table: every finished (fold, method) fit is kept in ``OUT/.partial``
(:class:`flarecast.evaluation.store.FoldStore`) so an interrupted run resumes; the networks'
permutation importance is collected as they are fitted; the results are summarised with
region-bootstrap intervals and written as one unit (:func:`flarecast.evaluation.outputs.staged_output`).
:func:`run_meta` is the description of a run that every evaluation command writes to run.json.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from flarecast.evaluation.bootstrap import Summary, summarise
from flarecast.evaluation.fits import run_protocol
from flarecast.evaluation.methods import MethodSpec
from flarecast.evaluation.outputs import staged_output
from flarecast.evaluation.protocol import Protocol, ProtocolResult
from flarecast.evaluation.store import FoldStore, run_fingerprint
from flarecast.evaluation.tables import provenance, write_outputs
from flarecast.execution import Executor

__all__ = ["Comparison", "run_meta", "fold_store", "run_comparison"]


def run_meta(
    data: Any,
    targets: Any,
    protocol: Protocol | None,
    started: dt.datetime,
    wall: float,
    command: str = "",
) -> dict[str, Any]:
    """What run.json says about a run: command, data (name, checksum, notes), target, protocol
    (None: filled in later), start time, wall time and software versions."""
    from flarecast import config as cfg

    return {
        "command": command,
        "dataset": data.name,
        "synthetic": data.synthetic,
        "data_sha256": data.sha256,
        "window": data.window,
        "flaring_only": data.flaring_only,
        "data_notes": list(data.notes),
        "features": list(data.features),
        "definition": targets.definition,
        "rows": len(targets.y),
        "dropped": targets.dropped,
        "protocol": None if protocol is None else cfg.to_dict(protocol),
        "started_utc": started.isoformat(),
        "wall_seconds": round(wall, 2),
        **provenance(),
    }


def fold_store(
    out: str | Path, data: Any, targets: Any, protocol: Protocol, importance: bool
) -> FoldStore:
    """The store of this run's finished fits, ``OUT/.partial``, fingerprinted by everything a fit depends on."""
    from flarecast import config as cfg

    return FoldStore(
        Path(out) / ".partial",
        run_fingerprint(
            {
                "protocol": cfg.to_dict(protocol),
                "dataset": data.name,
                "data_sha256": data.sha256,
                "features": list(data.features),
                "definition": targets.definition,
                "rows": len(targets.y),
                "importance": importance,
            }
        ),
    )


@dataclasses.dataclass
class Comparison:
    """What :func:`run_comparison` produced and wrote."""

    result: ProtocolResult
    summary: Summary
    meta: dict[str, Any]
    importance: pd.DataFrame | None


def run_comparison(
    data: Any,
    targets: Any,
    protocol: Protocol,
    out: str | Path,
    *,
    store: FoldStore,
    done: dict[tuple[int, str], Any],
    importance: bool = True,
    figures: bool = True,
    executor: Executor | None = None,
    progress: Callable[[int, str], None] | None = None,
    meta: dict[str, Any] | None = None,
    methods: Mapping[str, MethodSpec] | None = None,
    folds: list[Any] | None = None,
    score_by: str = "record",
) -> Comparison:
    """Fit every method on every fold, summarise, and write OUT as one unit.

    Parameters
    ----------
    data : flarecast.data.tables.read.Dataset
    targets : flarecast.targets.Targets
    protocol : Protocol
    out : path
        Output folder (replaced as a whole once everything is written).
    store : FoldStore
        Where each finished fit is kept at once (:func:`fold_store`); cleared at the end.
    done : mapping of (fold, method) to (FoldFit, tables)
        Fits an interrupted run finished (``store.load()`` for ``--resume``; else empty).
    importance : bool, default True
        Permutation importance of the focal and CE networks on their test folds.
    figures : bool, default True
    executor : flarecast.execution.Executor, optional
        Runs the fits; default this process.
    progress : callable(fold_index, method), optional
    meta : dict, optional
        From :func:`run_meta` (the wall time is updated here); written to run.json.
    methods : mapping of str to MethodSpec, optional
        Registry of the rows; default :data:`~flarecast.evaluation.methods.METHODS`.
    folds : list of Fold, optional
        Outer folds given (a published split, :func:`flarecast.evaluation.published.published_folds`);
        default the protocol's.
    score_by : {"record", "region"}, default "record"
        "region": scored per region of each test fold
        (:func:`flarecast.evaluation.published.region_predictions`).
    """
    t0 = time.perf_counter()
    collector = None
    if importance and {"focal", "ce"} & set(protocol.methods):
        from flarecast.evaluation.importance import ImportanceCollector

        collector = ImportanceCollector(
            targets.frame[list(data.features)].reset_index(drop=True),
            targets.y.astype(int),
            data.features,
            seed=protocol.seed,
        )
    parts = {
        key: tables["importance"] for key, (_, tables) in done.items() if "importance" in tables
    }

    def on_fit(fold: Any, name: str, estimator: Any, fit: Any) -> None:
        tables = {}
        if collector is not None and name in collector.methods:
            collector(fold, name, estimator, fit)
            tables["importance"] = parts[(fold.index, name)] = collector.parts.pop()
        store.save(fold.index, name, fit, tables)  # kept at once: a kill from now on loses nothing

    result = run_protocol(
        targets,
        data.features,
        protocol,
        methods=methods,
        folds=folds,
        progress=progress,
        on_fit=on_fit,
        executor=executor,
        done={key: fit for key, (fit, _) in done.items()},
    )
    if collector is not None:  # fold and method order, whichever fits were resumed
        collector.parts = [
            parts[(f.index, m)]
            for f in result.folds
            for m in protocol.methods
            if (f.index, m) in parts
        ]
    if score_by != "record":
        from flarecast.evaluation.published import check_score_by, region_predictions

        check_score_by(score_by)
        result = dataclasses.replace(result, predictions=region_predictions(result.predictions))
    summary = summarise(result)
    meta = dict(meta or {})
    meta["wall_seconds"] = round(meta.get("wall_seconds", 0.0) + time.perf_counter() - t0, 2)
    meta["fold_sizes"] = [f.sizes() for f in result.folds]
    meta["resumed_fits"] = len(done)
    table = None if collector is None else collector.table()
    with staged_output(out) as staged:
        write_outputs(staged, result, summary, meta, figures=figures, importance=table)
    store.clear()  # the outputs are complete: nothing left to resume
    return Comparison(result, summary, meta, table)
