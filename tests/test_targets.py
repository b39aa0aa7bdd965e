"""Binary targets: positive = flux >= threshold, negative = chosen letters below it, the rest counted."""

from __future__ import annotations

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from flarecast.cli._common import target_options
from flarecast.data.schema import Dataset
from flarecast.data.synthetic import demo_dataset
from flarecast.errors import ConfigError, DataError, SchemaError
from flarecast.goes import BASE_FLUX
from flarecast.targets import LABEL_LETTERS, make_targets, parse_negatives

CLASSES = ["N", "A3.0", "B2.0", "C1.0", "C9.9", "M1.0", "M4.9", "M5.0", "X1.0", "X10"]
FLUX = [0.0, 3e-8, 2e-7, 1e-6, 9.9e-6, 1e-5, 4.9e-5, 5e-5, 1e-4, 1e-3]


def table(classes=CLASSES, flux=FLUX, regions=None) -> pd.DataFrame:
    n = len(classes)
    return pd.DataFrame(
        {
            "time": pd.date_range("2014-10-22", periods=n, freq="6h", tz="UTC"),
            "noaa_ar": pd.array(
                regions if regions is not None else 12192 + np.arange(n), dtype="Int64"
            ),
            "goes_class": classes,
            "peak_flux": flux,
            "USFLUX": np.linspace(1e21, 1e23, n),
        },
        index=np.arange(100, 100 + n),  # a non-default index, to check it is reset
    )


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return demo_dataset(1, n_regions=120, days=120)


def test_default_is_m_and_x_against_c():
    t = make_targets(table())
    assert t.letter.tolist() == ["C", "C", "M", "M", "M", "X", "X"]
    assert t.y.tolist() == [0, 0, 1, 1, 1, 1, 1]
    assert t.y.dtype == np.int8
    assert t.dropped == {"N": 1, "A": 1, "B": 1, "C": 0, "M": 0, "X": 0}
    assert t.definition == "positive: >= M1.0; negative: C"
    assert (t.n_positive, t.n_negative) == (5, 2)
    assert t.threshold == 1e-5 and t.negatives == ("C",)
    assert t.frame.index.tolist() == list(range(7))
    assert t.groups.tolist() == [12195, 12196, 12197, 12198, 12199, 12200, 12201]
    assert t.groups.dtype == np.int64
    assert isinstance(t.times.dtype, pd.DatetimeTZDtype) and str(t.times.dt.tz) == "UTC"
    assert t.frame["goes_class"].tolist() == CLASSES[3:]


def test_a_negative_letter_may_straddle_the_threshold():
    t = make_targets(table(), negatives="C,M", positive_threshold="M5.0")
    # M1.0 and M4.9 are negatives, M5.0 and above positives; letters stay M for per-class recall.
    assert t.frame["goes_class"].tolist() == CLASSES[3:]
    assert t.y.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert t.letter[t.y == 0].tolist() == ["C", "C", "M", "M"]
    assert t.definition == "positive: >= M5.0; negative: C, M < M5.0"


def test_quiet_rows_as_negatives():
    t = make_targets(table(), negatives="A,B,C,N")
    assert t.y.tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert sum(t.dropped.values()) == 0
    assert t.definition == "positive: >= M1.0; negative: N, A, B, C"


def test_boundary_flux_from_log_intensity_counts_as_positive():
    # 10 ** log10(1e-5) may differ from 1e-5 in the last bit; M1.0 must stay positive, C9.9 negative.
    flux = [10 ** np.log10(1e-5), 10 ** np.log10(9.9e-6)]
    t = make_targets(table(["M1.0", "C9.9"], flux))
    assert t.y.tolist() == [1, 0]


def test_goes_class_column_alone_is_enough():
    frame = table().drop(columns="peak_flux")
    t = make_targets(frame, negatives=("c", "n"))
    assert t.y.tolist() == [0, 0, 0, 1, 1, 1, 1, 1]
    assert t.dropped["A"] == 1 and t.dropped["B"] == 1


