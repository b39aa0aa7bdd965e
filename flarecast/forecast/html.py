"""Self-contained HTML for a forecast: table, bar chart, solar-disk map, history; and the reports index.

Everything is inline (CSS in a ``<style>`` element, figures as inline SVG
drawn here), so the page needs no network and no JavaScript, prints well and
stays a few tens of kilobytes. Drawing the SVG directly, rather than through
matplotlib, also keeps a whole forecast well inside its time budget.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast import __version__
from flarecast.forecast.core import Forecast
from flarecast.forecast.flags import FLAGS

__all__ = [
    "render_html",
    "render_index",
    "prob_colour",
    "bar_chart_svg",
    "disk_map_svg",
    "history_svg",
]

# A sequential yellow-orange-red scale (ColorBrewer YlOrRd, 5 classes), interpolated in RGB.
_SCALE = ((0.0, (255, 255, 204)), (0.25, (254, 217, 118)), (0.5, (253, 141, 60)), (0.75, (227, 26, 28)),
          (1.0, (128, 0, 38)))  # fmt: skip
_LINES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_NONE = "#bdbdbd"

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
h1{font-size:1.5em;margin:.4em 0}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:1px solid #ddd}
.synthetic{background:#b00020;color:#fff;text-align:center;font-weight:700;padding:8px;letter-spacing:.08em}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:6px 10px;margin:4px 0}
.summary{display:flex;gap:16px;flex-wrap:wrap}.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 16px}
.card .big{font-size:2em;font-weight:700}
table{border-collapse:collapse;background:#fff;font-size:.9em}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums}
.figs{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}figure{margin:0;background:#fff;border:1px solid #ddd;padding:6px;width:min-content}
figcaption{font-size:.85em;color:#555}.muted{color:#666;font-size:.85em}code{font-size:.9em}
"""


def prob_colour(p: float) -> str:
    """Hex colour of probability ``p`` on the report's YlOrRd scale; grey for NaN (no forecast)."""
    if p is None or not math.isfinite(p):
        return _NONE
    p = min(1.0, max(0.0, float(p)))
    for (p0, c0), (p1, c1) in zip(_SCALE[:-1], _SCALE[1:], strict=True):
        if p <= p1:
            f = (p - p0) / (p1 - p0)
            return "#" + "".join(
                f"{round(a + f * (b - a)):02x}" for a, b in zip(c0, c1, strict=True)
            )
    return "#800026"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _pct(p: float, digits: int = 1) -> str:
    if p is None or not math.isfinite(p):
        return "no forecast"
    if 0 < p < 0.5 * 10 ** -(digits + 2):  # a small probability is not zero: do not print it as one
        return f"&lt;{10**-digits:g}%"  # HTML-escaped
    return f"{100 * p:.{digits}f}%"


def _gradient(id_: str) -> str:
    stops = "".join(
        f'<stop offset="{p:g}" stop-color="{prob_colour(p)}"/>' for p in np.linspace(0, 1, 11)
    )
    return f'<defs><linearGradient id="{id_}" x1="0" x2="1" y1="0" y2="0">{stops}</linearGradient></defs>'


def bar_chart_svg(regions: pd.DataFrame) -> str:
    """Horizontal bars of P(>= M) (coloured) and P(>= X) (dark) per region, highest first."""
    order = regions.assign(_k=regions["p_m"].fillna(-1.0)).sort_values(
        ["_k", "region"], ascending=[False, True]
    )
    left, width, row = 70, 420, 26
    height = 40 + row * max(len(order), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fig" id="bar-chart" width="{left + width + 60}" '
        f'height="{height}" role="img" aria-label="Per-region flare probabilities">'
    ]
    for tick in (0, 25, 50, 75, 100):
        x = left + width * tick / 100
        parts.append(
            f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height - 14}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{height - 2}" font-size="10" text-anchor="middle">{tick}%</text>'
        )
    for i, r in enumerate(order.itertuples(index=False)):
        y = 22 + i * row
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" font-size="11" text-anchor="end">{_e(r.region)}</text>'
        )
        if r.status != "forecast":
            parts.append(
                f'<text x="{left + 4}" y="{y + 13}" font-size="11" fill="#777">no forecast</text>'
            )
            continue
        wm, wx = width * r.p_m, width * (r.p_x if math.isfinite(r.p_x) else 0.0)
        parts.append(
            f'<rect class="bar" x="{left}" y="{y}" width="{max(wm, 1):.1f}" height="14" '
            f'fill="{prob_colour(r.p_m)}" stroke="#555" stroke-width="0.5">'
            f"<title>{_e(r.region)}: P(&gt;=M) {_pct(r.p_m)}</title></rect>"
        )
        if math.isfinite(r.p_x):
            parts.append(
                f'<rect x="{left}" y="{y + 15}" width="{max(wx, 1):.1f}" height="5" fill="#333">'
                f"<title>{_e(r.region)}: P(&gt;=X) {_pct(r.p_x)}</title></rect>"
            )
        parts.append(
            f'<text x="{left + max(wm, 1) + 4:.1f}" y="{y + 12}" font-size="10">{_pct(r.p_m, 0)}</text>'
        )
    if len(order) == 0:
        parts.append(f'<text x="{left}" y="36" font-size="12">no regions on the disk</text>')
    parts.append("</svg>")
    return "".join(parts)


