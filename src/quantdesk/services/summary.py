"""An optional plain-language summary of the trade suggestions, by a language model.

Off unless the deployment sets ``QUANTDESK_LLM_BASE_URL`` (never per user: a per-user URL
would let any user make the server call any address). The model is any OpenAI-compatible
server (llama.cpp, Ollama, vLLM ...): one ``POST {base_url}/chat/completions``.

Every number shown comes from the engine. The *number guard* (:func:`check_numbers`) reads
each number in the model's text and refuses the summary unless the number is in the answer:

- Numbers: integers, decimals, thousands separators (``1,234.56``), signs, currency signs
  (``-$499``), percentages (``5.1%``, ``5 percent``) and ``k``/``M``/``bn``/``million``
  suffixes. Digits glued after letters are part of a name (``Q3``, ``VT2``) and not read,
  nor are the index names in ``INDEX_NAMES`` (``S&P 500``). Spelled-out numbers are not
  read: the prompt asks for digits.
- A number matches an engine number (any int, float or decimal string in the answer, or
  a number inside its texts such as a rationale's ``71%``) when it equals it rounded to
  the decimals written (``1,235`` or ``1,234.5`` for ``1234.5``; never coarser than units,
  so ``1.2k`` must be 1200); a percentage matches 100 times it (``5%``, ``5.1%``, ``5.12%``
  for ``0.0512``). An unsigned number may be an engine number's absolute value (a loss
  ``-499`` said as ``499``); a negative one must be negative in the engine.
- A bare integer 0..10 (no sign, decimals, ``%`` or currency; a count as in ``3 trades``)
  must equal an engine number exactly or the length of a list in the answer.
- Dates (``2026-12-06``, ``December 6, 2026``, ``6 Dec``, ``12/06/2026`` either way round)
  must be dates of the answer; a bare year 1900..2100 must be the year of one of them.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import httpx

from quantdesk.domain.errors import InvalidInput, ProviderUnavailable

SYSTEM_PROMPT = (
    "You summarize a portfolio's trade suggestions for the investor who owns it. The user "
    "message is the suggestions as JSON. Write plainly, in at most 150 words, without "
    "headings or tables. Use only numbers present in the JSON, written in digits as they "
    "appear there (a fraction such as 0.0512 may be written as 5.12%); never compute, "
    "estimate or invent a number. Describe only the listed suggestions (trades, tax-loss "
    "harvesting candidates, alerts) and give no advice beyond them."
)
#: Index names whose number is part of the name, not a figure.
INDEX_NAMES = re.compile(
    r"S&P\s?(?:500|400|600|100)|Russell\s?(?:1000|2000|3000)|FTSE\s?(?:100|250)"
    r"|Nasdaq[-\s]?100|Nikkei\s?225|Euro\s?Stoxx\s?50|Stoxx\s?600|CAC\s?40|DAX\s?40"
    r"|ASX\s?200|Dow\s?(?:Jones\s?)?30",
    re.IGNORECASE,
)
_MONTH = (
    r"(?P<{0}>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b\.?"
)
_DAY = r"(?P<{0}>\d{{1,2}})(?:st|nd|rd|th)?(?!\d)"
_TOKEN = re.compile(
    r"(?<![\w.])(?:"
    r"(?P<iso>\d{4})-(?P<iso_m>\d{2})-(?P<iso_d>\d{2})(?!\d)"
    r"|(?P<sl_a>\d{1,2})/(?P<sl_b>\d{1,2})/(?P<sl_y>\d{4})(?!\d)"
    rf"|{_MONTH.format('md_m')}\s{_DAY.format('md_d')}(?:,?\s(?P<md_y>\d{{4}})(?!\d))?"
    rf"|{_DAY.format('dm_d')}\s{_MONTH.format('dm_m')}(?:,?\s(?P<dm_y>\d{{4}})(?!\d))?"
    r"|(?P<sign>[-\u2212+]?)(?P<cur>[$€£¥]?)(?P<sign2>[-\u2212]?)"
    r"(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?!\d)"
    r"(?P<pct>\s?%|\s(?:percent|per\scent)\b)?"
    r"(?P<scale>\s?(?:k|K|M|mn|bn|thousand|million|billion)\b)?)",
)
_SCALES = {"k": 3, "K": 3, "thousand": 3, "M": 6, "mn": 6, "million": 6, "bn": 9, "billion": 9}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


@dataclass(frozen=True)
class SummaryConfig:
    """Where the model is; read from the deployment's environment by :meth:`from_env`."""

    base_url: str
    model: str = "local-model"
    api_key: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SummaryConfig | None:
        """The configuration, or None (the feature is off) when no base URL is set."""
        base_url = env.get("QUANTDESK_LLM_BASE_URL", "").strip()
        if not base_url:
            return None
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise InvalidInput(
                "QUANTDESK_LLM_BASE_URL must be an http(s) URL with a host, such as "
                f"http://127.0.0.1:8080/v1 (got scheme {parts.scheme or 'none'!r}"
                f"{'' if parts.hostname else ' and no host'})"
            )
        if parts.query or parts.fragment:
            raise InvalidInput("QUANTDESK_LLM_BASE_URL must not have a query or fragment")
        raw_timeout = env.get("QUANTDESK_LLM_TIMEOUT", "").strip() or "30"
        try:
            timeout = float(raw_timeout)
        except ValueError:
            timeout = math.nan
        if not math.isfinite(timeout) or timeout <= 0:
            raise InvalidInput(
                f"QUANTDESK_LLM_TIMEOUT must be a positive number of seconds, not {raw_timeout!r}"
            )
        return cls(
            base_url=base_url.rstrip("/"),
            model=env.get("QUANTDESK_LLM_MODEL", "").strip() or "local-model",
            api_key=env.get("QUANTDESK_LLM_API_KEY", "").strip() or None,
            timeout=timeout,
        )

    @property
    def endpoint(self) -> str:
        """The chat completions URL, without any user:password part (safe to show)."""
        parts = urlsplit(self.base_url)
        netloc = parts.netloc.rpartition("@")[2]
        return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}/chat/completions"

    def __repr__(self) -> str:
        key = None if self.api_key is None else "'***'"
        return (
            f"SummaryConfig(endpoint={self.endpoint!r}, model={self.model!r}, "
            f"api_key={key}, timeout={self.timeout!r})"
        )


