"""Write a :class:`~flarecast.forecast.core.Forecast` as the files forecasters read.

One folder per UT issue date, ``reports/YYYY-MM-DD/``, holding

- ``forecast.json``: everything, in the schema of
  ``flarecast/forecast/forecast.schema.json`` (JSON Schema 2020-12);
- ``forecast.csv``: one row per region;
- ``forecast.txt``: the layout of NOAA SWPC's 3-day forecast (radio-blackout
  part) and RSGA part III, whole percent;
- ``forecast.md`` and ``forecast.html`` (self-contained: inline CSS and SVG,
  nothing fetched).

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
import csv
import io
import json
import math
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from flarecast import __version__
from flarecast.errors import ConfigError, DataError
from flarecast.forecast.core import Forecast
from flarecast.forecast.flags import FLAGS
from flarecast.forecast.html import render_html, render_index
from flarecast.io import atomic_path, exchange_paths, folder_lock

__all__ = [
    "SCHEMA_PATH",
    "FILES",
    "forecast_to_dict",
    "render_csv",
    "render_txt",
    "render_md",
    "percent",
    "read_history",
    "read_index_entries",
    "write_report",
]

SCHEMA_PATH = Path(__file__).with_name("forecast.schema.json")
SCHEMA_ID = "flarecast-forecast"
SCHEMA_VERSION = 1
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
INDEPENDENCE = (
    "1 - prod(1 - p_i) over the regions with a forecast, assuming the regions flare independently"
)


def _iso(ts: Any) -> str | None:
    if ts is None or (not isinstance(ts, str) and pd.isna(ts)):
        return None
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(x: Any) -> float | None:
    """JSON number or null (never NaN, which is not JSON)."""
    if x is None or x is pd.NA:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _int(x: Any) -> int | None:
    return None if x is None or pd.isna(x) else int(x)


def percent(p: float) -> str:
    """Whole percent as SWPC prints it: rounded, kept within 01..99, two digits; "--" for no forecast."""
    if p is None or not math.isfinite(p):
        return "--"
    return f"{min(99, max(1, round(100 * p))):02d}"


def day_of(fc: Forecast) -> str:
    """The report folder name: the UT date of the issue time."""
    return fc.issue_time.strftime("%Y-%m-%d")


def forecast_to_dict(fc: Forecast) -> dict[str, Any]:
    """The forecast as JSON-ready data, following ``forecast.schema.json``."""
    m = fc.model
    regions = []
    for r in fc.regions.itertuples(index=False):
        regions.append(
            {
                "region": str(r.region),
                "noaa_ar": _int(r.noaa_ar),
                "harpnum": _int(r.harpnum),
                "record_time": _iso(r.record_time),
                "age_hours": round(float(r.age_hours), 3),
                "lon": _num(r.lon),
                "lat": _num(r.lat),
                "location": r.location or None,
                "status": r.status,
                "p_m": _num(r.p_m),
                "p_x": _num(r.p_x),
                "flags": list(r.flags),
                "reasons": list(r.reasons),
            }
        )
    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "product": "flarecast daily flare probability forecast",
        "synthetic": fc.synthetic,
        "issue_time": _iso(fc.issue_time),
        "valid_start": _iso(fc.valid_start),
        "valid_end": _iso(fc.valid_end),
        "generated_at": _iso(pd.Timestamp.now(tz="UTC")),
        "flarecast_version": __version__,
        "model": {
            "id": m.model_id,
            "path": m.path,
            "flarecast_version": m.flarecast_version,
            "created": m.created,
            "weights_sha256": m.weights_sha256,
            "target_definition": m.target_definition,
            "flaring_only": m.flaring_only,
            "training_data": {
                "name": m.training_data,
                "sha256": m.training_sha256 or None,
                "synthetic": m.training_synthetic,
            },
            "training_cutoff": m.training_cutoff,
            "calibration": {"method": m.calibration_method, "description": m.calibration},
            "features": list(m.features),
            "feature_range_stored": m.feature_range is not None,
            "inference": m.inference or None,
        },
        "input": {
            "source": fc.input.source,
            "sha256": fc.input.sha256,
            "synthetic": fc.input.synthetic,
        },
        "x_method": {
            "method": fc.x_method,
            "description": fc.x_description,
            "fraction": fc.x_fraction,
        },
        "full_disk": {
            "p_m": _num(fc.full_disk_m),
            "p_x": _num(fc.full_disk_x),
            "n_regions": len(fc.regions),
            "n_forecast": fc.n_forecast,
            "method": INDEPENDENCE,
        },
        "regions": regions,
        "flag_definitions": dict(FLAGS),
        "warnings": list(fc.warnings),
        "notes": list(fc.notes),
        "config": {
            "stale_hours": fc.config.stale_hours,
            "lookback_hours": fc.config.lookback_hours,
            "limb_deg": fc.config.limb_deg,
            "valid_hours": fc.config.valid_hours,
        },
    }


def render_csv(fc: Forecast) -> str:
    """One row per region; empty cells for probabilities that do not exist."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "issue_time",
            "valid_end",
            "region",
            "noaa_ar",
            "harpnum",
            "record_time",
            "age_hours",
            "lon",
            "lat",
            "location",
            "status",
            "p_m",
            "p_x",
            "m_percent",
            "x_percent",
            "flags",
            "reasons",
            "synthetic",
            "model_id",
        ]
    )
    for r in fc.regions.itertuples(index=False):

        def num(x: Any, fmt: str = "{:.6f}") -> str:
            return "" if x is None or not math.isfinite(float(x)) else fmt.format(float(x))

        w.writerow([
            _iso(fc.issue_time), _iso(fc.valid_end), r.region, _int(r.noaa_ar) or "", _int(r.harpnum) or "",
            _iso(r.record_time), f"{r.age_hours:.2f}", num(r.lon, "{:.2f}"), num(r.lat, "{:.2f}"), r.location,
            r.status, num(r.p_m), num(r.p_x), "" if not math.isfinite(r.p_m) else percent(r.p_m),
            "" if not math.isfinite(r.p_x) else percent(r.p_x), ";".join(r.flags), " | ".join(r.reasons),
            fc.synthetic, fc.model.model_id,
        ])  # fmt: skip
    return buf.getvalue()


