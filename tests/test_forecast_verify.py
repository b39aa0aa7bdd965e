"""flarecast verify: the published reports scored against the catalogue, recomputed by hand from the files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _forecast_model import train_tiny_model
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

from flarecast.cli import main
from flarecast.errors import DataError

DAYS = [
    f"2011-03-{d:02d}" for d in range(3, 10)
]  # the SYNTHETIC demo sun (seed 0) has M flares here


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from flarecast.data.synthetic import demo_sharp_series
    from flarecast.forecast.core import make_forecast
    from flarecast.forecast.loading import load_forecaster
    from flarecast.forecast.report import write_report

    root = tmp_path_factory.mktemp("verify")
    model, info, x_model = load_forecaster(train_tiny_model(root / "model"))
    records = demo_sharp_series(seed=0)  # the sun of read_catalogue("demo")
    for day in DAYS:
        fc = make_forecast(records, model, info, pd.Timestamp(day, tz="UTC"), x_model=x_model)
        write_report(fc, root / "reports")
    (
        root / "reports" / "2011-03-10"
    ).mkdir()  # a day folder without forecast.json is skipped, counted
    return root


def test_scores_recomputed_from_the_files(published):
    from flarecast.data.synthetic import demo_catalogue

    out = published / "out"
    result = CliRunner().invoke(
        main, ["verify", str(published / "reports"), "--catalogue", "demo", "--out", str(out),
               "--n-boot", "0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "7 published day(s)" in result.output and "1 day(s) with an unreadable" in result.output
    flares = demo_catalogue(seed=0)
    big = flares[flares["peak_flux"] >= 1e-5]
    rows, disk = [], []
    for day in DAYS:
        data = json.loads((published / "reports" / day / "forecast.json").read_text())
        t0, t1 = pd.Timestamp(data["issue_time"]), pd.Timestamp(data["valid_end"])
        inside = big[(big["peak"] >= t0) & (big["peak"] < t1)]
        disk.append((data["full_disk"]["p_m"], int(len(inside) > 0)))
        for r in data["regions"]:
            if r["p_m"] is not None and r["noaa_ar"] is not None:
                hit = (inside["noaa_ar"].astype("float") == r["noaa_ar"]).any()  # demo: 5-digit
                rows.append((r["p_m"], int(hit)))
    table = pd.read_csv(out / "table.csv").set_index("level")
    for level, pairs in (("region-day", rows), ("full-disk day", disk)):
        p, y = np.array(pairs, dtype=float).T
        got = table.loc[level]
        assert got["n"] == len(y) and got["events"] == y.sum() > 0
        brier = np.mean((p - y) ** 2)
        assert got["brier"] == pytest.approx(brier, rel=1e-5)
        assert got["bss"] == pytest.approx(1 - brier / np.mean((y.mean() - y) ** 2), rel=1e-5)
        assert got["roc_auc"] == pytest.approx(roc_auc_score(y, p), rel=1e-5)
        hits = p >= 0.5
        tss = hits[y == 1].mean() - hits[y == 0].mean()
        assert got["tss"] == pytest.approx(tss, abs=1e-6) and got["tss_50"] == pytest.approx(tss)
    for name in ("table.md", "predictions.parquet", "run.json", "reliability.png", "roc.png"):
        assert (out / name).stat().st_size > 0
    assert "threshold 50%" in json.loads((out / "run.json").read_text())["dataset_notes"][-1]


def test_nothing_to_verify(tmp_path):
    from flarecast.forecast.verify import read_published

    (tmp_path / "2011-01-01").mkdir()
    with pytest.raises(DataError, match="no readable YYYY-MM-DD/forecast.json"):
        read_published(tmp_path)
    with pytest.raises(DataError, match="not a reports folder"):
        read_published(tmp_path / "missing")


def test_history_marks_the_observed_flares(published, tmp_path):
    import re
    import shutil

    from flarecast.data.synthetic import demo_catalogue
    from flarecast.forecast.report import read_observed

    reports = tmp_path / "reports"
    shutil.copytree(published / "reports", reports)
    shutil.rmtree(reports / "2011-03-10")
    flares = demo_catalogue(seed=0)
    big = flares[flares["peak_flux"] >= 1e-5]
    expected = set()
    for day in DAYS:
        data = json.loads((reports / day / "forecast.json").read_text())
        t0, t1 = pd.Timestamp(data["issue_time"]), pd.Timestamp(data["valid_end"])
        inside = set(
            big.loc[(big["peak"] >= t0) & (big["peak"] < t1), "noaa_ar"].dropna().astype(int)
        )
        expected |= {(r["region"], day) for r in data["regions"] if r["noaa_ar"] in inside}
    observed = read_observed(reports, "2011-03-10", flares)
    assert {(reg, d) for reg, days in observed.items() for d in days} == expected
    assert expected  # the demo sun has >= M flares of listed regions in these days

    args = ["forecast", "--model", str(published / "model"), "--features", "demo:0", "--date",
            "2011-03-10", "--out", str(reports)]  # fmt: skip
    assert CliRunner().invoke(main, [*args, "--catalogue", "demo"]).exit_code == 0
    page = (reports / "2011-03-10" / "forecast.html").read_text()
    marks = set(re.findall(r'class="observed" data-region="([^"]+)" data-day="([^"]+)"', page))
    shown = set(re.findall(r'<text x="[^"]+" y="[^"]+" font-size="11" fill="[^"]+">(\S+) \(', page))
    assert marks == {(reg, d) for reg, d in expected if reg in shown} and marks
    assert "the catalogue lists a &ge;M1.0 flare" in page
    assert CliRunner().invoke(main, args).exit_code == 0  # the same day again, without a catalogue
    page = (reports / "2011-03-10" / "forecast.html").read_text()
    assert 'class="observed"' not in page and "the catalogue lists" not in page
