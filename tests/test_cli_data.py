"""``flarecast data list / info / fetch`` through click's CliRunner."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _http_server import serve
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.data import registry


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def real_env(data_dir, monkeypatch):
    monkeypatch.setenv(registry.ENV_DATA_DIR, str(data_dir))
    monkeypatch.delenv(registry.ENV_DATA_URL, raising=False)
    return data_dir


def test_list_shows_every_name_with_rows_and_licence(runner):
    result = runner.invoke(main, ["data", "list"])
    assert result.exit_code == 0, result.output
    # The data sets come first; the catalogue section after them repeats the name 'demo'.
    datasets = result.output.split("\nCATALOGUE ", 1)[0]
    lines = {line.split()[0]: line for line in datasets.splitlines() if line.strip()}
    for name, entry in registry.registry().items():
        assert entry.licence in lines[name]
        assert (str(entry.rows) if entry.rows is not None else "?") in lines[name].split()
    assert "8991" in lines["umich-24h"] and "unclear" in lines["hollanda-2019"]


def test_list_json(runner):
    result = runner.invoke(main, ["data", "list", "--json"])
    entries = json.loads(result.output)
    assert [e["name"] for e in entries] == registry.names()
    umich = next(e for e in entries if e["name"] == "umich-24h")
    assert umich["files"][0]["path"] == "umich_arflares/arflares24h.csv"
    assert umich["files"][0]["url"].startswith("https://raw.githubusercontent.com/bachvietdo01/")


def test_info_umich_24h_json(runner, real_env):
    """The measured 'done' criterion of the data work."""
    result = runner.invoke(main, ["data", "info", "umich-24h", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["rows"] == 8991
    assert info["classes"] == {"N": 0, "A": 3, "B": 3338, "C": 5053, "M": 560, "X": 37}
    assert info["regions"] == 799
    assert info["time_start"].startswith("2010-05-01") and info["time_end"].startswith("2018-06-19")
    assert (
        len(info["features"]) == 20 and info["synthetic"] is False and info["flaring_only"] is True
    )
    assert (
        info["licence"] == "MIT (holder unclear)"
        and "doi:10.3389/fspas.2024.1229092" in info["citation"]
    )
    assert info["sha256"] == registry.get_entry("umich-24h").files[0].sha256


def test_info_text_shows_policies_and_caveats(runner, real_env):
    result = runner.invoke(main, ["data", "info", "hollanda-2019"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "rows:         8836" in out and "N 6504" in out
    assert "flaring only: no" in out and "FlareNumber" in out
    assert "dropped 15 row(s) with a missing or non-finite feature value" in out
    assert "DataWarning" not in out  # reported once, as a note


def test_info_on_a_table_file_with_mapping(runner, tmp_path):
    path = tmp_path / "mine.csv"
    pd.DataFrame(
        {
            "T_REC": ["2014-01-01 00:00", "2014-01-02 00:00"],
            "AR": [11936, 11937],
            "cls": ["N", "X1.0"],
            "USFLUX": [1e21, 2e21],
        }  # fmt: skip
    ).to_csv(path, index=False)
    args = [
        "data",
        "info",
        str(path),
        "--json",
        "--map",
        "T_REC=time",
        "--map",
        "AR=noaa_ar",
        "--map",
        "cls=goes_class",
    ]
    refused = runner.invoke(main, args)
    assert (
        refused.exit_code == 1
        and "without a zone" in refused.output
        and "--assume-utc" in refused.output
    )
    result = runner.invoke(main, [*args, "--assume-utc"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["rows"] == 2 and info["classes"]["X"] == 1 and info["regions"] == 2
    bad = runner.invoke(main, ["data", "info", str(path), "--map", "T_REC"])
    assert bad.exit_code == 1 and "--map expects SRC=DST" in bad.output


def test_info_errors_are_one_line(runner, real_env):
    result = runner.invoke(main, ["data", "info", "umich-25h"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: 'umich-25h' is neither a registered data set")
    assert "Did you mean 'umich-24h'" in result.output and "Traceback" not in result.output


def test_info_demo_says_synthetic(runner):
    pytest.importorskip("flarecast.data.synthetic")
    result = runner.invoke(main, ["data", "info", "demo"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("*** SYNTHETIC data") and "synthetic:    YES" in result.output


def test_fetch_downloads_and_verifies(runner, data_dir, tmp_path, monkeypatch):
    monkeypatch.delenv(registry.ENV_DATA_DIR, raising=False)
    cache = tmp_path / "cache"
    with serve(data_dir) as srv:
        args = [
            "data",
            "fetch",
            "liu2019-demo-m",
            "demo",
            "--cache-dir",
            str(cache),
            "--base-url",
            srv.url,
        ]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        assert (
            f"liu2019-demo-m: {cache}/liu2019_lstm/demo_M_normalized_testing.csv (sha256 verified)"
            in result.output
        )
        assert "demo: generated on demand" in result.output
        assert (cache / "liu2019_lstm/demo_M_normalized_testing.csv").read_bytes() == (
            data_dir / "liu2019_lstm/demo_M_normalized_testing.csv"
        ).read_bytes()
        srv.mode = "tamper"
        bad = runner.invoke(
            main,
            ["data", "fetch", "liu2019-demo-c", "--cache-dir", str(cache), "--base-url", srv.url],
        )
    assert bad.exit_code == 1 and "Error: Download of liu2019_lstm/demo_C" in bad.output
    assert "58.3k" in bad.output  # the tqdm progress bar ran
    assert not (cache / "liu2019_lstm/demo_C_normalized_testing.csv").exists()
    none = runner.invoke(main, ["data", "fetch"])
    assert none.exit_code == 1 and "or pass --all" in none.output
