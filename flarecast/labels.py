"""Time-window labels: the largest GOES flare of each record's region in its forecast window.

For a SHARP record of region ``r`` at time ``t`` the label is the largest
GOES class among the catalogue's flares of region ``r`` whose event time
(peak by default, or start) lies in the half-open window

    ``(t + latency, t + latency + horizon]``

and ``"N"`` (peak flux 0) when there is none. Flares without a region number
cannot be attributed and are ignored (counted). The optional *history*
feature is the largest peak flux of the region's flares that peaked in
``(t - history, t]``: it is a feature, named ``history_max_flux_prev_<h>``,
never the label. It always uses the **peak** time, even when the label uses
the start, because a flare's class is known only once it has peaked; so the
feature never sees past ``t``.

**Unknown windows.** A window is only labelled where the catalogue covers it:
``coverage`` (from the catalogue's ``attrs["coverage_start"/"coverage_end"]``
when a reader knows them, else its first and last event time). A record whose
window reaches past the end (or starts before the beginning) gets a missing
label (``goes_class`` <NA>, ``peak_flux`` NaN) with ``unknown="missing"``, or
is dropped with ``unknown="drop"``; records without a region likewise. Both
are counted in ``attrs``. The same rule makes the history NaN where its
window starts before the coverage.

The computation is vectorised and independent of the order of records and
events: events are sorted by (region, time, flux); every record's window
becomes a slice of that order found with ``numpy.searchsorted`` on packed
(region, time-rank) integer keys, and the largest flux of each slice comes
from a sparse table (O(1) range-maximum queries after O(n log n) set-up).
There is no Python loop over records.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX, TIME
from flarecast.errors import ConfigError, DataError, SchemaError
from flarecast.goes import flux_to_class
from flarecast.time import parse_duration, to_utc
from flarecast.windows import window_max

__all__ = [
    "EVENT_TIMES",
    "UNKNOWN_POLICIES",
    "history_column",
    "label_records",
    "labelled_table",
    "check_columns",
    "region_events",
]

EVENT_TIMES: tuple[str, ...] = ("peak", "start")
UNKNOWN_POLICIES: tuple[str, ...] = ("missing", "drop")
_HISTORY_PREFIX = "history_max_flux_prev_"


def history_column(history: str | pd.Timedelta) -> str:
    """Name of the history feature for a look-back window, e.g. ``"history_max_flux_prev_24h"``."""
    hours = _duration("history", history, positive=True) / pd.Timedelta("1h")
    return f"{_HISTORY_PREFIX}{hours:g}h"


def label_records(
    records: pd.DataFrame,
    events: pd.DataFrame,
    *,
    horizon: str | pd.Timedelta = "24h",
    latency: str | pd.Timedelta = "0h",
    event_time: str = "peak",
    key: str = NOAA_AR,
    history: str | pd.Timedelta | None = None,
    coverage: tuple[object, object] | None = None,
    unknown: str = "missing",
    executor: Any = None,
) -> pd.DataFrame:
    """Attach to every record the largest flare of its region in its forecast window.

    Parameters
    ----------
    records : pandas.DataFrame, shape (n, ...)
        SHARP records with a tz-aware UTC ``time`` column and the ``key``
        column (integer region numbers; <NA> = unknown). Other columns are kept.
    events : pandas.DataFrame, shape (m, ...)
        Canonical event table (:mod:`flarecast.data.events`): ``start``,
        ``peak`` (UTC), ``peak_flux`` (W m^-2) and the ``key`` column.
    horizon : str or pandas.Timedelta, default "24h"
        Window length, > 0.
    latency : str or pandas.Timedelta, default "0h"
        Gap between the record and the window start, >= 0.
    event_time : {"peak", "start"}, default "peak"
        Which event time must fall in the window.
    key : str, default "noaa_ar"
        Column joining records to events (``"harpnum"`` after
        :func:`flarecast.data.sharp.series.events_by_harp`).
    history : str or pandas.Timedelta, optional
        If given (e.g. ``"24h"``), add the feature column
        :func:`history_column` = largest peak flux in ``(t - history, t]`` (0 if none).
    coverage : (start, end), optional
        Period the catalogue covers; default from ``events.attrs`` or its event times.
    unknown : {"missing", "drop"}, default "missing"
        Records whose label cannot be known (window outside the coverage, no region).
    executor : flarecast.execution.Executor, optional
        Label in whole-region partitions, one task each, on this executor (e.g. a Dask cluster's,
        :class:`flarecast.scaleout.dask.DaskExecutor`); the result is identical. See
        :mod:`flarecast.partitions`. Default: in one piece, in this process.

    Returns
    -------
    pandas.DataFrame
        ``records`` (same order, index kept; rows dropped only with
        ``unknown="drop"``) with ``goes_class`` (str: "M1.2", "N" = no flare,
        <NA> = unknown) and ``peak_flux`` (float64, W m^-2; 0 for "N", NaN for
        unknown) replacing any existing ones, plus the history column if asked.
        ``attrs`` describe the window and carry the catalogue's source,
        checksum and flux scaling, and the counts of unknown labels.

    Raises
    ------
    ConfigError
        Bad horizon, latency, event_time or unknown.
    SchemaError
        Missing columns, or times that are not tz-aware UTC / are missing.
    DataError
        If no event has a region number (nothing could be attributed).
    """
    if executor is not None:
        from flarecast.partitions import label_in_partitions

        return label_in_partitions(
            label_records,
            records,
            events,
            executor=executor,
            horizon=horizon,
            latency=latency,
            event_time=event_time,
            key=key,
            history=history,
            coverage=coverage,
            unknown=unknown,
        )
    h = _duration("horizon", horizon, positive=True)
    lat = _duration("latency", latency, positive=False)
    for name, value, legal in (
        ("event_time", event_time, EVENT_TIMES),
        ("unknown", unknown, UNKNOWN_POLICIES),
    ):
        if value not in legal:
            raise ConfigError(
                f"The {name!r} parameter must be one of {list(legal)}. Got {value!r} instead."
            )
    check_columns(records, [TIME, key], "records")
    check_columns(events, [event_time, "peak", PEAK_FLUX, key], "catalogue")
    t = _ns(records[TIME], "records", TIME)
    rkey = records[key].to_numpy(dtype=float, na_value=np.nan)
    has_key, ev, ekey = region_events(events, key, "use a catalogue with region numbers")
    etime = _ns(ev[event_time], "catalogue", event_time)
    flux = ev[PEAK_FLUX].to_numpy(dtype=float)
    cov_start, cov_end = _coverage(coverage, events, event_time)

    label_flux = window_max(rkey, t, ekey, etime, flux, lat.value, (lat + h).value)
    no_region = np.isnan(rkey)
    outside = (t + lat.value < cov_start) | (t + (lat + h).value > cov_end)
    unknown_mask = no_region | outside
    label_flux[unknown_mask] = np.nan

    out = records.copy(deep=False)
    out[PEAK_FLUX] = label_flux
    out[GOES_CLASS] = _classes(label_flux)
    hist_name = None
    if history is not None:
        span = _duration("history", history, positive=True)
        hist = window_max(rkey, t, ekey, _ns(ev["peak"], "catalogue", "peak"), flux, -span.value, 0)
        hist[no_region | (t - span.value < cov_start) | (t > cov_end)] = np.nan
        hist_name = history_column(span)
        out[hist_name] = hist
    if unknown == "drop":
        out = out.loc[~unknown_mask]
    out.attrs = {
        **records.attrs,
        "window": (
            f"largest GOES class of the region's flares with {event_time} time in "
            f"(t + {_fmt(lat)}, t + {_fmt(lat + h)}]; 'N' = none"
        ),
        "horizon": _fmt(h),
        "latency": _fmt(lat),
        "event_time": event_time,
        "key": key,
        "history_feature": hist_name or "",
        "catalogue_source": str(events.attrs.get("source", "")),
        "catalogue_sha256": str(events.attrs.get("sha256") or ""),
        "catalogue_flux_scaling": str(events.attrs.get("flux_scaling", "unknown")),
        "coverage_start": pd.Timestamp(cov_start, tz="UTC").isoformat(),
        "coverage_end": pd.Timestamp(cov_end, tz="UTC").isoformat(),
        "events_without_region": int((~has_key).sum()),
        "records_without_region": int(no_region.sum()),
        "records_outside_coverage": int((outside & ~no_region).sum()),
        "unknown_labels_dropped": int(unknown_mask.sum()) if unknown == "drop" else 0,
    }
    return out


def _classes(flux: np.ndarray) -> pd.arrays.ArrowStringArray:
    """GOES class strings of fluxes ("N" for 0, <NA> for NaN) without a Python loop over rows."""
    import pyarrow as pa

    missing = np.isnan(flux)
    uniques, inverse = np.unique(np.where(missing, 0.0, flux), return_inverse=True)
    names = pa.array(flux_to_class(uniques).tolist(), type=pa.large_string())
    taken = names.take(pa.array(inverse.ravel(), mask=missing))
    return pd.array(taken, dtype="str")


def _duration(name: str, value: str | pd.Timedelta, *, positive: bool) -> pd.Timedelta:
    return parse_duration(value, name=name, positive=positive)


def _fmt(step: pd.Timedelta) -> str:
    return f"{step / pd.Timedelta('1h'):g}h"


def check_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise :class:`SchemaError` naming the ``columns`` that ``frame`` (the ``what``) lacks."""
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise SchemaError(f"The {what} lack column(s) {missing}; found {list(frame.columns)}.")


