"""Row policies of the labelled-table readers: missing features and exact duplicate rows.

Every reader parses its source into raw columns, then hands them here so that
all of them apply the same documented, counted policies:

- **missing features** (NaN, empty cell or +-inf in a feature column):
  ``missing="drop"`` (default) drops those rows, counts them in
  ``Dataset.notes`` and warns with :class:`~flarecast.errors.DataWarning`;
  ``missing="error"`` raises :class:`~flarecast.errors.SchemaError`.
- **exact duplicate rows** (every kept column equal): ``duplicates="keep"``
  (default) keeps them and counts them in the notes, because in the one real
  source that has them (the Michigan 24/36/48 h files) they are two distinct
  flares of one region that share the nearest SHARP snapshot (the 6 h file
  separates them), and the published row counts include them. Both copies
  share time and region, so region or time splits keep them together.
  ``"drop"`` drops later copies (counted, warned); ``"error"`` raises.
- the column checks (:mod:`flarecast.data.columns`) and the memory budget
  (:mod:`flarecast.data.budget`) apply before these policies.

Rows are reported 0-based as data rows of the source file (header not
counted), the numbering pandas and :func:`~flarecast.errors.format_examples` use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.columns import MAX_PEAK_FLUX
from flarecast.data.schema import (
    GOES_CLASS,
    HARPNUM,
    META,
    NOAA_AR,
    PEAK_FLUX,
    TIME,
    Dataset,
    validate_labelled,
)
from flarecast.errors import (
    DataError,
    DataWarning,
    GOESClassError,
    SchemaError,
    format_examples,
    warn_user,
)
from flarecast.time import to_utc

__all__ = ["DUPLICATE_POLICIES", "MISSING_POLICIES", "TAI_NOTE", "check_policy", "finish"]

#: Policies for exact duplicate rows of a labelled table (the catalogues have their own:
#: :data:`flarecast.data.events.EVENT_DUPLICATE_POLICIES`).
DUPLICATE_POLICIES = ("keep", "drop", "error")
MISSING_POLICIES = ("drop", "error")
#: Time convention of SHARP T_REC values once read as UTC.
TAI_NOTE = "T_REC is the JSOC TAI record time read as UTC (TAI - UTC = 34-37 s in 2010-2019)"


def check_policy(name: str, value: str, choices: Sequence[str]) -> None:
    """Validate a policy keyword with the house message style."""
    if value not in choices:
        raise DataError(
            f"The {name!r} parameter must be one of {list(choices)}. Got {value!r} instead."
        )


def some_examples(pairs: list[tuple[Any, Any]], total: int) -> str:
    """:func:`~flarecast.errors.format_examples` of the first five of ``total`` (row, value)
    pairs, with the count of the rest: the others need not be formatted, or even kept."""
    more = total - len(pairs)
    shown = format_examples([r for r, _ in pairs], [v for _, v in pairs])
    return shown + (f" (and {more} more)" if more > 0 else "")


def duplicates_text(later: np.ndarray, origin: Any, rows: np.ndarray) -> str:
    """What the duplicate policy says of the ``later`` copies (positions), ``origin[p]`` being
    the position of the first copy of ``p`` and ``rows[p]`` its row in the file."""
    # Name the first copy of each duplicate so the pair can be inspected.
    pairs = [(rows[p], f"copy of row {rows[origin[p]]}") for p in later[:5]]
    return f"{later.size} exact duplicate row(s) ({some_examples(pairs, later.size)})"


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's values, equal for equal rows (-0.0 and 0.0 included)."""
    if len(set(pd.util.hash_array(np.array([0.0, -0.0])))) > 1:  # pandas before 3.0 hashes bits
        frame = frame.assign(**{c: frame[c] + 0.0 for c in frame if frame[c].dtype.kind == "f"})
    if len(frame) < _TWO_THREADS:
        return pd.util.hash_pandas_object(frame, index=False).to_numpy()
    half = len(frame) // 2
    top, bottom = _two_ways(
        lambda: pd.util.hash_pandas_object(frame.iloc[:half], index=False).to_numpy(),
        lambda: pd.util.hash_pandas_object(frame.iloc[half:], index=False).to_numpy(),
    )
    return np.concatenate([top, bottom])


# Rows from which a table's rows are hashed, and compared, in two threads at once.
_TWO_THREADS = 200_000


