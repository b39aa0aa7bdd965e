"""The canonical flare event table and the policies every catalogue reader applies.

A flare catalogue, whatever its source layout, becomes one table:

============  ======================  ================================================
column        dtype                   meaning
============  ======================  ================================================
start         datetime64[ns, UTC]     flare start (1-8 A), UTC
peak          datetime64[ns, UTC]     flare peak; the start where the source has none
end           datetime64[ns, UTC]     flare end; NaT where the source marks it missing
goes_class    str                     GOES class as catalogued, upper case ("M1.2", "C")
peak_flux     float64                 1-8 A peak flux of that class, W m^-2
noaa_ar       Int64                   NOAA region, 5-digit convention; <NA> = unknown
source        str                     the catalogue the row came from (reader name)
============  ======================  ================================================

Conventions and counted policies (each count is stored in ``frame.attrs``):

- **Region numbers** use the 5-digit convention (1xxxx) of the NCEI lists:
  SWPC writes 4 digits (region 12290 is "2290" after the 2002 wrap at 10000)
  and earlier numbers as they were (7981 in 1996); readers of such sources add
  10000 to every number in 1..9999 (``attrs["ar_plus_10000"]``), so 1996's 7981
  is 17981, as in the NCEI list. Region 0 or blank means unknown (<NA>).
- **Midnight.** Sources that give peak and end as times of the start's day
  write a peak or end *earlier* than the start for flares that cross
  midnight; those are moved to the next day (``attrs["midnight_rollovers"]``).
- **Missing peak.** Where a source has no peak time (``////``, or a list with
  start and end only) the peak is the start (``attrs["peak_from_start"]``):
  the earliest time the flare is known, so a window keyed on the peak never
  counts a flare later than it happened.
- **Flux scaling** is recorded in ``attrs["flux_scaling"]``:
  :data:`FLUX_OPERATIONAL` (classes as SWPC issued them: GOES-15 and earlier
  carry the 0.7 factor, about 30 % below NCEI's reprocessed science fluxes;
  GOES-16+ events are the same in both) or :data:`FLUX_SCIENCE` (NCEI's
  reprocessed science data, no 0.7 factor). Labels near M1.0 flip with it.
- **Malformed rows** (an unparseable time or class, a non-integer region):
  ``on_bad_rows="error"`` (default) raises one :class:`~flarecast.errors.DataError`
  with their count and examples (file, row or line, column, value);
  ``"skip"`` drops them, warns with :class:`~flarecast.errors.DataWarning` and
  stores ``attrs["bad_rows"]`` and ``attrs["bad_row_examples"]``.
- **Duplicates** (same start, peak, end, flux and region) are removed after
  the malformed rows and counted (``attrs["duplicates_removed"]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from flarecast.data.event_fields import BadRows
from flarecast.data.row_policies import check_policy
from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX
from flarecast.errors import DataError, DataWarning, SchemaError, warn_user
from flarecast.time import to_utc

__all__ = [
    "START",
    "PEAK",
    "END",
    "SOURCE",
    "EVENT_COLUMNS",
    "FLUX_OPERATIONAL",
    "FLUX_SCIENCE",
    "FLUX_UNKNOWN",
    "BAD_ROW_POLICIES",
    "check_policies",
    "EVENT_DUPLICATE_POLICIES",
    "combine_events",
    "roll_past_midnight",
    "finish_events",
    "validate_events",
]

START, PEAK, END, SOURCE = "start", "peak", "end", "source"
EVENT_COLUMNS: tuple[str, ...] = (START, PEAK, END, GOES_CLASS, PEAK_FLUX, NOAA_AR, SOURCE)
FLUX_OPERATIONAL = "operational"
FLUX_SCIENCE = "science"
#: A canonical catalogue made by hand cannot say which convention its classes follow.
FLUX_UNKNOWN = "unknown"
_SCALING_NOTES = {
    FLUX_OPERATIONAL: (
        "classes as SWPC issued them: GOES-15 and earlier carry the 0.7 factor "
        "(about 30% below NCEI's reprocessed science fluxes); GOES-16+ events are unaffected"
    ),
    FLUX_SCIENCE: "NCEI reprocessed science fluxes (no 0.7 factor)",
    FLUX_UNKNOWN: "not recorded by the source: classes may or may not carry the 0.7 factor",
}
BAD_ROW_POLICIES: tuple[str, ...] = ("error", "skip")
#: Policies for duplicate events (labelled tables have their own:
#: :data:`flarecast.data.row_policies.DUPLICATE_POLICIES`).
EVENT_DUPLICATE_POLICIES: tuple[str, ...] = ("drop", "keep")
_MISSING_TIME = ("////", "//", "--")


def check_policies(on_bad_rows: str, duplicates: str = "drop") -> None:
    """Validate ``on_bad_rows`` and ``duplicates`` with the house message style."""
    check_policy("on_bad_rows", on_bad_rows, BAD_ROW_POLICIES)
    check_policy("duplicates", duplicates, EVENT_DUPLICATE_POLICIES)


def roll_past_midnight(start: pd.Series, later: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Move times earlier than ``start`` to the next day (flares crossing midnight); return them and where."""
    before = (later < start).fillna(False).to_numpy(dtype=bool)
    return later.where(~before, later + pd.Timedelta(days=1)), before


