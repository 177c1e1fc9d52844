"""The simulated market: deterministic, on the right calendars, and statistically plausible."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from quantdesk.domain.errors import UnknownSymbol
from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import History, MarketSymbol, fx_pair
from quantdesk.market.providers.simulated import SimulatedMarket, asset_class_of, universe

SPY = MarketSymbol("SPY", AssetType.ETF)
QQQ = MarketSymbol("QQQ", AssetType.ETF)
TLT = MarketSymbol("TLT", AssetType.ETF)
AGG = MarketSymbol("AGG", AssetType.ETF)
AAPL = MarketSymbol("AAPL", AssetType.STOCK)
BTC = MarketSymbol("BTC", AssetType.CRYPTO)
ETH = MarketSymbol("ETH", AssetType.CRYPTO)
EURUSD = fx_pair("EUR", "USD")
USDEUR = fx_pair("USD", "EUR")

FIVE_YEARS = (date(2020, 1, 1), date(2024, 12, 31))


@pytest.fixture(scope="module")
def market() -> SimulatedMarket:
    return SimulatedMarket(seed=7)


def closes(history: History) -> dict[date, float]:
    return {bar.day: float(bar.close) for bar in history.bars}


def log_returns(market: SimulatedMarket, symbol: MarketSymbol, days: list[date]) -> np.ndarray:
    by_day = closes(market.history(symbol, days[0], days[-1]))
    return np.diff(np.log([by_day[day] for day in days]))


def sessions(market: SimulatedMarket, start: date, end: date) -> list[date]:
    return [bar.day for bar in market.history(SPY, start, end).bars]


def annual_vol(returns: np.ndarray, periods_per_year: int) -> float:
    return float(returns.std() * np.sqrt(periods_per_year))


def test_same_seed_gives_same_closes_whatever_was_asked_before(market: SimulatedMarket) -> None:
    """Two instances with one seed agree bit for bit, whichever ranges they generated first."""
    expected = market.history(SPY, date(2021, 3, 1), date(2021, 6, 30))
    other = SimulatedMarket(seed=7)
    other.history(BTC, date(2026, 1, 1), date(2026, 12, 31))
    other.history(AAPL, date(2003, 1, 1), date(2003, 2, 1))
    wide = other.history(SPY, date(2010, 1, 1), date(2026, 1, 1))
    actual = [bar for bar in wide.bars if date(2021, 3, 1) <= bar.day <= date(2021, 6, 30)]
    assert list(expected.bars) == actual


def test_different_seeds_give_different_closes(market: SimulatedMarket) -> None:
    """Another seed is another market."""
    ours = market.history(SPY, date(2024, 1, 1), date(2024, 1, 31)).bars
    theirs = SimulatedMarket(seed=8).history(SPY, date(2024, 1, 1), date(2024, 1, 31)).bars
    assert [bar.day for bar in ours] == [bar.day for bar in theirs]
    assert [bar.close for bar in ours] != [bar.close for bar in theirs]


def test_every_instrument_closes_at_its_anchor_price_on_the_anchor_day() -> None:
    """Whatever the seed, SPY closes at its anchor on 2025-06-30, so levels stay realistic."""
    for seed in (0, 7, 123):
        bars = SimulatedMarket(seed).history(SPY, date(2025, 6, 30), date(2025, 6, 30)).bars
        assert [Decimal("617.85")] == [bar.close for bar in bars]


def test_stocks_close_only_on_nyse_sessions(market: SimulatedMarket) -> None:
    """No bar on a weekend, Independence Day or Christmas; one on Christmas Eve (early close)."""
    days = [bar.day for bar in market.history(AAPL, date(2025, 6, 1), date(2025, 12, 31)).bars]
    assert [] == [day for day in days if day.weekday() >= 5]
    assert date(2025, 7, 4) not in days
    assert date(2025, 12, 25) not in days
    assert date(2025, 12, 24) in days


def test_crypto_closes_every_calendar_day(market: SimulatedMarket) -> None:
    """A coin has a close on every day, weekends and holidays included."""
    days = [bar.day for bar in market.history(BTC, date(2025, 12, 1), date(2025, 12, 31)).bars]
    assert [date(2025, 12, 1) + timedelta(days=n) for n in range(31)] == days


def test_fx_closes_every_weekday(market: SimulatedMarket) -> None:
    """An FX pair closes Monday to Friday, on exchange holidays too."""
    days = [bar.day for bar in market.history(EURUSD, date(2025, 12, 20), date(2025, 12, 31)).bars]
    expected = [date(2025, 12, d) for d in (22, 23, 24, 25, 26, 29, 30, 31)]
    assert expected == days


def test_nothing_trades_before_listing(market: SimulatedMarket) -> None:
    """Bitcoin's first simulated close is on its listing day, 2014-09-17."""
    bars = market.history(BTC, date(2010, 1, 1), date(2014, 9, 18)).bars
    assert [date(2014, 9, 17), date(2014, 9, 18)] == [bar.day for bar in bars]


