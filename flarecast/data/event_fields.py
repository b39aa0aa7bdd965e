"""Parsing the fields of catalogue rows: the malformed-row collector, classes, regions, missing times.

Every catalogue reader parses its columns with these, so that a bad cell is
named the same way everywhere (file, row or line, column, value, reason) and
either reported in one error or skipped and counted (:mod:`flarecast.data.events`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from flarecast.errors import GOESClassError
from flarecast.goes import parse_goes_class

__all__ = ["BadRows", "MAX_REGION", "parse_classes", "parse_regions", "is_missing_time"]


@dataclasses.dataclass
class BadRows:
    """Collects malformed cells while a reader parses, so that it can report them all at once.

    Parameters
    ----------
    n : int
        Number of source rows.
    rows : array-like of int, shape (n,)
        How each row is named in messages (0-based data row, or file line).
    label : str, default "row"
        ``"row"`` for tables, ``"line"`` for text files.
    """

    n: int
    rows: np.ndarray
    label: str = "row"

    def __post_init__(self) -> None:
        self.mask = np.zeros(self.n, dtype=bool)
        self.examples: list[tuple[int, str]] = []

    def add(
        self, bad: np.ndarray, column: str, values: Sequence[object], reason: str | Sequence[str]
    ) -> None:
        """Mark rows ``bad`` (bool, shape (n,)) as malformed in ``column``, with their raw ``values``.

        ``reason`` is one text for all of them, or one per row (shape (n,)).
        """
        bad = np.asarray(bad, dtype=bool)
        if not bad.any():
            return
        values = np.asarray(values, dtype=object)
        reasons = np.broadcast_to(np.asarray(reason, dtype=object), (self.n,))
        for i in np.flatnonzero(bad)[:5]:
            self.examples.append(
                (i, f"{self.label} {self.rows[i]} column {column!r}: {values[i]!r} ({reasons[i]})")
            )
        self.mask |= bad


def parse_classes(values: Sequence[object], bad: BadRows, column: str) -> np.ndarray:
    """GOES class strings -> peak flux (W m^-2); unparseable or missing classes are marked bad (NaN).

    Parsing is per distinct value, so a file of 40,000 rows costs a few hundred parses.
    """
    text = (
        pd.Series(np.asarray(values, dtype=object)).fillna("").astype(str).str.strip().str.upper()
    )
    uniques = pd.unique(text)
    table = _parse_unique(np.asarray(uniques, dtype=object))
    flux = table[pd.Index(uniques).get_indexer(text)]
    bad.add(
        ~np.isfinite(flux),
        column,
        text.to_numpy(),
        "expected a GOES class such as 'M1.2' with a magnitude in (0, 10), X open-ended",
    )
    return flux


def _parse_unique(values: np.ndarray) -> np.ndarray:
    """Fluxes of distinct class strings, NaN for the bad ones; halves a failing batch to find them."""
    try:
        return parse_goes_class(values)
    except GOESClassError:
        if len(values) == 1:
            return np.array([np.nan])
        mid = len(values) // 2
        return np.concatenate([_parse_unique(values[:mid]), _parse_unique(values[mid:])])


#: Largest NOAA region number accepted: five digits (the numbering passed 10000 in 2002 and is near 14000
#: in 2025); anything larger is a corrupt cell, not a region.
MAX_REGION = 99999


def parse_regions(
    values: Sequence[object], bad: BadRows, column: str, *, four_digit: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Region numbers -> float array (NaN = unknown) in the 5-digit convention, and where +10000 was added.

    Blank and 0 mean unknown. With ``four_digit`` (SWPC-style sources) numbers in
    1..9999 get +10000 (the returned bool mask marks them). Text that is not a
    non-negative integer is marked bad.
    """
    text = pd.Series(np.asarray(values, dtype=object)).fillna("").astype(str).str.strip()
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    blank = (text == "").to_numpy()
    with np.errstate(invalid="ignore"):
        invalid = ~blank & (
            ~np.isfinite(num) | (num < 0) | (num != np.round(num)) | (num > MAX_REGION)
        )
    bad.add(
        invalid,
        column,
        text.to_numpy(),
        f"expected a NOAA region number up to {MAX_REGION}, 0 or blank",
    )
    num = np.where(invalid | blank | (num == 0), np.nan, num)
    short = (num < 10000) if four_digit else np.zeros(len(num), dtype=bool)
    return np.where(short, num + 10000, num), short


def is_missing_time(text: pd.Series) -> np.ndarray:
    """True where a time field holds a missing marker (``////``, ``//://``, ``--``, blank)."""
    stripped = text.astype(str).str.strip()
    return (stripped.str.contains("//", regex=False) | stripped.isin(["", "--"])).to_numpy()
