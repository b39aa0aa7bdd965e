"""Labelling in whole-region partitions: split the records, label each part as a task, put them back.

:func:`flarecast.labels.label_records` comes here when it is given an executor
(:mod:`flarecast.execution`). The SHARP records are split into partitions of whole regions (a
region never spans two partitions); each partition becomes one task holding only its records'
times and regions and its regions' flares, and the same vectorised labeller labels it. A
record's label depends only on its own region's flares and the catalogue's coverage, which is
computed once from the whole catalogue, so the pieces put back in the records' order equal the
single-process result row for row, whichever executor ran them.

The labeller itself is passed in (``label``), so this module never imports
:mod:`flarecast.labels`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX, TIME
from flarecast.errors import ConfigError, SchemaError

__all__ = ["region_partitions", "label_in_partitions"]


def region_partitions(keys: np.ndarray, n_partitions: int) -> tuple[np.ndarray, np.ndarray]:
    """Assign whole regions to ``n_partitions`` partitions of about equal record counts.

    Parameters
    ----------
    keys : ndarray of float, shape (n,)
        Region of each record (NaN = none; those records form one group of their own).
    n_partitions : int >= 1

    Returns
    -------
    part : ndarray of int16, shape (n,)
        Partition of each record, ``0 .. P - 1``, ``P <= n_partitions``; every partition is non-empty.
    regions : ndarray of float, shape (P + 1,)
        Boundaries: partition ``p`` holds the regions ``regions[p] <= r < regions[p + 1]``
        (NaN-region records go to the last partition).
    """
    if isinstance(n_partitions, bool) or not 1 <= int(n_partitions) <= 32767:
        raise ConfigError(
            f"The 'partitions' parameter must be an int in [1, 32767]. Got {n_partitions!r} "
            "instead."
        )
    keys = np.asarray(keys, dtype=float)
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int16), np.array([-np.inf, np.inf])
    regions, sizes = _region_sizes(keys)
    n_missing = len(keys) - int(sizes.sum())
    sizes = np.append(sizes, n_missing)  # records without a region: one extra group, last
    parts = max(1, min(int(n_partitions), int((sizes > 0).sum())))
    # Regions in sorted order are cut where the running record count crosses each 1/P share.
    first = np.cumsum(sizes) - sizes
    group_part = np.minimum(first * parts // len(keys), parts - 1)
    # A large region can jump over a share: renumber the partitions that received groups 0..P-1.
    used = np.unique(group_part[sizes > 0])
    group_part = np.searchsorted(used, group_part)
    starts = np.searchsorted(group_part[:-1], np.arange(1, len(used)))
    # A partition holding only records without a region (the last one) starts at +inf: it needs no flares.
    bounds = np.concatenate([[-np.inf], np.append(regions, np.inf)[starts], [np.inf]])
    # NaN sorts after +inf, so records without a region land in the last partition.
    part = np.searchsorted(bounds[1:-1], keys, side="right").astype(np.int16)
    return part, bounds


def _region_sizes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct regions (sorted, float) and their record counts, NaN left out.

    Region numbers are integers in a modest range (NOAA ARs, HARPs), so a
    bincount does it in a few passes; anything else falls back to a sort.
    """
    values = keys[~np.isnan(keys)]
    if len(values) == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    low, high = values.min(), values.max()
    if (
        np.isfinite(high - low)
        and high - low < 50_000_000
        and np.array_equal(values, np.floor(values))
    ):
        counts = np.bincount((values - low).astype(np.int64))
        present = np.flatnonzero(counts)
        return present + low, counts[present]
    return np.unique(values, return_counts=True)


def _label_partition(
    label: Callable[..., pd.DataFrame],
    part: tuple[np.ndarray, np.ndarray, pd.DataFrame],
    options: dict[str, Any],
) -> dict[str, Any]:
    """Task: label one partition (record times in ns, region keys, its flares); return the label columns."""
    times, keys, events = part
    records = pd.DataFrame({TIME: pd.to_datetime(times, unit="ns", utc=True), options["key"]: keys})
    labelled = label(records, events, **options)
    kept = labelled.index.to_numpy()
    hist = labelled.attrs["history_feature"]
    a = labelled.attrs
    # Classes travel as int32 codes into this part's few distinct names, not as millions of strings.
    codes, names = pd.factorize(labelled[GOES_CLASS], use_na_sentinel=True)
    return {
        "kept": None if len(kept) == len(records) else kept,
        "flux": labelled[PEAK_FLUX].to_numpy(),
        "codes": codes.astype(np.int32),
        "names": [str(name) for name in names],
        "history": labelled[hist].to_numpy() if hist else None,
        "records_without_region": a["records_without_region"],
        "records_outside_coverage": a["records_outside_coverage"],
    }


