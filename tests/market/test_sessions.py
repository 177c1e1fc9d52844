"""Market hours: a quote taken while the NYSE is closed stays fresh until it reopens."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import MarketSymbol
from quantdesk.market.cache import CacheBackend, PriceCache
from quantdesk.market.sessions import UsEquityHours
from quantdesk.testing import FakeProvider
from tests.market.conftest import FakeClock

SPY = MarketSymbol("SPY", AssetType.ETF)
SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
MONDAY_OPEN = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)


def test_closed_market_reopens_at_the_next_session() -> None:
    """On a Saturday the NYSE reopens on Monday at 9:30 New York time."""
    assert MONDAY_OPEN == UsEquityHours().closed_until(SPY, SATURDAY)


def test_open_market_and_unknown_calendars_give_no_reopening() -> None:
    """In session, and for funds, coins or other currencies, only the TTL applies."""
    hours = UsEquityHours()
    tuesday_noon_new_york = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert hours.closed_until(SPY, tuesday_noon_new_york) is None
    for symbol in (
        MarketSymbol("VTSAX", AssetType.FUND),
        MarketSymbol("BTC", AssetType.CRYPTO),
        MarketSymbol("SAP", AssetType.STOCK, "EUR"),
    ):
        assert hours.closed_until(symbol, SATURDAY) is None


def test_thanksgiving_is_closed_and_the_early_close_next_day_is_honoured() -> None:
    """Thanksgiving 2026 is closed; the next day closes at 13:00 New York (18:00 UTC)."""
    hours = UsEquityHours()
    thanksgiving = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    friday_open = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    assert friday_open == hours.closed_until(SPY, thanksgiving)
    after_early_close = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)
    assert MONDAY_OPEN == hours.closed_until(SPY, after_early_close)


def test_weekend_quote_is_not_fetched_again_until_monday(cache_backend: CacheBackend) -> None:
    """A stock quote from Saturday serves all weekend; Monday's open fetches a new one."""
    yahoo = FakeProvider("yahoo", {"SPY": Decimal("640.5"), "BTC": Decimal("91000")})
    clock = FakeClock(SATURDAY)
    cache = PriceCache([yahoo], cache_backend, clock=clock, hours=UsEquityHours())
    btc = MarketSymbol("BTC", AssetType.CRYPTO)
    cache.quotes([SPY])
    cache.quotes([btc])
    clock.now = datetime(2026, 11, 30, 14, 29, tzinfo=UTC)
    cache.quotes([SPY])  # still the weekend's price: no call
    cache.quotes([btc])  # coins trade all weekend: refreshed after the TTL
    clock.now = MONDAY_OPEN
    cache.quotes([SPY])
    assert [["SPY"], ["SPY", "BTC"], ["SPY", "BTC"], ["SPY", "BTC"]] == yahoo.quote_calls


def test_quote_taken_just_after_the_close_is_not_final() -> None:
    """For 20 minutes after the bell the closing auction may still print: TTL only."""
    hours = UsEquityHours()
    friday_close = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
    assert hours.closed_until(SPY, friday_close.replace(minute=5)) is None
    monday_open = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
    assert monday_open == hours.closed_until(SPY, friday_close.replace(minute=25))
