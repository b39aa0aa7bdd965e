"""A text file cut into pieces at line ends, and a two-thread pipeline to handle them in order.

:func:`flarecast.data.text_csv.iter_text_csv` reads a large CSV this way: one
thread parses a piece (pyarrow lets go of the GIL) while a second frames and
checks the piece before it and the caller counts the one before that, so the
two cores work on the file together and memory is three pieces whatever the
file's size. No flarecast module is imported here.
"""

from __future__ import annotations

import mmap
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["block_size", "file_pieces", "pipelined", "lines_if_quoted"]


def block_size(path: Path, rows: int, most: int) -> int:
    """Bytes of about ``rows`` lines (from the first 64 kB), at most ``most``: a piece's memory
    follows its rows."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    lines = max(1, head.count(b"\n"))
    return int(min(most, max(1 << 16, rows * len(head) / lines)))


def file_pieces(path: Path, block: int) -> Iterator[memoryview]:
    """The data lines of ``path`` (header skipped), about ``block`` bytes at a time, cut at ends.

    Each piece is a view of one buffer that the next piece overwrites: use it (or copy it)
    before asking for the next. A fresh buffer for each piece cost four times the reading.
    """
    with open(path, "rb") as fh:
        fh.readline()  # the header: its names are in the options
        data = bytearray(2 * block)  # a block and the start of a line carried over (< a block)
        kept = 0
        while True:
            end = kept + fh.readinto(memoryview(data)[kept : kept + block])
            if not end:
                return
            cut = data.rfind(b"\n", 0, end) + 1
            while not cut:  # one line longer than a block: a larger buffer
                more = fh.read(block)
                if not more:
                    cut = end
                    break
                data = data[:end] + more
                end = len(data)
                cut = data.rfind(b"\n") + 1
            yield memoryview(data)[:cut]
            kept = end - cut
            data[:kept] = data[cut:end]


def lines_if_quoted(path: Path) -> int | None:
    """The number of lines of ``path`` if a double quote occurs anywhere in it, else None.

    pyarrow, reading a file of several blocks, can take the rows after an unclosed quote into
    one value and drop them without a word; a reader compares its row count with this.
    Without a quote (the usual file: a memchr over the mapped file) there is nothing to count.
    """
    with open(path, "rb") as fh:
        if not fh.seek(0, 2):
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            if mm.find(b'"') < 0:
                return None
            step = 1 << 24
            ends = sum(mm[i : i + step].count(b"\n") for i in range(0, len(mm), step))
            return ends + (mm[-1:] != b"\n")


def pipelined(first: Callable[[], Any], second: Callable[[list[Any]], Any]) -> Iterator[Any]:
    """``second([first()])`` again and again, in order, until it returns None.

    ``first`` runs in one thread and ``second`` in another: while the caller handles one
    result, ``second`` works on the next and ``first`` on the one after (three at a time,
    no more). ``second`` gets ``first``'s result in a one-item list and should pop it, so
    that nothing else holds it once ``second`` is done with it. What either raises is
    raised here, in order. Closing the iterator drops what has not started and waits for
    what has, so no thread outlives it.
    """

    def unboxed(ahead: Future[Any]) -> Any:
        return second(ahead.result())

    def boxed() -> list[Any]:
        return [first()]

    with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(1) as two:
        ahead: deque[Future[Any]] = deque()
        try:
            while True:
                while len(ahead) < 2:
                    ahead.append(two.submit(unboxed, one.submit(boxed)))
                item = ahead.popleft().result()
                if item is None:
                    return
                # Only now the one after next: three pieces at a time (the caller's, two ahead).
                ahead.append(two.submit(unboxed, one.submit(boxed)))
                yield item
        finally:
            for future in ahead:
                future.cancel()
            one.shutdown(cancel_futures=True)
            two.shutdown(cancel_futures=True)
