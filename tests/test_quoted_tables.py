"""An unclosed quote early in a large CSV is an error naming its row, in every whole-file read.

pyarrow reads a file of several blocks (16 MB each here) block by block; an open
quote in the first block took the rest of that block into one value and ``read_table``
returned 247,975 of 296,703 rows without a word. A file with a quote is now checked
against its line count, and pandas reads (and names the row of) any disagreement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flarecast.data.tables.read import read_table
from flarecast.data.tables.summary import summarize_csv
from flarecast.data.text_csv import read_text_csv
from flarecast.errors import DataError

ROWS = 380_000  # about 19 MB: two of pyarrow's 16 MB blocks


def _table(path, *, quote_at: int | None = None, quote_all: bool = False):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "time": pd.Timestamp("2014-01-01", tz="UTC") + pd.to_timedelta(np.arange(ROWS), "min"),
            "noaa_ar": rng.integers(11000, 12000, ROWS),
            "goes_class": "M1.0",
            "USFLUX": rng.normal(size=ROWS).round(6),
            "TOTPOT": rng.normal(size=ROWS).round(6).astype(str),
        }
    )
    frame["time"] = frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if quote_at is not None:
        frame.loc[quote_at, "TOTPOT"] = '"' + frame.loc[quote_at, "TOTPOT"]  # never closed
    frame.to_csv(path, index=False, quoting=1 if quote_all else 3)  # QUOTE_ALL / QUOTE_NONE
    assert path.stat().st_size > 17 << 20
    return path


@pytest.mark.parametrize("reader", [read_text_csv, read_table], ids=["read_text_csv", "read_table"])
def test_an_open_quote_in_the_first_block_is_named_not_swallowed(tmp_path, reader):
    path = _table(tmp_path / "t.csv", quote_at=10_000)
    with pytest.raises(DataError, match=r"row 10000 opens a quote that is never closed"):
        reader(path)


def test_the_streamed_summary_names_it_even_in_a_column_it_does_not_check(tmp_path):
    """summarize_csv parses a piece with a quote in one block; the value that swallowed the
    lines after it was caught only where a check read that column (it returned 339,976 of
    380,000 rows with features=['USFLUX'] and the quote in TOTPOT)."""
    path = _table(tmp_path / "t.csv", quote_at=10_000)
    for features in (None, ["USFLUX"]):
        with pytest.raises(DataError, match=r"row 10000 opens a quote that is never closed"):
            summarize_csv(path, features=features)


def test_a_table_quoted_throughout_reads_as_the_same_table_unquoted(tmp_path):
    quoted = read_table(_table(tmp_path / "q.csv", quote_all=True)).frame
    plain = read_table(_table(tmp_path / "p.csv")).frame
    assert len(quoted) == ROWS
    pd.testing.assert_frame_equal(quoted, plain)
