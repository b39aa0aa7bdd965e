"""Fuzzing the flare-catalogue and SHARP-series readers with random and mutated input.

The promise checked here, as in ``test_fuzz_readers.py`` (whose mutations,
profiles and harness this file reuses): given any bytes, a catalogue reader,
with ``on_bad_rows="error"`` and with ``"skip"``, either returns a valid event
table (:func:`check_event_table`) or raises a
:class:`~flarecast.errors.FlarecastError` whose message names the file (and the
row or line and the column when one cell is to blame); a SHARP reader returns a
valid series (:func:`check_series`) or HARP map (:func:`check_harp_map`) or
raises the same way. No pandas, numpy, h5py or Unicode exception escapes, and
no warning other than the documented :class:`~flarecast.errors.DataWarning`.

Seeds are small synthetic files and a few hundred lines of the real files in
``$FLARECAST_DATA_DIR``, copied into a temporary folder (never into the
repository). Profiles: quick by default (15 examples per test and policy, fixed
seed, under a minute); the heavy one (>= 2000 examples per
reader and policy, random seed) is::

    FLARECAST_FUZZ=heavy FLARECAST_DATA_DIR=/path/to/shared/data pytest tests/test_fuzz_catalogues.py -q
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fuzz_readers import (
    FUZZ,
    JUNK,
    NASTY,
    QUICK,
    ReaderCase,
    _head,
    _join,
    _lines,
    _mutate,
    assert_finding_stays_fixed,
    assert_names_file,
    check_events,
    outcome,
)

from flarecast.data.catalogues.csv_lists import (
    read_hek_events,
    read_liu2019_flares,
    read_ncei_events,
    read_swpc_flarelist,
)
from flarecast.data.catalogues.flsum import read_xrs_flsum
from flarecast.data.catalogues.noaa import read_swpc_events, read_xrs_report
from flarecast.data.catalogues.read import read_catalogue
from flarecast.data.events import END, PEAK, START
from flarecast.data.schema import SHARP_UNITS
from flarecast.data.sharp.series import read_harp_map, read_sharp_series
from flarecast.errors import FlarecastError
from flarecast.goes import parse_goes_class

REAL = 300  # data lines copied from a real file
# Quick: 15 examples per test and policy (30 per reader); heavy: the profile's 2000 per policy.
CAT_FUZZ = settings(FUZZ, max_examples=15) if QUICK else FUZZ
POLICIES = ("error", "skip")


# --------------------------------------------------------------------------- checks
def check_event_table(events: Any, path: Path, policy: str = "error") -> None:
    """A valid event table: canonical columns, UTC times, finite positive fluxes of the stated
    class, ``start <= peak``, an end that is missing or not before the start (an end before the
    peak is the documented, counted ``end_before_peak``), Int64 regions > 0 or <NA>, and counts
    in ``attrs`` that add up."""
    check_events(events, path)  # columns, UTC, start <= peak, flux vs class, Int64 regions
    for col in (START, PEAK, END):
        assert str(events[col].dtype) == "datetime64[ns, UTC]", (col, events[col].dtype)
    end, start, peak = events[END], events[START], events[PEAK]
    assert (end.isna() | (end >= start)).all()
    assert int((end < peak).sum()) == events.attrs["end_before_peak"]
    flux = events["peak_flux"].to_numpy(dtype=float)
    assert (flux < 1.0).all(), flux  # below X10000: anything larger is corrupt
    np.testing.assert_allclose(parse_goes_class(events["goes_class"]), flux, rtol=1e-9)
    attrs = events.attrs
    assert attrs["flux_scaling"] in ("operational", "science")
    if policy == "error":
        assert attrs["bad_rows"] == 0
    assert attrs["rows_read"] - attrs["bad_rows"] - attrs["duplicates_removed"] == len(events)
    for counted in (
        "peak_from_start",
        "midnight_rollovers",
        "ar_plus_10000",
    ):  # over the rows kept only
        assert 0 <= attrs[counted] <= attrs["rows_read"] - attrs["bad_rows"], (counted, attrs)
    key = [START, PEAK, END, "peak_flux", "noaa_ar"]
    assert not events.duplicated(subset=key).any()


def check_series(frame: Any, path: Path) -> None:
    """A valid SHARP series: UTC record times, Int64 regions (> 0 or <NA>) and HARPs (>= 0),
    float keywords that are finite or NaN (missing)."""
    assert isinstance(frame, pd.DataFrame), type(frame)
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]" and frame["time"].notna().all()
    assert frame["noaa_ar"].dtype == "Int64" and (frame["noaa_ar"].dropna() > 0).all()
    if "harpnum" in frame.columns:
        assert frame["harpnum"].dtype == "Int64" and (frame["harpnum"].dropna() >= 0).all()
    numbers = [c for c in frame.columns if c not in ("time", "noaa_ar", "harpnum")]
    assert set(frame.attrs["keywords"]) <= set(numbers)
    for col in numbers:
        values = frame[col].to_numpy(dtype=float)
        assert frame[col].dtype == float and not np.isinf(values).any(), (col, values)
    assert list(frame.index) == list(range(len(frame)))
    assert len(frame.attrs["sha256"]) == 64


def check_harp_map(frame: Any, path: Path) -> None:
    """A valid HARP -> NOAA map: Int64 pairs, no missing value, no duplicate pair."""
    assert isinstance(frame, pd.DataFrame), type(frame)
    assert list(frame.columns) == ["harpnum", "noaa_ar"]
    assert (frame.dtypes == "Int64").all() and frame.notna().all().all()
    assert (frame >= 0).all().all() and not frame.duplicated().any()


# --------------------------------------------------------------------------- seeds
EVENTS_HEADER = """:Product: 20150301events.txt
:Created: 2015 Mar 04 0357 UT
:Date: 2015 03 01
# Prepared by the U.S. Dept. of Commerce, NOAA, Space Weather Prediction Center
# Missing data: ////
#                            Edited Events for 2015 Mar 01
#
#Event    Begin    Max       End  Obs  Q  Type  Loc/Frq   Particulars       Reg#
#-------------------------------------------------------------------------------
4080       0158   0210      0232  G15  5   XRA  1-8A      C1.0    1.9E-03   2290
4080       0158   0159      0211  LEA  3   FLA  N19W66    SF                2290
4110 +    B0504   0513     A0521  G15  5   XRA  1-8A      M2.7    2.6E-03   2290
4120       0855   ////      1021  G15  5   XRA  1-8A      B7.4    1.7E-03
4140       2350   0005      0030  G15  5   XRA  1-8A      X1.1    9.9E-02   2297
"""


def _text(name: str, body: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text(body)


def _real(rel: str, name: str, lines: int | None = REAL) -> Callable[[Path, Path], None]:
    def copy(folder: Path, data_dir: Path) -> None:
        if lines is None:
            shutil.copyfile(data_dir / rel, folder / name)
        else:
            _head(data_dir / rel, folder / name, lines)

    return copy


def _flsum(folder: Path) -> None:
    import xarray as xr

    epoch = pd.Timestamp("2000-01-01 12:00")
    rows = [  # flare_id, status, time, class
        (1, "EVENT_START", "2017-09-06 08:57", ""), (1, "EVENT_PEAK", "2017-09-06 09:10", "X2.2"),
        (1, "EVENT_END", "2017-09-06 09:17", ""), (2, "EVENT_START", "2017-09-06 11:53", ""),
        (2, "EVENT_PEAK", "2017-09-06 12:02", "X9.3"), (3, "EVENT_START", "2017-09-06 23:50", ""),
        (3, "EVENT_PEAK", "2017-09-07 00:05", "M1.0"),
    ]  # fmt: skip
    seconds = np.array([(pd.Timestamp(t) - epoch).total_seconds() for _, _, t, _ in rows])
    xr.Dataset(
        {
            "status": ("time", np.array([r[1] for r in rows], dtype=object)),
            "flare_id": ("time", np.array([r[0] for r in rows], dtype=np.int32)),
            "flare_class": ("time", np.array([r[3] for r in rows], dtype=object)),
        },
        coords={"time": ("time", seconds, {"units": "seconds since 2000-01-01 12:00:00"})},
    ).to_netcdf(folder / "sci_xrsf-l2-flsum_g16_d20170906_v2-2-0.nc", engine="h5netcdf")


@dataclasses.dataclass(frozen=True)
class Cell:
    """How a one-cell edit is named: ``row(line_index)`` and ``column(field_index)`` (None = unread)."""

    row: Callable[[int], str]
    column: Callable[[list[str], int], str | None]


DATA_ROW = lambda i: f"row {i - 1}"  # noqa: E731  0-based data row, header not counted
BY_HEADER = Cell(DATA_ROW, lambda header, j: header[j])
# The SWPC lists carry an unnamed index column: data fields sit one to the right of their names.
SHIFTED = Cell(DATA_ROW, lambda header, j: header[j - 1] if j else None)
HEK_EXPORT = Cell(
    lambda i: f"row {i}",
    lambda header, j: (
        ("start", "peak", "end", "goes_class", None, "noaa_ar", *[None] * 9)[j - 1] if j else None
    ),
)
# Read columns of each CSV layout (others are unread: any value is accepted).
_READ = {
    "swpc-1996": ("start_time", "max_time", "end_time", "goes_class", "noaa_ar"),
    "swpc-2010": ("date", "start_time", "max_time", "end_time", "goes_class", "noaa_ar"),
    "swpc-sc24": ("event_starttime", "event_peaktime", "event_endtime", "goes_class", "noaa_ar"),
}


def _is_read(case: str, name: str | None) -> bool:
    """Whether the reader reads source column ``name`` (junk elsewhere is accepted)."""
    if name is None:
        return False
    if case.startswith("sharp"):  # labels and other columns are dropped, listed in attrs
        aliases = {"timestamp", "T_REC", "NOAA", "NOAA_AR", "HARP", "QUALITY", "LON_FWT", "LAT_FWT"}
        return name in SHARP_UNITS or name in aliases
    return name in _READ.get(case.rsplit("-", 1)[0], (name,))


def _catalogue(name, reader, target, synthetic, real, *, text=True, sep=",", cell=None):
    """One case per policy: ``reader(path, on_bad_rows=policy)`` checked as an event table."""
    return [
        (
            ReaderCase(
                f"{name}-{policy}",
                lambda p, policy=policy: reader(p, on_bad_rows=policy),
                target,
                synthetic,
                real,
                check=lambda r, p, policy=policy: check_event_table(r, p, policy),
                text=text,
                sep=sep,
            ),
            cell,
        )
        for policy in POLICIES
    ]


_NCEI = (
    "Flare Class,Start Time,Peak Time,End Time,Active Region Number\n"
    "B1.3,1996-07-31T01:32Z,1996-07-31T01:36Z,1996-07-31T01:38Z,0\n"
    "C,2011-02-15T23:50Z,2011-02-15T00:05Z,2011-02-15T00:20Z,11158\n"
    "X2.2,2011-02-15T01:44Z,//://,2011-02-15T02:06Z,11158\n"
)
_SWPC_1996 = (
    "date,event_no,start_time,max_time,end_time,goes_sat,goes_channel,goes_class_ind,goes_class,integrated_flux,noaa_ar,ts\n"
    "0,19960806,4370,1996-08-06 19:10:00,2201,1996-08-06 22:43:00,GO9,1-8A,C,C1.5,8.23E-0,7981,199608061910\n"
    "1,19960807,4420,1996-08-07 23:16:00,0010,1996-08-07 23:24:00,GO9,1-8A,C,C1.0,2.90E-0,0,199608072316\n"
)
_SWPC_2010 = (
    "date,event_no,start_time,max_time,end_time,goes_sat,goes_channel,goes_class_ind,goes_class,integrated_flux,noaa_ar,ts\n"
    "0,20100102,4300,0709,0724,0740,G14,1-8A,C,C1.0,1.2E-03,11039,201001020709\n"
    "1,20100102,4370,2350,0016,0024,G14,1-8A,M,M2.6,1.4E-03,     ,201001022350\n"
)
_SC24 = (
    "event_starttime,event_peaktime,event_endtime,goes_class_ind,goes_class,goes_class_val,integrated_flux,noaa_ar,position_hgs\n"
    "0,2010-01-02 07:09:00,2010-01-02 07:24:00,2010-01-02 07:40:00,C,C1.0,1e-06,1.2E-03,11039,S26W41\n"
    "1,2010-01-02 14:08:00,2010-01-02 14:16:00,2010-01-02 14:24:00,C,C2.6,2.6e-06,1.4E-03,     ,S28W40\n"
)
_LIU = (
    "Flares,Start Time,End Time,NOAA\nM1.0,2010-06-13 05:30:00,2010-06-13 05:44:00,11079\n"
    "X2.0,2010-06-12 00:30:00,2010-06-12 01:02:00,11081\n"
)
_HEK = (
    "2010-05-01;2010-05-01 01:34:00;2010-05-01 01:39:00;2010-05-01 01:43:00;C5.7;(-73, 23);11067;C;2;-73;23\n"
    "2010-05-01;2010-05-01 05:23:00;2010-05-01 05:27:00;2010-05-01 05:31:00;B1.6;(0, 0);1121;B;1;0;0\n"
)
_XRS = (
    "31777140225  0039 0103 0049 S12E82                         X 49    G15  4.3E-01 11990 140303.2\n"
    "31777141231  2350 0010 0001                                M 99    G15  1.4E-04 \n"
)
_SHARP = (
    "label,flare,timestamp,NOAA,HARP,TOTUSJH,USFLUX,R_VALUE,LON_FWT\n"
    "Negative,N,2014-12-29T10:58:09.30Z,12252,5004,-0.16,-0.02,0.8,10.5\n"
    "Positive,M1.2,2014.12.29_11:58:09_TAI,12252,5004,-0.18,,0.8,11.0\n"
    "Negative,N,2014-12-29 12:58:09,0,5004,-0.19,-0.05,0.7,11.5\n"
)
FLSUM = "sci_xrsf-l2-flsum_g16_d20170906_v2-2-0.nc"
HOLLANDA = "solar_flare_dataset_2010_2019.csv"

CASES_CELLS: list[tuple[ReaderCase, Cell | None]] = [
    *_catalogue("ncei", read_ncei_events, "solar_events.csv", _text("solar_events.csv", _NCEI),
                _real("catalog_solarflarenet/solar_events.csv", "solar_events.csv"), cell=BY_HEADER),
    *_catalogue("swpc-1996", read_swpc_flarelist, "swpc_flarelist_19960731_20181231.csv",
                _text("swpc_flarelist_19960731_20181231.csv", _SWPC_1996),
                _real("hayes_flare_forecast/swpc_flarelist_19960731_20181231.csv",
                      "swpc_flarelist_19960731_20181231.csv"), cell=SHIFTED),
    *_catalogue("swpc-2010", read_swpc_flarelist, "swpc_flarelist_20100101-20210810.csv",
                _text("swpc_flarelist_20100101-20210810.csv", _SWPC_2010),
                _real("hayes_flare_forecast/swpc_flarelist_20100101-20210810.csv",
                      "swpc_flarelist_20100101-20210810.csv"), cell=SHIFTED),
    *_catalogue("swpc-sc24", read_swpc_flarelist, "final_flare_list_sc24.csv",
                _text("final_flare_list_sc24.csv", _SC24),
                _real("hayes_flare_forecast/final_flare_list_sc24.csv", "final_flare_list_sc24.csv"),
                cell=SHIFTED),
    *_catalogue("liu2019", read_liu2019_flares, "flares_M-class.csv", _text("flares_M-class.csv", _LIU),
                _real("liu2019_lstm/flares_M-class.csv", "flares_M-class.csv"), cell=BY_HEADER),
    *_catalogue("hek", read_hek_events, "goes_events.csv", _text("goes_events.csv", _HEK),
                _real("hollanda_sharp_swpc/goes_events_sunpy_2010_2019.csv", "goes_events.csv"),
                sep=";", cell=HEK_EXPORT),
    *_catalogue("xrs-report", read_xrs_report, "goes-xrs-report_2014.txt",
                _text("goes-xrs-report_2014.txt", _XRS),
                _real("noaa_goes_xrs_reports/goes-xrs-report_2014.txt", "goes-xrs-report_2014.txt"),
                sep=" "),
    *_catalogue("swpc-events", read_swpc_events, "20150301events.txt",
                _text("20150301events.txt", EVENTS_HEADER), None, sep=" "),
    *_catalogue("xrs-flsum", read_xrs_flsum, FLSUM, _flsum, None, text=False),
    # read_catalogue finds the format from the (mutated) name and first line: the dispatch too.
    *_catalogue("read_catalogue", read_catalogue, "solar_events.csv", _text("solar_events.csv", _NCEI),
                _real("catalog_solarflarenet/solar_events.csv", "solar_events.csv")),
    (ReaderCase("sharp-csv", read_sharp_series, "AR12252.csv", _text("AR12252.csv", _SHARP),
                _real("deepflarepred_case_studies/AR12252.csv", "AR12252.csv", None), check=check_series),
     BY_HEADER),
    (ReaderCase("sharp-hollanda", read_sharp_series, HOLLANDA, _text(HOLLANDA, _SHARP.replace(",", ";")),
                _real("hollanda_sharp_swpc/" + HOLLANDA, HOLLANDA), check=check_series, sep=";"),
     BY_HEADER),
    (ReaderCase("harp-map", read_harp_map, "harp_to_noaa.csv",
                _text("harp_to_noaa.csv", "1 11067\n2 11064,11065\n6 11065\n"),
                _real("catalog_solarflarenet/harp_to_noaa.csv", "harp_to_noaa.csv"),
                check=check_harp_map, sep=" "), None),
    (ReaderCase("harp-stats", read_harp_map, "harp_stats.csv",
                _text("harp_stats.csv", "HARP_NO,AR,Begin,End\n6599,12552,2016-06-01 13:24:00,x\n"
                                        "259,11127,2010-11-15 16:24:00,y\n"),
                _real("umich_arflares/harp_stats.csv", "harp_stats.csv"), check=check_harp_map), None),
]  # fmt: skip
CASES = [case for case, _ in CASES_CELLS]
CELLS = {case.name: cell for case, cell in CASES_CELLS if cell is not None}


# --------------------------------------------------------------------------- harness
class Seeds:
    """Every case's seed folders, built and checked once; fresh copies per example."""

    def __init__(self, root: Path, data_dir: Path | None) -> None:
        self.root = root
        self._folders: dict[tuple[str, str], Path] = {}
        for case in CASES:
            origins = ["synthetic"] + (["real"] if data_dir and case.real else [])
            for origin in origins:
                folder = root / f"{case.name}-{origin}"
                folder.mkdir()
                case.real(folder, data_dir) if origin == "real" else case.synthetic(folder)
                result = outcome(case.read, folder / case.target)
                assert not isinstance(result, Exception), f"seed of {case.name} fails: {result}"
                case.check(result, folder / case.target)
                self._folders[case.name, origin] = folder

    def origin(self, case: ReaderCase, data: st.DataObject) -> str:
        origins = [o for (name, o) in self._folders if name == case.name]
        return data.draw(st.sampled_from(sorted(origins)), label="seed")

    def workspace(self, case: ReaderCase, origin: str) -> Path:
        work = Path(tempfile.mkdtemp(dir=self.root))
        for f in self._folders[case.name, origin].iterdir():
            shutil.copyfile(f, work / f.name)
        return work


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> Seeds:
    value = os.environ.get("FLARECAST_DATA_DIR")
    data_dir = Path(value) if value and Path(value).is_dir() else None
    return Seeds(tmp_path_factory.mktemp("fuzzcat"), data_dir)


