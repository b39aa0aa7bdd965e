"""Self-contained HTML for a forecast: summary, table, figures, provenance; and the reports index.

Everything is inline (CSS in a ``<style>`` element, figures as inline SVG from
:mod:`flarecast.forecast.figures`), so the page needs no network and no
JavaScript, prints well and stays a few tens of kilobytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flarecast import __version__
from flarecast.forecast.comparison import skill_text
from flarecast.forecast.core import Forecast
from flarecast.forecast.figures import (
    bar_chart_svg,
    disk_map_svg,
    esc,
    history_svg,
    legend_svg,
    legend_width,
    pct_text,
    prob_colour,
    text_colour,
)
from flarecast.forecast.flags import FLAGS

__all__ = ["render_html", "render_index"]

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


def _table(fc: Forecast) -> str:
    rows = []
    for r in fc.regions.itertuples(index=False):
        reasons = "<br>".join(esc(x) for x in r.reasons) or "&mdash;"
        rows.append(
            f'<tr class="{esc(r.status)}"><td>{esc(r.region)}</td><td>{esc(r.location or "--")}</td>'
            f"<td>{r.record_time:%Y-%m-%d %H:%M}</td><td class=num>{r.age_hours:.1f}</td>"
            f'<td class=num style="background:{prob_colour(r.p_m)};color:{text_colour(r.p_m)}">{pct_text(r.p_m)}</td>'
            f"<td class=num>{pct_text(r.p_x)}</td><td>{esc(r.status.replace('_', ' '))}</td><td>{reasons}</td></tr>"
        )
    if not rows:
        rows.append('<tr><td colspan="8">No region has a record in the look-back window.</td></tr>')
    return (
        '<table id="regions"><thead><tr><th>Region</th><th>Location</th><th>Record (UTC)</th><th>Age (h)</th>'
        "<th>P(&ge;M)</th><th>P(&ge;X)</th><th>Status</th><th>Flags and reasons</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _comparison(fc: Forecast) -> str:
    """The McIntosh-Poisson section: each method's P(>=M) per region and full disk, and its track record."""
    cmp = fc.comparison
    if cmp is None:
        return ""
    head = "".join(f"<th>{esc(m)} P(&ge;M)</th>" for m in cmp.methods)
    rows = []
    for r in cmp.regions.to_dict(orient="records"):
        cls = r["mcintosh"] if isinstance(r["mcintosh"], str) else "--"
        cells = "".join(
            f'<td class=num style="background:{prob_colour(r[f"{m}_m"])};color:'
            f'{text_colour(r[f"{m}_m"])}">{pct_text(r[f"{m}_m"])}</td>'
            for m in cmp.methods
        )
        rows.append(
            f"<tr><td>{esc(r['region'])}</td><td>{esc(r['location'] or '--')}</td>"
            f"<td>{esc(cls)}</td>{cells}</tr>"
        )
    disk = "".join(
        f"<td class=num><b>{pct_text(cmp.full_disk[m][0])}</b></td>" for m in cmp.methods
    )
    rows.append(f"<tr><th colspan=3>Full disk</th>{disk}</tr>")
    skills = "".join(
        f"<li><b>{esc(m)}</b> ({esc(cmp.description(m))}): {esc(skill_text(cmp.skill.get(m)))}</li>"
        for m in cmp.methods
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in cmp.notes)
    return (
        '<h2>McIntosh-Poisson beside flarecast</h2><table id="comparison"><thead><tr><th>Region</th>'
        f"<th>Location</th><th>McIntosh</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<ul id="track-record">{skills}</ul><ul class="muted">{notes}</ul>'
    )


def _dl(items: Sequence[tuple[str, Any]]) -> str:
    return (
        "<table class=meta>"
        + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items)
        + "</table>"
    )


