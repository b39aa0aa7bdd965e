"""Reader of one NOAA SWPC Solar Region Summary (SRS) text file, the product SWPC issues daily.

An SRS (``YYYYMMDDSRS.txt``, issued at 00:30 UT) lists in part I the regions
with sunspots at 24:00 UT of the previous day: NOAA number, location,
Carrington longitude, area, McIntosh class (``Z``), longitudinal extent
(``LL``), number of spots (``NN``) and Mt Wilson class. The text is parsed by
sunpy's :func:`sunpy.io.special.srs.read_srs` (the optional extra
``flarecast[srs]``), imported only when a file is read.

The result has the canonical region-day columns of the ``hayes-srs`` table
(:mod:`flarecast.data.tables.srs`), so a model or a McIntosh-Poisson rate
fitted there reads it unchanged:

- ``time``: the issue time in the file's ``:Issued:`` line, UTC (a corrected
  copy carries its own, later, issue time);
- ``noaa_ar``: 5-digit by the same rule as the hayes-srs reader
  (:func:`flarecast.data.tables.srs.five_digit_regions`: below 10000 gets +10000);
- ``mcintosh_zurich``, ``mcintosh_penumbra``, ``mcintosh_compactness``,
  ``mtwilson``: ``category`` columns with the legal values of
  :data:`flarecast.data.tables.srs.SRS_CATEGORIES` (the file's mixed case is
  upper-cased);
- ``area_msh``, ``extent_deg``, ``spots``, ``latitude_deg`` and
  ``longitude_deg`` (north and west positive, as the hayes-srs table).

Parts IA (plages without spots) and II (regions due to return) carry no
McIntosh class; they are left out and counted in ``attrs["notes"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import NOAA_AR, TIME
from flarecast.data.tables.srs import SRS_CATEGORIES, five_digit_regions
from flarecast.errors import ConfigError, DataError
from flarecast.io import require_regular_file, sha256_file

__all__ = ["SRS_EXTRA", "read_srs_text"]

#: The optional dependency group that provides the SRS text parser.
SRS_EXTRA = "srs"

# sunpy column -> canonical numeric column (units as the hayes-srs table)
_NUMERIC = {
    "Area": "area_msh",
    "Longitudinal Extent": "extent_deg",
    "Number of Sunspots": "spots",
    "Latitude": "latitude_deg",
    "Longitude": "longitude_deg",
}


def _read_srs() -> Any:
    try:
        from sunpy.io.special.srs import read_srs
    except ImportError as exc:
        raise ConfigError(
            "Reading an SRS text file needs sunpy, which is not installed: "
            f"pip install 'flarecast[{SRS_EXTRA}]' (sunpy 7.0.x)."
        ) from exc
    return read_srs


def _values(table: Any, column: str) -> np.ndarray:
    """A column as floats, masked entries as NaN, units dropped (the names carry them)."""
    col = table[column]
    data = np.asarray(getattr(col, "value", col), dtype=float)
    mask = np.ma.getmaskarray(getattr(col, "mask", np.zeros(len(data), bool)))
    return np.where(mask, np.nan, data)


def _texts(table: Any, column: str) -> list[str | None]:
    col = table[column]
    mask = np.ma.getmaskarray(getattr(col, "mask", np.zeros(len(col), bool)))
    return [None if m else str(v).strip().upper() for v, m in zip(col, mask, strict=True)]


def read_srs_text(path: str | Path) -> pd.DataFrame:
    """Read one SRS text file into region-day rows (see the module docstring).

    Parameters
    ----------
    path : str or Path
        An SRS text file as SWPC issues it (e.g. ``20000922SRS.txt``).

    Returns
    -------
    pandas.DataFrame, shape (n_regions_with_spots, 11)
        ``time``, ``noaa_ar`` and :data:`flarecast.data.tables.srs.SRS_FEATURES`;
        ``attrs`` holds ``source``, ``sha256``, ``issue_time`` and ``notes``.

    Raises
    ------
    ConfigError
        sunpy (the ``srs`` extra) is not installed.
    DataError
        The file is not an SRS sunpy can read, or a region of part I has a
        missing or illegal McIntosh or Mt Wilson class or a missing number.
    """
    path = Path(path)
    require_regular_file(path, what="SRS file")
    read_srs = _read_srs()
    try:
        table = read_srs(str(path))
        issued = table.meta["issued"]
    except Exception as exc:  # sunpy raises bare ValueError/IndexError/KeyError on a bad layout
        raise DataError(
            f"{path}: not a readable NOAA SRS text file ({type(exc).__name__}: {exc})."
        ) from exc
    ids = np.asarray(table["ID"]).astype(str)
    part_i = ids == "I"
    spots = table[part_i]
    numbers = _values(spots, "Number")
    problems = []
    if np.isnan(numbers).any():
        problems.append(f"{int(np.isnan(numbers).sum())} region(s) without a number")
    numbers = np.nan_to_num(numbers).astype(np.int64)
    regions, _ = five_digit_regions(numbers)
    frame = pd.DataFrame(
        {
            TIME: pd.Series(
                [pd.Timestamp(issued, tz="UTC")] * len(spots), dtype="datetime64[ns, UTC]"
            ),
            NOAA_AR: pd.array(regions, dtype="Int64"),
        }
    )
    mcintosh = _texts(spots, "Z")
    mtwilson = _texts(spots, "Mag Type")
    components = {name: [] for name in list(SRS_CATEGORIES)[:3]}
    for number, z in zip(numbers, mcintosh, strict=True):
        letters = z if z and len(z) == 3 else "???"
        for i, (name, legal) in enumerate(list(SRS_CATEGORIES.items())[:3]):
            if letters[i] not in legal:
                problems.append(
                    f"region {number}: McIntosh class {z!r} ({name} {letters[i]!r} not in {list(legal)})"
                )
                break
        for i, name in enumerate(components):
            components[name].append(letters[i])
    for number, mag in zip(numbers, mtwilson, strict=True):
        if mag not in SRS_CATEGORIES["mtwilson"]:
            problems.append(
                f"region {number}: Mt Wilson class {mag!r} not in {list(SRS_CATEGORIES['mtwilson'])}"
            )
    if problems:
        raise DataError(f"{path}: part I (regions with sunspots): " + "; ".join(problems) + ".")
    for name, values in components.items():
        frame[name] = pd.Categorical(values, categories=SRS_CATEGORIES[name])
    frame["mtwilson"] = pd.Categorical(mtwilson, categories=SRS_CATEGORIES["mtwilson"])
    for column, canonical in _NUMERIC.items():
        frame[canonical] = _values(spots, column)
    frame.attrs = {
        "source": str(path),
        "sha256": sha256_file(path),
        "issue_time": frame[TIME].iloc[0] if len(frame) else pd.Timestamp(issued, tz="UTC"),
        "notes": [
            f"SRS {path.name} issued {pd.Timestamp(issued):%Y-%m-%d %H:%M} UTC: "
            f"{len(spots)} region(s) with sunspots; {int((ids == 'IA').sum())} plage(s) without spots "
            f"and {int((ids == 'II').sum())} region(s) due to return carry no McIntosh class and are "
            "not listed"
        ],
    }
    return frame
