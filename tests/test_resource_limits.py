"""Resource limits: the table memory budget, and ``flarecast data info`` streaming a CSV in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flarecast.cli import main
from flarecast.data import budget, registry
from flarecast.data.tables.canonical import canonical_frame
from flarecast.data.tables.per_flare import UMICH_FEATURES, read_umich
from flarecast.data.tables.read import load_dataset, read_table, summarize
from flarecast.data.tables.summary import is_plain_csv, summarize_csv
from flarecast.errors import ConfigError, DataError, DataWarning, SchemaError
from flarecast.goes import flux_to_class

BUDGET = r"more than the memory budget of {}\. Raise it with max_bytes=\.\.\. or \$FLARECAST_MAX_TABLE_BYTES"


@pytest.fixture
def no_budget_env(monkeypatch):
    monkeypatch.delenv(budget.ENV_MAX_TABLE_BYTES, raising=False)


# --------------------------------------------------------------------------- budget
@pytest.mark.parametrize(
    ("text", "expected"),
    [("500MB", 500 * 10**6), ("8GiB", 8 * 2**30), ("1e9", 10**9), (" 2 kib ", 2048), (4096, 4096),
     ("12345", 12345), ("none", None), ("Unlimited", None), (None, budget.DEFAULT_MAX_TABLE_BYTES)],
)  # fmt: skip
def test_budget_spellings(no_budget_env, text, expected):
    assert budget.max_table_bytes(text) == expected


@pytest.mark.parametrize("text", ["lots", "-5MB", "0", "5 parsecs", True])
def test_bad_budget_is_a_config_error_naming_the_variable(no_budget_env, text):
    with pytest.raises(
        ConfigError, match=r"\$FLARECAST_MAX_TABLE_BYTES\) must be a positive number"
    ):
        budget.max_table_bytes(text)


def test_real_file_over_a_small_budget_is_refused(data_dir, no_budget_env):
    path = data_dir / "umich_arflares/arflares24h.csv"
    with pytest.raises(
        DataError,
        match=r"arflares24h.csv: the table needs about 2\.3 MiB \(its size on disk\), "
        + BUDGET.format(r"1000 B")
        + r".*or read the file in chunks",
    ):
        read_umich(path, max_bytes=1000)
    # The same file under a budget it fits.
    assert len(read_umich(path, max_bytes="3MiB").frame) == 8991


def test_budget_from_environment_applies_to_registered_sets_and_companions(data_dir, monkeypatch):
    monkeypatch.setenv(budget.ENV_MAX_TABLE_BYTES, "1MB")
    with pytest.raises(DataError, match=BUDGET.format(r"976\.6 KiB")):
        load_dataset("umich-24h", data_dir=data_dir, download=False)
    # flareml-2017-train reads a 55 kB sample and its 116 kB companion: the companion counts too.
    monkeypatch.setenv(budget.ENV_MAX_TABLE_BYTES, "100kB")
    with pytest.raises(
        DataError, match=r"flaringar_original_data.csv: the table needs about 113\.7 KiB"
    ):
        load_dataset("flareml-2017-train", data_dir=data_dir, download=False)
    # An explicit argument wins over the environment, both ways.
    assert len(load_dataset("flareml-2017-train", data_dir=data_dir, max_bytes="1MB").frame) == 435
    monkeypatch.setenv(budget.ENV_MAX_TABLE_BYTES, "none")
    with pytest.raises(DataError, match="memory budget of 1000 B"):
        load_dataset("flareml-2017-train", data_dir=data_dir, max_bytes=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert len(load_dataset("hollanda-2019", data_dir=data_dir).frame) == 8836


def _canonical(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    flux = 10 ** rng.uniform(-7.5, -3.5, n)
    flux[rng.random(n) < 0.3] = 0.0
    return pd.DataFrame(
        {
            "time": (pd.Timestamp("2012-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")),
            "noaa_ar": rng.integers(11000, 11100, n),
            "goes_class": flux_to_class(flux),
            "USFLUX": rng.lognormal(50, 1, n),
            "MEANGAM": rng.uniform(0, 90, n),
        }
    )  # fmt: skip


def test_typed_tables_are_measured_uncompressed(tmp_path, no_budget_env):
    frame = _canonical(2000)
    frame.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(
        DataError, match=r"t.parquet: the table needs about .*uncompressed Parquet columns"
    ):
        read_table(tmp_path / "t.parquet", max_bytes=10_000)
    assert len(read_table(tmp_path / "t.parquet", max_bytes="1MB").frame) == 2000
    xr = pytest.importorskip("xarray")
    naive = frame.assign(time=frame["time"].dt.tz_localize(None)).rename_axis("sample")
    xr.Dataset.from_dataframe(naive).to_netcdf(tmp_path / "t.nc", engine="h5netcdf")
    # 2000 rows x 5 variables x 8 bytes + the sample index + the class strings: ~100 kB.
    with pytest.raises(
        DataError, match=r"t.nc: the table needs about .* KiB \(its netCDF variables\)"
    ):
        read_table(tmp_path / "t.nc", max_bytes=50_000)
    assert len(read_table(tmp_path / "t.nc", max_bytes="1MB").frame) == 2000


# --------------------------------------------------------------------------- streaming summary
def _write(frame: pd.DataFrame, path: Path) -> Path:
    frame.assign(time=frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(path, index=False)
    return path


def _both(path: Path, chunksize: int, **options) -> tuple[dict, dict, list[str], list[str]]:
    """summarize(read_table) and summarize_csv, with the warnings each emitted."""
    with warnings.catch_warnings(record=True) as whole_w:
        warnings.simplefilter("always")
        whole = summarize(read_table(path, **options))
    with warnings.catch_warnings(record=True) as chunk_w:
        warnings.simplefilter("always")
        chunked = summarize_csv(path, chunksize=chunksize, **options)
    return whole, chunked, [str(w.message) for w in whole_w], [str(w.message) for w in chunk_w]


def test_streamed_summary_of_a_real_table_equals_the_full_read(data_dir, tmp_path):
    """The Michigan 24 h file as a canonical table: 8991 rows, 2 exact duplicates, in 9 chunks."""
    raw = pd.read_csv(data_dir / "umich_arflares/arflares24h.csv")
    flux = 10.0 ** raw["log_intensity"].to_numpy()
    frame = pd.DataFrame({
        "time": pd.to_datetime(raw["T_REC"], unit="s", utc=True), "noaa_ar": raw["NOAA_ar_num"],
        "goes_class": flux_to_class(flux), "peak_flux": flux, "LON_FWT": raw["LON_FWT"],
        **{c: raw[c] for c in UMICH_FEATURES},
    })  # fmt: skip
    path = _write(frame, tmp_path / "umich24.csv")
    whole, chunked, _, _ = _both(path, chunksize=1000)
    assert chunked == whole
    assert chunked["rows"] == 8991 and chunked["classes"]["X"] == 37 and chunked["regions"] == 799
    assert any(n.startswith("kept 2 exact duplicate") for n in chunked["notes"])
    with pytest.warns(DataWarning, match="dropped 2 exact duplicate"):
        assert summarize_csv(path, chunksize=700, duplicates="drop")["rows"] == 8989


ROWS = st.lists(
    st.tuples(
        st.integers(0, 3),  # time
        st.sampled_from([11000, 11001]),
        st.sampled_from(["N", "B1.0", "C2.5", "M1.0", "X2.0"]),
        st.sampled_from([1.0, 2.0, np.nan, np.inf]),
    ),
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=ROWS,
    chunksize=st.integers(1, 5),
    duplicates=st.sampled_from(["keep", "drop", "error"]),
    missing=st.sampled_from(["drop", "error"]),
)
def test_streamed_summary_equals_the_full_read_for_any_chunking(
    tmp_path, rows, chunksize, duplicates, missing
):
    """Duplicates across chunk boundaries, NaN/inf rows, empty tables, every policy: same summary,
    same warnings, or the same error."""
    frame = pd.DataFrame(rows, columns=["t", "noaa_ar", "goes_class", "USFLUX"])
    frame["time"] = pd.Timestamp("2014-01-01", tz="UTC") + pd.to_timedelta(frame["t"], unit="h")
    path = _write(frame.drop(columns="t"), tmp_path / "t.csv")
    options = {"duplicates": duplicates, "missing": missing}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            read_table(path, **options)
    except (DataError, SchemaError) as exc:
        with pytest.raises(type(exc)) as streamed, warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            summarize_csv(path, chunksize=chunksize, **options)
        assert str(streamed.value) == str(exc)  # the full read's error, word for word
        return
    whole, chunked, whole_w, chunk_w = _both(path, chunksize, **options)
    assert chunked == whole and chunk_w == whole_w


def test_streamed_summary_through_pyarrow_pieces_equals_the_full_read(tmp_path):
    """Pieces of over 1 MB go through pyarrow, each checked in the thread that reads ahead: the
    same summary and warnings as the full read, and a bad cell in a later piece is that piece's
    error, naming the file's row (not a parse failure handed to pandas)."""
    frame = _canonical(60_000, seed=3)
    frame.loc[[7, 41_000], "USFLUX"] = np.nan  # a dropped row in the first and a later piece
    frame = pd.concat([frame, frame.iloc[[5, 50_000]]], ignore_index=True)  # two duplicates
    path = _write(frame, tmp_path / "big.csv")
    assert path.stat().st_size > 3 << 20
    for duplicates in ("keep", "drop"):
        whole, chunked, whole_w, chunk_w = _both(path, 20_000, duplicates=duplicates)
        assert (
            chunked == whole
            and chunk_w == whole_w
            and chunked["rows"] == 60_002 - 2 - (duplicates == "drop") * 2
        )
    frame["noaa_ar"] = frame["noaa_ar"].astype(object)
    frame.loc[45_000, "noaa_ar"] = "AR?"
    path = _write(frame, tmp_path / "bad.csv")
    with pytest.raises(
        DataError,
        match=r"column 'noaa_ar' has 1 missing or non-numeric value\(s\): row 45000: 'AR\?'",
    ):
        summarize_csv(path, chunksize=20_000)