def _disk_xy(lon: float, lat: float, cx: float, cy: float, radius: float) -> tuple[float, float]:
    # Orthographic view from Earth ignoring the B0 tilt: west (positive LON_FWT) right, north up.
    lo, la = math.radians(lon), math.radians(lat)
    return cx + radius * math.cos(la) * math.sin(lo), cy - radius * math.sin(la)


def disk_map_svg(regions: pd.DataFrame, limb_deg: float = 70.0) -> str:
    """The solar disk with each region at (LON_FWT, LAT_FWT), coloured by P(>= M)."""
    size, radius = 420, 160  # room outside the disk for the labels of limb regions
    cx = cy = size / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fig" id="disk-map" width="{size}" height="{size + 40}" '
        'role="img" aria-label="Solar disk map of regions coloured by probability">',
        _gradient("disk-grad"),
        f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="#fff8e1" stroke="#333"/>',
    ]
    for lat in (-60, -30, 0, 30, 60):
        pts = " ".join(
            "{:.1f},{:.1f}".format(*_disk_xy(lo, lat, cx, cy, radius)) for lo in range(-90, 91, 10)
        )
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#ccc" stroke-width="0.7"/>')
    for lon in (-60, -30, 0, 30, 60, -limb_deg, limb_deg):
        pts = " ".join(
            "{:.1f},{:.1f}".format(*_disk_xy(lon, la, cx, cy, radius)) for la in range(-90, 91, 10)
        )
        limb = abs(lon) == limb_deg
        style = 'stroke="#c62828" stroke-dasharray="4 3"' if limb else 'stroke="#ccc"'
        parts.append(f'<polyline points="{pts}" fill="none" {style} stroke-width="0.7"/>')
    parts.append(
        f'<text x="{cx}" y="14" font-size="11" text-anchor="middle">N</text>'
        f'<text x="{size - 8}" y="{cy + 4}" font-size="11" text-anchor="end">W</text>'
        f'<text x="8" y="{cy + 4}" font-size="11">E</text>'
    )
    unplaced = []
    for r in regions.sort_values("p_m", na_position="first").itertuples(index=False):
        if not (math.isfinite(r.lon) and math.isfinite(r.lat)):
            unplaced.append(str(r.region))
            continue
        x, y = _disk_xy(max(-90.0, min(90.0, r.lon)), r.lat, cx, cy, radius)
        ok = r.status == "forecast"
        dash = ' stroke-dasharray="2 2"' if "stale" in r.flags else ""
        tip = f"{r.region} {r.location}: " + (f"P(&gt;=M) {_pct(r.p_m)}" if ok else "no forecast")
        rr = 5 + 9 * (r.p_m if ok else 0.0)
        parts.append(
            f'<circle class="region" cx="{x:.1f}" cy="{y:.1f}" r="{rr:.1f}" fill="{prob_colour(r.p_m)}" '
            f'stroke="#333" stroke-width="1"{dash}><title>{_e(tip)}</title></circle>'
            f'<text x="{x + rr + 2:.1f}" y="{y + 4:.1f}" font-size="10">{_e(r.region)}</text>'
        )
    legend_y = size + 8
    parts.append(
        f'<rect x="40" y="{legend_y}" width="240" height="10" fill="url(#disk-grad)" stroke="#999"/>'
        f'<text x="40" y="{legend_y + 24}" font-size="10">0%</text>'
        f'<text x="280" y="{legend_y + 24}" font-size="10" text-anchor="end">100% P(&gt;=M)</text>'
        f'<circle cx="310" cy="{legend_y + 5}" r="5" fill="{_NONE}" stroke="#333"/>'
        f'<text x="318" y="{legend_y + 9}" font-size="10">no forecast</text>'
    )
    if unplaced:
        parts.append(
            f'<text x="4" y="{size - 4}" font-size="10" fill="#666">position unknown: '
            f"{_e(', '.join(unplaced))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def history_svg(
    history: dict[str, list[tuple[str, float]]],
    today: str,
    current: pd.DataFrame,
    max_regions: int = 8,
) -> str | None:
    """Lines of P(>= M) by report day for the current regions that appear in earlier reports.

    Returns None when no current region has an earlier report.
    """
    todays = {
        str(r.region): float(r.p_m) for r in current.itertuples(index=False) if math.isfinite(r.p_m)
    }
    series = {reg: [*history[reg], (today, todays[reg])] for reg in todays if reg in history}
    if not series:
        return None
    chosen = sorted(series, key=lambda reg: -todays[reg])[:max_regions]
    days = sorted({d for reg in chosen for d, _ in series[reg]})
    t = {d: (pd.Timestamp(d) - pd.Timestamp(days[0])).days for d in days}
    span = max(max(t.values()), 1)
    left, top, width, height = 44, 12, 420, 200
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fig" id="history" width="{left + width + 110}" '
        f'height="{top + height + 36}" role="img" aria-label="Per-region probability history">'
    ]
    for tick in (0, 25, 50, 75, 100):
        y = top + height * (1 - tick / 100)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="#e0e0e0"/>'
            f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="10" text-anchor="end">{tick}%</text>'
        )
    for d in (days[0], days[-1]):
        x = left + width * t[d] / span
        parts.append(
            f'<text x="{x:.1f}" y="{top + height + 14}" font-size="10" text-anchor="middle">{_e(d)}</text>'
        )
    for k, reg in enumerate(chosen):
        colour = _LINES[k % len(_LINES)]
        pts = [(left + width * t[d] / span, top + height * (1 - p)) for d, p in series[reg]]
        parts.append(
            '<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>'.format(
                colour, " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            )
        )
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in pts]
        parts.append(
            f'<text x="{left + width + 10}" y="{top + 12 + 14 * k}" font-size="11" fill="{colour}">'
            f"{_e(reg)} ({_pct(todays[reg], 0)})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(fc: Forecast) -> str:
    rows = []
    for r in fc.regions.itertuples(index=False):
        text_colour = "#fff" if math.isfinite(r.p_m) and r.p_m > 0.55 else "#000"
        reasons = "<br>".join(_e(x) for x in r.reasons) or "&mdash;"
        rows.append(
            f'<tr class="{_e(r.status)}"><td>{_e(r.region)}</td><td>{_e(r.location or "--")}</td>'
            f"<td>{r.record_time:%Y-%m-%d %H:%M}</td><td class=num>{r.age_hours:.1f}</td>"
            f'<td class=num style="background:{prob_colour(r.p_m)};color:{text_colour}">{_pct(r.p_m)}</td>'
            f"<td class=num>{_pct(r.p_x)}</td><td>{_e(r.status.replace('_', ' '))}</td><td>{reasons}</td></tr>"
        )
    if not rows:
        rows.append('<tr><td colspan="8">No region has a record in the look-back window.</td></tr>')
    return (
        '<table id="regions"><thead><tr><th>Region</th><th>Location</th><th>Record (UTC)</th><th>Age (h)</th>'
        "<th>P(&ge;M)</th><th>P(&ge;X)</th><th>Status</th><th>Flags and reasons</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _dl(items: Sequence[tuple[str, Any]]) -> str:
    return (
        "<table class=meta>"
        + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in items)
        + "</table>"
    )


def render_html(fc: Forecast, history: dict[str, list[tuple[str, float]]]) -> str:
    """The full self-contained HTML page of one forecast."""
    m = fc.model
    banner = (
        '<div class="synthetic" id="synthetic-banner">SYNTHETIC DATA &mdash; NOT A REAL FORECAST</div>'
        if fc.synthetic
        else ""
    )
    warnings = "".join(f'<div class="warn">&#9888; {_e(w)}</div>' for w in fc.warnings)
    today = fc.issue_time.strftime("%Y-%m-%d")
    hist = history_svg(history, today, fc.regions)
    hist_html = (
        f"<figure>{hist}<figcaption>P(&ge;M) of today's regions in earlier reports in this folder "
        "(up to 8 highest today).</figcaption></figure>"
        if hist
        else '<p class="muted" id="no-history">No earlier report in this folder mentions today\'s regions: '
        "the history starts with this report.</p>"
    )
    flag_rows = "".join(f"<li><code>{_e(k)}</code>: {_e(v)}</li>" for k, v in FLAGS.items())
    body = f"""{banner}<main>
<h1>Flare probability forecast &mdash; issued {fc.issue_time:%Y-%m-%d %H:%M} UTC</h1>
<p>Valid {fc.valid_start:%Y-%m-%d %H:%M} to {fc.valid_end:%Y-%m-%d %H:%M} UTC (next {
        fc.config.valid_hours:g} h).
Target: <b>{_e(m.target_definition)}</b>. Calibration: {_e(m.calibration)}.</p>
{warnings}
<div class="summary">
<div class="card" id="full-disk-m"><div>Full disk P(&ge;M)</div><div class="big">{
        _pct(fc.full_disk_m)
    }</div></div>
<div class="card" id="full-disk-x"><div>Full disk P(&ge;X)</div><div class="big">{
        _pct(fc.full_disk_x)
    }</div></div>
<div class="card"><div>Regions</div><div class="big">{fc.n_forecast} / {len(fc.regions)}</div>
<div class="muted">with a forecast / listed</div></div></div>
<p class="muted">Full disk = 1 &minus; &prod;(1 &minus; p<sub>i</sub>) over the regions with a forecast, assuming
the regions flare independently. {_e(fc.x_description)}</p>
<h2>Regions</h2>{_table(fc)}
<h2>Figures</h2><div class="figs">
<figure>{
        bar_chart_svg(fc.regions)
    }<figcaption>P(&ge;M) per region (coloured bar) and P(&ge;X) (dark bar).
</figcaption></figure>
<figure>{
        disk_map_svg(fc.regions, fc.config.limb_deg)
    }<figcaption>Regions at their LON_FWT/LAT_FWT, coloured by
P(&ge;M); dashed red meridians at &plusmn;{
        fc.config.limb_deg:g}&deg; mark the near-limb zone; dashed outlines are
stale records. The B0 tilt is ignored.</figcaption></figure>
</div><h2>History</h2>{hist_html}
<h2>Model and input</h2>{
        _dl(
            [
                ("model", m.model_id),
                ("model folder", m.path),
                ("trained with flarecast", m.flarecast_version),
                ("created", m.created),
                ("weights sha256", m.weights_sha256),
                ("target definition", m.target_definition),
                (
                    "trained on flaring regions only",
                    {True: "yes", False: "no", None: "unknown"}[m.flaring_only],
                ),
                ("training data", f"{m.training_data} (sha256 {m.training_sha256 or 'n/a'})"),
                ("training data cut-off", m.training_cutoff or "unknown"),
                ("calibration", m.calibration),
                ("P(>=X)", fc.x_description),
                ("input", fc.input.source),
                ("input sha256", fc.input.sha256 or "n/a"),
            ]
        )
    }
<h2>Notes</h2><ul>{"".join(f"<li>{_e(n)}</li>" for n in fc.notes) or "<li>none</li>"}</ul>
<h2>Flags</h2><ul>{flag_rows}</ul>
<p class="muted">flarecast {
        __version__
    }. Also as <a href="forecast.txt">text</a>, <a href="forecast.json">JSON</a>,
<a href="forecast.csv">CSV</a>, <a href="forecast.md">Markdown</a>; <a href="../index.html">all days</a>.</p>
</main>"""
    title = f"{'SYNTHETIC ' if fc.synthetic else ''}flarecast forecast {today}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
        f"<body>{body}</body></html>\n"
    )


