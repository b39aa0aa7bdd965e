"""The SVG figures of the forecast page: bar chart, solar-disk map, history; and the colour scale.

Drawn here as inline SVG rather than through matplotlib, so a page needs no
network and no JavaScript and a whole forecast stays inside its time budget.

Probabilities are coloured in classes whose edges are 1%, 5%, 10%, 30% and
50% (:data:`PROB_CLASSES`), roughly logarithmic: a linear 0-100% scale makes
every region under 10%, most of them on most days, the same near-white. Every
figure that uses the colours carries the legend (:func:`legend_svg`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PROB_CLASSES",
    "NO_FORECAST_COLOUR",
    "prob_colour",
    "legend_svg",
    "legend_width",
    "place_labels",
    "bar_chart_svg",
    "disk_map_svg",
    "history_svg",
]

#: (upper edge, colour, legend text) of each probability class, lowest first: ColorBrewer YlOrRd, 6 classes.
PROB_CLASSES: tuple[tuple[float, str, str], ...] = (
    (0.01, "#ffffb2", "<1%"),
    (0.05, "#fed976", "1-5%"),
    (0.10, "#feb24c", "5-10%"),
    (0.30, "#fd8d3c", "10-30%"),
    (0.50, "#f03b20", "30-50%"),
    (math.inf, "#bd0026", ">=50%"),
)
#: Colour of a region without a forecast.
NO_FORECAST_COLOUR = "#bdbdbd"
#: Classes from which table cells get white text.
_DARK_FROM = 0.30
_LINES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
# Label geometry for collision checks: a 10 px sans-serif digit is about 6 px wide.
_CHAR_W, _LABEL_H = 6.2, 11.0


def esc(text: Any) -> str:
    """``text`` escaped for HTML and SVG (quotes included)."""
    return html.escape(str(text), quote=True)


def pct_text(p: float, digits: int = 1) -> str:
    """A probability as HTML text: ``12.3%``, ``&lt;0.1%`` for a small nonzero one, "no forecast" for NaN."""
    if p is None or not math.isfinite(p):
        return "no forecast"
    if 0 < p < 0.5 * 10 ** -(digits + 2):  # a small probability is not zero: do not print it as one
        return f"&lt;{10**-digits:g}%"  # HTML-escaped
    return f"{100 * p:.{digits}f}%"


def prob_colour(p: float) -> str:
    """Hex colour of the class of probability ``p`` (see :data:`PROB_CLASSES`); grey for NaN."""
    if p is None or not math.isfinite(p):
        return NO_FORECAST_COLOUR
    return next(colour for edge, colour, _ in PROB_CLASSES if p < edge)


def text_colour(p: float) -> str:
    """Black or white, whichever reads on :func:`prob_colour` of ``p``."""
    return "#fff" if p is not None and math.isfinite(p) and p >= _DARK_FROM else "#000"


def _legend_items() -> list[tuple[str, str]]:
    return [(c, t) for _, c, t in PROB_CLASSES] + [(NO_FORECAST_COLOUR, "no forecast")]


def legend_width() -> float:
    """Width (px) of :func:`legend_svg`."""
    return 48 + sum(_swatch_step(t) for _, t in _legend_items())


def _swatch_step(text: str) -> float:
    return 15 + 5.8 * len(text) + 10  # swatch, its 9 px label, a gap


def legend_svg(x: float, y: float) -> str:
    """SVG elements of the colour legend, one swatch per class plus "no forecast", from (x, y)."""
    parts = [f'<g class="legend"><text x="{x}" y="{y + 9}" font-size="10">P(&gt;=M)</text>']
    sx = x + 48
    for colour, text in _legend_items():
        parts.append(
            f'<rect x="{sx:.1f}" y="{y}" width="12" height="10" fill="{colour}" stroke="#666" '
            f'stroke-width="0.5"/><text x="{sx + 15:.1f}" y="{y + 9}" font-size="9">{esc(text)}</text>'
        )
        sx += _swatch_step(text)
    parts.append("</g>")
    return "".join(parts)


def _box(tx: float, ty: float, text: str, anchor: str) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of a 10 px label whose baseline starts at (tx, ty) with ``anchor``."""
    w = _CHAR_W * len(text)
    x0 = {"start": tx, "middle": tx - w / 2, "end": tx - w}[anchor]
    return x0, ty - _LABEL_H + 2, x0 + w, ty + 2


