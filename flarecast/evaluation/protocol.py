"""The evaluation protocol: its settings, its folds, and what a run of it produces.

For each outer fold (region-grouped stratified K-fold, or one chronological
hold-out with a gap of at least the forecast horizon) the training rows are
split again *by region* into a fit part and an inner validation part. Every
method is fitted on the fit part; the networks early-stop on the validation
part, and every method's decision threshold is chosen on it (maximum HSS by
default). The test fold is only ever predicted, never used for a choice.
Categorical features (the McIntosh and Mt Wilson classes of a region-day table)
are one-hot encoded by each fit from its fit rows' categories only; a test row
with a category those rows never had gets an all-zero block and is counted per
fold (:attr:`Fold.unseen`, in run.json's ``fold_sizes``).

Neural methods train ``seeds`` independently seeded members as one ensemble
fit; the method's forecast is the member mean (with its own validation
threshold), and each member's forecast is kept too so the report can show the
seed spread. Every method sees the same folds and the same fit/validation rows,
and the networks of one fold share their seed, so focal and cross-entropy can
be compared *paired* (see :func:`flarecast.evaluation.bootstrap.summarise`).

This module holds the settings (:class:`Protocol`), the folds (:func:`make_folds`) and the
results (:class:`FoldFit`, :class:`ProtocolResult`). The methods are in
:mod:`flarecast.evaluation.methods`; fitting them on the folds (:func:`~flarecast.evaluation.fits.run_protocol`,
on any executor) in :mod:`flarecast.evaluation.fits`; scoring with intervals in
:func:`flarecast.evaluation.bootstrap.summarise`, the alpha/gamma search in
:mod:`flarecast.evaluation.tune`, permutation importance in
:mod:`flarecast.evaluation.importance` and the scoring of a saved model in
:mod:`flarecast.evaluation.score`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from flarecast import splits
from flarecast.data.schema import categorical_features
from flarecast.errors import ConfigError
from flarecast.evaluation.thresholds import parse_threshold_metric
from flarecast.features.categorical import unseen_categories
from flarecast.training.losses import LossConfig, loss_problems

__all__ = ["Protocol", "Fold", "FoldFit", "ProtocolResult", "make_folds", "count_unseen"]


@dataclasses.dataclass(frozen=True)
class Protocol:
    """Configuration of one evaluation run (``[protocol]`` table of a TOML file).

    Parameters
    ----------
    split : {"kfold", "chrono"}, default "kfold"
        Outer split: region-grouped stratified K-fold, or train before
        ``cutoff - gap`` and test from ``cutoff``.
    folds : int, default 5
        Number of outer folds (kfold only).
    cutoff : str, default "2015-01-01"
        First test time for ``split="chrono"`` (UTC).
    gap : str, default "48h"
        Gap before the cutoff for ``split="chrono"``; must be at least the
        forecast horizon (48 h covers every registry data set).
    validation_fraction : float, default 0.2
        Share of the training regions held out for early stopping and the threshold.
    seeds : int, default 5
        Ensemble members (independent seeds) per neural fit.
    threshold_metric : str, default "hss"
        "hss", "tss" (maximised on validation) or "fixed:<p>".
    n_boot : int, default 1000
        Region bootstrap resamples.
    level : float, default 0.95
        Confidence level of the intervals.
    alpha, gamma : float, default 0.25, 2.0
        Focal-loss parameters (Lin et al. 2017).
    methods : tuple of str
        Rows of the table, from :data:`METHODS`.
    negatives : tuple of str, default ("C",)
        GOES letters of the negative class (passed to ``make_targets``).
    positive_threshold : str, default "M1.0"
        Smallest positive class.
    seed : int, default 0
        Seeds the folds, the inner splits, the networks and the bootstrap.
    network : dict, default {}
        Extra keyword arguments for every ``FlareClassifier`` (e.g. ``hidden``, ``max_epochs``).
    """

    split: str = "kfold"
    folds: int = 5
    cutoff: str = "2015-01-01"
    gap: str = "48h"
    validation_fraction: float = 0.2
    seeds: int = 5
    threshold_metric: str = "hss"
    n_boot: int = 1000
    level: float = 0.95
    alpha: float | None = LossConfig.alpha
    gamma: float = LossConfig.gamma
    methods: tuple[str, ...] = ("climatology", "logistic", "gboost", "ce", "weighted-ce", "focal")
    negatives: tuple[str, ...] = ("C",)
    positive_threshold: str = "M1.0"
    seed: int = 0
    network: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []

        def bad(name: str, rule: str) -> None:
            problems.append(
                f"The '{name}' parameter of Protocol must be {rule}. Got {getattr(self, name)!r} instead."
            )

        if self.split not in ("kfold", "chrono"):
            bad("split", "one of 'kfold', 'chrono'")
        for name, low in (("folds", 2), ("seeds", 1), ("n_boot", 1)):
            if not isinstance(getattr(self, name), int | np.integer) or getattr(self, name) < low:
                bad(name, f"an int >= {low}")
        if not 0 < self.validation_fraction < 1:
            bad("validation_fraction", "a float in (0, 1)")
        if not 0 < self.level < 1:
            bad("level", "a float in (0, 1)")
        # LossConfig's one validator; the loss itself is chosen per row of the table.
        problems += loss_problems(LossConfig.loss, self.alpha, self.gamma, owner="Protocol")
        if not self.methods or len(set(self.methods)) != len(self.methods):
            bad("methods", "a non-empty list of distinct method names")
        try:
            parse_threshold_metric(self.threshold_metric)
            pd.Timedelta(self.gap)
            pd.Timestamp(self.cutoff)
        except ConfigError as exc:
            problems.append(str(exc))
        except ValueError as exc:
            problems.append(f"Protocol 'gap'/'cutoff' could not be parsed: {exc}")
        if problems:
            raise ConfigError("; ".join(problems))


@dataclasses.dataclass(frozen=True)
class Fold:
    """Row indices (into the targets' arrays) of one outer fold.

    ``train`` = ``fit`` + ``val``; ``val`` is the inner validation part, split
    from ``train`` by region; ``test`` is only ever predicted. ``unseen`` counts
    the test rows whose category the fit rows never had, per categorical feature
    (each fit one-hot encodes by its fit rows' categories; see :func:`count_unseen`);
    None on a table without categorical features.
    """

    index: int
    train: np.ndarray
    test: np.ndarray
    fit: np.ndarray
    val: np.ndarray
    unseen: dict[str, int] | None = None

    def sizes(self) -> dict[str, Any]:
        """Row counts of the fold's parts (and unseen-category test rows), as run.json records them."""
        out: dict[str, Any] = {
            "fold": self.index,
            "fit": len(self.fit),
            "validation": len(self.val),
            "test": len(self.test),
        }
        if self.unseen is not None:
            out["unseen_test"] = dict(self.unseen)
        return out


def make_folds(targets: Any, protocol: Protocol) -> list[Fold]:
    """Outer folds and their inner validation splits, by region or by time.

    Parameters
    ----------
    targets : flarecast.targets.Targets
        Needs ``y``, ``groups`` (region per row) and ``times``.
    protocol : Protocol

    Returns
    -------
    list of Fold
    """
    y = np.asarray(targets.y)
    groups = np.asarray(targets.groups)
    if protocol.split == "kfold":
        outer = splits.region_kfold(y, groups, n_splits=protocol.folds, seed=protocol.seed)
    else:
        # Regions alive across the cutoff are removed from training (test stays complete).
        outer = [
            splits.chronological_split(
                targets.times, protocol.cutoff, gap=protocol.gap, groups=groups
            )
        ]
    folds = []
    for k, (train, test) in enumerate(outer):
        fit, val = splits.inner_validation(
            y, groups, train, fraction=protocol.validation_fraction, seed=protocol.seed + k
        )
        folds.append(Fold(k, np.asarray(train), np.asarray(test), np.asarray(fit), np.asarray(val)))
    return folds


def count_unseen(folds: list[Fold], X: pd.DataFrame) -> list[Fold]:
    """``folds`` with :attr:`Fold.unseen` counted on the feature table ``X``; unchanged without categoricals."""
    if not categorical_features(X, list(X.columns)):
        return folds
    return [
        dataclasses.replace(f, unseen=unseen_categories(X, list(X.columns), f.fit, f.test))
        for f in folds
    ]


@dataclasses.dataclass
class FoldFit:
    """Predictions of one method on one fold.

    ``p_test`` (n_test,) is the method's forecast and ``threshold`` its cut,
    chosen on validation; ``members_test`` (K, n_test) and ``member_thresholds``
    (K,) are the seed members' (K = 0 for non-ensemble methods). ``p_val``
    (n_val,) are the validation predictions, the only ones a selection (of a
    threshold, or of alpha and gamma by ``tune``) may look at.
    """

    p_test: np.ndarray
    threshold: float
    p_val: np.ndarray
    members_test: np.ndarray
    member_thresholds: np.ndarray
    climatology: float
    seconds: float
    best_epoch: list[int] | None = None


@dataclasses.dataclass
class ProtocolResult:
    """Everything :func:`flarecast.evaluation.fits.run_protocol` produced.

    ``predictions`` has one row per (method, seed, test row): columns method,
    fold, seed (-1 = the method's forecast, i.e. the seed-ensemble mean for
    networks; 0..K-1 = one member), row (index into the targets), time, region,
    letter, y, p, threshold, pred, climatology (the fold's training base rate)
    and p_calibrated: for a network's forecast (seed -1), ``p`` through a Platt
    map fitted on that fold's inner-validation predictions only (see
    :func:`flarecast.evaluation.fits.calibrate_fold`); NaN for members and for the other methods.
    Calibration is monotone, so ``pred`` and every ranking score are unchanged.
    """

    protocol: Protocol
    folds: list[Fold]
    predictions: pd.DataFrame
    labels: dict[str, str]
    seconds: dict[str, float]
    best_epochs: dict[str, list[list[int]]]
