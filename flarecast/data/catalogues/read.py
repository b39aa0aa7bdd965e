"""Flare catalogues: one entry point that reads any supported list into the canonical event table.

:func:`read_catalogue` takes a registered name (files under the shared data
folder), a file, a folder of daily/yearly files, or a canonical table written
by flarecast, finds the format (or takes ``format=``) and returns the table
described in :mod:`flarecast.data.events`, with ``attrs`` holding the source,
its sha256, the flux-scaling convention and the count of every policy applied.

=================  =============================================================
format             files
=================  =============================================================
``ncei``           NCEI-derived event list (SolarFlareNet ``solar_events.csv``)
``swpc-list``      SWPC flare lists as CSV (Hayes ``swpc_flarelist_*.csv``, ``final_flare_list_sc24.csv``)
``liu2019``        Liu et al. (2019) ``flares_{B,C,M,X}-class.csv``
``hek``            sunpy/HEK GOES export (``;``, no header) or a table with HEK field names
``xrs-report``     NCEI/NGDC fixed-width ``goes-xrs-report_YYYY.txt``
``swpc-events``    SWPC daily edited events ``YYYYMMDDevents.txt``
``xrs-flsum``      GOES-R XRS flare summary netCDF ``sci_xrsf-l2-flsum_*.nc``
``canonical``      a table with the canonical columns (CSV or Parquet): ``start``,
                   ``peak``, ``noaa_ar``, ``goes_class`` and/or ``peak_flux``,
                   optionally ``end`` and ``source`` (see
                   :mod:`flarecast.data.catalogues.canonical`)
=================  =============================================================

The format is found from the file name and first line; pass ``format=``
(CLI ``--catalogue-format``) where it cannot be.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from flarecast.data.catalogues import csv_lists as catalogues_csv
from flarecast.data.catalogues import noaa as catalogues_noaa
from flarecast.data.catalogues.canonical import (
    CANONICAL_COLUMNS,
    is_canonical_header,
    read_canonical_events,
)
from flarecast.data.catalogues.flsum import read_xrs_flsum
from flarecast.data.events import (
    END,
    FLUX_OPERATIONAL,
    SOURCE,
    check_policies,
    combine_events,
)
from flarecast.data.schema import GOES_CLASS, PEAK_FLUX
from flarecast.errors import ConfigError, DataError
from flarecast.io import require_regular_file, sha256_file

__all__ = ["CATALOGUES", "FORMATS", "read_catalogue", "resolve_data_dir"]

READERS: dict[str, Callable[..., pd.DataFrame]] = {
    "ncei": catalogues_csv.read_ncei_events,
    "swpc-list": catalogues_csv.read_swpc_flarelist,
    "liu2019": catalogues_csv.read_liu2019_flares,
    "hek": catalogues_csv.read_hek_events,
    "xrs-report": catalogues_noaa.read_xrs_report,
    "swpc-events": catalogues_noaa.read_swpc_events,
    "xrs-flsum": read_xrs_flsum,
}
FORMATS: tuple[str, ...] = (*READERS, "canonical")

#: Registered catalogues: name -> (format, paths relative to the data folder, description).
CATALOGUES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "ncei-1996-2022": (
        "ncei",
        ("catalog_solarflarenet/solar_events.csv",),
        "NCEI GOES event list with regions, 1996-2022 (43,084 rows)",
    ),
    "hek-2010-2019": (
        "hek",
        ("hollanda_sharp_swpc/goes_events_sunpy_2010_2019.csv",),
        "sunpy/HEK GOES events, 2010-05 to 2019-10",
    ),
    "swpc-1996-2018": (
        "swpc-list",
        ("hayes_flare_forecast/swpc_flarelist_19960731_20181231.csv",),
        "SWPC flare list >= C, 1996-2018",
    ),
    "swpc-2010-2021": (
        "swpc-list",
        ("hayes_flare_forecast/swpc_flarelist_20100101-20210810.csv",),
        "SWPC flare list >= C, 2010-2021",
    ),
    "swpc-sc24": (
        "swpc-list",
        ("hayes_flare_forecast/final_flare_list_sc24.csv",),
        "SWPC flare list >= C with HEK positions, cycle 24",
    ),
    "liu2019": (
        "liu2019",
        tuple(f"liu2019_lstm/flares_{c}-class.csv" for c in "BCMX"),
        "Liu et al. (2019) B/C/M/X flares with regions, 2010-2018 (no peak times)",
    ),
    "xrs-2011-2016": (
        "xrs-report",
        tuple(f"noaa_goes_xrs_reports/goes-xrs-report_{y}.txt" for y in range(2011, 2017)),
        "NCEI GOES XRS reports 2011-2016",
    ),
}
_SUFFIX_GLOB = {"xrs-report": "goes-xrs-report_*.txt", "swpc-events": "*events.txt"}


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The shared data folder: ``data_dir`` if given, else ``$FLARECAST_DATA_DIR``.

    Raises
    ------
    ConfigError
        If neither names an existing folder.
    """
    value = data_dir if data_dir is not None else os.environ.get("FLARECAST_DATA_DIR")
    if not value or not Path(value).is_dir():
        raise ConfigError(
            "Registered catalogues and series live in the shared data folder: pass data_dir or set "
            f"FLARECAST_DATA_DIR to it. Got {str(value) if value else 'nothing'!r}."
        )
    return Path(value)


