"""The canonical labelled-sample schema: column names, dtypes and units.

Every reader turns its source layout into this one. A labelled sample is one
SHARP snapshot of one active region at one time, with the largest GOES flare
class that region produced in the forecast window:

============  ==========================  ==========================================
column        dtype                       meaning
============  ==========================  ==========================================
time          datetime64[ns, UTC]         SHARP record time (T_REC), UTC
noaa_ar       Int64                       NOAA active-region number (5-digit, 1xxxx)
harpnum       Int64 (optional)            HMI Active Region Patch number
goes_class    string                      largest class in the window, "M1.2"; "N" = none
peak_flux     float64                     its 1-8 A peak flux, W m^-2; 0 for "N"
<KEYWORD>     float64                     SHARP keywords, named as JSOC names them
============  ==========================  ==========================================

Optional position columns ``LON_FWT`` and ``LAT_FWT`` (deg, Stonyhurst) are
kept when a source has them; they are metadata, not features.

Region-day tables (NOAA SRS, :mod:`flarecast.data.tables.srs`) add two things:
the flare counts of the day (``flares_c``, ``flares_m``, ``flares_x``: metadata
from which the label is made, never features) and **categorical** features
(McIntosh components, Mt Wilson class) held as pandas ``category`` columns
whose categories are the legal values; see :func:`categorical_features`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from flarecast.errors import SchemaError, format_examples

__all__ = [
    "TIME",
    "NOAA_AR",
    "HARPNUM",
    "GOES_CLASS",
    "PEAK_FLUX",
    "REQUIRED",
    "POSITION",
    "SHARP_UNITS",
    "SIGNED_LOG_FEATURES",
    "validate_labelled",
    "feature_columns",
    "Dataset",
    "META",
    "FLARE_COUNTS",
    "categorical_features",
]

TIME = "time"
NOAA_AR = "noaa_ar"
HARPNUM = "harpnum"
GOES_CLASS = "goes_class"
PEAK_FLUX = "peak_flux"
REQUIRED: tuple[str, ...] = (TIME, NOAA_AR, GOES_CLASS, PEAK_FLUX)
#: Columns carried along as metadata, never used as features.
POSITION: tuple[str, ...] = ("LON_FWT", "LAT_FWT")
#: Flare counts of a region-day (C, M, X flares that day): the label's source, never features.
FLARE_COUNTS: tuple[str, ...] = ("flares_c", "flares_m", "flares_x")
META: tuple[str, ...] = (TIME, NOAA_AR, HARPNUM, GOES_CLASS, PEAK_FLUX, *POSITION, *FLARE_COUNTS)

#: SHARP and CGEM keywords with their units (as in a CEA header / Bobra & Couvidat 2015).
SHARP_UNITS: dict[str, str] = {
    "USFLUX": "Mx",
    "MEANGAM": "deg",
    "MEANGBT": "G/Mm",
    "MEANGBZ": "G/Mm",
    "MEANGBH": "G/Mm",
    "MEANJZD": "mA/m^2",
    "TOTUSJZ": "A",
    "MEANALP": "1/Mm",
    "MEANJZH": "G^2/m",
    "TOTUSJH": "G^2/m",
    "ABSNJZH": "G^2/m",
    "SAVNCPP": "A",
    "MEANPOT": "erg/cm^3",
    "TOTPOT": "erg/cm",
    "MEANSHR": "deg",
    "SHRGT45": "%",
    "R_VALUE": "Mx (log10)",
    "AREA_ACR": "micro-hemispheres",
    "SIZE_ACR": "micro-hemispheres",
    "SIZE": "micro-hemispheres",
    "NACR": "pixels",
    "NPIX": "pixels",
    "TOTBSQ": "G^2",
    "TOTFX": "G^2",
    "TOTFY": "G^2",
    "TOTFZ": "G^2",
    "EPSX": "dimensionless",
    "EPSY": "dimensionless",
    "EPSZ": "dimensionless",
}

#: Heavy-tailed extensive quantities (spanning many decades) that get a signed log10.
SIGNED_LOG_FEATURES: frozenset[str] = frozenset(
    {
        "USFLUX",
        "TOTUSJZ",
        "TOTUSJH",
        "ABSNJZH",
        "SAVNCPP",
        "TOTPOT",
        "MEANPOT",
        "AREA_ACR",
        "SIZE_ACR",
        "SIZE",
        "NACR",
        "NPIX",
        "TOTBSQ",
        "TOTFX",
        "TOTFY",
        "TOTFZ",
    }
)


def categorical_features(frame: pd.DataFrame, features: list[str] | tuple[str, ...]) -> list[str]:
    """The feature columns of ``frame`` held as pandas ``category`` columns (region-day tables)."""
    return [c for c in features if isinstance(frame[c].dtype, pd.CategoricalDtype)]


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Feature columns of a canonical table: every column that is not metadata, in table order."""
    return [c for c in frame.columns if c not in META]


