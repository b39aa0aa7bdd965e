"""Write a :class:`~flarecast.forecast.core.Forecast` as the files forecasters read.

One folder per UT issue date, ``reports/YYYY-MM-DD/``, holding
``forecast.json``, ``.csv``, ``.txt``, ``.md`` (rendered by
:mod:`flarecast.forecast.formats`) and ``forecast.html`` (self-contained:
inline CSS and SVG, nothing fetched; :mod:`flarecast.forecast.html`),
plus ``reports/index.html`` listing every day. A day is written into a
private temporary folder beside it and swapped in by renames, so a reader
sees the old complete day or the new complete day, and re-running a day
replaces that day's folder and nothing else.

Concurrent runs and killed runs (see :func:`write_report`): every writer
holds an exclusive ``flock`` on the reports folder itself from reading the
history to writing ``index.html``, so two runs for the same day write one
after the other and the index is rebuilt by one writer at a time. On Linux
the new day replaces the old one with one atomic ``renameat2(RENAME_EXCHANGE)``,
so ``reports/YYYY-MM-DD`` always names a complete folder, even if the process
is killed at any instant; elsewhere two renames are used and a run killed
between them is repaired by the next run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from flarecast.errors import ConfigError, DataError
from flarecast.forecast.core import Forecast
from flarecast.forecast.formats import forecast_to_dict, render_csv, render_md, render_txt
from flarecast.forecast.html import render_html, render_index
from flarecast.io import atomic_path, folder_lock, staged_folder

__all__ = [
    "FILES",
    "LOCK_TIMEOUT_S",
    "day_of",
    "read_history",
    "read_index_entries",
    "read_observed",
    "write_report",
]

FILES: tuple[str, ...] = (
    "forecast.json",
    "forecast.csv",
    "forecast.txt",
    "forecast.md",
    "forecast.html",
)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Seconds a writer waits for another run to release the reports folder before giving up.
LOCK_TIMEOUT_S = 120.0
#: Test-only: seconds to sleep after each file written into the temporary folder, to widen the window in
#: which the kill and concurrency tests (tests/test_concurrency.py) interrupt a writer. Unset in real use.
_TEST_PAUSE_ENV = "FLARECAST_TEST_REPORT_PAUSE_S"


def day_of(fc: Forecast) -> str:
    """The report folder name: the UT date of the issue time."""
    return fc.issue_time.strftime("%Y-%m-%d")


def read_history(
    root: str | Path, before: str, days: int = 30
) -> dict[str, list[tuple[str, float]]]:
    """Each region's P(>= M) from the reports in ``root`` dated before ``before``.

    Parameters
    ----------
    root : path
        The reports folder.
    before : str
        ``YYYY-MM-DD``; only earlier days are read.
    days : int, default 30
        How many earlier days to look back.

    Returns
    -------
    dict of region id to list of (day, p_m), oldest first
        Regions without a forecast on a day are absent for that day.
        Unreadable reports are skipped (they are listed by the index as such).
    """
    root = Path(root)
    first = (pd.Timestamp(before) - pd.Timedelta(days=days)).strftime("%Y-%m-%d")
    history: dict[str, list[tuple[str, float]]] = {}
    for entry in (
        sorted(p for p in root.iterdir() if p.is_dir() and _DAY.match(p.name))
        if root.is_dir()
        else []
    ):
        if not first <= entry.name < before:
            continue
        data = _read_json(entry / "forecast.json")
        for reg in (data or {}).get("regions", []):
            if isinstance(reg, dict) and isinstance(reg.get("p_m"), int | float):
                history.setdefault(str(reg.get("region")), []).append(
                    (entry.name, float(reg["p_m"]))
                )
    return history


def read_observed(
    root: str | Path, before: str, events: pd.DataFrame, days: int = 30
) -> dict[str, set[str]]:
    """Region id -> the earlier report days on which ``events`` list a >= M1.0 flare of that region
    peaking in that report's valid period (NOAA numbers compared in the 5-digit convention).

    Parameters
    ----------
    root, before, days
        As for :func:`read_history`.
    events : pandas.DataFrame
        A canonical event table (:func:`flarecast.data.catalogues.read.read_catalogue`).
    """
    from flarecast.data.tables.srs import five_digit_regions

    big = events.loc[
        (events["peak_flux"].to_numpy(dtype=float) >= 1e-5) & events["noaa_ar"].notna().to_numpy()
    ]
    peak = big["peak"].where(big["peak"].notna(), big["start"])
    numbers = five_digit_regions(big["noaa_ar"].to_numpy(dtype="int64"))[0]
    root = Path(root)
    first = (pd.Timestamp(before) - pd.Timedelta(days=days)).strftime("%Y-%m-%d")
    observed: dict[str, set[str]] = {}
    for entry in sorted(p for p in root.iterdir() if p.is_dir() and _DAY.match(p.name)):
        data = _read_json(entry / "forecast.json") if first <= entry.name < before else None
        try:
            t0, t1 = pd.Timestamp(data["issue_time"]), pd.Timestamp(data["valid_end"])
        except (TypeError, KeyError, ValueError):
            continue
        inside = set(numbers[((peak >= t0) & (peak < t1)).to_numpy()].tolist())
        for reg in data.get("regions", []):
            if isinstance(reg, dict) and isinstance(reg.get("noaa_ar"), int):
                if int(five_digit_regions([reg["noaa_ar"]])[0][0]) in inside:
                    observed.setdefault(str(reg.get("region")), set()).add(entry.name)
    return observed


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_index_entries(root: str | Path) -> list[dict[str, Any]]:
    """One summary per day folder in ``root``, newest first (for ``index.html``)."""
    root = Path(root)
    rows = []
    for entry in sorted(
        (p for p in root.iterdir() if p.is_dir() and _DAY.match(p.name)), reverse=True
    ):
        data = _read_json(entry / "forecast.json")
        if data is None:
            rows.append({"day": entry.name, "readable": False})
            continue
        fd = data.get("full_disk", {}) if isinstance(data.get("full_disk"), dict) else {}
        rows.append({
            "day": entry.name, "readable": True, "issue_time": data.get("issue_time"),
            "p_m": fd.get("p_m"), "p_x": fd.get("p_x"), "n_regions": fd.get("n_regions"),
            "n_forecast": fd.get("n_forecast"), "synthetic": bool(data.get("synthetic")),
            "model": (data.get("model") or {}).get("id"), "n_warnings": len(data.get("warnings") or []),
        })  # fmt: skip
    return rows


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _remove_leftovers(root: Path, day: str) -> None:
    """Delete this day's temporary or old folders left by a killed run.

    Called with the folder lock held: no other writer is running, so every
    leftover is stale whatever its age.
    """
    for leftover in root.glob(f".{day}.*"):
        if leftover.suffix in (".tmp", ".old") and leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def _recover(root: Path, day: str) -> None:
    """Put back the previous day folder of a run killed between the two renames of the fallback swap."""
    final = root / day
    if final.exists():
        return
    complete = [
        p for p in root.glob(f".{day}.*.old") if all((p / name).is_file() for name in FILES)
    ]
    if complete:
        os.rename(max(complete, key=lambda p: p.stat().st_mtime), final)


def _test_pause() -> None:
    delay = os.environ.get(_TEST_PAUSE_ENV)
    if delay:
        time.sleep(float(delay))


def write_report(
    fc: Forecast,
    root: str | Path,
    *,
    history_days: int = 30,
    events: pd.DataFrame | None = None,
) -> Path:
    """Write every output of ``fc`` under ``root/YYYY-MM-DD/`` and refresh ``root/index.html``.

    The day is written into a temporary folder in ``root`` and then swapped
    with the existing folder of that day: in one atomic ``renameat2`` exchange
    on Linux, else by renaming the old folder aside and the new one into place
    (a run killed between those two renames is repaired by the next run, which
    renames the old folder back). The replaced folder is then deleted. If
    anything fails before the swap, the old day is untouched. Other days are
    never touched; this day's leftovers of killed runs are removed.

    The whole write, from reading the history of earlier days to writing
    ``index.html``, holds an exclusive lock on ``root``, so concurrent runs
    (for the same day or not) write one after the other, and the index always
    lists what the last writer left.

    Parameters
    ----------
    fc : Forecast
    root : path
        The reports folder (created if needed).
    history_days : int, default 30
        Earlier days read for the per-region history plot.
    events : pandas.DataFrame, optional
        A flare catalogue: the history plot marks the earlier days on which a
        region had a >= M1.0 flare in that report's valid period (:func:`read_observed`).

    Returns
    -------
    Path
        The day folder.

    Raises
    ------
    DataError
        If ``fc`` lists no region (no record in the look-back window): nothing is written.
    FlarecastError
        If another run holds the folder for more than :data:`LOCK_TIMEOUT_S` seconds.
    """
    if len(fc.regions) == 0:
        # a "--%" page would read as a forecast; a day without data publishes nothing
        raise DataError(
            f"no region of {fc.input.source} has a record within {fc.config.lookback_hours:g} h "
            f"before the issue time {fc.issue_time:%Y-%m-%d %H:%M} UTC, so there is nothing to "
            f"forecast and no report was written. {' '.join(fc.notes[len(fc.input.notes) :])}".rstrip()
        )
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--out {root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    day = day_of(fc)
    final = root / day
    with folder_lock(root, timeout=LOCK_TIMEOUT_S, what="flarecast forecast"):
        _recover(root, day)
        history = read_history(root, day, days=history_days)
        observed = None if events is None else read_observed(root, day, events, history_days)
        _remove_leftovers(root, day)
        # lock=None: the lock on root held here already covers the swap. The folder names are
        # the ones _recover and _remove_leftovers look for.
        with staged_folder(
            final, staging=".{name}.{id}.tmp", parked=".{name}.{id}.old", lock=None
        ) as tmp:
            os.chmod(tmp, 0o755)  # a published report must be readable whatever the umask
            data = forecast_to_dict(fc)
            for name, text in (
                ("forecast.json", lambda: json.dumps(data, indent=2) + "\n"),
                ("forecast.csv", lambda: render_csv(fc)),
                ("forecast.txt", lambda: render_txt(fc)),
                ("forecast.md", lambda: render_md(fc)),
                ("forecast.html", lambda: render_html(fc, history, observed)),
            ):
                _write_text(tmp / name, text())
                _test_pause()
        with contextlib.suppress(
            OSError
        ):  # best effort: a directory fsync makes the renames durable
            fd = os.open(root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        with atomic_path(root / "index.html") as tmp_index:
            _write_text(tmp_index, render_index(read_index_entries(root)))
            os.chmod(
                tmp_index, 0o644
            )  # mkstemp makes it 0600; the index is published with the days
    return final
