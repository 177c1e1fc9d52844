"""Portfolio analytics from the stored ledger and closes: hand-worked numbers."""

from __future__ import annotations

import io
import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from quantdesk.domain.errors import InvalidInput, ProviderUnavailable
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.market import Bar, History, MarketSymbol
from quantdesk.market.cache import PriceCache
from quantdesk.market.memory import MemoryBackend
from quantdesk.services import analytics, portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.portfolio import import_price_stream
from quantdesk.store.market_data import SqlMarketData
from quantdesk.store.repositories import LedgerRepository
from quantdesk.store.unit_of_work import SqlUnitOfWork
from quantdesk.testing import FakeProvider
from tests.conftest import clock

TRADES = """date,type,symbol,quantity,price,fees,amount,asset_type
2026-11-02,deposit,,,,,1000,
2026-11-02,buy,AAPL,10,100,0,,stock
2026-11-04,deposit,,,,,500,
"""
CLOSES = """date,symbol,close,asset_type
2026-11-02,AAPL,100,stock
2026-11-03,AAPL,110,stock
2026-11-04,AAPL,99,stock
2026-11-05,AAPL,108.9,stock
2026-11-02,SPY,500,etf
2026-11-03,SPY,505,etf
2026-11-04,SPY,500,etf
2026-11-05,SPY,510,etf
"""
OPTIONS = analytics.Options(end=date(2026, 11, 5))


@pytest.fixture
def ledger(uow: SqlUnitOfWork) -> SqlUnitOfWork:
    portfolio.add_account(
        uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
    )
    report = import_stream(
        uow, io.BytesIO(TRADES.encode()), "t.csv", ImportOptions(account="Broker"), clock=clock
    )
    assert report.ok
    import_price_stream(uow, io.BytesIO(CLOSES.encode()), clock=clock)
    return uow


def test_twr_takes_deposits_out_and_mwr_weights_them(ledger: SqlUnitOfWork) -> None:
    """The deposit is not a return: -10% on its day is the stock's move alone."""
    report = analytics.analyze(ledger, None, OPTIONS, clock=clock)
    assert [1000.0, 1100.0, 1490.0, 1589.0] == report.frames.values.tolist()
    assert pytest.approx([0.1, -0.1, 1589 / 1490 - 1], rel=1e-12) == report.returns.tolist()
    assert pytest.approx(1.1 * 0.9 * 1589 / 1490 - 1, rel=1e-12) == report.metrics.twr
    assert pytest.approx(89 / 1500, rel=1e-12) == report.simple_return
    assert report.mwr is not None and report.mwr > 0
    assert pytest.approx(1589.0) == report.total_value


def test_explain_lists_flows_and_the_sub_periods_the_twr_chains(ledger: SqlUnitOfWork) -> None:
    """The deposit splits the period; the chained sub-period growth is the TWR."""
    report = analytics.analyze(ledger, None, OPTIONS, clock=clock)
    assert [(date(2026, 11, 2), 1000.0), (date(2026, 11, 4), 500.0)] == report.flows()
    periods = report.sub_periods()
    assert [(date(2026, 11, 2), date(2026, 11, 4)), (date(2026, 11, 4), date(2026, 11, 5))] == [
        (p.start, p.end) for p in periods
    ]
    chained = (1 + periods[0].growth) * (1 + periods[1].growth) - 1
    assert pytest.approx(report.metrics.twr, rel=1e-12) == chained
    assert pytest.approx(990.0) == periods[0].end_value


def test_beta_against_the_benchmark_on_the_same_days(ledger: SqlUnitOfWork) -> None:
    """The benchmark's stored closes give its returns on the portfolio's days."""
    report = analytics.analyze(ledger, None, OPTIONS, clock=clock)
    assert report.benchmark_returns is not None
    assert pytest.approx([0.01, 0.5 / 505 * -10, 0.02], rel=1e-9) == (
        report.benchmark_returns.tolist()
    )
    assert report.metrics.beta is not None


def test_too_few_days_gives_nulls_and_a_reason_not_zeros(ledger: SqlUnitOfWork) -> None:
    """One daily return is not enough for any metric: every one is None, with why."""
    report = analytics.analyze(ledger, None, analytics.Options(end=date(2026, 11, 3)), clock=clock)
    assert (None, None, None) == (
        report.metrics.volatility,
        report.metrics.sharpe,
        report.metrics.twr,
    )
    assert any("at least 2" in w for w in report.warnings)


def test_empty_ledger_is_a_clear_error(uow: SqlUnitOfWork) -> None:
    """Nothing to measure is said, not computed as zeros."""
    with pytest.raises(InvalidInput, match="empty"):
        analytics.analyze(uow, None, OPTIONS, clock=clock)


