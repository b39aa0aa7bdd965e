"""Evolution features: how a region's SHARP keywords changed since its earlier snapshots.

A forecast made at a record's time may use that record and the same region's
*earlier* records, nothing else. :func:`previous_records` finds, for every
row, the ``j``-th earlier record of its own group (region, or one flare's
snapshots), strictly before the row's time; :func:`evolution_features` turns
them into differences ``x(t) - x(t_j)`` and rates per hour
``(x(t) - x(t_j)) / (t - t_j)``. Both are vectorised (one sort, no Python loop
over rows), independent of the input row order, and never reach

- past the row's time: a record at a later time, or at the *same* time (a
  duplicate snapshot, whose order against the row is arbitrary), is never a
  previous record;
- across groups: records of another region are never used, however the rows
  are interleaved.

Two layouts are served:

- **Per-region series** (hollanda-2019: one snapshot per region and day):
  group by ``noaa_ar``; the previous records are the region's earlier days.
  ``max_gap`` leaves out records older than a limit (a region seen again after
  a week is not "yesterday").
- **Per-flare snapshots** (the Michigan ``arflares{6..48}h`` files): each file
  holds every flare's snapshot at one lead time before its peak, so a flare's
  history at lead ``L`` is its snapshots at the longer leads.
  :func:`lead_snapshots` joins the files into one long table grouped by flare;
  :func:`umich_evolution` computes the features of the lead-``L`` rows from the
  longer leads only. Consecutive rows of one lead file must *not* be used as
  a history: a row exists because its region flared ``L`` hours later, which
  may be after the current row's time, so its mere presence leaks the future.

The sequence model's windows (:func:`flarecast.models.sequence.make_windows`)
follow the same rules; this module is numpy and pandas only, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import NOAA_AR, PEAK_FLUX, TIME
from flarecast.errors import ConfigError, DataError, SchemaError, format_examples, refuse_rows
from flarecast.time import parse_duration

__all__ = [
    "FLARE",
    "LEAD",
    "previous_records",
    "utc_ns",
    "evolution_columns",
    "evolution_features",
    "lead_snapshots",
    "umich_evolution",
]

#: Group column of :func:`lead_snapshots`: the position of the flare in the target-lead table.
FLARE = "flare"
#: Lead-time column of :func:`lead_snapshots`, hours from snapshot to flare peak.
LEAD = "lead_hours"
_NS_PER_HOUR = 3_600_000_000_000


def _duration(name: str, value: Any) -> int:
    """A duration > 0 with a unit, in ns."""
    return int(parse_duration(value, name=name, positive=True).value)


def utc_ns(times: Any, what: str) -> np.ndarray:
    """Timezone-aware times as int64 ns since the epoch, UTC; ``what`` names them in the errors."""
    series = pd.Series(times).reset_index(drop=True)
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        raise SchemaError(
            f"{what} must be timezone-aware UTC datetimes; got {series.dtype}. "
            "Parse times at the boundary, e.g. pd.to_datetime(values, utc=True)."
        )
    refuse_rows(
        series.isna().to_numpy(), f"{what} are missing (NaT) at", shown="NaT", error=SchemaError
    )
    return np.asarray(series.dt.tz_convert("UTC").dt.as_unit("ns").array.asi8)


def _group_codes(groups: Any, what: str) -> np.ndarray:
    series = pd.Series(groups).reset_index(drop=True)
    refuse_rows(
        series.isna().to_numpy(),
        f"{what} are missing at",
        "; a record without a region has no history to compare with.",
    )
    return pd.factorize(series, sort=True)[0].astype(np.int64)


def previous_records(
    groups: Any, times: Any, lags: int = 2, *, max_gap: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of each row's ``lags`` previous records of its own group, strictly earlier in time.

    Parameters
    ----------
    groups : array-like, shape (n,)
        Group of each row (NOAA region, or flare); no missing values.
    times : array-like of tz-aware datetimes, shape (n,)
        Record times (UTC); no missing values.
    lags : int >= 1, default 2
        How many previous records to find.
    max_gap : str or pandas.Timedelta, optional
        Records more than this before the row are not used (their slots are -1).

    Returns
    -------
    previous : ndarray of int64, shape (n, lags)
        ``previous[i, j - 1]`` is the position (0-based, in the input order) of
        the ``j``-th most recent record of row ``i``'s group with a time
        strictly before row ``i``'s; -1 where there is none. Two earlier
        records sharing one time stamp are ordered by input position (the
        later position counts as more recent); otherwise the result does not
        depend on the row order.
    hours : ndarray of float64, shape (n, lags)
        Hours from that record to row ``i`` (> 0); NaN where there is none.

    Raises
    ------
    ConfigError
        ``lags`` < 1 or a bad ``max_gap``.
    SchemaError, DataError
        Naive or missing times, missing groups, or lengths that differ.
    """
    if isinstance(lags, bool) or not isinstance(lags, int | np.integer) or lags < 1:
        raise ConfigError(
            f"The 'lags' parameter of previous_records must be an int >= 1. Got {lags!r} instead."
        )
    t = utc_ns(times, "times")
    code = _group_codes(groups, "groups")
    if len(code) != len(t):
        raise DataError(f"groups ({len(code)} rows) and times ({len(t)} rows) differ in length.")
    gap = None if max_gap is None else _duration("max_gap", max_gap)
    n = len(t)
    previous = np.full((n, lags), -1, dtype=np.int64)
    hours = np.full((n, lags), np.nan)
    if n == 0:
        return previous, hours
    order = np.lexsort((np.arange(n), t, code))  # by group, then time, then input position
    cs, ts = code[order], t[order]
    # Lags count back from the first record of the row's (group, time) run, so a
    # record sharing the row's own time stamp is never one of its previous records.
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = (cs[1:] != cs[:-1]) | (ts[1:] != ts[:-1])
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(n), 0))
    for lag in range(1, lags + 1):
        src = run_start - lag
        ok = src >= 0
        ok[ok] = cs[src[ok]] == cs[ok]
        delta = np.zeros(n, dtype=np.int64)
        delta[ok] = ts[ok] - ts[src[ok]]
        if gap is not None:
            ok &= delta <= gap
        rows = order[ok]
        previous[rows, lag - 1] = order[src[ok]]
        hours[rows, lag - 1] = delta[ok] / _NS_PER_HOUR
    return previous, hours


