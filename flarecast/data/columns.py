"""Checks of the columns of a table as read: required names, numbers, region numbers, classes.

Text in a numeric column is always an error naming the rows and values (a
missing marker such as an empty cell or ``nan`` is NaN, left to the
missing-feature policy of :mod:`flarecast.data.row_policies`); so are a missing
or non-integer region, a region or HARP number of 2**53 or more (not exact in
float64), and a class letter that disagrees with its flux.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from flarecast.errors import DataError, GOESClassError, SchemaError, format_examples
from flarecast.goes import class_letter

__all__ = [
    "MAX_PEAK_FLUX",
    "require_columns",
    "numeric",
    "region_numbers",
    "optional_ids",
    "letter_check",
]

# Cells that mean "no value" in a numeric column; anything else that does not
# parse as a number is an error, not a NaN.
_MISSING_TEXT = {"", "nan", "na", "n/a", "null", "none", "-nan"}
# Region and HARP numbers are exact integers in float64 only below 2**53.
_MAX_ID = 2.0**53
#: Peak fluxes at or above this (W m^-2, class X10000: 250 times the largest
#: flare on record) are refused as corrupt rather than carried into a table.
MAX_PEAK_FLUX = 1.0


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
    elif (out := _fast_numbers(values, allow_missing)) is not None:
        return out
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


def _fast_numbers(values: pd.Series, allow_missing: bool) -> np.ndarray | None:
    """The float64 of a text column where every cell is a finite number or a missing marker.

    pyarrow's cast parses the text an order of magnitude faster than ``pd.to_numeric``
    and to the same doubles (checked on every numeric column of the real files); anything
    else (text, inf, a NaN spelled otherwise) returns None, and :func:`numeric` reads the
    column the slow way, naming the cells it refuses.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        text = pa.array(values, type=pa.large_string(), from_pandas=True)
        try:  # the common case: every cell a number (so no cell has blanks to strip)
            number = pc.cast(text, pa.float64())
        except pa.ArrowInvalid:  # blanks, empty cells or markers such as 'NA'
            text = pc.utf8_trim_whitespace(text)
            missing = pc.is_in(pc.utf8_lower(text), value_set=pa.array(sorted(_MISSING_TEXT)))
            number = pc.cast(pc.if_else(missing, None, text), pa.float64())
    except Exception:  # ArrowInvalid (text), ArrowTypeError (not strings), no pyarrow
        return None
    out = number.to_numpy(zero_copy_only=False)  # nulls (the markers) become NaN
    nan = np.isnan(out)
    if not np.isfinite(out[~nan]).all():
        return None  # an inf: the slow path decides
    if nan.any():
        if not allow_missing:
            return None  # the slow path names the missing cells
        # 'nan' casts to NaN and so does '+nan', which is text, not a missing marker.
        spelled = pc.utf8_lower(text.filter(pa.array(nan)))
        if not pc.all(pc.is_in(spelled, value_set=pa.array(sorted(_MISSING_TEXT)))).as_py():
            return None
    return out


def region_numbers(values: pd.Series, *, source: str, column: str) -> pd.Series:
    """NOAA region numbers as Int64; missing, fractional or non-positive values are an error."""
    num = numeric(values, source=source, column=column, allow_missing=False)
    _refuse_non_ids(
        values,
        num,
        np.ones(len(num), dtype=bool),
        f"{source}: column {column!r}",
        "NOAA region number(s)",
        "(regions are required: samples are split by region)",
    )
    return pd.Series(num.astype(np.int64), index=values.index, dtype="Int64")


def optional_ids(values: pd.Series, *, source: str, column: str) -> pd.Series:
    """Optional identifiers (HARP numbers) as Int64: a missing cell is <NA>, anything else a positive integer."""
    num = numeric(values, source=source, column=column)
    given = ~np.isnan(num)
    _refuse_non_ids(
        values, num, given, f"{source}: column {column!r}", "identifier(s)", "or an empty cell"
    )
    ids = pd.array(np.where(given, num, np.nan), dtype="Float64")
    return pd.Series(ids, index=values.index).astype("Int64")


def _refuse_non_ids(
    values: pd.Series, num: np.ndarray, given: np.ndarray, where: str, what: str, expected: str
) -> None:
    """Raise when a ``given`` number is not a positive integer exact in float64 (region, HARP)."""
    bad = given & (~np.isfinite(num) | (num <= 0) | (num != np.round(num)) | (num >= _MAX_ID))
    if bad.any():
        rows = values.index.to_numpy()[bad]
        raise DataError(
            f"{where} has {int(bad.sum())} invalid {what}: "
            f"{format_examples(rows, values.to_numpy()[bad].tolist())}. Expected a positive integer "
            f"{expected}."
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
