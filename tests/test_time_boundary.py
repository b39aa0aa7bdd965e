"""Time at the boundary: one parser (flarecast.time) for every reader, option and input.

Each test covers a whole class of inputs: every reader's time cells, every
duration option, every reader's special-file check.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_fuzz_catalogues import CASES as CATALOGUE_CASES
from test_fuzz_readers import CASES as TABLE_CASES
from test_fuzz_readers import _join, _lines

from flarecast.errors import ConfigError, DataError, FlarecastError
from flarecast.time import parse_duration, tai_to_utc, to_utc, utc_to_tai
from flarecast.zulu_times import zulu_times

CASES = {c.name: c for c in [*TABLE_CASES, *CATALOGUE_CASES]}
# (case, 0-based line of the synthetic seed, field, separator) of every time cell a reader parses.
TIME_CELLS = [
    ("flareml-original", 1, 1, ","),
    ("flareml-random40", 1, 1, ","),
    ("hollanda-data", 1, 1, ";"),
    ("liu2019", 1, 2, ","),
    ("load_dataset-liu2019", 1, 2, ","),
    ("table-csv", 1, 0, ","),
    ("ncei-error", 1, 1, ","),
    ("ncei-error", 1, 2, ","),
    ("ncei-error", 1, 3, ","),
    ("swpc-1996-error", 1, 3, ","),
    ("swpc-1996-error", 1, 5, ","),
    ("swpc-2010-error", 1, 1, ","),
    ("swpc-sc24-error", 1, 1, ","),
    ("swpc-sc24-error", 1, 2, ","),
    ("swpc-sc24-error", 1, 3, ","),
    ("liu2019-error", 1, 1, ","),
    ("liu2019-error", 1, 2, ","),
    ("hek-error", 0, 1, ";"),
    ("hek-error", 0, 2, ";"),
    ("hek-error", 0, 3, ";"),
    ("read_catalogue-error", 1, 1, ","),
    ("sharp-csv", 1, 2, ","),
    ("sharp-csv", 2, 2, ","),
    ("sharp-hollanda", 1, 2, ";"),
]


def _set_cell(path: Path, line: int, field: int, value: str, sep: str) -> None:
    lines = _lines(path.read_bytes())
    fields = lines[line].split(sep.encode())
    old = fields[field].decode()
    # A TAI record time keeps its suffix, so that the TAI parser is the one asked.
    fields[field] = (value + ("_TAI" if old.endswith("_TAI") else "")).encode()
    lines[line] = sep.encode().join(fields)
    path.write_bytes(_join(lines))


@pytest.mark.parametrize("word", ["now", "today"])
@pytest.mark.parametrize(
    ("name", "line", "field", "sep"), TIME_CELLS, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in TIME_CELLS]
)
def test_every_reader_refuses_now_and_today_in_a_time_cell(tmp_path, name, line, field, sep, word):
    # pandas reads these words as the wall-clock time of the run, even with format=.
    case = CASES[name]
    case.synthetic(tmp_path)
    path = tmp_path / case.target
    _set_cell(path, line, field, word, sep)
    if name == "hollanda-data":  # its companion label file repeats the time and is checked first
        _set_cell(tmp_path / "derived_goes_window_labels.csv", line, 2, word, ",")
    with pytest.raises(DataError, match=rf"'{word}(_TAI)?'") as info:
        case.read(path)
    assert str(path) in str(info.value)


def test_xrs_report_refuses_a_word_in_its_date_field(tmp_path):
    case = CASES["xrs-report-error"]
    case.synthetic(tmp_path)
    path = tmp_path / case.target
    path.write_text(path.read_text().replace("31777140225", "31777now   ", 1))
    with pytest.raises(DataError, match=r"line 1 column 'date \(cols 6-11\)': 'now'"):
        case.read(path)


def test_forecast_input_with_now_in_row_0_is_refused(tmp_path):
    from flarecast.data.sharp.series import read_sharp_series

    path = tmp_path / "input.csv"
    path.write_text("time,noaa_ar,USFLUX\nnow,11158,1e22\n2011-02-15T00:00:00Z,11158,1e22\n")
    with pytest.raises(DataError, match=r"column 'time' has 1 unparseable time\(s\): row 0: 'now'"):
        read_sharp_series(path)


def test_data_info_assume_utc_refuses_today(tmp_path):
    from flarecast.cli import main

    path = tmp_path / "table.csv"
    path.write_text("time,noaa_ar,goes_class,USFLUX\ntoday,11158,M1.0,1e22\n")
    result = CliRunner().invoke(main, ["data", "info", str(path), "--assume-utc"])
    assert result.exit_code == 1, result.output
    assert "row 0: 'today'" in result.output


# --------------------------------------------------------------------------- to_utc itself
def test_to_utc_rules_for_text_and_datetimes():
    text = pd.Series(["2014-01-01T00:00Z", "2014-01-01 01:00", "2014-01-01T02:00+01:00"])
    got = to_utc(text, naive="utc")
    assert got.tolist() == [pd.Timestamp("2014-01-01T00:00Z"), pd.Timestamp("2014-01-01T01:00Z"),
                            pd.Timestamp("2014-01-01T01:00Z")]  # fmt: skip
    assert str(got.dtype) == "datetime64[ns, UTC]"
    with pytest.raises(DataError, match=r"f.csv: column 't' has 1 time\(s\) without a zone: row 1"):
        to_utc(text, naive="refuse", source="f.csv", column="t")
    naive = pd.Series(pd.to_datetime(["2014-01-01"]))
    with pytest.raises(DataError, match="timezone-naive datetimes"):
        to_utc(naive)
    assert to_utc(naive, naive="utc")[0] == pd.Timestamp("2014-01-01T00:00Z")
    with pytest.raises(DataError, match="outside 1677-09-21 .. 2262-04-11"):
        to_utc(pd.Series(["9999-12-31T00:00Z"]))
    with pytest.raises(DataError, match="missing time"):
        to_utc(pd.Series(["2014-01-01T00:00Z", ""]))
    assert to_utc(pd.Series(["", "2014-01-01T00:00Z"]), allow_missing=True).isna().tolist() == [
        True,
        False,
    ]
    with pytest.raises(ConfigError, match="'naive' parameter must be one of"):
        to_utc(text, naive="local")


@pytest.mark.parametrize("word", ["now", "today", " now", "NOW", "Today", "tomorrow"])
def test_to_utc_refuses_words_in_every_form(word):
    seen = []
    out = to_utc(
        pd.Series([word, "2014-01-01T00:00Z"]), naive="utc", on_bad=lambda m, r: seen.append(m)
    )
    assert out.isna().tolist() == [True, False] and seen and seen[0].tolist() == [True, False]
    with pytest.raises(ConfigError, match="written out as a date"):
        to_utc(word, column="--issue-time")
    with pytest.raises(DataError, match="not JSOC TAI"):
        tai_to_utc([word.strip() + "_TAI"])


def test_to_utc_scalars():
    assert to_utc("2014-01-01T00:00Z") == pd.Timestamp("2014-01-01T00:00Z")
    assert to_utc("2014-01-01", naive="utc") == pd.Timestamp("2014-01-01T00:00Z")
    stamp = datetime.datetime(2014, 1, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert to_utc(stamp) == pd.Timestamp("2014-01-01T00:00Z")
    with pytest.raises(ConfigError, match="'--issue-time' parameter must be timezone-aware"):
        to_utc("2014-01-01", column="--issue-time")
    with pytest.raises(ConfigError, match="must be a time such as"):
        to_utc("2014-13-45T00:00Z", column="x")


def test_the_zulu_fast_path_reads_as_the_general_parser():
    """Times written as flarecast writes them ('2014-01-01T00:12:00Z') are parsed by pyarrow
    (flarecast.zulu_times): the same instants, dtype, index and name as the general parser, and
    every column it cannot take exactly is left to the general parser and its messages."""
    rng = np.random.default_rng(3)
    seconds = rng.integers(-9_223_372_036, 9_223_372_036, 5000)  # all of datetime64[ns]
    written = pd.to_datetime(seconds, unit="s").strftime("%Y-%m-%dT%H:%M:%SZ")
    text = pd.Series(written, index=np.arange(7, 5007), name="time", dtype="str")
    fast = zulu_times(text)
    assert fast is not None
    # A format other than ISO 8601 takes the general path.
    pd.testing.assert_series_equal(fast, to_utc(text, fmt="%Y-%m-%dT%H:%M:%SZ"))
    pd.testing.assert_series_equal(to_utc(text), fast)
    for cell in [
        "2014-02-30T00:00:00Z",
        "2014-01-01T24:00:00Z",
        "2014-12-31T23:59:60Z",
        "1677-09-21T00:12:43Z",
        "2262-04-11T23:47:17Z",
        "2014-01-01T00:00:00",
        "2014-01-01T00:00:00.5Z",
        "2014-01-01 00:00:00Z",
        " 2014-01-01T00:00:00Z",
        "",
    ]:
        assert zulu_times(pd.Series(["2014-01-01T00:00:00Z", cell], dtype="str")) is None, cell
    with pytest.raises(DataError, match=r"1 unparseable time\(s\): row 1: '2014-02-30T00:00:00Z'"):
        to_utc(pd.Series(["2014-01-01T00:00:00Z", "2014-02-30T00:00:00Z"], dtype="str"))
    with pytest.raises(DataError, match=r"1 time\(s\) outside 1677-09-21 .. 2262-04-11 \(UTC\)"):
        to_utc(pd.Series(["2262-04-11T23:47:17Z"], dtype="str"))


def test_tai_round_trip_after_the_move():
    utc = pd.Series(pd.to_datetime(["2014-01-01T00:00:00Z", "2017-06-01T12:00:00Z"]))
    tai = utc_to_tai(utc)
    assert (tai_to_utc([f"{t:%Y.%m.%d_%H:%M:%S}_TAI" for t in tai]) == utc).all()


# --------------------------------------------------------------------------- durations
@pytest.mark.parametrize(
    ("text", "hours"),
    [("24h", 24), ("90min", 1.5), ("1d", 24), ("1h30min", 1.5), ("0", 0), ("0h", 0)],
)
def test_parse_duration_accepts_a_unit(text, hours):
    assert parse_duration(text, name="--horizon") == pd.Timedelta(hours=hours)


@pytest.mark.parametrize("text", ["24", "1440", "86400", "6", "2.5", "", "h", "-1h", "1e3"])
def test_parse_duration_refuses_numbers_without_a_unit_and_negatives(text):
    with pytest.raises(
        ConfigError, match=r"'--horizon' parameter must be a duration .*such as '24h'"
    ):
        parse_duration(text, name="--horizon")


# Every duration option of the CLI, with the required options it needs to reach its check.
DURATION_OPTIONS = [
    ["label", "--sharp", "demo", "--catalogue", "demo", "--out", "x.parquet", "--horizon"],
    ["label", "--sharp", "demo", "--catalogue", "demo", "--out", "x.parquet", "--latency"],
    [
        "retrain",
        "--sharp",
        "demo",
        "--catalogue",
        "demo",
        "--base-model",
        ".",
        "--out",
        "m",
        "--horizon",
    ],
    [
        "retrain",
        "--sharp",
        "demo",
        "--catalogue",
        "demo",
        "--base-model",
        ".",
        "--out",
        "m",
        "--latency",
    ],
    ["train", "--dataset", "demo", "--out", "m", "--before", "2014-01-01", "--gap"],
    ["reproduce", "--gap"],
    [
        "data",
        "sharp",
        "--start",
        "2014-01-01",
        "--end",
        "2014-01-02",
        "--out",
        "x.csv",
        "--cadence",
    ],
]


@pytest.mark.parametrize(
    "args", DURATION_OPTIONS, ids=[" ".join(a[:1] + a[-1:]) for a in DURATION_OPTIONS]
)
@pytest.mark.parametrize("value", ["24", "1440", "6"])
def test_every_duration_option_requires_a_unit(tmp_path, monkeypatch, args, value):
    from flarecast.cli import main

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [*args, value])
    assert result.exit_code == 2, result.output
    assert f"Got '{value}' instead" in result.output and "'24h'" in result.output


# --------------------------------------------------------------------------- special files
@pytest.fixture
def make_fifo():
    """Make FIFOs; a watchdog opens each one's write end after 5 s, so a reader that blocks returns."""
    done = threading.Event()
    watchdogs = []

    def make(path: Path) -> Path:
        os.mkfifo(path)

        def unblock() -> None:
            if done.wait(5.0):
                return
            fd = None
            while fd is None and not done.is_set():
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:
                    time.sleep(0.05)
            if fd is not None:
                os.close(fd)

        watchdogs.append(threading.Thread(target=unblock, daemon=True))
        watchdogs[-1].start()
        return path

    yield make
    done.set()
    for w in watchdogs:
        w.join(10)


