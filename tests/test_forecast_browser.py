"""forecast.html in a real browser: headless Chromium renders the table and the figures, offline, without errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flarecast.data.synthetic import demo_sharp_series
from flarecast.forecast.config import InputInfo, ModelInfo
from flarecast.forecast.core import make_forecast
from flarecast.forecast.report import write_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium; .ci/run does it)",
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = (
        tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    )  # a fresh profile per run
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _console_messages(stderr: str) -> list[str]:
    # with --enable-logging=stderr every console message (log, error, uncaught exception) is a CONSOLE line
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


class Scale:
    def predict_proba(self, X):
        p = np.clip(X["USFLUX"].to_numpy() / 1e23, 0, 1)
        return np.column_stack([1 - p, p])


def _report(root: Path) -> Path:
    """Three days of a SYNTHETIC 8-region forecast (one region without a forecast) under ``root``."""
    info = ModelInfo(
        model_id="browser-test",
        features=("USFLUX", "MEANSHR"),
        target_definition="positive: >= M1.0; negative: N, A, B, C",
        flaring_only=False,
        calibration="platt (test)",
        calibration_method="platt",
        feature_range={"USFLUX": (1e20, 1e23), "MEANSHR": (0.0, 90.0)},
        x_counts=(90, 10),
    )
    rng = np.random.default_rng(7)
    lon = np.array([-80.0, -45.0, -10.0, 5.0, 30.0, 55.0, 72.0, 20.0])
    day = None
    for k, date in enumerate(("2014-01-01", "2014-01-02", "2014-01-03")):
        t0 = pd.Timestamp(date, tz="UTC")
        frame = pd.DataFrame({
            "time": t0 - pd.Timedelta(hours=1), "noaa_ar": pd.array(11940 + np.arange(8), dtype="Int64"),
            "LON_FWT": lon + 13 * k, "LAT_FWT": rng.uniform(-30, 30, 8), "USFLUX": rng.uniform(1e21, 8e22, 8),
            "MEANSHR": np.r_[rng.uniform(20, 60, 7), np.nan],
        })  # fmt: skip
        fc = make_forecast(
            frame, Scale(), info, t0, input_info=InputInfo("browser-test (SYNTHETIC)", None, True)
        )
        day = write_report(fc, root)
    return day / "forecast.html"


@needs_chromium
def test_console_detector_catches_errors(tmp_path):
    """Control: the console check below would see a script error if the page had one."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<html><body><script>console.error("boom"); not_defined();</script></body></html>'
    )
    res = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri())
    messages = _console_messages(res.stderr)
    assert any("boom" in m for m in messages) and any("not_defined" in m for m in messages)


@needs_chromium
def test_forecast_html_renders_table_and_figures_offline(tmp_path):
    html_path = _report(tmp_path / "reports")
    res = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", html_path.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    dom = res.stdout
    assert _console_messages(res.stderr) == []
    # the table: one body row per region, the no-forecast region included
    table = re.search(r'<table id="regions">.*?</table>', dom, re.S).group(0)
    assert len(re.findall(r"<tr class=\"(?:forecast|no_forecast)\">", table)) == 8
    assert table.count('class="no_forecast"') == 1
    # the figures: bars for the 7 forecast regions, 8 markers on the disk, a history from the two earlier days
    assert len(re.findall(r'<rect class="bar"', dom)) == 7
    assert len(re.findall(r'<circle class="region"', dom)) == 8
    assert (
        'id="history"' in dom and len(re.findall(r"<polyline fill=\"none\" stroke=\"#", dom)) == 7
    )
    assert 'id="synthetic-banner"' in dom


