"""The byte check of flarecast.zulu_times says of any text what its regex says."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pytest

from flarecast.zulu_times import _ZULU, _all_zulu

GOOD = "2014-01-01T00:12:00Z"


def _near_misses(rng: np.random.Generator, n: int) -> list[str]:
    """Cells one or two edits away from the form, and other lengths."""
    alphabet = list("0123456789-T:Z tz+.\n\u0661\u00e9") + ["", "00"]
    cells = []
    for _ in range(n):
        cell = list(GOOD)
        for _ in range(rng.integers(0, 3)):
            cell[rng.integers(0, len(cell))] = alphabet[rng.integers(0, len(alphabet))]
        cells.append("".join(cell))
    return cells


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_the_byte_check_agrees_with_the_regex_cell_by_cell(kind):
    rng = np.random.default_rng(5)
    cells = _near_misses(rng, 4000)
    assert 500 < sum(bool(re.match(_ZULU, c)) for c in cells) < 3900  # both answers occur
    for cell in cells:
        expected = re.fullmatch(_ZULU[1:-1], cell) is not None
        for column in ([cell], [GOOD, cell], [cell, GOOD, GOOD]):
            got = _all_zulu(pa.array(column, type=kind))
            assert got == (expected or column == [GOOD]), (cell, column)


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_the_byte_check_reads_slices_and_chunks_at_their_offsets(kind):
    cells = [GOOD, "2014-01-01 00:12:00Z", GOOD, GOOD, "x"]
    column = pa.array(cells, type=kind)
    assert not _all_zulu(column)
    assert _all_zulu(column.slice(2, 2)) and not _all_zulu(column.slice(1, 2))
    assert _all_zulu(pa.chunked_array([column.slice(0, 1), column.slice(2, 2)]))
    assert not _all_zulu(pa.chunked_array([column.slice(2, 2), column.slice(3, 2)]))
