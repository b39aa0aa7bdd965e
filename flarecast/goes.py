"""GOES X-ray flare classes <-> 1-8 Angstrom peak flux (W m^-2).

Classes are always compared as fluxes, never as strings: as text "X10" sorts
before "X2". The letter gives the decade (A 1e-8, B 1e-7, C 1e-6, M 1e-5,
X 1e-4 W m^-2) and the number multiplies it, so "M1.2" is 1.2e-5 W m^-2.

Spellings seen in real catalogues and accepted here:

- ``M1.2``, ``M1``, ``x2.4`` (case-insensitive), ``X10+`` (a lower bound, read as X10);
- a bare letter ``M`` when only the letter is known, read as the bottom of the decade (M1.0);
- FlareML's compact tenths ``X22`` = X2.2 (``compact=True``);
- NOAA XRS reports' ``M 99`` = M9.9 (letter, blank, tenths: ``compact=True``);
- ``N`` for "no flare" in label columns (``allow_none=True``), flux 0;
- missing markers ``""``, ``////``, ``--`` (``allow_missing=True``), flux NaN.

Operational GOES-13/14/15 fluxes (SWPC, HEK, NGDC lists, 2010 to early 2020)
carry a 0.7 factor that NCEI's reprocessed science data remove, so the same
flare can be M3.9 in one catalogue and M5.5 in another. This module does not
rescale; catalogue readers record which convention they carry.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from flarecast.errors import GOESClassError, format_examples

__all__ = [
    "LETTERS",
    "BASE_FLUX",
    "parse_goes_class",
    "flux_to_class",
    "class_letter",
]

#: GOES class letters in increasing order of flux.
LETTERS: tuple[str, ...] = ("A", "B", "C", "M", "X")
#: Flux of magnitude 1.0 of each letter, W m^-2.
BASE_FLUX: dict[str, float] = {"A": 1e-8, "B": 1e-7, "C": 1e-6, "M": 1e-5, "X": 1e-4}

_MISSING = {"", "////", "--", "nan", "none", "<na>"}
# ASCII digits only: \d would also match other scripts' digits, which do not parse as numbers.
_PATTERN = r"^([ABCMX])(\s*)([0-9]+(?:\.[0-9]*)?)?(\+?)$"


def parse_goes_class(
    values: Iterable[object] | str,
    *,
    compact: bool = False,
    allow_none: bool = False,
    allow_missing: bool = False,
    source: str | None = None,
    column: str | None = None,
) -> np.ndarray:
    """Parse GOES class strings into peak fluxes.

    Parameters
    ----------
    values : str or iterable of str, shape (n,)
        Class strings such as ``"M1.2"``.
    compact : bool, default False
        Read integer magnitudes as tenths (FlareML ``"X22"`` = X2.2, NOAA XRS
        ``"M 99"`` = M9.9). Magnitudes with a decimal point are read as written.
    allow_none : bool, default False
        Accept ``"N"`` (no flare in the window) as flux 0.
    allow_missing : bool, default False
        Accept empty strings, ``"////"`` and ``"--"`` as NaN.
    source, column : str, optional
        File and column named in error messages.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        Peak flux in W m^-2 (a scalar string gives shape (1,)).

    Raises
    ------
    GOESClassError
        If any value cannot be parsed; the message lists the row numbers and
        values, and nothing is dropped silently.
    """
    if isinstance(values, str):
        values = [values]
    raw = pd.Series(list(values), dtype=object)
    text = raw.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    text = text.str.strip().str.upper()
    flux = np.full(len(text), np.nan)

    missing = text.str.lower().isin(_MISSING).to_numpy()
    none = (text == "N").to_numpy()
    parts = text.str.extract(_PATTERN)
    matched = parts[0].notna().to_numpy()

    letter = parts[0].fillna("A")
    has_number = parts[2].notna().to_numpy()
    number = pd.to_numeric(parts[2], errors="coerce").to_numpy(dtype=float)
    has_dot = parts[2].fillna("").str.contains(".", regex=False).to_numpy()
    spaced = parts[1].fillna("").str.len().to_numpy() > 0
    # A blank between letter and digits is the XRS-report layout ("M 99"); it
    # is only legal there, as tenths.
    tenths = compact & has_number & ~has_dot
    magnitude = np.where(has_number, np.where(tenths, number / 10.0, number), 1.0)
    base = letter.map(BASE_FLUX).to_numpy(dtype=float)

    is_x = (letter == "X").to_numpy()
    # A magnitude too long for float64 is inf: not a flux.
    bad_magnitude = (
        matched
        & has_number
        & (~np.isfinite(magnitude) | (magnitude <= 0) | (~is_x & (magnitude >= 10)))
    )
    bad_spacing = matched & spaced & ~(compact & has_number & ~has_dot)
    ok = matched & ~bad_magnitude & ~bad_spacing
    flux[ok] = magnitude[ok] * base[ok]

    bad = ~ok
    if allow_none:
        flux[none] = 0.0
        bad &= ~none
    if allow_missing:
        bad &= ~missing
    if bad.any():
        rows = np.flatnonzero(bad)
        where = f" in {source}" if source else ""
        col = f", column {column!r}" if column else ""
        legal = "a letter A/B/C/M/X with an optional magnitude in (0, 10) (X open-ended), e.g. 'M1.2', 'X10+'"
        if compact:
            legal += "; integer magnitudes are tenths ('X22' = X2.2)"
        if allow_none:
            legal += "; 'N' for no flare"
        raise GOESClassError(
            f"{len(rows)} invalid GOES class value(s){where}{col}: "
            f"{format_examples(rows, raw.iloc[rows].tolist())}. Expected {legal}."
        )
    return flux


def class_letter(flux: Iterable[float] | np.ndarray) -> np.ndarray:
    """GOES letter of each flux: ``"A"`` .. ``"X"``, ``"N"`` for 0 (no flare), ``""`` for NaN.

    Parameters
    ----------
    flux : array-like of float, shape (n,)
        Peak flux in W m^-2.

    Returns
    -------
    numpy.ndarray of str, shape (n,)
    """
    f = np.asarray(flux, dtype=float)
    edges = np.array([1e-7, 1e-6, 1e-5, 1e-4])
    # A tiny relative tolerance so that 1e-5 computed as 10 * 1e-6 is still M.
    idx = np.searchsorted(edges, f * (1 + 1e-9), side="right")
    out = np.array(LETTERS, dtype=object)[np.clip(idx, 0, 4)]
    out = np.where(f == 0, "N", out)
    out = np.where(np.isnan(f), "", out)
    return out.astype(str)


def flux_to_class(flux: Iterable[float] | np.ndarray) -> np.ndarray:
    """Format fluxes as GOES class strings with one decimal (``1.2e-5`` -> ``"M1.2"``).

    The magnitude is truncated to one decimal, as NOAA does, so a class string
    never rounds up into the next letter. Flux 0 gives ``"N"``, NaN gives ``""``.
    Parameters and result as for :func:`class_letter`: fluxes in W m^-2, shape (n,),
    one string per flux.
    """
    f = np.asarray(flux, dtype=float)
    if np.any(f < 0):
        raise GOESClassError(
            f"Negative flux cannot be a GOES class: {format_examples(np.flatnonzero(f < 0), f[f < 0])}."
        )
    letters = class_letter(f)
    base = np.array([BASE_FLUX.get(x, np.nan) for x in letters])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mag = np.floor(f / base * 10 * (1 + 1e-9)) / 10
    out = np.array(
        [f"{ltr}{m:.1f}" if ltr in BASE_FLUX else ltr for ltr, m in zip(letters, mag, strict=True)]
    )
    return out.astype(str)