@needs_chromium
def test_screenshot_is_not_blank(tmp_path):
    from PIL import Image

    html_path = _report(tmp_path / "reports")
    shot = tmp_path / "forecast.png"
    res = _chromium(
        tmp_path,
        "--hide-scrollbars",
        "--window-size=1200,2600",
        f"--screenshot={shot}",
        html_path.as_uri(),
    )
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (2600, 1200)
    background = np.array([250, 250, 250])  # the page's #fafafa
    drawn = np.abs(img.astype(int) - background).sum(axis=2) > 30
    assert drawn.mean() > 0.05  # text, table, bars and disk cover a good part of the page
    assert (
        len(np.unique(img.reshape(-1, 3), axis=0)) > 200
    )  # colour scale, banner, anti-aliased text
    # the SYNTHETIC banner across the top is the page's red (#b00020)
    assert (np.abs(img[5:30, 100:1100].astype(int) - [176, 0, 32]).sum(axis=2) < 60).mean() > 0.5


_OVERLAP_SCRIPT = """<script>
const svg = document.getElementById('disk-map');
const size = {w: +svg.getAttribute('width'), h: +svg.getAttribute('height')};
const labels = [...svg.querySelectorAll('text.region-label')].map(t => [t.textContent, t.getBBox()]);
const circles = [...svg.querySelectorAll('circle.region')].map(
  c => [+c.getAttribute('cx'), +c.getAttribute('cy'), +c.getAttribute('r')]);
const tol = 0.5, bad = [];
const hit = (a, b) => a.x < b.x + b.width - tol && b.x < a.x + a.width - tol &&
                      a.y < b.y + b.height - tol && b.y < a.y + a.height - tol;
labels.forEach(([n, a], i) => {
  labels.slice(i + 1).forEach(([m, b]) => { if (hit(a, b)) bad.push(n + ' on ' + m); });
  circles.forEach(([x, y, r]) => {
    const nx = Math.min(Math.max(x, a.x), a.x + a.width), ny = Math.min(Math.max(y, a.y), a.y + a.height);
    if ((nx - x) ** 2 + (ny - y) ** 2 < (r - tol) ** 2) bad.push(n + ' on a circle at ' + x + ',' + y);
  });
  if (a.x < 0 || a.y < 0 || a.x + a.width > size.w || a.y + a.height > size.h) bad.push(n + ' outside');
});
console.log('LABELS ' + JSON.stringify({n: labels.length, bad: bad}));
</script>"""


def _label_check(tmp_path: Path, html_path: Path) -> dict:
    page = html_path.with_name("check.html")
    page.write_text(html_path.read_text().replace("</body>", _OVERLAP_SCRIPT + "</body>"))
    res = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    line = next(m for m in _console_messages(res.stderr) if "LABELS " in m)
    return json.loads(re.search(r"LABELS (\{.*\})", line).group(1))


@needs_chromium
@pytest.mark.parametrize("where", ["demo day", "crowded west limb"])
def test_disk_map_labels_do_not_overlap_as_rendered(tmp_path, where):
    """Measured by the browser (real font metrics): no label on another label or on a circle."""
    info = ModelInfo("browser-test", ("USFLUX",), "positive: >= M1.0; negative: N, A, B, C")
    t0 = pd.Timestamp("2011-06-01", tz="UTC")
    if where == "demo day":  # the regions of `flarecast forecast --features demo --date 2011-06-01`
        frame = demo_sharp_series(seed=1)
    else:
        rng = np.random.default_rng(5)
        frame = pd.DataFrame({
            "time": t0 - pd.Timedelta(hours=1), "noaa_ar": pd.array(11900 + np.arange(16), dtype="Int64"),
            "LON_FWT": np.r_[rng.uniform(75, 90, 12), -88, -86, 0, 10], "LAT_FWT": rng.uniform(-15, 15, 16),
            "USFLUX": rng.uniform(1e20, 9e22, 16),
        })  # fmt: skip
    fc = make_forecast(
        frame, Scale(), info, t0, input_info=InputInfo("test (SYNTHETIC)", None, True)
    )
    day = write_report(fc, tmp_path / "reports")
    found = _label_check(tmp_path, day / "forecast.html")
    assert found["n"] == len(fc.regions) > 8
    assert found["bad"] == []
