"""The pieces of a large CSV and the two-thread pipeline that parses and frames them in order."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from flarecast.data.file_pieces import file_pieces, pipelined
from flarecast.data.text_csv import iter_text_csv, read_text_csv
from flarecast.errors import DataError


def _counted(n: int, fail_first: int | None = None, fail_second: int | None = None):
    calls = []

    def first():
        calls.append(len(calls))
        if calls[-1] == fail_first:
            raise ValueError(f"first failed at {fail_first}")
        return calls[-1] if calls[-1] < n else None

    def second(box):
        i = box.pop()
        if i is not None and i == fail_second:
            raise KeyError(f"second failed at {fail_second}")
        return None if i is None else ("item", i)

    return calls, first, second


def _wait_for(condition, seconds=5.0):
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)


def test_pipeline_yields_in_order_and_runs_two_ahead_no_more():
    before = threading.active_count()
    calls, first, second = _counted(10)
    items = pipelined(first, second)
    assert next(items) == ("item", 0)
    for taken in (1, 2, 3):
        _wait_for(lambda taken=taken: len(calls) >= taken + 2)
        time.sleep(0.05)  # time to overrun, were it to
        assert len(calls) == taken + 2  # the caller's item, one framed, one parsed
        assert next(items) == ("item", taken)
    assert list(items) == [("item", i) for i in range(4, 10)]
    assert threading.active_count() == before


@pytest.mark.parametrize("where", ["first", "second"])
@pytest.mark.parametrize("at", [0, 1, 4])
def test_an_error_in_either_stage_is_raised_at_its_place_and_stops_every_thread(where, at):
    before = threading.active_count()
    options = {"fail_first": at} if where == "first" else {"fail_second": at}
    calls, first, second = _counted(10, **options)
    got = []
    with pytest.raises(ValueError if where == "first" else KeyError, match=f"failed at {at}"):
        for item in pipelined(first, second):
            got.append(item)
    assert got == [("item", i) for i in range(at)]
    assert threading.active_count() == before
    n = len(calls)
    time.sleep(0.05)
    assert len(calls) == n <= at + 3  # nothing more read after the error


def test_closing_the_pipeline_early_waits_for_its_threads_and_reads_no_further():
    before = threading.active_count()
    calls, first, second = _counted(100)
    items = pipelined(first, second)
    assert [next(items) for _ in range(3)] == [("item", i) for i in range(3)]
    items.close()
    assert threading.active_count() == before
    n = len(calls)
    time.sleep(0.05)
    assert len(calls) == n <= 5


def test_pieces_cut_at_line_ends_and_give_back_every_byte(tmp_path):
    path = tmp_path / "t.csv"
    lines = [b"a,b\n"] + [b"%d,%s\n" % (i, b"x" * (i % 97)) for i in range(5000)]
    lines.append(b"last,line-without-end")
    path.write_bytes(b"".join(lines))
    pieces = [bytes(p) for p in file_pieces(path, 1000)]
    assert b"".join(pieces) == b"".join(lines[1:])
    assert all(p.endswith(b"\n") for p in pieces[:-1]) and len(pieces) > 100
    long = tmp_path / "long.csv"
    long.write_bytes(b"h\n" + b"y" * 5000 + b"\nz\n")  # a line longer than a block
    assert [bytes(p) for p in file_pieces(long, 1000)] == [b"y" * 5000 + b"\nz\n"]


def _big_text(tmp_path, rows=60_000):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"name": [f"r{i}" for i in range(rows)], "x": rng.normal(size=rows)})
    frame["y"] = rng.normal(size=rows).round(3)
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    assert path.stat().st_size > 1 << 20  # large enough for the pyarrow pieces
    return path


def test_pipelined_chunks_equal_the_full_read_and_a_later_bad_row_is_named(tmp_path):
    path = _big_text(tmp_path)
    whole = read_text_csv(path)
    chunks = list(iter_text_csv(path, chunksize=15_000))
    assert len(chunks) > 3
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)
    text = path.read_bytes().split(b"\n")
    text[50_001] += b",extra"  # data row 50,000: a field too many, in a later piece
    path.write_bytes(b"\n".join(text))
    seen = []
    with pytest.raises(DataError, match=r"row 50000 \(file line 50002\) has 4 fields"):
        for chunk in iter_text_csv(path, chunksize=15_000):
            seen.append(chunk)
    assert sum(map(len, seen)) <= 50_000 and seen[0].index[0] == 0


def test_what_prepare_raises_in_a_later_piece_is_raised_at_that_chunk(tmp_path):
    path = _big_text(tmp_path)
    seen = []

    def prepare(chunk):
        if chunk.index[0] >= 30_000:
            raise LookupError(f"bad chunk from row {chunk.index[0]}")
        return chunk.index[0]

    with pytest.raises(LookupError, match="bad chunk from row 30000"):
        for first_row in iter_text_csv(path, chunksize=15_000, prepare=prepare):
            seen.append(first_row)
    assert seen == [0, 15_000]


def test_an_open_quote_in_a_later_piece_is_still_named_by_its_row(tmp_path):
    """pyarrow's threads parse a piece in blocks, but a quoted value over lines reads otherwise
    in blocks (rows went missing without a word): a piece with a quote is parsed in one block."""
    from flarecast.data.tables.summary import summarize_csv

    rows = 150_000
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "time": pd.Timestamp("2014-01-01", tz="UTC") + pd.to_timedelta(np.arange(rows), "min"),
            "noaa_ar": rng.integers(11000, 12000, rows),
            "goes_class": "C1.0",
            "USFLUX": rng.normal(size=rows),
            "TOTPOT": rng.normal(size=rows),
        }
    )
    frame["time"] = frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame["TOTPOT"] = frame["TOTPOT"].astype(str)
    frame.loc[100_000, "TOTPOT"] = '"12'  # opened, never closed
    path = tmp_path / "quote.csv"
    frame.to_csv(path, index=False, quoting=3)  # csv.QUOTE_NONE: the quote as written
    assert path.stat().st_size > 10 << 20  # pieces of over 4 MB: pyarrow's threads share them
    with pytest.raises(DataError, match=r"row 100000 opens a quote that is never closed"):
        summarize_csv(path, chunksize=60_000)