def _readers():
    from flarecast.config import load_toml
    from flarecast.data.catalogues.csv_lists import read_hek_events, read_ncei_events
    from flarecast.data.catalogues.flsum import read_xrs_flsum
    from flarecast.data.catalogues.noaa import read_swpc_events, read_xrs_report
    from flarecast.data.catalogues.read import read_catalogue
    from flarecast.data.sharp.series import read_harp_map, read_sharp_series
    from flarecast.data.tables.read import read_table
    from flarecast.data.tables.summary import summarize_csv
    from flarecast.training.loop import TrainConfig

    return {
        "read_catalogue": read_catalogue,
        "read_catalogue-xrs": lambda p: read_catalogue(p, format="xrs-report"),
        "read_catalogue-canonical": lambda p: read_catalogue(p, format="canonical"),
        "ncei": read_ncei_events,
        "hek": read_hek_events,
        "xrs-report": read_xrs_report,
        "swpc-events": read_swpc_events,
        "xrs-flsum": read_xrs_flsum,
        "sharp-series": read_sharp_series,
        "harp-map": read_harp_map,
        "read_table": read_table,
        "summarize_csv": summarize_csv,
        "config": lambda p: load_toml(p, TrainConfig),
    }


@pytest.mark.parametrize("name", list(_readers()))
def test_every_reader_refuses_a_fifo_at_once(tmp_path, make_fifo, name):
    fifo = make_fifo(tmp_path / "pipe.csv")
    read = _readers()[name]
    t0 = time.monotonic()
    with pytest.raises(
        FlarecastError, match=r"pipe.csv: the .* is a FIFO \(named pipe\), not a regular file"
    ):
        read(fifo)
    assert time.monotonic() - t0 < 4.0  # refused before the watchdog had to unblock it