def test_what_if_changes_holdings_without_saving(ledger: SqlUnitOfWork) -> None:
    """Doubling a holding gives the hypothetical metric set; the ledger is untouched."""
    report = analytics.analyze(ledger, None, OPTIONS, clock=clock)
    engine = analytics.WhatIfEngine(report)
    result = engine.evaluate({"AAPL": 10.0})
    assert {"AAPL": (10.0, 20.0)} == result.quantities
    assert result.hypothetical.volatility is not None and result.current.volatility is not None
    assert result.hypothetical.volatility > result.current.volatility  # less cash, more stock
    again = analytics.analyze(ledger, None, OPTIONS, clock=clock)
    assert report.frames.values.tolist() == again.frames.values.tolist()
    with pytest.raises(InvalidInput, match="fewer than 0"):
        engine.evaluate({"AAPL": -11.0})


def test_named_periods_start_where_analysts_expect() -> None:
    """YTD starts at the last close of the previous year; 1M is one calendar month back."""
    first = date(2020, 1, 1)
    end = date(2026, 3, 31)
    assert date(2025, 12, 31) == analytics.period_start("YTD", end, first)
    assert date(2026, 2, 28) == analytics.period_start("1M", end, first)
    assert date(2025, 3, 31) == analytics.period_start("1y", end, first)
    assert first == analytics.period_start("ALL", end, first)


def _ledger_with(uow: SqlUnitOfWork, trades: str, closes: str) -> SqlUnitOfWork:
    portfolio.add_account(
        uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
    )
    header = "date,type,symbol,quantity,price,fees,amount,asset_type\n"
    assert import_stream(
        uow, io.BytesIO((header + trades).encode()), "t.csv", ImportOptions(account="Broker"),
        clock=clock,
    ).ok  # fmt: skip
    import_price_stream(uow, io.BytesIO(closes.encode()), clock=clock)
    return uow


def test_a_holding_without_closes_is_valued_at_its_trade_prices(uow: SqlUnitOfWork) -> None:
    """An instrument never priced does not sink the report: its trades price it, and it is said."""
    ledger = _ledger_with(
        uow,
        "2026-11-02,buy,ZZZ,10,50,0,,stock\n2026-11-02,buy,AAPL,10,100,0,,stock\n",
        CLOSES,
    )
    report = analytics.analyze(ledger, None, OPTIONS, clock=clock)
    assert pytest.approx(10 * 50 + 10 * 108.9) == report.total_value
    assert any("no closes of ZZZ" in w for w in report.warnings)


def test_a_benchmark_starting_later_still_gives_beta_on_shared_days(uow: SqlUnitOfWork) -> None:
    """Beta uses the days both series have; the days without the benchmark are reported."""
    closes = "".join(
        line + "\n" for line in CLOSES.splitlines() if "SPY" not in line or "11-02" not in line
    )
    ledger = _ledger_with(uow, "2026-11-02,buy,AAPL,10,100,0,,stock\n", closes)
    report = analytics.analyze(ledger, None, OPTIONS, clock=clock)
    assert report.metrics.beta is not None
    assert any("beta and alpha use the days they share" in w for w in report.warnings)


def test_days_after_selling_everything_are_not_observations(uow: SqlUnitOfWork) -> None:
    """Once nothing is held, later days are not 0% returns diluting the statistics."""
    ledger = _ledger_with(
        uow,
        "2026-11-02,buy,AAPL,10,100,0,,stock\n2026-11-04,sell,AAPL,10,99,0,,stock\n",
        CLOSES,
    )
    report = analytics.analyze(ledger, None, OPTIONS, clock=clock)
    assert 2 == report.metrics.observations
    assert pytest.approx(1.1 * 0.9 - 1, rel=1e-12) == report.metrics.twr


def test_a_benchmark_the_market_cannot_give_falls_back_to_stored_closes_and_says_why(
    ledger: SqlUnitOfWork,
) -> None:
    """A provider outage for the benchmark is reported; its stored closes still give beta."""
    down = FakeProvider("yahoo", {}, failures=[ProviderUnavailable("HTTP 503")] * 3)
    market = PriceCache([down], MemoryBackend(), clock=clock)
    report = analytics.analyze(ledger, market, OPTIONS, clock=clock)
    assert report.metrics.beta is not None
    assert any("could not be fetched" in w and "HTTP 503" in w for w in report.warnings)


def test_closes_in_another_currency_are_left_out_and_named(uow: SqlUnitOfWork) -> None:
    """A close stored in another currency than the latest never mixes into the series."""
    ledger = _ledger_with(uow, "2026-11-02,buy,AAPL,10,100,0,,stock\n", CLOSES)
    import_price_stream(
        ledger,
        io.BytesIO(b"date,symbol,close,currency,asset_type\n2026-10-30,AAPL,90,EUR,stock\n"),
        clock=clock,
    )
    report = analytics.analyze(ledger, None, OPTIONS, clock=clock)
    assert pytest.approx(1089.0) == report.total_value
    assert any("AAPL (1)" in w for w in report.warnings)


