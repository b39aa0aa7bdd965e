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

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX
from flarecast.errors import DataError, DataWarning, GOESClassError, SchemaError, warn_user
from flarecast.goes import parse_goes_class

__all__ = [
    "START",
    "PEAK",
    "END",
    "SOURCE",
    "EVENT_COLUMNS",
    "FLUX_OPERATIONAL",
    "FLUX_SCIENCE",
    "BAD_ROW_POLICIES",
    "BadRows",
    "check_policies",
    "DUPLICATE_POLICIES",
    "is_missing_time",
    "combine_events",
    "parse_classes",
    "parse_regions",
    "roll_past_midnight",
    "finish_events",
    "validate_events",
]

START, PEAK, END, SOURCE = "start", "peak", "end", "source"
EVENT_COLUMNS: tuple[str, ...] = (START, PEAK, END, GOES_CLASS, PEAK_FLUX, NOAA_AR, SOURCE)
FLUX_OPERATIONAL = "operational"
FLUX_SCIENCE = "science"
_SCALING_NOTES = {
    FLUX_OPERATIONAL: (
        "classes as SWPC issued them: GOES-15 and earlier carry the 0.7 factor "
        "(about 30% below NCEI's reprocessed science fluxes); GOES-16+ events are unaffected"
    ),
    FLUX_SCIENCE: "NCEI reprocessed science fluxes (no 0.7 factor)",
}
BAD_ROW_POLICIES: tuple[str, ...] = ("error", "skip")
DUPLICATE_POLICIES: tuple[str, ...] = ("drop", "keep")
_MISSING_TIME = ("////", "//", "--")


def check_policies(on_bad_rows: str, duplicates: str = "drop") -> None:
    """Validate ``on_bad_rows`` and ``duplicates`` with the house message style."""
    for name, value, legal in (
        ("on_bad_rows", on_bad_rows, BAD_ROW_POLICIES),
        ("duplicates", duplicates, DUPLICATE_POLICIES),
    ):
        if value not in legal:
            raise DataError(
                f"The {name!r} parameter must be one of {list(legal)}. Got {value!r} instead."
            )


@dataclasses.dataclass
class BadRows:
    """Collects malformed cells while a reader parses, so that it can report them all at once.

    Parameters
    ----------
    n : int
        Number of source rows.
    rows : array-like of int, shape (n,)
        How each row is named in messages (0-based data row, or file line).
    label : str, default "row"
        ``"row"`` for tables, ``"line"`` for text files.
    """

    n: int
    rows: np.ndarray
    label: str = "row"

    def __post_init__(self) -> None:
        self.mask = np.zeros(self.n, dtype=bool)
        self.examples: list[tuple[int, str]] = []

    def add(
        self, bad: np.ndarray, column: str, values: Sequence[object], reason: str | Sequence[str]
    ) -> None:
        """Mark rows ``bad`` (bool, shape (n,)) as malformed in ``column``, with their raw ``values``.

        ``reason`` is one text for all of them, or one per row (shape (n,)).
        """
        bad = np.asarray(bad, dtype=bool)
        if not bad.any():
            return
        values = np.asarray(values, dtype=object)
        reasons = np.broadcast_to(np.asarray(reason, dtype=object), (self.n,))
        for i in np.flatnonzero(bad)[:5]:
            self.examples.append(
                (i, f"{self.label} {self.rows[i]} column {column!r}: {values[i]!r} ({reasons[i]})")
            )
        self.mask |= bad


def parse_classes(values: Sequence[object], bad: BadRows, column: str) -> np.ndarray:
    """GOES class strings -> peak flux (W m^-2); unparseable or missing classes are marked bad (NaN).

    Parsing is per distinct value, so a file of 40,000 rows costs a few hundred parses.
    """
    text = (
        pd.Series(np.asarray(values, dtype=object)).fillna("").astype(str).str.strip().str.upper()
    )
    uniques = pd.unique(text)
    table = _parse_unique(np.asarray(uniques, dtype=object))
    flux = table[pd.Index(uniques).get_indexer(text)]
    bad.add(
        ~np.isfinite(flux),
        column,
        text.to_numpy(),
        "expected a GOES class such as 'M1.2' with a magnitude in (0, 10), X open-ended",
    )
    return flux


def _parse_unique(values: np.ndarray) -> np.ndarray:
    """Fluxes of distinct class strings, NaN for the bad ones; halves a failing batch to find them."""
    try:
        return parse_goes_class(values)
    except GOESClassError:
        if len(values) == 1:
            return np.array([np.nan])
        mid = len(values) // 2
        return np.concatenate([_parse_unique(values[:mid]), _parse_unique(values[mid:])])


#: Largest NOAA region number accepted: five digits (the numbering passed 10000 in 2002 and is near 14000
#: in 2025); anything larger is a corrupt cell, not a region.
MAX_REGION = 99999


def parse_regions(
    values: Sequence[object], bad: BadRows, column: str, *, four_digit: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Region numbers -> float array (NaN = unknown) in the 5-digit convention, and where +10000 was added.

    Blank and 0 mean unknown. With ``four_digit`` (SWPC-style sources) numbers in
    1..9999 get +10000 (the returned bool mask marks them). Text that is not a
    non-negative integer is marked bad.
    """
    text = pd.Series(np.asarray(values, dtype=object)).fillna("").astype(str).str.strip()
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    blank = (text == "").to_numpy()
    with np.errstate(invalid="ignore"):
        invalid = ~blank & (
            ~np.isfinite(num) | (num < 0) | (num != np.round(num)) | (num > MAX_REGION)
        )
    bad.add(
        invalid,
        column,
        text.to_numpy(),
        f"expected a NOAA region number up to {MAX_REGION}, 0 or blank",
    )
    num = np.where(invalid | blank | (num == 0), np.nan, num)
    short = (num < 10000) if four_digit else np.zeros(len(num), dtype=bool)
    return np.where(short, num + 10000, num), short


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
        each of length n.
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
    start = _utc(columns[START])
    no_peak = np.zeros(bad.n, dtype=bool) if no_peak is None else np.asarray(no_peak, dtype=bool)
    times = {PEAK: _utc(columns[PEAK]).where(~no_peak, start), END: _utc(columns[END])}
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
            START: _utc(columns[START])[keep],
            PEAK: times[PEAK][keep],
            END: times[END][keep],
            GOES_CLASS: pd.array(np.asarray(columns[GOES_CLASS], dtype=object)[keep], dtype="str"),
            PEAK_FLUX: np.asarray(columns[PEAK_FLUX], dtype=float)[keep],
            NOAA_AR: pd.array(np.asarray(columns[NOAA_AR], dtype=float)[keep], dtype="Int64"),
        }
    ).reset_index(drop=True)
    frame[SOURCE] = pd.array([reader] * len(frame), dtype="str")
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


def _utc(values: object) -> pd.Series:
    series = pd.Series(values).reset_index(drop=True)
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        series = pd.to_datetime(series, utc=True)
    return series.dt.tz_convert("UTC").dt.as_unit("ns")


def is_missing_time(text: pd.Series) -> np.ndarray:
    """True where a time field holds a missing marker (``////``, ``//://``, ``--``, blank)."""
    stripped = text.astype(str).str.strip()
    return (stripped.str.contains("//", regex=False) | stripped.isin(["", "--"])).to_numpy()


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
