"""Numbers as exports write them: parsed exactly, or refused with the text named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.money import money_text, normalized, parse_decimal, to_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.5", "1234.5"),
        ("1,234.50", "1234.50"),
        ("$1,234,567.891", "1234567.891"),
        ("(12.00)", "-12.00"),
        ("-0.000000000000000001", "-0.000000000000000001"),
        (" +7 ", "7"),
        ("1e3", "1E+3"),
    ],
)
def test_parse_decimal_reads_what_people_write(text: str, expected: str) -> None:
    assert Decimal(expected) == parse_decimal(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.234,50", "1234.50"), ("12,5", "12.5"), ("1,234.50", "1234.50"), ("0.5", "0.5")],
)
def test_decimal_comma_files_read_european_numbers(text: str, expected: str) -> None:
    assert Decimal(expected) == parse_decimal(text, decimal_comma=True)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "12,34,5", "NaN", "inf", "1,23"])
def test_parse_decimal_refuses_what_is_not_a_number(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_decimal(text)


def test_normalized_drops_database_padding_without_exponents() -> None:
    assert "1.5" == str(normalized(Decimal("1.500000000000000000")))
    assert "100" == str(normalized(Decimal("100.000000000000000000")))
    assert "0.000000000000000001" == to_text(Decimal("1E-18"))


def test_money_text_rounds_derived_amounts_half_even_to_ten_places() -> None:
    assert "39.8333333333" == money_text(Decimal(239) / Decimal(6))
    assert money_text(None) is None
