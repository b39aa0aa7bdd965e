"""The hayes-srs region-day reader: real-file counts from PROVENANCE.md, the region rule, categorical features."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flarecast.data import registry
from flarecast.data.schema import feature_columns, validate_labelled
from flarecast.data.tables.read import detect_layout, load_dataset
from flarecast.data.tables.srs import (
    PRE_ISSUE_FLARES,
    SRS_CATEGORIES,
    SRS_FEATURES,
    five_digit_regions,
    mcintosh_class,
    pre_issue_flares,
    read_hayes_srs,
)
from flarecast.errors import DataError, SchemaError

FOLDER = "hayes_flare_forecast"
HEADER = (
    "AR issue_date,noaa_ar,Carrington_long,AREA,McIntosh,Longitude_extent,Latitude,Longitude,"
    "No_sunspots,MAGTYPE,LOCATION,C,M,X,C+,M+,X+\n"
)


def _tiny(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "AR_flare_ml_23_24.csv"
    path.write_text(HEADER + "".join(f"{i},{r}\n" for i, r in enumerate(rows)))
    return path


ROWS = [
    "1996-08-01 00:30,7981,258,410,ESO,12,-9,-22,24.0,BETA-GAMMA,S09E22,1.0,0.0,0.0,1.0,0.0,0.0",
    "2002-06-20 00:30,9999,100,30,CRO,4,10,40,5.0,BETA,N10W40,0.0,2.0,1.0,3.0,3.0,1.0",
    "2002-06-20 00:30,10005,101,10,AXX,1,-5,-10,1.0,ALPHA,S05E10,0.0,1.0,0.0,1.0,1.0,0.0",
    "2014-10-24 00:30,12192,250,2750,FKC,21,-14,20,70.0,BETA-GAMMA-DELTA,S14W20,0.0,0.0,0.0,0.0,0.0,0.0",
]


def test_tiny_file_labels_regions_and_categories(tmp_path):
    ds = read_hayes_srs(_tiny(tmp_path, ROWS))
    frame = ds.frame
    validate_labelled(frame, ds.name, list(ds.features))
    assert ds.features == SRS_FEATURES and feature_columns(frame) == list(SRS_FEATURES)
    # 4-digit numbers get +10000, also one still on the disk after AR 10000 was numbered.
    assert frame["noaa_ar"].tolist() == [17981, 19999, 10005, 12192]
    assert frame["goes_class"].tolist() == ["C", "X", "M", "N"]
    assert frame["peak_flux"].tolist() == [1e-6, 1e-4, 1e-5, 0.0]
    assert frame["flares_m"].tolist() == [0, 2, 1, 0] and frame["flares_x"].tolist() == [0, 1, 0, 0]
    assert str(frame["time"].iloc[0]) == "1996-08-01 00:30:00+00:00"
    for col, legal in SRS_CATEGORIES.items():
        assert isinstance(frame[col].dtype, pd.CategoricalDtype)
        assert tuple(frame[col].cat.categories) == legal
    assert mcintosh_class(frame).tolist() == ["ESO", "CRO", "AXX", "FKC"]
    assert frame["mtwilson"].tolist() == ["BETA-GAMMA", "BETA", "ALPHA", "BETA-GAMMA-DELTA"]
    assert frame["area_msh"].tolist() == [410, 30, 10, 2750]
    assert any("2 row(s) with a 4-digit number got +10000" in n for n in ds.notes)
    assert any("B-class flares are unknown" in n for n in ds.notes)
    assert detect_layout(tmp_path / "AR_flare_ml_23_24.csv") == "srs"


def test_five_digit_rule():
    numbers, changed = five_digit_regions(np.array([7981, 9999, 10000, 12731]))
    assert numbers.tolist() == [17981, 19999, 10000, 12731]
    assert changed.tolist() == [True, True, False, False]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (ROWS[0].replace("ESO", "EZO"), r"row 0: 'Z'.*Legal: \['X', 'R', 'S', 'A', 'H', 'K'\]"),
        (ROWS[0].replace("ESO", "ES"), r"'McIntosh'.*not 3-letter.*row 0: 'ES'"),
        (ROWS[0].replace("BETA-GAMMA", "BETA-X"), r"'MAGTYPE'.*row 0: 'BETA-X'.*Legal"),
        (ROWS[0].replace("00:30", "12:00"), r"not an SRS issue.*row 0: '1996-08-01 12:00'"),
        (ROWS[0].replace("1.0,0.0,0.0,1.0,0.0,0.0", "1.0,0.0,0.0,2.0,0.0,0.0"), r"'C\+' disagrees"),
        (ROWS[0].replace("1.0,0.0,0.0,1.0", "-1.0,0.0,0.0,-1.0"), r"'C'.*invalid flare count"),
    ],
)
def test_bad_rows_are_named(tmp_path, row, message):
    with pytest.raises(DataError, match=message):
        read_hayes_srs(_tiny(tmp_path, [row]))


def test_repeated_issue_region_pair_is_refused(tmp_path):
    other = ROWS[0].replace("410,ESO", "420,ESO")
    with pytest.raises(DataError, match=r"repeated \(issue, region\).*row 1: '7981'"):
        read_hayes_srs(_tiny(tmp_path, [ROWS[0], other]))


def test_schema_refuses_a_missing_category(tmp_path):
    ds = read_hayes_srs(_tiny(tmp_path, ROWS))
    frame = ds.frame.copy()
    frame.loc[1, "mtwilson"] = np.nan
    with pytest.raises(SchemaError, match=r"categorical feature column 'mtwilson'.*row 1"):
        validate_labelled(frame, "t", list(ds.features))


def test_real_file_matches_provenance(data_dir):
    ds = load_dataset("hayes-srs", data_dir=data_dir, download=False)
    frame = ds.frame
    assert len(frame) == 33516 == registry.get_entry("hayes-srs").rows
    assert frame["goes_class"].value_counts().to_dict() == {
        "N": 27229,
        "C": 5082,
        "M": 1079,
        "X": 126,
    }
    assert frame["noaa_ar"].nunique() == 4736
    assert str(frame["time"].min().date()) == "1996-08-01"
    assert str(frame["time"].max().date()) == "2018-12-16"
    c23 = frame["time"] < pd.Timestamp("2008-12-01", tz="UTC")  # PROVENANCE: "< 2008-12"
    assert frame.loc[c23, "goes_class"].value_counts().to_dict() == {
        "N": 17753,
        "C": 2920,
        "M": 715,
        "X": 86,
    }
    assert frame.loc[c23, "noaa_ar"].nunique() == 3017
    assert frame.loc[~c23, "goes_class"].value_counts()[["X", "M"]].tolist() == [40, 364]
    assert frame["mtwilson"].value_counts()[["BETA", "ALPHA", "BETA-GAMMA"]].tolist() == [
        19206,
        10223,
        2914,
    ]
    validate_labelled(frame, ds.name, list(ds.features))


def test_window_mismatch_count_matches_the_flare_list(data_dir):
    from flarecast.data.catalogues.csv_lists import read_swpc_flarelist

    folder = data_dir / FOLDER
    ds = read_hayes_srs(folder / "AR_flare_ml_23_24.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two malformed C-class rows ('C6,2') are skipped, counted
        events = read_swpc_flarelist(
            folder / "swpc_flarelist_19960731_20181231.csv", on_bad_rows="skip"
        )
    assert pre_issue_flares(ds, events) == PRE_ISSUE_FLARES
    assert PRE_ISSUE_FLARES["M"] + PRE_ISSUE_FLARES["X"] > 0
