"""What every catalogue reader shares: its signature, its policies and the last step to the table.

A format's parser reads one file into :class:`EventRows`: the times parsed, the
class and region text as found, the malformed cells collected. :func:`catalogue_reader`
makes the parser a reader of ``READERS`` in :mod:`flarecast.data.catalogues.read`:
``reader(path, *, on_bad_rows="error", duplicates="drop")`` parses the classes and
regions and applies the policies through :func:`flarecast.data.events.finish_events`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from flarecast.data.event_fields import BadRows, parse_classes, parse_regions
from flarecast.data.events import END, FLUX_OPERATIONAL, PEAK, START, finish_events
from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX

__all__ = ["EventRows", "catalogue_reader"]

_POLICIES = """
    on_bad_rows : {"error", "skip"}, default "error"
        Malformed rows raise a :class:`~flarecast.errors.DataError` naming them, or are
        skipped, counted and warned about (see :mod:`flarecast.data.events`).
    duplicates : {"drop", "keep"}, default "drop"
        Duplicate events are removed (counted) or kept (counted).

    Returns
    -------
    pandas.DataFrame
        The canonical event table; ``attrs`` hold the counts of every policy applied.
"""


@dataclass
class EventRows:
    """One catalogue file's flares as its parser found them, before the policies.

    Parameters
    ----------
    path : str or Path
        The file, as messages and ``attrs["source"]`` name it.
    bad : BadRows
        The malformed cells found so far.
    times : tuple of pandas.Series, shape (n,)
        Start, peak and end, UTC; NaT where missing or malformed.
    classes, regions : pandas.Series, shape (n,)
        GOES class and NOAA region text as written; each Series' name is the column
        that messages name.
    names : dict
        The columns that messages name for the peak and the end.
    no_peak : ndarray of bool, shape (n,), optional
        Rows whose source has no peak; by default those with a start and no peak.
    four_digit : bool, default True
        Region numbers below 10000 get +10000 (SWPC-style sources).
    attrs : dict, optional
        Format-specific values to store in the table's ``attrs``.
    flux_scaling : {"operational", "science"}, default "operational"
    roll : bool, default True
        Peak and end are written as times of the start's day (see
        :func:`~flarecast.data.events.finish_events`).
    """

    path: str | Path
    bad: BadRows
    times: tuple[pd.Series, pd.Series, pd.Series]
    classes: pd.Series
    regions: pd.Series
    names: dict[str, str]
    no_peak: np.ndarray | None = None
    four_digit: bool = True
    attrs: dict[str, object] | None = None
    flux_scaling: str = FLUX_OPERATIONAL
    roll: bool = True

    def finish(self, reader: str, *, on_bad_rows: str, duplicates: str) -> pd.DataFrame:
        """Parse the classes and regions, apply the policies and build the event table."""
        flux = parse_classes(self.classes, self.bad, str(self.classes.name))
        regions, offset = parse_regions(
            self.regions, self.bad, str(self.regions.name), four_digit=self.four_digit
        )
        text = pd.Series(np.asarray(self.classes, dtype=object)).astype(str)
        start, peak, end = self.times
        columns = {
            START: start,
            PEAK: peak,
            END: end,
            PEAK_FLUX: flux,
            NOAA_AR: regions,
            GOES_CLASS: text.str.strip().str.upper().to_numpy(),
        }
        no_peak = self.no_peak
        if no_peak is None:
            no_peak = peak.isna().to_numpy() & start.notna().to_numpy()
        return finish_events(
            columns,
            self.bad,
            source=str(self.path),
            reader=reader,
            on_bad_rows=on_bad_rows,
            duplicates=duplicates,
            flux_scaling=self.flux_scaling,
            attrs=self.attrs,
            no_peak=no_peak,
            roll=self.roll,
            flags={"ar_plus_10000": offset},
            names=self.names,
        )


def catalogue_reader(
    reader: str,
) -> Callable[[Callable[[str | Path], EventRows]], Callable[..., pd.DataFrame]]:
    """Make a parser of the format ``reader`` (a path -> :class:`EventRows`) a catalogue reader.

    The reader is ``reader(path, *, on_bad_rows="error", duplicates="drop")`` and
    returns the canonical event table; it keeps the parser's name, and its docstring
    is the parser's (whose parameters end with ``path``) with the policies and the
    return value added.
    """

    def make(parse: Callable[[str | Path], EventRows]) -> Callable[..., pd.DataFrame]:
        def read(
            path: str | Path, *, on_bad_rows: str = "error", duplicates: str = "drop"
        ) -> pd.DataFrame:
            return parse(path).finish(reader, on_bad_rows=on_bad_rows, duplicates=duplicates)

        read.__name__, read.__qualname__ = parse.__name__, parse.__qualname__
        read.__module__ = parse.__module__
        read.__doc__ = inspect.cleandoc(parse.__doc__ or "") + "\n" + inspect.cleandoc(_POLICIES)
        return read

    return make
