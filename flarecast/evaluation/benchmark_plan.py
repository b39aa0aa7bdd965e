"""Which registered data sets the benchmark runs, under which targets, and why others are left out.

The focal-versus-cross-entropy question is "M or X flare against weaker
flares, one sample per region snapshot". :func:`plan_benchmark` walks the data
registry and decides, for each data set, whether the comparison fits it:

- a data set with no-flare rows (``flaring_only`` false: hollanda-2019 and any
  region-day set) gives two rows, negatives ``C`` (the protocol's) and
  negatives ``A,B,C,N`` (every weaker row), unless it records no flare below C
  (no A or B row: hayes-srs, whose ``N`` means "no flare of C class or above"):
  then only the ``C`` row, region-days whose largest flare is C, asks the
  question, and the ``A,B,C,N`` row is listed as left out;
- a data set of flaring regions only (the umich sets, flareml-2017) gives one
  row with the protocol's negatives;
- a sample of another registered set (:data:`SAMPLES`) is skipped, as its rows
  are benchmarked in the whole set;
- the synthetic demo is left out unless it is named;
- categorical features (McIntosh and Mt Wilson classes) are one-hot encoded
  by each fit (:class:`flarecast.features.categorical.OneHotInput`);
- a table the protocol cannot fit is skipped with the reason: non-numeric
  features that are not categorical, fewer regions than folds (the Liu et al. 2019
  demos: one region each), or too few regions with a positive or a negative to
  give every region-grouped test fold one.

No torch is imported here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import GOES_CLASS
from flarecast.errors import ConfigError, DataError

__all__ = [
    "ALL_NEGATIVES",
    "ROWS_FOLDER",
    "SAMPLES",
    "BenchmarkRow",
    "Skipped",
    "BenchmarkPlan",
    "plan_benchmark",
]

#: Negatives of the second row of a data set with no-flare rows: every row below the threshold.
ALL_NEGATIVES: tuple[str, ...] = ("A", "B", "C", "N")
#: Subfolder of the output holding one folder per row (replaced as a whole by a rerun).
ROWS_FOLDER = "datasets"
#: Registered data sets that are samples of another one: name -> the whole set.
SAMPLES: dict[str, str] = {
    "flareml-2017-train": "flareml-2017",
    "flareml-2017-random40": "flareml-2017",
}


@dataclasses.dataclass(frozen=True)
class BenchmarkRow:
    """One row of the benchmark: a data set under one negative-class definition.

    Attributes
    ----------
    name : str
        Row label, e.g. ``"umich-24h"`` or ``"hollanda-2019 [A,B,C,N]"``.
    dataset : str
        Registered data-set name.
    negatives : tuple of str
        Negative letters of this row's target.
    folder : str
        Where this row's repeated outputs go, relative to the output folder
        (``datasets/<name>[_neg-<letters>]``).
    data, targets : Dataset, Targets
        The loaded table and its binary target.
    """

    name: str
    dataset: str
    negatives: tuple[str, ...]
    folder: str
    data: Any = dataclasses.field(repr=False, compare=False)
    targets: Any = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A registered data set the benchmark leaves out, with the reason and its size."""

    dataset: str
    reason: str
    rows: int | None = None
    regions: int | None = None
    positives: int | None = None


@dataclasses.dataclass(frozen=True)
class BenchmarkPlan:
    """The rows to run, in registry order, and the data sets left out."""

    rows: tuple[BenchmarkRow, ...]
    skipped: tuple[Skipped, ...]


def _folder(name: str, negatives: tuple[str, ...] | None) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name)
    slug = slug if negatives is None else f"{slug}_neg-{''.join(negatives)}"
    return f"{ROWS_FOLDER}/{slug}"


def _label(name: str, negatives: tuple[str, ...] | None) -> str:
    return name if negatives is None else f"{name} [{','.join(negatives)}]"


def _non_numeric(data: Any) -> list[str]:
    frame = data.frame
    numeric = pd.api.types.is_numeric_dtype
    return [
        f
        for f in data.features
        if not (numeric(frame[f].dtype) or isinstance(frame[f].dtype, pd.CategoricalDtype))
    ]


def _no_flares_below_c(name: str, data: Any) -> Skipped | None:
    """The all-negatives row, left out when the table has no A or B row (B flares not recorded)."""
    letters = data.frame[GOES_CLASS].astype(str).str[:1].str.upper()
    if letters.isin(["A", "B"]).any():
        return None
    return Skipped(
        _label(name, ALL_NEGATIVES),
        "no flare below C is recorded in this table (no A or B row; N means no flare of C "
        "class or above), so 'every weaker row' cannot be told from 'no flare': only negatives "
        f"C (rows whose largest flare is C) ask the question, keeping "
        f"{int(letters.isin(['C', 'M', 'X']).sum())} of its {len(data.frame)} rows",
        rows=len(data.frame),
        regions=int(data.frame["noaa_ar"].nunique()),
    )


