"""Shared checks and row policies of the table readers (private).

Every reader parses its source into raw columns, then hands them here so that
all of them apply the same documented, counted policies:

- **missing features** (NaN, empty cell or +-inf in a feature column):
  ``missing="drop"`` (default) drops those rows, counts them in
  ``Dataset.notes`` and warns with :class:`~flarecast.errors.DataWarning`;
  ``missing="error"`` raises :class:`~flarecast.errors.SchemaError`.
- **exact duplicate rows** (every kept column equal): ``duplicates="keep"``
  (default) keeps them and counts them in the notes, because in the one real
  source that has them (the Michigan 24/36/48 h files) they are two distinct
  flares of one region that share the nearest SHARP snapshot (the 6 h file
  separates them), and the published row counts include them. Both copies
  share time and region, so region or time splits keep them together.
  ``"drop"`` drops later copies (counted, warned); ``"error"`` raises.
- text in a numeric column, a missing time, region or class is always an error.

Rows are reported 0-based as data rows of the source file (header not
counted), the numbering pandas and :func:`~flarecast.errors.format_examples` use.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from flarecast.data.schema import (
    GOES_CLASS,
    HARPNUM,
    META,
    NOAA_AR,
    PEAK_FLUX,
    TIME,
    Dataset,
    validate_labelled,
)
from flarecast.errors import (
    DataError,
    DataWarning,
    GOESClassError,
    SchemaError,
    format_examples,
    warn_user,
)
from flarecast.goes import class_letter

DUPLICATE_POLICIES = ("keep", "drop", "error")
MISSING_POLICIES = ("drop", "error")
# Cells that mean "no value" in a numeric column; anything else that does not
# parse as a number is an error, not a NaN.
_MISSING_TEXT = {"", "nan", "na", "n/a", "null", "none", "-nan"}
#: Time convention of SHARP T_REC values once read as UTC.
TAI_NOTE = "T_REC is the JSOC TAI record time read as UTC (TAI - UTC = 34-37 s in 2010-2019)"


def check_policy(name: str, value: str, choices: Sequence[str]) -> None:
    """Validate a policy keyword with the house message style."""
    if value not in choices:
        raise DataError(
            f"The {name!r} parameter must be one of {list(choices)}. Got {value!r} instead."
        )


def letter_check(flux: np.ndarray, letters: pd.Series, source: str, column: str) -> None:
    """Raise when the letter a source states disagrees with the letter of its flux."""
    stated = letters.str.upper().to_numpy(dtype=str)
    illegal = ~np.isin(stated, ["A", "B", "C", "M", "X"])
    if illegal.any():
        rows = letters.index.to_numpy()[illegal]
        raise GOESClassError(
            f"{source}: column {column!r} has invalid class letter(s) "
            f"{format_examples(rows, stated[illegal].tolist())}. Expected one of A, B, C, M, X."
        )
    derived = class_letter(flux)
    bad = derived != stated
    if bad.any():
        rows = letters.index.to_numpy()[bad]
        shown = [
            f"{s} but flux {f:.3g} W m^-2 is {d}"
            for s, f, d in zip(stated[bad], flux[bad], derived[bad], strict=True)
        ]
        raise GOESClassError(
            f"{source}: column {column!r} disagrees with the flux in {int(bad.sum())} row(s): "
            f"{format_examples(rows, shown)}."
        )


def read_text_csv(path: Path, *, sep: str = ",") -> pd.DataFrame:
    """Read a CSV with every cell as stripped text, so each column is parsed and checked explicitly."""
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot be read as a {sep!r}-separated table ({exc}).") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(lambda col: col.str.strip())


def require_columns(frame: pd.DataFrame, required: Sequence[str], source: str, layout: str) -> None:
    """Raise :class:`SchemaError` listing every required column that is absent."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{source}: missing column(s) {missing} for the {layout} layout. "
            f"Required: {list(required)}; found: {list(frame.columns)}."
        )