def render_index(entries: Sequence[dict[str, Any]]) -> str:
    """``reports/index.html``: one row per day folder, newest first."""
    rows = []
    for e in entries:
        day = _e(e["day"])
        if not e.get("readable"):
            rows.append(
                f"<tr><td>{day}</td><td colspan=6>forecast.json missing or unreadable</td></tr>"
            )
            continue
        tag = ' <b style="color:#b00020">SYNTHETIC</b>' if e.get("synthetic") else ""
        p_m = e.get("p_m")
        p_x = e.get("p_x")
        rows.append(
            f'<tr><td><a href="{day}/forecast.html">{day}</a>{tag}</td><td>{_e(e.get("issue_time") or "")}</td>'
            f"<td class=num>{_pct(p_m if isinstance(p_m, int | float) else float('nan'))}</td>"
            f"<td class=num>{_pct(p_x if isinstance(p_x, int | float) else float('nan'))}</td>"
            f"<td class=num>{_e(e.get('n_forecast'))} / {_e(e.get('n_regions'))}</td><td>{_e(e.get('model') or '')}</td>"
            f'<td><a href="{day}/forecast.txt">txt</a> <a href="{day}/forecast.json">json</a> '
            f'<a href="{day}/forecast.csv">csv</a></td></tr>'
        )
    table = (
        '<table id="days"><thead><tr><th>Day</th><th>Issued</th><th>Full disk P(&ge;M)</th>'
        "<th>Full disk P(&ge;X)</th><th>Regions forecast / listed</th><th>Model</th><th>Files</th></tr></thead>"
        f"<tbody>{''.join(rows) or '<tr><td colspan=7>no reports yet</td></tr>'}</tbody></table>"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>flarecast reports</title>'
        f"<style>{_CSS}#days td{{white-space:nowrap}}</style></head><body><main>"
        f"<h1>flarecast daily flare forecasts</h1>{table}"
        f'<p class="muted">Updated by flarecast {__version__}; one folder per UT issue date.</p></main></body></html>\n'
    )