def _result(case: ReaderCase, path: Path) -> Any:
    result = outcome(case.read, path)
    if isinstance(result, FlarecastError):
        assert_names_file(result, path)
    else:
        case.check(result, path)
    return result


# --------------------------------------------------------------------------- properties
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@CAT_FUZZ
@given(data=st.data())
def test_mutated_input_gives_a_valid_table_or_a_flarecast_error(seeds, case, data):
    work = seeds.workspace(case, seeds.origin(case, data))
    try:
        path = work / case.target
        path.write_bytes(_mutate(data, path.read_bytes(), case))
        _result(case, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


CELL_CASES = [c for c in CASES if c.name in CELLS]


@pytest.mark.parametrize("case", CELL_CASES, ids=[c.name for c in CELL_CASES])
@CAT_FUZZ
@given(data=st.data())
def test_one_bad_cell_is_named_by_row_and_column(seeds, case, data):
    """One cell replaced: an error names the file, the row and (junk text) the column; with
    ``on_bad_rows="skip"`` junk in a read column is skipped and counted with the same names."""
    work = seeds.workspace(case, seeds.origin(case, data))
    try:
        path = work / case.target
        lines = _lines(path.read_bytes())
        sep = case.sep.encode()
        header = [h.decode().strip() for h in lines[0].split(sep)]
        first = 0 if CELLS[case.name] is HEK_EXPORT else 1
        row = data.draw(st.integers(first, len(lines) - 1), label="data line")
        fields = lines[row].split(sep)
        col = data.draw(st.integers(0, len(fields) - 1), label="field")
        value = data.draw(st.sampled_from(NASTY), label="value")
        fields[col] = value.encode()
        lines[row] = sep.join(fields)
        path.write_bytes(_join(lines))
        where, name = CELLS[case.name].row(row), CELLS[case.name].column(header, col)
        read = _is_read(case.name, name)
        result = _result(case, path)
        if isinstance(result, FlarecastError):
            message = str(result)
            assert re.search(rf"\b{where}\b", message), f"{where} not named: {message}"
            if value == JUNK:
                assert read and repr(name) in message, f"{name!r} not named: {message}"
            return
        if value == JUNK and read:
            # Only "skip" returns with junk in a read column: skipped, counted, named.
            assert case.name.endswith("-skip"), f"{JUNK!r} in {name!r} was accepted"
            examples = "; ".join(result.attrs["bad_row_examples"])
            assert result.attrs["bad_rows"] >= 1 and f"{where} column {name!r}" in examples
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- regressions
def _cell(line: int, field: int, value: str, sep: str = ",") -> Callable[[bytes], bytes]:
    def edit(blob: bytes) -> bytes:
        lines = _lines(blob)
        fields = lines[line].split(sep.encode())
        fields[field] = value.encode()
        lines[line] = sep.encode().join(fields)
        return _join(lines)

    return edit


BY_NAME = {c.name: c for c in CASES}
# (case, edit of its synthetic seed, error type, message): each was found by the fuzzer.
REGRESSIONS = [
    ("xrs-flsum-error", lambda b: b[:64] + bytes([b[64] ^ 1]) + b[65:], "DataError",
     r"cannot be read as a netCDF flare summary"),
    ("ncei-error", _cell(1, 0, '"'), "DataError", r"row 0 opens a quote that is never closed"),
    ("hek-error", _cell(1, 0, '"', ";"), "DataError", r"row 1 opens a quote that is never closed"),
    # a flipped bit turned an end year 1996 into 1896: still before the start after the midnight rollover
    ("ncei-error", _cell(1, 3, "1896-07-31T01:38Z"), "DataError",
     r"1 malformed row\(s\): row 0 column 'End Time': '1896-07-31T01:38' \(before the flare's start "
     r"1996-07-31T01:32, also on the next day\)"),
    ("ncei-error", _cell(1, 2, "1986-07-31T01:36Z"), "DataError", r"row 0 column 'Peak Time': '1986-07-31T01:36'"),
    # a comma inside row 0's first cell: pandas took the first column as the index and every row looked bad
    ("swpc-2010-error", _cell(1, 0, "1,5"), "DataError", r"row 0 has \d+ fields but the header has \d+"),
    # a region number of 1e308 is finite and whole, and overflowed the Int64 column
    ("ncei-error", _cell(1, 4, "1e308"), "DataError",
     r"row 0 column 'Active Region Number': '1e308' \(expected a NOAA region number up to 99999, 0 or blank\)"),
    ("swpc-sc24-error", _cell(1, 1, "NA"), "DataError",
     r"1 malformed row\(s\): row 0 column 'event_starttime': 'NA' \(expected an ISO 8601 time\)\."),
    ("swpc-sc24-error", _cell(1, 1, "9999-12-31T23:59:59Z"), "DataError",
     r"1 malformed row\(s\): row 0 column 'event_starttime': .*outside 1677-09-21 \.\. 2262-04-11"),
    ("swpc-2010-error", _cell(2, 3, ""), "DataError",
     r"1 malformed row\(s\): row 1 column 'start_time': '' \(missing, and this time is required\)"),
    ("swpc-events-error", lambda b: b.replace(b"2015 03 01", b"2015 13 01"), "SchemaError",
     r"line 3: ':Date: 2015 13 01' is not a valid"),
    ("sharp-csv", _cell(1, 5, "inf"), "DataError", r"column 'TOTUSJH' has 1 non-numeric or infinite value\(s\): row 0: 'inf'"),
    ("sharp-csv", _cell(1, 3, "1e30"), "DataError", r"column 'NOAA' has 1 invalid number\(s\): row 0"),
    ("sharp-csv", _cell(1, 0, "a,b"), "DataError", r"row 0 has 10 fields but the header has 9"),
    # times that parse but do not fit in nanoseconds: pandas' OutOfBoundsDatetime escaped
    ("sharp-csv", _cell(1, 2, "9999-12-31T23:59:59Z"), "DataError",
     r"column 'timestamp' has 1 time\(s\) outside 1677-09-21 \.\. 2262-04-11 \(UTC\).*row 0: '9999-12-31T23:59:59Z'"),
    ("sharp-csv", _cell(1, 2, "-1"), "DataError", r"column 'timestamp' has 1 time\(s\) outside .*row 0: '-1'"),
    ("harp-map", _cell(0, 0, "9" * 40, " "), "DataError", r"1 malformed line\(s\): line 1: '9999"),
    ("harp-map", _cell(0, 0, "\u0661", " "), "DataError", r"1 malformed line\(s\): line 1: '\u0661 11067'"),
    ("harp-map", lambda b: b"\x80" + b, "DataError", r"cannot be read as UTF-8 text"),
]  # fmt: skip


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    ("name", "edit", "error", "message"),
    REGRESSIONS,
    ids=[f"{r[0]}-{i}" for i, r in enumerate(REGRESSIONS)],
)
def test_fuzz_findings_stay_fixed(seeds, name, edit, error, message):
    assert_finding_stays_fixed(seeds, BY_NAME[name], edit, error, message)
