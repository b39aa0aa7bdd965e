"""Flare-history features: a region's flares in the hours before its snapshot.

A region that has just flared tends to flare again, and recent flaring is
among the strongest predictors in the flare-forecasting literature (e.g.
Falconer et al. 2012; Leka et al. 2019). For every record of region ``r`` at
time ``t`` and each look-back ``h`` this module counts the catalogue's flares
of ``r`` that **peaked** in the open window ``(t - h, t)`` and takes the
largest of their peak fluxes, as ``log10`` of W m^-2:

- strictly before ``t``: a flare peaking at the snapshot's own time is not
  yet known as a class at ``t`` (the same reason the labeller's history uses
  peak times, :mod:`flarecast.labels`);
- the flare's **peak** time decides, never its start: a flare that started
  before ``t`` but peaked after it is not in the history;
- only the same region's flares (by ``noaa_ar``, or ``harpnum`` with ``key``).

Columns, for a look-back of ``24h``: ``history_count_prev_24h`` (flares,
float so it can hold NaN) and ``history_max_log_flux_prev_24h`` (log10 W m^-2;
:data:`NO_FLARE_LOG_FLUX` = -9, a tenth of an A1.0 flare, when the window
holds no flare, so the feature stays finite and below every real class).
Both are NaN where the catalogue cannot tell: a record without a region,
or a window not inside the catalogue's coverage (``coverage``, else the
catalogue's ``attrs["coverage_start"/"coverage_end"]``, else its first and
last peak). The counts of such records are in the result's ``attrs``.

Vectorised: the largest flux comes from :func:`flarecast.windows.window_max`
(the labeller's range-maximum search), the count from the same packed
(region, time-rank) search; no Python loop over records. numpy and pandas only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import NOAA_AR, PEAK_FLUX, TIME
from flarecast.errors import ConfigError, DataError, format_examples
from flarecast.features.evolution import utc_ns
from flarecast.labels import check_columns, region_events
from flarecast.time import format_hours, parse_duration, to_utc
from flarecast.windows import window_max

__all__ = ["NO_FLARE_LOG_FLUX", "history_columns", "flare_history"]

#: log10 peak flux (W m^-2) given to a window without a flare: 1e-9, a tenth of A1.0.
NO_FLARE_LOG_FLUX = -9.0


def _span(value: Any) -> pd.Timedelta:
    return parse_duration(value, name="windows", positive=True)


def history_columns(windows: Sequence[str | pd.Timedelta] = ("24h", "48h")) -> list[str]:
    """Column names of :func:`flare_history`, e.g. ``history_count_prev_24h``."""
    names = []
    for w in windows:
        h = format_hours(_span(w))
        names += [f"history_count_prev_{h}", f"history_max_log_flux_prev_{h}"]
    return names


def _coverage(coverage: Any, events: pd.DataFrame, peaks: np.ndarray) -> tuple[int, int]:
    if coverage is None:
        attrs = events.attrs
        if attrs.get("coverage_start") and attrs.get("coverage_end"):
            coverage = (attrs["coverage_start"], attrs["coverage_end"])
        elif len(peaks):
            return int(peaks.min()), int(peaks.max())
        else:
            raise DataError(
                "The catalogue is empty and no coverage was given: no history can be known."
            )
    try:
        # A time without a zone is UTC, as catalogue readers write it and the labeller reads it.
        start, end = (to_utc(c, naive="utc", column="coverage") for c in coverage)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"The 'coverage' parameter must be two times (start, end). Got {coverage!r} instead."
        ) from exc
    return start.as_unit("ns").value, end.as_unit("ns").value


def _window_count(
    record_keys: np.ndarray,
    record_times: np.ndarray,
    event_keys: np.ndarray,
    event_times: np.ndarray,
    lo: int,
    hi: int,
) -> np.ndarray:
    """Events of the record's key with time in ``(t + lo, t + hi]`` (ns), per record."""
    out = np.zeros(len(record_times), dtype=np.int64)
    if len(record_times) == 0 or len(event_keys) == 0:
        return out
    regions = np.unique(event_keys)
    distinct = np.unique(event_times)
    width = len(distinct) + 1
    # (region, time rank) packed into one sorted int64 key, as in flarecast.windows.window_max.
    packed = np.sort(
        np.searchsorted(regions, event_keys) * width
        + np.searchsorted(distinct, event_times, side="right")
    )
    known = ~np.isnan(record_keys)
    rk = np.where(known, record_keys, -1).astype(np.int64)
    code = np.clip(np.searchsorted(regions, rk), 0, len(regions) - 1)
    has = known & (regions[code] == rk)

    def position(offset: int) -> np.ndarray:
        rank = np.searchsorted(distinct, record_times + offset, side="right")
        return np.searchsorted(packed, code * width + rank, side="right")

    out[has] = (position(hi) - position(lo))[has]
    return out


