"""Materialized analytics: stored while nothing changes, redone from the earliest change."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.market import Bar, History, LiveQuote, MarketSymbol
from quantdesk.services import analytics, portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.materialize import (
    MarketStatsCache,
    materialized_analytics,
    prepare_analytics,
    scope_key,
)
from quantdesk.services.portfolio import import_price_stream
from quantdesk.store.market_data import SqlMarketData
from quantdesk.store.repositories import LedgerRepository
from quantdesk.store.unit_of_work import SqlUnitOfWork
from tests.conftest import broker_with, clock

TRADES = """date,type,symbol,quantity,price,fees,amount,asset_type
2026-11-02,deposit,,,,,1000,
2026-11-02,buy,AAPL,10,100,0,,stock
"""
CLOSES = "date,symbol,close,asset_type\n" + "".join(
    f"2026-11-{d:02d},AAPL,{100 + d},stock\n2026-11-{d:02d},SPY,{500 + d},etf\n"
    for d in (2, 3, 4, 5, 6, 9, 10)
)
OPTIONS = analytics.Options(end=date(2026, 11, 10))
HEADER = "date,type,symbol,quantity,price,fees,amount,asset_type\n"


@pytest.fixture
def ledger(uow: SqlUnitOfWork) -> SqlUnitOfWork:
    portfolio.add_account(
        uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
    )
    assert import_stream(
        uow, io.BytesIO(TRADES.encode()), "t.csv", ImportOptions(account="Broker"), clock=clock
    ).ok
    import_price_stream(uow, io.BytesIO(CLOSES.encode()), clock=clock)
    return uow


def _stored_history(uow: SqlUnitOfWork) -> list[tuple[date, float, float]]:
    with uow(commit=False) as store:
        rows = store.history_of(scope_key(OPTIONS, "trading"))
    return [(d, float(v), float(f)) for d, v, f in rows]


def test_nothing_changed_means_nothing_recomputed(ledger: SqlUnitOfWork) -> None:
    """The second identical request is served from the store, with the same numbers."""
    first = materialized_analytics(ledger, None, OPTIONS, clock=clock)
    second = materialized_analytics(ledger, None, OPTIONS, clock=clock)
    assert (False, True) == (first.cached, second.cached)
    assert first.payload == second.payload
    assert second.report is None


def test_the_daily_history_is_stored_as_computed(ledger: SqlUnitOfWork) -> None:
    """Every valued day of the scope is a row: its value and its net flow."""
    result = materialized_analytics(ledger, None, OPTIONS, clock=clock)
    assert result.report is not None
    expected = [
        (d, float(v), float(f))
        for d, v, f in zip(
            result.report.frames.days,
            result.report.frames.values,
            result.report.frames.flows,
            strict=True,
        )
    ]
    assert expected == _stored_history(ledger)
    assert (date(2026, 11, 2), 1020.0, 1000.0) == expected[0]


def test_a_new_trade_redoes_the_history_only_from_its_day(ledger: SqlUnitOfWork) -> None:
    """A deposit dated the 5th rewrites from the 5th; the days before stay as stored."""
    materialized_analytics(ledger, None, OPTIONS, clock=clock)
    before = _stored_history(ledger)
    late = HEADER + "2026-11-05,deposit,,,,,100,\n"
    assert import_stream(
        ledger, io.BytesIO(late.encode()), "late.csv", ImportOptions(account="Broker"), clock=clock
    ).ok
    again = materialized_analytics(ledger, None, OPTIONS, clock=clock)
    after = _stored_history(ledger)
    assert (False, date(2026, 11, 5)) == (again.cached, again.rewritten_from)
    assert before[:3] == after[:3]
    assert (before[3][1] + 100, 100.0) == (after[3][1], after[3][2])


def test_appended_closes_redo_only_the_new_days(ledger: SqlUnitOfWork) -> None:
    """Own closes added for the 11th change the history from the 11th on."""
    options = analytics.Options(end=date(2026, 11, 11))
    materialized_analytics(ledger, None, options, clock=clock)
    more = "date,symbol,close,asset_type\n2026-11-11,AAPL,115,stock\n2026-11-11,SPY,515,etf\n"
    import_price_stream(ledger, io.BytesIO(more.encode()), clock=clock)
    again = materialized_analytics(ledger, None, options, clock=clock)
    assert date(2026, 11, 11) == again.rewritten_from


def test_a_new_day_keeps_the_stored_days(ledger: SqlUnitOfWork) -> None:
    """When only the date moves on, the stored days stand and only new ones are written."""
    materialized_analytics(ledger, None, analytics.Options(), clock=clock)
    tomorrow = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
    again = materialized_analytics(ledger, None, analytics.Options(), clock=lambda: tomorrow)
    assert not again.cached
    assert again.rewritten_from is not None and again.rewritten_from >= date(2026, 11, 10)


def test_deleting_an_entry_invalidates_the_stored_result(ledger: SqlUnitOfWork) -> None:
    """A deletion bumps the ledger revision: the next request recomputes."""
    materialized_analytics(ledger, None, OPTIONS, clock=clock)
    late = HEADER + "2026-11-09,buy,AAPL,1,109,0,,stock\n"
    import_stream(
        ledger, io.BytesIO(late.encode()), "late.csv", ImportOptions(account="Broker"), clock=clock
    )
    materialized_analytics(ledger, None, OPTIONS, clock=clock)
    newest = max(t.id for t in portfolio.list_transactions(ledger) if t.id is not None)
    portfolio.delete_transaction(ledger, newest)
    again = materialized_analytics(ledger, None, OPTIONS, clock=clock)
    assert (False, date(2026, 11, 9)) == (again.cached, again.rewritten_from)


def test_users_of_one_market_share_its_stats_and_each_redoes_only_the_new_day(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The market's close counts, read once for every user of the market (a nightly run),
    give each user the same answer and the same rewrite as reading them alone."""
    market = SqlMarketData(engine, clock)
    aapl = MarketSymbol("AAPL", AssetType.STOCK)
    days = [date(2026, 11, d) for d in (2, 3, 4, 5)]
    bars = tuple(Bar(d, Decimal(100 + i)) for i, d in enumerate(days))
    market.store_closes(aapl, History("AAPL", "USD", "yahoo", bars[:3]))
    users = [_aapl_buyer(engine, name) for name in ("ann", "bob")]
    cache = MarketStatsCache()
    options = analytics.Options(end=date(2026, 11, 5))
    for uow in users:
        materialized_analytics(uow, None, options, clock=clock, stats_cache=cache)
    market.store_closes(aapl, History("AAPL", "USD", "yahoo", bars))  # the night's close
    asked = []
    original = LedgerRepository.price_stats
    monkeypatch.setattr(
        LedgerRepository, "price_stats", lambda self, keys: asked.append(1) or original(self, keys)
    )
    shared = [
        materialized_analytics(u, None, options, clock=clock, stats_cache=cache) for u in users
    ]
    assert 1 == len(asked)  # once for both users
    assert [date(2026, 11, 5)] * 2 == [m.rewritten_from for m in shared]
    alone = analytics.analyze(users[1], None, options, clock=clock)
    assert alone.frames.values.tolist()[-1] == shared[1].report.frames.values.tolist()[-1]
    assert 1030.0 == shared[1].report.frames.values.tolist()[-1]


