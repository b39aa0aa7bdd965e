"""SRS text files (flarecast.data.tables.srs_text) against the real files of sunpy's test data."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from flarecast.data.tables.srs import SRS_CATEGORIES, SRS_FEATURES
from flarecast.errors import ConfigError, DataError

pytest.importorskip("sunpy")

from flarecast.data.tables.srs_text import read_srs_text  # noqa: E402


def srs_file(name: str):
    from sunpy.data.test import get_test_filepath

    return get_test_filepath(name)


def test_20000922_regions_as_printed_in_the_file():
    frame = read_srs_text(srs_file("SRS/20000922SRS.txt"))
    # part I of the file: 9165 N16W80 188 0030 HRX 03 03 ALPHA ... 9170 S07E28 080 0040 CAO 05 08 BETA
    assert frame["noaa_ar"].tolist() == [19165, 19166, 19167, 19169, 19170]
    assert (frame["time"] == pd.Timestamp("2000-09-22 00:30", tz="UTC")).all()
    classes = (
        frame["mcintosh_zurich"].astype(str)
        + frame["mcintosh_penumbra"].astype(str)
        + frame["mcintosh_compactness"].astype(str)
    )
    assert classes.tolist() == ["HRX", "EKO", "ESO", "FKC", "CAO"]
    assert frame["mtwilson"].astype(str).tolist() == [
        "ALPHA", "BETA-GAMMA", "BETA", "BETA-GAMMA-DELTA", "BETA",
    ]  # fmt: skip
    assert frame["area_msh"].tolist() == [30, 760, 160, 1910, 40]
    assert frame["extent_deg"].tolist() == [3, 12, 13, 19, 5]
    assert frame["spots"].tolist() == [3, 49, 20, 68, 8]
    assert frame["latitude_deg"].tolist() == [16, -12, 12, 9, -7]
    assert frame["longitude_deg"].tolist() == [80, 16, -17, -32, -28]  # west positive
    for col, legal in SRS_CATEGORIES.items():
        assert list(frame[col].cat.categories) == list(legal)
    assert "2 plage(s) without spots and 3 region(s) due to return" in frame.attrs["notes"][0]


def test_mixed_case_corrected_copy_2010():
    frame = read_srs_text(srs_file("SRS/20100621SRS.txt"))
    # "1082 N27W05 305 0030 Dso 07 03 Beta", a corrected copy issued at 00:45
    assert frame["noaa_ar"].tolist() == [11082]
    assert frame["time"].iloc[0] == pd.Timestamp("2010-06-21 00:45", tz="UTC")
    assert frame["mcintosh_zurich"].iloc[0] == "D" and frame["mcintosh_penumbra"].iloc[0] == "S"
    assert frame["mtwilson"].iloc[0] == "BETA"


@pytest.mark.parametrize(
    "name",
    ["20000922", "20000927", "20001001", "20020624", "20020628", "20100621", "20150101",
     "20150306", "20150906"],
)  # fmt: skip
def test_same_rows_as_the_hayes_srs_table(data_dir, name):
    from flarecast.data.tables.read import load_dataset

    frame = read_srs_text(srs_file(f"SRS/{name}SRS.txt"))
    table = load_dataset("hayes-srs", data_dir=data_dir).frame
    day = table[table["time"].dt.strftime("%Y%m%d") == name]
    ours = frame.sort_values("noaa_ar").reset_index(drop=True)
    theirs = day.sort_values("noaa_ar").reset_index(drop=True)
    assert len(ours) == len(theirs) > 0
    assert ours["noaa_ar"].tolist() == theirs["noaa_ar"].tolist()
    for col in SRS_FEATURES:
        if col in SRS_CATEGORIES:
            assert ours[col].astype(str).tolist() == theirs[col].astype(str).tolist(), col
        else:
            np.testing.assert_array_equal(ours[col].to_numpy(), theirs[col].to_numpy(), err_msg=col)


def test_illegal_mcintosh_class_is_named(tmp_path):
    text = open(srs_file("SRS/20000922SRS.txt")).read().replace(" FKC ", " QKC ")
    path = tmp_path / "20000922SRS.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=r"20000922SRS.txt.*region 9169: McIntosh class 'QKC'"):
        read_srs_text(path)


def test_not_an_srs_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\nworld\n")
    with pytest.raises(DataError, match="notes.txt: not a readable NOAA SRS text file"):
        read_srs_text(path)


def test_missing_sunpy_names_the_extra(monkeypatch):
    monkeypatch.setitem(
        sys.modules, "sunpy.io.special.srs", None
    )  # import fails as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'flarecast\[srs\]'"):
        read_srs_text(srs_file("SRS/20000922SRS.txt"))


def test_reader_module_does_not_import_sunpy():
    import subprocess

    code = (
        "import sys, flarecast.data.tables.srs_text; "
        "sys.exit(int(any(m.startswith('sunpy') for m in sys.modules)))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
