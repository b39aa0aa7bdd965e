"""Readers of the published window-labelled data sets (with no-flare rows), into the canonical schema.

Hollanda's SHARP + SWPC region-day set (2010-2019) and the Liu et al. (2019)
LSTM demo files. Each row is a SHARP snapshot labelled with the largest flare
of its region in a window after it (``N`` = none). Parsing and checks follow
:mod:`flarecast.data.tables.per_flare`; the row policies are those of
:mod:`flarecast.data.row_policies`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Unpack

import numpy as np

from flarecast.data.columns import require_columns
from flarecast.data.row_policies import TAI_NOTE, check_policy
from flarecast.data.schema import Dataset
from flarecast.data.tables.sources import ReadOptions, SourceFile, labelled_frame, read_columns
from flarecast.data.text_csv import read_text_csv
from flarecast.errors import DataError, format_examples
from flarecast.goes import parse_goes_class
from flarecast.time import to_utc

__all__ = ["HOLLANDA_FEATURES", "read_hollanda", "read_liu2019_demo", "is_history_feature"]

#: The 25 SHARP/CGEM keywords of the Hollanda set, in file order.
HOLLANDA_FEATURES: tuple[str, ...] = (
    "TOTUSJH", "TOTBSQ", "TOTPOT", "TOTUSJZ", "ABSNJZH", "SAVNCPP", "USFLUX", "AREA_ACR",
    "TOTFZ", "MEANPOT", "R_VALUE", "EPSZ", "SHRGT45", "MEANSHR", "MEANGAM", "MEANGBT",
    "MEANGBZ", "MEANGBH", "MEANJZH", "TOTFY", "MEANJZD", "MEANALP", "TOTFX", "EPSY", "EPSX",
)  # fmt: skip
_LIU_TASKS = {"C": 1e-6, "M": 1e-5, "M5": 5e-5}


def read_hollanda(
    path: str | Path,
    *,
    labels: str | Path | None = None,
    window: str = "0-24h",
    **options: Unpack[ReadOptions],
) -> Dataset:
    """Read Hollanda's ``solar_flare_dataset_2010_2019.csv`` joined with its derived window labels.

    The file's own ``FlareNumber`` is **not** used as the label: its negatives
    were selected to exclude region-days with an >=M flare on D or D+1 and its
    positives mean ">=M 24-48 h later", so its classes are a selection artefact.
    Instead ``goes_class`` is the largest flare of the same region in the chosen
    window, from ``derived_goes_window_labels.csv`` (one line per row, same order;
    checked row by row on NOAA_AR, T_REC and FlareNumber).

    Parameters
    ----------
    path : str or Path
        The semicolon-separated data set.
    labels : str or Path, optional
        The derived labels; default ``derived_goes_window_labels.csv`` beside ``path``.
    window : {"0-24h", "24-48h"}, default "0-24h"
        Which label column: ``max_class_next_0_24h`` or ``max_class_next_24_48h``.
    **options
        As for :func:`~flarecast.data.tables.per_flare.read_umich`.

    Returns
    -------
    Dataset
        Not flaring-only (``N`` rows). Rows whose window runs past the end of
        the GOES list (empty label) are dropped and counted in the notes.
        ``Longitude``/``Latitude`` (absolute SRS degrees, hemisphere lost),
        ``QUALITY`` and ``FlareNumber`` are not kept.
    """
    columns = {"0-24h": "max_class_next_0_24h", "24-48h": "max_class_next_24_48h"}
    check_policy("window", window, tuple(columns))
    path = Path(path)
    source = str(path)
    table = SourceFile(path, **options)
    labels = (
        Path(labels) if labels is not None else path.with_name("derived_goes_window_labels.csv")
    )
    if not labels.is_file():
        raise DataError(
            f"{source} needs its derived window labels, not found at {labels} "
            "(the file's own FlareNumber is a selection artefact and is not used as a label)."
        )
    raw = table.read(("FlareNumber", "T_REC", "NOAA_AR", *HOLLANDA_FEATURES), "Hollanda", sep=";")
    label_col = columns[window]
    lab = read_columns(
        labels,
        ("row", "NOAA_AR", "T_REC", "FlareNumber", label_col),
        "derived labels",
        max_bytes=table.max_bytes,
    )
    if len(lab) != len(raw):
        raise DataError(
            f"{labels} has {len(lab)} rows but {source} has {len(raw)}: they must line up row by row."
        )
    for col, mine, theirs in (("row", lab["row"], raw.index.astype(str)),
                              ("NOAA_AR", lab["NOAA_AR"], raw["NOAA_AR"]),
                              ("T_REC", lab["T_REC"], raw["T_REC"]),
                              ("FlareNumber", lab["FlareNumber"], raw["FlareNumber"])):  # fmt: skip
        off = mine.to_numpy(dtype=str) != np.asarray(theirs, dtype=str)
        if off.any():
            raise DataError(
                f"{labels} does not line up with {source}: column {col!r} differs at "
                f"{format_examples(np.flatnonzero(off), mine.to_numpy()[off].tolist())}."
            )
    text = lab[label_col]
    past_end = (text == "").to_numpy()
    flux = parse_goes_class(
        text.where(~past_end, "N"), allow_none=True, source=str(labels), column=label_col
    )
    # SHARP T_REC strings without a zone: JSOC TAI record times, read as UTC.
    times = to_utc(
        raw["T_REC"], source=source, column="T_REC", fmt="%Y-%m-%d %H:%M:%S", naive="utc"
    )
    frame = labelled_frame(
        raw, source, times=times, region="NOAA_AR", flux=flux, numbers=HOLLANDA_FEATURES
    )
    notes = [
        TAI_NOTE,
        "label from the derived GOES windows, not the file's FlareNumber (a selection artefact: negatives "
        "exclude region-days with >=M on D or D+1, so flare-history features leak)",
        "Longitude/Latitude (absolute SRS values, hemisphere lost), QUALITY and FlareNumber are not kept",
        "classes come from the sunpy/SWPC GOES list (operational scaling, ~30% below reprocessed NCEI fluxes)",
    ]
    if past_end.any():
        rows = raw.index.to_numpy()[past_end]
        notes.append(
            f"dropped {int(past_end.sum())} row(s) whose {window} window runs past the end of the GOES list "
            f"(2019-10-10 16:53; empty label; {format_examples(rows, [''] * len(rows))})"
        )
        frame = frame.loc[~past_end]
    hours = "(T_REC, T_REC+24h]" if window == "0-24h" else "(T_REC+24h, T_REC+48h]"
    label_window = (
        f"largest GOES flare of the same NOAA region starting in {hours} (sunpy/SWPC event list)"
    )
    return table.finish(
        frame, HOLLANDA_FEATURES, window=label_window, notes=notes, flaring_only=False
    )


def is_history_feature(column: str) -> bool:
    """True for Liu et al. (2019) flare-history columns (``*dec``, ``*his``, ``*his1d``, ``Xmax1d``)."""
    return column == "Xmax1d" or column.endswith(("dec", "his", "his1d"))


def read_liu2019_demo(
    path: str | Path,
    *,
    task: str | None = None,
    history: bool = False,
    **options: Unpack[ReadOptions],
) -> Dataset:
    """Read a Liu et al. (2019) LSTM demo file ``demo_{C,M,M5}_normalized_testing.csv``.

    Parameters
    ----------
    path : str or Path
        The CSV file (one region, ~hourly SHARP records).
    task : {"C", "M", "M5"}, optional
        The file's Positive threshold (>=C1.0, >=M1.0, >=M5.0); default parsed
        from the file name. Every ``label`` must agree with ``flare`` at that
        threshold. Without a task, the labels must still be a threshold rule
        (every Positive flare larger than every Negative one).
    history : bool, default False
        Keep the flare-history columns (``*dec``, ``*his``, ``*his1d``,
        ``Xmax1d``) as features. They are computed from the flare catalogue and
        leak persistence into the label, so they are left out by default.
    **options
        As for :func:`~flarecast.data.tables.per_flare.read_umich`.

    Returns
    -------
    Dataset
        ``goes_class`` = the ``flare`` column, the largest flare within 24 h
        after the record (``N`` = none); ``harpnum`` from ``HARP``. The
        features are z-scored with the authors' training statistics and their
        names are unreliable (a third party found permuted headers).
    """
    path = Path(path)
    source = str(path)
    table = SourceFile(path, **options)
    raw = read_text_csv(path, max_bytes=table.max_bytes)
    label_col = next((c for c in raw.columns if c.lower() == "label"), "label")
    meta = (label_col, "flare", "timestamp", "NOAA", "HARP")
    require_columns(raw, meta, source, "Liu et al. (2019) demo")
    if task is None:
        match = re.search(r"demo_(M5|C|M)_", path.name, flags=re.IGNORECASE)
        task = match.group(1).upper() if match else None
    if task is not None:
        check_policy("task", task, tuple(_LIU_TASKS))
    flux = parse_goes_class(raw["flare"], allow_none=True, source=source, column="flare")
    label = raw[label_col]
    illegal = ~label.isin(["Positive", "Negative"]).to_numpy()
    if illegal.any():
        raise DataError(
            f"{source}: column {label_col!r} has {format_examples(np.flatnonzero(illegal), label[illegal].tolist())}; "
            "expected 'Positive' or 'Negative'."
        )
    positive = (label == "Positive").to_numpy()
    if task is not None:
        wrong = positive != (flux >= _LIU_TASKS[task] * (1 - 1e-9))
    else:
        floor = flux[positive].min() if positive.any() else np.inf
        wrong = (~positive & (flux >= floor)) | (
            positive & (flux <= flux[~positive].max(initial=-1.0))
        )
    if wrong.any():
        rows = np.flatnonzero(wrong)
        rule = f">= {task}" if task else "a single class threshold"
        shown = [f"{label.iloc[r]} for {raw['flare'].iloc[r]}" for r in rows]
        raise DataError(
            f"{source}: column {label_col!r} disagrees with 'flare' ({rule}) at "
            f"{format_examples(rows, shown)}."
        )
    history_cols = [c for c in raw.columns if c not in meta and is_history_feature(c)]
    features = [c for c in raw.columns if c not in meta and (history or c not in history_cols)]
    times = to_utc(raw["timestamp"], source=source, column="timestamp", fmt="ISO8601", naive="utc")
    frame = labelled_frame(
        raw, source, times=times, region="NOAA", harp="HARP", flux=flux, numbers=features
    )
    notes = [
        "features are z-scores with the authors' training statistics, not physical values",
        "feature names are unreliable: a third party (Dewald928/DeepFlarePred) found permuted headers "
        "(e.g. 'SAVNCPP' is USFLUX); use for pipeline tests, not physical interpretation",
        "one region only: no region split is possible within this file",
    ]
    if history_cols and not history:
        notes.append(
            f"flare-history columns left out of the features (they leak persistence): {history_cols}"
        )
    elif history_cols:
        notes.append(
            f"flare-history features kept on request (they leak persistence): {history_cols}"
        )
    window = "largest flare of the region within 24 h after the record (Liu et al. 2019)"
    return table.finish(frame, features, window=window, notes=notes, flaring_only=False)