def test_cached_closes_give_the_same_numbers_until_a_close_changes(
    ledger: SqlUnitOfWork,
) -> None:
    """A closes cache reuses what it read (same report as reading afresh), and a close
    written afterwards is seen at once: the cache is keyed by the price revisions."""
    cache = analytics.ClosesCache()
    fresh = analytics.analyze(ledger, None, OPTIONS, clock=clock)
    first = analytics.analyze(ledger, None, OPTIONS, clock=clock, closes_cache=cache)
    second = analytics.analyze(ledger, None, OPTIONS, clock=clock, closes_cache=cache)
    assert fresh.frames.values.tolist() == first.frames.values.tolist()
    assert first.frames.values.tolist() == second.frames.values.tolist()
    import_price_stream(
        ledger, io.BytesIO(b"date,symbol,close\n2026-11-05,AAPL,120\n"), clock=clock
    )
    moved = analytics.analyze(ledger, None, OPTIONS, clock=clock, closes_cache=cache)
    assert 1200.0 + 500.0 == moved.frames.values[-1]


def test_requests_missing_the_same_closes_together_read_them_once(
    ledger: SqlUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's first requests (or all of them after a new close) miss the same
    closes at once: one reads them into the cache, the others wait for it."""
    reads: list[object] = []
    first_read, release = threading.Event(), threading.Event()
    read = LedgerRepository.daily_closes

    def slow(self: LedgerRepository, *args: Any, **kwargs: Any) -> Any:
        reads.append(args[1])
        if len(reads) == 1:  # the first read, into the cache
            first_read.set()
            release.wait(5)
        return read(self, *args, **kwargs)

    monkeypatch.setattr(LedgerRepository, "daily_closes", slow)
    cache = analytics.ClosesCache()
    reports: list[analytics.Report] = []

    def compute() -> None:
        reports.append(analytics.analyze(ledger, None, OPTIONS, clock=clock, closes_cache=cache))

    threads = [threading.Thread(target=compute) for _ in range(3)]
    threads[0].start()
    assert first_read.wait(5)
    for thread in threads[1:]:
        thread.start()
    threading.Timer(0.3, release.set).start()
    for thread in threads:
        thread.join(10)
    assert 3 == len(reports)
    assert 1 == reads.count(date(1900, 1, 1))  # a cached series: every close of it, once
    assert reports[0].frames.values.tolist() == reports[2].frames.values.tolist()


def test_users_without_closes_of_their_own_share_the_market_closes_and_no_one_gets_another_s(
    engine: Engine,
) -> None:
    """One closes cache for many users (a nightly recompute, an API process): users with
    no closes of their own read the market's once between them, whatever day their
    ledgers start; a user's own close is never served to anyone else, whichever asks
    first."""
    bars = tuple(
        Bar(date(2026, 11, d), Decimal(c))
        for d, c in ((2, "100"), (3, "110"), (4, "99"), (5, "108.9"))
    )
    market = SqlMarketData(engine, clock)
    market.store_closes(
        MarketSymbol("AAPL", AssetType.STOCK), History("AAPL", "USD", "yahoo", bars)
    )
    spy = tuple(Bar(b.day, Decimal(500)) for b in bars)
    market.store_closes(MarketSymbol("SPY", AssetType.ETF), History("SPY", "USD", "yahoo", spy))
    later = TRADES.replace("2026-11-02,buy", "2026-11-03,buy").replace(
        "2026-11-02,dep", "2026-11-03,dep"
    )
    users = {}
    for name, trades in (("ann", TRADES), ("bob", TRADES), ("cy", TRADES), ("dan", later)):
        uow = SqlUnitOfWork(engine, name, clock)
        portfolio.add_account(
            uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
        )
        found = io.BytesIO(trades.encode())
        assert import_stream(uow, found, "t.csv", ImportOptions(account="Broker"), clock=clock).ok
        users[name] = uow
    own = b"date,symbol,close,asset_type\n2026-11-05,AAPL,500,stock\n"  # ann's own close
    import_price_stream(users["ann"], io.BytesIO(own), clock=clock)
    alone = {
        n: analytics.analyze(u, None, OPTIONS, clock=clock).frames.values.tolist()
        for n, u in users.items()
    }
    assert 5000.0 + 500.0 == alone["ann"][-1] and 1089.0 + 500.0 == alone["bob"][-1]

    for order in (("ann", "bob", "cy", "dan"), ("dan", "bob", "ann", "cy")):
        cache = analytics.ClosesCache()
        for name in order:
            shared = analytics.analyze(users[name], None, OPTIONS, clock=clock, closes_cache=cache)
            assert alone[name] == shared.frames.values.tolist(), (order, name)
        # AAPL's closes: ann's own, and the market's read once for bob, cy and dan (who
        # starts a day later); the benchmark's: ann's, bob's and cy's, and dan's period
        assert 5 == len(cache), order
