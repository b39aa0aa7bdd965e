"""A :class:`~flarecast.forecast.core.Forecast` as text: JSON, CSV, the SWPC text layout and Markdown.

- ``forecast.json``: everything, in the schema of
  ``flarecast/forecast/forecast.schema.json`` (JSON Schema 2020-12);
- ``forecast.csv``: one row per region;
- ``forecast.txt``: the layout of NOAA SWPC's 3-day forecast (radio-blackout
  part) and RSGA part III, whole percent;
- ``forecast.md``: a summary and one table row per region.

The HTML page is drawn by :mod:`flarecast.forecast.html`; :mod:`flarecast.forecast.report`
writes them all into the day's folder. Pure functions, no I/O.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import pandas as pd

from flarecast import __version__
from flarecast.forecast.comparison import comparison_to_dict, skill_text
from flarecast.forecast.core import Forecast
from flarecast.forecast.flags import FLAGS

__all__ = [
    "SCHEMA_PATH",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "INDEPENDENCE",
    "forecast_to_dict",
    "render_csv",
    "render_txt",
    "render_md",
    "percent",
]

SCHEMA_PATH = Path(__file__).with_name("forecast.schema.json")
SCHEMA_ID = "flarecast-forecast"
SCHEMA_VERSION = 1
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


def forecast_to_dict(fc: Forecast) -> dict[str, Any]:
    """The forecast as JSON-ready data, following ``forecast.schema.json``."""
    m = fc.model
    regions: list[dict[str, Any]] = []
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
    out = {
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
    if fc.comparison is not None:
        out["comparison"] = comparison_to_dict(fc.comparison, _num)
    return out


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
    if fc.comparison is not None:
        lines += ["", *_comparison_txt(fc.comparison)]
    return "\n".join(lines) + "\n"


def _comparison_txt(cmp: Any) -> list[str]:
    """Section C of forecast.txt: each method's P(>= M) per region and full disk, and its track record."""
    lines = ["C.  Comparison: McIntosh-Poisson beside flarecast (Class M, whole percent)", ""]
    lines.append(
        f"{'Region':>6s}  {'Location':8s}  {'McIntosh':8s}  "
        + "  ".join(f"{m:>9s}" for m in cmp.methods)
    )
    for r in cmp.regions.to_dict(orient="records"):
        cls = r["mcintosh"] if isinstance(r["mcintosh"], str) else "--"
        cells = "  ".join(f"{percent(r[f'{m}_m']):>9s}" for m in cmp.methods)
        lines.append(f"{r['region']:>6s}  {r['location'] or '--':8s}  {cls:8s}  {cells}")
    disk = "  ".join(f"{percent(cmp.full_disk[m][0]):>9s}" for m in cmp.methods)
    lines.append(f"{'Full disk':>26s}  {disk}")
    lines.append("")
    lines += [
        f"# {m}: {cmp.description(m)}. Skill: {skill_text(cmp.skill.get(m))}." for m in cmp.methods
    ]
    lines += [f"# {n}" for n in cmp.notes]
    return lines


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
    if fc.comparison is not None:
        out += ["", *_comparison_md(fc.comparison)]
    out += ["", f"Input: `{fc.input.source}` (sha256 `{fc.input.sha256 or 'n/a'}`)."]
    out += [f"- {_md_escape(n)}" for n in fc.notes]
    return "\n".join(out) + "\n"


def _comparison_md(cmp: Any) -> list[str]:
    """The comparison table of forecast.md: P(>= M) of each method per region and full disk."""
    head = " | ".join(f"{m} P(>= M)" for m in cmp.methods)
    out = [
        "## McIntosh-Poisson beside flarecast",
        "",
        f"| Region | Location | McIntosh | {head} |",
        "|---|---|---|" + "---|" * len(cmp.methods),
    ]
    for r in cmp.regions.to_dict(orient="records"):
        cls = r["mcintosh"] if isinstance(r["mcintosh"], str) else "--"
        cells = " | ".join(_pct_cell(r[f"{m}_m"]) for m in cmp.methods)
        out.append(f"| {r['region']} | {r['location'] or '--'} | {cls} | {cells} |")
    disk = " | ".join(_pct_cell(cmp.full_disk[m][0]) for m in cmp.methods)
    out += [f"| Full disk | | | {disk} |", ""]
    out += [
        f"- **{m}** ({_md_escape(cmp.description(m))}): {_md_escape(skill_text(cmp.skill.get(m)))}"
        for m in cmp.methods
    ]
    out += [f"- {_md_escape(n)}" for n in cmp.notes]
    return out