def _boxes_overlap(a: Sequence[float], b: Sequence[float], pad: float = 1.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def _hits_circle(box: Sequence[float], cx: float, cy: float, r: float) -> bool:
    nx, ny = min(max(cx, box[0]), box[2]), min(max(cy, box[1]), box[3])
    return (nx - cx) ** 2 + (ny - cy) ** 2 < r * r


def place_labels(
    points: Sequence[tuple[float, float, float, str]],
    bounds: tuple[float, float, float, float],
    centre_x: float,
    taken: Sequence[tuple[float, float, float, float]] = (),
) -> list[tuple[float, float, str, tuple[float, float, float, float] | None]]:
    """Non-overlapping positions for the labels of circles, in the order given (first = best spot).

    Each label tries eight spots around its circle, outward first (right of a
    circle west of ``centre_x``, left of one east of it); the first spot that
    overlaps no placed label, no circle and stays inside ``bounds`` wins. A
    label with no free spot goes to the nearest free row of the margin on its
    side, joined to its circle by a leader line.

    Parameters
    ----------
    points : sequence of (x, y, r, text)
        Circle centres and radii (px) and their labels.
    bounds : (x0, y0, x1, y1)
        Where labels may go.
    centre_x : float
        x of the disk centre (which side is outward).
    taken : sequence of (x0, y0, x1, y1)
        Boxes already used (other text).

    Returns
    -------
    list of (tx, ty, anchor, leader)
        Baseline position and text-anchor of each label, and the leader line
        ``(x1, y1, x2, y2)`` or None; same order as ``points``.
    """
    placed: list[tuple[float, float, float, float]] = list(taken)
    out = []
    for x, y, r, text in points:
        west = x >= centre_x
        d = r * 0.7
        spots = [
            (x + r + 2, y + 4, "start"),
            (x - r - 2, y + 4, "end"),
            (x + d + 1, y - d - 2, "start"),
            (x + d + 1, y + d + 10, "start"),
            (x - d - 1, y - d - 2, "end"),
            (x - d - 1, y + d + 10, "end"),
            (x, y - r - 3, "middle"),
            (x, y + r + 11, "middle"),
        ]
        if not west:  # outward first: left, then the left-hand corners
            spots = [spots[1], spots[0], spots[4], spots[5], spots[2], spots[3], *spots[6:]]
        choice = None
        for tx, ty, anchor in spots:
            box = _box(tx, ty, text, anchor)
            inside = (
                box[0] >= bounds[0]
                and box[2] <= bounds[2]
                and box[1] >= bounds[1]
                and box[3] <= bounds[3]
            )
            if (
                inside
                and not any(_boxes_overlap(box, b) for b in placed)
                and not any(_hits_circle(box, px, py, pr) for px, py, pr, _ in points)
            ):
                choice = (tx, ty, anchor, None)
                break
        if choice is None:
            choice = _margin_spot(x, y, r, text, west, bounds, placed)
        placed.append(_box(choice[0], choice[1], text, choice[2]))
        out.append(choice)
    return out


def _margin_spot(
    x: float,
    y: float,
    r: float,
    text: str,
    west: bool,
    bounds: tuple[float, float, float, float],
    placed: list[tuple[float, float, float, float]],
) -> tuple[float, float, str, tuple[float, float, float, float]]:
    """The free margin row nearest to ``y`` on the circle's side, with a leader line to the circle."""
    tx, anchor = (bounds[2], "end") if west else (bounds[0], "start")
    for k in range(int((bounds[3] - bounds[1]) / _LABEL_H) * 2 + 1):
        ty = y + 4 + (k + 1) // 2 * _LABEL_H * (1 if k % 2 else -1)
        box = _box(tx, ty, text, anchor)
        if (
            box[1] >= bounds[1]
            and box[3] <= bounds[3]
            and not any(_boxes_overlap(box, b) for b in placed)
        ):
            break
    end_x = box[0] - 1 if west else box[2] + 1
    side = 1 if west else -1
    return tx, ty, anchor, (x + side * r, y, end_x, ty - 4)


def bar_chart_svg(regions: pd.DataFrame) -> str:
    """Horizontal bars of P(>= M) (coloured) and P(>= X) (dark) per region, highest first."""
    order = regions.assign(_k=regions["p_m"].fillna(-1.0)).sort_values(
        ["_k", "region"], ascending=[False, True]
    )
    left, width, row = 70, 380, 26
    chart = 40 + row * max(len(order), 1)
    height = chart + 22  # the colour legend below the axis
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fig" id="bar-chart" width="{left + width + 60}" '
        f'height="{height}" role="img" aria-label="Per-region flare probabilities">'
    ]
    for tick in (0, 25, 50, 75, 100):
        x = left + width * tick / 100
        parts.append(
            f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{chart - 14}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{chart - 2}" font-size="10" text-anchor="middle">{tick}%</text>'
        )
    for i, r in enumerate(order.itertuples(index=False)):
        y = 22 + i * row
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" font-size="11" text-anchor="end">{esc(r.region)}</text>'
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
            f"<title>{esc(r.region)}: P(&gt;=M) {pct_text(r.p_m)}</title></rect>"
        )
        if math.isfinite(r.p_x):
            parts.append(
                f'<rect x="{left}" y="{y + 15}" width="{max(wx, 1):.1f}" height="5" fill="#333">'
                f"<title>{esc(r.region)}: P(&gt;=X) {pct_text(r.p_x)}</title></rect>"
            )
        parts.append(
            f'<text x="{left + max(wm, 1) + 4:.1f}" y="{y + 12}" font-size="10">{pct_text(r.p_m, 0)}</text>'
        )
    if len(order) == 0:
        parts.append(f'<text x="{left}" y="36" font-size="12">no regions on the disk</text>')
    parts.append(legend_svg(8, chart + 8))
    parts.append("</svg>")
    return "".join(parts)