def test_times_of_a_large_table_parsed_aside_give_the_same_frame_and_errors_in_order():
    """From 200,000 rows canonical_frame parses the times in a thread: the frame is what the rows
    give one by one, and a bad time is still reported before a bad region, a bad region alone."""
    n = 200_000
    text = pd.DataFrame({"time": ["2014-01-01T00:12:00Z"] * n, "noaa_ar": ["11000"] * n,
                         "goes_class": ["M1.2"] * n, "USFLUX": ["1.5"] * n})  # fmt: skip
    text.loc[n - 1, ["time", "noaa_ar", "USFLUX"]] = ["2015-06-01T12:00:00Z", "12000", "-0"]
    big, features = canonical_frame(text, source="big.csv")
    small, _ = canonical_frame(text.iloc[[0, n - 1]], source="big.csv")
    assert features == ["USFLUX"] and len(big) == n
    pd.testing.assert_frame_equal(big.iloc[[0, n - 1]], small)
    text.loc[5, "noaa_ar"] = "AR?"
    with pytest.raises(DataError, match=r"big.csv: column 'noaa_ar' has 1 .*row 5: 'AR\?'"):
        canonical_frame(text, source="big.csv")
    text.loc[7, "time"] = "soon"
    for rows in (slice(None), slice(0, 100)):  # in a thread, and not
        with pytest.raises(DataError, match=r"big.csv: column 'time' has 1 .*row 7: 'soon'"):
            canonical_frame(text.iloc[rows], source="big.csv")