@dataclass(frozen=True)
class Summary:
    text: str
    model: str
    endpoint: str


class SummaryUnavailable(ProviderUnavailable):
    """The model could not answer: down, timed out, non-2xx, or a malformed answer. (A
    ProviderUnavailable, so the API's problem table answers it with a 503.)"""


class UnsupportedNumber(InvalidInput):
    """The model's text holds a number the engine did not give; the summary is not shown."""

    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(
            f"the summary mentions {number!r}, which is not a number of the suggestions; "
            "the summary is not shown"
        )


@dataclass(frozen=True)
class Mention:
    """A number or date as written in a text: ``value`` is the number (5.1 for ``5.1%``,
    1200 for ``1.2k``), ``dates`` the (year or None, month, day) it may mean."""

    text: str
    value: Decimal | None = None
    percent: bool = False
    bare: bool = False  # no sign, currency, decimals, % or suffix: may be a count or a year
    tolerance: Decimal = Decimal(0)  # half a unit of the last digit written
    dates: tuple[tuple[int | None, int, int], ...] = field(default=())


def numbers_in_text(text: str) -> list[Mention]:
    """Every number and date in ``text``, in order (see the module's docstring)."""
    text = INDEX_NAMES.sub(lambda m: " " * len(m.group()), text)
    found: list[Mention] = []
    for m in _TOKEN.finditer(text):
        g = m.groupdict()
        written = m.group().strip()
        if g["iso"]:
            found.append(
                Mention(written, dates=((int(g["iso"]), int(g["iso_m"]), int(g["iso_d"])),))
            )
        elif g["sl_y"]:
            a, b, y = int(g["sl_a"]), int(g["sl_b"]), int(g["sl_y"])
            found.append(Mention(written, dates=((y, a, b), (y, b, a))))
        elif g["md_m"] or g["dm_m"]:
            month = _MONTHS[(g["md_m"] or g["dm_m"])[:3].lower()]
            year = g["md_y"] or g["dm_y"]
            day = int(g["md_d"] or g["dm_d"])
            found.append(Mention(written, dates=((int(year) if year else None, month, day),)))
        else:
            number = g["num"].replace(",", "")
            decimals = len(number.partition(".")[2])
            shift = _SCALES[g["scale"].strip()] if g["scale"] else 0
            negative = bool(g["sign"] in {"-", "\u2212"} or g["sign2"])
            value = Decimal(number).scaleb(shift) * (-1 if negative else 1)
            bare = not (g["sign"] or g["sign2"] or g["cur"] or g["pct"] or g["scale"] or decimals)
            tolerance = Decimal(5).scaleb(min(shift - decimals, 0) - 1)  # 1.2k: 1200 ± 0.5
            found.append(Mention(written, value, bool(g["pct"]), bare, tolerance))
    return found


