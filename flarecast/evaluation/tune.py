"""Focal-loss tuning on validation only: fix gamma and search alpha, then fix alpha and search gamma.

This is the recipe of Lin et al. (2017, sec. 5.1) as users apply it: with
gamma = 2, try several alpha; keep the best alpha and try several gamma.
Each candidate (alpha, gamma) is trained on every outer fold's *fit* rows
exactly as in :func:`flarecast.evaluation.fits.run_protocol`, and scored on that
fold's inner *validation* rows only (mean over folds). The test folds play no
part in the choice; score the chosen pair with ``flarecast reproduce --alpha
--gamma`` afterwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError
from flarecast.evaluation.fits import FitQueue, run_protocol, table_queue
from flarecast.evaluation.methods import METHODS, MethodSpec
from flarecast.evaluation.metrics import roc_auc, scores_from_counts
from flarecast.evaluation.protocol import Fold, FoldFit, Protocol, make_folds
from flarecast.evaluation.thresholds import choose_threshold
from flarecast.execution import Executor

__all__ = ["TuneConfig", "validation_scores", "tune_focal"]

_SELECT = ("tss", "hss", "auc")


@dataclasses.dataclass(frozen=True)
class TuneConfig:
    """The search (``[tune]`` table of a TOML file).

    Parameters
    ----------
    alphas : tuple of float, default (0.25, 0.5, 0.75, 0.9)
        Stage 1 candidates, at ``gamma = fixed_gamma``.
    gammas : tuple of float, default (0.5, 1.0, 2.0, 3.0, 5.0)
        Stage 2 candidates, at the best alpha.
    fixed_gamma : float, default 2.0
    select : {"tss", "hss", "auc"}, default "tss"
        Validation score maximised (TSS: independent of the class ratio).
    """

    alphas: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9)
    gammas: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 5.0)
    fixed_gamma: float = 2.0
    select: str = "tss"

    def __post_init__(self) -> None:
        problems = []
        if not self.alphas or any(not 0 < a < 1 for a in self.alphas):
            problems.append(
                f"The 'alphas' parameter of TuneConfig must be floats in (0, 1). Got {self.alphas!r} instead."
            )
        if not self.gammas or any(not g >= 0 for g in self.gammas):
            problems.append(
                f"The 'gammas' parameter of TuneConfig must be floats >= 0. Got {self.gammas!r} instead."
            )
        if not self.fixed_gamma >= 0:
            problems.append(
                f"The 'fixed_gamma' parameter of TuneConfig must be >= 0. Got {self.fixed_gamma!r} instead."
            )
        if self.select not in _SELECT:
            problems.append(
                f"The 'select' parameter of TuneConfig must be one of {list(_SELECT)}. "
                f"Got {self.select!r} instead."
            )
        if problems:
            raise ConfigError("; ".join(problems))


def validation_scores(
    y_val: np.ndarray, p_val: np.ndarray, threshold_metric: str = "hss"
) -> dict[str, float]:
    """AUC, and TSS/HSS at the threshold chosen on the same validation rows.

    The threshold is chosen and scored on the same rows, so TSS and HSS are
    optimistic; they are used only to *rank* candidates, which share that bias.
    """
    y = np.asarray(y_val).astype(int)
    thr = choose_threshold(y, p_val, threshold_metric)
    pred = np.asarray(p_val) >= thr
    tp, fp = int(np.sum(pred & (y == 1))), int(np.sum(pred & (y == 0)))
    fn, tn = int(np.sum(y == 1)) - tp, int(np.sum(y == 0)) - fp
    counts = scores_from_counts(tp, fp, fn, tn)
    return {"auc": roc_auc(y, p_val), "tss": float(counts["tss"]), "hss": float(counts["hss"])}


def _score_candidate(
    targets: Any,
    features: Sequence[str],
    protocol: Protocol,
    folds: list[Fold],
    methods: Mapping[str, MethodSpec],
    progress: Callable[[int, str], None] | None,
    queue: FitQueue,
) -> dict[str, Any]:
    y = np.asarray(targets.y).astype(int)
    per_fold: list[dict[str, float]] = []
    epochs: list[list[int]] = []

    def record(fold: Fold, method: str, estimator: Any, fit: FoldFit) -> None:
        per_fold.append(validation_scores(y[fold.val], fit.p_val, protocol.threshold_metric))
        if fit.best_epoch is not None:
            epochs.append(fit.best_epoch)

    def named(fold: int, method: str) -> None:
        progress(fold, f"{method} alpha={protocol.alpha:g} gamma={protocol.gamma:g}")  # type: ignore[misc]

    run_protocol(
        targets,
        features,
        dataclasses.replace(protocol, methods=("focal",)),
        methods=methods,
        folds=folds,
        progress=None if progress is None else named,
        on_fit=record,
        queue=queue,
    )
    frame = pd.DataFrame(per_fold)
    row: dict[str, Any] = {"alpha": protocol.alpha, "gamma": protocol.gamma}
    for score in _SELECT:
        row[f"val_{score}"] = float(frame[score].mean())
        row[f"val_{score}_sd"] = float(frame[score].std(ddof=1)) if len(frame) > 1 else float("nan")
    row["median_best_epoch"] = float(np.median(np.concatenate(epochs))) if epochs else float("nan")
    return row


def tune_focal(
    targets: Any,
    features: Sequence[str],
    protocol: Protocol,
    config: TuneConfig | None = None,
    *,
    methods: Mapping[str, MethodSpec] | None = None,
    folds: list[Fold] | None = None,
    progress: Callable[[int, str], None] | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Two-stage search of the focal-loss alpha and gamma, selected on validation folds only.

    Parameters
    ----------
    targets : flarecast.targets.Targets
    features : sequence of str
    protocol : Protocol
        Folds, seeds, network settings; its ``alpha``/``gamma`` are replaced by the candidates.
    config : TuneConfig, optional
    methods : mapping, optional
        Registry holding the ``"focal"`` method (default :data:`flarecast.evaluation.methods.METHODS`).
    folds : list of Fold, optional
        Default :func:`flarecast.evaluation.protocol.make_folds`.
    progress : callable(fold_index, method), optional
        Called after each fit; ``method`` names the candidate ("focal alpha=0.25 gamma=2").
    executor : flarecast.execution.Executor, optional
        Runs the fits (e.g. a Dask cluster's, built by the command line): all candidates x
        folds of a stage are submitted together, and the table is shared once. Same table as
        without. Default: one fit after another in this process.

    Returns
    -------
    pandas.DataFrame
        One row per candidate: ``stage`` (1 = alpha search, 2 = gamma search),
        ``alpha``, ``gamma``, ``val_auc``, ``val_tss``, ``val_hss`` (means over
        folds) and their ``_sd``, ``median_best_epoch``, and ``selected`` (the
        final choice; exactly one row).
    """
    config = config or TuneConfig()
    registry = dict(METHODS if methods is None else methods)
    if "focal" not in registry:
        raise ConfigError("tune_focal needs a 'focal' method in the registry")
    folds = make_folds(targets, protocol) if folds is None else folds
    queue = table_queue(executor, targets, features, registry)  # the table shared once

    def submit_stage(pairs: list[tuple[float, float]]) -> None:
        # Start every candidate x fold of a stage at once; run() below then collects them in order.
        for a, g in pairs:
            if (a, g) in rows:  # trained in stage 1 already
                continue
            cand = dataclasses.replace(protocol, alpha=float(a), gamma=float(g), methods=("focal",))
            queue.submit(cand, folds)

    key = f"val_{config.select}"
    rows: dict[tuple[float, float], dict[str, Any]] = {}

    def run(alpha: float, gamma: float, stage: int) -> dict[str, Any]:
        if (alpha, gamma) not in rows:
            cand = dataclasses.replace(protocol, alpha=float(alpha), gamma=float(gamma))
            rows[(alpha, gamma)] = {
                "stage": stage,
                **_score_candidate(targets, features, cand, folds, registry, progress, queue),
            }
        return rows[(alpha, gamma)]

    def best(cands: list[dict[str, Any]]) -> dict[str, Any]:
        # NaN (undefined on some fold) ranks last; ties go to the earlier candidate.
        return max(cands, key=lambda r: -np.inf if np.isnan(r[key]) else r[key])

    submit_stage([(a, config.fixed_gamma) for a in config.alphas])
    stage1 = [run(a, config.fixed_gamma, 1) for a in config.alphas]
    alpha = best(stage1)["alpha"]
    submit_stage([(alpha, g) for g in config.gammas])
    stage2 = [run(alpha, g, 2) for g in config.gammas]
    chosen = best(stage2)
    table = pd.DataFrame(list(rows.values()))
    table["selected"] = (table["alpha"] == chosen["alpha"]) & (table["gamma"] == chosen["gamma"])
    table["select_by"] = key
    return table