def evolution_columns(features: Sequence[str], lags: int = 2) -> list[str]:
    """Names of :func:`evolution_features`' columns, in its order.

    For each lag ``j`` and feature ``F``: ``F_diff{j}`` and ``F_rate{j}``, then
    ``hours_since{j}``.
    """
    names = []
    for lag in range(1, lags + 1):
        for f in features:
            names += [f"{f}_diff{lag}", f"{f}_rate{lag}"]
        names.append(f"hours_since{lag}")
    return names


def evolution_features(
    frame: pd.DataFrame,
    features: Sequence[str],
    lags: int = 2,
    *,
    key: str = NOAA_AR,
    time: str = TIME,
    max_gap: Any = None,
) -> pd.DataFrame:
    """Differences and rates of ``features`` between each record and its group's earlier records.

    Parameters
    ----------
    frame : pandas.DataFrame, shape (n, ...)
        Records, any row order, with ``key``, ``time`` (tz-aware UTC) and the feature columns.
    features : sequence of str
        Numeric columns to difference (raw physical values, in their own units).
    lags : int >= 1, default 2
        Compare with the 1st .. ``lags``-th previous record (:func:`previous_records`).
    key : str, default "noaa_ar"
        Group column: region, or :data:`FLARE` for :func:`lead_snapshots`' table.
    time : str, default "time"
    max_gap : str or pandas.Timedelta, optional
        Leave out previous records older than this.

    Returns
    -------
    pandas.DataFrame, shape (n, lags * (2 * len(features) + 1))
        Same index and row order as ``frame``; columns :func:`evolution_columns`:
        ``F_diff{j} = F(t) - F(t_j)`` (units of ``F``), ``F_rate{j}`` = that
        difference per hour, ``hours_since{j} = (t - t_j)`` in hours. NaN where
        the row has no ``j``-th previous record: the caller decides whether to
        drop, fill or mask such rows, and should say how many.

    Raises
    ------
    SchemaError
        A missing column, or naive/missing times.
    DataError
        Missing group values or non-numeric features.
    """
    features = list(features)
    missing = [c for c in dict.fromkeys([key, time, *features]) if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"evolution_features: column(s) {missing} are not in the table; found {list(frame.columns)}."
        )
    try:
        x = frame[features].to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"evolution_features: feature columns must be numeric ({exc}).") from exc
    previous, hours = previous_records(frame[key], frame[time], lags, max_gap=max_gap)
    out: dict[str, np.ndarray] = {}
    for lag in range(lags):
        src = previous[:, lag]
        has = src >= 0
        diff = np.full_like(x, np.nan)
        diff[has] = x[has] - x[src[has]]
        rate = diff / hours[:, lag : lag + 1]
        for k, f in enumerate(features):
            out[f"{f}_diff{lag + 1}"] = diff[:, k]
            out[f"{f}_rate{lag + 1}"] = rate[:, k]
        out[f"hours_since{lag + 1}"] = hours[:, lag]
    return pd.DataFrame(out, index=frame.index, columns=evolution_columns(features, lags))


