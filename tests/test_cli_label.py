"""``flarecast label`` and ``flarecast data sharp`` through click's CliRunner."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _jsoc_server import JsocServer, sharp_records
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.data.tables.read import load_dataset


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_label_hollanda_with_hek(tmp_path, data_dir):
    env = {"FLARECAST_DATA_DIR": str(data_dir)}
    out = tmp_path / "hollanda.parquet"
    refused = run(
        "label",
        "--sharp",
        "hollanda-2019",
        "--catalogue",
        "hek-2010-2019",
        "--out",
        str(out),
        env=env,
    )
    assert (
        refused.exit_code == 1
        and "1 malformed row" in refused.output
        and "--on-bad-rows skip" in refused.output
    )
    assert not out.exists()
    result = run("label", "--sharp", "hollanda-2019", "--catalogue", "hek-2010-2019", "--event-time", "start",
                 "--on-bad-rows", "skip", "--out", str(out), env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "skipped 1 malformed" in result.output and "145 duplicates removed" in result.output
    assert (
        "8874 read, 23 without a known label dropped" in result.output
        and "8836 written" in result.output
    )
    # The table goes straight into the canonical reader used by train/reproduce.
    dataset = load_dataset(out)
    assert len(dataset.frame) == 8836 and len(dataset.features) == 25
    assert set(dataset.frame["goes_class"].str[0]) == {"N", "A", "B", "C", "M", "X"}
    attrs = pd.read_parquet(out).attrs
    assert (
        attrs["horizon"] == "24h"
        and attrs["event_time"] == "start"
        and attrs["catalogue_source"] == "hek-2010-2019"
    )
    assert len(attrs["catalogue_sha256"]) == 64 and attrs["flarecast_version"] and attrs["created"]


def test_label_netcdf_with_history_and_latency(tmp_path, data_dir):
    out = tmp_path / "labels.nc"
    result = run("label", "--sharp", "hollanda-2019", "--catalogue", "swpc-2010-2021", "--latency", "6h",
                 "--history", "--out", str(out), env={"FLARECAST_DATA_DIR": str(data_dir)})  # fmt: skip
    assert result.exit_code == 0, result.output
    import xarray as xr

    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds.attrs["latency"] == "6h" and "(t + 6h, t + 30h]" in ds.attrs["window"]
        assert ds.attrs["catalogue_flux_scaling"] == "operational"
        assert "history_max_flux_prev_24h" in ds.variables
    dataset = load_dataset(out)
    assert "history_max_flux_prev_24h" in dataset.features
    # The SWPC list holds only >= C flares: no A or B labels can appear.
    assert set(dataset.frame["goes_class"].str[0]) <= {"N", "C", "M", "X"}


def test_label_by_harp_from_small_files(tmp_path):
    series = tmp_path / "series.csv"
    series.write_text(
        "T_REC,HARPNUM,NOAA_AR,USFLUX,TOTPOT\n"
        "2014.01.01_00:00:00_TAI,10,11944,1e21,1e23\n"
        "2014.01.02_00:00:00_TAI,10,11944,2e21,2e23\n"
        "2014.01.01_00:00:00_TAI,11,11950,3e21,3e23\n"
    )
    events = tmp_path / "events.csv"
    events.write_text(
        "Flare Class,Start Time,Peak Time,End Time,Active Region Number\n"
        "M1.0,2013-12-31T12:00Z,2013-12-31T12:10Z,2013-12-31T12:20Z,11944\n"
        "X2.0,2014-01-01T06:00Z,2014-01-01T06:10Z,2014-01-01T06:20Z,11945\n"
        "C3.0,2014-01-01T07:00Z,2014-01-01T07:10Z,2014-01-01T07:20Z,11950\n"
        "B1.0,2014-01-05T07:00Z,2014-01-05T07:10Z,2014-01-05T07:20Z,0\n"
    )
    harp_map = tmp_path / "map.txt"
    harp_map.write_text("10 11944,11945\n11 11950\n")
    out = tmp_path / "t.csv"
    by_region = run("label", "--sharp", str(series), "--catalogue", str(events), "--out", str(out))
    assert by_region.exit_code == 0, by_region.output
    table = pd.read_csv(out)
    assert table["goes_class"].tolist() == ["N", "C3.0", "N"]  # X2.0 belongs to AR 11945
    by_harp = run("label", "--sharp", str(series), "--catalogue", str(events), "--harp-map", str(harp_map),
                  "--out", str(out))  # fmt: skip
    assert by_harp.exit_code == 0, by_harp.output
    table = pd.read_csv(out)
    assert table["goes_class"].tolist() == ["X2.0", "C3.0", "N"]  # HARP 10 spans 11944 and 11945
    meta = json.loads((tmp_path / "t.csv.meta.json").read_text())
    assert meta["key"] == "harpnum" and meta["catalogue_format"] == "ncei"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--horizon", "0h"], "'horizon' parameter must be a duration > 0"),
        (["--catalogue", "nowhere"], "neither a file nor a registered name"),
        (["--out", "x.xlsx"], "must end in .parquet, .nc or .csv"),
    ],
)
def test_label_errors_are_one_line(tmp_path, data_dir, args, message):
    base = {
        "--sharp": "hollanda-2019",
        "--catalogue": "swpc-sc24",
        "--out": str(tmp_path / "o.parquet"),
    }
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value if flag != "--out" else str(tmp_path / value)
    result = run(
        "label", *[x for kv in base.items() for x in kv], env={"FLARECAST_DATA_DIR": str(data_dir)}
    )
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_data_sharp_from_a_local_drms_server(tmp_path):
    pytest.importorskip("drms")
    out = tmp_path / "sharp.parquet"
    with JsocServer(sharp_records(["USFLUX", "TOTPOT"])) as server:
        result = run("data", "sharp", "--start", "2014-01-01", "--end", "2014-01-02", "--cadence", "2h",
                     "--keywords", "USFLUX,TOTPOT", "--server-url", server.url, "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert server.queries == ["hmi.sharp_cea_720s[][2014.01.01_00:00:00_TAI/1d@2h]"]
    frame = pd.read_parquet(out)
    assert "1 JSOC queries, 24 records received" in result.output
    assert (
        list(frame.columns[:3]) == ["time", "harpnum", "noaa_ar"] and (frame["QUALITY"] == 0).all()
    )
    assert frame.attrs["queries"] == server.queries


def test_only_flarecast_warnings_are_printed_as_data_warnings(capsys):
    """A warning about the data is printed (also when the block fails); another one, such as a ResourceWarning
    that the garbage collector raises mid-command, goes to the warning filters and not into the command's output."""
    import warnings

    from flarecast.cli._common import data_warnings_to_stderr
    from flarecast.errors import DataError, DataWarning

    with pytest.warns(ResourceWarning, match="unclosed file"):
        with data_warnings_to_stderr():
            warnings.warn("events.csv: skipped 2 malformed row(s)", DataWarning, stacklevel=1)
            warnings.warn(
                "events.csv: skipped 2 malformed row(s)", DataWarning, stacklevel=1
            )  # each time, not once
            warnings.warn(
                "unclosed file <_io.BufferedReader name=25>", ResourceWarning, stacklevel=1
            )
    err = capsys.readouterr().err
    assert (
        err.count("Warning: events.csv: skipped 2 malformed row(s)\n") == 2
        and "unclosed" not in err
    )

    with pytest.raises(DataError), data_warnings_to_stderr():
        warnings.warn(
            "sharp.csv: dropped 1 row(s) with a missing feature", DataWarning, stacklevel=1
        )
        raise DataError("later failure")
    assert (
        capsys.readouterr().err == "Warning: sharp.csv: dropped 1 row(s) with a missing feature\n"
    )
