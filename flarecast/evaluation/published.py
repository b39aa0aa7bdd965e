"""A comparison on a published split, and scoring per region.

:func:`published_folds` makes the protocol's folds from a split column
(:mod:`flarecast.published_splits`): the outer folds are the paper's; the inner validation
rows are the split's ``val`` rows when it names any, else a region-grouped part of each
fold's training rows (:func:`flarecast.splits.inner_validation`, seeded as
:func:`~flarecast.evaluation.protocol.make_folds` seeds it).

:func:`region_predictions` scores per region instead of per record: a region's forecast in a
test fold is the mean probability over its records there, its label 1 if any record is
positive, its letter the largest class among its records. The threshold chosen on the
validation records is applied to that mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError, DataError
from flarecast.evaluation.protocol import Fold, Protocol
from flarecast.published_splits import predefined_folds
from flarecast.splits import inner_validation

__all__ = ["SCORE_BY", "published_folds", "region_predictions", "check_score_by"]

#: Legal values of ``--score-by``.
SCORE_BY: tuple[str, ...] = ("record", "region")
_LETTER_ORDER = {letter: k for k, letter in enumerate("NABCMX")}


def published_folds(targets: Any, protocol: Protocol, column: str) -> list[Fold]:
    """The protocol's folds from ``targets.frame[column]`` (fold numbers or roles).

    Raises
    ------
    ConfigError
        ``column`` is not in the table.
    DataError
        A bad split column (see :func:`flarecast.published_splits.read_split_column`).
    """
    frame = targets.frame
    if column not in frame.columns:
        raise ConfigError(
            f"--split-column {column!r} is not a column of the table; it has {list(frame.columns)}."
        )
    y, groups = np.asarray(targets.y), np.asarray(targets.groups)
    folds = []
    for part in predefined_folds(frame[column], groups, column):
        if part.val is None:
            fit, val = inner_validation(
                y,
                groups,
                part.train,
                fraction=protocol.validation_fraction,
                seed=protocol.seed + part.index,
            )
        else:
            fit, val = np.setdiff1d(part.train, part.val), part.val
        for what, rows in (("training", fit), ("validation", val)):
            if len(np.unique(y[rows])) < 2:
                raise DataError(
                    f"Split column {column!r}: the {what} rows of fold {part.index} hold "
                    f"{len(rows)} rows and {int(y[rows].sum())} positives; fitting and choosing "
                    "a threshold need both flares and non-flares."
                )
        folds.append(Fold(part.index, part.train, part.test, fit, val))
    return folds


def region_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, fold, seed, region) of a predictions table: the region's forecast.

    Parameters
    ----------
    predictions : pandas.DataFrame
        As :attr:`flarecast.evaluation.protocol.ProtocolResult.predictions` (an optional
        ``repeat`` column is kept as a key).

    Returns
    -------
    pandas.DataFrame
        Same columns: ``p`` and ``p_calibrated`` the means over the region's records, ``y``
        the maximum, ``letter`` the largest class, ``time`` the first record's time, ``row``
        the first record's row; ``pred`` = mean ``p`` >= ``threshold``.
    """
    if predictions.empty:
        return predictions.copy()
    keys = [k for k in ("repeat", "method", "fold", "seed", "region") if k in predictions.columns]
    table = predictions.assign(_rank=predictions["letter"].map(_LETTER_ORDER).fillna(-1))
    grouped = table.groupby(keys, sort=False, observed=True)
    out = grouped.agg(
        row=("row", "min"),
        time=("time", "min"),
        y=("y", "max"),
        p=("p", "mean"),
        threshold=("threshold", "first"),
        climatology=("climatology", "first"),
        p_calibrated=("p_calibrated", "mean"),
        _rank=("_rank", "max"),
    ).reset_index()
    letters = np.array(list("NABCMX"), dtype=object)
    out["letter"] = pd.array(letters[out.pop("_rank").astype(int)], dtype="string")
    out["pred"] = (out["p"] >= out["threshold"]).astype(np.int8)
    out["y"] = out["y"].astype(predictions["y"].dtype)
    return out[list(predictions.columns)]


def check_score_by(value: str) -> str:
    """``value`` if it is one of :data:`SCORE_BY`, else a ConfigError naming the legal values."""
    if value not in SCORE_BY:
        raise ConfigError(
            f"--score-by must be one of {', '.join(SCORE_BY)}. Got {value!r} instead."
        )
    return value