def flare_history(
    records: pd.DataFrame,
    events: pd.DataFrame,
    windows: Sequence[str | pd.Timedelta] = ("24h", "48h"),
    *,
    key: str = NOAA_AR,
    coverage: tuple[object, object] | None = None,
) -> pd.DataFrame:
    """Count and largest class of each record's region's flares in the ``windows`` before it.

    Parameters
    ----------
    records : pandas.DataFrame, shape (n, ...)
        SHARP records: tz-aware UTC ``time`` and ``key`` (integer regions; <NA> = unknown).
    events : pandas.DataFrame, shape (m, ...)
        Canonical flare catalogue (:mod:`flarecast.data.events`): ``peak``
        (UTC), ``peak_flux`` (W m^-2, >= 0) and ``key``. Events without a
        region cannot be attributed and are left out (counted in ``attrs``).
    windows : sequence of str or pandas.Timedelta, default ("24h", "48h")
        Look-back lengths ``h`` (> 0); each gives a count and a log10 max flux.
    key : str, default "noaa_ar"
    coverage : (start, end), optional
        Period the catalogue covers; see the module notes.

    Returns
    -------
    pandas.DataFrame, shape (n, 2 * len(windows))
        Index of ``records``; columns :func:`history_columns`. ``attrs``:
        ``events_without_region``, ``records_without_region``,
        ``records_outside_coverage`` (per window, as a dict), ``coverage_start``/``_end``.

    Raises
    ------
    ConfigError
        A window that is not a positive duration, or a bad ``coverage``.
    SchemaError
        Missing columns, or naive/missing times.
    DataError
        A catalogue with no region numbers at all, or a peak flux that is negative or not finite.
    """
    spans = [_span(w) for w in windows]
    if not spans or len({s.value for s in spans}) != len(spans):
        raise ConfigError(
            f"The 'windows' parameter must be distinct durations. Got {list(windows)!r} instead."
        )
    check_columns(records, [TIME, key], "records")
    check_columns(events, ["peak", PEAK_FLUX, key], "catalogue")
    t = utc_ns(records[TIME], f"The records' column {TIME!r}")
    rkey = records[key].to_numpy(dtype=float, na_value=np.nan)
    has_key, ev, ekey = region_events(events, key)
    peaks = utc_ns(ev["peak"], "The catalogue's column 'peak'")
    flux = ev[PEAK_FLUX].to_numpy(dtype=float)
    bad = ~(np.isfinite(flux) & (flux >= 0))
    if bad.any():
        rows = np.flatnonzero(has_key)[bad]
        raise DataError(
            f"The catalogue's peak_flux must be finite and >= 0 (W m^-2); bad at "
            f"{format_examples(rows, flux[bad].tolist())}."
        )
    cov_start, cov_end = _coverage(coverage, events, peaks)
    no_region = np.isnan(rkey)
    out: dict[str, np.ndarray] = {}
    outside_counts = {}
    for span in spans:
        lo, hi = -span.value, -1  # (t - h, t - 1 ns] = (t - h, t): strictly before t
        count = _window_count(rkey, t, ekey, peaks, lo, hi).astype(float)
        largest = window_max(rkey, t, ekey, peaks, flux, lo, hi)
        with np.errstate(divide="ignore"):
            log_flux = np.where(largest > 0, np.log10(largest), NO_FLARE_LOG_FLUX)
        outside = (t - span.value < cov_start) | (t > cov_end)
        unknown = no_region | outside
        count[unknown] = np.nan
        log_flux[unknown] = np.nan
        h = format_hours(span)
        out[f"history_count_prev_{h}"] = count
        out[f"history_max_log_flux_prev_{h}"] = log_flux
        outside_counts[h] = int((outside & ~no_region).sum())
    result = pd.DataFrame(out, index=records.index)
    result.attrs = {
        "history": "flares of the record's region peaking in (t - h, t), from the catalogue",
        "catalogue_source": str(events.attrs.get("source", "")),
        "coverage_start": pd.Timestamp(cov_start, tz="UTC").isoformat(),
        "coverage_end": pd.Timestamp(cov_end, tz="UTC").isoformat(),
        "events_without_region": int((~has_key).sum()),
        "records_without_region": int(no_region.sum()),
        "records_outside_coverage": outside_counts,
    }
    return result
