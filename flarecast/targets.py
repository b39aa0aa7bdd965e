"""Binary flare targets from a labelled table: ">= M1.0" against chosen weaker classes.

A labelled table gives each sample the largest GOES class in its forecast
window (``N`` when there was none). The usual target (e.g. Bobra & Couvidat
2015; Liu et al. 2019) is *M or X flare* (positive) against *C flare*
(negative), leaving the quieter rows out. flarecast makes both halves explicit:

- **positive**: peak flux ``>= positive_threshold`` (default ``"M1.0"``);
- **negative**: the letter is one of ``negatives`` (default ``("C",)``) *and*
  the flux is below the threshold;
- every other row is left out and counted per letter in :attr:`Targets.dropped`.

Classes are compared as fluxes, never as strings. A negative letter may
straddle the threshold on purpose: with ``negatives=("C", "M")`` and
``positive_threshold="M5.0"``, M1.0-M4.9 rows are negatives and M5.0+ rows
positives. A letter that lies wholly at or above the threshold (``"M"`` with
``"M1.0"``) can never be negative, so asking for it is an error, not a no-op.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX, TIME, Dataset
from flarecast.errors import (
    ConfigError,
    DataError,
    GOESClassError,
    SchemaError,
    format_examples,
    refuse_rows,
)
from flarecast.goes import class_letter, flux_to_class, parse_goes_class

__all__ = ["LABEL_LETTERS", "Targets", "make_targets", "parse_negatives"]

#: Letters a label can carry, in increasing flux; "N" is "no flare in the window".
LABEL_LETTERS: tuple[str, ...] = ("N", "A", "B", "C", "M", "X")
# Flux range [low, high) of each letter, W m^-2 ("N" is exactly 0).
_LOW = {"N": 0.0, "A": 0.0, "B": 1e-7, "C": 1e-6, "M": 1e-5, "X": 1e-4}
_HIGH = {"N": 0.0, "A": 1e-7, "B": 1e-6, "C": 1e-5, "M": 1e-4, "X": np.inf}
# Fluxes computed as 10**log_intensity can miss a class boundary by one ulp; "M1.0" must still count.
_RTOL = 1e-9


@dataclasses.dataclass(frozen=True)
class Targets:
    """A binary target over the kept rows of a labelled table.

    Attributes
    ----------
    frame : pandas.DataFrame, shape (n, n_columns)
        The kept rows, index reset to ``0..n-1``; features are read from here.
    y : numpy.ndarray of int8, shape (n,)
        1 where the peak flux is ``>= threshold``, else 0.
    letter : numpy.ndarray of str, shape (n,)
        GOES letter of each kept row ("N", "A" .. "X"), for per-class recall.
    groups : numpy.ndarray of int64, shape (n,)
        NOAA active-region number of each row, for region-grouped splits.
    times : pandas.Series of datetime64[UTC], shape (n,)
        Sample time of each row, for chronological splits.
    dropped : dict of str to int
        Rows left out per letter (every letter of :data:`LABEL_LETTERS`, zeros included).
    definition : str
        Human-readable rule, e.g. ``"positive: >= M1.0; negative: C"``.
    threshold : float
        The positive threshold as a flux, W m^-2.
    negatives : tuple of str
        The negative letters, in flux order.
    """

    frame: pd.DataFrame
    y: np.ndarray
    letter: np.ndarray
    groups: np.ndarray
    times: pd.Series
    dropped: dict[str, int]
    definition: str
    threshold: float = 1e-5
    negatives: tuple[str, ...] = ("C",)

    @property
    def n_positive(self) -> int:
        """Number of positive rows."""
        return int(self.y.sum())

    @property
    def n_negative(self) -> int:
        """Number of negative rows."""
        return int(len(self.y) - self.y.sum())


def parse_negatives(value: str | Iterable[str]) -> tuple[str, ...]:
    """Parse and validate negative class letters.

    Parameters
    ----------
    value : str or iterable of str
        Letters such as ``"A,B,C,N"`` (commas and/or blanks, any case) or ``("C", "M")``.

    Returns
    -------
    tuple of str
        Distinct letters in flux order (``N`` first), e.g. ``("N", "A", "B", "C")``.

    Raises
    ------
    ConfigError
        If the value is empty or holds anything but the letters N, A, B, C, M, X.
    """
    items = [value] if isinstance(value, str) else list(value)
    tokens = [t for item in items for t in re.split(r"[\s,]+", str(item).strip().upper()) if t]
    if not tokens:
        raise ConfigError(
            f"The 'negatives' option needs at least one class letter such as 'C' or 'A,B,C,N'. "
            f"Got {value!r} instead."
        )
    unknown = [t for t in tokens if t not in LABEL_LETTERS]
    if unknown:
        hint = ""
        if any(re.fullmatch(r"[ABCMX]\d.*", t) for t in unknown):
            hint = (
                " Negatives are whole letters; to split a letter at a flux, set the positive "
                "threshold instead (e.g. negatives 'C,M' with threshold 'M5.0')."
            )
        raise ConfigError(
            f"Unknown letter(s) {unknown} in negatives {value!r}; legal letters are "
            f"N (no flare), A, B, C, M, X.{hint}"
        )
    return tuple(letter for letter in LABEL_LETTERS if letter in tokens)


def _threshold_flux(positive_threshold: str) -> float:
    if not isinstance(positive_threshold, str):
        raise ConfigError(
            "The 'positive_threshold' parameter must be a GOES class string such as 'M1.0'. "
            f"Got {positive_threshold!r} instead."
        )
    try:
        return float(parse_goes_class(positive_threshold)[0])
    except GOESClassError as exc:
        raise ConfigError(
            "The 'positive_threshold' parameter must be a GOES class such as 'M1.0', 'M5.0' or "
            f"'X1.0'. Got {positive_threshold!r} instead."
        ) from exc


def _row_flux(frame: pd.DataFrame, source: str) -> np.ndarray:
    """Peak flux of each row: the ``peak_flux`` column, else parsed from ``goes_class``."""
    if PEAK_FLUX in frame.columns:
        flux = pd.to_numeric(frame[PEAK_FLUX], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        refuse_rows(
            ~np.isfinite(flux) | (flux < 0),
            f"{source}: column {PEAK_FLUX!r} must hold fluxes >= 0 W m^-2 (0 = no flare); "
            "bad values at",
            values=frame[PEAK_FLUX].to_numpy(dtype=object),
        )
        return flux
    return parse_goes_class(frame[GOES_CLASS], allow_none=True, source=source, column=GOES_CLASS)


def make_targets(
    frame_or_dataset: pd.DataFrame | Dataset,
    negatives: Sequence[str] | str = ("C",),
    positive_threshold: str = "M1.0",
) -> Targets:
    """Build the binary target ``flux >= positive_threshold`` against the ``negatives`` letters.

    Parameters
    ----------
    frame_or_dataset : pandas.DataFrame or Dataset
        A canonical labelled table (``time``, ``noaa_ar`` and ``peak_flux`` or
        ``goes_class``; see :mod:`flarecast.data.schema`).
    negatives : sequence of str or str, default ("C",)
        Letters whose rows below the threshold are negatives (see :func:`parse_negatives`).
    positive_threshold : str, default "M1.0"
        Smallest positive class; compared as a flux.

    Returns
    -------
    Targets
        The kept rows (positives and negatives, table order), their labels, letters,
        regions, times and the per-letter count of rows left out.

    Raises
    ------
    ConfigError
        Bad letters or threshold, or a negative letter lying wholly at or above the threshold.
    SchemaError
        A required column is missing.
    DataError
        Bad fluxes, missing region numbers among kept rows, or no positive / no negative row.
    """
    if isinstance(frame_or_dataset, Dataset):
        frame, source = frame_or_dataset.frame, repr(frame_or_dataset.name)
    elif isinstance(frame_or_dataset, pd.DataFrame):
        frame, source = frame_or_dataset, "the labelled table"
    else:
        raise ConfigError(
            f"make_targets needs a pandas DataFrame or a flarecast Dataset. Got {type(frame_or_dataset).__name__}."
        )
    neg = parse_negatives(negatives)
    thr = _threshold_flux(positive_threshold)
    thr_text = str(flux_to_class([thr])[0])
    never = [ltr for ltr in neg if ltr != "N" and thr <= _LOW[ltr] * (1 + _RTOL)]
    if never:
        edge = str(flux_to_class([_LOW[never[-1]]])[0])
        raise ConfigError(
            f"Negative letter(s) {never} lie wholly at or above the positive threshold {thr_text}, "
            f"so their rows could never be negative. Drop them from negatives, or set "
            f"positive_threshold above {edge} (for example negatives 'C,M' with threshold 'M5.0' "
            "makes M1.0-M4.9 negative and M5.0+ positive)."
        )
    missing = [c for c in (TIME, NOAA_AR) if c not in frame.columns]
    if GOES_CLASS not in frame.columns and PEAK_FLUX not in frame.columns:
        missing.append(f"{PEAK_FLUX} (or {GOES_CLASS})")
    if missing:
        raise SchemaError(f"{source}: missing column(s) {missing} needed for targets.")

    flux = _row_flux(frame, source)
    letters = class_letter(flux)
    positive = flux >= thr * (1 - _RTOL)
    negative = ~positive & np.isin(letters, neg)
    keep = positive | negative
    counts = {ltr: int((letters == ltr).sum()) for ltr in LABEL_LETTERS}
    if not positive.any() or not negative.any():
        if not positive.any():
            which = f"positive (flux >= {thr_text})"
            fix = "Lower positive_threshold (--positive-threshold) or use a data set with larger flares."
        else:
            which = f"negative (letter in {list(neg)}, flux < {thr_text})"
            fix = "Add letters to negatives (--negatives), e.g. 'A,B,C,N', or raise positive_threshold."
        shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        raise DataError(
            f"{source}: no {which} rows among {len(flux)} rows ({int(positive.sum())} positive, "
            f"{int(negative.sum())} negative; class counts: {shown or 'none'}). {fix}"
        )

    kept = frame.loc[keep].reset_index(drop=True)
    regions = kept[NOAA_AR]
    if regions.isna().any():
        rows = np.flatnonzero(keep)[np.flatnonzero(regions.isna().to_numpy())]
        raise DataError(
            f"{source}: column {NOAA_AR!r} is missing for kept rows at "
            f"{format_examples(rows, ['<NA>'] * len(rows))}; region-grouped splits need a region "
            "for every sample."
        )
    parts = [ltr if thr >= _HIGH[ltr] or ltr == "N" else f"{ltr} < {thr_text}" for ltr in neg]
    return Targets(
        frame=kept,
        y=positive[keep].astype(np.int8),
        letter=letters[keep],
        groups=regions.to_numpy(dtype=np.int64),
        times=kept[TIME],
        dropped={ltr: int(((letters == ltr) & ~keep).sum()) for ltr in LABEL_LETTERS},
        definition=f"positive: >= {thr_text}; negative: {', '.join(parts)}",
        threshold=thr,
        negatives=neg,
    )