def test_users_computed_together_read_the_markets_latest_quotes_once_and_own_closes_win(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nightly share prices every user without closes of their own at the market's
    latest quotes, read once for all of them (a live quote newer than the last close
    included), and a user with a close of their own at it: the same answers as each
    user computed alone."""
    market = SqlMarketData(engine, clock)
    days = [date(2026, 11, d) for d in (2, 3, 4, 5)]
    for symbol, base in (("AAPL", 100), ("MSFT", 200)):
        bars = tuple(Bar(d, Decimal(base + i)) for i, d in enumerate(days))
        market.store_closes(
            MarketSymbol(symbol, AssetType.STOCK), History(symbol, "USD", "yahoo", bars)
        )
    after_close = datetime(2026, 11, 6, 15, tzinfo=UTC)
    aapl = MarketSymbol("AAPL", AssetType.STOCK, "USD")
    market.save_quotes(
        {aapl.key: LiveQuote("AAPL", Decimal(130), "USD", after_close, "yahoo", after_close)}
    )
    holdings = {"ann": "AAPL,10,100", "bob": "MSFT,5,200", "cy": "AAPL,10,100"}
    users = {}
    for name, held in holdings.items():
        uow = SqlUnitOfWork(engine, name, clock)
        portfolio.add_account(
            uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
        )
        trades = HEADER + f"2026-11-02,buy,{held},0,,stock\n"
        assert import_stream(
            uow, io.BytesIO(trades.encode()), "t.csv", ImportOptions("Broker"), clock=clock
        ).ok
        users[name] = uow
    own = "date,symbol,close,asset_type\n2026-11-06,AAPL,90,stock\n"
    import_price_stream(users["cy"], io.BytesIO(own.encode()), clock=clock)
    options = analytics.Options(end=date(2026, 11, 6))
    alone = {
        name: analytics.analyze(uow, None, options, clock=clock).unrealized_gain
        for name, uow in users.items()
    }
    assert {"ann": Decimal(300), "bob": Decimal(15), "cy": Decimal(-100)} == alone

    read = []
    original = LedgerRepository.market_latest_quotes
    monkeypatch.setattr(
        LedgerRepository,
        "market_latest_quotes",
        lambda self, as_of: read.append(as_of) or original(self, as_of),
    )
    batch, closes = analytics.BatchReads(), analytics.ClosesCache()
    together = {
        name: prepare_analytics(
            uow, None, options, clock=clock, closes_cache=closes, batch=batch
        ).materialized
        for name, uow in users.items()
    }
    assert [date(2026, 11, 6)] == read  # once, for ann and bob; cy reads her own
    assert alone == {name: m.report.unrealized_gain for name, m in together.items() if m.report}
    assert "300" == together["ann"].payload["unrealized_gain"]


def _market_user(engine: Engine, closes: dict[str, list[date]]) -> SqlUnitOfWork:
    """A user who bought 10 AAPL on 2 November, with the market's closes of ``closes``
    (AAPL at 100 + the day of the month, SPY at 500 + it)."""
    _store_market_closes(engine, closes)
    return _aapl_buyer(engine, "ann")


def _aapl_buyer(engine: Engine, name: str) -> SqlUnitOfWork:
    """``name``, who bought 10 AAPL at 100 on 2 November."""
    uow = SqlUnitOfWork(engine, name, clock)
    broker_with(uow, HEADER + "2026-11-02,buy,AAPL,10,100,0,,stock\n")
    return uow


def _store_market_closes(engine: Engine, closes: dict[str, list[date]]) -> None:
    kinds = {"AAPL": (AssetType.STOCK, 100), "SPY": (AssetType.ETF, 500)}
    for symbol, days in closes.items():
        kind, base = kinds[symbol]
        bars = tuple(Bar(d, Decimal(base + d.day)) for d in days)
        SqlMarketData(engine, clock).store_closes(
            MarketSymbol(symbol, kind), History(symbol, "USD", "yahoo", bars)
        )


def _history_as_computed(result: object) -> list[tuple[date, float, float]]:
    report = getattr(result, "report", None)
    assert report is not None
    frames = report.frames
    return [
        (d, float(v), float(f))
        for d, v, f in zip(frames.days, frames.values, frames.flows, strict=True)
    ]


NOVEMBER = [date(2026, 11, d) for d in (2, 3, 4, 5)]
OCTOBER = [date(2026, 10, d) for d in (26, 27, 28, 29, 30)]


def test_closes_fetched_from_before_the_ledgers_first_day_leave_its_stored_days(
    engine: Engine,
) -> None:
    """A refresh that fetches a held instrument's closes from before the first close
    stored (the days a first trade's close is carried from) and the benchmark's from
    earlier still, with the night's close, rewrites only the night's day: the days from
    the first trade on are valued at the same closes as before. The metrics are new."""
    uow = _market_user(engine, {"AAPL": NOVEMBER, "SPY": NOVEMBER})
    night = datetime(2026, 11, 6, 5, tzinfo=UTC)
    first = materialized_analytics(uow, None, analytics.Options(), clock=lambda: night)
    _store_market_closes(
        engine,
        {"AAPL": [*OCTOBER, date(2026, 11, 6)], "SPY": [date(2026, 10, 1), *OCTOBER]},
    )
    next_night = datetime(2026, 11, 7, 5, tzinfo=UTC)
    again = materialized_analytics(uow, None, analytics.Options(), clock=lambda: next_night)
    assert (False, date(2026, 11, 6)) == (again.cached, again.rewritten_from)
    assert first.payload != again.payload
    stored = _stored_history(uow)
    assert _history_as_computed(again) == stored
    assert (date(2026, 11, 2), 1020.0, 1000.0) == stored[0]
    assert (date(2026, 11, 6), 1060.0, 0.0) == stored[-1]


def test_the_benchmarks_earlier_closes_rewrite_no_stored_day(engine: Engine) -> None:
    """Closes of a benchmark the ledger does not hold move its metrics, not its values:
    the recompute keeps every stored day (it rewrites the last one, as a new day does)."""
    uow = _market_user(engine, {"AAPL": NOVEMBER, "SPY": NOVEMBER[1:]})
    materialized_analytics(uow, None, analytics.Options(end=date(2026, 11, 5)), clock=clock)
    _store_market_closes(engine, {"SPY": [*OCTOBER, date(2026, 11, 2)]})
    again = materialized_analytics(uow, None, analytics.Options(end=date(2026, 11, 5)), clock=clock)
    assert (False, date(2026, 11, 5)) == (again.cached, again.rewritten_from)
    assert _history_as_computed(again) == _stored_history(uow)


def test_earlier_closes_of_a_day_the_ledger_valued_without_rewrite_it(engine: Engine) -> None:
    """A close added before the first one stored but on or after the first trade (the
    trade's day had no close, and was left out) rewrites the history from that day."""
    uow = _market_user(engine, {"AAPL": NOVEMBER[1:], "SPY": NOVEMBER})
    first = materialized_analytics(uow, None, analytics.Options(end=date(2026, 11, 5)), clock=clock)
    assert date(2026, 11, 3) == _stored_history(uow)[0][0]
    _store_market_closes(engine, {"AAPL": [*OCTOBER, date(2026, 11, 2)]})
    again = materialized_analytics(uow, None, analytics.Options(end=date(2026, 11, 5)), clock=clock)
    assert date(2026, 11, 2) == again.rewritten_from
    stored = _stored_history(uow)
    assert _history_as_computed(again) == stored
    assert (date(2026, 11, 2), 1020.0, 1000.0) == stored[0]
    assert first.payload != again.payload


def test_fx_closes_added_between_stored_ones_rewrite_the_days_of_cash_in_that_currency(
    engine: Engine,
) -> None:
    """Euros held in a dollar account are valued at EURUSD: a rate added for a day that
    had none (the 4th carried the 3rd's) rewrites the stored days from the first rate
    on, so the 4th is valued at its own rate."""
    _store_market_closes(engine, {"AAPL": NOVEMBER})
    eurusd = MarketSymbol("EURUSD", AssetType.CASH, "USD")
    rates = {date(2026, 11, d): Decimal(f"1.{d}") for d in (2, 3, 4, 5)}
    market = SqlMarketData(engine, clock)
    stored = [d for d in rates if d.day != 4]
    market.store_closes(
        eurusd, History("EURUSD", "USD", "yahoo", tuple(Bar(d, rates[d]) for d in stored))
    )
    uow = SqlUnitOfWork(engine, "ann", clock)
    broker_with(
        uow,
        "date,type,symbol,quantity,price,fees,amount,asset_type,currency\n"
        "2026-11-02,deposit,,,,,1000,,EUR\n"
        "2026-11-02,buy,AAPL,10,100,0,,stock,USD\n",
    )
    options = analytics.Options(end=date(2026, 11, 5))
    first = materialized_analytics(uow, None, options, clock=clock)
    assert first.report is not None
    market.store_closes(
        eurusd,
        History("EURUSD", "USD", "yahoo", (Bar(date(2026, 11, 4), rates[date(2026, 11, 4)]),)),
    )
    again = materialized_analytics(uow, None, options, clock=clock)
    assert date(2026, 11, 2) == again.rewritten_from
    history = _stored_history(uow)
    assert _history_as_computed(again) == history
    day_4 = {d: v for d, v, _ in history}[date(2026, 11, 4)]
    assert pytest.approx(1000 * 1.4 + 10 * 104 - 1000) == day_4  # the 4th's own rate
