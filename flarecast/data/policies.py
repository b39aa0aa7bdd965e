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
- text in a numeric column, a missing time, region or class is always an error;
  so are a time outside 1677-09-21 .. 2262-04-11 (what nanoseconds hold), a
  peak flux that is not finite or reaches 1 W m^-2 (X10000), a region or HARP
  number of 2**53 or more, a repeated column name, and a first data row with
  one field more than the header (pandas would shift every column by one).
- a file larger than the **memory budget** is refused before it is read:
  ``max_bytes`` (an argument of every reader), else ``$FLARECAST_MAX_TABLE_BYTES``
  (``"500MB"``, ``"8GiB"``, a number of bytes, or ``"none"``), else 2 GiB. A CSV
  is measured by its size on disk (parsing needs a few times more); a large CSV
  can still be summarised in chunks by ``flarecast data info``.

Rows are reported 0-based as data rows of the source file (header not
counted), the numbering pandas and :func:`~flarecast.errors.format_examples` use.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
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
    ConfigError,
    DataError,
    DataWarning,
    GOESClassError,
    SchemaError,
    format_examples,
    warn_user,
)
from flarecast.goes import class_letter
from flarecast.io import require_regular_file
from flarecast.time import to_utc

DUPLICATE_POLICIES = ("keep", "drop", "error")
MISSING_POLICIES = ("drop", "error")
# Cells that mean "no value" in a numeric column; anything else that does not
# parse as a number is an error, not a NaN.
_MISSING_TEXT = {"", "nan", "na", "n/a", "null", "none", "-nan"}
#: Time convention of SHARP T_REC values once read as UTC.
TAI_NOTE = "T_REC is the JSOC TAI record time read as UTC (TAI - UTC = 34-37 s in 2010-2019)"
#: Environment variable holding the memory budget of one table file.
ENV_MAX_TABLE_BYTES = "FLARECAST_MAX_TABLE_BYTES"
#: Default memory budget of one table file, bytes.
DEFAULT_MAX_TABLE_BYTES = 2 * 1024**3
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}  # fmt: skip
# Region and HARP numbers are exact integers in float64 only below 2**53.
_MAX_ID = 2.0**53
#: Peak fluxes at or above this (W m^-2, class X10000: 250 times the largest
#: flare on record) are refused as corrupt rather than carried into a table.
MAX_PEAK_FLUX = 1.0


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


def max_table_bytes(max_bytes: int | str | None = None) -> int | None:
    """The memory budget of one table file in bytes (None: no budget).

    ``max_bytes`` if given, else ``$FLARECAST_MAX_TABLE_BYTES``, else
    :data:`DEFAULT_MAX_TABLE_BYTES`. Strings may carry a unit (``"500MB"``,
    ``"8GiB"``); ``"none"`` switches the budget off.
    """
    value = max_bytes if max_bytes is not None else os.environ.get(ENV_MAX_TABLE_BYTES)
    if value is None:
        return DEFAULT_MAX_TABLE_BYTES
    text = str(value).strip().upper().replace(" ", "")
    if text in ("NONE", "UNLIMITED"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d*)?(?:E\d+)?)([KMGT]I?B|B)?", text)
    if isinstance(value, bool) or not match or float(match.group(1)) <= 0:
        raise ConfigError(
            f"The table memory budget (max_bytes or ${ENV_MAX_TABLE_BYTES}) must be a positive "
            f"number of bytes such as 500000000, '500MB' or '8GiB', or 'none'. Got {value!r} instead."
        )
    return int(float(match.group(1)) * _UNITS[match.group(2) or ""])