def render_html(
    fc: Forecast,
    history: dict[str, list[tuple[str, float]]],
    observed: dict[str, set[str]] | None = None,
) -> str:
    """The full self-contained HTML page of one forecast.

    ``observed`` (region -> earlier report days with a >= M flare of the region in
    that report's valid period) marks those days in the history plot.
    """
    m = fc.model
    banner = (
        '<div class="synthetic" id="synthetic-banner">SYNTHETIC DATA &mdash; NOT A REAL FORECAST</div>'
        if fc.synthetic
        else ""
    )
    warnings = "".join(f'<div class="warn">&#9888; {esc(w)}</div>' for w in fc.warnings)
    today = fc.issue_time.strftime("%Y-%m-%d")
    hist = history_svg(history, today, fc.regions, observed=observed)
    marks = (
        " &#9650;: the catalogue lists a &ge;M1.0 flare of the region peaking in that report's valid "
        "period."
        if observed is not None
        else ""
    )
    hist_html = (
        f"<figure>{hist}<figcaption>P(&ge;M) of today's regions in earlier reports in this folder "
        f"(up to 8 highest today).{marks}</figcaption></figure>"
        if hist
        else '<p class="muted" id="no-history">No earlier report in this folder mentions today\'s regions: '
        "the history starts with this report.</p>"
    )
    flag_rows = "".join(f"<li><code>{esc(k)}</code>: {esc(v)}</li>" for k, v in FLAGS.items())
    body = f"""{banner}<main>
<h1>Flare probability forecast &mdash; issued {fc.issue_time:%Y-%m-%d %H:%M} UTC</h1>
<p>Valid {fc.valid_start:%Y-%m-%d %H:%M} to {fc.valid_end:%Y-%m-%d %H:%M} UTC (next {
        fc.config.valid_hours:g} h).
Target: <b>{esc(m.target_definition)}</b>. Calibration: {esc(m.calibration)}.</p>
{warnings}
<div class="summary">
<div class="card" id="full-disk-m"><div>Full disk P(&ge;M)</div><div class="big">{
        pct_text(fc.full_disk_m)
    }</div></div>
<div class="card" id="full-disk-x"><div>Full disk P(&ge;X)</div><div class="big">{
        pct_text(fc.full_disk_x)
    }</div></div>
<div class="card"><div>Regions</div><div class="big">{fc.n_forecast} / {len(fc.regions)}</div>
<div class="muted">with a forecast / listed</div></div></div>
<p class="muted">Full disk = 1 &minus; &prod;(1 &minus; p<sub>i</sub>) over the regions with a forecast, assuming
the regions flare independently. {esc(fc.x_description)}</p>
<h2>Regions</h2>{_table(fc)}
<p><svg xmlns="http://www.w3.org/2000/svg" width="{legend_width():.0f}" height="14" role="img"
aria-label="Colour classes of P(>=M)">{legend_svg(0, 2)}</svg></p>{_comparison(fc)}
<h2>Figures</h2><div class="figs">
<figure>{
        bar_chart_svg(fc.regions)
    }<figcaption>P(&ge;M) per region (coloured bar) and P(&ge;X) (dark bar).
</figcaption></figure>
<figure>{
        disk_map_svg(fc.regions, fc.config.limb_deg)
    }<figcaption>Regions at their LON_FWT/LAT_FWT, coloured by
P(&ge;M) class; labels that would overlap are moved aside (with a leader line when
moved to the margin); dashed red meridians at &plusmn;{
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
<h2>Notes</h2><ul>{"".join(f"<li>{esc(n)}</li>" for n in fc.notes) or "<li>none</li>"}</ul>
<h2>Flags</h2><ul>{flag_rows}</ul>
<p class="muted">flarecast {
        __version__
    }. Also as <a href="forecast.txt">text</a>, <a href="forecast.json">JSON</a>,
<a href="forecast.csv">CSV</a>, <a href="forecast.md">Markdown</a>; <a href="../index.html">all days</a>.</p>
</main>"""
    title = f"{'SYNTHETIC ' if fc.synthetic else ''}flarecast forecast {today}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
        f"<body>{body}</body></html>\n"
    )


def render_index(entries: Sequence[dict[str, Any]]) -> str:
    """``reports/index.html``: one row per day folder, newest first."""
    rows = []
    for e in entries:
        day = esc(e["day"])
        if not e.get("readable"):
            rows.append(
                f"<tr><td>{day}</td><td colspan=6>forecast.json missing or unreadable</td></tr>"
            )
            continue
        tag = ' <b style="color:#b00020">SYNTHETIC</b>' if e.get("synthetic") else ""
        p_m = e.get("p_m")
        p_x = e.get("p_x")
        rows.append(
            f'<tr><td><a href="{day}/forecast.html">{day}</a>{tag}</td><td>{esc(e.get("issue_time") or "")}</td>'
            f"<td class=num>{pct_text(p_m if isinstance(p_m, int | float) else float('nan'))}</td>"
            f"<td class=num>{pct_text(p_x if isinstance(p_x, int | float) else float('nan'))}</td>"
            f"<td class=num>{esc(e.get('n_forecast'))} / {esc(e.get('n_regions'))}</td><td>{esc(e.get('model') or '')}</td>"
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
