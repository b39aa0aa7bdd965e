"""Published splits: a paper's own folds or train/validation/test roles, read from a column.

Papers publish their partition so that others can score on the same test rows. A split
column names each row's **fold** (integers, e.g. 0..9 or 1..10) or its **role** (``train``,
``val``, ``test``); separate tables per role are combined into one table with such a column
(:func:`combine_role_tables`). :func:`predefined_folds` turns the column into outer folds:

- fold numbers: fold ``k`` is tested once, trained on every other fold; the numbers must be
  consecutive (a gap is an empty fold) and there must be at least two;
- roles: one test set (``test``), trained on ``train`` (+ ``val``); the ``val`` rows, when
  there are any, are the validation rows (else the caller carves a validation part out of
  the training rows by region, as for its own folds).

A region found in two folds or two roles is allowed (the paper decided) but warned about,
with the count: its near-duplicate records on both sides inflate the scores. Pure numpy and
pandas; no torch, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import (
    ConfigError,
    DataError,
    DataWarning,
    format_examples,
    refuse_rows,
    warn_user,
)

__all__ = [
    "ROLES",
    "ROLE_COLUMN",
    "PredefinedFold",
    "read_split_column",
    "warn_shared_regions",
    "predefined_folds",
    "combine_role_tables",
]

#: Legal role values of a split column, in pipeline order.
ROLES: tuple[str, ...] = ("train", "val", "test")
#: Column that :func:`combine_role_tables` writes.
ROLE_COLUMN = "split_role"


@dataclasses.dataclass(frozen=True)
class PredefinedFold:
    """Row indices of one outer fold of a published split.

    ``val`` is None when the split names no validation rows (fold numbers, or roles without
    ``val``); then ``train`` is split by the caller.
    """

    index: int
    train: np.ndarray
    test: np.ndarray
    val: np.ndarray | None


def read_split_column(
    values: Any, column: str, *, need: tuple[str, ...] = ("train", "test")
) -> tuple[str, np.ndarray]:
    """The kind of a split column and its values: ("folds", int64) or ("roles", str).

    Roles are read without case or surrounding spaces; ``need`` are the roles that must have
    rows (``flarecast train`` needs train only).

    Raises
    ------
    DataError
        Missing values, values that are neither all integers nor all roles (naming rows and
        the legal values), fewer than two folds, or a fold number with no rows.
    """
    series = pd.Series(values).reset_index(drop=True)
    refuse_rows(
        series.isna().to_numpy(),
        f"Split column {column!r} is empty at",
        f"; every row needs a fold number or a role ({', '.join(ROLES)}).",
    )
    numbers = pd.to_numeric(series, errors="coerce")
    if numbers.notna().all():
        whole = (numbers == np.round(numbers)).to_numpy()
        if not whole.all():
            rows = np.flatnonzero(~whole)
            raise DataError(
                f"Split column {column!r} holds non-integer fold numbers at "
                f"{format_examples(rows, series[rows].tolist())}; folds are integers."
            )
        folds = numbers.to_numpy().astype(np.int64)
        found = np.unique(folds)
        if len(found) < 2:
            raise DataError(
                f"Split column {column!r} names one fold ({found.tolist()}); fold numbers need at "
                "least two folds (for one test set, give roles: train, val, test)."
            )
        empty = sorted(set(range(found[0], found[-1] + 1)) - set(found.tolist()))
        if empty:
            raise DataError(
                f"Split column {column!r}: fold(s) {empty} have no rows (folds found: "
                f"{found.tolist()}); fold numbers must be consecutive."
            )
        return "folds", folds
    roles = series.astype(str).str.strip().str.lower()
    bad = ~roles.isin(ROLES).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            f"Split column {column!r} holds unknown role(s) {sorted(set(series[rows].astype(str)))} at "
            f"{format_examples(rows, series[rows].tolist())}; legal values are integers (folds) "
            f"or the roles {', '.join(ROLES)}."
        )
    for role in need:
        if not (roles == role).any():
            raise DataError(
                f"Split column {column!r} has no {role!r} rows (found {sorted(set(roles))}); a "
                f"split by roles needs {' and '.join(need)} rows (roles: {', '.join(ROLES)})."
            )
    return "roles", roles.to_numpy(dtype=object)


def warn_shared_regions(labels: np.ndarray, groups: Any, column: str, what: str) -> int:
    """Warn (DataWarning) about regions with rows under two labels; return how many."""
    frame = pd.DataFrame({"g": np.asarray(groups, dtype=object), "s": labels})
    per_region = frame.groupby("g", sort=True)["s"].nunique()
    shared = per_region[per_region > 1]
    if len(shared):
        warn_user(
            f"Split column {column!r}: {len(shared)} of {len(per_region)} regions have rows in more "
            f"than one {what} (e.g. {shared.index[:5].tolist()}): leakage, since records of one "
            "region are near-duplicates; the scores on this split are optimistic.",
            DataWarning,
        )
    return len(shared)


def predefined_folds(values: Any, groups: Any, column: str = "split") -> list[PredefinedFold]:
    """Outer folds of a published split column.

    Parameters
    ----------
    values : array-like, shape (n,)
        Fold number or role of each row (see :func:`read_split_column`).
    groups : array-like, shape (n,)
        Region of each row, only to warn about regions on two sides.
    column : str, default "split"
        The column's name, for messages.

    Returns
    -------
    list of PredefinedFold
        One per fold number in increasing order (fold ``index`` 0..K-1), or one for roles.

    Raises
    ------
    DataError
        See :func:`read_split_column`; also ``groups`` of another length.

    Warns
    -----
    DataWarning
        Regions with rows in two folds or roles (counted).
    """
    kind, labels = read_split_column(values, column)
    n = len(labels)
    if len(np.asarray(groups, dtype=object)) != n:
        raise DataError(
            f"Split column {column!r} has {n} rows but the regions have a different length."
        )
    rows = np.arange(n, dtype=np.int64)
    if kind == "folds":
        warn_shared_regions(labels, groups, column, "fold")
        return [
            PredefinedFold(k, rows[labels != f], rows[labels == f], None)
            for k, f in enumerate(np.unique(labels))
        ]
    warn_shared_regions(labels, groups, column, "role")
    val = rows[labels == "val"]
    return [
        PredefinedFold(0, rows[labels != "test"], rows[labels == "test"], val if len(val) else None)
    ]


def combine_role_tables(
    datasets: Mapping[str, Any],
    column: str = ROLE_COLUMN,
    *,
    required: tuple[str, ...] = ("train", "test"),
) -> Any:
    """One data set from separate train / val / test tables, with their role in ``column``.

    Parameters
    ----------
    datasets : mapping of role to Dataset
        Role -> table. The train table's features are the features; every other table must
        hold them.
    column : str, default "split_role"
    required : tuple of str, default ("train", "test")
        Roles that must be given (``flarecast train`` needs train and val).

    Returns
    -------
    Dataset
        Rows in the order train, val, test; ``name`` lists the tables; ``synthetic`` if any is.

    Raises
    ------
    ConfigError
        An unknown role, or a required role missing.
    DataError
        A table that lacks a feature column of the train table, or already has ``column``.
    """
    unknown = [r for r in datasets if r not in ROLES]
    if unknown:
        raise ConfigError(f"Unknown role(s) {unknown}; legal roles are {', '.join(ROLES)}.")
    for role in ("train", "test"):
        if role not in datasets:
            raise ConfigError(
                f"A split by tables needs a {role} table (roles: {', '.join(ROLES)})."
            )
    train = datasets["train"]
    frames = []
    for role in ROLES:
        if role not in datasets:
            continue
        data = datasets[role]
        lacking = [f for f in train.features if f not in data.frame.columns]
        if lacking:
            raise DataError(
                f"The {role} table {data.name} lacks feature column(s) {lacking} of the train "
                f"table {train.name}."
            )
        if column in data.frame.columns:
            raise DataError(f"The {role} table {data.name} already has a column {column!r}.")
        frames.append(data.frame.assign(**{column: role}))
    frame = pd.concat(frames, ignore_index=True)
    name = " + ".join(f"{r}={datasets[r].name}" for r in ROLES if r in datasets)
    sums = [str(datasets[r].sha256) for r in ROLES if r in datasets]
    return dataclasses.replace(
        train,
        frame=frame,
        name=name,
        synthetic=any(d.synthetic for d in datasets.values()),
        sha256=",".join(sums),
        notes=tuple(n for r in ROLES if r in datasets for n in datasets[r].notes),
    )
