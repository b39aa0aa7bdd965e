"""The one CSV reading path of flarecast: every table, catalogue and SHARP series CSV goes through here.

:func:`read_text_csv` reads every cell as stripped text, so that each reader
parses and checks each column explicitly (nothing is guessed), after:

- refusing anything that is not a regular file (a FIFO would block forever);
- refusing a file over the memory budget (:mod:`flarecast.data.budget`);
- refusing a repeated column name (pandas would rename the second ``X`` to ``X.1``);
- refusing a first data row with more fields than the header (pandas would
  take the first column as the index and shift every value by one).

A UTF-8 byte-order mark at the start of the file is dropped. Parser errors
name the data row (0-based, header not counted) and the file line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from flarecast.data.budget import check_budget
from flarecast.errors import DataError, SchemaError
from flarecast.io import require_regular_file

__all__ = ["read_text_csv", "iter_text_csv", "csv_error", "refuse_shifted_rows"]


def csv_error(path: Path, sep: str, exc: Exception, *, header: bool = True) -> DataError:
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


_CSV_ERRORS = (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError)
_CSV_OPTIONS = {"dtype": str, "keep_default_na": False, "na_filter": False}


def _check_header(path: Path, sep: str) -> None:
    """Refuse repeated column names: pandas would silently rename the second 'X' to 'X.1'."""
    try:
        names = pd.read_csv(path, sep=sep, header=None, nrows=1, **_CSV_OPTIONS).iloc[0]
    except _CSV_ERRORS as exc:
        raise csv_error(path, sep, exc) from exc
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


def _stripped(frame: pd.DataFrame, path: Path, *, leading_index: bool = False) -> pd.DataFrame:
    refuse_shifted_rows(frame, path, leading_index=leading_index)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(lambda col: col.str.strip())


def read_text_csv(
    path: Path | str,
    *,
    sep: str = ",",
    max_bytes: int | str | None = None,
    header: bool = True,
    leading_index: bool = False,
    what: str = "table",
) -> pd.DataFrame:
    """Read a CSV with every cell as stripped text, so each column is parsed and checked explicitly.

    Parameters
    ----------
    path : str or Path
    sep : str, default ","
    max_bytes : int or str, optional
        Memory budget (:func:`flarecast.data.budget.max_table_bytes`).
    header : bool, default True
        False for a file without a header line: columns are numbered 0, 1, ...
    leading_index : bool, default False
        One leading column without a header name (a written pandas index) is
        accepted and dropped, and so is any column whose name is empty.
    what : str, default "table"
        What the file is, for messages ("catalogue", "SHARP series").

    Returns
    -------
    pandas.DataFrame
        Text cells, stripped; a 0-based index of data rows (the header not counted).
    """
    path = require_regular_file(path, what=what)
    try:
        check_budget(path, path.stat().st_size, max_bytes, "its size on disk")
    except OSError as exc:
        raise DataError(f"{path}: cannot be read as a {sep!r}-separated table ({exc}).") from exc
    if header:
        _check_header(path, sep)
    try:
        frame = pd.read_csv(path, sep=sep, header=0 if header else None, **_CSV_OPTIONS)
    except _CSV_ERRORS as exc:
        raise csv_error(path, sep, exc, header=header) from exc
    if not header:
        return frame.apply(lambda col: col.str.strip())
    frame = _stripped(frame, path, leading_index=leading_index)
    if leading_index:
        unnamed = [c for c in frame.columns if c == "" or c.startswith("Unnamed:")]
        frame = frame.drop(columns=unnamed).reset_index(drop=True)
    return frame


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
        raise csv_error(path, sep, exc) from exc
