"""Unit tests for number parsing (Arabic, full-width, Chinese numerals) and unit conversions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm import units
from crm.requirements.numbers import (
    iter_numbers,
    normalize,
    parse_number,
    parse_number_range,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0.0),
        ("1500", 1500.0),
        ("12.5", 12.5),
        ("1,500", 1500.0),
        ("1,500,000", 1500000.0),
        ("１５００", 1500.0),
        ("１．５万", 15000.0),
        (" 2000 ", 2000.0),
        ("零", 0.0),
        ("五", 5.0),
        ("十", 10.0),
        ("十二", 12.0),
        ("二十", 20.0),
        ("二十五", 25.0),
        ("一百二十", 120.0),
        ("一百零五", 105.0),
        ("一千零五十", 1050.0),
        ("两千", 2000.0),
        ("三千五百", 3500.0),
        ("一千万", 10000000.0),
        ("一千五百万", 15000000.0),
        ("二十万", 200000.0),
        ("十一万", 110000.0),
        ("一亿二千万", 120000000.0),
        ("一万亿", 1000000000000.0),
        ("壹仟贰佰", 1200.0),
        ("二〇二六", 2026.0),
        ("1.5万", 15000.0),
        ("3千", 3000.0),
        ("1.2亿", 120000000.0),
        ("1,500万", 15000000.0),
        ("1.5千万", 15000000.0),
        ("3千5百", 3500.0),
        ("1万5千", 15000.0),
        ("1万5000", 15000.0),
        ("300w", 3000000.0),
        ("一点五万", 15000.0),
        ("三点二", 3.2),
        ("一百二十三点五", 123.5),
        ("一百二十三万四千点五", 1234000.5),
        ("3个亿", 300000000.0),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("两万五", 25000.0),
        ("三千五", 3500.0),
        ("一百二", 120.0),
        ("1万5", 15000.0),
        ("一亿五", 150000000.0),
        ("一千零五", 1005.0),  # 零 stops the shorthand: 1005, not 1500
    ],
)
def test_trailing_digit_counts_in_the_next_lower_unit(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text",
    ["", "   ", "万", "千千", "百十", "abc", "2二", "1.5.3", "1,5000", "两三千", "十万万万x", "平"],
)
def test_not_a_number(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("两三千", (2000.0, 3000.0)),
        ("一两万", (10000.0, 20000.0)),
        ("三四十", (30.0, 40.0)),
        ("五六百", (500.0, 600.0)),
        ("八九千万", (80000000.0, 90000000.0)),
        ("两千", None),
        ("三五千", None),  # not adjacent digits
        ("零一千", None),
        ("两三", None),
    ],
)
def test_parse_number_range(text, expected):
    assert parse_number_range(text) == expected


def test_iter_numbers_finds_whole_numbers_with_positions():
    text = normalize("厂房２０００平，电话13391219793，两万五，1.5万平，5000千伏安")
    assert [value for value, _, _ in iter_numbers(text)] == [
        2000.0,
        13391219793.0,
        25000.0,
        15000.0,
        5000.0,
    ]
    value, start, end = next(iter_numbers(text))
    assert text[start:end] == "2000"


def test_a_phone_number_is_never_split_into_smaller_numbers():
    assert list(iter_numbers("13391219793")) == [(13391219793.0, 0, 11)]


def test_a_run_of_more_than_twelve_digits_is_no_number():
    assert list(iter_numbers("1" * 30)) == []


def test_qian_of_a_unit_word_is_not_a_multiplier():
    values = [v for v, _, _ in iter_numbers("500千瓦、800千伏安、3千克、5千米")]
    assert values == [500.0, 800.0, 3.0, 5.0]


def test_normalize_folds_full_width_and_keeps_commas_from_joining_digits():
    assert normalize("２０００，３０００㎡") == "2000、3000m2"
    assert normalize("300w") == "300万"
    assert normalize("500kw") == "500kw"
    assert normalize("windows") == "windows"


@given(st.integers(min_value=0, max_value=10**12))
def test_any_integer_round_trips(value):
    assert parse_number(str(value)) == float(value)


@given(st.integers(min_value=0, max_value=10**6))
def test_any_integer_with_thousands_separators_round_trips(value):
    assert parse_number(f"{value:,}") == float(value)


# --- units --------------------------------------------------------------------------------


def test_mu_is_ten_thousand_fifteenths_of_a_square_metre():
    assert units.SQM_PER_MU == 10000 / 15
    assert units.mu_to_sqm(15) == pytest.approx(10000)
    assert units.sqm_to_mu(10000) == pytest.approx(15)
    assert units.sqm_to_mu(units.mu_to_sqm(12.5)) == pytest.approx(12.5)


def test_rent_per_day_to_month():
    assert units.rent_per_day_to_month(0.8) == pytest.approx(0.8 * 365 / 12)
    assert units.round2(units.rent_per_day_to_month(0.8)) == 24.33
    assert units.rent_per_year_to_month(240) == 20


def test_other_conversions():
    assert units.hectare_to_sqm(2) == 20000
    assert units.yuan_to_wan(3_000_000) == 300
    assert units.kg_to_tonnes(800) == 0.8
    assert units.kn_to_tonnes(10) == 1
    assert units.round2(6666.666) == 6666.67