def test_closes_are_positive_decimals_rounded_per_asset_class(market: SimulatedMarket) -> None:
    """Stocks close in cents, FX to six places, and no close is zero or negative."""
    stock = market.history(AAPL, date(2000, 1, 1), date(2026, 11, 24)).bars
    fx = market.history(EURUSD, date(2026, 1, 1), date(2026, 1, 31)).bars
    assert [] == [bar for bar in stock if bar.close <= 0]
    assert {-2} == {bar.close.as_tuple().exponent for bar in stock if bar.close >= 1}
    assert {-6} == {bar.close.as_tuple().exponent for bar in fx}
    assert "simulated" == market.history(AAPL, date(2026, 1, 5), date(2026, 1, 5)).source


def test_annualized_volatilities_are_realistic(market: SimulatedMarket) -> None:
    """Over five years: SPY near 16%, bonds below it, bitcoin above 40% and twice SPY."""
    days = sessions(market, *FIVE_YEARS)
    spy = annual_vol(log_returns(market, SPY, days), 252)
    btc_days = [bar.day for bar in market.history(BTC, *FIVE_YEARS).bars]
    btc = annual_vol(log_returns(market, BTC, btc_days), 365)
    assert 0.10 < spy < 0.30
    assert btc > 0.4
    assert btc > 2 * spy
    assert annual_vol(log_returns(market, TLT, days), 252) < spy
    assert annual_vol(log_returns(market, AGG, days), 252) < spy


def test_correlations_follow_the_factor_model(market: SimulatedMarket) -> None:
    """Coins move together, SPY with QQQ, and bitcoin only loosely with SPY."""
    days = sessions(market, *FIVE_YEARS)
    coin_days = [bar.day for bar in market.history(BTC, *FIVE_YEARS).bars]

    def correlation(a: MarketSymbol, b: MarketSymbol, on: list[date]) -> float:
        return float(np.corrcoef(log_returns(market, a, on), log_returns(market, b, on))[0, 1])

    assert correlation(BTC, ETH, coin_days) > 0.5
    assert correlation(SPY, QQQ, days) > 0.7
    assert correlation(BTC, SPY, days) < 0.5


def test_equity_returns_have_fat_tails(market: SimulatedMarket) -> None:
    """SPY's daily log returns over ten years show excess kurtosis (Student-t shocks)."""
    returns = log_returns(market, SPY, sessions(market, date(2015, 1, 1), date(2024, 12, 31)))
    centred = returns - returns.mean()
    excess_kurtosis = (centred**4).mean() / centred.var() ** 2 - 3
    assert excess_kurtosis > 0.5


def test_quote_during_a_session_moves_away_from_the_previous_close(
    market: SimulatedMarket,
) -> None:
    """At 10:30 New York time SPY is quoted off Monday's close, as of that minute."""
    now = datetime(2026, 11, 24, 15, 30, 42, tzinfo=UTC)
    quote = market.quotes([SPY], now=now).quotes["SPY"]
    previous = market.history(SPY, date(2026, 11, 23), date(2026, 11, 23)).bars[0].close
    assert previous != quote.price
    assert datetime(2026, 11, 24, 15, 30, tzinfo=UTC) == quote.as_of
    assert (now, "simulated", "USD") == (quote.fetched_at, quote.source, quote.currency)
    assert "simulated market: not real prices" == quote.note


def test_quote_on_a_saturday_is_fridays_close_as_of_fridays_close(
    market: SimulatedMarket,
) -> None:
    """With NYSE closed, SPY's quote is Friday's close, as of 16:00 New York on Friday."""
    quote = market.quotes([SPY], now=datetime(2026, 11, 21, 15, 0, tzinfo=UTC)).quotes["SPY"]
    friday = market.history(SPY, date(2026, 11, 20), date(2026, 11, 20)).bars[0].close
    assert friday == quote.price
    assert datetime(2026, 11, 20, 21, 0, tzinfo=UTC) == quote.as_of


