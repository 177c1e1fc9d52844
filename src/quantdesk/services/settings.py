"""Per-user settings: the base currency, the analytics' default benchmark and risk-free
rate, and the price providers' API keys.

The keys are secrets: they are stored, and answered only as whether each is set and its
last four characters (:class:`KeyState`), never in clear. They are stored as given for
now: encrypting secrets at rest is issue 10's work (it will wrap the store's reads and
writes of the ``user_settings`` key columns).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from quantdesk.domain.errors import InvalidFields, InvalidInput
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.services.prices import BASE_CURRENCY

DEFAULT_BENCHMARK = "SPY"
DEFAULT_RISK_FREE = Decimal("0.04")
#: The risk-free rate is a fraction per year within these bounds (inclusive).
RISK_FREE_MIN, RISK_FREE_MAX = Decimal("-0.05"), Decimal("0.5")
#: The provider keys a user may set: the setting's name and the provider's.
PROVIDER_KEYS = {"alpha_vantage_key": "Alpha Vantage", "coingecko_key": "CoinGecko"}
_KEY = re.compile(r"^[\x21-\x7e]{8,200}$")  # visible ASCII, no spaces

_ISO_4217_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
    MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
    PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST
    XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""
#: The active ISO 4217 currency codes (funds and precious metals excluded).
ISO_4217 = frozenset(_ISO_4217_CODES.split())


@dataclass(frozen=True)
class KeyState:
    """What the API tells about a stored secret: whether it is set and how it ends."""

    set: bool
    last4: str | None


@dataclass(frozen=True)
class UserSettings:
    """A user's settings, the app's defaults filling what they did not choose."""

    base_currency: str = BASE_CURRENCY
    benchmark: str = DEFAULT_BENCHMARK
    risk_free: Decimal = DEFAULT_RISK_FREE
    alpha_vantage_key: str | None = None
    coingecko_key: str | None = None

    def key_state(self, name: str) -> KeyState:
        """Whether the key ``name`` (one of PROVIDER_KEYS) is set, and its last 4."""
        key = getattr(self, name)
        return KeyState(True, key[-4:]) if key else KeyState(False, None)


class SettingsStore(Protocol):
    def values(self) -> dict[str, Any]: ...
    def save(self, values: dict[str, Any], now: datetime) -> None: ...


class HasSettings(Protocol):
    @property
    def settings(self) -> SettingsStore: ...


class SettingsUnitOfWork(Protocol):
    def __call__(self, *, commit: bool = True) -> AbstractContextManager[HasSettings]: ...


def read_settings(uow: SettingsUnitOfWork) -> UserSettings:
    """The user's settings (the defaults for what they never set)."""
    with uow(commit=False) as store:
        return UserSettings(**store.settings.values())


def _risk_free(value: object) -> Decimal:
    try:
        rate = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput("a fraction per year, such as 0.04 for 4%") from None
    if not rate.is_finite() or not RISK_FREE_MIN <= rate <= RISK_FREE_MAX:
        raise InvalidInput(
            f"a fraction per year between {RISK_FREE_MIN} and {RISK_FREE_MAX} "
            "(-5% to 50%), such as 0.04 for 4%"
        )
    if -rate.as_tuple().exponent > 8:  # type: ignore[operator]
        raise InvalidInput("at most 8 decimal places (0.0425 is 4.25%)")
    return rate.normalize() if rate else Decimal(0)


def _currency(value: object) -> str:
    code = str(value).strip().upper()
    if code not in ISO_4217:
        raise InvalidInput(f"not an ISO 4217 currency code: {str(value).strip()!r} (USD, EUR...)")
    return code


def _key(value: object, provider: str) -> str:
    key = str(value).strip()
    if not _KEY.match(key):
        raise InvalidInput(
            f"a {provider} API key is 8 to 200 characters without spaces (paste it as given)"
        )
    return key


def _clean(name: str, value: object) -> object:
    """The value to store for the setting ``name``; None clears it (the default again)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if name == "base_currency":
        return _currency(value)
    if name == "benchmark":
        return normalize_symbol(str(value))
    if name == "risk_free":
        return _risk_free(value)
    return _key(value, PROVIDER_KEYS[name])


def update_settings(
    uow: SettingsUnitOfWork, changes: Mapping[str, object], *, clock: Callable[[], datetime]
) -> UserSettings:
    """Apply ``changes`` (setting -> new value; None or blank: back to the default, or
    the key cleared) after checking every one: any bad value refuses them all, naming
    each bad field."""
    known = ("base_currency", "benchmark", "risk_free", *PROVIDER_KEYS)
    values: dict[str, Any] = {}
    bad: list[tuple[str | None, str]] = []
    for name, value in changes.items():
        if name not in known:
            bad.append((name, "not a setting"))
            continue
        try:
            values[name] = _clean(name, value)
        except InvalidInput as error:
            bad.append((name, str(error)))
    if bad:
        raise InvalidFields(bad)
    with uow() as store:
        if values:
            store.settings.save(values, clock())
        return UserSettings(**store.settings.values())


class SettingsCache:
    """Users' settings by id, for requests that only need their defaults (a GET
    /analytics answered from memory reads no database). One is kept ``ttl`` seconds: a
    change made through another process is seen within that; one made through this
    process is seen at once (:meth:`forget`)."""

    def __init__(
        self, ttl: float = 2.0, *, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self.items: dict[int, tuple[UserSettings, float]] = {}
        #: Bumped by every forget(): a read that began before one is not kept.
        self.forgets = 0
        self.lock = threading.Lock()

    def get(self, user_id: int) -> UserSettings | None:
        with self.lock:
            found = self.items.get(user_id)
            if found is None or not 0 <= self.clock() - found[1] < self.ttl:
                return None
            return found[0]

    def load(self, user_id: int, read: Callable[[], UserSettings]) -> UserSettings:
        """The cached settings, else ``read()`` (kept unless forgotten meanwhile)."""
        found = self.get(user_id)
        if found is not None:
            return found
        mark = self.mark()
        settings = read()
        self.offer(user_id, settings, mark)
        return settings

    def mark(self) -> int:
        """Taken before reading settings (:meth:`offer`): the count of forgets so far."""
        with self.lock:
            return self.forgets

    def offer(self, user_id: int, settings: UserSettings, mark: int) -> None:
        """Keep settings read since ``mark`` was taken (by :meth:`load`, or with the
        caller's token), unless some user's settings were forgotten since: the read may
        have begun before that change."""
        with self.lock:
            if self.forgets == mark:
                if len(self.items) >= self.size:
                    self.items.clear()
                self.items[user_id] = (settings, self.clock())

    def forget(self, user_id: int) -> None:
        with self.lock:
            self.items.pop(user_id, None)
            self.forgets += 1
