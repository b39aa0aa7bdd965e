"""Extra feature columns for a comparison table: snapshot evolution and flare history.

:func:`augment_dataset` returns the data set with new columns appended and one
:class:`Addition` per group of columns, so the comparison can fit every method with and
without them (:func:`flarecast.evaluation.methods.augmented_methods`). What a row's new
values may use:

- **evolution** (:func:`evolution_addition`): differences and rates per hour of a few SHARP
  keywords between the row and its two previous snapshots (:mod:`flarecast.features.evolution`).

  - Michigan per-flare tables (``umich-<L>h``): the *same flare's* snapshots at the next
    longer leads (for umich-24h the 36 h and 48 h snapshots), joined by
    :func:`~flarecast.features.evolution.umich_evolution`. Never other rows of the lead file:
    a row exists only because its region flared ``L`` hours later, so its presence leaks the
    future. The raw features of those snapshots are carried too
    (:func:`~flarecast.features.snapshots.umich_snapshots`), for the sequence row's windows
    only.
  - Region series with rows whether or not the region flared (hollanda-2019, demo):
    the region's previous records, strictly earlier in time, at most :data:`REGION_MAX_GAP`
    before the row.
  - Any other table that holds flaring regions only is refused: its earlier rows exist
    because of later flares.

- **history** (:func:`history_addition`): count and log10 largest peak flux of the region's
  catalogue flares peaking in the 24 h and 48 h before the row
  (:func:`~flarecast.features.history.flare_history`).

A row without an earlier snapshot, or outside the catalogue's coverage, has NaN in the new
value columns; nothing is dropped. Each addition adds 0/1 indicator columns that say where
the values are missing (they depend on the row's own past only, so they are not fitted).
The filling itself is fitted: every method fills a NaN with the median of that column over
its own fit rows (:class:`flarecast.evaluation.methods.ColumnView`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import NOAA_AR, Dataset
from flarecast.errors import ConfigError, DataError
from flarecast.features.evolution import evolution_features, umich_evolution
from flarecast.features.history import flare_history
from flarecast.features.snapshots import umich_snapshots

__all__ = [
    "EVOLUTION_KEYWORDS",
    "REGION_MAX_GAP",
    "UMICH_LEADS",
    "Addition",
    "evolution_addition",
    "history_addition",
    "augment_dataset",
    "describe",
]

#: SHARP keywords whose evolution is computed when the table has them: the extensive
#: flux, current and energy measures that grow before large flares (Bobra & Couvidat 2015),
#: kept few so that two lags add 26 columns, not 80.
EVOLUTION_KEYWORDS: tuple[str, ...] = (
    "USFLUX",
    "TOTUSJH",
    "TOTPOT",
    "TOTUSJZ",
    "MEANPOT",
    "SHRGT45",
)
#: Lead times (hours) of the registered Michigan tables ``umich-<L>h``.
UMICH_LEADS: tuple[int, ...] = (6, 12, 24, 36, 48)
#: A region's record older than this is not one of its previous records: two daily steps
#: plus half a day for the jitter of the record times.
REGION_MAX_GAP = "60h"
_UMICH = re.compile(r"umich-(\d+)h")


@dataclasses.dataclass(frozen=True)
class Addition:
    """A group of added columns.

    Attributes
    ----------
    name : str
        "evolution" or "history": the suffix of the method rows that use it.
    values : tuple of str
        Value columns (NaN where unknown; filled per method from its fit rows).
    indicators : tuple of str
        0/1 columns, 1 where the values are missing.
    note : str
        How the columns were made and how many rows lack them.
    windows : bool
        The table's own earlier rows of a region are its history (a region series), so a
        sequence model may read windows of consecutive rows; False for the Michigan tables,
        where an earlier row exists only because of a later flare.
    snapshots : tuple of str
        Raw features of each row's own earlier snapshots (Michigan tables:
        :func:`~flarecast.features.snapshots.umich_snapshots`), NaN where there is none; in the
        table but not among the values, read by the sequence row only, which masks them where
        missing instead of filling them.
    """

    name: str
    values: tuple[str, ...]
    indicators: tuple[str, ...]
    note: str
    windows: bool = False
    snapshots: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.values + self.indicators


def _keywords(data: Dataset) -> list[str]:
    present = [k for k in EVOLUTION_KEYWORDS if k in data.features]
    return present or list(data.features)


def _indicator(missing: pd.Series | np.ndarray, name: str, index: pd.Index) -> pd.Series:
    return pd.Series(np.asarray(missing, dtype=float), index=index, name=name)


def evolution_addition(
    data: Dataset, *, data_dir: str | Path | None = None, lags: int = 2
) -> tuple[pd.DataFrame, Addition]:
    """Evolution columns for every row of ``data.frame`` (same index), and their :class:`Addition`.

    On a Michigan table the columns also hold the raw features of each flare's earlier
    snapshots (:attr:`Addition.snapshots`), for the sequence row.

    Parameters
    ----------
    data : Dataset
        A registered ``umich-<L>h`` set (the longer-lead tables are loaded from the registry),
        or a table that is not ``flaring_only`` (a region series).
    data_dir : str or Path, optional
        Data folder for the longer-lead Michigan tables; default ``$FLARECAST_DATA_DIR``.
    lags : int, default 2

    Raises
    ------
    ConfigError
        A Michigan table with no longer lead, or a flaring-only table that is not a Michigan one.
    """
    keywords = _keywords(data)
    frame = data.frame
    snaps = None
    match = _UMICH.fullmatch(data.name)
    if match:
        from flarecast.data.tables.read import load_dataset

        lead = int(match.group(1))
        longer = [h for h in UMICH_LEADS if h > lead][:lags]
        if not longer:
            raise ConfigError(
                f"--evolution on {data.name}: no Michigan table has a lead longer than {lead} h "
                f"(leads {list(UMICH_LEADS)}), so its flares have no earlier snapshot."
            )
        tables = {lead: frame}
        for h in longer:
            tables[h] = load_dataset(f"umich-{h}h", data_dir=data_dir).frame
        evo = umich_evolution(tables, lead, keywords, lags=lags)
        snaps = umich_snapshots(tables, lead, data.features, lags=lags)
        how = f"the same flare's {' h and '.join(map(str, longer))} h snapshots"
    elif data.flaring_only:
        raise ConfigError(
            f"--evolution on {data.name}: the table holds flaring regions only, so a region's "
            "earlier row exists because the region flared later; its previous rows would leak "
            "the future. Evolution is available for the umich-<L>h sets (each flare's own "
            "longer-lead snapshots) and for region series with non-flaring rows (hollanda-2019)."
        )
    else:
        evo = evolution_features(frame, keywords, lags, max_gap=REGION_MAX_GAP)
        how = f"the region's previous records (at most {REGION_MAX_GAP} earlier)"
    evo.index = frame.index
    values = [c for c in evo.columns if not c.startswith("hours_since")]
    out = evo[values].copy()
    indicators = []
    for lag in range(1, lags + 1):
        name = f"evolution_missing{lag}"
        out[name] = _indicator(evo[f"hours_since{lag}"].isna(), name, frame.index)
        indicators.append(name)
    counts = ", ".join(
        f"{int(out[i].sum())} without snapshot {k + 1}" for k, i in enumerate(indicators)
    )
    note = (
        f"evolution: differences and rates per hour of {', '.join(keywords)} since {how}; "
        f"{len(frame)} rows, {counts}; missing values filled with the fit rows' median, "
        "plus an indicator per lag"
    )
    snapshots: tuple[str, ...] = ()
    if snaps is not None:
        snaps.index = frame.index
        out = pd.concat([out, snaps], axis=1)
        snapshots = tuple(snaps.columns)
    addition = Addition(
        "evolution",
        tuple(values),
        tuple(indicators),
        note,
        windows=not match,
        snapshots=snapshots,
    )
    return out, addition


def history_addition(
    data: Dataset,
    catalogue: str | Path,
    *,
    windows: Sequence[str] = ("24h", "48h"),
    data_dir: str | Path | None = None,
) -> tuple[pd.DataFrame, Addition]:
    """Flare-history columns for every row of ``data.frame`` (same index), and their :class:`Addition`.

    The catalogue is read with malformed row(s) skipped (counted and warned about by
    :func:`~flarecast.data.catalogues.read.read_catalogue`): one bad row in a decade of events
    should not stop the history of every other row.

    Raises
    ------
    DataError
        No row of the table lies inside the catalogue's coverage.
    """
    from flarecast.data.catalogues.read import read_catalogue

    events = read_catalogue(catalogue, on_bad_rows="skip", data_dir=data_dir)
    frame = data.frame
    if NOAA_AR not in frame.columns:
        raise DataError(f"--history on {data.name}: the table has no {NOAA_AR!r} column.")
    hist = flare_history(frame, events, windows)
    hist.index = frame.index
    unknown = hist.isna().any(axis=1)
    if unknown.all():
        raise DataError(
            f"--history {catalogue}: none of the {len(frame)} rows of {data.name} lies inside the "
            f"catalogue's coverage ({hist.attrs['coverage_start']} .. {hist.attrs['coverage_end']})."
        )
    out = hist.copy()
    out["history_unknown"] = _indicator(unknown, "history_unknown", frame.index)
    bad = events.attrs.get("bad_rows", 0)
    note = (
        f"history: count and log10 largest peak flux of the region's flares peaking in the "
        f"{' and '.join(windows)} before the row, from {catalogue} ({len(events)} events"
        f"{f', {bad} malformed row(s) skipped' if bad else ''}); {int(unknown.sum())} of "
        f"{len(frame)} rows outside its coverage or without a region, filled with the fit "
        "rows' median, plus an indicator"
    )
    return out, Addition("history", tuple(hist.columns), ("history_unknown",), note)


def augment_dataset(
    data: Dataset,
    *,
    evolution: bool = False,
    history: str | Path | None = None,
    data_dir: str | Path | None = None,
) -> tuple[Dataset, list[Addition]]:
    """``data`` with the evolution and/or history columns appended, and the additions made.

    The returned data set's ``features`` are the original ones followed by every added
    column, and its ``notes`` say what was added; rows and their order are unchanged.

    Raises
    ------
    ConfigError
        Neither addition asked for, or an added column name that is already in the table.
    """
    parts: list[tuple[pd.DataFrame, Addition]] = []
    if evolution:
        parts.append(evolution_addition(data, data_dir=data_dir))
    if history is not None:
        parts.append(history_addition(data, history, data_dir=data_dir))
    if not parts:
        raise ConfigError("augment_dataset: ask for evolution=True and/or a history catalogue.")
    clash = [c for frame, _ in parts for c in frame.columns if c in data.frame.columns]
    if clash:
        raise ConfigError(f"augment_dataset: column(s) {clash} are already in {data.name}.")
    frame = pd.concat([data.frame, *(frame for frame, _ in parts)], axis=1)
    additions = [addition for _, addition in parts]
    features = tuple(data.features) + tuple(c for a in additions for c in a.columns)
    notes = tuple(data.notes) + tuple(a.note for a in additions)
    return dataclasses.replace(data, frame=frame, features=features, notes=notes), additions


def describe(additions: Sequence[Addition]) -> dict[str, Any]:
    """run.json's record of the additions: name, columns and note of each."""
    described = {}
    for a in additions:
        described[a.name] = {"values": list(a.values), "indicators": list(a.indicators)}
        if a.snapshots:
            described[a.name]["snapshots"] = list(a.snapshots)
        described[a.name]["note"] = a.note
    return described
