"""Readers of the real data sets (counts from each PROVENANCE.md) and of canonical tables, with bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flarecast.data.schema import feature_columns, validate_labelled
from flarecast.data.tables.per_flare import (
    FLAREML_FEATURES,
    UMICH_FEATURES,
    read_flareml,
    read_umich,
)
from flarecast.data.tables.read import detect_layout, load_dataset, read_table, summarize
from flarecast.data.tables.windowed import (
    HOLLANDA_FEATURES,
    is_history_feature,
    read_hollanda,
    read_liu2019_demo,
)
from flarecast.errors import ConfigError, DataError, DataWarning, GOESClassError, SchemaError
from flarecast.goes import class_letter, parse_goes_class


def letters(ds) -> dict[str, int]:
    counts = pd.Series(class_letter(ds.frame["peak_flux"])).value_counts()
    return {k: int(v) for k, v in counts.items()}


def assert_canonical(ds) -> None:
    """Invariants every reader promises."""
    validate_labelled(ds.frame, ds.name, list(ds.features))
    assert feature_columns(ds.frame) == list(ds.features)
    assert str(ds.frame["time"].dt.tz) == "UTC"
    assert ds.frame["noaa_ar"].dtype == "Int64" and ds.frame["noaa_ar"].notna().all()
    assert list(ds.frame.index) == list(range(len(ds.frame)))
    np.testing.assert_allclose(
        parse_goes_class(ds.frame["goes_class"], allow_none=True), ds.frame["peak_flux"], rtol=0.1
    )
    assert ds.sha256 and len(ds.sha256) == 64


# --------------------------------------------------------------------------- Michigan
UMICH = {  # file: rows, A, B, C, M, X, distinct ARs, first day, last day (PROVENANCE.md)
    6: (9416, 3, 3538, 5250, 583, 42, 820, "2010-05-01", "2018-06-19"),
    12: (9336, 3, 3506, 5210, 574, 43, 822, "2010-05-01", "2018-06-19"),
    24: (8991, 3, 3338, 5053, 560, 37, 799, "2010-05-01", "2018-06-19"),
    36: (8533, 3, 3155, 4798, 541, 36, 782, "2010-05-02", "2018-06-18"),
    48: (8074, 3, 2931, 4586, 521, 33, 760, "2010-05-02", "2018-06-18"),
}


@pytest.mark.parametrize("hours", sorted(UMICH))
def test_umich_counts_match_provenance(data_dir, hours):
    rows, a, b, c, m, x, ars, first, last = UMICH[hours]
    ds = read_umich(data_dir / f"umich_arflares/arflares{hours}h.csv")
    assert_canonical(ds)
    assert len(ds.frame) == rows
    assert letters(ds) == {"A": a, "B": b, "C": c, "M": m, "X": x}
    assert ds.frame["noaa_ar"].nunique() == ars
    assert (
        str(ds.frame["time"].min().date()) == first and str(ds.frame["time"].max().date()) == last
    )
    assert ds.features == UMICH_FEATURES and ds.flaring_only and f"{hours} h" in ds.window
    assert {"LON_FWT", "LAT_FWT"} <= set(ds.frame.columns) - set(ds.features)


def test_umich_24h_details_match_provenance(data_dir):
    ds = read_umich(data_dir / "umich_arflares/arflares24h.csv")
    f = ds.frame
    x = f[f["goes_class"].str.startswith("X")]
    assert x["time"].dt.year.value_counts().to_dict() == {
        2011: 7,
        2012: 4,
        2013: 7,
        2014: 13,
        2015: 2,
        2017: 4,
    }
    per_class = f.groupby(class_letter(f["peak_flux"]))["noaa_ar"].nunique().to_dict()
    assert {k: per_class[k] for k in "XMCB"} == {"X": 24, "M": 151, "C": 580, "B": 576}
    # Spot checks of PROVENANCE.md: AR 11158 X2.2 and AR 11166 X1.5.
    for ar, cls, t in ((11158, "X2.2", "2011-02-14 02:00"), (11166, "X1.5", "2011-03-08 23:24")):
        row = f[(f["noaa_ar"] == ar) & (f["goes_class"] == cls)]
        assert row["time"].tolist() == [pd.Timestamp(t, tz="UTC")]
    # Two flares of one region sharing a snapshot: kept and counted.
    assert any("kept 2 exact duplicate" in n for n in ds.notes)


def _umich_csv(tmp_path: Path, **changes) -> Path:
    cols = [
        "NOAA_ar_num",
        "LON_FWT",
        "LAT_FWT",
        "T_REC",
        *UMICH_FEATURES,
        "log_intensity",
        "category",
    ]
    rows = [
        [11158, -20.0, -20.0, 1297648800, *range(1, 21), np.log10(2.2e-4), "X"],
        [11166, 10.0, 20.0, 1299626640, *range(2, 22), np.log10(3.1e-6), "C"],
    ]
    frame = pd.DataFrame(rows, columns=cols).astype(object)
    for key, value in changes.items():
        row, col = key.split("__")
        frame.loc[int(row), col] = value
    path = tmp_path / "arflares24h.csv"
    frame.to_csv(path, index=False)
    return path


def test_umich_tiny_file_reads(tmp_path):
    ds = read_umich(_umich_csv(tmp_path))
    assert ds.frame["goes_class"].tolist() == ["X2.2", "C3.1"]
    assert ds.frame["time"][0] == pd.Timestamp("2011-02-14 02:00", tz="UTC")


def test_umich_category_disagreeing_with_flux_names_row(tmp_path):
    with pytest.raises(
        GOESClassError,
        match=r"arflares24h.csv: column 'category' disagrees .* row 1: 'M but flux 3.1e-06",
    ):
        read_umich(_umich_csv(tmp_path, **{"1__category": "M"}))


def test_umich_bad_category_letter(tmp_path):
    with pytest.raises(GOESClassError, match=r"invalid class letter.*row 0: 'Q'.*A, B, C, M, X"):
        read_umich(_umich_csv(tmp_path, **{"0__category": "Q"}))


def test_umich_missing_column(tmp_path):
    path = _umich_csv(tmp_path)
    pd.read_csv(path).drop(columns=["category", "NPIX"]).to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['category', 'NPIX'\]"):
        read_umich(path)


def test_umich_non_numeric_feature_names_row_and_column(tmp_path):
    with pytest.raises(
        DataError, match=r"column 'USFLUX' has 1 non-numeric value\(s\): row 1: 'lots'"
    ):
        read_umich(_umich_csv(tmp_path, **{"1__USFLUX": "lots"}))


# --------------------------------------------------------------------------- FlareML
def test_flareml_original_matches_provenance(data_dir):
    ds = read_flareml(data_dir / "flareml_liu2017/flaringar_original_data.csv")
    assert_canonical(ds)
    f = ds.frame
    assert len(f) == 845 and letters(ds) == {"X": 23, "M": 142, "C": 552, "B": 128}
    assert f["noaa_ar"].nunique() == 472
    per_class = f.groupby(class_letter(f["peak_flux"]))["noaa_ar"].nunique().to_dict()
    assert per_class == {"X": 15, "M": 88, "C": 281, "B": 88}
    assert (
        str(f["time"].min().date()) == "2010-05-03" and str(f["time"].max().date()) == "2016-12-27"
    )
    assert (f["time"].dt.strftime("%H:%M") == "00:10").sum() == 829
    x = f[class_letter(f["peak_flux"]) == "X"]
    assert x["time"].dt.year.value_counts().to_dict() == {
        2011: 5,
        2012: 3,
        2013: 6,
        2014: 8,
        2015: 1,
    }
    first = f.iloc[0]  # 'X22' = X2.2, AR 11158, 2/15/2011 0:10
    assert (first["goes_class"], first["noaa_ar"], first["time"]) == (
        "X2.2",
        11158,
        pd.Timestamp("2011-02-15 00:10", tz="UTC"),
    )
    assert ds.features == FLAREML_FEATURES and ds.flaring_only


def test_flareml_training_sample_recovers_time_and_region(data_dir):
    folder = data_dir / "flareml_liu2017"
    ds = read_flareml(folder / "flaringar_training_sample.csv")
    original = read_flareml(folder / "flaringar_original_data.csv").frame
    assert_canonical(ds)
    assert len(ds.frame) == 435 and letters(ds) == {"X": 23, "M": 142, "C": 142, "B": 128}
    keys = ["time", "noaa_ar", "goes_class"]
    assert len(ds.frame.merge(original[keys], on=keys)) == 435
    # The features come from the training sample at full precision (original rounds TOTPOT).
    assert ds.frame.loc[0, "TOTPOT"] == 8.59611e23 and original.loc[0, "TOTPOT"] == 8.60e23


def test_flareml_training_sample_without_original_is_refused(data_dir, tmp_path):
    lonely = tmp_path / "flaringar_training_sample.csv"
    lonely.write_bytes((data_dir / "flareml_liu2017/flaringar_training_sample.csv").read_bytes())
    with pytest.raises(DataError, match="no date or region.*not found"):
        read_flareml(lonely)


def test_flareml_training_row_without_match_is_refused(data_dir, tmp_path):
    text = (data_dir / "flareml_liu2017/flaringar_training_sample.csv").read_text().splitlines()
    parts = text[3].split(",")
    parts[1] = "1.5"  # TOTUSJH no original row has
    (tmp_path / "flaringar_training_sample.csv").write_text(
        "\n".join([text[0], text[1], ",".join(parts)]) + "\n"
    )
    original = data_dir / "flareml_liu2017/flaringar_original_data.csv"
    with pytest.raises(DataError, match=r"1 row\(s\) do not match exactly one row.*row 1: 0"):
        read_flareml(tmp_path / "flaringar_training_sample.csv", original=original)


def test_flareml_random40_is_inside_original(data_dir):
    folder = data_dir / "flareml_liu2017"
    ds = read_flareml(folder / "flaringar_simple_random_40.csv")
    assert_canonical(ds)
    assert len(ds.frame) == 40 and letters(ds) == {"B": 15, "C": 12, "M": 9, "X": 4}
    original = read_flareml(folder / "flaringar_original_data.csv").frame
    keys = ["time", "noaa_ar", "goes_class"]
    assert ds.frame[keys].merge(original[keys].drop_duplicates(), on=keys).shape[0] == 40
    with pytest.raises(DataError, match=r"1 exact duplicate row\(s\) \(row 24: 'copy of row"):
        read_flareml(folder / "flaringar_simple_random_40.csv", duplicates="error")
    with pytest.warns(DataWarning, match="dropped 1 exact duplicate"):
        dropped = read_flareml(folder / "flaringar_simple_random_40.csv", duplicates="drop")
    assert len(dropped.frame) == 39 and any("dropped 1 exact duplicate" in n for n in dropped.notes)


def test_flareml_bad_compact_class(tmp_path):
    head = "Flare Class,Flare Date,AR," + ",".join(FLAREML_FEATURES)
    row = ",".join(["1"] * len(FLAREML_FEATURES))
    path = tmp_path / "fm.csv"
    path.write_text(f"{head}\nX22,2/15/2011 0:10,11158,{row}\nZ15,3/9/2011 0:10,11166,{row}\n")
    with pytest.raises(GOESClassError, match=r"in .*fm.csv, column 'Flare Class': row 1: 'Z15'"):
        read_flareml(path)
    path.write_text(f"{head}\nX22,2011-02-15,11158,{row}\n")
    with pytest.raises(DataError, match=r"column 'Flare Date' has 1 unparseable.*'%m/%d/%Y %H:%M'"):
        read_flareml(path)


# --------------------------------------------------------------------------- Hollanda
def test_hollanda_counts_match_provenance(data_dir):
    folder = data_dir / "hollanda_sharp_swpc"
    with pytest.warns(DataWarning, match="dropped 15 row"):
        ds = read_hollanda(folder / "solar_flare_dataset_2010_2019.csv")
    assert_canonical(ds)
    assert not ds.flaring_only and ds.features == HOLLANDA_FEATURES
    assert not {"Longitude", "Latitude", "QUALITY", "FlareNumber"} & set(ds.frame.columns)
    # Independent count from the raw files: file rows minus the two counted drops.
    raw = pd.read_csv(folder / "solar_flare_dataset_2010_2019.csv", sep=";")
    labels = pd.read_csv(folder / "derived_goes_window_labels.csv", keep_default_na=False)
    assert len(raw) == 8874 and raw["NOAA_AR"].nunique() == 1289
    past_end = labels["max_class_next_0_24h"] == ""
    nan_rows = raw.isna().any(axis=1)
    assert nan_rows.sum() == 15 and not (past_end & nan_rows).any()
    assert len(ds.frame) == 8874 - past_end.sum() - 15
    assert any(f"dropped {past_end.sum()} row(s) whose 0-24h window" in n for n in ds.notes)
    # Kept plus the NaN-dropped rows reproduce PROVENANCE's next-0-24h totals.
    dropped = pd.Series(
        class_letter(
            parse_goes_class(labels.loc[nan_rows, "max_class_next_0_24h"], allow_none=True)
        )
    )
    total = pd.Series(letters(ds)).add(dropped.value_counts(), fill_value=0)
    assert total["N"] == 6493 + 17 and total["B"] == 835 + 5 and total["C"] == 1140 + 120
    assert total["M"] + total["X"] == 239
    # The label is not the file's FlareNumber (381 positives, a selection artefact).
    assert (ds.frame["peak_flux"] >= 1e-5).sum() != 381


def test_hollanda_24_48h_window(data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        ds = read_hollanda(
            data_dir / "hollanda_sharp_swpc/solar_flare_dataset_2010_2019.csv", window="24-48h"
        )
    counts = letters(ds)
    # PROVENANCE next 24-48h: X 3 + 36 = 39, minus any X among the 15 rows with a missing MEANSHR.
    assert 36 <= counts["X"] <= 39 and "(T_REC+24h, T_REC+48h]" in ds.window
    with pytest.raises(
        DataError, match=r"The 'window' parameter must be one of \['0-24h', '24-48h'\]"
    ):
        read_hollanda(
            data_dir / "hollanda_sharp_swpc/solar_flare_dataset_2010_2019.csv", window="48h"
        )


def _hollanda_pair(tmp_path: Path, label_ar: int = 11064, label: str = "N") -> Path:
    head = "FlareNumber;T_REC;NOAA_AR;QUALITY;Longitude;Latitude;" + ";".join(HOLLANDA_FEATURES)
    feats = ";".join(["1.5"] * len(HOLLANDA_FEATURES))
    data = tmp_path / "set.csv"
    data.write_text(
        f"{head}\n0;2010-05-01 23:48:00;11064;0;28;15;{feats}\n1;2010-05-02 23:48:00;11064;0;15;16;{feats}\n"
    )
    (tmp_path / "derived_goes_window_labels.csv").write_text(
        "row,NOAA_AR,T_REC,FlareNumber,max_class_prev_24h,max_class_next_0_24h,max_class_next_24_48h\n"
        f"0,{label_ar},2010-05-01 23:48:00,0,N,{label},N\n1,11064,2010-05-02 23:48:00,1,N,M1.0,\n"
    )
    return data


def test_hollanda_tiny_pair_and_misaligned_labels(tmp_path):
    ds = read_hollanda(_hollanda_pair(tmp_path, label="B1.6"))
    assert ds.frame["goes_class"].tolist() == ["B1.6", "M1.0"]
    with pytest.raises(
        DataError, match=r"does not line up .*column 'NOAA_AR' differs at row 0: '11065'"
    ):
        read_hollanda(_hollanda_pair(tmp_path, label_ar=11065))
    with pytest.raises(GOESClassError, match=r"column 'max_class_next_0_24h': row 0: 'Q1.0'"):
        read_hollanda(_hollanda_pair(tmp_path, label="Q1.0"))
    with pytest.raises(DataError, match="needs its derived window labels"):
        read_hollanda(_hollanda_pair(tmp_path), labels=tmp_path / "nope.csv")


# --------------------------------------------------------------------------- Liu et al. 2019
LIU = {  # task: rows, flare-column counts, AR, HARP, positives, first day, last day (PROVENANCE.md)
    "C": (
        185,
        {"B": 92, "C": 46, "M": 38, "N": 9},
        12644,
        6972,
        84,
        "2017-03-25",
        "2017-04-02",
        1e-6,
    ),
    "M": (
        212,
        {"C": 183, "M": 23, "N": 4, "B": 2},
        12320,
        5415,
        23,
        "2015-04-04",
        "2015-04-13",
        1e-5,
    ),
    "M5": (
        189,
        {"N": 74, "M": 60, "X": 46, "C": 9},
        12673,
        7115,
        49,
        "2017-08-30",
        "2017-09-08",
        5e-5,
    ),
}


@pytest.mark.parametrize("task", sorted(LIU))
def test_liu2019_demo_matches_provenance(data_dir, task):
    rows, counts, ar, harp, positives, first, last, threshold = LIU[task]
    ds = read_liu2019_demo(data_dir / f"liu2019_lstm/demo_{task}_normalized_testing.csv")
    assert_canonical(ds)
    f = ds.frame
    assert len(f) == rows and letters(ds) == counts
    assert f["noaa_ar"].unique().tolist() == [ar] and f["harpnum"].unique().tolist() == [harp]
    assert (f["peak_flux"] >= threshold * (1 - 1e-9)).sum() == positives
    assert str(f["time"].min().date()) == first and str(f["time"].max().date()) == last
    assert not any(is_history_feature(c) for c in ds.features) and not ds.flaring_only
    assert any("unreliable" in n for n in ds.notes) and any("leak" in n for n in ds.notes)
    with_history = read_liu2019_demo(
        data_dir / f"liu2019_lstm/demo_{task}_normalized_testing.csv", history=True
    )
    assert {"Cdec", "Chis", "Xmax1d"} <= set(with_history.features) - set(ds.features)


def test_liu2019_label_disagreeing_with_flare(tmp_path):
    path = tmp_path / "demo_M_normalized_testing.csv"
    path.write_text(
        "Label,flare,timestamp,NOAA,HARP,TOTUSJH,Mhis\n"
        "Negative,C1.0,2015-04-04T05:34:17.60Z,12320,5415,0.1,0\n"
        "Negative,M1.4,2015-04-04T06:34:17.60Z,12320,5415,0.2,0\n"
    )
    with pytest.raises(
        DataError,
        match=r"column 'Label' disagrees with 'flare' \(>= M\) at row 1: 'Negative for M1.4'",
    ):
        read_liu2019_demo(path)
    unnamed = tmp_path / "liu.csv"
    unnamed.write_text(path.read_text().replace("Negative,C1.0", "Positive,C1.0"))
    with pytest.raises(DataError, match="a single class threshold"):
        read_liu2019_demo(unnamed)


# --------------------------------------------------------------------------- canonical tables
def _table(**cols) -> pd.DataFrame:
    base = {
        "time": ["2014-01-01T00:00:00Z", "2014-01-01T01:00:00Z", "2014-01-02T00:00:00+01:00"],
        "noaa_ar": [11936, 11936, 11937],
        "goes_class": ["N", "M1.2", "x2.4"],
        "USFLUX": [1e21, 2e21, 3e21],
        "R_VALUE": [0.0, 3.5, 4.1],
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_canonical_csv(tmp_path):
    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    ds = load_dataset(path)
    assert_canonical(ds)
    assert ds.features == ("USFLUX", "R_VALUE") and not ds.flaring_only
    assert ds.frame["goes_class"].tolist() == ["N", "M1.2", "X2.4"]
    assert ds.frame["time"][2] == pd.Timestamp("2014-01-01T23:00:00Z")  # +01:00 converted to UTC
    np.testing.assert_allclose(ds.frame["peak_flux"], [0, 1.2e-5, 2.4e-4])


def test_canonical_parquet_and_netcdf_round_trip(tmp_path):
    frame = _table()
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame.to_parquet(tmp_path / "t.parquet")
    pq = load_dataset(tmp_path / "t.parquet")
    xr = pytest.importorskip("xarray")
    nc = frame.assign(time=frame["time"].dt.tz_localize(None))  # CF times: UTC by convention
    xr.Dataset.from_dataframe(nc.rename_axis("sample")).to_netcdf(
        tmp_path / "t.nc", engine="h5netcdf"
    )
    ncd = load_dataset(tmp_path / "t.nc")
    for ds in (pq, ncd):
        assert_canonical(ds)
        pd.testing.assert_series_equal(ds.frame["time"], pq.frame["time"])
        assert ds.frame["goes_class"].tolist() == ["N", "M1.2", "X2.4"]
        assert ds.features == ("USFLUX", "R_VALUE")


def test_column_mapping(tmp_path):
    path = tmp_path / "other.csv"
    _table().rename(columns={"time": "T_REC", "noaa_ar": "AR", "goes_class": "cls"}).to_csv(
        path, index=False
    )
    ds = load_dataset(path, columns={"T_REC": "time", "AR": "noaa_ar", "cls": "goes_class"})
    assert ds.frame["noaa_ar"].tolist() == [11936, 11936, 11937]
    with pytest.raises(
        SchemaError, match=r"missing column\(s\) \['time', 'noaa_ar', 'goes_class or peak_flux'\]"
    ):
        load_dataset(path)
    with pytest.raises(SchemaError, match=r"mapped column\(s\) \['TREC'\] not found"):
        load_dataset(path, columns={"TREC": "time"})


def test_naive_times_refused_unless_utc_is_stated(tmp_path):
    path = tmp_path / "naive.csv"
    _table(time=["2014-01-01 00:00", "2014-01-01T01:00:00Z", "2014-01-02 00:00"]).to_csv(
        path, index=False
    )
    with pytest.raises(
        DataError,
        match=r"naive.csv: column 'time' has 2 time\(s\) without a zone: row 0: '2014-01-01 00:00', row 2.*assume_utc=True",
    ):
        load_dataset(path)
    ds = load_dataset(path, assume_utc=True)
    assert ds.frame["time"][0] == pd.Timestamp("2014-01-01T00:00Z")
    frame = _table()
    frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None)
    frame.to_parquet(tmp_path / "naive.parquet")
    with pytest.raises(DataError, match="timezone-naive datetimes"):
        load_dataset(tmp_path / "naive.parquet")
    _table(time=[1.3e9, 1.4e9, 1.5e9]).to_parquet(tmp_path / "epoch.parquet")
    with pytest.raises(DataError, match="epoch numbers are ambiguous"):
        load_dataset(tmp_path / "epoch.parquet")


def test_bad_class_non_numeric_feature_and_region(tmp_path):
    path = tmp_path / "bad.csv"
    _table(goes_class=["N", "Z9", "M1.2"]).to_csv(path, index=False)
    with pytest.raises(GOESClassError, match=r"bad.csv, column 'goes_class': row 1: 'Z9'"):
        load_dataset(path)
    _table(R_VALUE=["0.1", "high", "2"]).to_csv(path, index=False)
    with pytest.raises(
        DataError, match=r"column 'R_VALUE' has 1 non-numeric value\(s\): row 1: 'high'"
    ):
        load_dataset(path)
    _table(noaa_ar=[11936, None, 11937]).to_csv(path, index=False)
    with pytest.raises(
        DataError, match=r"column 'noaa_ar' has 1 missing or non-numeric value\(s\): row 1"
    ):
        load_dataset(path)
    _table(peak_flux=[0.0, 1.2e-5, 5e-6]).to_csv(path, index=False)
    with pytest.raises(GOESClassError, match=r"disagree in 1 row\(s\): row 2: 'x2.4 vs 5e-06'"):
        load_dataset(path)


def test_missing_feature_policy(tmp_path):
    path = tmp_path / "nan.csv"
    _table(USFLUX=[1e21, np.nan, 3e21], R_VALUE=[0.0, 1.0, np.inf]).to_csv(path, index=False)
    with pytest.raises(
        SchemaError,
        match=r"2 row\(s\) with a missing or non-finite feature value \(columns \['USFLUX', 'R_VALUE'\]; row 1: 'USFLUX=nan', row 2: 'R_VALUE=inf'\)",
    ):
        load_dataset(path, missing="error")
    with pytest.warns(DataWarning, match=r"dropped 2 row\(s\)"):
        ds = load_dataset(path)
    assert len(ds.frame) == 1 and any("dropped 2 row(s)" in n for n in ds.notes)


def test_duplicate_policies(tmp_path):
    path = tmp_path / "dup.csv"
    frame = _table()
    pd.concat([frame, frame.iloc[[1]]]).to_csv(path, index=False)
    kept = load_dataset(path)
    assert (
        len(kept.frame) == 4
        and "kept 1 exact duplicate row(s) (row 3: 'copy of row 1')" in kept.notes[-1]
    )
    with pytest.warns(DataWarning, match="dropped 1 exact duplicate"):
        assert len(load_dataset(path, duplicates="drop").frame) == 3
    with pytest.raises(DataError, match=r"1 exact duplicate row\(s\) \(row 3: 'copy of row 1'\)"):
        load_dataset(path, duplicates="error")
    with pytest.raises(
        DataError, match=r"The 'duplicates' parameter must be one of \['keep', 'drop', 'error'\]"
    ):
        load_dataset(path, duplicates="ignore")


def test_duplicates_are_the_rows_pandas_finds_equal(tmp_path):
    """Duplicates are found by hash and each later copy compared with its first copy: -0.0 equals
    0.0 and a missing position equals a missing position, as DataFrame.duplicated has them."""
    path = tmp_path / "dup.csv"
    frame = _table(LON_FWT=["", "", "-7.5"], R_VALUE=["0.0", "3.5", "4.1"])
    copies = _table(LON_FWT=["", "", "-7.25"], R_VALUE=["-0.0", "3.5", "4.1"])
    pd.concat([frame, copies]).to_csv(path, index=False)
    read = load_dataset(path)
    expected = read.frame.duplicated(keep="first").to_numpy()
    assert expected.tolist() == [False] * 3 + [True, True, False]
    assert read.notes[-1].startswith(
        "kept 2 exact duplicate row(s) (row 3: 'copy of row 0', row 4: 'copy of row 1')"
    )
    with pytest.warns(DataWarning, match="dropped 2 exact duplicate"):
        assert len(load_dataset(path, duplicates="drop").frame) == 4


def test_unknown_name_format_and_layout_detection(data_dir, tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"neither a registered data set .* nor an existing file. Did you mean 'umich-24h'",
    ):
        load_dataset("umich-25h")
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(DataError, match="unknown table format '.xlsx'"):
        load_dataset(tmp_path / "t.xlsx")
    assert detect_layout(data_dir / "umich_arflares/arflares6h.csv") == "umich"
    assert (
        detect_layout(data_dir / "hollanda_sharp_swpc/solar_flare_dataset_2010_2019.csv")
        == "hollanda"
    )
    assert detect_layout(data_dir / "liu2019_lstm/demo_M_normalized_testing.csv") == "liu2019"
    assert detect_layout(data_dir / "flareml_liu2017/flaringar_training_sample.csv") == "flareml"
    ds = load_dataset(data_dir / "umich_arflares/arflares12h.csv")  # a known layout read by path
    assert len(ds.frame) == 9336 and "12 h" in ds.window


CLASSES = st.builds(
    lambda letter, tenths: "N" if letter == "N" else f"{letter}{tenths / 10:.1f}",
    st.sampled_from(["N", "A", "B", "C", "M", "X"]),
    st.integers(10, 99),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    classes=st.lists(CLASSES, min_size=1, max_size=8),
    minutes=st.lists(st.integers(0, 10**6), min_size=8, max_size=8, unique=True),
    fmt=st.sampled_from(["csv", "parquet"]),
)
def test_canonical_round_trip_property(tmp_path, classes, minutes, fmt):
    n = len(classes)
    times = pd.Timestamp("2012-01-01", tz="UTC") + pd.to_timedelta(minutes[:n], unit="min")
    frame = pd.DataFrame({"time": times, "noaa_ar": np.arange(11000, 11000 + n), "goes_class": classes,
                          "TOTPOT": np.linspace(1e22, 9e22, n)})  # fmt: skip
    path = tmp_path / f"rt.{fmt}"
    if fmt == "csv":
        frame.assign(time=times.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    ds = read_table(path)
    assert ds.frame["goes_class"].tolist() == classes
    assert (ds.frame["time"] == times).all()
    np.testing.assert_allclose(ds.frame["peak_flux"], parse_goes_class(classes, allow_none=True))
    assert summarize(ds)["rows"] == n and sum(summarize(ds)["classes"].values()) == n


def test_summarize_counts_every_letter(tmp_path):
    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    s = summarize(load_dataset(path))
    assert s["classes"] == {"N": 1, "A": 0, "B": 0, "C": 0, "M": 1, "X": 1}
    assert s["regions"] == 2 and s["time_start"] == "2014-01-01T00:00:00+00:00"
    assert s["features"] == ["USFLUX", "R_VALUE"] and s["synthetic"] is False


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".nc"])
def test_a_written_synthetic_table_stays_synthetic_when_read_back(tmp_path, suffix):
    """Regression: a labelled table made from the demo data lost its SYNTHETIC mark once saved to a file."""
    from flarecast.data.synthetic import demo_dataset
    from flarecast.data.tables.write import write_table

    demo = demo_dataset(seed=1, n_regions=8, days=14)
    frame = demo.frame.copy()
    frame.attrs = {
        "synthetic": True,
        "window": "largest flare in (t, t + 24h]",
        "source": "SYNTHETIC demo",
    }
    path = write_table(frame, tmp_path / f"lab{suffix}")
    back = read_table(path)
    assert back.synthetic is True and back.window == "largest flare in (t, t + 24h]"
    assert len(back.frame) == len(frame)
    frame.attrs = {"synthetic": False}
    assert read_table(write_table(frame, tmp_path / f"real{suffix}")).synthetic is False
    frame.attrs = {}  # a table from elsewhere, with no attributes: not synthetic, window unspecified
    plain = read_table(write_table(frame, tmp_path / f"plain{suffix}"))
    assert plain.synthetic is False and plain.window.startswith("unspecified")


def test_an_unreadable_csv_attribute_file_is_an_error_not_a_lost_mark(tmp_path):
    from flarecast.data.synthetic import demo_dataset
    from flarecast.data.tables.write import write_table

    frame = demo_dataset(seed=1, n_regions=8, days=14).frame.copy()
    frame.attrs = {"synthetic": True}
    path = write_table(frame, tmp_path / "lab.csv")
    (tmp_path / "lab.csv.meta.json").write_text('{"synthetic": tru')
    with pytest.raises(
        DataError, match=r"lab.csv.meta.json: the attributes written with lab.csv cannot be read"
    ):
        read_table(path)
