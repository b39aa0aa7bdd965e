"""Readers of the published per-flare data sets (every row a flare), into the canonical schema.

Michigan ``arflares`` and FlareML (Liu et al. 2017); the window-labelled sets
with no-flare rows are in :mod:`flarecast.data.tables.windowed`. One function
per source layout. Each parses its file(s) once at the boundary
(times to UTC, classes to fluxes), checks what the source promises (the class
letter agrees with the flux, labels agree with classes, joined files line up)
and hands the rest to the shared policies of :mod:`flarecast.data.row_policies`:
rows with a missing feature are dropped and counted (``missing="drop"``) or
refused (``"error"``); exact duplicates are kept and counted
(``duplicates="keep"``), dropped (``"drop"``) or refused (``"error"``).

The sources, their licences and their caveats are described in
``data/README.md`` and in the PROVENANCE.md next to each file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Unpack

import numpy as np
import pandas as pd

from flarecast.data.columns import (
    MAX_PEAK_FLUX,
    letter_check,
    numeric,
    require_columns,
)
from flarecast.data.row_policies import TAI_NOTE
from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX, TIME, Dataset
from flarecast.data.tables.sources import ReadOptions, SourceFile, labelled_frame
from flarecast.data.text_csv import read_text_csv
from flarecast.errors import DataError, format_examples
from flarecast.goes import parse_goes_class
from flarecast.time import to_utc

__all__ = [
    "UMICH_FEATURES",
    "FLAREML_FEATURES",
    "read_umich",
    "read_flareml",
]

#: SHARP keywords of the Michigan files, in file order.
UMICH_FEATURES: tuple[str, ...] = (
    "TOTUSJH", "TOTUSJZ", "SAVNCPP", "USFLUX", "ABSNJZH", "TOTPOT", "SIZE_ACR", "NACR",
    "MEANPOT", "SIZE", "MEANJZH", "SHRGT45", "MEANSHR", "MEANJZD", "MEANALP", "MEANGBT",
    "MEANGAM", "MEANGBZ", "MEANGBH", "NPIX",
)  # fmt: skip
#: The 13 SHARP/CGEM keywords of FlareML (Liu et al. 2017), in file order.
FLAREML_FEATURES: tuple[str, ...] = (
    "TOTUSJH", "TOTBSQ", "TOTPOT", "TOTUSJZ", "ABSNJZH", "SAVNCPP", "USFLUX", "AREA_ACR",
    "TOTFZ", "MEANPOT", "R_VALUE", "EPSZ", "SHRGT45",
)  # fmt: skip
# FlareML's training sample was exported at full precision while the original
# file rounds TOTPOT and USFLUX to 3 significant figures: match on the rest.
_FLAREML_MATCH_KEYS = tuple(f for f in FLAREML_FEATURES if f not in ("TOTPOT", "USFLUX"))


def read_umich(
    path: str | Path,
    *,
    lead_hours: int | None = None,
    **options: Unpack[ReadOptions],
) -> Dataset:
    """Read a Michigan ``arflares{6,12,24,36,48}h.csv`` file (one row per flare).

    Parameters
    ----------
    path : str or Path
        The CSV file.
    lead_hours : int, optional
        Lead time from snapshot to flare peak, hours; default parsed from the
        file name (``arflares24h.csv`` -> 24).
    **options
        ``name``, ``duplicates``, ``missing``, ``max_bytes``: see
        :class:`~flarecast.data.tables.sources.ReadOptions`.

    Returns
    -------
    Dataset
        ``goes_class`` is the flare itself, ``peak_flux = 10**log_intensity``
        (W m^-2); ``LON_FWT``/``LAT_FWT`` are kept as position metadata; the
        features are the 20 SHARP keywords; ``flaring_only=True``.

    Raises
    ------
    SchemaError, DataError, GOESClassError
        On a missing column, a non-numeric value, or a ``category`` letter that
        disagrees with ``log_intensity``.
    """
    path = Path(path)
    source = str(path)
    table = SourceFile(path, **options)
    if lead_hours is None:
        match = re.search(r"(\d+)h", path.stem)
        lead_hours = int(match.group(1)) if match else None
    meta = ("NOAA_ar_num", "LON_FWT", "LAT_FWT", "T_REC", "log_intensity", "category")
    raw = table.read((*meta, *UMICH_FEATURES), "Michigan arflares")

    epoch = numeric(raw["T_REC"], source=source, column="T_REC", allow_missing=False)
    log_flux = numeric(
        raw["log_intensity"], source=source, column="log_intensity", allow_missing=False
    )
    with np.errstate(over="ignore"):
        flux = 10.0**log_flux
    bad = ~(flux < MAX_PEAK_FLUX)
    if bad.any():
        raise DataError(
            f"{source}: column 'log_intensity' has {int(bad.sum())} value(s) whose flux 10**x is not "
            f"finite or >= {MAX_PEAK_FLUX:g} W m^-2 (X10000): "
            f"{format_examples(raw.index[bad], raw['log_intensity'][bad].tolist())}. "
            "Expected log10 of a peak flux in W m^-2, e.g. -5.0 for M1.0."
        )
    letter_check(flux, raw["category"], source, "category")
    # Epochs beyond +-9.2e9 s (1678..2261) do not fit nanosecond times; to_datetime would raise.
    outside = ~(np.abs(epoch) < 9.2e9)
    if outside.any():
        raise DataError(
            f"{source}: column 'T_REC' has {int(outside.sum())} Unix time(s) outside +-9.2e9 s "
            f"(1678..2261 UTC): {format_examples(raw.index[outside], raw['T_REC'][outside].tolist())}."
        )
    times = pd.Series(pd.to_datetime(epoch, unit="s", utc=True), index=raw.index)
    frame = labelled_frame(
        raw,
        source,
        times=to_utc(times, source=source, column="T_REC"),
        region="NOAA_ar_num",
        flux=flux,
        numbers=("LON_FWT", "LAT_FWT", *UMICH_FEATURES),
    )
    lead = (
        f"{lead_hours} h"
        if lead_hours is not None
        else "a fixed lead time (unknown from the file name)"
    )
    window = (
        f"the flare itself: goes_class is a flare of the region peaking {lead} after T_REC "
        "(snapshot = peak - lead, nearest 12-min SHARP record)"
    )
    notes = (
        TAI_NOTE,
        "every row is a flare (A/B/C/M/X): no quiet regions, so base rates overstate operational ones",
        "rows of one region are near-duplicates in time: split by region or time, never by row",
    )
    return table.finish(frame, UMICH_FEATURES, window=window, notes=notes, flaring_only=True)


def read_flareml(
    path: str | Path,
    *,
    original: str | Path | None = None,
    **options: Unpack[ReadOptions],
) -> Dataset:
    """Read one of FlareML's files (Liu et al. 2017 sample), detecting which by its columns.

    - ``flaringar_original_data.csv``: compact classes (``X22`` = X2.2), ``Flare Date``
      ``M/D/YYYY H:MM`` (UT) and ``AR``.
    - ``flaringar_simple_random_40.csv``: the same layout with ``fdate``/``noaaar``;
      all 40 rows are in the original file, so it is not a held-out set.
    - ``flaringar_training_sample.csv``: letter only, no date and no region.
      **Policy:** such rows cannot be split by region or time, so each row is
      matched to the original-file row with identical values of the 11 features
      both files hold at full precision; the time, region and full class come
      from that row, the features from the training sample (full precision).
      A row matching zero or several rows, a letter or a rounded TOTPOT/USFLUX
      that disagrees, is an error. ``original`` defaults to
      ``flaringar_original_data.csv`` beside ``path``.

    ``options`` are as for :func:`read_umich`.

    Returns
    -------
    Dataset
        ``goes_class`` = the largest flare of the region on the UT day of the
        snapshot (taken at 00:10 UT, lead 0-24 h); ``flaring_only=True``.
    """
    path = Path(path)
    source = str(path)
    table = SourceFile(path, **options)
    raw = table.read(("Flare Class", *FLAREML_FEATURES), "FlareML")
    notes = [
        "snapshot at 00:10 UT of the flare day; 'Flare Date' is read as UTC",
        "every row is a flaring region-day (B/C/M/X): no quiet regions",
    ]
    if {"Flare Date", "AR"} <= set(raw.columns):
        frame = _flareml_dated(raw, "Flare Date", "AR", source)
        notes.append("TOTPOT and USFLUX are rounded to 3 significant figures in this file")
    elif {"fdate", "noaaar"} <= set(raw.columns):
        frame = _flareml_dated(raw, "fdate", "noaaar", source)
        notes.append("all rows also appear in flaringar_original_data.csv: not a held-out set")
    else:
        original = (
            Path(original)
            if original is not None
            else path.with_name("flaringar_original_data.csv")
        )
        if not original.is_file():
            raise DataError(
                f"{source} has class letters but no date or region; flarecast recovers them from "
                f"FlareML's original file, which was not found at {original}. Pass original=..."
            )
        frame = _flareml_recover(
            raw,
            source,
            _flareml_dated(
                read_text_csv(original, max_bytes=table.max_bytes),
                "Flare Date",
                "AR",
                str(original),
            ),
        )
        notes.append(
            f"time, region and class recovered by exact feature match with {original.name} (all rows matched once)"
        )
    window = "largest flare of the region on the UT day of the snapshot (lead 0-24 h, median ~12 h)"
    return table.finish(frame, FLAREML_FEATURES, window=window, notes=notes, flaring_only=True)


def _flareml_dated(raw: pd.DataFrame, date_col: str, ar_col: str, source: str) -> pd.DataFrame:
    require_columns(raw, ("Flare Class", date_col, ar_col, *FLAREML_FEATURES), source, "FlareML")
    flux = parse_goes_class(raw["Flare Class"], compact=True, source=source, column="Flare Class")
    times = to_utc(raw[date_col], source=source, column=date_col, fmt="%m/%d/%Y %H:%M", naive="utc")
    return labelled_frame(
        raw, source, times=times, region=ar_col, flux=flux, numbers=FLAREML_FEATURES
    )


def _flareml_recover(raw: pd.DataFrame, source: str, original: pd.DataFrame) -> pd.DataFrame:
    letters = raw["Flare Class"].str.upper()
    feats = pd.DataFrame(
        {c: numeric(raw[c], source=source, column=c) for c in FLAREML_FEATURES}, index=raw.index
    )
    keyed = feats[list(_FLAREML_MATCH_KEYS)].reset_index(names="_row")
    target = original[list(_FLAREML_MATCH_KEYS)].reset_index(names="_orig")
    merged = keyed.merge(target, on=list(_FLAREML_MATCH_KEYS), how="left")
    counts = merged.groupby("_row")["_orig"].count().reindex(raw.index, fill_value=0).to_numpy()
    if (counts != 1).any():
        bad = np.flatnonzero(counts != 1)
        raise DataError(
            f"{source}: {len(bad)} row(s) do not match exactly one row of the original FlareML file "
            f"on {list(_FLAREML_MATCH_KEYS)}: {format_examples(raw.index[bad], counts[bad].tolist())} (matches)."
        )
    orig = original.loc[merged.set_index("_row").loc[raw.index, "_orig"].to_numpy()].set_index(
        raw.index
    )
    letter_check(orig[PEAK_FLUX].to_numpy(), letters, source, "Flare Class")
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(
            feats[["TOTPOT", "USFLUX"]].to_numpy() / orig[["TOTPOT", "USFLUX"]].to_numpy() - 1
        )
    off = ~(rel <= 5e-3).all(axis=1)
    if off.any():
        raise DataError(
            f"{source}: TOTPOT/USFLUX of {int(off.sum())} matched row(s) differ from the original file by more "
            f"than its 3-significant-figure rounding: {format_examples(raw.index[off], rel.max(axis=1)[off].tolist())}."
        )
    return pd.concat([orig[[TIME, NOAA_AR, GOES_CLASS, PEAK_FLUX]], feats], axis=1)