def region_events(
    events: pd.DataFrame, key: str, hint: str = ""
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """The events that have a region: (mask over ``events``, those rows, their ``key`` as int64).

    Raises :class:`DataError` (ending in ``hint``, if given) when ``events`` has rows but none
    with a region: no flare could be attributed.
    """
    has_key = events[key].notna().to_numpy()
    if len(events) and not has_key.any():
        raise DataError(
            f"The catalogue ({events.attrs.get('source', 'events')}) has no {key!r} values, so no flare "
            f"can be attributed to a region{'; ' + hint if hint else ''}."
        )
    ev = events.loc[has_key]
    return has_key, ev, ev[key].to_numpy(dtype=np.int64)


def _ns(series: pd.Series, what: str, column: str) -> np.ndarray:
    """Nanoseconds since the epoch of a tz-aware column (any unit); NaT is an error."""
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        raise SchemaError(
            f"The {what}' column {column!r} must be timezone-aware UTC datetimes; got {series.dtype}. "
            "Parse times at the boundary, e.g. pd.to_datetime(values, utc=True)."
        )
    if series.isna().any():
        rows = np.flatnonzero(series.isna().to_numpy())[:5]
        raise SchemaError(
            f"The {what}' column {column!r} has missing times at rows {rows.tolist()}."
        )
    return np.asarray(series.dt.tz_convert("UTC").dt.as_unit("ns").array.asi8)


def _coverage(coverage, events: pd.DataFrame, event_time: str) -> tuple[int, int]:
    if coverage is None:
        attrs = events.attrs
        if attrs.get("coverage_start") and attrs.get("coverage_end"):
            coverage = (attrs["coverage_start"], attrs["coverage_end"])
        elif len(events):
            times = events[event_time]
            coverage = (times.min(), times.max())
        else:
            raise DataError(
                "The catalogue is empty and no coverage was given: no window can be labelled."
            )
    # Coverage without a zone is UTC, as every catalogue reader writes it.
    start, end = (to_utc(c, naive="utc", column="coverage") for c in coverage)
    return start.as_unit("ns").value, end.as_unit("ns").value


def labelled_table(
    series: pd.DataFrame,
    events: pd.DataFrame,
    *,
    horizon: str | pd.Timedelta = "24h",
    latency: str | pd.Timedelta = "0h",
    event_time: str = "peak",
    history: str | pd.Timedelta | None = None,
    harp_map: pd.DataFrame | None = None,
    keywords: list[str] | None = None,
    executor: Any = None,
) -> pd.DataFrame:
    """Label a SHARP series and return it as a canonical labelled table ready for training.

    Records whose label cannot be known (window outside the catalogue's
    coverage, no region) and records with a missing keyword are dropped and
    counted; everything that is neither canonical metadata nor a keyword (the
    history feature excepted) is left out, so every remaining column is a feature.

    Parameters
    ----------
    series : pandas.DataFrame
        Canonical SHARP series (:func:`flarecast.data.sharp.series.read_sharp_series`).
    events : pandas.DataFrame
        Canonical event table (:func:`flarecast.data.catalogues.read.read_catalogue`).
    horizon, latency, event_time, history
        As for :func:`label_records`.
    harp_map : pandas.DataFrame, optional
        ``harpnum``/``noaa_ar`` pairs (:func:`flarecast.data.sharp.series.read_harp_map`):
        label by HARP, so a HARP spanning several regions counts all their flares.
    keywords : list of str, optional
        Feature columns; default ``series.attrs["keywords"]``, else the SHARP keywords present.
    executor : flarecast.execution.Executor, optional
        Label in region partitions on this executor, as for :func:`label_records` (same table).

    Returns
    -------
    pandas.DataFrame
        ``time, noaa_ar, [harpnum], goes_class, peak_flux, [LON_FWT, LAT_FWT]``,
        keywords[, history], sorted by time and region, validated with
        :func:`flarecast.data.schema.validate_labelled`. ``attrs`` hold the
        window, the catalogue's source, format, checksum, flux scaling and
        counts, the series' source and checksum, the drop counts and the
        flarecast version.
    """
    from flarecast import __version__
    from flarecast.data.schema import HARPNUM, POSITION, SHARP_UNITS, validate_labelled
    from flarecast.data.sharp.series import events_by_harp

    key = NOAA_AR
    # The coverage is the whole catalogue's, also when only the events of mapped regions are kept.
    start, end = _coverage(None, events, event_time)
    coverage = (pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))
    if harp_map is not None:
        check_columns(series, [HARPNUM], "records")
        events, key = events_by_harp(events, harp_map), HARPNUM
    labelled = label_records(series, events, horizon=horizon, latency=latency, event_time=event_time,
                             key=key, history=history, coverage=coverage, unknown="drop",
                             executor=executor)  # fmt: skip
    if keywords is None:
        keywords = list(
            series.attrs.get("keywords") or [c for c in series.columns if c in SHARP_UNITS]
        )
    hist = [labelled.attrs["history_feature"]] if labelled.attrs["history_feature"] else []
    meta = [
        c
        for c in (TIME, NOAA_AR, HARPNUM, GOES_CLASS, PEAK_FLUX, *POSITION)
        if c in labelled.columns
    ]
    table = labelled[[*meta, *keywords, *hist]]
    table = table[
        table[NOAA_AR].notna().to_numpy()
    ]  # a HARP without a NOAA region: no canonical row
    n_labelled = len(table)
    values = table[[*keywords, *hist]].to_numpy(dtype=float, na_value=np.nan)
    complete = np.isfinite(values).all(axis=1) if values.size else np.ones(len(table), dtype=bool)
    table = table.loc[complete].sort_values([TIME, NOAA_AR], kind="stable").reset_index(drop=True)
    a = labelled.attrs
    table.attrs = {
        **{
            k: a[k]
            for k in ("window", "horizon", "latency", "event_time", "key", "history_feature")
        },
        "catalogue_source": a["catalogue_source"],
        "catalogue_sha256": a["catalogue_sha256"],
        "catalogue_flux_scaling": a["catalogue_flux_scaling"],
        "catalogue_format": str(events.attrs.get("format", "")),
        "catalogue_events": int(len(events)),
        "catalogue_bad_rows": int(events.attrs.get("bad_rows", 0)),
        "catalogue_duplicates_removed": int(events.attrs.get("duplicates_removed", 0)),
        "coverage_start": a["coverage_start"],
        "coverage_end": a["coverage_end"],
        "sharp_source": str(series.attrs.get("source", "")),
        "sharp_sha256": str(series.attrs.get("sha256") or ""),
        "synthetic": bool(
            series.attrs.get("synthetic", False) or events.attrs.get("synthetic", False)
        ),
        "records_in": int(len(series)),
        "dropped_unknown_label": int(len(series) - n_labelled),
        "dropped_missing_feature": int((~complete).sum()),
        "features": [*keywords, *hist],
        "flarecast_version": __version__,
    }
    validate_labelled(table, str(series.attrs.get("source", "labelled table")), [*keywords, *hist])
    return table