def _too_small(targets: Any, folds: int) -> str | None:
    y = np.asarray(targets.y)
    groups = np.asarray(targets.groups)
    regions = len(np.unique(groups))
    positive_regions = len(np.unique(groups[y == 1]))
    negative_regions = len(np.unique(groups[y == 0]))
    if min(positive_regions, negative_regions) >= folds:
        return None
    shown = ", ".join(str(g) for g in np.unique(groups)[:5])
    return (
        f"too small: {len(y)} rows, {int(y.sum())} positive, {regions} region(s) ({shown}); "
        f"{positive_regions} region(s) with a positive and {negative_regions} with a negative, "
        f"and region-grouped {folds}-fold partitions need at least {folds} of each"
    )


def plan_benchmark(
    protocol: Any, datasets: Sequence[str] | None = None, *, data_dir: str | Path | None = None
) -> BenchmarkPlan:
    """Decide which registered data sets the benchmark runs, and why the others are left out.

    Parameters
    ----------
    protocol : flarecast.evaluation.protocol.Protocol
        Its ``negatives``, ``positive_threshold`` and ``folds`` decide the targets and the size test.
    datasets : sequence of str, optional
        Registered names (or table files) to consider, in this order; default
        every registered name except the synthetic demo. A named sample or
        too-small set is listed as skipped, not refused.
    data_dir : path, optional
        Local data folder; default ``$FLARECAST_DATA_DIR``.

    Returns
    -------
    BenchmarkPlan

    Raises
    ------
    ConfigError
        An unknown or repeated name (the registered names are listed), or no name at all.
    """
    from flarecast.data import registry
    from flarecast.data.tables.read import load_dataset
    from flarecast.targets import make_targets

    if datasets is None:
        names = [n for n, e in registry.registry().items() if not e.synthetic]
    else:
        names = list(datasets)
        if not names:
            raise ConfigError(
                "--datasets names no data set; give registered names, comma-separated."
            )
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(f"--datasets names {repeated} more than once.")
        for name in names:
            if name not in registry.registry() and not Path(name).is_file():
                registry.get_entry(name)  # an unknown name: ConfigError with close matches
    rows: list[BenchmarkRow] = []
    skipped: list[Skipped] = []
    for name in names:
        if name in SAMPLES:
            skipped.append(
                Skipped(name, f"a sample of {SAMPLES[name]}'s rows, benchmarked as the whole set")
            )
            continue
        data = load_dataset(name, data_dir=data_dir)
        regions = int(data.frame["noaa_ar"].nunique())
        non_numeric = _non_numeric(data)
        if non_numeric:
            skipped.append(
                Skipped(
                    name,
                    f"non-numeric feature(s) {non_numeric} that are not categorical: the "
                    "protocol's methods take numbers and one-hot encoded categories only",
                    rows=len(data.frame),
                    regions=regions,
                )
            )
            continue
        if regions < protocol.folds:
            skipped.append(
                Skipped(
                    name,
                    f"too small: {len(data.frame)} rows from {regions} region(s); region-grouped "
                    f"{protocol.folds}-fold partitions need at least {protocol.folds} regions",
                    rows=len(data.frame),
                    regions=regions,
                )
            )
            continue
        variants: list[tuple[str, ...] | None] = [None]
        if not data.flaring_only:
            variants = [tuple(protocol.negatives), ALL_NEGATIVES]
            below_c = _no_flares_below_c(name, data)
            if below_c is not None:
                variants = variants[:1]
                skipped.append(below_c)
        for negatives in variants:
            chosen = tuple(protocol.negatives) if negatives is None else negatives
            try:
                targets = make_targets(data, chosen, protocol.positive_threshold)
            except DataError as exc:
                skipped.append(
                    Skipped(_label(name, negatives), f"no usable target: {exc}", len(data.frame))
                )
                continue
            small = _too_small(targets, protocol.folds)
            if small is not None:
                skipped.append(
                    Skipped(
                        _label(name, negatives),
                        small,
                        rows=len(targets.y),
                        regions=int(len(np.unique(targets.groups))),
                        positives=int(np.sum(targets.y)),
                    )
                )
                continue
            folder = _folder(name, negatives)
            if folder in {r.folder for r in rows}:  # two table files of the same file name
                folder = f"{folder}_{len(rows)}"
            rows.append(BenchmarkRow(_label(name, negatives), name, chosen, folder, data, targets))
    return BenchmarkPlan(tuple(rows), tuple(skipped))
