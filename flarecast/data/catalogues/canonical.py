"""Reader of a catalogue already in the canonical event layout (a flarecast output, or made by hand).

The columns are those of :mod:`flarecast.data.events`, by these exact names:

============  ========  ==========================================================
column        needed    content
============  ========  ==========================================================
start         yes       flare start, ISO 8601 with a zone (``2014-10-24T21:07Z``)
peak          yes       flare peak, same form; blank = unknown (the start is used)
end           no        flare end, same form; blank = unknown
goes_class    one of    GOES class (``M1.2``)
peak_flux     the two   1-8 A peak flux, W m^-2; with a class, both must agree
noaa_ar       yes       NOAA region (5 digits, ``12192``); blank or 0 = unknown
source        no        where each row came from
============  ========  ==========================================================

A catalogue in another layout is read by its own reader (``format=``, CLI
``--catalogue-format``), or renamed to these columns. Every row is checked
like the other readers' rows (one error naming rows, columns and values, or
``on_bad_rows="skip"``): times written out with a zone (a time without one is
refused, since a local time read as UTC moves every flare), a class and flux
that agree and are below X10000 (1 W m^-2), a peak and an end not before the
start, region numbers that are whole numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from flarecast.data.budget import check_budget
from flarecast.data.event_fields import BadRows, is_missing_time, parse_classes, parse_regions
from flarecast.data.events import (
    END,
    FLUX_OPERATIONAL,
    FLUX_SCIENCE,
    FLUX_UNKNOWN,
    PEAK,
    SOURCE,
    START,
    finish_events,
)
from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX
from flarecast.data.text_csv import read_text_csv
from flarecast.errors import DataError, FlarecastError, SchemaError
from flarecast.goes import flux_to_class
from flarecast.io import require_regular_file
from flarecast.time import to_utc

__all__ = ["CANONICAL_COLUMNS", "is_canonical_header", "read_canonical_events"]

#: (needed, optional) canonical catalogue columns; one of goes_class / peak_flux is needed.
CANONICAL_COLUMNS = ((START, PEAK, NOAA_AR), (END, GOES_CLASS, PEAK_FLUX, SOURCE))
#: Peak fluxes at or above this (W m^-2, X10000) are corrupt, as for the tables.
_MAX_FLUX = 1.0


def is_canonical_header(names: list[str]) -> bool:
    """Whether a header has the canonical catalogue columns (exact names, not substrings)."""
    found = {n.strip().lstrip("\ufeff") for n in names}
    return set(CANONICAL_COLUMNS[0]) <= found and bool({GOES_CLASS, PEAK_FLUX} & found)


def _describe() -> str:
    return (
        f"a canonical catalogue has the columns {', '.join(CANONICAL_COLUMNS[0])}, "
        f"{GOES_CLASS} and/or {PEAK_FLUX}, and optionally {END} and {SOURCE}"
    )


def read_canonical_events(
    path: str | Path,
    *,
    on_bad_rows: str = "error",
    duplicates: str = "drop",
    max_bytes: int | str | None = None,
) -> pd.DataFrame:
    """Read a canonical catalogue (CSV or Parquet) into the event table, checking every row.

    Parameters
    ----------
    path : str or Path
    on_bad_rows : {"error", "skip"}, default "error"
    duplicates : {"drop", "keep"}, default "drop"
    max_bytes : int or str, optional
        Memory budget (see :mod:`flarecast.data.budget`).

    Returns
    -------
    pandas.DataFrame
        The canonical event table; ``attrs["flux_scaling"]`` is the one a
        Parquet file written by flarecast recorded, else ``"unknown"``.

    Raises
    ------
    SchemaError
        Columns missing (the message lists the canonical ones).
    DataError
        Malformed rows (with ``on_bad_rows="error"``), or an unreadable file.
    """
    path = require_regular_file(path, what="catalogue")
    raw, scaling = _read(path, max_bytes)
    missing = [c for c in CANONICAL_COLUMNS[0] if c not in raw.columns]
    if GOES_CLASS not in raw.columns and PEAK_FLUX not in raw.columns:
        missing.append(f"{GOES_CLASS} or {PEAK_FLUX}")
    if missing:
        raise SchemaError(
            f"{path}: missing column(s) {missing} for the canonical catalogue layout; found "
            f"{list(raw.columns)}. {_describe()[0].upper() + _describe()[1:]}. Read another "
            "layout with its reader (CLI --catalogue-format, API format=) or rename the columns."
        )
    raw = raw.reset_index(drop=True)
    text = {c: raw[c].astype("str").fillna("").str.strip() for c in raw.columns}
    bad = BadRows(len(raw), np.arange(len(raw)))
    times = {col: _times(raw, text, col, bad) for col in (START, PEAK, END)}
    flux, classes = _classes(raw, text, bad)
    regions, _ = parse_regions(text[NOAA_AR], bad, NOAA_AR, four_digit=False)
    columns = {
        START: times[START],
        PEAK: times[PEAK],
        END: times[END],
        PEAK_FLUX: flux,
        NOAA_AR: regions,
        GOES_CLASS: classes,
    }
    if SOURCE in raw.columns:
        columns[SOURCE] = text[SOURCE].to_numpy(dtype=object)
    frame = finish_events(
        columns,
        bad,
        source=str(path),
        reader="canonical",
        on_bad_rows=on_bad_rows,
        duplicates=duplicates,
        flux_scaling=scaling,
        no_peak=times[PEAK].isna().to_numpy() & times[START].notna().to_numpy(),
        names={PEAK: PEAK, END: END},
    )
    return frame


def _read(path: Path, max_bytes: int | str | None) -> tuple[pd.DataFrame, str]:
    if path.suffix.lower() != ".parquet":
        return read_text_csv(path, max_bytes=max_bytes), FLUX_UNKNOWN
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        need = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        check_budget(path, need, max_bytes, "its uncompressed Parquet columns")
        raw = pd.read_parquet(path)
    except FlarecastError:
        raise
    except Exception as exc:
        # A damaged file can fail anywhere inside pyarrow (OSError, ArrowInvalid, ...).
        raise DataError(
            f"{path}: cannot be read as a canonical catalogue ({type(exc).__name__}: {exc})."
        ) from exc
    # A Parquet table written by flarecast keeps its convention in attrs; a hand-made file cannot say.
    scaling = raw.attrs.get("flux_scaling")
    return raw, scaling if scaling in (FLUX_OPERATIONAL, FLUX_SCIENCE) else FLUX_UNKNOWN


def _times(raw: pd.DataFrame, text: dict, col: str, bad: BadRows) -> pd.Series:
    if col not in raw.columns:
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    values = raw[col]
    shown = text[col].to_numpy(dtype=object)
    if not pd.api.types.is_datetime64_any_dtype(values):
        missing = is_missing_time(text[col])
        values = text[col].where(~missing, "")
    else:
        missing = values.isna().to_numpy()
    parsed = to_utc(
        values,
        naive="refuse",
        allow_missing=True,
        on_bad=lambda mask, reason: bad.add(mask, col, shown, reason),
        naive_hint="write the zone, e.g. '2014-10-24T21:07Z' for UTC",
    )
    if col == START:
        bad.add(missing, col, shown, "missing, and the start is required")
    return parsed


def _classes(raw: pd.DataFrame, text: dict, bad: BadRows) -> tuple[np.ndarray, np.ndarray]:
    """Fluxes and class strings from goes_class and/or peak_flux, checked against each other."""
    flux = None
    if PEAK_FLUX in raw.columns:
        flux = pd.to_numeric(text[PEAK_FLUX], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            wrong = ~(flux > 0) | ~(flux < _MAX_FLUX)  # NaN fails both
        bad.add(
            wrong,
            PEAK_FLUX,
            text[PEAK_FLUX].to_numpy(dtype=object),
            f"expected a peak flux in W m^-2, > 0 and below {_MAX_FLUX:g} (X10000)",
        )
        flux = np.where(wrong, np.nan, flux)
    if GOES_CLASS not in raw.columns:
        return flux, np.asarray(flux_to_class(np.where(np.isnan(flux), 1e-6, flux)), dtype=object)
    stated = parse_classes(text[GOES_CLASS], bad, GOES_CLASS)
    classes = text[GOES_CLASS].str.upper().to_numpy(dtype=object)
    with np.errstate(invalid="ignore"):
        huge = stated >= _MAX_FLUX
    bad.add(huge, GOES_CLASS, classes, "a class of X10000 or more is corrupt")
    if flux is None:
        return stated, classes
    ok = np.isfinite(stated) & np.isfinite(flux)
    off = np.zeros(len(flux), dtype=bool)
    off[ok] = flux_to_class(stated[ok]) != flux_to_class(flux[ok])
    shown = [f"{c} with {PEAK_FLUX} {f}" for c, f in zip(classes, text[PEAK_FLUX], strict=True)]
    bad.add(off, GOES_CLASS, shown, f"the class and {PEAK_FLUX} disagree")
    return flux, classes
