"""The ``flarecast train`` pipeline: table -> targets -> region split -> fit -> model folder.

:func:`prepare_training` reads the data set and cuts it into training and
validation rows; :func:`fit_network` trains a :class:`FlareClassifier` on them;
:func:`save_trained` writes the model folder as one unit (weights, sidecar,
calibration and any other files from the caller, history and ``train.toml``,
all tied to the weights' sha256). The command line only parses options,
reports progress and prints.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flarecast.data.schema import Dataset
from flarecast.errors import ConfigError, DataError
from flarecast.features.categorical import ENCODING_KEY, encode_categoricals
from flarecast.targets import Targets
from flarecast.training.config import TrainConfig, write_train_toml
from flarecast.training.folder import staged_model_folder, write_history

__all__ = [
    "TrainingData",
    "select_features",
    "records_before",
    "prepare_training",
    "fit_network",
    "save_trained",
    "describe_fit",
    "VALIDATION_FRACTION",
]

#: Share of the regions held out for early stopping, the threshold and the calibration.
VALIDATION_FRACTION = 0.2


@dataclasses.dataclass
class TrainingData:
    """A data set made ready for training.

    Attributes
    ----------
    data : Dataset
        The (possibly ``--before``-cut) data set.
    targets : Targets
    features : list of str
        Feature columns in model order.
    fit_idx, val_idx : ndarray of int
        Rows of ``targets.frame`` that train and validate.
    negatives : tuple of str
    positive_threshold : str
        The class definition the targets were made with.
    cut_note : str
        What ``before`` left out, for the command's summary ("" when nothing).
    encoding : OneHotEncoding or None
        The one-hot encoding of the categorical features, fitted on the fit rows
        (:mod:`flarecast.features.categorical`); None when no feature is categorical.
    """

    data: Dataset
    targets: Targets
    features: list[str]
    fit_idx: np.ndarray
    val_idx: np.ndarray
    negatives: tuple[str, ...] = ("C",)
    positive_threshold: str = "M1.0"
    cut_note: str = ""
    encoding: Any = None

    @property
    def banner(self) -> str:
        """ "SYNTHETIC data: " for a synthetic data set, else ""."""
        return "SYNTHETIC data: " if self.data.synthetic else ""

    def describe(self, config: TrainConfig) -> list[str]:
        """What is trained on and validated with, as lines for the command to print."""
        targets, groups = self.targets, self.targets.groups
        dropped = {k: v for k, v in targets.dropped.items() if v}
        fit, val = self.fit_idx, self.val_idx
        return [
            f"{self.banner}{self.data.name}: {len(targets.frame)} rows ({targets.definition}), "
            f"{targets.n_positive} positive; left out {sum(dropped.values())} rows {dropped}"
            f"{self.cut_note}",
            f"training on {len(fit)} rows of {len(np.unique(groups[fit]))} regions, validating on "
            f"{len(val)} rows of {len(np.unique(groups[val]))} regions; {config.n_members} "
            f"member(s), {config.loss} loss, {config.model}, {len(self.features)} features",
        ] + self._encoding_lines()

    def _encoding_lines(self) -> list[str]:
        if self.encoding is None:
            return []
        return [
            f"one-hot: {list(self.encoding.categories_)} -> {len(self.encoding.columns_)} columns "
            "(categories of the fit rows; an unseen one is an all-zero block); validation rows "
            f"with an unseen category, per feature: {self.encoding.unseen_}"
        ]

    def provenance(self, config: TrainConfig, **more: Any) -> dict[str, Any]:
        """The sidecar's ``extra``: how the rows were split and dropped, plus ``more`` entries."""
        return {
            "command": "flarecast train",
            **more,
            "split": {
                "method": "inner_validation by region",
                "fraction": VALIDATION_FRACTION,
                "seed": config.seed,
                "fit_rows": len(self.fit_idx),
                "validation_rows": len(self.val_idx),
            },
            "dropped": self.targets.dropped,
            "notes": list(self.data.notes),
            **({} if self.encoding is None else {ENCODING_KEY: self.encoding.to_dict()}),
        }

    @property
    def y(self) -> np.ndarray:
        return self.targets.y.astype(np.int64)

    def rows(self, idx: np.ndarray) -> tuple[Any, np.ndarray]:
        """The frame rows and 0/1 targets at ``idx``."""
        return self.targets.frame.iloc[idx], self.y[idx]


def select_features(
    requested: Sequence[str] | None, available: Sequence[str], source: str
) -> list[str]:
    """``requested`` checked against ``available`` (all of them when None), with did-you-mean hints."""
    available = tuple(available)
    if requested is None:
        return list(available)
    unknown = [f for f in requested if f not in available]
    if unknown:
        hints = []
        for f in unknown:
            close = difflib.get_close_matches(f.upper(), available, n=1)
            hints.append(f"{f!r} (did you mean {close[0]!r}?)" if close else repr(f))
        raise ConfigError(
            f"--features: {', '.join(hints)} not in {source}; its features are {list(available)}"
        )
    if len(set(requested)) != len(requested):
        raise ConfigError(f"--features lists a feature twice: {list(requested)}")
    return list(requested)


