"""Flare catalogue readers: real files with PROVENANCE.md counts, small written files, malformed input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flarecast.data.catalogues.csv_lists import (
    read_hek_events,
    read_ncei_events,
    read_swpc_flarelist,
)
from flarecast.data.catalogues.flsum import read_xrs_flsum
from flarecast.data.catalogues.noaa import read_swpc_events, read_xrs_report
from flarecast.data.catalogues.read import CATALOGUES, detect_format, read_catalogue
from flarecast.data.events import EVENT_COLUMNS
from flarecast.errors import ConfigError, DataError, DataWarning, SchemaError


def letters(frame: pd.DataFrame) -> dict[str, int]:
    return frame["goes_class"].str[0].value_counts().to_dict()


def skip(reader, path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return reader(path, on_bad_rows="skip", **kw)


def check_canonical(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(EVENT_COLUMNS)
    for col in ("start", "peak", "end"):
        assert str(frame[col].dtype) == "datetime64[ns, UTC]"
    assert str(frame["noaa_ar"].dtype) == "Int64"
    assert (frame["peak"] >= frame["start"]).all()
    assert np.isfinite(frame["peak_flux"]).all() and (frame["peak_flux"] > 0).all()
    assert frame.attrs["flux_scaling"] in ("operational", "science")


# ----------------------------------------------------------------------------- real files


def test_ncei_list_counts_and_quirks(data_dir):
    path = data_dir / "catalog_solarflarenet/solar_events.csv"
    with pytest.raises(
        DataError, match=r"4 malformed row\(s\).*row 38084 column 'Start Time': '2020-04-09T00:91Z'"
    ):
        read_ncei_events(path)
    with pytest.warns(DataWarning, match="skipped 4 malformed"):
        kept = read_ncei_events(path, on_bad_rows="skip", duplicates="keep")
    # PROVENANCE.md counts are before de-duplication; the 4 malformed rows are A/B (A0.0 and three B).
    assert len(kept) == 43084 - 4
    assert letters(kept) == {"C": 23036, "B": 17397 - 3, "M": 2351, "X": 183, "A": 117 - 1}
    assert kept.attrs["duplicates"] == 24 and kept.attrs["bad_rows"] == 4
    frame = skip(read_ncei_events, path)
    check_canonical(frame)
    assert len(frame) == 43084 - 4 - 24 and frame.attrs["duplicates_removed"] == 24
    # 25 '//://' peaks take the start; peaks and ends written on the start's day move past midnight.
    assert frame.attrs["peak_from_start"] == 25 and frame.attrs["midnight_rollovers"] > 500
    # Pre-2002 regions already carry the NCEI +10000 offset (1996 AR 7981 is 17981): nothing added.
    assert frame.attrs["ar_plus_10000"] == 0
    first = frame[frame["start"] < "1996-08-01"]
    assert 17981 in set(first["noaa_ar"].dropna())
    # Share with a region: X 90.7 %, M 84.8 % (PROVENANCE.md).
    has_ar = frame.groupby(frame["goes_class"].str[0])["noaa_ar"].apply(lambda s: s.notna().mean())
    assert has_ar["X"] == pytest.approx(0.907, abs=0.002) and has_ar["M"] == pytest.approx(
        0.848, abs=0.002
    )


def test_swpc_flarelists_three_layouts(data_dir):
    folder = data_dir / "hayes_flare_forecast"
    with pytest.raises(DataError, match=r"2 malformed.*'C6,2'"):
        read_swpc_flarelist(folder / "swpc_flarelist_19960731_20181231.csv")
    old = skip(read_swpc_flarelist, folder / "swpc_flarelist_19960731_20181231.csv")
    check_canonical(old)
    assert letters(old) == {"C": 20926 - 2, "M": 2185, "X": 174}
    assert (old["end"] >= old["start"]).all() and old.attrs["midnight_rollovers"] > 300
    # The end of the 2002-07-31 23:28 flare is written "2002-07-31 00:12": it is the next day.
    crossing = old[old["start"] == pd.Timestamp("2002-07-31 23:28", tz="UTC")]
    assert crossing["end"].iloc[0] == pd.Timestamp("2002-08-01 00:12", tz="UTC")
    # 4-digit pre-2002 regions get +10000; no region below 10000 remains.
    assert old.attrs["ar_plus_10000"] > 5000 and (old["noaa_ar"].dropna() >= 10000).all()

    new = read_swpc_flarelist(folder / "swpc_flarelist_20100101-20210810.csv")
    check_canonical(new)
    assert letters(new) == {"C": 8025, "M": 758, "X": 50}
    assert new["noaa_ar"].notna().mean() == pytest.approx(0.89, abs=0.01)  # blank = unknown
    sc24 = read_swpc_flarelist(folder / "final_flare_list_sc24.csv")
    check_canonical(sc24)
    assert letters(sc24) == {"C": 7809, "M": 748, "X": 49}
    assert (sc24["start"].min(), sc24["start"].max()) == (
        pd.Timestamp("2010-01-02 07:09", tz="UTC"),
        pd.Timestamp("2018-07-06 14:13", tz="UTC"),
    ) or sc24["start"].max().strftime("%Y-%m-%d") == "2018-07-06"


def test_liu2019_collection_by_name(data_dir):
    frame = read_catalogue("liu2019", data_dir=data_dir, duplicates="keep")
    assert letters(frame) == {"B": 4203, "C": 6768, "M": 704, "X": 49}
    assert frame.attrs["duplicates"] == 1  # the duplicated B row
    # No peak times: the peak is the start, for every row.
    assert (frame["peak"] == frame["start"]).all() and frame.attrs["peak_from_start"] == len(frame)
    deduped = read_catalogue("liu2019", data_dir=data_dir)
    assert len(deduped) == len(frame) - 1 and deduped["noaa_ar"].notna().all()
    assert len(deduped.attrs["sha256"]) == 64


def test_hek_sunpy_export(data_dir):
    path = data_dir / "hollanda_sharp_swpc/goes_events_sunpy_2010_2019.csv"
    with pytest.raises(DataError, match=r"1 malformed row.*row 14715 column 'goes_class': 'A0.0'"):
        read_hek_events(path)
    kept = skip(read_hek_events, path, duplicates="keep")
    assert letters(kept) == {"C": 7798, "B": 6067, "M": 743, "A": 65 - 1, "X": 50}
    # 43 exact duplicates, plus 102 flares listed twice, once with the region's leading 1 lost.
    assert kept.attrs["duplicates"] == 145 and kept.attrs["ar_plus_10000"] == 105
    frame = skip(read_hek_events, path)
    check_canonical(frame)
    assert len(frame) == 14723 - 1 - 145
    twin = frame[frame["start"] == pd.Timestamp("2010-07-22 17:19", tz="UTC")]
    assert twin["noaa_ar"].tolist() == [11089]


def test_xrs_reports_match_provenance(data_dir):
    # year: (B, C, M, X, M/X without region, M/X)
    table = {2011: (851, 1200, 111, 8, 5, 119), 2012: (648, 1259, 123, 7, 40, 130),
             2013: (584, 1356, 99, 12, 42, 111), 2014: (240, 1797, 205, 16, 75, 221),
             2015: (504, 1340, 117, 2, 39, 119), 2016: (876, 302, 16, 0, 6, 16)}  # fmt: skip
    for year, (b, c, m, x, no_ar, mx) in table.items():
        frame = read_xrs_report(
            data_dir / f"noaa_goes_xrs_reports/goes-xrs-report_{year}.txt", duplicates="keep"
        )
        got = letters(frame)
        assert (got.get("B", 0), got.get("C", 0), got.get("M", 0), got.get("X", 0)) == (b, c, m, x)
        big = frame[frame["peak_flux"] >= 1e-5]
        assert (int(big["noaa_ar"].isna().sum()), len(big)) == (no_ar, mx)
        assert frame.attrs["coverage_start"].startswith(f"{year}-01-01")
    # The 2014-01-07 X1.2 from AR 11944 has no region in the report (PROVENANCE.md).
    y2014 = read_catalogue("xrs-2011-2016", data_dir=data_dir)
    x12 = y2014[
        (y2014["goes_class"] == "X1.2") & (y2014["start"].dt.strftime("%Y-%m-%d") == "2014-01-07")
    ]
    assert len(x12) == 1 and x12["noaa_ar"].isna().all()
    assert x12["peak"].iloc[0] == pd.Timestamp("2014-01-07 18:32", tz="UTC")
    assert y2014.attrs["coverage_end"].startswith("2017-01-01")


def test_registered_names_and_detection(data_dir):
    for name, (fmt, paths, _) in CATALOGUES.items():
        assert detect_format(data_dir / paths[0]) == fmt, name
    with pytest.raises(ConfigError, match="neither a file nor a registered name.*ncei-1996-2022"):
        read_catalogue("no-such-catalogue")
    with pytest.raises(ConfigError, match="'format' parameter must be one of"):
        read_catalogue("ncei-1996-2022", format="csv", data_dir=data_dir)


# ----------------------------------------------------------------------------- written files

EVENTS_HEADER = """:Product: 20150301events.txt
:Created: 2015 Mar 04 0357 UT
:Date: 2015 03 01
# Prepared by the U.S. Dept. of Commerce, NOAA, Space Weather Prediction Center
# Missing data: ////
#                            Edited Events for 2015 Mar 01
#
#Event    Begin    Max       End  Obs  Q  Type  Loc/Frq   Particulars       Reg#
#-------------------------------------------------------------------------------
"""


def write_events(path, rows: str, header: str = EVENTS_HEADER):
    path.write_text(header + rows)
    return path


def test_swpc_daily_events(tmp_path):
    rows = """
