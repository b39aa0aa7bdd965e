"""GOES class parsing: spellings from real catalogues, round trips, and bad strings."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flarecast.errors import GOESClassError
from flarecast.goes import BASE_FLUX, class_letter, flux_to_class, parse_goes_class


@pytest.mark.parametrize(
    ("text", "flux"),
    [
        ("M1.2", 1.2e-5),
        ("m1.2", 1.2e-5),
        ("x2.4", 2.4e-4),
        ("X28", 2.8e-3),
        ("M1", 1e-5),
        ("C", 1e-6),
        ("X10+", 1e-3),
        (" B4.5 ", 4.5e-7),
        ("A9.9", 9.9e-8),
        ("X9.3", 9.3e-4),
    ],
)
def test_parse_standard_spellings(text, flux):
    assert parse_goes_class([text])[0] == pytest.approx(flux, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "flux"),
    [("X22", 2.2e-4), ("B10", 1e-7), ("M 99", 9.9e-5), ("X54", 5.4e-4), ("M1.5", 1.5e-5)],
)
def test_parse_compact_tenths(text, flux):
    assert parse_goes_class([text], compact=True)[0] == pytest.approx(flux, rel=1e-12)


def test_compact_is_opt_in():
    # Without compact=True "X22" is the (legal) magnitude 22, never silently X2.2.
    assert parse_goes_class(["X22"])[0] == pytest.approx(2.2e-3)


@pytest.mark.parametrize(
    "bad", ["Z9", "M-1", "", "MX", "M0", "M10", "C12.5", "M 99", "1.2", "M1.2.3"]
)
def test_bad_strings_raise_with_row_and_value(bad):
    with pytest.raises(
        GOESClassError, match=rf"row 1: {bad!r}".replace(".", r"\.").replace("+", r"\+")
    ):
        parse_goes_class(["M1.0", bad, "C1.0"], source="cat.csv", column="cls")


def test_error_names_every_bad_row_and_source():
    with pytest.raises(
        GOESClassError, match=r"3 invalid GOES class value\(s\) in cat\.csv, column 'cls'"
    ) as info:
        parse_goes_class(["Z9", "M1", "M-1", "MX"], source="cat.csv", column="cls")
    assert "row 0: 'Z9'" in str(info.value) and "row 3: 'MX'" in str(info.value)
    assert "row 1" not in str(info.value)


def test_none_and_missing_are_opt_in():
    assert list(parse_goes_class(["N", "M1"], allow_none=True)) == [0.0, 1e-5]
    flux = parse_goes_class(["////", "--", "", "C2"], allow_missing=True)
    assert np.isnan(flux[:3]).all() and flux[3] == pytest.approx(2e-6)
    with pytest.raises(GOESClassError, match="'N'"):
        parse_goes_class(["N"])


def test_flux_to_class_truncates_and_never_crosses_letters():
    out = flux_to_class([1.2e-5, 9.99e-5, 1e-4, 2.8e-3, 0.0, np.nan, 1.0e-6])
    assert list(out) == ["M1.2", "M9.9", "X1.0", "X28.0", "N", "", "C1.0"]


def test_flux_to_class_rejects_negative_flux():
    with pytest.raises(GOESClassError, match="Negative flux"):
        flux_to_class([1e-5, -1e-6])


def test_class_letter_compares_as_flux_not_string():
    # As text "X10" < "X2"; as flux it is larger.
    f = parse_goes_class(["X10", "X2"])
    assert f[0] > f[1]
    assert list(class_letter([5e-9, 5e-8, 5e-7, 5e-6, 5e-5, 5e-4, 0.0])) == [
        "A",
        "A",
        "B",
        "C",
        "M",
        "X",
        "N",
    ]


@given(
    st.sampled_from("ABCMX"),
    st.integers(min_value=10, max_value=99),
)
def test_round_trip_class_flux_class(letter, tenths):
    text = f"{letter}{tenths / 10:.1f}"
    assert flux_to_class(parse_goes_class([text]))[0] == text


@given(st.floats(min_value=1e-9, max_value=1e-2, allow_nan=False))
def test_round_trip_flux_class_flux_within_one_tenth(flux):
    text = flux_to_class([flux])[0]
    back = parse_goes_class([text])[0]
    base = BASE_FLUX[text[0]]
    assert back <= flux * (1 + 1e-9)
    assert flux - back < 0.1 * base * (
        1 + 1e-6
    )  # truncation loses less than a tenth of the letter's unit
