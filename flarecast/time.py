"""Time at the boundary: every time flarecast reads becomes timezone-aware UTC here.

One parser for times (:func:`to_utc`), one for JSOC's TAI record times
(:func:`tai_to_utc`, and back with :func:`utc_to_tai`) and one for durations
(:func:`parse_duration`). Every reader, the forecast and the retrain command
use them, so the rules are the same everywhere:

- A time must be **written out as a date** (it starts with a digit).
  pandas reads ``now`` and ``today`` (even with ``format=``) as the wall-clock
  time of the run, which would move a record or a flare to the day the file
  happens to be read; such words are refused like any other unparseable text.
- A time without a zone (a **naive** time) is refused (``naive="refuse"``),
  or read as UTC (``naive="utc"``) where the source documents that its times
  are UTC. A time with a zone is converted to UTC.
- Times are ``datetime64[ns]``: a time outside 1677-09-21 .. 2262-04-11 is an
  error rather than an overflow.
- Epoch numbers are refused: seconds, milliseconds or TAI cannot be told apart.
  A reader that knows its numbers are Unix seconds converts them itself.
- A **duration** needs a unit (``24h``, ``90min``, ``1d``): pandas reads a
  bare ``24`` as 24 nanoseconds.

No torch; no flarecast module but :mod:`flarecast.errors`.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError, DataError, format_examples
from flarecast.zulu_times import zulu_times

__all__ = [
    "NAIVE_POLICIES",
    "NS_RANGE",
    "to_utc",
    "tai_to_utc",
    "utc_to_tai",
    "parse_duration",
    "format_hours",
]

#: Legal values of ``naive=``.
NAIVE_POLICIES: tuple[str, ...] = ("refuse", "utc")
#: What ``datetime64[ns, UTC]`` can hold.
NS_RANGE = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))
_RANGE_TEXT = f"{NS_RANGE[0]:%Y-%m-%d} .. {NS_RANGE[1]:%Y-%m-%d} (UTC)"
_TZ_SUFFIX = r"(?:[Zz]|UTC|GMT|[+-]\d{2}:?\d{2})$"
_WORDS_NOTE = "a date written out (words such as 'now' or 'today' are not times)"
_NAIVE_HINT = "Add 'Z' (UTC) or an offset such as '+00:00'."
#: Called with (bool mask of rows, reason) for each kind of bad cell instead of raising.
OnBad = Callable[[np.ndarray, str], None]


def to_utc(
    values: Any,
    *,
    naive: str = "refuse",
    source: str = "input",
    column: str = "time",
    fmt: str | None = None,
    allow_missing: bool = False,
    on_bad: OnBad | None = None,
    naive_hint: str = _NAIVE_HINT,
) -> Any:
    """Parse times (text or datetimes) into timezone-aware UTC, refusing anything not written as a date.

    Parameters
    ----------
    values : pandas.Series, array-like or scalar
        Text, ``datetime64`` (naive or aware) or Timestamps. A scalar
        (``str``, ``datetime``, ``Timestamp``) gives a scalar back.
    naive : {"refuse", "utc"}, default "refuse"
        What a time without a zone means: an error, or UTC (only where the
        source documents that its times are UTC).
    source, column : str
        The file and column (for a scalar: the parameter or option) named in errors.
    fmt : str, optional
        A ``strftime`` format the text must follow; default ISO 8601.
    allow_missing : bool, default False
        Empty cells and NA become NaT instead of an error.
    on_bad : callable, optional
        ``on_bad(mask, reason)`` is called for each kind of bad cell and those
        cells become NaT, instead of one :class:`DataError` for all of them
        (catalogue readers collect bad rows this way).
    naive_hint : str
        The fix suggested for naive times.

    Returns
    -------
    pandas.Series of datetime64[ns, UTC] (same index), or pandas.Timestamp for a scalar

    Raises
    ------
    DataError
        Naming the source, column, rows and values (a Series).
    ConfigError
        For a scalar, naming the parameter.
    """
    if naive not in NAIVE_POLICIES:
        raise ConfigError(
            f"The 'naive' parameter must be one of {list(NAIVE_POLICIES)}. Got {naive!r} instead."
        )
    if values is None or isinstance(values, str | _dt.datetime | _dt.date | np.datetime64):
        return _scalar(values, naive=naive, column=column, fmt=fmt)
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    problems: list[tuple[np.ndarray, str, str]] = []  # (mask, reason, kind)
    out = _parse(series, naive, fmt, allow_missing, problems, naive_hint)
    if problems:
        if on_bad is not None:
            for mask, reason, _ in problems:
                on_bad(mask, reason)
        else:
            _raise(series, problems, source=source, column=column, fmt=fmt)
        bad = np.logical_or.reduce([m for m, _, _ in problems])
        out = out.where(~bad)
    return out


def _parse(
    series: pd.Series,
    naive: str,
    fmt: str | None,
    allow_missing: bool,
    problems: list[tuple[np.ndarray, str, str]],
    naive_hint: str,
) -> pd.Series:
    index = series.index
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        parsed = series.dt.tz_convert("UTC")
        missing = parsed.isna().to_numpy()
    elif pd.api.types.is_datetime64_dtype(dtype):
        missing = series.isna().to_numpy()
        if naive == "refuse" and (~missing).any():
            problems.append((~missing, f"no time zone; {naive_hint}", "naive"))
        parsed = series.dt.tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        missing = np.zeros(len(series), dtype=bool)
        problems.append(
            (
                np.ones(len(series), dtype=bool),
                "a number: epoch numbers are ambiguous (s? ms? TAI?); write ISO 8601 times "
                "with a zone, e.g. '2014-01-01T00:12:00Z'",
                "numeric",
            )
        )
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    else:
        if fmt in (None, "ISO8601") and (zulu := zulu_times(series)) is not None:
            return zulu
        text = series.astype("str").str.strip()
        missing = (series.isna() | (text == "")).to_numpy(dtype=bool)
        written = text.str.match(r"[+-]?[0-9]").fillna(False).to_numpy(dtype=bool)
        words = ~written & ~missing
        if words.any():
            problems.append((words, f"expected {_expected(fmt)}", "unparseable"))
        parsed = pd.to_datetime(
            text.where(written, None), format=fmt or "ISO8601", utc=True, errors="coerce"
        )
        failed = parsed.isna().to_numpy() & written
        if failed.any():
            problems.append((failed, f"expected {_expected(fmt)}", "unparseable"))
        if naive == "refuse":
            zoned = text.str.contains(_TZ_SUFFIX, regex=True).fillna(False).to_numpy(dtype=bool)
            no_zone = written & ~failed & ~zoned
            if no_zone.any():
                problems.append((no_zone, f"no time zone; {naive_hint}", "naive"))
    if missing.any() and not allow_missing:
        problems.append((missing, "missing", "missing"))
    lo, hi = NS_RANGE
    outside = (parsed.notna() & ((parsed < lo) | (parsed > hi))).to_numpy(dtype=bool)
    if outside.any():
        problems.append((outside, f"outside {_RANGE_TEXT}", "outside"))
        parsed = parsed.where(~outside)
    return parsed.dt.as_unit("ns").set_axis(index)


def _expected(fmt: str | None) -> str:
    return f"format {fmt!r}" if fmt and fmt != "ISO8601" else "an ISO 8601 time"


def _shown(series: pd.Series, mask: np.ndarray) -> list[Any]:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        # numpy formats any year; a Timestamp beyond 9999 cannot even repr itself.
        zone = "Z" if series.dt.tz is not None else ""
        values = series.dt.tz_localize(None) if zone else series
        return [str(v) + zone for v in np.datetime_as_string(values.to_numpy()[mask])]
    return series.astype("str").to_numpy(dtype=object)[mask].tolist()


def _raise(
    series: pd.Series,
    problems: list[tuple[np.ndarray, str, str]],
    *,
    source: str,
    column: str,
    fmt: str | None,
) -> None:
    mask, reason, kind = problems[0]
    # One message per kind; the first kind found is reported (the file is fixed one kind at a time).
    for m, _, k in problems[1:]:
        if k == kind:
            mask = mask | m
    rows = series.index.to_numpy()[mask]
    examples = format_examples(rows, _shown(series, mask))
    n = int(mask.sum())
    head = f"{source}: column {column!r} has {n}"
    if kind == "unparseable":
        raise DataError(
            f"{head} unparseable time(s): {examples}. Expected {_expected(fmt)}, {_WORDS_NOTE}."
        )
    if kind == "outside":
        raise DataError(
            f"{head} time(s) outside {_RANGE_TEXT}, the range flarecast can represent: {examples}."
        )
    if kind == "naive" and pd.api.types.is_datetime64_dtype(series.dtype):
        raise DataError(
            f"{source}: column {column!r} holds timezone-naive datetimes ({n}: {examples}). "
            f"{reason.split('; ', 1)[1]}"
        )
    if kind == "naive":
        raise DataError(f"{head} time(s) without a zone: {examples}. {reason.split('; ', 1)[1]}")
    if kind == "missing":
        raise DataError(f"{head} missing time(s): {examples}. Every row needs a time.")
    raise DataError(f"{head} numeric time(s): {examples}. Expected {reason.split(': ', 1)[1]}.")


def _scalar(value: Any, *, naive: str, column: str, fmt: str | None) -> pd.Timestamp:
    example = "'2014-01-01T00:00Z'"
    if isinstance(value, str):
        text = value.strip()
        if not re.match(r"[+-]?[0-9]", text):
            raise ConfigError(
                f"The {column!r} parameter must be a time written out as a date, such as {example} "
                f"(words such as 'now' or 'today' are not times). Got {value!r} instead."
            )
        stamp = pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce", utc=False)
        zoned = re.search(_TZ_SUFFIX, text) is not None
    else:
        stamp = pd.Timestamp(value) if value is not None else pd.NaT
        zoned = stamp is not pd.NaT and stamp.tzinfo is not None
    if stamp is pd.NaT or stamp is None:
        raise ConfigError(
            f"The {column!r} parameter must be a time such as {example}. Got {value!r} instead."
        )
    stamp = pd.Timestamp(stamp)
    if stamp.tzinfo is None:
        if naive == "refuse" and not zoned:
            raise ConfigError(
                f"The {column!r} parameter must be timezone-aware (UTC), e.g. {example}. "
                f"Got naive {stamp.isoformat()} instead."
            )
        stamp = stamp.tz_localize("UTC")
    stamp = stamp.tz_convert("UTC")
    lo, hi = NS_RANGE
    if not lo <= stamp <= hi:
        raise ConfigError(
            f"The {column!r} parameter must be a time in {_RANGE_TEXT}. Got {value!r} instead."
        )
    return stamp.as_unit("ns")


# --------------------------------------------------------------------------- TAI

# TAI - UTC (IERS Bulletin C) from the UTC instant it took effect; no leap second since 2017.
_LEAPS = (
    ("1996-01-01", 30), ("1997-07-01", 31), ("1999-01-01", 32), ("2006-01-01", 33),
    ("2009-01-01", 34), ("2012-07-01", 35), ("2015-07-01", 36), ("2017-01-01", 37),
)  # fmt: skip
_LEAP_UTC = np.array([pd.Timestamp(d).value for d, _ in _LEAPS], dtype=np.int64)
_LEAP_SECONDS = np.array([s for _, s in _LEAPS], dtype=np.int64)
_LEAP_TAI = _LEAP_UTC + _LEAP_SECONDS * 1_000_000_000


def _offset(instants: np.ndarray, thresholds: np.ndarray, what: str) -> np.ndarray:
    idx = np.searchsorted(thresholds, instants, side="right") - 1
    if (idx < 0).any():
        raise DataError(
            f"{what} before 1996 are outside flarecast's leap-second table (TAI - UTC from 1996)."
        )
    return _LEAP_SECONDS[idx] * 1_000_000_000


def tai_to_utc(
    values: Any, *, source: str = "T_REC", column: str = "T_REC", on_bad: OnBad | None = None
) -> pd.Series:
    """Convert JSOC TAI record times (``2014.01.01_00:12:00_TAI``, seconds optional) to UTC.

    Parameters
    ----------
    values : sequence of str or pandas.Series
    source, column : str
        Named in errors.
    on_bad : callable, optional
        As for :func:`to_utc`: bad cells become NaT and are reported to it.

    Returns
    -------
    pandas.Series of datetime64[ns, UTC]
        ``T_REC - (TAI - UTC)``, e.g. 37 s since 2017; same index as ``values``.

    Raises
    ------
    DataError
        Naming the rows that are not TAI record times written out as dates.
    """
    text = pd.Series(values).astype("str").str.strip()
    body = text.str.replace(r"_TAI$", "", regex=True)
    written = body.str.match(r"[+-]?[0-9]").fillna(False).to_numpy(dtype=bool)
    body = body.where(written, None)
    parsed = pd.to_datetime(body, format="%Y.%m.%d_%H:%M:%S", errors="coerce")
    short = parsed.isna()
    if short.any():
        parsed[short] = pd.to_datetime(body[short], format="%Y.%m.%d_%H:%M", errors="coerce")
    bad = parsed.isna().to_numpy() | ~text.str.endswith("_TAI").fillna(False).to_numpy(dtype=bool)
    if bad.any():
        reason = "expected a JSOC TAI record time written out, e.g. '2014.01.01_00:12:00_TAI'"
        if on_bad is None:
            raise DataError(
                f"{source}: column {column!r} has {int(bad.sum())} time(s) that are not JSOC TAI "
                f"record times: {format_examples(np.flatnonzero(bad), text.to_numpy()[bad])}. "
                "Expected e.g. '2014.01.01_00:12:00_TAI'."
            )
        on_bad(bad, reason)
        parsed = parsed.where(~bad)
    tai = parsed.dt.as_unit("ns").to_numpy().view(np.int64)
    utc = tai - np.where(bad, 0, _offset(np.where(bad, _LEAP_TAI[-1], tai), _LEAP_TAI, "TAI times"))
    out = pd.Series(pd.to_datetime(utc, unit="ns", utc=True), index=text.index)
    return out.where(~bad)


def utc_to_tai(values: pd.Series) -> pd.Series:
    """UTC times -> TAI clock labels (naive datetimes), the inverse of :func:`tai_to_utc`."""
    utc = pd.Series(values).dt.tz_convert("UTC").dt.as_unit("ns").array.asi8
    tai = utc + _offset(np.asarray(utc), _LEAP_UTC, "UTC times")
    return pd.Series(pd.to_datetime(tai, unit="ns"))


# --------------------------------------------------------------------------- durations

_DURATION = re.compile(
    r"\s*-?\s*(?:\d+(?:\.\d*)?|\.\d+)\s*[A-Za-z]+(?:\s*(?:\d+(?:\.\d*)?|\.\d+)\s*[A-Za-z]+)*\s*"
)
_DURATION_FORMS = "'24h', '90min', '1d', '30s' or '1h30min'"


def parse_duration(
    value: str | pd.Timedelta | _dt.timedelta, *, name: str, positive: bool = False
) -> pd.Timedelta:
    """A duration with a unit (``24h``, ``90min``, ``1d``); a bare number is refused.

    Parameters
    ----------
    value : str, pandas.Timedelta or datetime.timedelta
        Text must give a unit with every number (``"0"`` alone is accepted:
        zero is zero in any unit).
    name : str
        The parameter or option named in errors (e.g. ``"--horizon"``).
    positive : bool, default False
        Require > 0 instead of >= 0.

    Raises
    ------
    ConfigError
        Naming ``name``, the value and the legal forms.
    """
    need = "> 0" if positive else ">= 0"
    step = None
    if isinstance(value, pd.Timedelta | _dt.timedelta):
        step = pd.Timedelta(value)
    elif isinstance(value, str) and (_DURATION.fullmatch(value) or value.strip() == "0"):
        try:
            # pandas 3 deprecates the lower-case day unit 'd' in favour of 'D'.
            step = pd.Timedelta(re.sub(r"(?<=[\d.\s])d(?![a-z])", "D", value.strip()))
        except (ValueError, TypeError):
            step = None
    if step is None or pd.isna(step):
        raise ConfigError(
            f"The {name!r} parameter must be a duration such as {_DURATION_FORMS}: a number "
            f"with a unit (a bare number is ambiguous). Got {value!r} instead."
        )
    if step < pd.Timedelta(0) or (positive and step == pd.Timedelta(0)):
        raise ConfigError(
            f"The {name!r} parameter must be a duration {need} such as {_DURATION_FORMS}. "
            f"Got {value!r} instead."
        )
    return step


def format_hours(step: pd.Timedelta) -> str:
    """``Timedelta('1 day')`` -> ``"24h"``."""
    return f"{step / pd.Timedelta('1h'):g}h"
