"""Reader of NOAA SRS region-days with the day's flare counts (Hayes' ``AR_flare_ml_23_24.csv``).

One row per (NOAA Solar Region Summary issued at 00:30 UT, active region),
1996-08 to 2018-12, with the counts of C, M and X flares the region produced
on the issue's UT day (from the SWPC event list). Read into the canonical
schema of :mod:`flarecast.data.schema` as a **region-day** table:

- ``time``: the SRS issue time, ``YYYY-MM-DD 00:30`` UTC (SRS are issued in UT).
- ``noaa_ar``: 5-digit by the rule of flarecast's SWPC catalogue readers
  (:func:`flarecast.data.events.parse_regions`): a number below 10000 gets
  +10000 (pre-2002 ``7981`` -> ``17981``). The source keeps the 4-digit numbers
  issued before the sequence reached 10000 on 2002-06-14 and writes later ones
  with 5 digits, so after the rule the numbers are unique over 1996-2018 (the
  sequence ran 7981..12731) and join the flare lists read by flarecast.
- features: the McIntosh class split into its three components
  (``mcintosh_zurich``, ``mcintosh_penumbra``, ``mcintosh_compactness``) and the
  Mt Wilson class (``mtwilson``), as ``category`` columns whose categories are
  the legal values; ``area_msh`` (millionths of the solar hemisphere),
  ``extent_deg`` (longitudinal extent), ``spots`` (number of spots),
  ``latitude_deg`` and ``longitude_deg`` (heliographic, signed).
- label: ``goes_class`` = the largest class letter of the day (``X``, ``M``,
  ``C``; ``N`` = no flare of C class or above) and ``peak_flux`` = that class's
  lower bound (1e-4, 1e-5, 1e-6 W m^-2; 0 for ``N``). Magnitudes are not in the
  source, so only the thresholds C1.0, M1.0 and X1.0 are meaningful. **B-class
  flares are unknown** (the SWPC lists hold C and above): ``N`` means "no flare
  of C class or above", not "no flare".
- ``flares_c``, ``flares_m``, ``flares_x``: the counts of the day (metadata).

**Window mismatch.** The label counts the flares that *start* on the issue's UT
day, 00:00-24:00, but the SRS is issued at 00:30: flares starting between 00:00
and 00:30 are counted although they precede the issue. Joined to
``swpc_flarelist_19960731_20181231.csv`` by region and day
(:func:`pre_issue_flares`) they are :data:`PRE_ISSUE_FLARES` (tested against
the real files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Unpack

import numpy as np
import pandas as pd

from flarecast.data.columns import numeric, region_numbers
from flarecast.data.schema import (
    FLARE_COUNTS,
    GOES_CLASS,
    NOAA_AR,
    PEAK_FLUX,
    TIME,
    Dataset,
)
from flarecast.data.tables.sources import ReadOptions, SourceFile
from flarecast.errors import DataError, format_examples
from flarecast.time import to_utc

__all__ = [
    "SRS_CATEGORIES",
    "SRS_NUMERIC",
    "SRS_FEATURES",
    "PRE_ISSUE_FLARES",
    "read_hayes_srs",
    "mcintosh_class",
    "five_digit_regions",
    "pre_issue_flares",
]

#: Legal values of each categorical feature (McIntosh 1990; Hale et al. 1919 for Mt Wilson).
SRS_CATEGORIES: dict[str, tuple[str, ...]] = {
    "mcintosh_zurich": ("A", "B", "C", "D", "E", "F", "H"),
    "mcintosh_penumbra": ("X", "R", "S", "A", "H", "K"),
    "mcintosh_compactness": ("X", "O", "I", "C"),
    "mtwilson": ("ALPHA", "BETA", "GAMMA", "DELTA", "BETA-GAMMA", "BETA-DELTA",
                 "GAMMA-DELTA", "BETA-GAMMA-DELTA"),
}  # fmt: skip
#: Numeric features: source column -> canonical name (units in the names).
SRS_NUMERIC: dict[str, str] = {
    "AREA": "area_msh",
    "Longitude_extent": "extent_deg",
    "No_sunspots": "spots",
    "Latitude": "latitude_deg",
    "Longitude": "longitude_deg",
}
SRS_FEATURES: tuple[str, ...] = (*SRS_CATEGORIES, *SRS_NUMERIC.values())

#: Flares of the table that start 00:00-00:30 UT, before the issue they are counted for:
#: (C, M, X) flares, and rows whose >=M label rests on such a flare only.
PRE_ISSUE_FLARES: dict[str, int] = {"C": 308, "M": 32, "X": 6, "rows_m_label_only_pre_issue": 20}

_COLUMNS = ("AR issue_date", "noaa_ar", "McIntosh", "MAGTYPE", "C", "M", "X", "C+", "M+", "X+",
            *SRS_NUMERIC)  # fmt: skip
_FLUX = {"X": 1e-4, "M": 1e-5, "C": 1e-6, "N": 0.0}


def five_digit_regions(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NOAA numbers in flarecast's 5-digit convention: below 10000 -> +10000.

    Returns the numbers and a mask of those changed. The same rule as the SWPC
    catalogue readers, so that rows and flares join on ``noaa_ar``.
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    short = numbers < 10000
    return np.where(short, numbers + 10000, numbers), short


def mcintosh_class(frame: pd.DataFrame) -> np.ndarray:
    """The 3-letter McIntosh class of each row, rebuilt from its three component columns."""
    parts = [frame[c].astype(str).to_numpy() for c in list(SRS_CATEGORIES)[:3]]
    return np.char.add(np.char.add(parts[0], parts[1]), parts[2]).astype(object)


def _categorical(
    values: pd.Series, column: str, legal: tuple[str, ...], source: str, what: str
) -> np.ndarray:
    bad = ~values.isin(legal).to_numpy()
    if bad.any():
        raise DataError(
            f"{source}: column {column!r} has {int(bad.sum())} illegal {what}: "
            f"{format_examples(values.index[bad], values[bad].tolist())}. Legal: {list(legal)}."
        )
    return pd.Categorical(values, categories=legal).codes.astype(float)


def _counts(raw: pd.DataFrame, source: str) -> dict[str, np.ndarray]:
    out = {}
    for col in ("C", "M", "X", "C+", "M+", "X+"):
        num = numeric(raw[col], source=source, column=col, allow_missing=False)
        bad = ~(num >= 0) | (num != np.round(num))
        if bad.any():
            raise DataError(
                f"{source}: column {col!r} has {int(bad.sum())} invalid flare count(s): "
                f"{format_examples(raw.index[bad], raw[col][bad].tolist())}. Expected an integer >= 0."
            )
        out[col] = num.astype(np.int64)
    sums = {"C+": out["C"] + out["M"] + out["X"], "M+": out["M"] + out["X"], "X+": out["X"]}
    for col, expected in sums.items():
        off = out[col] != expected
        if off.any():
            raise DataError(
                f"{source}: column {col!r} disagrees with the C/M/X counts at "
                f"{format_examples(raw.index[off], out[col][off].tolist())}."
            )
    return out


def read_hayes_srs(path: str | Path, **options: Unpack[ReadOptions]) -> Dataset:
    """Read ``AR_flare_ml_23_24.csv`` into a canonical region-day table (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The CSV file (a written pandas index as its first, unnamed column).
    **options
        As for :func:`~flarecast.data.tables.per_flare.read_umich`.

    Returns
    -------
    Dataset
        Not flaring-only. Features in :data:`SRS_FEATURES` order; the four
        categorical ones are ``category`` columns.

    Raises
    ------
    DataError
        An illegal McIntosh or Mt Wilson class, an issue time other than
        ``YYYY-MM-DD 00:30``, a repeated (issue, region) pair, or flare counts
        that are not integers >= 0 or disagree with their ``C+``/``M+``/``X+`` sums.
    """
    path = Path(path)
    source = str(path)
    table = SourceFile(path, **options)
    # The header lacks a name for the written index, which pandas takes as the index.
    raw = table.read(_COLUMNS, "Hayes SRS region-day", leading_index=True)
    issue = raw["AR issue_date"]
    not_0030 = ~issue.str.fullmatch(r"\d{4}-\d{2}-\d{2} 00:30").to_numpy()
    if not_0030.any():
        raise DataError(
            f"{source}: column 'AR issue_date' has {int(not_0030.sum())} value(s) that are not an SRS "
            f"issue 'YYYY-MM-DD 00:30': {format_examples(raw.index[not_0030], issue[not_0030].tolist())}."
        )
    regions = region_numbers(raw["noaa_ar"], source=source, column="noaa_ar")
    numbers, wrapped = five_digit_regions(regions.to_numpy(dtype=np.int64))
    frame = pd.DataFrame(
        {
            # SRS are issued in UT.
            TIME: to_utc(
                issue, source=source, column="AR issue_date", fmt="%Y-%m-%d %H:%M", naive="utc"
            ),
            NOAA_AR: pd.array(numbers, dtype="Int64"),
        },
        index=raw.index,
    )
    repeated = frame.duplicated([TIME, NOAA_AR], keep="first").to_numpy()
    if repeated.any():
        raise DataError(
            f"{source}: {int(repeated.sum())} repeated (issue, region) pair(s): "
            f"{format_examples(raw.index[repeated], raw['noaa_ar'][repeated].tolist())}."
        )
    counts = _counts(raw, source)
    letter = np.select(
        [counts["X"] > 0, counts["M"] > 0, counts["C"] > 0], ["X", "M", "C"], default="N"
    )
    frame[GOES_CLASS] = letter
    frame[PEAK_FLUX] = pd.Series(letter, index=raw.index).map(_FLUX).to_numpy(dtype=float)
    for col, src in zip(FLARE_COUNTS, ("C", "M", "X"), strict=True):
        frame[col] = counts[src]
    mcintosh = raw["McIntosh"].str.upper()
    bad_length = mcintosh.str.len().to_numpy() != 3
    if bad_length.any():
        raise DataError(
            f"{source}: column 'McIntosh' has {int(bad_length.sum())} value(s) that are not 3-letter "
            f"McIntosh classes: {format_examples(raw.index[bad_length], mcintosh[bad_length].tolist())}."
        )
    for i, (col, legal) in enumerate(list(SRS_CATEGORIES.items())[:3]):
        frame[col] = _categorical(
            mcintosh.str[i], "McIntosh", legal, source, f"McIntosh {col.split('_')[1]} letter(s)"
        )
    frame["mtwilson"] = _categorical(
        raw["MAGTYPE"].str.upper(),
        "MAGTYPE",
        SRS_CATEGORIES["mtwilson"],
        source,
        "Mt Wilson class(es)",
    )
    for col, canonical in SRS_NUMERIC.items():
        frame[canonical] = numeric(raw[col], source=source, column=col)
    notes = [
        f"noaa_ar: {int(wrapped.sum())} row(s) with a 4-digit number got +10000 (flarecast's 5-digit rule)",
        "label: largest class letter of the flares starting on the SRS issue's UT day; peak_flux is the "
        "letter's lower bound (magnitudes are not in the source: only C1.0, M1.0, X1.0 thresholds apply)",
        "B-class flares are unknown in this source: 'N' means no flare of C class or above",
        f"window mismatch: the label counts flares from 00:00 UT, the SRS is issued at 00:30; "
        f"{PRE_ISSUE_FLARES['C']} C, {PRE_ISSUE_FLARES['M']} M and {PRE_ISSUE_FLARES['X']} X flares "
        f"start before the issue ({PRE_ISSUE_FLARES['rows_m_label_only_pre_issue']} row(s) are >=M "
        "only because of them)",
        "Carrington_long and LOCATION (same as Latitude/Longitude) are not kept",
    ]
    window = (
        "largest flare class of the region starting on the SRS issue's UT day "
        "(00:00-24:00 UT; the SRS is issued at 00:30 UT)"
    )
    dataset = table.finish(frame, SRS_FEATURES, window=window, notes=notes, flaring_only=False)
    out = dataset.frame
    # The categorical features crossed the shared row policies as float codes.
    for col, legal in SRS_CATEGORIES.items():
        out[col] = pd.Categorical.from_codes(out[col].to_numpy().astype(np.int64), categories=legal)
    return dataset


def pre_issue_flares(dataset: Dataset, events: pd.DataFrame) -> dict[str, int]:
    """Count the table's flares that start 00:00-00:30 UT, before the SRS issue they are counted for.

    Parameters
    ----------
    dataset : Dataset
        As read by :func:`read_hayes_srs`.
    events : pandas.DataFrame
        A canonical event table (``start``, ``goes_class``, ``noaa_ar``), e.g.
        :func:`flarecast.data.catalogues.csv_lists.read_swpc_flarelist` of
        ``swpc_flarelist_19960731_20181231.csv``.

    Returns
    -------
    dict
        ``C``, ``M``, ``X``: flares of a region with a row that day starting
        before 00:30 UT; ``rows_m_label_only_pre_issue``: rows labelled >=M whose
        >=M flares all start before 00:30 UT.
    """
    frame = dataset.frame
    ev = events.dropna(subset=[NOAA_AR])
    day = ev["start"].dt.floor("D")
    early = ev.loc[(ev["start"] - day) < pd.Timedelta(minutes=30)]
    keys = pd.MultiIndex.from_arrays([frame[TIME].dt.floor("D"), frame[NOAA_AR].astype("int64")])
    early_keys = pd.MultiIndex.from_arrays(
        [early["start"].dt.floor("D"), early[NOAA_AR].astype("int64")]
    )
    matched = early.loc[early_keys.isin(keys)]
    letters = matched[GOES_CLASS].astype(str).str[0].str.upper()
    out = {k: int((letters == k).sum()) for k in ("C", "M", "X")}
    big = matched.loc[letters.isin(["M", "X"]).to_numpy()]
    per_row = big.groupby([big["start"].dt.floor("D"), big[NOAA_AR].astype("int64")]).size()
    mx = (frame["flares_m"] + frame["flares_x"]).to_numpy()
    lookup = pd.Series(mx, index=keys)
    common = per_row.index.intersection(lookup.index)
    out["rows_m_label_only_pre_issue"] = int(
        (per_row.loc[common].to_numpy() >= lookup.loc[common].to_numpy()).sum()
    )
    return out