def _check_lead_table(frame: pd.DataFrame, lead: int, features: Sequence[str]) -> None:
    need = [TIME, NOAA_AR, PEAK_FLUX, *features]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"lead_snapshots: the {lead} h table lacks column(s) {missing}; it needs {need} "
            "(a Michigan file read by flarecast.data.tables.per_flare.read_umich)."
        )
    for column in (NOAA_AR, PEAK_FLUX):
        absent = frame[column].isna().to_numpy()
        if absent.any():
            rows = np.flatnonzero(absent)
            raise DataError(
                f"lead_snapshots: the {lead} h table's {column!r} is missing at "
                f"{format_examples(rows, ['<NA>'] * len(rows))}; a flare is matched across the "
                "files by region and peak flux."
            )


def lead_snapshots(
    tables: Mapping[int, pd.DataFrame],
    lead: int,
    features: Sequence[str],
    *,
    tolerance: str | pd.Timedelta = "12min",
) -> pd.DataFrame:
    """Join the Michigan lead-time tables into one table of every target flare's snapshots.

    A flare is identified across the files by its region, its peak flux and
    its peak time ``T_REC + lead``. ``T_REC`` is the SHARP record nearest to
    ``peak - lead`` (12-min cadence), so the same flare's peak estimates differ
    by a record step at most; a snapshot at a longer lead matches the target
    row of the same region and flux whose peak estimate is nearest, within
    ``tolerance``. Only leads longer than ``lead`` are joined: shorter leads
    are taken after the forecast time.

    Parameters
    ----------
    tables : mapping of int to pandas.DataFrame
        Lead hours -> canonical table (``time``, ``noaa_ar``, ``peak_flux`` and
        the features), e.g. ``{24: read_umich("arflares24h.csv").frame, ...}``.
    lead : int
        Lead of the target table (one of ``tables``' keys).
    features : sequence of str
    tolerance : str or pandas.Timedelta, default "12min"
        Largest difference between two peak estimates of one flare.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FLARE` (0-based position of the flare's row in
        ``tables[lead]``), :data:`LEAD`, ``time``, ``noaa_ar`` and the
        features: one row per target row (at ``lead``) plus one per matched
        longer-lead snapshot. Sorted by flare, then time.
    """
    if lead not in tables:
        raise ConfigError(
            f"The 'lead' parameter must be one of the tables' leads {sorted(tables)}. Got {lead!r} instead."
        )
    tol = _duration("tolerance", tolerance)
    features = list(features)
    target = tables[lead]
    _check_lead_table(target, lead, features)
    peak = utc_ns(target[TIME], f"the {lead} h table's times") + lead * _NS_PER_HOUR
    base = pd.DataFrame(
        {
            FLARE: np.arange(len(target), dtype=np.int64),
            NOAA_AR: target[NOAA_AR].to_numpy(dtype=np.int64),
            PEAK_FLUX: target[PEAK_FLUX].to_numpy(dtype=float),
            "_peak": peak,
        }
    )
    parts = [
        pd.DataFrame(
            {
                FLARE: base[FLARE],
                LEAD: lead,
                TIME: target[TIME].reset_index(drop=True),
                NOAA_AR: base[NOAA_AR],
                **{f: target[f].to_numpy(dtype=float) for f in features},
            }
        )
    ]
    by = [NOAA_AR, PEAK_FLUX]
    flares = base.sort_values("_peak", kind="stable")
    for other in sorted(h for h in tables if h > lead):
        table = tables[other]
        _check_lead_table(table, other, features)
        snap = pd.DataFrame(
            {
                NOAA_AR: table[NOAA_AR].to_numpy(dtype=np.int64),
                PEAK_FLUX: table[PEAK_FLUX].to_numpy(dtype=float),
                "_peak": utc_ns(table[TIME], f"the {other} h table's times") + other * _NS_PER_HOUR,
                "_row": np.arange(len(table), dtype=float),
            }
        ).sort_values("_peak", kind="stable")
        # Each target flare takes at most one snapshot per lead: the nearest peak estimate.
        matched = pd.merge_asof(
            flares, snap, on="_peak", by=by, tolerance=tol, direction="nearest"
        ).dropna(subset=["_row"])
        rows = matched["_row"].to_numpy(dtype=np.int64)
        parts.append(
            pd.DataFrame(
                {
                    FLARE: matched[FLARE].to_numpy(dtype=np.int64),
                    LEAD: other,
                    TIME: table[TIME].iloc[rows].reset_index(drop=True),
                    NOAA_AR: matched[NOAA_AR].to_numpy(dtype=np.int64),
                    **{f: table[f].to_numpy(dtype=float)[rows] for f in features},
                }
            )
        )
    long = pd.concat(parts, ignore_index=True)
    return long.sort_values([FLARE, TIME, LEAD], kind="stable", ignore_index=True)


def umich_evolution(
    tables: Mapping[int, pd.DataFrame],
    lead: int,
    features: Sequence[str],
    lags: int = 2,
    *,
    tolerance: str | pd.Timedelta = "12min",
) -> pd.DataFrame:
    """Evolution features of the lead-``lead`` Michigan rows from the same flares' longer-lead snapshots.

    For ``lead = 24`` with the 36 h and 48 h files, lag 1 is the 36 h snapshot
    (12 h earlier) and lag 2 the 48 h one; a flare missing its 36 h snapshot
    has the 48 h one as lag 1 (``hours_since1`` says so).

    Parameters
    ----------
    tables, lead, features, tolerance
        As :func:`lead_snapshots`.
    lags : int, default 2

    Returns
    -------
    pandas.DataFrame
        Index and row order of ``tables[lead]``; columns :func:`evolution_columns`.
    """
    long = lead_snapshots(tables, lead, features, tolerance=tolerance)
    evo = evolution_features(long, features, lags, key=FLARE)
    own = (long[LEAD] == lead).to_numpy()
    result = evo.loc[own]  # one row per flare, in flare (= target row) order
    result.index = tables[lead].index
    return result