def test_streamed_errors_name_the_file_row_and_column(tmp_path):
    frame = _canonical(50)
    frame["noaa_ar"] = frame["noaa_ar"].astype(object)
    frame.loc[37, "noaa_ar"] = "AR?"
    path = _write(frame, tmp_path / "bad.csv")
    with pytest.raises(
        DataError,
        match=r"bad.csv: column 'noaa_ar' has 1 missing or non-numeric value\(s\): row 37: 'AR\?'",
    ):
        summarize_csv(path, chunksize=10)
    with pytest.raises(DataError, match=r"The 'chunksize' parameter must be an int >= 1. Got 0"):
        summarize_csv(path, chunksize=0)


def test_data_info_streams_plain_csv_but_not_known_layouts(data_dir, tmp_path, monkeypatch):
    path = _write(_canonical(300), tmp_path / "mine.csv")
    assert is_plain_csv(path) and not is_plain_csv(data_dir / "umich_arflares/arflares24h.csv")
    assert not is_plain_csv(tmp_path / "mine.parquet")
    # A budget far below the file: the full read refuses, data info streams it anyway.
    monkeypatch.setenv(budget.ENV_MAX_TABLE_BYTES, "1kB")
    with pytest.raises(DataError, match="memory budget of 1000 B"):
        load_dataset(path)
    result = CliRunner().invoke(main, ["data", "info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv(budget.ENV_MAX_TABLE_BYTES, "none")
    assert json.loads(result.output) == summarize(load_dataset(path))
    # A registered set goes through the reader, and so meets the budget.
    monkeypatch.setenv(registry.ENV_DATA_DIR, str(data_dir))
    monkeypatch.setenv(budget.ENV_MAX_TABLE_BYTES, "1MB")
    refused = CliRunner().invoke(main, ["data", "info", "umich-24h"])
    assert refused.exit_code == 1
    assert "Error:" in refused.output and "memory budget of 976.6 KiB" in refused.output


# --------------------------------------------------------------------------- bounded memory
_PEAK = textwrap.dedent(
    """
    import gc, json, re, sys
    from flarecast.data.tables.summary import summarize_csv
    from flarecast.data.tables.read import read_table

    def status(key):  # kB; VmHWM is this process's own peak (ru_maxrss inherits the parent's)
        return int(re.search(key + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1))

    def extra(read, path):
        gc.collect()
        open("/proc/self/clear_refs", "w").write("5")  # reset the peak to the current RSS
        before = status("VmRSS")
        read(path)
        return (status("VmHWM") - before) * 1024

    small, big = sys.argv[1:]
    out = {}
    for mode, read in (("stream", lambda p: summarize_csv(p, chunksize=2000)),
                       ("full", lambda p: read_table(p, max_bytes="none"))):
        extra(read, small)  # warm-up: lazy imports and caches are not the table's memory
        out[mode] = extra(read, big)
    print(json.dumps(out))
    """
)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc peak RSS")
def test_streaming_memory_stays_far_below_the_file(tmp_path):
    """Peak RSS (after a warm-up) of summarising an 11 MB CSV: streaming needs a fraction of
    the file's size (a 2000-row chunk plus 10 B/row); a full read, measured the same way, does not."""
    small = _write(_canonical(2_000, seed=1), tmp_path / "small.csv")
    big = _write(_canonical(150_000, seed=2), tmp_path / "big.csv")
    size = big.stat().st_size
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(small), str(big)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    peak = json.loads(done.stdout)
    assert peak["stream"] < 0.5 * size, (peak, size)
    # The same measurement sees a whole-table read: it is not blind.
    assert peak["full"] > 2 * size > 4 * peak["stream"], (peak, size)
