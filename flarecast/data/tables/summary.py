"""Summarise a canonical CSV table in chunks, in bounded memory (``flarecast data info`` on a CSV).

:func:`summarize_csv` returns what :func:`flarecast.data.tables.read.summarize`
returns for :func:`~flarecast.data.tables.read.read_table` on the same file and
options (same counts, notes and warnings), but reads ``chunksize`` rows at a
time. Memory is three chunks (this one, the next checked and the one after parsed
meanwhile, each in a thread) plus
10 bytes per row (a 64-bit hash of each kept row for the exact-duplicate
policy, a class code and a kept flag) plus the
distinct region numbers, so a multi-GB CSV is summarised in a few hundred MB
at most; the memory budget of :mod:`flarecast.data.budget` does not apply.

Two differences from reading the whole table: a bad value is reported from
the first chunk that holds one (its count is that chunk's), and duplicates are
found by 64-bit hash (two different rows collide with probability ~n^2 / 2^65,
about 1e-6 for ten million rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.row_policies import (
    DUPLICATE_POLICIES,
    MISSING_POLICIES,
    check_policy,
    duplicates_text,
    row_hashes,
    some_examples,
)
from flarecast.data.schema import META, NOAA_AR, PEAK_FLUX, TIME, validate_labelled
from flarecast.data.tables.canonical import (
    TABLE_NOTE,
    TABLE_SUFFIXES,
    TABLE_WINDOW,
    canonical_frame,
)
from flarecast.data.tables.read import checksum_aside, detect_layout
from flarecast.data.text_csv import iter_text_csv
from flarecast.errors import DataError, DataWarning, SchemaError, warn_user
from flarecast.goes import LETTERS, class_letter
from flarecast.io import require_regular_file

__all__ = ["is_plain_csv", "summarize_csv"]

_CODES = ("N", *LETTERS)  # class code of a row: index into this tuple


def is_plain_csv(path: str | Path, columns: Mapping[str, str] | None = None) -> bool:
    """True for a canonical CSV table (a ``.csv``/``.txt`` file not in a known source layout)."""
    path = Path(path).expanduser()
    if TABLE_SUFFIXES.get(path.suffix.lower()) != "csv" or not path.is_file():
        return False
    return bool(columns) or detect_layout(path) == "table"


def summarize_csv(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    features: Sequence[str] | None = None,
    assume_utc: bool = False,
    duplicates: str = "keep",
    missing: str = "drop",
    name: str | None = None,
    chunksize: int = 50_000,
) -> dict[str, Any]:
    """Describe a canonical CSV table like ``summarize(read_table(path))``, reading it in chunks.

    Parameters
    ----------
    path : str or Path
        A canonical CSV table (see :mod:`flarecast.data.tables.read`).
    columns, features, assume_utc, duplicates, missing, name
        As for :func:`~flarecast.data.tables.read.read_table`.
    chunksize : int, default 50_000
        Rows per chunk; the chunk's memory grows with it (about 3 kB per row of
        26 columns while it is parsed, so ~170 MB by default).

    Returns
    -------
    dict
        The keys of :func:`~flarecast.data.tables.read.summarize`.

    Raises
    ------
    DataError, SchemaError, GOESClassError
        As :func:`~flarecast.data.tables.read.read_table` would, naming the file, row and column.
    """
    check_policy("duplicates", duplicates, DUPLICATE_POLICIES)
    check_policy("missing", missing, MISSING_POLICIES)
    if not isinstance(chunksize, int) or chunksize < 1:
        raise DataError(
            f"The 'chunksize' parameter must be an int >= 1. Got {chunksize!r} instead."
        )
    # Refused before the checksum thread opens it: a FIFO would block that thread for ever, and
    # the interpreter waits for it at exit.
    path = require_regular_file(Path(path).expanduser(), what="table")
    source = str(path)
    feats: list[str] = []
    flaring_only = True
    hashes, codes, kept = [], [], []
    regions = np.empty(0, dtype=np.int64)
    start = end = None
    n_bad, bad_cols, bad_pairs = 0, set(), []
    text = set(META) | set(columns or {})
    order = np.array(sorted(_CODES))

    def prepare(chunk: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        # In the thread that reads ahead: the next chunk is parsed while this one is counted.
        out, feats = canonical_frame(
            chunk, source=source, columns=columns, features=features, assume_utc=assume_utc
        )
        names = [c for c in META if c in out.columns] + feats
        return (out if list(out.columns) == names else out[names]), feats

    checksum = checksum_aside(path)
    for out, feats in iter_text_csv(path, chunksize=chunksize, numbers=text, prepare=prepare):
        flaring_only &= bool((out[PEAK_FLUX] > 0).all())
        # The missing-feature policy of row_policies.finish, one chunk at a time (features are
        # float64 columns here: no copy of them unless a row is bad).
        bad_rows = np.zeros(len(out), dtype=bool)
        for f in feats:
            bad_rows |= ~np.isfinite(out[f].to_numpy(dtype=float))
        kept.append(~bad_rows)
        if bad_rows.any():
            values = out[feats].to_numpy(dtype=float, na_value=np.nan)
            bad = ~np.isfinite(values)
            n_bad += int(bad_rows.sum())
            bad_cols |= {f for f, b in zip(feats, bad.any(axis=0), strict=True) if b}
            first = bad[bad_rows].argmax(axis=1)
            for i, j in zip(np.flatnonzero(bad_rows), first, strict=True):
                if len(bad_pairs) == 5:
                    break
                bad_pairs.append((int(out.index[i]), f"{feats[j]}={values[i, j]}"))
            out = out.loc[~bad_rows]
        if missing == "error" and n_bad:
            continue  # only count: the error below lists every bad row's count
        validate_labelled(out, source, feats)
        hashes.append(row_hashes(out))
        at, fluxes = pd.factorize(out[PEAK_FLUX].to_numpy(), use_na_sentinel=False)
        codes.append(np.searchsorted(order, class_letter(fluxes)).astype(np.uint8)[at])
        regions = np.union1d(regions, out[NOAA_AR].to_numpy(dtype=np.int64))
        if len(out):
            lo, hi = out[TIME].min(), out[TIME].max()
            start = lo if start is None else min(start, lo)
            end = hi if end is None else max(end, hi)

    notes = [TABLE_NOTE]
    if n_bad:
        cols = [f for f in feats if f in bad_cols]
        what = (
            f"{n_bad} row(s) with a missing or non-finite feature value "
            f"(columns {cols}; {some_examples(bad_pairs, n_bad)})"
        )
        if missing == "error":
            raise SchemaError(f"{source}: {what}. Fix the file or pass missing='drop'.")
        notes.append(f"dropped {what} [missing='drop']")
        warn_user(f"{source}: dropped {what}.", DataWarning)

    all_codes = np.concatenate(codes) if codes else np.empty(0, dtype=np.uint8)
    del codes
    counts = np.bincount(all_codes, minlength=len(order))
    rows = int(counts.sum())
    dup_note = _duplicates(hashes, np.concatenate(kept) if kept else np.empty(0, bool))
    if dup_note is not None:
        n_dup, dup_pos, what = dup_note
        if duplicates == "error":
            raise DataError(f"{source}: {what}. Pass duplicates='keep' or 'drop' to accept them.")
        if duplicates == "drop":
            counts -= np.bincount(all_codes[dup_pos], minlength=len(order))
            rows -= n_dup
            notes.append(f"dropped {what} [duplicates='drop']")
            warn_user(f"{source}: dropped {what}.", DataWarning)
        else:
            notes.append(f"kept {what} [duplicates='keep']")
    by_letter = dict(zip(order.tolist(), counts.tolist(), strict=True))
    return {
        "name": name or source,
        "synthetic": False,
        "rows": rows,
        "classes": {k: int(by_letter[k]) for k in _CODES},
        "regions": int(regions.size),
        "time_start": start.isoformat() if rows else None,
        "time_end": end.isoformat() if rows else None,
        "features": feats,
        "flaring_only": flaring_only,
        "window": TABLE_WINDOW,
        "sha256": checksum.result(),
        "notes": notes,
    }


def _duplicates(hashes: list[np.ndarray], kept: np.ndarray) -> tuple[int, np.ndarray, str] | None:
    """Exact duplicates among the kept rows, from their hashes in file order.

    Returns None, or (count, positions of the later copies among the kept
    rows, the policy note's text naming rows as ``row_policies.finish`` does).
    """
    if not hashes:
        return None
    h = np.concatenate(hashes)
    hashes.clear()  # the chunks' arrays: keep one copy only
    # Every copy but the first, in file order (a hash table: a stable sort costs five times more).
    later = np.flatnonzero(pd.Series(h, copy=False).duplicated(keep="first").to_numpy())
    if not later.size:
        return None
    # The first copy of the shown ones only: an array over every row would cost its memory.
    origin = {p: np.flatnonzero(h == h[p])[0] for p in later[:5]}
    # np.flatnonzero(kept): the source row number of each kept row.
    return later.size, later, duplicates_text(later, origin, np.flatnonzero(kept))
