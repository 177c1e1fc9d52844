"""Decimal parsing and formatting for money and quantities.

Decimals are built from strings only; floats never enter the ledger.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import overload

from quantdesk.domain.errors import InvalidInput

ZERO = Decimal(0)
#: Wide enough never to round a stored NUMERIC(38, 18) value while reformatting it.
_WIDE = Context(prec=80)

_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_THOUSANDS_DOT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_SIMPLE = re.compile(r"-?\d{1,30}(\.\d{1,30})?").fullmatch
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_decimal(text: str, *, decimal_comma: bool = False) -> Decimal:
    """Parse a number as people and exports write it.

    Accepts ``1234.5``, ``1,234.50``, ``$1,234.50``, ``(12.00)`` (accounting negative),
    ``-12``; with ``decimal_comma`` also ``1.234,50`` and ``12,5``. Raises
    :class:`InvalidInput` naming the text on anything else (never guesses 0).
    """
    if not decimal_comma and _SIMPLE(text):  # the common case: 1234.5 or -12
        return Decimal(text)
    raw = text.strip()
    if not raw:
        raise InvalidInput("empty number")
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1].strip()
    for symbol in ("$", "€", "£", "¥"):
        raw = raw.replace(symbol, "")
    raw = raw.replace("\u00a0", "").replace(" ", "").replace("_", "")
    if raw.startswith("-"):
        negative, raw = not negative, raw[1:]
    elif raw.startswith("+"):
        raw = raw[1:]
    if decimal_comma and (_THOUSANDS_DOT.match(raw) or _DECIMAL_COMMA.match(raw)):
        raw = raw.replace(".", "").replace(",", ".")  # 1.234,50 or 12,5
    elif _THOUSANDS_COMMA.match(raw):
        raw = raw.replace(",", "")  # 1,234.50
    if not _PLAIN.match(raw):
        raise InvalidInput(f"not a number: {text.strip()!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        raise InvalidInput(f"not a number: {text.strip()!r}") from None
    if not value.is_finite():
        raise InvalidInput(f"not a finite number: {text.strip()!r}")
    return -value if negative else value


#: What the ledger stores: up to 20 integer digits and 18 decimals (NUMERIC(38, 18)).
STORED_PLACES = 18
STORED_INTEGER_DIGITS = 20
_STORED_QUANTUM = Decimal(1).scaleb(-STORED_PLACES)


def check_storable(value: Decimal) -> Decimal:
    """``value`` unchanged if the ledger can store it exactly, else :class:`InvalidInput`.

    Given numbers are stored as given, never rounded: one with more than 18 decimals or
    20 integer digits is refused rather than silently changed.
    """
    exponent = value.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -STORED_PLACES
        and value != value.quantize(_STORED_QUANTUM, context=_WIDE)
    ):
        raise InvalidInput(f"{value} has more than {STORED_PLACES} decimal places")
    if value and value.adjusted() >= STORED_INTEGER_DIGITS:
        raise InvalidInput(f"{value} has more than {STORED_INTEGER_DIGITS} integer digits")
    return value


def derived(value: Decimal) -> Decimal:
    """A number the ledger computes (a price from an amount over a quantity), rounded
    half-even to the 18 decimals it stores, so every database keeps the same value."""
    return value.quantize(_STORED_QUANTUM, rounding=ROUND_HALF_EVEN, context=_WIDE)


def normalized(value: Decimal) -> Decimal:
    """The same number without trailing zeros and never in exponent notation.

    Databases hand back ``NUMERIC(38, 18)`` as ``1.500000000000000000``; this gives ``1.5``.
    """
    if value == value.to_integral_value(context=_WIDE):
        return value.quantize(Decimal(1), context=_WIDE)
    return value.normalize(context=_WIDE)


#: Money in JSON and tables: amounts derived by division (pro-rata basis, average cost)
#: are shown to 10 decimal places, half-even; stored values keep their full precision.
MONEY_PLACES = Decimal("1e-10")


@overload
def to_text(value: Decimal) -> str: ...
@overload
def to_text(value: None) -> None: ...
@overload
def to_text(value: Decimal | None) -> str | None: ...
def to_text(value: Decimal | None) -> str | None:
    """A quantity or stored amount as a plain string for JSON (exact, no exponent)."""
    if value is None:
        return None
    return format(normalized(value), "f")


def money_text(value: Decimal | None) -> str | None:
    """A derived money amount for display: at most 10 decimals, rounded half-even."""
    if value is None:
        return None
    rounded = value.quantize(MONEY_PLACES, rounding=ROUND_HALF_EVEN, context=_WIDE)
    return format(normalized(rounded), "f")