def test_dataset_counts_add_up(demo):
    t = make_targets(demo)
    flux = demo.frame["peak_flux"].to_numpy()
    assert len(t.y) + sum(t.dropped.values()) == len(demo.frame)
    assert t.n_positive == int((flux >= 1e-5).sum())
    assert t.n_negative == int(((flux >= 1e-6) & (flux < 1e-5)).sum())
    assert set(t.letter) == {"C", "M", "X"}
    assert t.dropped["N"] == int((flux == 0).sum())
    np.testing.assert_array_equal(t.y, (t.frame["peak_flux"] >= 1e-5).to_numpy())
    np.testing.assert_array_equal(t.groups, t.frame["noaa_ar"].to_numpy(dtype=np.int64))


def test_parse_negatives_normalises():
    assert parse_negatives("A,B,C,N") == ("N", "A", "B", "C")
    assert parse_negatives(" c , b  n,c") == ("N", "B", "C")
    assert parse_negatives(["M", "c"]) == ("C", "M")
    assert parse_negatives(("X",)) == ("X",)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("", "needs at least one class letter"),
        (" , ", "needs at least one class letter"),
        ([], "needs at least one class letter"),
        ("C,Q", r"Unknown letter\(s\) \['Q'\].*legal letters are N \(no flare\), A, B, C, M, X"),
        ("C1.0", "set the positive threshold instead"),
    ],
)
def test_parse_negatives_rejects(value, match):
    with pytest.raises(ConfigError, match=match):
        parse_negatives(value)


@pytest.mark.parametrize(
    ("negatives", "threshold", "match"),
    [
        ("C,M", "M1.0", r"\['M'\] lie wholly at or above the positive threshold M1.0"),
        ("C", "B5.0", r"\['C'\] lie wholly at or above the positive threshold B5.0.*above C1.0"),
        ("C", "C1.0", r"\['C'\] lie wholly"),
        ("C", "Q1", "must be a GOES class such as 'M1.0'"),
        ("C", "N", "must be a GOES class such as 'M1.0'"),
        ("Z", "M1.0", "Unknown letter"),
    ],
)
def test_contradictory_or_bad_options(negatives, threshold, match):
    with pytest.raises(ConfigError, match=match):
        make_targets(table(), negatives=negatives, positive_threshold=threshold)


def test_threshold_must_be_a_string():
    with pytest.raises(ConfigError, match="must be a GOES class string"):
        make_targets(table(), positive_threshold=1e-5)


def test_no_positives_names_counts_and_option():
    with pytest.raises(
        DataError,
        match=r"no positive \(flux >= X20.0\) rows among 10 rows.*N 1, A 1.*--positive-threshold",
    ):
        make_targets(table(), positive_threshold="X20")


def test_no_negatives_names_counts_and_option():
    tiny = Dataset(table()[1:], "tiny", ("USFLUX",))
    with pytest.raises(
        DataError, match=r"'tiny': no negative \(letter in \['N'\], flux < M1.0\) rows.*--negatives"
    ):
        make_targets(tiny, negatives="N")


def test_missing_columns():
    with pytest.raises(
        SchemaError, match=r"missing column\(s\) \['noaa_ar', 'peak_flux \(or goes_class\)'\]"
    ):
        make_targets(table().drop(columns=["noaa_ar", "peak_flux", "goes_class"]))


def test_bad_fluxes_are_reported_by_row():
    frame = table()
    frame["peak_flux"] = frame["peak_flux"].astype(float)
    frame.iloc[2, frame.columns.get_loc("peak_flux")] = np.nan
    frame.iloc[4, frame.columns.get_loc("peak_flux")] = -1e-6
    with pytest.raises(
        DataError, match=r"'peak_flux' must hold fluxes >= 0.*row 2: nan, row 4: -1e-06"
    ):
        make_targets(frame)