def finish_events(
    columns: dict[str, object],
    bad: BadRows,
    *,
    source: str,
    reader: str,
    on_bad_rows: str,
    flux_scaling: str,
    duplicates: str = "drop",
    attrs: dict[str, object] | None = None,
    no_peak: np.ndarray | None = None,
    roll: bool = False,
    flags: dict[str, np.ndarray] | None = None,
    names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Apply the time, malformed-row and duplicate policies and build the canonical event table.

    Parameters
    ----------
    columns : dict
        ``start``, ``peak``, ``end`` (UTC Series, as the source gives them),
        ``goes_class`` (str), ``peak_flux`` (float), ``noaa_ar`` (float, NaN = unknown),
        each of length n; optionally ``source`` (str per row, default ``reader``).
    bad : BadRows
        Malformed cells found while parsing.
    source : str
        File(s) named in messages and in ``attrs["source"]``.
    reader : str
        Reader name, written to the ``source`` column and ``attrs["format"]``.
    on_bad_rows : {"error", "skip"}
    flux_scaling : {"operational", "science"}
    duplicates : {"drop", "keep"}, default "drop"
        ``"keep"`` keeps duplicate rows (still counted in ``attrs["duplicates"]``).
    attrs : dict, optional
        Reader-specific values to store.
    no_peak : ndarray of bool, shape (n,), optional
        Rows whose source has no peak: their peak is the start
        (``attrs["peak_from_start"]``).
    roll : bool, default False
        The source writes peak and end as times of the start's day: one earlier
        than the start moves to the next day (``attrs["midnight_rollovers"]``).
    flags : dict of str to ndarray of bool, optional
        Reader-specific conditions (e.g. ``"ar_plus_10000"``), stored in ``attrs``
        as counts over the rows kept.
    names : dict, optional
        The source's column names of ``peak`` and ``end``, for messages
        (default: the canonical names).

    Returns
    -------
    pandas.DataFrame, shape (n_kept, 7)
        Columns :data:`EVENT_COLUMNS`, 0-based index, source row order kept.

    Raises
    ------
    DataError
        If there are malformed rows and ``on_bad_rows="error"``.
    """
    check_policies(on_bad_rows, duplicates)
    # The readers parsed the times (a bad cell is NaT, counted in ``bad``); a naive one is UTC.
    start, peak, end = (
        to_utc(
            pd.Series(columns[c]).reset_index(drop=True),
            naive="utc",
            source=source,
            column=c,
            allow_missing=True,
        )
        for c in (START, PEAK, END)
    )
    no_peak = np.zeros(bad.n, dtype=bool) if no_peak is None else np.asarray(no_peak, dtype=bool)
    times = {PEAK: peak.where(~no_peak, start), END: end}
    rolled = np.zeros(bad.n, dtype=bool)
    for name, given in times.items():
        later, moved = (
            roll_past_midnight(start, given) if roll else (given, np.zeros(bad.n, dtype=bool))
        )
        # A peak or end before the start (after any midnight rollover) is a corrupt time, e.g. a
        # mistyped year: the row is malformed, not an event lasting backwards. Shown as the source has it.
        early = (later < start).fillna(False).to_numpy(dtype=bool)
        if early.any():
            shown, starts = (
                t.dt.strftime("%Y-%m-%dT%H:%M").fillna("").to_numpy(dtype=object)
                for t in (given, start)
            )
            bad.add(
                early,
                (names or {}).get(name, name),
                shown,
                "before the flare's start " + starts + (", also on the next day" if roll else ""),
            )
        times[name], rolled = later, rolled | moved
    n_bad = int(bad.mask.sum())
    examples = [text for _, text in sorted(bad.examples)[:5]]
    if n_bad and on_bad_rows == "error":
        raise DataError(
            f"{source}: {n_bad} malformed row(s): {'; '.join(examples)}"
            f"{' (and more)' if n_bad > len(examples) else ''}. Fix the file, or pass "
            "on_bad_rows='skip' (CLI: --on-bad-rows skip) to skip them, counted."
        )
    keep = ~bad.mask
    frame = pd.DataFrame(
        {
            START: start[keep],
            PEAK: times[PEAK][keep],
            END: times[END][keep],
            GOES_CLASS: pd.array(np.asarray(columns[GOES_CLASS], dtype=object)[keep], dtype="str"),
            PEAK_FLUX: np.asarray(columns[PEAK_FLUX], dtype=float)[keep],
            NOAA_AR: pd.array(np.asarray(columns[NOAA_AR], dtype=float)[keep], dtype="Int64"),
        }
    ).reset_index(drop=True)
    given = columns.get(SOURCE)
    frame[SOURCE] = pd.array(
        np.asarray(given, dtype=object)[keep] if given is not None else [reader] * len(frame),
        dtype="str",
    )
    dup = frame.duplicated(subset=[START, PEAK, END, PEAK_FLUX, NOAA_AR], keep="first").to_numpy()
    if duplicates == "drop":
        frame = frame.loc[~dup].reset_index(drop=True)
    if n_bad:
        warn_user(
            f"{source}: skipped {n_bad} malformed row(s): {'; '.join(examples)}.",
            DataWarning,
            stacklevel=3,
        )
    frame.attrs = {
        "source": source,
        "format": reader,
        "flux_scaling": flux_scaling,
        "flux_scaling_note": _SCALING_NOTES[flux_scaling],
        "rows_read": int(bad.n),
        "bad_rows": n_bad,
        "bad_row_examples": examples,
        "duplicates": int(dup.sum()),
        "duplicates_removed": int(dup.sum()) if duplicates == "drop" else 0,
        **{
            key: int((mask & keep).sum())
            for key, mask in {
                "peak_from_start": no_peak,
                "midnight_rollovers": rolled,
                **(flags or {}),
            }.items()
        },
        **(attrs or {}),
        # an end after the start but before the peak is kept and counted (a data-entry quirk, not a corrupt row)
        "end_before_peak": int((frame[END] < frame[PEAK]).sum()),
    }
    return frame


def validate_events(events: pd.DataFrame, source: str = "catalogue") -> None:
    """Check that ``events`` is a canonical event table (columns, UTC times, numeric flux).

    Raises
    ------
    SchemaError
        Listing every problem at once.
    """
    problems = []
    missing = [c for c in (START, PEAK, GOES_CLASS, PEAK_FLUX, NOAA_AR) if c not in events.columns]
    if missing:
        problems.append(f"missing column(s) {missing}; a catalogue has {list(EVENT_COLUMNS)}")
    for col in (START, PEAK, END):
        if col in events.columns and not isinstance(events[col].dtype, pd.DatetimeTZDtype):
            problems.append(
                f"column {col!r} must be timezone-aware UTC datetimes, got {events[col].dtype}"
            )
    if PEAK_FLUX in events.columns and not pd.api.types.is_numeric_dtype(events[PEAK_FLUX]):
        problems.append(
            f"column {PEAK_FLUX!r} must be numeric (W m^-2), got {events[PEAK_FLUX].dtype}"
        )
    if problems:
        raise SchemaError(f"{source}: " + "; ".join(problems))


def combine_events(
    frames: Sequence[pd.DataFrame], source: str, duplicates: str = "drop"
) -> pd.DataFrame:
    """Concatenate event tables read from several files of one catalogue.

    Duplicates across files are removed (``duplicates="drop"``) and counted;
    integer counts in ``attrs`` are summed and example lists joined. All parts
    must share one flux-scaling convention.

    Raises
    ------
    DataError
        If the parts carry different flux-scaling conventions.
    """
    scalings = {f.attrs.get("flux_scaling") for f in frames}
    if len(scalings) > 1:
        raise DataError(
            f"{source}: the files mix flux-scaling conventions {sorted(map(str, scalings))}; "
            "read them separately (GOES classes would not be comparable)."
        )
    frame = pd.concat(frames, ignore_index=True)
    # Within-file duplicates are already handled (and counted); these are across files.
    across = frame.duplicated(
        subset=[START, PEAK, END, PEAK_FLUX, NOAA_AR], keep="first"
    ).to_numpy()
    across = across & ~np.concatenate(
        [f.duplicated(subset=[START, PEAK, END, PEAK_FLUX, NOAA_AR]).to_numpy() for f in frames]
    )
    if duplicates == "drop":
        frame = frame.loc[~across].reset_index(drop=True)
    attrs: dict[str, object] = {}
    for part in frames:
        for key, value in part.attrs.items():
            if isinstance(value, bool) or not isinstance(value, int | list):
                attrs.setdefault(key, value)
            elif isinstance(value, int):
                attrs[key] = int(attrs.get(key, 0)) + value
            else:
                attrs[key] = [*attrs.get(key, []), *value][:5]
    attrs["source"] = source
    attrs["duplicates"] = int(attrs.get("duplicates", 0)) + int(across.sum())
    if duplicates == "drop":
        attrs["duplicates_removed"] = int(attrs.get("duplicates_removed", 0)) + int(across.sum())
    starts = [p.attrs["coverage_start"] for p in frames if "coverage_start" in p.attrs]
    ends = [p.attrs["coverage_end"] for p in frames if "coverage_end" in p.attrs]
    if len(starts) == len(frames) and len(ends) == len(frames):
        attrs["coverage_start"], attrs["coverage_end"] = min(starts), max(ends)
    frame.attrs = attrs
    return frame