def read_catalogue(
    source: str | Path,
    *,
    format: str | None = None,
    on_bad_rows: str = "error",
    duplicates: str = "drop",
    data_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Read a flare catalogue into the canonical event table.

    Parameters
    ----------
    source : str or Path
        A registered name (see :data:`CATALOGUES`, plus ``"demo"`` for the
        SYNTHETIC demo catalogue), a file, or a folder of ``goes-xrs-report_*.txt``
        or ``*events.txt`` files.
    format : str, optional
        One of :data:`FORMATS`; found from the file name and first line if omitted.
    on_bad_rows : {"error", "skip"}, default "error"
        Malformed rows raise a :class:`~flarecast.errors.DataError` naming
        them, or are skipped, counted and warned about.
    duplicates : {"drop", "keep"}, default "drop"
        Duplicate events are removed (counted) or kept (counted).
    data_dir : str or Path, optional
        Shared data folder for registered names (default ``$FLARECAST_DATA_DIR``).

    Returns
    -------
    pandas.DataFrame, shape (n_events, 7)
        Columns :data:`~flarecast.data.events.EVENT_COLUMNS`; ``attrs`` has
        ``source``, ``format``, ``sha256``, ``flux_scaling``, ``bad_rows``,
        ``duplicates_removed`` and the other counts.

    Raises
    ------
    ConfigError
        Unknown name or format.
    DataError
        Unreadable or malformed input.
    """
    check_policies(on_bad_rows, duplicates)
    if format is not None and format not in FORMATS:
        raise ConfigError(
            f"The 'format' parameter must be one of {list(FORMATS)}. Got {format!r} instead."
        )
    name = str(source)
    if name == "demo":
        return _demo()
    if name in CATALOGUES and not Path(name).exists():
        fmt, relative, _ = CATALOGUES[name]
        root = resolve_data_dir(data_dir)
        paths = [root / p for p in relative]
        label = name
    else:
        path = Path(source)
        if not path.exists():
            raise ConfigError(
                f"Catalogue {name!r} is neither a file nor a registered name. "
                f"Registered: {sorted([*CATALOGUES, 'demo'])}."
            )
        if path.is_dir():
            fmt = format or next((f for f, g in _SUFFIX_GLOB.items() if any(path.glob(g))), None)
            paths = sorted(path.glob(_SUFFIX_GLOB.get(fmt, "")) if fmt else [])
            if not paths:
                raise DataError(
                    f"{path}: a catalogue folder must hold goes-xrs-report_*.txt or *events.txt files."
                )
        else:
            require_regular_file(path, what="catalogue")
            fmt, paths = format or detect_format(path), [path]
        label = str(path)
    fmt = format or fmt
    for p in paths:
        require_regular_file(p, what="catalogue")
    read = read_canonical_events if fmt == "canonical" else READERS[fmt]
    frames = [read(p, on_bad_rows=on_bad_rows, duplicates=duplicates) for p in paths]
    frame = frames[0] if len(frames) == 1 else combine_events(frames, label, duplicates=duplicates)
    frame.attrs["source"] = label
    frame.attrs["sha256"] = _checksum(paths)
    return frame


def detect_format(path: Path) -> str:
    """Guess a catalogue's format from its name and first line.

    Raises
    ------
    DataError
        If no format matches; the message lists the formats, ``format=`` and
        ``--catalogue-format``, and the canonical columns.
    """
    name = path.name.lower()
    if path.suffix.lower() in (".nc", ".nc4", ".netcdf"):
        return "xrs-flsum"
    if path.suffix.lower() == ".parquet":
        return "canonical"
    try:
        with open(path, "rb") as fh:
            raw = [fh.readline() for _ in range(3)]
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from exc
    # A UTF-8 byte-order mark is no part of the first column's name.
    raw[0] = raw[0].removeprefix(b"\xef\xbb\xbf")
    head = [line.decode("latin-1") for line in raw]
    first = head[0]
    text = "".join(head)
    if name.startswith("goes-xrs-report") or first.startswith("31777"):
        return "xrs-report"
    if name.endswith("events.txt") or ":Product:" in text or "Edited Events" in text:
        return "swpc-events"
    if "Flare Class" in first and "Active Region Number" in first:
        return "ncei"
    if first.startswith("Flares,") and "Start Time" in first:
        return "liu2019"
    if "fl_goescls" in first:
        return "hek"
    if "start_time" in first and "max_time" in first or "event_starttime" in first:
        return "swpc-list"
    if first.count(";") >= 6 and first[:4].isdigit():
        return "hek"
    if is_canonical_header(first.strip().split(",")):
        return "canonical"
    needed, optional = CANONICAL_COLUMNS
    raise DataError(
        f"{path}: unknown catalogue layout (first line {first.strip()[:80]!r}). Name the format "
        f"with --catalogue-format (CLI) or format= (Python), one of {list(FORMATS)}; or write the "
        f"canonical columns {', '.join(needed)} and {GOES_CLASS} and/or {PEAK_FLUX} "
        f"(optional: {END}, {SOURCE}), times in ISO 8601 with a zone."
    )


def _demo() -> pd.DataFrame:
    from flarecast.data.synthetic import demo_catalogue

    frame = demo_catalogue(seed=0)
    frame.attrs = {
        "source": "SYNTHETIC demo",
        "format": "demo",
        "flux_scaling": FLUX_OPERATIONAL,
        "synthetic": True,
        "sha256": None,
    }
    return frame


def _checksum(paths: list[Path]) -> str:
    """sha256 of one file, or of the sorted per-file checksums for several."""
    sums = [sha256_file(p) for p in paths]
    return sums[0] if len(sums) == 1 else hashlib.sha256("".join(sorted(sums)).encode()).hexdigest()
