"""The steps every reader of a published source file shares.

The readers of :mod:`~flarecast.data.tables.per_flare`,
:mod:`~flarecast.data.tables.windowed` and :mod:`~flarecast.data.tables.srs`
each parse one layout. They take the same :class:`ReadOptions`, read their
file and check its columns with :meth:`SourceFile.read`, build the canonical
frame with :func:`labelled_frame` and hand it to the shared row policies of
:mod:`flarecast.data.row_policies` with :meth:`SourceFile.finish`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from flarecast.data.columns import numeric, region_numbers, require_columns
from flarecast.data.row_policies import finish
from flarecast.data.schema import GOES_CLASS, HARPNUM, NOAA_AR, PEAK_FLUX, TIME, Dataset
from flarecast.data.text_csv import read_text_csv
from flarecast.goes import flux_to_class
from flarecast.io import sha256_file

__all__ = ["ReadOptions", "SourceFile", "read_columns", "labelled_frame"]


class ReadOptions(TypedDict, total=False):
    """The keyword options every source reader takes; their defaults are those of :class:`SourceFile`.

    name : str, optional
        Data-set name stored on the result; default the path.
    duplicates : {"keep", "drop", "error"}, default "keep"
    missing : {"drop", "error"}, default "drop"
        Row policies, see :mod:`flarecast.data.row_policies`.
    max_bytes : int or str, optional
        Memory budget of the file (default ``$FLARECAST_MAX_TABLE_BYTES`` or
        2 GiB); a larger file is refused before it is read.
    """

    name: str | None
    duplicates: str
    missing: str
    max_bytes: int | str | None


def read_columns(
    path: Path, required: Sequence[str], layout: str, *, max_bytes: int | str | None, **csv: Any
) -> pd.DataFrame:
    """Read a source CSV as text (``csv`` as for :func:`read_text_csv`) and require its columns."""
    raw = read_text_csv(path, max_bytes=max_bytes, **csv)
    require_columns(raw, required, str(path), layout)
    return raw


@dataclasses.dataclass(frozen=True)
class SourceFile:
    """A source file read with the :class:`ReadOptions`: its rows are named by ``source`` in messages."""

    path: Path
    name: str | None = None
    duplicates: str = "keep"
    missing: str = "drop"
    max_bytes: int | str | None = None

    @property
    def source(self) -> str:
        return str(self.path)

    def read(self, required: Sequence[str], layout: str, **csv: Any) -> pd.DataFrame:
        """The file as text with the ``required`` columns of its ``layout``."""
        return read_columns(self.path, required, layout, max_bytes=self.max_bytes, **csv)

    def finish(
        self,
        frame: pd.DataFrame,
        features: Sequence[str],
        *,
        window: str,
        notes: Sequence[str],
        flaring_only: bool,
    ) -> Dataset:
        """Apply the row policies and wrap the frame, named and checksummed after the file."""
        return finish(
            frame,
            features=features,
            source=self.source,
            name=self.name or self.source,
            sha256=sha256_file(self.path),
            window=window,
            flaring_only=flaring_only,
            notes=notes,
            duplicates=self.duplicates,
            missing=self.missing,
            # A dropped-row warning points at the reader's caller, past this frame.
            stacklevel=4,
        )


def labelled_frame(
    raw: pd.DataFrame,
    source: str,
    *,
    times: pd.Series,
    region: str,
    harp: str | None = None,
    flux: np.ndarray,
    numbers: Sequence[str],
) -> pd.DataFrame:
    """The canonical frame of a source's parsed columns, one row per ``raw`` row.

    ``time`` is ``times`` (UTC); ``noaa_ar`` (and ``harpnum``) the numbers of
    the ``region`` (and ``harp``) column; ``goes_class`` the class of each peak
    ``flux`` (W m^-2); then the ``numbers`` columns parsed as float64. A bad
    cell is an error naming its row and column.
    """
    columns = {TIME: times, NOAA_AR: region_numbers(raw[region], source=source, column=region)}
    if harp is not None:
        columns[HARPNUM] = region_numbers(raw[harp], source=source, column=harp)
    frame = pd.DataFrame(
        {**columns, GOES_CLASS: flux_to_class(flux), PEAK_FLUX: flux}, index=raw.index
    )
    for col in numbers:
        frame[col] = numeric(raw[col], source=source, column=col)
    return frame
