"""Fetch SHARP keyword series from JSOC with ``drms`` (optional extra ``flarecast[jsoc]``).

:func:`fetch_sharp` builds one keyword query per time chunk (and per HARP when
HARPs are given), e.g.::

    hmi.sharp_cea_720s[][2014.01.01_00:00:00_TAI/30d@1h]

sends it through a ``drms.Client`` (or any object with the same
``query(ds, key=[...], skip_conversion=[...]) -> DataFrame`` method, so tests
can inject one),
retries failed chunks, and turns the responses into the canonical series of
:mod:`flarecast.data.sharp.series`: ``T_REC`` (``2014.01.01_00:12:00_TAI``) is
converted from TAI to UTC once, ``NOAA_AR`` 0 becomes <NA>, and the usual
filters apply (``QUALITY == 0``, ``|LON_FWT| <= 70`` deg, no missing keyword),
each counted in ``attrs["dropped"]``.

``start`` and ``end`` select record slots by their ``T_REC`` label (JSOC's TAI
clock, as JSOC queries are written); chunks are half-open ``start/duration``
intervals, so no record is fetched twice. ``drms`` calls
``logging.basicConfig`` when imported, so it is imported only when a query is
actually sent. A keyword query needs no registered e-mail address.

The near-real-time series (``..._nrt``) have different HARP numbers from the
definitive ones: join them to flares by ``noaa_ar``, not ``harpnum``.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import HARPNUM, NOAA_AR, TIME
from flarecast.data.sharp.series import QUALITY, clean_series
from flarecast.errors import ConfigError, DataError, DownloadError
from flarecast.time import parse_duration, tai_to_utc, to_utc

__all__ = [
    "SERIES",
    "DEFAULT_KEYWORDS",
    "jsoc_query",
    "make_client",
    "fetch_sharp",
    "series_from_response",
]

SERIES: tuple[str, ...] = (
    "hmi.sharp_cea_720s",
    "hmi.sharp_cea_720s_nrt",
    "hmi.sharp_720s",
    "hmi.sharp_720s_nrt",
)
#: The space-weather keywords of Bobra & Couvidat (2015) carried by the SHARP series.
DEFAULT_KEYWORDS: tuple[str, ...] = (
    "USFLUX", "MEANGAM", "MEANGBT", "MEANGBZ", "MEANGBH", "MEANJZD", "TOTUSJZ", "MEANALP", "MEANJZH",
    "TOTUSJH", "ABSNJZH", "SAVNCPP", "MEANPOT", "TOTPOT", "MEANSHR", "SHRGT45", "R_VALUE", "AREA_ACR",
)  # fmt: skip
_META_KEYS: tuple[str, ...] = (
    "HARPNUM",
    "T_REC",
    "NOAA_AR",
    "NOAA_ARS",
    "QUALITY",
    "LON_FWT",
    "LAT_FWT",
)
_SLOT = pd.Timedelta("12min")  # the 720 s series' record cadence


def _jsoc_duration(step: pd.Timedelta) -> str:
    seconds = int(step.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def jsoc_query(
    series: str,
    start: pd.Timestamp,
    duration: pd.Timedelta,
    cadence: pd.Timedelta,
    harpnum: int | None = None,
) -> str:
    """The record-set string for one chunk, e.g. ``hmi.sharp_cea_720s[377][2014.01.01_00:00:00_TAI/30d@1h]``.

    ``start`` is the T_REC label of the first slot (its clock reading is used as TAI).
    """
    label = (
        pd.Timestamp(start).tz_localize(None) if pd.Timestamp(start).tzinfo else pd.Timestamp(start)
    )
    harp = "" if harpnum is None else str(int(harpnum))
    return f"{series}[{harp}][{label:%Y.%m.%d_%H:%M:%S}_TAI/{_jsoc_duration(duration)}@{_jsoc_duration(cadence)}]"


def make_client(server_url: str | None = None) -> Any:
    """A ``drms.Client`` for JSOC, or for the DRMS server whose CGI folder is ``server_url``.

    Raises
    ------
    ConfigError
        If ``drms`` is not installed.
    """
    try:
        import drms  # imported here: it configures logging on import
    except ImportError as exc:
        raise ConfigError(
            "Fetching SHARP series from JSOC needs the optional 'drms' package: "
            "pip install 'flarecast[jsoc]'."
        ) from exc
    if server_url is None:
        return drms.Client()
    base = server_url if server_url.endswith("/") else server_url + "/"
    config = drms.ServerConfig(name="flarecast-drms", cgi_baseurl=base, cgi_jsoc_info="jsoc_info")
    return drms.Client(server=config)


def fetch_sharp(
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    series: str = "hmi.sharp_cea_720s",
    keywords: Sequence[str] = DEFAULT_KEYWORDS,
    cadence: str | pd.Timedelta = "1h",
    harpnums: Sequence[int] | None = None,
    chunk: str | pd.Timedelta = "30D",
    retries: int = 3,
    max_abs_lon: float | None = 70.0,
    quality_zero: bool = True,
    client: Any | None = None,
    server_url: str | None = None,
    sleep: Callable[[float], None] = _time.sleep,
) -> pd.DataFrame:
    """Fetch a SHARP keyword series from JSOC, chunked by time, with retries and the usual filters.

    Parameters
    ----------
    start, end : str or pandas.Timestamp
        T_REC labels bounding the records, ``[start, end)``.
    series : str, default "hmi.sharp_cea_720s"
        One of :data:`SERIES` (``..._nrt`` for near-real-time data).
    keywords : sequence of str, default :data:`DEFAULT_KEYWORDS`
        SHARP keywords to fetch besides HARPNUM, T_REC, NOAA_AR(S), QUALITY, LON_FWT, LAT_FWT.
    cadence : str or pandas.Timedelta, default "1h"
        Record spacing, a multiple of 12 min.
    harpnums : sequence of int, optional
        Fetch only these HARPs (one query per HARP and chunk); default all.
    chunk : str or pandas.Timedelta, default "30D"
        Time span of one query, a multiple of ``cadence``.
    retries : int, default 3
        Extra attempts per chunk after a failure, with 1, 2, 4... s pauses.
    max_abs_lon : float or None, default 70.0
        Keep ``|LON_FWT| <= max_abs_lon`` deg.
    quality_zero : bool, default True
        Keep ``QUALITY == 0`` records only.
    client : object, optional
        Anything with ``query(ds, key=list, skip_conversion=list) -> DataFrame`` (a ``drms.Client``);
        default :func:`make_client` ``(server_url)``.
    server_url : str, optional
        CGI folder of another DRMS server (default JSOC).
    sleep : callable, default time.sleep
        Pause between retries (injected by tests).

    Returns
    -------
    pandas.DataFrame
        Canonical series (``time`` UTC, ``harpnum``, ``noaa_ar``, ``NOAA_ARS``,
        ``LON_FWT``, ``LAT_FWT``, ``QUALITY``, keywords) sorted by time and HARP;
        ``attrs``: ``queries``, ``records_received``, ``dropped``, ``series``.

    Raises
    ------
    ConfigError
        Bad series, times, cadence, chunk or retries.
    DownloadError
        A chunk still fails after its retries.
    DataError
        A response lacks requested keywords or has unparseable times.
    """
    if series not in SERIES:
        raise ConfigError(
            f"The 'series' parameter must be one of {list(SERIES)}. Got {series!r} instead."
        )
    t0, t1 = (_timestamp(n, v) for n, v in (("start", start), ("end", end)))
    if t1 <= t0:
        raise ConfigError(
            f"The 'end' parameter must be after 'start'. Got {start!r} to {end!r} instead."
        )
    step = _step("cadence", cadence)
    span = _step("chunk", chunk)
    if step % _SLOT != pd.Timedelta(0) or span % step != pd.Timedelta(0):
        raise ConfigError(
            f"The 'cadence' parameter must be a multiple of 12 min and 'chunk' a multiple of it. "
            f"Got cadence {cadence!r} and chunk {chunk!r} instead."
        )
    if not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"The 'retries' parameter must be an int >= 0. Got {retries!r} instead.")
    client = client if client is not None else make_client(server_url)
    keys = list(dict.fromkeys([*_META_KEYS, *keywords]))
    parts, queries = [], []
    for harp in harpnums if harpnums is not None else [None]:
        at = t0
        while at < t1:
            length = min(span, t1 - at)
            length = ((length + step - pd.Timedelta(1)) // step) * step  # whole slots
            query = jsoc_query(series, at, length, step, harp)
            parts.append(_ask(client, query, keys, retries, sleep))
            queries.append(query)
            at += span
    received = [p for p in parts if len(p)]
    raw = pd.concat(received, ignore_index=True) if received else pd.DataFrame(columns=keys)
    frame = series_from_response(raw, keywords, source=f"JSOC {series}")
    frame = clean_series(
        frame, max_abs_lon=max_abs_lon, quality_zero=quality_zero, keywords=list(keywords)
    )
    frame.attrs.update(
        {
            "series": series,
            "queries": queries,
            "records_received": int(len(raw)),
            "source": f"JSOC {series} {t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M} (T_REC)",
        }
    )
    return frame


def series_from_response(
    raw: pd.DataFrame, keywords: Sequence[str], *, source: str
) -> pd.DataFrame:
    """Turn a drms keyword response into the canonical series (no filtering).

    Parameters
    ----------
    raw : pandas.DataFrame
        As ``drms.Client.query`` returns it: one column per keyword, ``T_REC``
        as TAI strings, ``QUALITY`` as int or ``0x...`` text, NaN for missing values.
    keywords : sequence of str
    source : str
        Named in messages.

    Returns
    -------
    pandas.DataFrame
        Sorted by time then HARP, duplicate (HARP, T_REC) records removed.
    """
    missing = [k for k in ("HARPNUM", "T_REC", *keywords) if k not in raw.columns]
    if missing:
        raise DataError(
            f"{source}: the response lacks keyword(s) {missing}; it has {list(raw.columns)}."
        )
    from flarecast.data.sharp.series import _integers, _numbers

    out = pd.DataFrame(index=raw.index)
    empty = pd.Series(dtype="datetime64[ns, UTC]")
    out[TIME] = tai_to_utc(raw["T_REC"], source=source) if len(raw) else empty
    out[HARPNUM] = _integers(raw["HARPNUM"], source, "HARPNUM", zero_is_missing=False)
    ar = raw["NOAA_AR"] if "NOAA_AR" in raw.columns else pd.Series(np.nan, index=raw.index)
    out[NOAA_AR] = _integers(ar, source, "NOAA_AR", zero_is_missing=True)
    if "NOAA_ARS" in raw.columns:
        out["NOAA_ARS"] = raw["NOAA_ARS"].astype(str).to_numpy()
    for col in ("LON_FWT", "LAT_FWT"):
        if col in raw.columns:
            out[col] = _numbers(raw[col], source, col)
    if QUALITY in raw.columns:
        out[QUALITY] = _quality(raw[QUALITY], source)
    for col in keywords:
        out[col] = _numbers(raw[col], source, col)
    out = out.sort_values([TIME, HARPNUM], kind="stable").drop_duplicates([HARPNUM, TIME])
    out = out.reset_index(drop=True)
    out.attrs = {"keywords": list(keywords)}
    return out


def _quality(values: pd.Series, source: str) -> np.ndarray:
    """QUALITY bitmask from ``0x...`` text (as JSOC sends it) or numbers, as float (NaN = missing)."""
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan)
    text = values.astype(str).str.strip()
    out = np.full(len(text), np.nan)
    for i, v in enumerate(text):  # few distinct values; a bitmask is hex text in JSOC's JSON
        try:
            out[i] = int(v, 16) if v.lower().startswith("0x") else int(v)
        except ValueError as exc:
            raise DataError(
                f"{source}: QUALITY value {v!r} at row {i} is neither an int nor 0x-hex."
            ) from exc
    return out


def _ask(
    client: Any, query: str, keys: list[str], retries: int, sleep: Callable[[float], None]
) -> pd.DataFrame:
    last: Exception | None = None
    for attempt in range(retries + 1):
        try:
            # QUALITY is hex text in JSOC's JSON; drms 0.9.0 decodes it only for object columns,
            # which pandas >= 3 no longer makes (it returns NaN), so it is decoded here instead.
            result = client.query(query, key=keys, skip_conversion=[QUALITY])
            return result if result is not None else pd.DataFrame(columns=keys)
        except Exception as exc:  # drms raises HTTP, URL, JSON and DrmsQueryError alike
            last = exc
            if attempt < retries:
                sleep(2.0**attempt)
    raise DownloadError(f"JSOC query {query!r} failed after {retries + 1} attempt(s): {last}")


def _timestamp(name: str, value: str | pd.Timestamp) -> pd.Timestamp:
    """A T_REC label as a naive Timestamp (JSOC's TAI clock reading); a zone is converted to UTC."""
    return to_utc(value, naive="utc", column=name).tz_localize(None)


def _step(name: str, value: str | pd.Timedelta) -> pd.Timedelta:
    return parse_duration(value, name=name, positive=True)