def records_before(data: Dataset, before: str, gap: str) -> tuple[Dataset, int, Any]:
    """``data`` cut to the records with ``time < before - gap`` (UTC): (data, records left out, the cut)."""
    import pandas as pd

    from flarecast.splits import cutoff_and_gap

    stamp, width = cutoff_and_gap(
        before,
        gap,
        "--before must be a time such as 2014-10-24 and --gap a duration such as 24h",
        ("--before", "--gap"),
    )
    cut = stamp - width
    times = pd.to_datetime(data.frame["time"], utc=True)
    if times.isna().any():
        raise DataError(
            f"{data.name}: {int(times.isna().sum())} record(s) have no time (first at row "
            f"{int(np.flatnonzero(times.isna().to_numpy())[0])}), so --before cannot place them"
        )
    keep = (times < cut).to_numpy()
    if not keep.any():
        raise DataError(
            f"{data.name}: no record before {cut:%Y-%m-%d %H:%M} UTC (--before {before} - --gap {gap}); "
            f"its first record is at {times.min():%Y-%m-%d %H:%M} UTC"
        )
    return (
        dataclasses.replace(data, frame=data.frame[keep].reset_index(drop=True)),
        int((~keep).sum()),
        cut,
    )


def prepare_training(
    dataset: str | Path,
    *,
    features: Sequence[str] | None = None,
    before: str | None = None,
    gap: str = "48h",
    negatives: Sequence[str] = ("C",),
    positive_threshold: str = "M1.0",
    seed: int = 0,
) -> TrainingData:
    """Load ``dataset``, optionally cut it at ``before - gap``, make the targets, split by region.

    The validation rows are :data:`VALIDATION_FRACTION` of the regions, with
    positives on both sides (:func:`flarecast.splits.inner_validation`).
    """
    from flarecast.data.tables.read import load_dataset
    from flarecast.splits import inner_validation
    from flarecast.targets import make_targets

    data = load_dataset(dataset)
    chosen = select_features(features, data.features, data.name)
    cut_note = ""
    if before is not None:
        data, n_later, cut = records_before(data, before, gap)
        cut_note = (
            f"; left out {n_later} records at or after {cut:%Y-%m-%d %H:%M} UTC "
            f"(--before {before} - --gap {gap})"
        )
    targets = make_targets(data, negatives=negatives, positive_threshold=positive_threshold)
    y = targets.y.astype(np.int64)
    fit_idx, val_idx = inner_validation(
        y, targets.groups, np.arange(len(y)), fraction=VALIDATION_FRACTION, seed=seed
    )
    # Categorical features (region-day tables) become one-hot columns of the fit rows' categories.
    frame, chosen, encoding = encode_categoricals(targets.frame, chosen, fit_idx)
    if encoding is not None:
        # Counted for the summary: validation rows whose category the fit rows never had.
        encoding.encode(targets.frame.iloc[val_idx])
        targets = dataclasses.replace(targets, frame=frame)
    return TrainingData(
        data, targets, chosen, fit_idx, val_idx, tuple(negatives), positive_threshold, cut_note,
        encoding,
    )  # fmt: skip


def fit_network(
    prepared: TrainingData,
    config: TrainConfig,
    *,
    threshold: float | str = "tss",
    callback: Callable[[int, dict[str, Any]], None] | None = None,
    checkpoint: Any = None,
) -> Any:
    """A :class:`~flarecast.training.estimator.FlareClassifier` of ``config`` fitted on ``prepared``.

    Early stopping and the ``"tss"`` threshold use the validation rows only.
    """
    from flarecast import config as cfg
    from flarecast.training.estimator import FlareClassifier

    clf = FlareClassifier(
        **cfg.to_dict(config), threshold=threshold, features=tuple(prepared.features)
    )
    X_fit, y_fit = prepared.rows(prepared.fit_idx)
    clf.fit(
        X_fit,
        y_fit,
        validation=prepared.rows(prepared.val_idx),
        callback=callback,
        checkpoint=checkpoint,
    )
    return clf


def save_trained(
    out: str | Path,
    clf: Any,
    prepared: TrainingData,
    config: TrainConfig,
    *,
    threshold: str,
    extra: dict[str, Any],
    writers: Iterable[Callable[[Path], Any]] = (),
    overwrite: bool = False,
) -> Path:
    """Write the model folder ``out`` as one unit and return it.

    Parameters
    ----------
    writers : callables
        Each is called with the folder being assembled after the model is saved
        there, to add files (the command adds ``calibration.json``).
    overwrite : bool
        Replace a model folder already at ``out`` (else :class:`ConfigError`).
    """
    from flarecast import config as cfg
    from flarecast.training.artifacts import save_model

    data = prepared.data
    with staged_model_folder(out, overwrite=overwrite) as folder:
        save_model(
            clf, folder, dataset=data, targets_definition=prepared.targets.definition, extra=extra
        )
        for write in writers:
            write(folder)
        write_history(folder / "history.csv", clf.history_)
        write_train_toml(
            folder / "train.toml",
            {
                "train": cfg.to_dict(config),
                "data": {
                    "dataset": data.name,
                    "sha256": data.sha256,
                    "synthetic": data.synthetic,
                    "features": list(prepared.features),
                    "negatives": list(prepared.negatives),
                    "positive_threshold": prepared.positive_threshold,
                    "threshold": threshold,
                },
            },
        )
    return Path(out)


def describe_fit(clf: Any, config: TrainConfig, seconds: float) -> list[str]:
    """The validation scores and best epochs of a fitted classifier, as lines to print."""
    v = clf.validation_
    return [
        f"validation ({v['n']} rows, base rate {v['base_rate']:.3f}; training base rate "
        f"{clf.base_rate_:.3f}): ensemble AUC {v['auc']:.3f}, mean {config.loss} loss {v['loss']:.4f}",
        f"best epochs per member: {clf.best_epoch_.tolist()} of {len(clf.history_['val_loss'])} run; "
        f"threshold {clf.threshold_:.3f}; {seconds:.1f} s on {clf.device_}",
    ]
