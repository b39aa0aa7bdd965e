"""What every reader does with awkward but common input: a canonical catalogue made by hand,
a byte-order mark, a file over the memory budget, repeated SHARP records, the catalogue names."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_fuzz_catalogues import CASES as CATALOGUE_CASES
from test_fuzz_readers import CASES as TABLE_CASES

from flarecast.data.budget import ENV_MAX_TABLE_BYTES
from flarecast.data.catalogues.read import CATALOGUES, read_catalogue
from flarecast.errors import DataError, DataWarning, SchemaError

HEADER = "start,peak,end,goes_class,peak_flux,noaa_ar"
GOOD = "2014-10-24T21:07Z,2014-10-24T21:41Z,2014-10-24T22:13Z,X3.1,3.1e-4,12192"


def _catalogue(tmp_path, *rows, header=HEADER, name="mycat.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


# --------------------------------------------------------------------------- canonical catalogue
def test_canonical_catalogue_round_trip(tmp_path):
    path = _catalogue(
        tmp_path, GOOD, "2014-10-25T16:55Z,,2014-10-25T18:11Z,X1.0,1e-4,", header=HEADER
    )
    events = read_catalogue(path)
    assert events.attrs["format"] == "canonical" and events.attrs["flux_scaling"] == "unknown"
    assert events["start"].tolist() == [
        pd.Timestamp("2014-10-24T21:07Z"),
        pd.Timestamp("2014-10-25T16:55Z"),
    ]
    assert events["peak"].iloc[1] == events["start"].iloc[1]  # no peak: the start, counted
    assert events.attrs["peak_from_start"] == 1
    assert events["noaa_ar"].tolist()[0] == 12192 and pd.isna(events["noaa_ar"].iloc[1])
    assert events["goes_class"].tolist() == ["X3.1", "X1.0"]
    np.testing.assert_allclose(events["peak_flux"], [3.1e-4, 1e-4])


BAD_ROWS = [
    # (row, what the reader must name)
    ("2014-10-24T21:07Z,2014-10-24T21:41Z,,C1.0,5e-4,12192", r"column 'goes_class': 'C1.0 with peak_flux 5e-4'"),
    ("2014-10-24T21:07Z,2014-10-24T21:41Z,,X1.0,5.0,12192", r"column 'peak_flux': '5.0'"),
    ("2014-10-24T21:07Z,2014-10-24T21:41Z,,X1.0,nan,12192", r"column 'peak_flux': 'nan'"),
    ("2014-10-24T21:07Z,2014-10-24T21:41Z,,Q9,,12192", r"column 'goes_class': 'Q9'"),
    ("2014-10-24T21:07Z,2014-10-23T21:41Z,,X3.1,3.1e-4,12192", r"column 'peak': '2014-10-23T21:41' \(before the flare's start"),
    ("garbage,2014-10-24T21:41Z,,X3.1,3.1e-4,12192", r"column 'start': 'garbage'"),
    ("2014-10-24 21:07,2014-10-24T21:41Z,,X3.1,3.1e-4,12192", r"column 'start': '2014-10-24 21:07' \(no time zone"),
    ("2014-10-24T23:59:60Z,2014-10-25T00:41Z,,X3.1,3.1e-4,12192", r"column 'start': '2014-10-24T23:59:60Z'"),
    ("2014-10-24T21:07Z,2014-10-24T21:41Z,,X3.1,3.1e-4,AR12620", r"column 'noaa_ar': 'AR12620'"),
    ("2014-10-24T21:07Z,2014-10-24T21:41Z,,X3.1,3.1e-4,12620.5", r"column 'noaa_ar': '12620.5'"),
    ("now,now,now,X3.1,3.1e-4,12620", r"column 'end': 'now'.*column 'start': 'now'"),
]  # fmt: skip


@pytest.mark.parametrize(("row", "named"), BAD_ROWS, ids=[b[1][8:30] for b in BAD_ROWS])
def test_canonical_catalogue_rows_are_checked_like_every_catalogue(tmp_path, row, named):
    path = _catalogue(tmp_path, GOOD, row)
    with pytest.raises(DataError, match=r"mycat.csv: 1 malformed row\(s\): row 1 " + named):
        read_catalogue(path)
    with pytest.warns(DataWarning, match="skipped 1 malformed row"):
        events = read_catalogue(path, on_bad_rows="skip")
    assert len(events) == 1 and events.attrs["bad_rows"] == 1
    assert events["goes_class"].notna().all()


def test_a_file_of_another_layout_forced_through_canonical_is_refused(tmp_path):
    path = _catalogue(
        tmp_path,
        "M2.0,2014-10-24T21:07Z,2014-10-24T21:41Z,2014-10-24T22:13Z,12192",
        header="Flare Class,Start Time,Peak Time,End Time,Active Region Number",
        name="solar_events.csv",
    )
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['start', 'peak', 'noaa_ar'"):
        read_catalogue(path, format="canonical")


def test_a_users_catalogue_with_other_column_names_gets_a_clear_error(tmp_path, monkeypatch):
    from flarecast.cli import main

    path = _catalogue(
        tmp_path,
        "2014-10-24T21:07Z,2014-10-24T21:41Z,2014-10-24T22:13Z,X3.1,12192",
        header="start_time,peak_time,end_time,goes_class,noaa_ar",
    )
    with pytest.raises(DataError, match="--catalogue-format.*format=.*canonical columns start"):
        read_catalogue(path)
    monkeypatch.chdir(tmp_path)
    args = ["label", "--sharp", "demo", "--catalogue", str(path), "--out", "x.csv"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "--catalogue-format" in result.output and "unknown catalogue layout" in result.output


def test_data_list_names_the_catalogues(tmp_path):
    from flarecast.cli import main

    result = CliRunner().invoke(main, ["data", "list"])
    assert result.exit_code == 0
    section = result.output.split("CATALOGUE ", 1)[1]
    for name, (fmt, _, description) in CATALOGUES.items():
        line = next(ln for ln in section.splitlines() if ln.startswith(name + " "))
        assert fmt in line and description in line
    assert "hollanda-2019" in section and "--catalogue-format" in section


# --------------------------------------------------------------------------- byte-order mark
TEXT_CASES = [c for c in [*TABLE_CASES, *CATALOGUE_CASES] if c.text and c.name != "harp-stats"]


def _result(case, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return case.read(path)


@pytest.mark.parametrize("case", TEXT_CASES, ids=[c.name for c in TEXT_CASES])
def test_a_byte_order_mark_changes_nothing(tmp_path, case):
    case.synthetic(tmp_path)
    path = tmp_path / case.target
    plain = _result(case, path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    marked = _result(case, path)
    frame = getattr(plain, "frame", plain)
    pd.testing.assert_frame_equal(getattr(marked, "frame", marked), frame)


@pytest.mark.parametrize("name", ["umich-24h", "flareml-2017", "hollanda-2019"])
def test_a_byte_order_mark_on_a_real_file_keeps_its_layout(data_dir, tmp_path, name):
    from flarecast.data import registry
    from flarecast.data.tables.read import detect_layout, load_dataset

    source = next(iter(registry.locate(name, data_dir=data_dir, download=False).values()))
    copy = tmp_path / source.name
    copy.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    assert detect_layout(copy) == detect_layout(source) != "table"
    if name != "hollanda-2019":  # Hollanda needs its companion label file
        assert len(load_dataset(copy).frame) == len(load_dataset(source).frame)


# --------------------------------------------------------------------------- budget, duplicates
def test_the_memory_budget_applies_to_sharp_series_and_catalogues(tmp_path, monkeypatch):
    from flarecast.data.sharp.series import read_sharp_series

    series = tmp_path / "series.csv"
    series.write_text(
        "time,noaa_ar,USFLUX\n"
        + "".join(f"2014-01-01T{h:02d}:00:00Z,11936,1e22\n" for h in range(24))
    )
    catalogue = _catalogue(tmp_path, *[GOOD] * 30)
    monkeypatch.setenv(ENV_MAX_TABLE_BYTES, "500B")
    for read, path in [(read_sharp_series, series), (read_catalogue, catalogue)]:
        with pytest.raises(DataError, match=r"more than the memory budget of 500 B"):
            read(path)
    monkeypatch.setenv(ENV_MAX_TABLE_BYTES, "1MB")
    assert len(read_sharp_series(series)) == 24 and len(read_catalogue(catalogue)) == 1


def test_repeated_records_of_one_region_and_time_are_refused(tmp_path):
    from flarecast.data.sharp.series import read_sharp_series

    path = tmp_path / "input.csv"
    path.write_text(
        "time,noaa_ar,USFLUX\n2011-02-15T00:00:00Z,11158,1e22\n2011-02-15T00:00:00Z,11159,2e22\n"
        "2011-02-15T00:00:00Z,11158,3e22\n"
    )
    with pytest.raises(
        DataError, match=r"2 records share their region and time.*row 0: .*row 2: '2011-02-15T00"
    ):
        read_sharp_series(path)