def format_bytes(n: float) -> str:
    """``2147483648`` -> ``"2.0 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover - loop always returns


def check_budget(path: Path, need: int, max_bytes: int | str | None, what: str) -> None:
    """Refuse a table whose estimated memory ``need`` (bytes) exceeds the budget, saying how to raise it."""
    budget = max_table_bytes(max_bytes)
    if budget is not None and need > budget:
        raise DataError(
            f"{path}: the table needs about {format_bytes(need)} ({what}), more than the memory "
            f"budget of {format_bytes(budget)}. Raise it with max_bytes=... or "
            f"${ENV_MAX_TABLE_BYTES} (e.g. {ENV_MAX_TABLE_BYTES}=16GiB, or 'none'), or read the "
            "file in chunks ('flarecast data info' summarises a CSV table in chunks)."
        )


def _csv_error(path: Path, sep: str, exc: Exception, *, header: bool = True) -> DataError:
    """The parser's complaint, with its line number turned into this module's row number.

    ``header=False`` for a file without a header line (its data row 0 is file line 1).
    """
    text = str(exc).strip()
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    quote = re.search(r"EOF inside string starting at row (\d+)", text)
    if fields:
        n, line, saw = (int(g) for g in fields.groups())
        width = "the header has" if header else "the first row has"
        text = f"row {line - 1 - header} (file line {line}) has {saw} fields but {width} {n}"
    elif quote:
        text = f"row {int(quote.group(1)) - header} opens a quote that is never closed"
    return DataError(f"{path}: cannot be read as a {sep!r}-separated table ({text}).")


_CSV_ERRORS = (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError)
_CSV_OPTIONS = {"dtype": str, "keep_default_na": False, "na_filter": False}


def _check_header(path: Path, sep: str) -> None:
    """Refuse repeated column names: pandas would silently rename the second 'X' to 'X.1'."""
    try:
        names = pd.read_csv(path, sep=sep, header=None, nrows=1, **_CSV_OPTIONS).iloc[0]
    except _CSV_ERRORS as exc:
        raise _csv_error(path, sep, exc) from exc
    names = [str(c).strip() for c in names]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise SchemaError(f"{path}: column name(s) {repeated} occur more than once in the header.")


def refuse_shifted_rows(
    frame: pd.DataFrame, path: Path | str, *, leading_index: bool = False
) -> None:
    """Raise when pandas read row 0 with more fields than the header.

    pandas then takes the first column(s) as an index, which shifts every
    value into the wrong column and makes every row look malformed. With
    ``leading_index``, one unnamed leading column without a header name (a
    written pandas index, as in the SWPC lists of Hayes et al.) is expected
    and accepted; two or more are still refused.
    """
    index = frame.index
    if isinstance(index, pd.RangeIndex) or (leading_index and index.nlevels == 1):
        return
    width = len(frame.columns)
    raise DataError(
        f"{path}: row 0 has {width + index.nlevels} fields but the header has {width}: "
        "a separator too many (or a header name missing)."
    )


def _stripped(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    refuse_shifted_rows(frame, path)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(lambda col: col.str.strip())


def read_text_csv(
    path: Path, *, sep: str = ",", max_bytes: int | str | None = None
) -> pd.DataFrame:
    """Read a CSV with every cell as stripped text, so each column is parsed and checked explicitly.

    Refuses a file over the memory budget (see :func:`max_table_bytes`), a
    repeated column name and rows with more fields than the header.
    """
    require_regular_file(path, what="table")
    try:
        check_budget(path, path.stat().st_size, max_bytes, "its size on disk")
    except OSError as exc:
        raise DataError(f"{path}: cannot be read as a {sep!r}-separated table ({exc}).") from exc
    _check_header(path, sep)
    try:
        frame = pd.read_csv(path, sep=sep, **_CSV_OPTIONS)
    except _CSV_ERRORS as exc:
        raise _csv_error(path, sep, exc) from exc
    return _stripped(frame, path)


def iter_text_csv(
    path: Path, *, sep: str = ",", chunksize: int = 100_000
) -> Iterator[pd.DataFrame]:
    """:func:`read_text_csv` in chunks of ``chunksize`` rows (no memory budget: one chunk at a time).

    Each chunk keeps the file's row numbers as its index. A file with a
    header and no rows yields one empty chunk.
    """
    require_regular_file(path, what="table")
    _check_header(path, sep)
    try:
        with pd.read_csv(path, sep=sep, chunksize=chunksize, **_CSV_OPTIONS) as reader:
            empty = True
            for chunk in reader:
                empty = False
                yield _stripped(chunk, path)
            if empty:
                yield _stripped(pd.read_csv(path, sep=sep, nrows=0, **_CSV_OPTIONS), path)
    except _CSV_ERRORS as exc:
        raise _csv_error(path, sep, exc) from exc


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
    bad = ~np.isfinite(num) | (num <= 0) | (num != np.round(num)) | (num >= _MAX_ID)
    if bad.any():
        rows = values.index.to_numpy()[bad]
        raise DataError(
            f"{source}: column {column!r} has {int(bad.sum())} invalid NOAA region number(s): "
            f"{format_examples(rows, values.to_numpy()[bad].tolist())}. Expected a positive integer "
            "(regions are required: samples are split by region)."
        )
    return pd.Series(num.astype(np.int64), index=values.index, dtype="Int64")


def optional_ids(values: pd.Series, *, source: str, column: str) -> pd.Series:
    """Optional identifiers (HARP numbers) as Int64: a missing cell is <NA>, anything else a positive integer."""
    num = numeric(values, source=source, column=column)
    given = ~np.isnan(num)
    bad = given & (~np.isfinite(num) | (num <= 0) | (num != np.round(num)) | (num >= _MAX_ID))
    if bad.any():
        rows = values.index.to_numpy()[bad]
        raise DataError(
            f"{source}: column {column!r} has {int(bad.sum())} invalid identifier(s): "
            f"{format_examples(rows, values.to_numpy()[bad].tolist())}. Expected a positive integer "
            "or an empty cell."
        )
    ids = pd.array(np.where(given, num, np.nan), dtype="Float64")
    return pd.Series(ids, index=values.index).astype("Int64")


def parse_times(
    values: pd.Series, *, source: str, column: str, fmt: str | None = None
) -> pd.Series:
    """Parse time strings in a known format as UTC (the caller documents why they are UTC)."""
    return to_utc(values, naive="utc", source=source, column=column, fmt=fmt)


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

    flux = frame[PEAK_FLUX].to_numpy(dtype=float, na_value=np.nan)
    bad_flux = ~(flux >= 0) | ~(flux < MAX_PEAK_FLUX)  # NaN fails both
    if bad_flux.any():  # readers check their flux column; this guards every path
        raise GOESClassError(
            f"{source}: {int(bad_flux.sum())} peak flux(es) outside 0 <= flux < "
            f"{MAX_PEAK_FLUX:g} W m^-2 (X10000): "
            f"{format_examples(frame.index[bad_flux], flux[bad_flux].tolist())}."
        )
    frame = frame.reset_index(drop=True)
    frame[TIME] = to_utc(frame[TIME], source=source, column=TIME)
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
