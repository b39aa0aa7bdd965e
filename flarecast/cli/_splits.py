"""Options for a published split, shared by ``reproduce``, ``train`` and ``evaluate``.

``--split-column COL`` names each row's fold or role; ``--train/--val/--test`` give one table
per role instead (combined into one table whose column ``split_role`` holds the role);
``--score-by`` scores per record or per region. The library does the work
(:mod:`flarecast.published_splits`, :mod:`flarecast.evaluation.published`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from flarecast.cli._options import option_group

__all__ = [
    "split_options",
    "score_by_option",
    "split_data",
    "load_with_split_column",
    "published_training",
]


score_by_option = click.option(
    "--score-by",
    type=click.Choice(["record", "region"]),
    default="record",
    show_default=True,
    help="Score each record, or each region of a test fold (the mean probability over its "
    "records, positive if any record is).",
)

# ``--split-column`` and ``--train/--val/--test`` tables.
split_options = option_group(
    click.option(
        "--split-column",
        default=None,
        metavar="COL",
        help="A published split: COL names each row's fold (integers: each fold tested once) "
        "or role (train, val, test). Regions in two folds or roles are warned about.",
    ),
    click.option(
        "--train",
        "train_table",
        default=None,
        metavar="TABLE",
        help="Training table of a published split (with --test, optionally --val); "
        "replaces --dataset.",
    ),
    click.option(
        "--val",
        "val_table",
        default=None,
        metavar="TABLE",
        help="Validation table of a published split.",
    ),
    click.option(
        "--test",
        "test_table",
        default=None,
        metavar="TABLE",
        help="Test table of a published split.",
    ),
)


def split_data(
    train_table: str | None,
    val_table: str | None,
    test_table: str | None,
    split_column: str | None,
    data_dir: str | None,
    *,
    need: tuple[str, ...] = ("train", "test"),
) -> tuple[Any, str | None]:
    """The combined data set of ``--train/--val/--test`` and its role column, or (None, COL).

    Raises
    ------
    click.UsageError
        Tables together with --split-column, or a needed table missing.
    """
    from flarecast.data.tables.read import load_dataset
    from flarecast.published_splits import ROLE_COLUMN, combine_role_tables

    given = {
        r: t for r, t in (("train", train_table), ("val", val_table), ("test", test_table)) if t
    }
    if not given:
        return None, split_column
    if split_column is not None:
        raise click.UsageError("Give --split-column or --train/--val/--test tables, not both.")
    missing = [f"--{r}" for r in need if r not in given]
    if missing:
        raise click.UsageError(f"A split by tables needs {' and '.join(missing)} too.")
    datasets = {role: load_dataset(path, data_dir=data_dir) for role, path in given.items()}
    return combine_role_tables(datasets, required=need), ROLE_COLUMN


def load_with_split_column(dataset: str, column: str, data_dir: str | None) -> Any:
    """A table file read with its split column kept beside the features (not as a feature).

    Rows with a missing feature are refused rather than dropped (``missing="error"``) and
    duplicates kept, so that the table's rows stay aligned with the file's split column.

    Raises
    ------
    ConfigError
        Not a CSV or Parquet table file, or ``column`` not in it.
    DataError
        The reader's rows do not line up with the file's rows.
    """
    from pathlib import Path

    import pandas as pd

    from flarecast.data.schema import META
    from flarecast.data.tables.read import load_dataset
    from flarecast.errors import ConfigError, DataError

    path = Path(dataset)
    suffix = path.suffix.lower()
    if not path.is_file() or suffix not in (".csv", ".parquet", ".pq"):
        raise ConfigError(
            f"--split-column reads the column from a CSV or Parquet table file; {dataset!r} is "
            "not one. For registered data sets give --train/--val/--test tables instead."
        )
    if suffix == ".csv":
        names = list(pd.read_csv(path, nrows=0).columns)
    else:
        import pyarrow.parquet as pq

        names = list(pq.read_schema(path).names)
    if column not in names:
        raise ConfigError(
            f"--split-column {column!r} is not a column of {dataset}; it has {names}."
        )
    features = [c for c in names if c not in META and c != column and not c.startswith("__")]
    data = load_dataset(path, data_dir=data_dir, features=features, missing="error")
    if suffix == ".csv":
        values = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False)[column]
        values = values.where(values.str.strip() != "", None)
    else:
        values = pd.read_parquet(path, columns=[column])[column]
    if len(values) != len(data.frame):
        raise DataError(
            f"{dataset}: the table has {len(data.frame)} rows but its column {column!r} has "
            f"{len(values)}; the split cannot be lined up with the rows."
        )
    return dataclasses.replace(data, frame=data.frame.assign(**{column: values.to_numpy()}))


def published_training(
    dataset: str | None,
    split_column: str | None,
    tables: tuple[str | None, str | None, str | None],
    *,
    features: Any,
    before: str | None,
    gap: str,
    negatives: tuple[str, ...],
    positive_threshold: str,
    seed: int,
) -> Any:
    """``flarecast train``'s rows from a published split: fit on 'train', validate on 'val'.

    Without 'val' rows the validation part is carved out of the 'train' rows by region, as
    without a split; 'test' rows are left out (and counted). Fold numbers are refused: a
    model is trained on one training set.
    """
    import numpy as np

    from flarecast.errors import ConfigError
    from flarecast.published_splits import read_split_column, warn_shared_regions
    from flarecast.splits import inner_validation
    from flarecast.targets import make_targets
    from flarecast.training.fit import (
        VALIDATION_FRACTION,
        TrainingData,
        records_before,
        select_features,
    )

    data, column = split_data(*tables, split_column, None, need=("train",))
    if data is None:
        if dataset is None:
            raise click.UsageError("Give --dataset (with --split-column) or --train TABLE.")
        data = load_with_split_column(dataset, str(column), None)
    chosen = select_features(features, data.features, data.name)
    note = ""
    if before is not None:
        data, n_later, cut = records_before(data, before, gap)
        note = f"; left out {n_later} records at or after {cut:%Y-%m-%d %H:%M} UTC"
    targets = make_targets(data, negatives=negatives, positive_threshold=positive_threshold)
    kind, roles = read_split_column(targets.frame[column], str(column), need=("train",))
    if kind != "roles":
        raise ConfigError(
            f"train fits one model: --split-column {column} must name roles (train, val, test), "
            "not fold numbers."
        )
    warn_shared_regions(roles, targets.groups, str(column), "role")
    rows = np.arange(len(roles))
    fit, val = rows[roles == "train"], rows[roles == "val"]
    if len(val) == 0:
        y = targets.y.astype(np.int64)
        fit, val = inner_validation(y, targets.groups, fit, fraction=VALIDATION_FRACTION, seed=seed)
    n_test = int((roles == "test").sum())
    note += f"; published split {column!r}: {n_test} test rows left out"
    return TrainingData(data, targets, chosen, fit, val, tuple(negatives), positive_threshold, note)
