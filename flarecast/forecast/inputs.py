"""The input of a forecast: SHARP records from a file, a registered data set, the demo
generator or JSOC, and the issue time.

The boundary of the forecast stage on the input side:
:func:`flarecast.forecast.core.make_forecast` takes what these return.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from flarecast.errors import ConfigError
from flarecast.forecast.config import InputInfo
from flarecast.forecast.records import check_issue_time
from flarecast.time import to_utc

__all__ = ["read_input", "read_jsoc", "resolve_issue_time"]

_DEMO = re.compile(r"^demo(?::(\d+))?$")


def read_input(spec: str) -> tuple[Any, Any]:
    """SHARP records and their :class:`~flarecast.forecast.config.InputInfo` from ``--features``.

    ``demo[:SEED]`` is the SYNTHETIC demo series (seed 1 by default, a sun
    independent of the ``demo`` training table's seed 0); a registered labelled
    data set (``umich-24h``, ...) is read by :func:`flarecast.data.tables.read.load_dataset`
    and its labels ignored; anything else (a file, ``hollanda-2019``) by
    :func:`flarecast.data.sharp.series.read_sharp_series`.
    """
    demo = _DEMO.match(spec)
    if demo:
        from flarecast.data.synthetic import demo_sharp_series

        seed = int(demo.group(1) or 1)
        note = (
            f"SYNTHETIC demo SHARP series, seed {seed} (the 'demo' training table uses seed 0, so seed 1 is an "
            "independent synthetic sun)."
        )
        return demo_sharp_series(seed=seed), InputInfo(
            f"demo:{seed} (SYNTHETIC)", None, True, (note,)
        )
    from flarecast.data import registry
    from flarecast.data.sharp.series import SERIES_NAMES, read_sharp_series

    if spec in registry.registry() and spec not in SERIES_NAMES:
        from flarecast.data.tables.read import load_dataset

        ds = load_dataset(spec)
        notes = (
            *ds.notes,
            "label columns of the data set were ignored: a forecast reads features only.",
        )
        return ds.frame, InputInfo(
            source=ds.name, sha256=ds.sha256, synthetic=ds.synthetic, notes=notes
        )
    frame = read_sharp_series(spec)
    dropped = frame.attrs.get("dropped_columns") or []
    notes = (f"columns not used as SHARP keywords or metadata: {dropped}",) if dropped else ()
    return frame, InputInfo(
        source=str(frame.attrs.get("source", spec)),
        sha256=frame.attrs.get("sha256"),
        synthetic=bool(frame.attrs.get("synthetic", False)),
        notes=notes,
    )


def read_jsoc(
    issue_time: Any, lookback_hours: float, features: tuple[str, ...], client: Any = None
) -> tuple[Any, Any]:
    """The SHARP NRT records of the look-back window before ``issue_time``, from JSOC.

    Records near the limb are kept (the forecast flags them); ``QUALITY != 0``
    records and records with a missing keyword are dropped by the reader and
    counted in the notes. ``client`` is any object with drms's ``query``.
    """
    from flarecast.data.schema import SHARP_UNITS

    try:
        from flarecast.data.sharp.jsoc import fetch_sharp
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "--jsoc needs flarecast.data.sharp.jsoc (the JSOC reader), which this installation lacks; "
            "pass --features FILE instead"
        ) from exc
    keywords = [f for f in features if f in SHARP_UNITS]
    start = issue_time - pd.Timedelta(hours=lookback_hours)
    frame = fetch_sharp(
        start,
        issue_time + pd.Timedelta(minutes=1),
        series="hmi.sharp_cea_720s_nrt",
        keywords=keywords,
        cadence="1h",
        chunk=f"{int(lookback_hours) + 1}h",
        max_abs_lon=None,
        quality_zero=True,
        client=client,
    )
    dropped = frame.attrs.get("dropped") or {}
    notes = tuple(
        f"JSOC records dropped by the reader ({why}): {n}" for why, n in dropped.items() if n
    )
    return frame, InputInfo(
        source=str(frame.attrs.get("source", "JSOC hmi.sharp_cea_720s_nrt")), notes=notes
    )


def resolve_issue_time(
    date: str | None, issue_time: str | None, frame: Any = None
) -> tuple[Any, str | None]:
    """The issue time in UTC from ``--date`` / ``--issue-time``, or the newest record; plus a note.

    Both options are documented as UTC: a time without a zone is read as UTC
    (:func:`flarecast.time.to_utc` with ``naive="utc"``, as ``flarecast retrain
    --holdout-start``); words such as "now" are refused.
    """
    if date and issue_time:
        raise ConfigError("give --date or --issue-time, not both")
    if date:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
            raise ConfigError(f"--date must be YYYY-MM-DD; got {date!r}")
        t = to_utc(date, naive="utc", column="--date")
        return check_issue_time(t, "--date", date), None
    if issue_time:
        t = to_utc(issue_time, naive="utc", column="--issue-time")
        return check_issue_time(t, "--issue-time", issue_time), None
    if frame is None:
        return pd.Timestamp.now(tz="UTC").floor(
            "min"
        ), "issue time not given: the current time was used."
    if len(frame) == 0 or "time" not in frame.columns:
        raise ConfigError("the input has no records: give --date or --issue-time")
    newest = frame["time"].max()
    return (
        newest,
        f"issue time not given: taken as the newest record time in the input ({newest:%Y-%m-%d %H:%M} UTC).",
    )
