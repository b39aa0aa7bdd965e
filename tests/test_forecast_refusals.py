"""What ``flarecast forecast`` refuses or warns about: a day without data, unrepresentable times,
a day inside the model's training period."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.errors import ConfigError
from flarecast.forecast.config import ForecastConfig, ModelInfo
from flarecast.forecast.core import make_forecast
from flarecast.forecast.support import forecast_support, training_overlap

sys.path.insert(0, str(Path(__file__).parent))
from _forecast_model import TRAIN_DATA, train_tiny_model  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return train_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


def _run(*args: str):
    return CliRunner().invoke(main, ["forecast", *map(str, args)], catch_exceptions=False)


def test_a_day_without_data_is_an_error_and_publishes_nothing(tmp_path, model_dir):
    out = tmp_path / "reports"
    res = _run("--model", model_dir, "--features", "demo", "--date", "2025-06-01", "--out", out)
    assert res.exit_code == 1, res.output
    assert "no region of demo:1 (SYNTHETIC) has a record within 72 h" in res.output
    assert "no report was written" in res.output and "Traceback" not in res.output
    # the records all end long before: the counted note says so
    assert "regions last seen more than 72 h before the issue time" in res.output
    assert not out.exists() or list(out.iterdir()) == []


def test_a_day_without_data_leaves_earlier_days_and_the_index_alone(tmp_path, model_dir):
    out = tmp_path / "reports"
    res = _run("--model", model_dir, "--features", "demo", "--date", "2011-06-01", "--out", out)
    assert res.exit_code == 0, res.output
    index = (out / "index.html").read_bytes()
    res = _run("--model", model_dir, "--features", "demo", "--date", "2025-06-01", "--json")
    assert res.exit_code == 1 and not res.output.lstrip().startswith("{")
    res = _run("--model", model_dir, "--features", "demo", "--date", "2025-06-01", "--out", out)
    assert res.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["2011-06-01", "index.html"]
    assert (out / "index.html").read_bytes() == index


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--issue-time", "9999-12-31"),
        ("--issue-time", "1677-01-01"),
        ("--issue-time", "2262-04-11T12:00Z"),
        ("--date", "0000-01-01"),
        ("--date", "2262-04-11"),
    ],
)
def test_times_beyond_the_representable_range_are_one_clean_error(
    tmp_path, model_dir, option, value
):
    res = _run("--model", model_dir, "--features", "demo", option, value, "--out", tmp_path)
    assert res.exit_code == 1
    # pandas' own range (to_utc), or that range less a day at each end (check_issue_time)
    pattern = (
        rf"The '{option}' parameter must be a time in 1677-09-2[12] \.\. 2262-04-1[01] \(UTC\)"
    )
    assert re.search(pattern, res.output), res.output
    assert f"Got '{value}' instead." in res.output and "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["now", "today"])
def test_words_are_not_issue_times(tmp_path, model_dir, value):
    res = _run("--model", model_dir, "--features", "demo", "--issue-time", value, "--out", tmp_path)
    assert res.exit_code == 1 and "must be a time written out as a date" in res.output
    assert list(tmp_path.iterdir()) == []


def test_an_issue_time_without_a_zone_is_utc(tmp_path, model_dir):
    res = _run(
        "--model", model_dir, "--features", "demo", "--issue-time", "2011-06-01T06:00", "--json"
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["issue_time"] == "2011-06-01T06:00:00Z"


def test_make_forecast_refuses_an_unrepresentable_issue_time_or_valid_period():
    frame = pd.DataFrame({"time": pd.to_datetime([], utc=True), "noaa_ar": pd.array([], "Int64")})
    info = ModelInfo("m", (), "positive: >= M1.0; negative: C")
    with pytest.raises(ConfigError, match=r"'issue_time' parameter must be a time in 1677-09-22"):
        make_forecast(frame, None, info, pd.Timestamp("9999-12-31", tz="UTC"))
    with pytest.raises(ConfigError, match="'the end of the valid period' parameter must be a time"):
        make_forecast(
            frame,
            None,
            info,
            pd.Timestamp("2262-04-10", tz="UTC"),
            config=ForecastConfig(valid_hours=1e12),
        )


def test_forecast_support_records_the_training_period():
    times = pd.to_datetime(["2011-03-01T05:00Z", "2011-01-02T00:00Z", "2011-02-01T00:00Z"])
    X = pd.DataFrame({"USFLUX": [1.0, 2.0, 3.0]})
    support = forecast_support(X, [0.0, 1e-5, 2e-4], times)
    assert support["training_start"] == "2011-01-02T00:00:00Z"
    assert support["training_cutoff"] == "2011-03-01T05:00:00Z"


def test_a_day_inside_the_training_period_warns_without_changing_the_report(tmp_path, model_dir):
    from flarecast.data.synthetic import demo_dataset

    times = demo_dataset(**TRAIN_DATA).frame["time"]
    meta = json.loads((model_dir / "model.json").read_text())
    assert meta["extra"]["forecast"]["training_start"] == times.min().strftime("%Y-%m-%dT%H:%M:%SZ")
    inside = (times.min() + (times.max() - times.min()) / 2).strftime("%Y-%m-%d")
    after = (times.max() + pd.Timedelta(days=2)).strftime("%Y-%m-%d")
    res = _run("--model", model_dir, "--features", "demo", "--date", inside, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    assert f"Warning: the issue time {inside} 00:00 UTC lies inside the training period" in (
        res.stderr
    )
    res = _run(
        "--model", model_dir, "--features", "demo", "--date", inside, "--json", "--out", tmp_path
    )
    assert res.exit_code == 0 and "inside the training period" in res.stderr
    assert json.loads(res.stdout)["issue_time"] == f"{inside}T00:00:00Z"  # stdout: the JSON only
    res = _run("--model", model_dir, "--features", "demo", "--date", after, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    assert "inside the training period" not in res.stderr
    assert res.stdout.startswith("SYNTHETIC DATA")  # the warning comes after the banner, on stderr


@pytest.mark.parametrize(
    ("start", "cutoff", "warned"),
    [
        ("2011-01-01T00:00:00Z", "2011-12-31T00:00:00Z", True),
        ("2011-07-01T00:00:00Z", "2011-12-31T00:00:00Z", False),  # before the training period
        (None, "2011-12-31T00:00:00Z", True),  # an older folder: only the cut-off is known
        (None, "2011-05-31T00:00:00Z", False),
        (None, None, False),
    ],
)
def test_the_training_period_warning_follows_the_recorded_range(start, cutoff, warned):
    info = ModelInfo(
        "m", (), "positive: >= M1.0; negative: C", training_start=start, training_cutoff=cutoff
    )
    text = training_overlap(pd.Timestamp("2011-06-01", tz="UTC"), info)
    assert (text is not None) == warned
    if warned:
        assert text.startswith(
            "the issue time 2011-06-01 00:00 UTC lies inside the training period"
        )
