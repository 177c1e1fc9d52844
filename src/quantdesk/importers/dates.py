"""Dates and times as exports write them, always ending as aware UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import NamedTuple

from quantdesk.domain.errors import InvalidInput

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_date(text: str) -> date:
    """ISO ``2024-03-05``, US ``03/05/2024`` or European ``05.03.2024``."""
    raw = text.strip()
    try:
        if match := _US.match(raw):
            return date(int(match[3]), int(match[1]), int(match[2]))
        if match := _DOTTED.match(raw):
            return date(int(match[3]), int(match[2]), int(match[1]))
        return date.fromisoformat(raw) if _ISO.match(raw) else _fail(raw)
    except ValueError:
        return _fail(raw)


class When(NamedTuple):
    """When an entry happened: the instant in UTC, the trade date as written (in the
    source's own time zone), and whether a time of day was given at all."""

    at: datetime
    on: date
    timed: bool


def parse_when(text: str) -> When:
    """A date (midnight UTC, no time of day) or an ISO date-time (a time without an
    offset is UTC); the trade date is the date as written."""
    raw = text.strip()
    if len(raw) > 10 and ("T" in raw or " " in raw) and raw[4] == "-":
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            _fail(raw)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            return When(moment.astimezone(UTC), moment.date(), True)
        except OverflowError:  # an offset that takes it past year 1 or 9999
            _fail(raw)
    day = parse_date(raw)
    return When(datetime.combine(day, time(0), tzinfo=UTC), day, False)


def _fail(raw: str) -> date:
    raise InvalidInput(f"not a date: {raw!r} (use YYYY-MM-DD)")