def label_in_partitions(
    label: Callable[..., pd.DataFrame],
    records: pd.DataFrame,
    events: pd.DataFrame,
    *,
    executor: Any,
    partitions: int | None = None,
    key: str = NOAA_AR,
    unknown: str = "missing",
    coverage: tuple[object, object] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """``label(records, events, ...)`` run as one task per whole-region partition on ``executor``.

    Parameters
    ----------
    label : callable
        The single-process labeller, :func:`flarecast.labels.label_records`.
    records, events, key, unknown, coverage
        As for :func:`~flarecast.labels.label_records`.
    executor : flarecast.execution.Executor
        Runs the partitions' tasks.
    partitions : int, optional
        Number of region partitions; default ``executor.workers``.
    **options
        ``horizon``, ``latency``, ``event_time``, ``history`` of ``label_records``.

    Returns
    -------
    pandas.DataFrame
        Equal, row for row and in ``attrs``, to ``label(records, events, ...)``.
    """
    # Every check of the single-process path (options, columns, region numbers, coverage), on no rows.
    template = label(
        records.iloc[:0], events, key=key, unknown=unknown, coverage=coverage, **options
    )
    if records[TIME].isna().any():
        rows = np.flatnonzero(records[TIME].isna().to_numpy())[:5]
        raise SchemaError(
            f"The records' column {TIME!r} has missing times at rows {rows.tolist()}."
        )
    a = template.attrs
    task_options = {
        **options,
        "key": key,
        "unknown": unknown,
        "coverage": (a["coverage_start"], a["coverage_end"]),
    }  # the whole catalogue's, for every part
    need = list(dict.fromkeys([options.get("event_time", "peak"), "peak", PEAK_FLUX, key]))
    ev = events.loc[events[key].notna(), need]
    keys = records[key].to_numpy(dtype=float, na_value=np.nan)

    part, bounds = region_partitions(keys, int(partitions or executor.workers or 1))
    order = np.argsort(part, kind="stable")  # int16 keys: a radix sort; rows keep their order
    cuts = np.searchsorted(part[order], np.arange(len(bounds)))
    # Only what the labeller reads travels: times (ns) and regions as plain arrays, and each
    # partition's own flares.
    times = records[TIME].dt.tz_convert("UTC").dt.as_unit("ns").array.asi8
    ev_keys = ev[key].to_numpy(dtype=float)
    tasks, positions = [], []
    for p in range(len(bounds) - 1):
        idx = order[cuts[p] : cuts[p + 1]]
        in_part = (ev_keys >= bounds[p]) & (ev_keys < bounds[p + 1])
        piece = executor.share((times[idx], keys[idx], ev.loc[in_part]))
        tasks.append(
            executor.submit(_label_partition, label, piece, task_options, name=f"label-{p}")
        )
        positions.append(idx)
    results = [task.result() for task in tasks]
    return _assemble(records, results, positions, a)


def _assemble(
    records: pd.DataFrame,
    results: list[dict[str, Any]],
    positions: list[np.ndarray],
    attrs: dict[str, Any],
) -> pd.DataFrame:
    """The partitions' label columns put back in the records' order by position (no sort).

    The class strings are made once, from codes into all parts' names, the way
    ``label_records`` makes them.
    """
    import pyarrow as pa

    n = len(records)
    where = np.concatenate(
        [
            pos if r["kept"] is None else pos[r["kept"]]
            for pos, r in zip(positions, results, strict=True)
        ]
    )
    names = sorted(set().union(*(r["names"] for r in results)))
    lookup = {name: i for i, name in enumerate(names)}
    code = np.full(n, -1, dtype=np.int32)
    code[where] = np.concatenate(
        [
            np.array([*(lookup[x] for x in r["names"]), -1], dtype=np.int32)[r["codes"]]
            for r in results
        ]
    )  # a part's code -1 (no label) indexes the final -1
    flux = np.full(n, np.nan)
    flux[where] = np.concatenate([r["flux"] for r in results])
    out = records.copy(deep=False)
    out[PEAK_FLUX] = flux
    out[GOES_CLASS] = pd.array(
        pa.array(names, type=pa.large_string()).take(pa.array(code, mask=code < 0)), dtype="str"
    )
    hist_name = attrs["history_feature"]
    if hist_name:
        hist = np.full(n, np.nan)
        hist[where] = np.concatenate([r["history"] for r in results])
        out[hist_name] = hist
    if len(where) < n:  # unknown="drop" left some out
        kept = np.zeros(n, dtype=bool)
        kept[where] = True
        out = out.loc[kept]
    out.attrs = {**records.attrs, **attrs}
    for count in ("records_without_region", "records_outside_coverage"):
        out.attrs[count] = int(sum(r[count] for r in results))
    out.attrs["unknown_labels_dropped"] = int(n - len(where))
    return out
