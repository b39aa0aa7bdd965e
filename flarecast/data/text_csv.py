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

pyarrow parses the cells (several times faster than pandas' parser); any file
it cannot read exactly as planned (a ragged or shifted row, an open quote, a
value over two lines, bytes that are not UTF-8, a blank first line) is read
again by pandas from the same row, so results and messages do not depend on
which parser ran. :func:`iter_text_csv` cuts the file itself into pieces of
about ``chunksize`` rows, so its memory stays three pieces whatever the file's size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

from flarecast.data.budget import check_budget
from flarecast.data.file_pieces import block_size, file_pieces, lines_if_quoted, pipelined
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


# pyarrow reads in bounded blocks; what it cannot read as planned, pandas reads and names.
_ARROW_BLOCK = 16 << 20
_THREADED_BLOCK = 4 << 20
_ARROW_MIN_BLOCK = 1 << 20


def _arrow_options(
    path: Path,
    sep: str,
    header: bool,
    numbers: Collection[str] | None = None,
    block: int = _ARROW_BLOCK,
    skip_header: bool = True,
) -> tuple[Any, Any, Any] | None:
    """pyarrow read, parse and convert options that keep every cell as text, or None.

    With ``numbers`` (text columns), the other columns may be read as numbers where every
    cell is one (checked by :func:`_numbers_only`).
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency of pandas' str dtype here
        return None
    with open(path, "rb") as fh:
        if not fh.readline(1 << 16).removeprefix(b"\xef\xbb\xbf").strip():
            return None  # pandas skips a blank first line; pyarrow would count it
    try:
        first = pd.read_csv(path, sep=sep, header=None, nrows=1, **_CSV_OPTIONS).iloc[0]
    except _CSV_ERRORS:
        return None
    if any("\n" in str(c) or "\r" in str(c) for c in first):
        return None  # a first line over several lines: pandas reads it
    # Without a header the columns are numbered (0, 1, ... once in pandas), all text.
    names = [str(c) for c in first] if header else [f"f{i}" for i in range(len(first))]
    skip = int(header and skip_header)
    read = pacsv.ReadOptions(column_names=names, skip_rows=skip, block_size=block)
    # Quotes, empty lines and the BOM as pandas treats them; no value is turned into a null.
    parse = pacsv.ParseOptions(delimiter=sep)
    types = {n: pa.string() for n in names if numbers is None or not header or n.strip() in numbers}
    convert = pacsv.ConvertOptions(
        column_types=types,
        strings_can_be_null=False,
        null_values=[],
        quoted_strings_can_be_null=False,
    )
    return read, parse, convert


def _to_pandas(table: Any, start: int, header: bool) -> pd.DataFrame:
    """A pandas frame of stripped text cells (stripped in Arrow, where it is cheap)."""
    import pyarrow.compute as pc

    table = table.from_arrays(
        [pc.utf8_trim_whitespace(c) if c.type == "string" else c for c in table.columns],
        names=[str(n).strip() for n in table.column_names],
    )
    frame = table.to_pandas()
    frame.attrs["stripped"] = True
    if not header:
        frame.columns = range(frame.shape[1])
    frame.index = pd.RangeIndex(start, start + len(frame))
    return frame


def _arrow_table(path: Path, sep: str, header: bool, numbers: Collection[str] | None = None) -> Any:
    """The whole file as an Arrow table of text cells; None where pandas must read it."""
    options = _arrow_options(path, sep, header, numbers)
    if options is None:
        return None
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(path, *options)
    except Exception:  # ArrowInvalid and friends: pandas reads it again and names the row
        return None
    if header and table.num_rows == 0:
        return None  # pandas' empty-table conventions (a header-only file) apply
    lines = lines_if_quoted(path)
    if lines is not None and table.num_rows != lines - header:
        return None  # rows lost around a quote (or blank lines): pandas reads it and names the row
    if numbers is not None and not _numbers_only(table):
        return _arrow_table(path, sep, header)
    return table


def _numbers_only(table: Any) -> bool:
    """Whether every column pyarrow guessed holds finite numbers only (anything else it may
    guess, booleans, times, NaN from spellings such as '+nan' that flarecast refuses, is text)."""
    import numpy as np
    import pyarrow as pa

    for column in table.columns:
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_integer(kind):
            continue
        if not pa.types.is_float64(kind) or not np.isfinite(column.to_numpy(False)).all():
            return False
    return True


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
    if frame.attrs.pop("stripped", False):
        return frame
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
    numbers: Collection[str] | None = None,
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
    numbers : collection of str, optional
        The columns that stay text whatever they hold; every other column whose
        cells are all finite numbers may come back as float64 or int64, parsed
        to the same doubles as the text would be (faster). Default: all text.

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
    table = _arrow_table(path, sep, header, numbers)
    frame = None if table is None else _to_pandas(table, 0, header)
    if frame is None:
        try:
            frame = pd.read_csv(path, sep=sep, header=0 if header else None, **_CSV_OPTIONS)
        except _CSV_ERRORS as exc:
            raise csv_error(path, sep, exc, header=header) from exc
    if not header:
        return frame if frame.attrs.pop("stripped", False) else frame.apply(lambda c: c.str.strip())
    frame = _stripped(frame, path, leading_index=leading_index)
    if leading_index:
        unnamed = [c for c in frame.columns if c == "" or c.startswith("Unnamed:")]
        frame = frame.drop(columns=unnamed).reset_index(drop=True)
    return frame


def _arrow_chunks(
    path: Path,
    block: int,
    options: tuple[Any, Any, Any],
    numbers: Collection[str] | None,
    prepare: Callable[[pd.DataFrame], Any],
) -> Iterator[Any]:
    """(rows, ``prepare(chunk)``) for the data lines of ``path``, about ``block`` bytes at a time.

    The file is cut at line ends and each piece parsed on its own, so memory is three pieces
    whatever the file's size: one parsed in a thread, the one before it framed and prepared in
    another, while the caller checks the one before that (:func:`~flarecast.data.file_pieces.pipelined`).
    A piece that fails to parse, or that a quote cost rows, stops the pieces; so does False, for
    a guessed column that is not all numbers (the caller reads on with pandas), and what
    ``prepare`` raised, yielded at its chunk.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read, parse, convert = options
    # pyarrow's threads only pay for large pieces (and their pool costs memory of its own); they
    # share a piece out in blocks (a quarter each; one block keeps one thread busy). A piece with
    # a quote is one block: a quoted value over two lines reads differently cut into blocks.
    read.use_threads = block >= _THREADED_BLOCK
    split = pacsv.ReadOptions(
        column_names=read.column_names,
        skip_rows=read.skip_rows,
        use_threads=read.use_threads,
        block_size=max(_ARROW_MIN_BLOCK, block // 4),
    )
    quote = parse.quote_char.encode() if parse.quote_char else b""
    pieces = file_pieces(path, block)
    pool = pa.default_memory_pool()
    start = 0  # row number of the next piece's first row (pieces are framed one at a time)

    def parsed() -> Any:  # the next piece's table; None at the end of the file
        data = next(pieces, None)
        if data is None:
            return None
        if not (quote and data.obj.find(quote, 0, len(data)) >= 0):
            try:
                return pacsv.read_csv(pa.BufferReader(data), split, parse, convert)
            except Exception:  # (a line longer than a block) read as one block, as it always was
                pass
        table = pacsv.read_csv(pa.BufferReader(data), read, parse, convert)
        # An unclosed quote takes the lines after it into one value: pandas reads on and names it.
        if table.num_rows != data.obj.count(b"\n", 0, len(data)) + (data[-1:] != b"\n"):
            raise ValueError("rows lost around a quote")
        return table

    def framed(box: list[Any]) -> Any:  # the piece prepared, or why the pieces stop
        nonlocal start
        table = box.pop()  # the only reference: the table goes once it is framed
        if table is None or not table.num_rows:
            return None if table is None else (0, None)  # the end; blank lines only
        if numbers is not None and not _numbers_only(table):
            return False  # a guessed column is not all numbers: pandas reads on from here
        rows = table.num_rows
        chunk = _stripped(_to_pandas(table, start, True), path)
        del table
        # Arrow's allocator keeps what each parse freed unless asked to give it back: without
        # this, data info on an 85 MB table peaks at ~350 MB instead of ~295 MB.
        pool.release_unused()
        start += rows
        try:
            return rows, prepare(chunk)
        except Exception as exc:  # the caller's own error, raised at this chunk
            return exc

    try:
        with closing(pipelined(parsed, framed)) as items:
            for item in items:
                if isinstance(item, tuple) and not item[0]:
                    continue  # blank lines only
                yield item
                if item is False or isinstance(item, Exception):
                    return
    finally:
        pieces.close()  # after the threads: closing() waited for them


def iter_text_csv(
    path: Path,
    *,
    sep: str = ",",
    chunksize: int = 100_000,
    numbers: Collection[str] | None = None,
    prepare: Callable[[pd.DataFrame], Any] | None = None,
) -> Iterator[Any]:
    """:func:`read_text_csv` in chunks of about ``chunksize`` rows (no memory budget: one chunk at a time).

    Each chunk keeps the file's row numbers as its index. A file with a
    header and no rows yields one empty chunk. With ``prepare``, ``prepare(chunk)``
    is yielded instead of each chunk; where pyarrow reads, it runs in the thread
    that reads ahead, so the next chunk is prepared while the caller handles this one.
    """
    path = require_regular_file(path, what="table")
    _check_header(path, sep)
    done = 0
    block = block_size(path, chunksize, _ARROW_BLOCK)
    # Small chunks are asked for to hold memory down: pandas' parser then holds less than
    # pyarrow's buffers and pools, and its speed matters less.
    options = _arrow_options(path, sep, True, numbers, skip_header=False)
    if options is not None and block >= _ARROW_MIN_BLOCK:
        item = None
        try:
            for item in _arrow_chunks(path, block, options, numbers, prepare or (lambda c: c)):
                if item is False or isinstance(item, Exception):
                    break
                rows, result = item
                yield result
                done += rows
            else:
                if done:
                    return
        except Exception:  # pyarrow stopped: pandas goes on from the same row and names the problem
            pass
        if isinstance(item, Exception):
            raise item
    for chunk in _pandas_chunks(path, sep, chunksize, done):
        yield chunk if prepare is None else prepare(chunk)


def _pandas_chunks(path: Path, sep: str, chunksize: int, done: int) -> Iterator[pd.DataFrame]:
    """The chunks of :func:`iter_text_csv` read by pandas, from row ``done`` on."""
    try:
        with pd.read_csv(path, sep=sep, chunksize=chunksize, **_CSV_OPTIONS) as reader:
            empty = True
            for chunk in reader:
                empty = False
                if done and len(chunk):  # rows pyarrow has already handed out
                    chunk = chunk.iloc[max(0, done - chunk.index[0]) :]
                    if not len(chunk):
                        continue
                yield _stripped(chunk, path)
            if empty:
                yield _stripped(pd.read_csv(path, sep=sep, nrows=0, **_CSV_OPTIONS), path)
    except _CSV_ERRORS as exc:
        raise csv_error(path, sep, exc) from exc