def test_quote_after_an_early_close_is_as_of_the_early_close(market: SimulatedMarket) -> None:
    """On Christmas Eve NYSE closes at 13:00 New York; a later quote is as of that time."""
    quote = market.quotes([SPY], now=datetime(2025, 12, 24, 19, 0, tzinfo=UTC)).quotes["SPY"]
    assert datetime(2025, 12, 24, 18, 0, tzinfo=UTC) == quote.as_of


def test_quotes_report_unknown_symbols_as_errors_only(market: SimulatedMarket) -> None:
    """Unknown symbols (or a coin asked for as a stock) are errors; the rest priced above 0."""
    unknown = [MarketSymbol("NOPE", AssetType.STOCK), MarketSymbol("ETH", AssetType.STOCK)]
    known = [SPY, BTC, USDEUR, MarketSymbol("BRK.B", AssetType.STOCK), fx_pair("EUR", "JPY")]
    batch = market.quotes(unknown + known, now=datetime(2026, 11, 24, 15, 30, tzinfo=UTC))
    assert {"NOPE", "ETH"} == set(batch.errors)
    assert all(isinstance(error, UnknownSymbol) for error in batch.errors.values())
    assert {"SPY", "BTC", "USDEUR", "BRK.B", "EURJPY"} == set(batch.quotes)
    assert [] == [quote for quote in batch.quotes.values() if quote.price <= 0]


def test_inverse_fx_pair_is_the_reciprocal_of_the_pair(market: SimulatedMarket) -> None:
    """USDEUR is 1 / EURUSD on every day, within the rounding of six places."""
    pair = market.history(EURUSD, date(2025, 1, 1), date(2025, 3, 31)).bars
    inverse = market.history(USDEUR, date(2025, 1, 1), date(2025, 3, 31)).bars
    assert [bar.day for bar in pair] == [bar.day for bar in inverse]
    gaps = [abs(i.close - 1 / p.close) for p, i in zip(pair, inverse, strict=True)]
    assert max(gaps) <= Decimal("0.000001")
    assert "EUR" == market.history(USDEUR, date(2025, 1, 2), date(2025, 1, 2)).currency


def test_unknown_symbol_history_raises(market: SimulatedMarket) -> None:
    """A symbol outside the universe is UnknownSymbol from the simulated provider."""
    with pytest.raises(UnknownSymbol) as raised:
        market.history(MarketSymbol("ZZZZ", AssetType.STOCK), date(2025, 1, 1), date(2025, 2, 1))
    assert "simulated" == raised.value.provider


def test_resolve_maps_aliases_to_the_canonical_symbol(market: SimulatedMarket) -> None:
    """BRK.B resolves to BRK-B; the answer names the simulated universe."""
    resolution = market.resolve(MarketSymbol("BRK.B", AssetType.STOCK))
    assert ("simulated", "BRK-B", "simulated universe") == (
        resolution.provider,
        resolution.provider_id,
        resolution.reason,
    )


def test_supports_every_asset_type_but_unknown(market: SimulatedMarket) -> None:
    """Whether a name is simulated is decided by resolve, not by supports."""
    assert market.supports(MarketSymbol("ZZZZ", AssetType.STOCK))
    assert not market.supports(MarketSymbol("SPY", AssetType.UNKNOWN))


def test_universe_lists_instruments_with_type_and_currency() -> None:
    """The universe holds ETFs, funds, stocks, coins and FX pairs both ways."""
    listed = {symbol.symbol: symbol for symbol in universe()}
    assert MarketSymbol("SPY", AssetType.ETF, "USD") == listed["SPY"]
    assert MarketSymbol("VTSAX", AssetType.FUND, "USD") == listed["VTSAX"]
    assert MarketSymbol("USDJPY", AssetType.CASH, "JPY") == listed["USDJPY"]
    assert MarketSymbol("JPYUSD", AssetType.CASH, "USD") == listed["JPYUSD"]
    assert AssetType.CRYPTO == asset_class_of("usdc")
    expected = {
        AssetType.ETF: 19,
        AssetType.FUND: 4,
        AssetType.STOCK: 35,
        AssetType.CRYPTO: 12,
        AssetType.CASH: 12,
    }
    assert expected == Counter(symbol.asset_type for symbol in listed.values())


def test_concurrent_queries_agree_with_sequential_ones() -> None:
    """Threads generating the same years at once see the same closes as one thread."""
    expected = SimulatedMarket(seed=11).history(QQQ, date(2011, 1, 1), date(2012, 12, 31))
    shared = SimulatedMarket(seed=11)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: shared.history(QQQ, date(2011, 1, 1), date(2012, 12, 31)), range(8))
        )
    assert [expected] * 8 == results
