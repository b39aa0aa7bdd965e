"""SHARP series: file reader, HARP<->NOAA maps, TAI -> UTC, JSOC queries (fake client and a local DRMS server)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _jsoc_server import JsocServer, sharp_records
from hypothesis import given, settings
from hypothesis import strategies as st

from flarecast.data.sharp.jsoc import (
    DEFAULT_KEYWORDS,
    fetch_sharp,
    jsoc_query,
    series_from_response,
)
from flarecast.data.sharp.series import (
    clean_series,
    events_by_harp,
    read_harp_map,
    read_sharp_series,
)
from flarecast.data.tables.write import write_table
from flarecast.errors import ConfigError, DataError, DownloadError, SchemaError
from flarecast.time import tai_to_utc, utc_to_tai

KEYS = ["USFLUX", "TOTUSJH", "R_VALUE"]


def test_hollanda_series(data_dir):
    frame = read_sharp_series("hollanda-2019", data_dir=data_dir)
    assert len(frame) == 8874 and frame["noaa_ar"].nunique() == 1289
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert len(frame.attrs["keywords"]) == 25 and "TOTBSQ" in frame.attrs["keywords"]
    # The label and the SRS positions (absolute values) are not SHARP keywords: dropped, listed.
    assert frame.attrs["dropped_columns"] == ["FlareNumber", "Longitude", "Latitude"]
    assert int(frame["MEANSHR"].isna().sum()) == 15 and "QUALITY" in frame.columns
    assert (
        frame.attrs["sha256"] == "2c7b1defc29c58adc3867441501863853b3883edba216dc1e54b8fbc184757a7"
    )


def test_series_files_and_errors(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        "T_REC,HARP,NOAA,USFLUX,note\n2014.01.01_00:12:00_TAI,377,11944,1e21,x\n2014-01-01T01:00:00Z,377,0,,y\n"
    )
    frame = read_sharp_series(path)
    assert frame["time"].tolist() == [
        pd.Timestamp("2014-01-01 00:11:25", tz="UTC"),
        pd.Timestamp("2014-01-01 01:00", tz="UTC"),
    ]
    assert frame["harpnum"].tolist() == [377, 377] and pd.isna(
        frame["noaa_ar"].iloc[1]
    )  # 0 = no NOAA region
    assert frame.attrs["dropped_columns"] == ["note"]
    with pytest.raises(SchemaError, match=r"keyword column\(s\) \['TOTPOT'\] not found"):
        read_sharp_series(path, keywords=["TOTPOT"])
    path.write_text("T_REC,NOAA_AR,USFLUX\nyesterday,11944,1e21\n")
    with pytest.raises(DataError, match="1 unparseable time.*'yesterday'"):
        read_sharp_series(path)
    path.write_text("time,USFLUX\n2014-01-01T00:00Z,1\n")
    with pytest.raises(SchemaError, match="needs a time column.*and a region"):
        read_sharp_series(path)
    with pytest.raises(ConfigError, match="neither a file nor a registered name"):
        read_sharp_series(tmp_path / "absent.csv")


def test_harp_maps(data_dir):
    pairs = read_harp_map(data_dir / "catalog_solarflarenet/harp_to_noaa.csv")
    per_harp = pairs.groupby("harpnum").size()
    assert len(per_harp) == 1650 and int((per_harp > 1).sum()) == 283
    assert pairs[pairs["harpnum"] == 8599]["noaa_ar"].tolist() == [13103]
    stats = read_harp_map(data_dir / "umich_arflares/harp_stats.csv")
    assert len(stats) == 860


def test_harp_map_errors_and_events_by_harp(tmp_path):
    path = tmp_path / "map.txt"
    path.write_text("1 11067\n2 11064,11065\nx 12\n")
    with pytest.raises(DataError, match=r"1 malformed line.*line 3: 'x 12'"):
        read_harp_map(path)
    path.write_text("1 11067\n2 11064,11065\n")
    events = pd.DataFrame({"start": pd.to_datetime(["2014-01-01", "2014-01-02", "2014-01-03"], utc=True),
                           "noaa_ar": pd.array([11064, 11065, 99999], dtype="Int64")})  # fmt: skip
    mapped = events_by_harp(events, read_harp_map(path))
    assert mapped["harpnum"].tolist() == [2, 2] and mapped.attrs["events_without_harp"] == 1


def test_tai_to_utc_known_offsets():
    got = tai_to_utc(
        [
            "2012.06.30_23:00:00_TAI",
            "2014.01.01_00:12:00_TAI",
            "2017.01.01_00:12:00_TAI",
            "2010.05.01_00:00_TAI",
        ]
    )
    expected = [
        "2012-06-30 22:59:26",
        "2014-01-01 00:11:25",
        "2017-01-01 00:11:23",
        "2010-04-30 23:59:26",
    ]
    assert got.tolist() == [pd.Timestamp(e, tz="UTC") for e in expected]  # 34, 35, 37, 34 s
    with pytest.raises(DataError, match="not JSOC TAI record times.*'2014-01-01'"):
        tai_to_utc(["2014-01-01"])


@settings(max_examples=50, deadline=None)
@given(
    st.datetimes(
        min_value=pd.Timestamp("1996-02-01").to_pydatetime(),
        max_value=pd.Timestamp("2030-01-01").to_pydatetime(),
    )
)
def test_tai_roundtrip(moment):
    utc = pd.Series([pd.Timestamp(moment).floor("s")]).dt.tz_localize("UTC")
    label = utc_to_tai(utc).iloc[0]
    assert tai_to_utc([f"{label:%Y.%m.%d_%H:%M:%S}_TAI"]).iloc[0] == utc.iloc[0]


def test_query_strings():
    start = pd.Timestamp("2014-01-01")
    assert jsoc_query("hmi.sharp_cea_720s", start, pd.Timedelta("30D"), pd.Timedelta("1h")) == (
        "hmi.sharp_cea_720s[][2014.01.01_00:00:00_TAI/30d@1h]"
    )
    assert jsoc_query(
        "hmi.sharp_720s_nrt", start, pd.Timedelta("90min"), pd.Timedelta("12min"), 377
    ) == ("hmi.sharp_720s_nrt[377][2014.01.01_00:00:00_TAI/90m@12m]")


class FakeClient:
    """Stands in for drms.Client: same ``query(ds, key=[...])`` call, answers from a recorded-shaped frame.

    Like drms with convert_numeric=True: numbers are numbers, T_REC and NOAA_ARS stay text,
    QUALITY (skipped from conversion) stays JSOC's hex text. ``failures`` makes the first calls raise.
    """

    def __init__(self, records: pd.DataFrame, failures: int = 0) -> None:
        self.records, self.failures, self.calls = records, failures, []

    def query(self, ds, *, key, skip_conversion=None):
        self.calls.append(ds)
        assert skip_conversion == ["QUALITY"]  # fetch_sharp decodes JSOC's hex QUALITY itself
        if self.failures > 0:
            self.failures -= 1
            raise OSError("HTTP Error 500: jsoc_info is busy")
        start = pd.Timestamp(ds.split("][")[1][:19].replace(".", "-").replace("_", " "))
        t = pd.to_datetime(self.records["T_REC"].str[:19], format="%Y.%m.%d_%H:%M:%S")
        chosen = self.records[(t >= start) & (t < start + pd.Timedelta("1D")) & (t.dt.minute == 0)]
        out = chosen[[k for k in key if k in chosen.columns]].reset_index(drop=True)
        return out.assign(QUALITY=[f"0x{int(q):08x}" for q in out["QUALITY"]])


def test_fetch_with_injected_client():
    client = FakeClient(sharp_records(KEYS))
    sleeps: list[float] = []
    frame = fetch_sharp(
        "2014-01-01", "2014-01-03", keywords=KEYS, chunk="1D", client=client, sleep=sleeps.append
    )
    assert client.calls == ["hmi.sharp_cea_720s[][2014.01.01_00:00:00_TAI/1d@1h]",
                            "hmi.sharp_cea_720s[][2014.01.02_00:00:00_TAI/1d@1h]"]  # fmt: skip
    received = frame.attrs["records_received"]
    assert received == 2 * 48
    dropped = frame.attrs["dropped"]
    # HARP 401: QUALITY 0x400 every other hour and one NaN keyword; HARP 377 starts beyond -70 deg.
    assert dropped == {"quality": 24, "limb": 4, "missing_keyword": 1}
    assert len(frame) == received - sum(dropped.values())
    assert (frame["QUALITY"] == 0).all() and (frame["LON_FWT"].abs() <= 70).all()
    assert frame["time"].iloc[0] == pd.Timestamp(
        "2014-01-01 02:59:25", tz="UTC"
    )  # 03:00 TAI - 35 s
    assert frame[frame["harpnum"] == 401]["noaa_ar"].isna().all()  # NOAA_AR 0: none
    assert sleeps == []


def test_fetch_retries_then_fails():
    sleeps: list[float] = []
    client = FakeClient(sharp_records(KEYS), failures=2)
    frame = fetch_sharp(
        "2014-01-01", "2014-01-02", keywords=KEYS, chunk="1D", client=client, sleep=sleeps.append
    )
    assert sleeps == [1.0, 2.0] and len(frame) > 0
    client = FakeClient(sharp_records(KEYS), failures=10)
    with pytest.raises(
        DownloadError,
        match=r"JSOC query 'hmi.sharp_cea_720s\[\]\[2014.01.01_00:00:00_TAI/1d@1h\]' failed after 2 attempt",
    ):
        fetch_sharp(
            "2014-01-01",
            "2014-01-02",
            keywords=KEYS,
            chunk="1D",
            retries=1,
            client=client,
            sleep=sleeps.append,
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"series": "hmi.sharp"}, "'series' parameter must be one of"),
        ({"cadence": "7min"}, "multiple of 12 min"),
        ({"end": "2013-12-01"}, "'end' parameter must be after 'start'"),
        ({"retries": -1}, "'retries' parameter must be an int >= 0"),
        ({"chunk": "soon"}, "'chunk' parameter must be a duration"),
    ],
)
def test_fetch_bad_parameters(kwargs, match):
    args = {"start": "2014-01-01", "end": "2014-01-02", **kwargs}
    with pytest.raises(ConfigError, match=match):
        fetch_sharp(
            args.pop("start"), args.pop("end"), client=FakeClient(sharp_records(KEYS)), **args
        )


def test_response_without_keywords():
    with pytest.raises(DataError, match=r"lacks keyword\(s\) \['TOTPOT'\]"):
        series_from_response(
            pd.DataFrame({"HARPNUM": [1], "T_REC": ["2014.01.01_00:00:00_TAI"]}),
            ["TOTPOT"],
            source="JSOC",
        )


def test_fetch_through_real_drms_and_local_server():
    pytest.importorskip("drms")
    records = sharp_records(list(DEFAULT_KEYWORDS))
    with JsocServer(records) as server:
        server.fail_next = 1  # one failure: retried by fetch_sharp
        frame = fetch_sharp(
            "2014-01-01", "2014-01-03", chunk="1D", server_url=server.url, sleep=lambda s: None
        )
    assert (
        server.queries[0] == "hmi.sharp_cea_720s[][2014.01.01_00:00:00_TAI/1d@1h]"
        and len(server.queries) == 2
    )
    assert frame.attrs["records_received"] == 2 * 48
    assert frame.attrs["dropped"]["quality"] == 24  # 0x00000400 decoded, not NaN
    assert (frame["QUALITY"] == 0).all() and frame["USFLUX"].dtype == np.float64
    assert frame["time"].dt.second.unique().tolist() == [25]
    assert frame.attrs["dropped"]["missing_keyword"] == 1  # HARP 401 at 01:00 TAI has a NaN keyword


def test_clean_series_counts():
    frame = pd.DataFrame(
        {
            "QUALITY": [0, 4, 0, 0],
            "LON_FWT": [10.0, 0.0, 80.0, np.nan],
            "USFLUX": [1.0, 2.0, 3.0, 4.0],
        }
    )
    out = clean_series(frame, keywords=["USFLUX"])
    assert len(out) == 1 and out.attrs["dropped"] == {"quality": 1, "limb": 2, "missing_keyword": 0}
    assert len(clean_series(frame, max_abs_lon=None, quality_zero=False, keywords=["USFLUX"])) == 4


@pytest.mark.parametrize("suffix", [".parquet", ".nc", ".csv"])
def test_write_table_roundtrip(tmp_path, suffix):
    from flarecast.data.tables.read import read_table

    frame = pd.DataFrame({
        "time": pd.to_datetime(["2014-01-01T00:11:25Z", "2014-01-02T00:11:25Z"], utc=True),
        "noaa_ar": pd.array([11944, 11945], dtype="Int64"),
        "goes_class": pd.array(["N", "M1.2"], dtype="str"),
        "peak_flux": [0.0, 1.2e-5],
        "USFLUX": [1e21, 2e21],
    })  # fmt: skip
    path = write_table(
        frame, tmp_path / f"t{suffix}", attrs={"horizon": "24h", "features": ["USFLUX"]}
    )
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary left behind
    back = read_table(path)
    assert back.frame["goes_class"].tolist() == ["N", "M1.2"]
    assert back.frame["time"].tolist() == frame["time"].tolist()
    if suffix == ".parquet":
        assert pd.read_parquet(path).attrs["horizon"] == "24h"
    elif suffix == ".nc":
        import xarray as xr

        with xr.open_dataset(path, engine="h5netcdf") as ds:
            assert ds.attrs["horizon"] == "24h" and ds.attrs["features"] == '["USFLUX"]'
    else:
        assert '"horizon": "24h"' in (tmp_path / "t.csv.meta.json").read_text()
    with pytest.raises(ConfigError, match=r"must end in .parquet, .nc or .csv"):
        write_table(frame, tmp_path / "t.xlsx")


def test_blank_and_empty_cells_in_one_column_are_both_missing(tmp_path):
    """Regression (heavy fuzz): a cell holding a space made pandas read the column as text, and the
    other row's empty cell (NA under pandas 3) was then reported as a non-numeric value."""
    from flarecast.data.sharp.series import read_sharp_series

    path = tmp_path / "AR12252.csv"
    path.write_text(
        "timestamp,NOAA,HARP,TOTUSJH,USFLUX\n"
        "2014-12-29T10:58:09Z,12252,5004,-0.16, \n"
        "2014-12-29T11:58:09Z,12252,5004,-0.18,\n"
        "2014-12-29T12:58:09Z,12252,5004,-0.19,-0.05\n"
    )
    series = read_sharp_series(path)
    assert series["USFLUX"].isna().tolist() == [True, True, False]
    assert series["USFLUX"].iloc[2] == -0.05