def render_txt(fc: Forecast) -> str:
    """Plain text in the layout of SWPC's 3-day forecast (R-scale table) and RSGA part III."""
    t0, t1 = fc.valid_start, fc.valid_end - pd.Timedelta(seconds=1)
    lines = [
        ":Product: Daily Flare Probability Forecast forecast.txt",
        f":Issued: {fc.issue_time:%Y %b %d %H%M} UTC",
        f"# Prepared by flarecast {__version__} with model {fc.model.model_id}",
    ]
    if fc.synthetic:
        lines.append("# SYNTHETIC DATA -- NOT A REAL FORECAST")
    lines += [
        "#",
        f"# Valid {fc.valid_start:%Y-%m-%d %H:%M} to {fc.valid_end:%Y-%m-%d %H:%M} UTC.",
        "# Probabilities in whole percent, rounded and kept within 01..99 as SWPC prints them.",
        f"# Full disk = {INDEPENDENCE}.",
        f"# Target: {fc.model.target_definition}. Calibration: {fc.model.calibration}.",
        f"# {fc.x_description}",
    ]
    lines += [f"# WARNING: {w}" for w in fc.warnings]
    lines += [
        "#",
        "A.  Radio blackout probability (R1-R2 = M-class flare, R3 or greater = X-class flare)",
        "",
        f"{'':14s}{t0:%b %d}".rstrip(),
        f"{'R1-R2':14s}{percent(fc.full_disk_m):>5s}%",
        f"{'R3 or greater':14s}{percent(fc.full_disk_x):>5s}%",
        "",
        f"III.  Event probabilities {t0:%d %b}-{t1:%d %b}",
        f"Class M    {percent(fc.full_disk_m)}",
        f"Class X    {percent(fc.full_disk_x)}",
        "",
        "B.  Region flare probabilities",
        "",
        "Region  Location  Class M  Class X  Flags",
    ]
    for r in fc.regions.itertuples(index=False):
        loc = r.location or "--"
        if r.status == "forecast":
            row = f"{r.region:>6s}  {loc:8s}  {percent(r.p_m):>7s}  {percent(r.p_x):>7s}"
            lines.append((row + "  " + ",".join(r.flags)).rstrip())
        else:
            lines.append(f"{r.region:>6s}  {loc:8s}  no forecast: {'; '.join(r.reasons)}")
    if len(fc.regions) == 0:
        lines.append("  None")
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def _pct_cell(p: float) -> str:
    if not math.isfinite(p):
        return "no forecast"
    return "<0.1%" if 0 < p < 0.0005 else f"{100 * p:.1f}%"  # small is not zero