def _two_ways(first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
    """``first()`` in a thread while ``second()`` runs here (numpy lets go of the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(first)
        other = second()
        return ahead.result(), other


def _duplicated(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``frame.duplicated(keep="first")``, and the position of each row's first copy.

    Rows are grouped by a 64-bit hash of their values and each later copy is compared with
    its first copy; only where two different rows share a hash does pandas' own search,
    several times slower, decide.
    """
    # Hashes numbered in order of first appearance (a hash table: a sort costs three times more).
    codes, _ = pd.factorize(row_hashes(frame), use_na_sentinel=False)
    fresh = codes > np.maximum.accumulate(np.concatenate([[-1], codes[:-1]]))
    # The first row with the same hash (its own for a first copy).
    origin = np.flatnonzero(fresh)[codes]
    dup = origin != np.arange(len(frame))
    later = np.flatnonzero(dup)
    at = origin[later]

    def same(columns: range) -> bool:
        return all(_same_values(frame.iloc[:, j], later, at) for j in columns)

    width = frame.shape[1]
    if len(frame) < _TWO_THREADS:
        equal = same(range(width))
    else:
        equal = all(_two_ways(lambda: same(range(0, width, 2)), lambda: same(range(1, width, 2))))
    if not equal:
        dup = frame.duplicated(keep="first").to_numpy()
    return dup, origin


def _same_values(column: pd.Series, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``column`` holds at positions ``a`` what it holds at ``b``, compared as
    ``Series.equals`` compares (NaN equals NaN, NaT NaT, -0.0 0.0); numbers as numpy arrays."""
    numpy = isinstance(column.dtype, np.dtype)
    if column.dtype.kind == "f" and numpy:
        values = column.to_numpy()
        x, y = values[a], values[b]
        return bool(((x == y) | (np.isnan(x) & np.isnan(y))).all())
    if column.dtype.kind == "M" and (numpy or isinstance(column.dtype, pd.DatetimeTZDtype)):
        values = column.array.asi8  # NaT is one integer
        return bool((values[a] == values[b]).all())
    if numpy and column.dtype.kind in "iu":
        values = column.to_numpy()
        return bool((values[a] == values[b]).all())
    x, y = column.iloc[a].reset_index(drop=True), column.iloc[b].reset_index(drop=True)
    return x.equals(y)


def finish(
    frame: pd.DataFrame,
    *,
    features: Sequence[str],
    source: str,
    name: str,
    sha256: str | None,
    window: str,
    flaring_only: bool,
    notes: Sequence[str] = (),
    duplicates: str = "keep",
    missing: str = "drop",
    synthetic: bool = False,
    stacklevel: int = 3,
) -> Dataset:
    """Apply the missing-feature and duplicate policies, order the columns, validate, wrap.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical meta columns plus float64 ``features``; its index holds the
        source row numbers used in messages.
    features : sequence of str
        Feature columns in model order.
    source : str
        File path (or paths) named in messages.
    name, sha256, window, flaring_only, synthetic
        Stored on the :class:`Dataset`.
    notes : sequence of str
        Reader-specific notes; the policy notes are appended.
    duplicates : {"keep", "drop", "error"}, default "keep"
    missing : {"drop", "error"}, default "drop"
    stacklevel : int, default 3
        Where a dropped-row warning points: 3 is the caller of a reader that calls this.

    Returns
    -------
    Dataset
        With a fresh 0-based index and ``feature_columns(frame) == features``.
    """
    check_policy("duplicates", duplicates, DUPLICATE_POLICIES)
    check_policy("missing", missing, MISSING_POLICIES)
    notes = list(notes)
    features = list(features)
    order = [c for c in META if c in frame.columns] + features
    if list(frame.columns) != order:
        frame = frame[order]

    if all(isinstance(t, np.dtype) and t == np.float64 for t in frame.dtypes[features]):
        bad_rows = np.zeros(len(frame), dtype=bool)  # checked column by column, without a copy
        for f in features:
            bad_rows |= ~np.isfinite(frame[f].to_numpy())
    else:
        bad_rows = ~np.isfinite(frame[features].to_numpy(dtype=float, na_value=np.nan)).all(axis=1)
    if bad_rows.any():
        values = frame[features].to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values)
        cols = [f for f, b in zip(features, bad.any(axis=0), strict=True) if b]
        rows = frame.index.to_numpy()[bad_rows]
        first = bad[bad_rows].argmax(axis=1)
        shown = [
            f"{features[j]}={values[i, j]}"
            for i, j in zip(np.flatnonzero(bad_rows), first, strict=True)
        ]
        what = (
            f"{int(bad_rows.sum())} row(s) with a missing or non-finite feature value "
            f"(columns {cols}; {format_examples(rows, shown)})"
        )
        if missing == "error":
            raise SchemaError(f"{source}: {what}. Fix the file or pass missing='drop'.")
        frame = frame.loc[~bad_rows]
        notes.append(f"dropped {what} [missing='drop']")
        warn_user(f"{source}: dropped {what}.", DataWarning, stacklevel=stacklevel)

    dup, origin = _duplicated(frame)
    if dup.any():
        what = duplicates_text(np.flatnonzero(dup), origin, frame.index.to_numpy())
        if duplicates == "error":
            raise DataError(f"{source}: {what}. Pass duplicates='keep' or 'drop' to accept them.")
        if duplicates == "drop":
            frame = frame.loc[~dup]
            notes.append(f"dropped {what} [duplicates='drop']")
            warn_user(f"{source}: dropped {what}.", DataWarning, stacklevel=stacklevel)
        else:
            notes.append(f"kept {what} [duplicates='keep']")

    flux = frame[PEAK_FLUX].to_numpy(dtype=float, na_value=np.nan)
    bad_flux = ~(flux >= 0) | ~(flux < MAX_PEAK_FLUX)  # NaN fails both
    if bad_flux.any():  # readers check their flux column; this guards every path
        raise GOESClassError(
            f"{source}: {int(bad_flux.sum())} peak flux(es) outside 0 <= flux < "
            f"{MAX_PEAK_FLUX:g} W m^-2 (X10000): "
            f"{format_examples(frame.index[bad_flux], flux[bad_flux].tolist())}."
        )
    frame = frame.reset_index(drop=True)
    frame[TIME] = to_utc(frame[TIME], source=source, column=TIME)
    frame[NOAA_AR] = frame[NOAA_AR].astype("Int64")
    if HARPNUM in frame.columns:
        frame[HARPNUM] = frame[HARPNUM].astype("Int64")
    frame[GOES_CLASS] = frame[GOES_CLASS].astype(str)
    frame[PEAK_FLUX] = frame[PEAK_FLUX].astype(float)
    validate_labelled(frame, source, features)
    return Dataset(
        frame=frame,
        name=name,
        features=tuple(features),
        synthetic=synthetic,
        sha256=sha256,
        window=window,
        flaring_only=flaring_only,
        notes=tuple(notes),
    )