def test_missing_region_among_kept_rows_is_an_error():
    regions = [0, 1, 2, 3, 4, 5, pd.NA, 7, 8, 9]
    with pytest.raises(DataError, match=r"'noaa_ar' is missing for kept rows at row 6: '<NA>'"):
        make_targets(table(regions=regions))


def test_missing_region_among_dropped_rows_is_harmless():
    t = make_targets(table(regions=[pd.NA, pd.NA, 2, 3, 4, 5, 6, 7, 8, 9]))
    assert t.dropped["N"] == 1 and t.dropped["A"] == 1
    assert t.groups.tolist() == [3, 4, 5, 6, 7, 8, 9]


def test_wrong_input_type():
    with pytest.raises(
        ConfigError, match="needs a pandas DataFrame or a flarecast Dataset. Got dict"
    ):
        make_targets({"goes_class": ["M1.0"]})


flare_flux = st.sampled_from(["A", "B", "C", "M", "X"]).flatmap(
    lambda letter: st.floats(1.0, 9.9 if letter != "X" else 30.0).map(
        lambda m: BASE_FLUX[letter] * m
    )
)
LOW = {"N": 0.0, "A": 0.0, "B": 1e-7, "C": 1e-6, "M": 1e-5, "X": 1e-4}


@settings(max_examples=100, deadline=None)
@given(
    flux=st.lists(st.one_of(st.just(0.0), flare_flux), min_size=1, max_size=40),
    negatives=st.sets(st.sampled_from(LABEL_LETTERS), min_size=1),
    threshold=st.sampled_from(["B5.0", "C1.0", "C5.0", "M1.0", "M5.0", "X1.0", "X5.0"]),
)
def test_every_row_is_positive_negative_or_counted(flux, negatives, threshold):
    arr = np.asarray(flux)
    thr = LOW[threshold[0]] * float(threshold[1:])
    # Independent letter assignment: the decade of the flux, N for 0.
    letters = np.array(
        [
            "N" if f == 0 else "ABCMX"[min(4, max(0, int(np.floor(np.log10(f) + 1e-9)) + 8))]
            for f in arr
        ]
    )
    expect_pos = arr >= thr
    expect_neg = ~expect_pos & np.isin(letters, list(negatives))
    frame = table(["?"] * len(arr), arr)
    if any(letter != "N" and thr <= LOW[letter] for letter in negatives):
        with pytest.raises(ConfigError, match="could never be negative"):
            make_targets(frame, negatives=sorted(negatives), positive_threshold=threshold)
    elif not expect_pos.any() or not expect_neg.any():
        with pytest.raises(DataError, match="no (positive|negative)"):
            make_targets(frame, negatives=sorted(negatives), positive_threshold=threshold)
    else:
        t = make_targets(frame, negatives=sorted(negatives), positive_threshold=threshold)
        np.testing.assert_array_equal(t.y, expect_pos[expect_pos | expect_neg])
        np.testing.assert_array_equal(t.letter, letters[expect_pos | expect_neg])
        assert t.dropped == {
            ltr: int(((letters == ltr) & ~expect_pos & ~expect_neg).sum()) for ltr in LABEL_LETTERS
        }


def test_cli_target_options():
    @click.command()
    @target_options
    def show(negatives, positive_threshold):
        click.echo(f"{negatives} {positive_threshold}")

    runner = CliRunner()
    assert runner.invoke(show, []).output.strip() == "('C',) M1.0"
    result = runner.invoke(show, ["--negatives", "n,b,c", "--positive-threshold", "M5"])
    assert result.exit_code == 0 and result.output.strip() == "('N', 'B', 'C') M5"
    bad = runner.invoke(show, ["--negatives", "C,Q"])
    assert bad.exit_code == 2 and "Unknown letter(s) ['Q']" in bad.output
    bad = runner.invoke(show, ["--positive-threshold", "M11"])
    assert bad.exit_code == 2 and "must be a GOES class such as 'M1.0'" in bad.output