def render_md(fc: Forecast) -> str:
    """Markdown summary: full disk, one table row per region, model provenance."""
    out = []
    if fc.synthetic:
        out += ["> **SYNTHETIC DATA -- NOT A REAL FORECAST**", ""]
    out += [
        f"# Flare probability forecast, issued {fc.issue_time:%Y-%m-%d %H:%M} UTC",
        "",
        f"Valid {fc.valid_start:%Y-%m-%d %H:%M} to {fc.valid_end:%Y-%m-%d %H:%M} UTC. "
        f"Model `{fc.model.model_id}`; target {fc.model.target_definition}; calibration {fc.model.calibration}.",
        "",
    ]
    out += [f"> **Warning:** {_md_escape(w)}" for w in fc.warnings]
    out += [
        "",
        "| Full disk | P(>= M) | P(>= X) |",
        "|---|---|---|",
        f"| {fc.n_forecast} of {len(fc.regions)} regions | {_pct_cell(fc.full_disk_m)} | "
        f"{_pct_cell(fc.full_disk_x)} |",
        "",
        f"Full disk: {INDEPENDENCE}. {fc.x_description}",
        "",
        "| Region | Location | Record (UTC) | Age (h) | P(>= M) | P(>= X) | Flags and reasons |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in fc.regions.itertuples(index=False):
        out.append(
            f"| {r.region} | {r.location or '--'} | {r.record_time:%Y-%m-%d %H:%M} | {r.age_hours:.1f} | "
            f"{_pct_cell(r.p_m)} | {_pct_cell(r.p_x)} | {_md_escape('; '.join(r.reasons))} |"
        )
    out += ["", f"Input: `{fc.input.source}` (sha256 `{fc.input.sha256 or 'n/a'}`)."]
    out += [f"- {_md_escape(n)}" for n in fc.notes]
    return "\n".join(out) + "\n"


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


def write_report(fc: Forecast, root: str | Path, *, history_days: int = 30) -> Path:
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
        _remove_leftovers(root, day)
        tmp = Path(tempfile.mkdtemp(prefix=f".{day}.", suffix=".tmp", dir=root))
        try:
            os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a published report must be readable
            data = forecast_to_dict(fc)
            for name, text in (
                ("forecast.json", lambda: json.dumps(data, indent=2) + "\n"),
                ("forecast.csv", lambda: render_csv(fc)),
                ("forecast.txt", lambda: render_txt(fc)),
                ("forecast.md", lambda: render_md(fc)),
                ("forecast.html", lambda: render_html(fc, history)),
            ):
                _write_text(tmp / name, text())
                _test_pause()
            if not final.exists():
                os.rename(tmp, final)
            elif not exchange_paths(tmp, final):  # tmp now holds the old day, deleted below
                old = root / f".{day}.{uuid.uuid4().hex}.old"
                os.rename(final, old)
                try:
                    os.rename(tmp, final)
                except OSError:
                    os.rename(old, final)
                    raise
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
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