def _disk_xy(lon: float, lat: float, cx: float, cy: float, radius: float) -> tuple[float, float]:
    # Orthographic view from Earth ignoring the B0 tilt: west (positive LON_FWT) right, north up.
    lo, la = math.radians(lon), math.radians(lat)
    return cx + radius * math.cos(la) * math.sin(lo), cy - radius * math.sin(la)


def disk_map_svg(regions: pd.DataFrame, limb_deg: float = 70.0) -> str:
    """The solar disk with each region at (LON_FWT, LAT_FWT), coloured by P(>= M), labels kept apart."""
    width, size, radius = 480, 370, 160  # room on both sides for the labels of limb regions
    cx, cy = width / 2, size / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fig" id="disk-map" width="{width}" '
        f'height="{size + 44}" role="img" aria-label="Solar disk map of regions coloured by probability">',
        f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="#f7f7f7" stroke="#333"/>',
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
    compass = [(cx, 14, "N", "middle"), (width - 8, cy + 4, "W", "end"), (8, cy + 4, "E", "start")]
    parts += [
        f'<text x="{x}" y="{y}" font-size="11" text-anchor="{a}">{t}</text>'
        for x, y, t, a in compass
    ]
    placed = regions[np.isfinite(regions["lon"]) & np.isfinite(regions["lat"])]
    unplaced = [str(r) for r in regions.loc[~regions.index.isin(placed.index), "region"]]
    circles = {}
    for r in placed.itertuples():
        x, y = _disk_xy(max(-90.0, min(90.0, r.lon)), r.lat, cx, cy, radius)
        circles[r.Index] = (x, y, 5 + 9 * (r.p_m if r.status == "forecast" else 0.0))
    # larger probabilities drawn last (on top) and labelled first (the best spots)
    for r in placed.sort_values("p_m", na_position="first").itertuples():
        x, y, rr = circles[r.Index]
        dash = ' stroke-dasharray="2 2"' if "stale" in r.flags else ""
        tip = f"{r.region} {r.location}: " + (
            f"P(&gt;=M) {pct_text(r.p_m)}" if r.status == "forecast" else "no forecast"
        )
        parts.append(
            f'<circle class="region" cx="{x:.1f}" cy="{y:.1f}" r="{rr:.1f}" fill="{prob_colour(r.p_m)}" '
            f'stroke="#333" stroke-width="1"{dash}><title>{esc(tip)}</title></circle>'
        )
    order = placed.sort_values(["p_m", "region"], ascending=[False, True], na_position="last")
    points = [(*circles[i], str(reg)) for i, reg in zip(order.index, order["region"], strict=True)]
    taken = [_box(x, y, t, a) for x, y, t, a in compass]
    for (_, _, _, text), (tx, ty, anchor, leader) in zip(
        points, place_labels(points, (2, 18, width - 2, size - 2), cx, taken), strict=True
    ):
        if leader is not None:
            parts.append(
                '<line class="leader" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" '
                'stroke="#777" stroke-width="0.6"/>'.format(*leader)
            )
        parts.append(
            f'<text class="region-label" x="{tx:.1f}" y="{ty:.1f}" font-size="10" '
            f'text-anchor="{anchor}">{esc(text)}</text>'
        )
    parts.append(legend_svg(8, size + 10))
    if unplaced:
        parts.append(
            f'<text x="8" y="{size + 38}" font-size="10" fill="#666">position unknown: '
            f"{esc(', '.join(unplaced))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def history_svg(
    history: dict[str, list[tuple[str, float]]],
    today: str,
    current: pd.DataFrame,
    max_regions: int = 8,
    observed: dict[str, set[str]] | None = None,
) -> str | None:
    """Lines of P(>= M) by report day for the current regions that appear in earlier reports.

    ``observed`` (region -> earlier days with a >= M flare in that report's valid
    period) adds a triangle above each such day's point. Returns None when no
    current region has an earlier report.
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
            f'<text x="{x:.1f}" y="{top + height + 14}" font-size="10" text-anchor="middle">{esc(d)}</text>'
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
        for (d, _), (x, y) in zip(series[reg], pts, strict=True):
            if d in (observed or {}).get(reg, ()):
                parts.append(
                    f'<path class="observed" data-region="{esc(reg)}" data-day="{esc(d)}" '
                    f'd="M{x:.1f},{y - 12:.1f} l4,7 h-8 z" fill="{colour}" stroke="#000" stroke-width="0.6"/>'
                )
        parts.append(
            f'<text x="{left + width + 10}" y="{top + 12 + 14 * k}" font-size="11" fill="{colour}">'
            f"{esc(reg)} ({pct_text(todays[reg], 0)})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