@dataclass
class _Facts:
    numbers: set[Decimal] = field(default_factory=set)
    lengths: set[int] = field(default_factory=set)
    dates: set[date] = field(default_factory=set)

    def add(self, item: object) -> None:
        if isinstance(item, bool) or item is None:
            return
        if isinstance(item, Mapping):
            for value in item.values():
                self.add(value)
        elif isinstance(item, list | tuple):
            self.lengths.add(len(item))
            for value in item:
                self.add(value)
        elif isinstance(item, int | float | Decimal):
            number = Decimal(str(item)) if isinstance(item, float) else Decimal(item)
            if number.is_finite():
                self.numbers.add(number)
        elif isinstance(item, date):
            self.dates.add(item)
        elif isinstance(item, str):
            self._add_text(item)

    def _add_text(self, text: str) -> None:
        try:
            number = Decimal(text)
        except InvalidOperation:
            pass
        else:
            if number.is_finite():
                self.numbers.add(number)
            return
        for mention in numbers_in_text(text):
            for y, mo, d in mention.dates:
                with contextlib.suppress(ValueError):  # year 1: a day and month, no year
                    self.dates.add(date(y or 1, mo, d))
            if mention.value is not None:
                self.numbers.add(mention.value)
                if mention.percent:
                    self.numbers.add(mention.value.scaleb(-2))

    def supports(self, m: Mention) -> bool:
        if m.dates:
            return any(
                (y is None or y == d.year) and (mo, dy) == (d.month, d.day)
                for y, mo, dy in m.dates
                for d in self.dates
            )
        if m.value is None:
            return False
        if m.bare and 0 <= m.value <= 10:
            return m.value in self.lengths or any(m.value == abs(x) for x in self.numbers)
        if m.bare and 1900 <= m.value <= 2100 and any(m.value == d.year for d in self.dates):
            return True
        for x in self.numbers:
            if m.value < 0 <= x:
                continue
            engine = abs(x).scaleb(2) if m.percent else abs(x)
            if abs(engine - abs(m.value)) <= m.tolerance:
                return True
        return False


def check_numbers(text: str, answer: Mapping[str, Any]) -> None:
    """Raise :class:`UnsupportedNumber` naming the first number or date in ``text`` that is
    not one of ``answer``'s (rules in the module's docstring)."""
    facts = _Facts()
    facts.add(answer)
    for mention in numbers_in_text(text):
        if not facts.supports(mention):
            raise UnsupportedNumber(mention.text)


def summarize(
    answer: Mapping[str, Any], config: SummaryConfig, *, client: httpx.Client | None = None
) -> Summary:
    """Ask the model for a summary of ``answer`` (the suggestions' JSON) and guard it.

    Raises :class:`SummaryUnavailable` when the model cannot answer and
    :class:`UnsupportedNumber` when its text holds a number the engine did not give.
    """
    endpoint = config.endpoint
    url = config.base_url.rstrip("/") + "/chat/completions"
    body = {
        "model": config.model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": json.dumps(answer, separators=(",", ":"), default=str)},
        ],
    }
    headers = {"Accept": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"

    def fail(reason: str) -> SummaryUnavailable:
        if config.api_key:
            reason = reason.replace(config.api_key, "***")
        return SummaryUnavailable(f"the language model at {endpoint} {reason[:300]}")

    try:
        if client is None:
            with httpx.Client() as own:
                response = own.post(url, json=body, headers=headers, timeout=config.timeout)
        else:
            response = client.post(url, json=body, headers=headers, timeout=config.timeout)
    except httpx.TimeoutException:
        raise fail(f"did not answer within {config.timeout:g} s") from None
    except httpx.ConnectError:
        raise fail("could not be reached (connection failed)") from None
    except httpx.HTTPError as error:
        raise fail(f"failed ({type(error).__name__})") from None
    if not response.is_success:
        raise fail(f"answered HTTP {response.status_code}{_error_detail(response)}")
    try:
        payload = response.json()
        text = payload["choices"][0]["message"]["content"]
    except (ValueError, LookupError, TypeError):
        raise fail("answered with malformed JSON (no choices[0].message.content)") from None
    if not isinstance(text, str) or not text.strip():
        raise fail("answered with an empty summary")
    check_numbers(text, answer)
    model = payload.get("model")
    return Summary(text.strip(), model if isinstance(model, str) else config.model, endpoint)


def _error_detail(response: httpx.Response) -> str:
    """The OpenAI-shaped ``error.message`` of a failed answer, if there is one (the caller
    redacts the key, then shortens it)."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, LookupError, TypeError):
        return ""
    return f": {message}" if isinstance(message, str) and message else ""