def validate_labelled(frame: pd.DataFrame, source: str, features: list[str] | None = None) -> None:
    """Check that ``frame`` follows the canonical schema; raise once listing every problem.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to check.
    source : str
        File or data-set name used in the message.
    features : list of str, optional
        Feature columns to check; default every non-metadata column.

    Raises
    ------
    SchemaError
        Naming the file, the columns and, for bad values, the rows.
    """
    problems: list[str] = []
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        problems.append(f"missing required column(s) {missing}; required are {list(REQUIRED)}")
    if TIME in frame.columns:
        t = frame[TIME]
        if not isinstance(t.dtype, pd.DatetimeTZDtype):
            problems.append(
                f"column {TIME!r} must be timezone-aware UTC datetimes, got dtype {t.dtype}"
            )
        elif t.isna().any():
            rows = np.flatnonzero(t.isna().to_numpy())
            problems.append(
                f"column {TIME!r} has missing times at {format_examples(rows, ['NaT'] * len(rows))}"
            )
    feats = feature_columns(frame) if features is None else features
    absent = [c for c in feats if c not in frame.columns]
    if absent:
        problems.append(f"missing feature column(s) {absent}")
    for col in (c for c in feats if c in frame.columns):
        values = frame[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            # A categorical feature: every value must be one of its categories.
            if values.isna().any():
                rows = np.flatnonzero(values.isna().to_numpy())
                problems.append(
                    f"categorical feature column {col!r} has missing values at "
                    f"{format_examples(rows, ['NaN'] * len(rows))}"
                )
            continue
        if not pd.api.types.is_numeric_dtype(values):
            problems.append(f"feature column {col!r} is not numeric (dtype {values.dtype})")
            continue
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(arr)
        if bad.any():
            rows = np.flatnonzero(bad)
            problems.append(
                f"feature column {col!r} has NaN/inf at {format_examples(rows, arr[rows])}"
            )
    if problems:
        raise SchemaError(f"{source}: " + "; ".join(problems))


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A labelled feature table in the canonical schema plus what a report must say about it.

    Attributes
    ----------
    frame : pandas.DataFrame
        Canonical columns (see module docstring) plus the feature columns.
    name : str
        Registry name or file path it came from.
    features : tuple of str
        Feature columns, in model order.
    synthetic : bool
        True for generated data; every output made from it must say SYNTHETIC.
    sha256 : str or None
        Checksum of the source file(s), recorded with every artifact.
    window : str
        What ``goes_class`` means, e.g. "largest flare of the AR within 24 h after T_REC".
    flaring_only : bool
        True when every sample is a flaring region (no quiet regions): such data
        overstate operational probabilities.
    notes : tuple of str
        Counted, documented policies applied while reading (duplicates removed, ...).
    """

    frame: pd.DataFrame
    name: str
    features: tuple[str, ...]
    synthetic: bool = False
    sha256: str | None = None
    window: str = ""
    flaring_only: bool = False
    notes: tuple[str, ...] = ()