4080       0158   0210      0232  G15  5   XRA  1-8A      C1.0    1.9E-03   2290
4080       0158   0159      0211  LEA  3   FLA  N19W66    SF                2290
4110 +    B0504   0513     A0521  G15  5   XRA  1-8A      M2.7    2.6E-03   2290
4120       0855   ////      1021  G15  5   XRA  1-8A      B7.4    1.7E-03
4130       0508   ////      0509  LEA  C   RSP  027-047   III/1             2290
4140       2350   0005      0030  G15  5   XRA  1-8A      X1.1    9.9E-02   2297
"""
    frame = read_swpc_events(write_events(tmp_path / "20150301events.txt", rows))
    check_canonical(frame)
    assert frame["goes_class"].tolist() == ["C1.0", "M2.7", "B7.4", "X1.1"]  # XRA 1-8A rows only
    assert frame["noaa_ar"].tolist()[:2] == [12290, 12290] and pd.isna(frame["noaa_ar"].iloc[2])
    assert frame["start"].iloc[1] == pd.Timestamp("2015-03-01 05:04", tz="UTC")  # 'B' prefix kept
    assert frame["peak"].iloc[2] == frame["start"].iloc[2]  # '////' max: the start
    # Crossing midnight: max and end on the next day.
    assert frame["peak"].iloc[3] == pd.Timestamp("2015-03-02 00:05", tz="UTC")
    assert frame["end"].iloc[3] == pd.Timestamp("2015-03-02 00:30", tz="UTC")
    assert frame.attrs["coverage_start"].startswith("2015-03-01") and frame.attrs[
        "coverage_end"
    ].startswith("2015-03-02")
    assert frame.attrs["ar_plus_10000"] == 3 and frame.attrs["flux_scaling"] == "operational"


def test_swpc_daily_events_folder_and_bad_rows(tmp_path):
    day1 = "4080       0158   0210      0232  G15  5   XRA  1-8A      C1.0    1.9E-03   2290\n"
    day2 = "5000       0100   0110      0120  G15  5   XRA  1-8A      Z9.9    1.9E-03   2291\n"
    write_events(tmp_path / "20150301events.txt", day1)
    write_events(
        tmp_path / "20150302events.txt", day2, EVENTS_HEADER.replace("2015 03 01", "2015 03 02")
    )
    with pytest.raises(
        DataError, match=r"20150302events.txt: 1 malformed row.*line 10 column 'class': 'Z9.9'"
    ):
        read_catalogue(tmp_path)
    with pytest.warns(DataWarning):
        frame = read_catalogue(tmp_path, on_bad_rows="skip")
    assert len(frame) == 1 and frame.attrs["bad_rows"] == 1
    assert frame.attrs["coverage_end"].startswith("2015-03-03")


@settings(max_examples=40, deadline=None)
@given(
    begin=st.integers(0, 1439),
    rise=st.integers(0, 300),
    decay=st.integers(0, 300),
    tenths=st.integers(10, 99),
    letter=st.sampled_from("BCMX"),
    region=st.one_of(st.none(), st.integers(1, 9999)),
)
def test_swpc_events_roundtrip(tmp_path_factory, begin, rise, decay, tenths, letter, region):
    day = pd.Timestamp("2015-03-01", tz="UTC")
    start = day + pd.Timedelta(minutes=begin)
    peak, end = start + pd.Timedelta(minutes=rise), start + pd.Timedelta(minutes=rise + decay)
    hhmm = lambda t: f"{t:%H%M}"  # noqa: E731
    reg = "" if region is None else f"{region:04d}"
    row = f"4080       {hhmm(start)}   {hhmm(peak)}      {hhmm(end)}  G15  5   XRA  1-8A      {letter}{tenths / 10:.1f}    1.9E-03   {reg}\n"
    path = write_events(tmp_path_factory.mktemp("ev") / "20150301events.txt", row)
    frame = read_swpc_events(path)
    # A flare never lasts a day here, so peak and end are recovered exactly from hhmm on the day.
    if rise + decay < 24 * 60:
        assert (
            frame["start"].iloc[0] == start
            and frame["peak"].iloc[0] == peak
            and frame["end"].iloc[0] == end
        )
    assert frame["peak_flux"].iloc[0] == pytest.approx(
        tenths / 10 * {"B": 1e-7, "C": 1e-6, "M": 1e-5, "X": 1e-4}[letter]
    )
    expected = pd.NA if region is None else region + 10000
    assert (pd.isna(frame["noaa_ar"].iloc[0]) and region is None) or frame["noaa_ar"].iloc[
        0
    ] == expected


def write_flsum(path, *, decode: bool = True, drop_peak_of: int | None = None):
    import xarray as xr

    epoch = pd.Timestamp("2000-01-01 12:00")
    rows = [  # flare_id, status, time, class
        (1, "EVENT_START", "2017-09-06 08:57"), (1, "EVENT_PEAK", "2017-09-06 09:10"), (1, "EVENT_END", "2017-09-06 09:17"),
        (2, "EVENT_START", "2017-09-06 11:53"), (2, "EVENT_PEAK", "2017-09-06 12:02"), (2, "EVENT_END", "2017-09-06 12:10"),
        (3, "EVENT_START", "2017-09-06 23:50"), (3, "EVENT_PEAK", "2017-09-07 00:05"),
    ]  # fmt: skip
    classes = {1: "X2.2", 2: "X9.3", 3: "M1.0"}
    rows = [r for r in rows if not (r[0] == drop_peak_of and r[1] == "EVENT_PEAK")]
    seconds = np.array([(pd.Timestamp(t) - epoch).total_seconds() for _, _, t in rows])
    ds = xr.Dataset(
        {
            "status": ("time", np.array([s for _, s, _ in rows], dtype=object)),
            "flare_id": ("time", np.array([i for i, _, _ in rows], dtype=np.int32)),
            "flare_class": (
                "time",
                np.array(
                    [classes[i] if s == "EVENT_PEAK" else "" for i, s, _ in rows], dtype=object
                ),
            ),
            "xrsb_flux": ("time", np.full(len(rows), 1e-5)),
        },
        coords={
            "time": (
                "time",
                seconds,
                {"units": "seconds since 2000-01-01 12:00:00"} if decode else {},
            )
        },
    )
    ds.to_netcdf(path, engine="h5netcdf")
    return path


@pytest.mark.parametrize("decode", [True, False])
def test_goes_r_flare_summary(tmp_path, decode):
    frame = read_catalogue(
        write_flsum(tmp_path / "sci_xrsf-l2-flsum_g16_d20170906_v2-2-0.nc", decode=decode)
    )
    check_canonical(frame)
    assert frame["goes_class"].tolist() == ["X2.2", "X9.3", "M1.0"]
    assert frame["peak"].tolist()[1] == pd.Timestamp("2017-09-06 12:02", tz="UTC")
    assert pd.isna(frame["end"].iloc[2])  # no EVENT_END row yet
    assert frame["noaa_ar"].isna().all() and frame.attrs["flux_scaling"] == "science"


def test_goes_r_flare_summary_malformed(tmp_path):
    path = write_flsum(tmp_path / "flsum.nc", drop_peak_of=2)
    with pytest.raises(DataError, match="flare_id without an EVENT_PEAK row"):
        read_xrs_flsum(path)
    with pytest.warns(DataWarning):
        assert read_xrs_flsum(path, on_bad_rows="skip")["goes_class"].tolist() == ["X2.2", "M1.0"]


def test_xrs_report_fixed_width(tmp_path):
    lines = [
        "31777140225  0039 0103 0049 S12E82                         X 49    G15  4.3E-01 11990 140303.2",
        "31777141231  2350 0010 0001                                M 99    G15  1.4E-04 ",
        "31777140101  0017 0030 0022                                Q 23    G15  1.4E-04 ",
    ]
    path = tmp_path / "goes-xrs-report_2014.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 3 column 'class'"):
        read_xrs_report(path)
    with pytest.warns(DataWarning):
        frame = read_xrs_report(path, on_bad_rows="skip")
    assert frame["goes_class"].tolist() == ["X4.9", "M9.9"]  # 'M 99' = M9.9 (tenths)
    assert frame["peak_flux"].tolist() == pytest.approx([4.9e-4, 9.9e-5])
    assert frame["end"].iloc[1] == pd.Timestamp(
        "2015-01-01 00:10", tz="UTC"
    )  # across midnight and year


@pytest.mark.parametrize(
    "body, match",
    [
        ("M1.2,2014-01-01T00:60Z,2014-01-01T01:10Z,2014-01-01T01:20Z,11944", "column 'Start Time'"),
        (
            "M1.2,2014-01-01T00:10Z,2014-01-01T01:10Z,2014-01-01T01:20Z,11944.5",
            "column 'Active Region Number'",
        ),
        (
            "Q1.2,2014-01-01T00:10Z,2014-01-01T01:10Z,2014-01-01T01:20Z,11944",
            "column 'Flare Class'",
        ),
        (
            "M1.2,////,2014-01-01T01:10Z,2014-01-01T01:20Z,11944",
            "missing, and this time is required",
        ),
    ],
)
def test_ncei_malformed_cells(tmp_path, body, match):
    path = tmp_path / "events.csv"
    path.write_text(
        "Flare Class,Start Time,Peak Time,End Time,Active Region Number\n" + body + "\n"
    )
    with pytest.raises(DataError, match=match):
        read_catalogue(path)
    with pytest.warns(DataWarning, match="skipped 1"):
        assert len(read_catalogue(path, on_bad_rows="skip")) == 0


def test_end_before_start_named_as_in_the_file_and_not_counted(tmp_path):
    # Row 0 crosses midnight (end 00:20 on the start's day: moved to the next day, counted).
    # Row 1's end year is mistyped: before the start even on the next day, so malformed; the message
    # names the file's column and its value as written, and the refused row is in no count.
    path = tmp_path / "events.csv"
    path.write_text(
        "Flare Class,Start Time,Peak Time,End Time,Active Region Number\n"
        "M1.2,2014-01-01T23:50Z,2014-01-01T23:58Z,2014-01-01T00:20Z,11944\n"
        "X1.0,1996-07-31T01:32Z,1996-07-31T01:35Z,1896-07-31T01:38Z,7981\n"
    )
    with pytest.raises(
        DataError,
        match=r"row 1 column 'End Time': '1896-07-31T01:38' \(before the flare's start "
        r"1996-07-31T01:32, also on the next day\)",
    ):
        read_ncei_events(path)
    frame = skip(read_ncei_events, path)
    assert len(frame) == 1 and frame.attrs["bad_rows"] == 1
    assert frame.attrs["midnight_rollovers"] == 1
    assert frame["end"].iloc[0] == pd.Timestamp("2014-01-02 00:20", tz="UTC")


def test_swpc_list_hhmm_and_blank_region(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(
        "date,event_no,start_time,max_time,end_time,goes_sat,goes_channel,goes_class_ind,goes_class,integrated_flux,noaa_ar,ts\n"
        "0,20100102,4300,2350,0010,0020,G14,1-8A,C,C1.0,1.2E-03,11039,201001022350\n"
        "1,20100102,4370,1408,1416,1475,G14,1-8A,C,C2.6,1.4E-03,     ,201001021408\n"
    )
    with pytest.raises(DataError, match=r"row 1 column 'end_time': '1475' \(expected HHMM\)"):
        read_swpc_flarelist(path)
    with pytest.warns(DataWarning):
        frame = read_swpc_flarelist(path, on_bad_rows="skip")
    assert frame["peak"].iloc[0] == pd.Timestamp("2010-01-03 00:10", tz="UTC")


def test_missing_columns_and_unknown_layout(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    # Both the CLI option and the API argument are named, and the canonical columns listed.
    with pytest.raises(
        DataError,
        match=r"unknown catalogue layout.*--catalogue-format \(CLI\) or format= \(Python\).*"
        r"canonical columns start, peak, noaa_ar and goes_class and/or peak_flux",
    ):
        read_catalogue(path)
    with pytest.raises(SchemaError, match=r"missing column\(s\).*NCEI event list"):
        read_catalogue(path, format="ncei")
    with pytest.raises(DataError, match="'on_bad_rows' parameter must be one of"):
        read_catalogue(path, on_bad_rows="ignore")
