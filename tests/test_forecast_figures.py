"""The forecast page's figures: a colour scale that separates 1%, 5%, 10% and 30%, and disk-map
labels that never overlap (their real rendering is checked in test_forecast_browser.py)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from flarecast.forecast.config import InputInfo, ModelInfo
from flarecast.forecast.core import make_forecast
from flarecast.forecast.figures import (
    NO_FORECAST_COLOUR,
    PROB_CLASSES,
    disk_map_svg,
    place_labels,
    prob_colour,
)


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


def test_probabilities_under_ten_percent_get_clearly_different_colours():
    samples = [0.005, 0.02, 0.07, 0.2, 0.4, 0.8]  # one per class
    colours = [prob_colour(p) for p in samples]
    assert len(set(colours)) == len(samples)
    steps = [
        np.linalg.norm(_rgb(a) - _rgb(b)) for a, b in zip(colours[:-1], colours[1:], strict=True)
    ]
    assert min(steps) > 30  # neighbouring classes are told apart at a glance
    white = np.array([255.0, 255.0, 255.0])
    assert np.linalg.norm(_rgb(prob_colour(0.02)) - white) > 40  # 2% is not white


@pytest.mark.parametrize(
    ("p", "index"), [(0.0, 0), (0.0099, 0), (0.01, 1), (0.049, 1), (0.05, 2), (0.1, 3), (0.3, 4),
                     (0.5, 5), (1.0, 5)],
)  # fmt: skip
def test_class_edges_are_1_5_10_30_50_percent(p, index):
    assert prob_colour(p) == PROB_CLASSES[index][1]


def test_no_forecast_is_grey():
    assert prob_colour(float("nan")) == NO_FORECAST_COLOUR == prob_colour(None)


def _crowded_forecast(n: int = 14, seed: int = 3):
    """``n`` regions crowded near the west limb (as on the demo day) plus a few elsewhere."""

    class Scale:
        def predict_proba(self, X):
            p = np.clip(X["USFLUX"].to_numpy() / 1e23, 0, 1)
            return np.column_stack([1 - p, p])

    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2014-01-02", tz="UTC")
    lon = np.r_[rng.uniform(78, 90, n - 3), -85.0, 0.0, 30.0]
    frame = pd.DataFrame({
        "time": t0 - pd.Timedelta(hours=1), "noaa_ar": pd.array(11900 + np.arange(n), dtype="Int64"),
        "LON_FWT": lon, "LAT_FWT": rng.uniform(-12, 12, n), "USFLUX": rng.uniform(1e20, 6e22, n),
    })  # fmt: skip
    info = ModelInfo("figures-test", ("USFLUX",), "positive: >= M1.0; negative: N, A, B, C")
    return make_forecast(frame, Scale(), info, t0, input_info=InputInfo("test (SYNTHETIC)"))


def test_crowded_limb_labels_do_not_overlap_each_other_or_the_circles():
    from flarecast.forecast.figures import _box, _boxes_overlap, _hits_circle

    points = [(300.0 + 2 * k, 200.0 + 3 * k, 6.0, f"1190{k}") for k in range(12)]
    bounds = (2.0, 18.0, 478.0, 368.0)
    spots = place_labels(points, bounds, centre_x=240.0)
    boxes = [
        _box(tx, ty, text, a) for (tx, ty, a, _), (*_, text) in zip(spots, points, strict=True)
    ]
    for i, a in enumerate(boxes):
        assert bounds[0] <= a[0] and a[2] <= bounds[2] and bounds[1] <= a[1] and a[3] <= bounds[3]
        assert not any(_boxes_overlap(a, b, pad=0) for b in boxes[i + 1 :])
        # a label moved to the margin may pass over circles only along its leader line
        if spots[i][3] is None:
            assert not any(_hits_circle(a, x, y, r) for x, y, r, _ in points)
    assert any(s[3] is not None for s in spots)  # twelve labels in 40 px: some need the margin


def test_disk_map_labels_every_region_once_with_the_legend():
    fc = _crowded_forecast()
    svg = disk_map_svg(fc.regions)
    labels = re.findall(r'<text class="region-label"[^>]*>([^<]+)</text>', svg)
    assert sorted(labels) == sorted(fc.regions["region"])
    for text in ("&lt;1%", "1-5%", "5-10%", "10-30%", "30-50%", "&gt;=50%", "no forecast"):
        assert f">{text}</text>" in svg
    assert svg.count('<line class="leader"') >= 1  # the crowd near the limb needs the margin