def test_a_fifo_inside_a_catalogue_folder_is_refused(tmp_path, make_fifo):
    from flarecast.data.catalogues.read import read_catalogue

    make_fifo(tmp_path / "goes-xrs-report_2014.txt")
    t0 = time.monotonic()
    with pytest.raises(DataError, match="goes-xrs-report_2014.txt: the catalogue is a FIFO"):
        read_catalogue(tmp_path)
    assert time.monotonic() - t0 < 4.0


@pytest.mark.parametrize(
    "args",
    [
        ["label", "--sharp", "demo", "--catalogue", "{fifo}", "--out", "x.parquet"],
        [
            "label",
            "--sharp",
            "demo",
            "--catalogue",
            "demo",
            "--harp-map",
            "{fifo}",
            "--out",
            "x.csv",
        ],
        ["train", "--dataset", "demo", "--out", "m", "--config", "{fifo}"],
    ],
    ids=["--catalogue", "--harp-map", "train --config"],
)
def test_cli_refuses_a_fifo(tmp_path, monkeypatch, make_fifo, args):
    from flarecast.cli import main

    monkeypatch.chdir(tmp_path)
    fifo = make_fifo(tmp_path / "pipe.csv")
    t0 = time.monotonic()
    result = CliRunner().invoke(main, [a.format(fifo=fifo) for a in args])
    assert time.monotonic() - t0 < 4.0, result.output
    assert result.exit_code != 0 and "is a FIFO (named pipe), not a regular file" in result.output


def test_data_info_refuses_a_fifo_and_the_process_exits(tmp_path):
    """summarize_csv started its checksum thread on a FIFO before refusing it: the thread blocked
    for ever and the interpreter (a whole pytest run) hung at exit."""
    fifo = tmp_path / "table.csv"
    os.mkfifo(fifo)
    code = (
        "import sys\n"
        "from flarecast.data.tables.summary import summarize_csv\n"
        "from flarecast.errors import DataError\n"
        "try:\n"
        "    summarize_csv(sys.argv[1])\n"
        "except DataError as exc:\n"
        "    print(exc)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert "FIFO" in res.stdout