def numeric(
    values: pd.Series, *, source: str, column: str, allow_missing: bool = True
) -> np.ndarray:
    """Parse a column as float64; text that is not a number is an error naming rows and values.

    Missing markers (empty, ``nan``, ``NA``, ...) become NaN when ``allow_missing``;
    ``inf`` parses to inf and is left for the missing-feature policy.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        out = values.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(out)
        bad = missing if not allow_missing else np.zeros(len(out), bool)
        shown = ["NaN"] * int(bad.sum())
    else:
        text = values.astype(str).str.strip()
        out = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        is_missing_text = text.str.lower().isin(_MISSING_TEXT).to_numpy()
        bad = np.isnan(out) & (~is_missing_text | (not allow_missing))
        # "nan" parses to NaN too: a missing marker, not a parse failure.
        shown = text.to_numpy()[bad].tolist()
    if bad.any():
        rows = values.index.to_numpy()[bad]
        what = "non-numeric" if allow_missing else "missing or non-numeric"
        raise DataError(
            f"{source}: column {column!r} has {int(bad.sum())} {what} value(s): "
            f"{format_examples(rows, shown)}. Expected a number."
        )
    return out


def region_numbers(values: pd.Series, *, source: str, column: str) -> pd.Series:
    """NOAA region numbers as Int64; missing, fractional or non-positive values are an error."""
    num = numeric(values, source=source, column=column, allow_missing=False)
    bad = ~np.isfinite(num) | (num <= 0) | (num != np.round(num))
    if bad.any():
        rows = values.index.to_numpy()[bad]
        raise DataError(
            f"{source}: column {column!r} has {int(bad.sum())} invalid NOAA region number(s): "
            f"{format_examples(rows, values.to_numpy()[bad].tolist())}. Expected a positive integer "
            "(regions are required: samples are split by region)."
        )
    return pd.Series(num.astype(np.int64), index=values.index, dtype="Int64")


def parse_times(
    values: pd.Series, *, source: str, column: str, fmt: str | None = None
) -> pd.Series:
    """Parse time strings in a known format as UTC (the caller documents why they are UTC)."""
    parsed = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
    bad = parsed.isna().to_numpy()
    if bad.any():
        rows = values.index.to_numpy()[bad]
        expected = f"format {fmt!r}" if fmt else "an ISO 8601 time"
        raise DataError(
            f"{source}: column {column!r} has {int(bad.sum())} unparseable time(s): "
            f"{format_examples(rows, values.to_numpy()[bad].tolist())}. Expected {expected}."
        )
    return parsed


def finish(
    frame: pd.DataFrame,
    *,
    features: Sequence[str],
    source: str,
    name: str,
    sha256: str | None,
    window: str,
    flaring_only: bool,
    notes: Sequence[str] = (),
    duplicates: str = "keep",
    missing: str = "drop",
    synthetic: bool = False,
) -> Dataset:
    """Apply the missing-feature and duplicate policies, order the columns, validate, wrap.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical meta columns plus float64 ``features``; its index holds the
        source row numbers used in messages.
    features : sequence of str
        Feature columns in model order.
    source : str
        File path (or paths) named in messages.
    name, sha256, window, flaring_only, synthetic
        Stored on the :class:`Dataset`.
    notes : sequence of str
        Reader-specific notes; the policy notes are appended.
    duplicates : {"keep", "drop", "error"}, default "keep"
    missing : {"drop", "error"}, default "drop"

    Returns
    -------
    Dataset
        With a fresh 0-based index and ``feature_columns(frame) == features``.
    """
    check_policy("duplicates", duplicates, DUPLICATE_POLICIES)
    check_policy("missing", missing, MISSING_POLICIES)
    notes = list(notes)
    features = list(features)
    order = [c for c in META if c in frame.columns] + features
    frame = frame[order]

    values = frame[features].to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    bad_rows = bad.any(axis=1)
    if bad_rows.any():
        cols = [f for f, b in zip(features, bad.any(axis=0), strict=True) if b]
        rows = frame.index.to_numpy()[bad_rows]
        first = bad[bad_rows].argmax(axis=1)
        shown = [
            f"{features[j]}={values[i, j]}"
            for i, j in zip(np.flatnonzero(bad_rows), first, strict=True)
        ]
        what = (
            f"{int(bad_rows.sum())} row(s) with a missing or non-finite feature value "
            f"(columns {cols}; {format_examples(rows, shown)})"
        )
        if missing == "error":
            raise SchemaError(f"{source}: {what}. Fix the file or pass missing='drop'.")
        frame = frame.loc[~bad_rows]
        notes.append(f"dropped {what} [missing='drop']")
        warn_user(f"{source}: dropped {what}.", DataWarning, stacklevel=3)

    dup = frame.duplicated(keep="first").to_numpy()
    if dup.any():
        rows = frame.index.to_numpy()[dup]
        # Name the first copy of each duplicate so the pair can be inspected.
        hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        first = dict(zip(hashes[::-1], frame.index.to_numpy()[::-1], strict=True))
        shown = [f"copy of row {first[h]}" for h in hashes[dup]]
        what = f"{int(dup.sum())} exact duplicate row(s) ({format_examples(rows, shown)})"
        if duplicates == "error":
            raise DataError(f"{source}: {what}. Pass duplicates='keep' or 'drop' to accept them.")
        if duplicates == "drop":
            frame = frame.loc[~dup]
            notes.append(f"dropped {what} [duplicates='drop']")
            warn_user(f"{source}: dropped {what}.", DataWarning, stacklevel=3)
        else:
            notes.append(f"kept {what} [duplicates='keep']")

    frame = frame.reset_index(drop=True)
    frame[TIME] = frame[TIME].astype("datetime64[ns, UTC]")
    frame[NOAA_AR] = frame[NOAA_AR].astype("Int64")
    if HARPNUM in frame.columns:
        frame[HARPNUM] = frame[HARPNUM].astype("Int64")
    frame[GOES_CLASS] = frame[GOES_CLASS].astype(str)
    frame[PEAK_FLUX] = frame[PEAK_FLUX].astype(float)
    validate_labelled(frame, source, features)
    return Dataset(
        frame=frame,
        name=name,
        features=tuple(features),
        synthetic=synthetic,
        sha256=sha256,
        window=window,
        flaring_only=flaring_only,
        notes=tuple(notes),
    )
