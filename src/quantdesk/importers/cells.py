"""Cells as broker and exchange exports write them: money with currency symbols, signs in
parentheses, decimal commas, scientific notation, unit suffixes, and local dates and times
that end as aware UTC.

Every parser raises :class:`InvalidInput` naming the text; none guesses a value.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.money import STORED_PLACES, check_storable, derived, parse_decimal
from quantdesk.importers.dates import When

#: Cells that mean "no value" in exports (IBKR writes ``-``; Trading 212 ``Not available``).
EMPTY = frozenset({"", "-", "--", "n/a", "N/A", "not available", "Not available"})

_CURRENCY_SIGNS = "$€£¥₿"
_SCIENTIFIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)[eE][+-]?\d+$")
_PLAIN = re.compile(r"-?\d{1,20}(\.\d{1,18})?").fullmatch
#: The common money cell: an optional sign and currency sign before a plain number
#: (``$67.01``, ``-€597.49``, ``€-3.10``).
_MONEY = re.compile(r"(-?)[$€£¥]?(-?)(\d{1,20}(?:\.\d{1,18})?)").fullmatch


def header_key(cell: str) -> str:
    """A header cell compared loosely: ``Price ($)``, ``price`` and ``PRICE`` are one
    column, ``Fees & Comm`` is ``fees_comm``, ``Date(UTC)`` is ``date_utc``."""
    text = cell.strip().lstrip("\ufeff").strip().strip('"').lower()
    text = text.replace("($)", "").replace("(%)", "")
    return re.sub(r"[^0-9a-zà-ÿ]+", "_", text).strip("_")


def number(text: str, *, decimal_comma: bool = False) -> Decimal:
    """A number as exports write it: ``$1,259.59``, ``-$3320.05``, ``($1,500.00)``,
    ``€3343.11``, ``3.605E-05``, ``"-79,35"`` (with ``decimal_comma``), ``1 046,3825``.

    More than 18 decimals (Coinbase writes prices to 20+) are rounded half-even to the
    18 the ledger stores; more than 20 integer digits are refused.
    """
    raw = text.strip()
    if not decimal_comma:
        if _PLAIN(raw):
            return Decimal(raw)
        money = _MONEY(raw)
        if money is not None:
            value = Decimal(money[3])
            return -value if bool(money[1]) != bool(money[2]) else value
    if not raw:
        raise InvalidInput("empty number")
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1].strip()
    if raw.startswith("-"):
        negative, raw = not negative, raw[1:].strip()
    for sign in _CURRENCY_SIGNS:
        raw = raw.replace(sign, "")
    raw = raw.strip()
    if raw.startswith("-"):  # $-12.00
        negative, raw = not negative, raw[1:]
    if _SCIENTIFIC.match(raw):
        value = Decimal(raw)
    else:
        value = parse_decimal(raw, decimal_comma=decimal_comma)
    if negative:
        value = -value
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -STORED_PLACES:
        value = derived(value)
    return check_storable(value)


def number_with_unit(text: str, *, decimal_comma: bool = False) -> tuple[Decimal, str | None]:
    """``10.00000000 USDT`` or ``0.5BTC`` as (10.00000000, ``USDT``); a bare number has no
    unit."""
    match = re.fullmatch(r"\s*([-+(]?[\d.,eE+\-\s]*\d\)?)\s*([A-Za-z][A-Za-z0-9]*)?\s*", text)
    if match is None:
        raise InvalidInput(f"not a number with a unit: {text.strip()!r}")
    unit = match[2].upper() if match[2] else None
    return number(match[1], decimal_comma=decimal_comma), unit


_DAY_PATTERNS = {
    "ymd": re.compile(r"^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$"),
    "mdy": re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$"),
    "dmy": re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$"),
}


@lru_cache(maxsize=8192)
def day(text: str, order: str = "ymd") -> date:
    """A date written in ``order`` (``ymd`` also takes ``YYYYMMDD``; ``mdy`` and ``dmy``
    take two-digit years as 20xx)."""
    raw = text.strip()
    match = _DAY_PATTERNS[order].match(raw)
    if match is None and order != "ymd":
        match = _DAY_PATTERNS["ymd"].match(raw)
        if match is not None and len(match[1]) == 4:
            order = "ymd"
    if match is None:
        raise InvalidInput(f"not a date: {raw!r} (expected {_ORDER_HINT[order]})")
    a, b, c = match[1], match[2], match[3]
    if order == "ymd":
        year, month, dom = int(a), int(b), int(c)
    else:
        year = int(c) + (2000 if len(c) == 2 else 0)
        month, dom = (int(a), int(b)) if order == "mdy" else (int(b), int(a))
    try:
        return date(year, month, dom)
    except ValueError:
        raise InvalidInput(f"not a date: {raw!r} (expected {_ORDER_HINT[order]})") from None


_ORDER_HINT = {"ymd": "YYYY-MM-DD", "mdy": "MM/DD/YYYY", "dmy": "DD-MM-YYYY"}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([AaPp][Mm])?$")


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def on_day(when: date) -> When:
    """A date without a time of day: midnight UTC, the trade date as written."""
    return When(datetime.combine(when, time(0), tzinfo=UTC), when, False)


@lru_cache(maxsize=16_384)
def moment(text: str, *, order: str = "ymd", tz: str = "UTC") -> When:
    """A date and time as exports write them, in the export's time zone ``tz``:
    ``2024-01-02 10:30:00``, ``2024-01-02T10:30:00.123Z``, ``2024-01-02 10:30:00 UTC``,
    ``"2023-01-16, 10:30:00"`` (IBKR), ``20230403;095853`` (IBKR Flex), ``1/5/2024 9:30``.
    An explicit offset or ``Z``/``UTC`` wins over ``tz``. A bare date is midnight UTC
    with no time of day."""
    raw = text.strip()
    fast = _fast_moment(raw, tz)
    if fast is not None:
        return fast
    if re.fullmatch(r"\d{8};\d{6}", raw):  # IBKR Flex
        raw = f"{raw[:4]}-{raw[4:6]}-{raw[6:8]} {raw[9:11]}:{raw[11:13]}:{raw[13:15]}"
    if raw[:4].isdigit() and len(raw) > 10 and raw[4] == "-" and "T" in raw[10:11]:
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"not a date and time: {raw!r}") from None
        return _localized(parsed, tz)
    explicit_utc = False
    for suffix in (" UTC", " GMT", "Z"):
        if raw.endswith(suffix):
            raw, explicit_utc = raw[: -len(suffix)].strip(), True
    parts = re.split(r"[ ,;T]+", raw, maxsplit=1)
    when_day = day(parts[0], order)
    if len(parts) == 1:
        return on_day(when_day)
    rest = parts[1].strip()
    offset = re.search(r"([+-]\d{2}:?\d{2})$", rest)
    if offset:
        rest = rest[: offset.start()].strip()
    match = _TIME.match(rest)
    if match is None:
        raise InvalidInput(f"not a time of day: {parts[1]!r} in {text.strip()!r}")
    hour, minute = int(match[1]), int(match[2])
    second = int(match[3] or 0)
    micro = int((match[4] or "0").ljust(6, "0")[:6])
    if match[5]:
        hour = hour % 12 + (12 if match[5].lower() == "pm" else 0)
    try:
        local = datetime.combine(when_day, time(hour, minute, second, micro))
    except ValueError:
        raise InvalidInput(f"not a time of day: {parts[1]!r} in {text.strip()!r}") from None
    if offset:
        local = local.replace(tzinfo=datetime.strptime(offset[1].replace(":", ""), "%z").tzinfo)
    elif explicit_utc:
        local = local.replace(tzinfo=UTC)
    return _localized(local, tz)


_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z| UTC)?").fullmatch


def _fast_moment(raw: str, tz: str) -> When | None:
    """The exchanges' own ``2024-01-02 10:30:00[.123][Z| UTC]``, parsed by C code."""
    match = _ISO_MOMENT(raw)
    if match is None:
        return None
    marker = match[2]
    text = raw[: -len(marker)] if marker else raw
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None  # the slow path names the problem
    if marker:
        parsed = parsed.replace(tzinfo=UTC)
    return _localized(parsed, tz)


def _localized(parsed: datetime, tz: str) -> When:
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(tz))
    # The trade date is the date where the trade happened (the export's zone).
    return When(parsed.astimezone(UTC), parsed.date(), True)


def json_number(value: object) -> Decimal | None:
    """A number of an API's JSON answer (a string or a float), or None when it is missing
    or not a finite number (a boolean is not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        found = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return found if found.is_finite() else None
