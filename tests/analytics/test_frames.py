"""Ledger-true daily values and flows: units held at each close times that close."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from quantdesk.analytics.frames import Closes, build_frames
from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.ledger_history import ledger_history
from quantdesk.domain.transactions import Origin, ordered
from tests.builders import AAPL, BTC, trade

DAYS = [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)]
AAPL_CLOSES = {AAPL: Closes(DAYS, [100.0, 110.0, 99.0], "USD")}


def frames(entries, closes=AAPL_CLOSES, fx=None, **options):  # type: ignore[no-untyped-def]
    history = ledger_history(ordered(entries), account=options.pop("account", None))
    return build_frames(history, closes, fx or {}, start=DAYS[0], end=DAYS[-1], **options)


def test_cash_account_values_cash_and_counts_only_deposits_as_flows() -> None:
    """Buys move value between cash and holdings; deposits are the only flows."""
    f = frames(
        [
            trade("deposit", "2026-11-02", amount="1000", instrument=None),
            trade("buy", "2026-11-02", "10", "100"),
            trade("deposit", "2026-11-04", amount="500", instrument=None),
        ]
    )
    assert [1000.0, 1100.0, 1490.0] == f.values.tolist()
    assert [1000.0, 0.0, 500.0] == f.flows.tolist()
    assert (252, "trading") == (f.annualization, f.calendar)


def test_holdings_only_account_counts_each_trade_as_a_flow() -> None:
    """Without cash records a buy is an inflow and a sale an outflow at trade value."""
    f = frames([trade("buy", "2026-11-02", "10", "100"), trade("sell", "2026-11-03", "5", "110")])
    assert [1000.0, 550.0, 495.0] == f.values.tolist()
    assert [1000.0, -550.0, 0.0] == f.flows.tolist()


def test_todays_units_are_never_applied_to_old_prices() -> None:
    """A buy on the last day does not inflate earlier values."""
    f = frames([trade("buy", "2026-11-02", "1", "100"), trade("buy", "2026-11-04", "9", "99")])
    assert [100.0, 110.0, 990.0] == f.values.tolist()


def test_transfer_between_own_accounts_is_not_a_flow_but_is_for_one_account() -> None:
    """Moving units between accounts nets out for the portfolio, not for the account."""
    entries = [
        trade("buy", "2026-11-02", "10", "100", account="A"),
        trade("transfer_out", "2026-11-03", "4", account="A", link="t1"),
        trade("transfer_in", "2026-11-03", "4", account="B", link="t1"),
    ]
    whole = frames(entries)
    just_a = frames(entries, account="A")
    assert [1000.0, 0.0, 0.0] == whole.flows.tolist()
    assert [1000.0, -440.0, 0.0] == just_a.flows.tolist()
    assert [1000.0, 660.0, 594.0] == just_a.values.tolist()


def test_snapshot_opening_is_an_inflow_at_market_value() -> None:
    """Units that arrive without cash are worth their close that day."""
    f = frames([trade("transfer_in", "2026-11-03", "10", "50")])
    assert [0.0, 1100.0, 990.0] == f.values.tolist()
    assert [0.0, 1100.0, 0.0] == f.flows.tolist()


def test_a_coin_switches_to_the_daily_calendar() -> None:
    """Holding crypto values every calendar day (A = 365), carrying stock closes over."""
    closes = {
        **AAPL_CLOSES,
        BTC: Closes([date(2026, 11, d) for d in range(1, 5)], [1.0, 2.0, 3.0, 4.0], "USD"),
    }
    entries = [
        trade("buy", "2026-11-02", "1", "100"),
        trade("buy", "2026-11-02", "1", "2", instrument=BTC),
    ]
    f = build_frames(
        ledger_history(ordered(entries)), closes, {}, start=date(2026, 11, 1), end=DAYS[-1]
    )
    assert (365, "daily") == (f.annualization, f.calendar)
    assert [0.0, 102.0, 113.0, 103.0] == f.values.tolist()


def test_a_missing_close_beyond_the_carry_limit_leaves_the_day_out_and_says_so() -> None:
    """A held instrument without a usable close is reported, never valued at 0."""
    closes = {AAPL: Closes([DAYS[0]], [100.0], "USD")}
    spy = InstrumentKey("SPY", AssetType.ETF)
    closes[spy] = Closes(DAYS, [1.0, 1.0, 1.0], "USD")
    f = frames(
        [
            trade("buy", "2026-11-02", "1", "100"),
            trade("buy", "2026-11-02", "1", "1", instrument=spy),
        ],
        closes=closes,
        carry_limit=1,
    )
    assert [date(2026, 11, 2), date(2026, 11, 3)] == f.days
    assert "AAPL" in f.warnings[0]


def test_foreign_currency_is_converted_at_each_days_rate() -> None:
    """A EUR holding and EUR cash are valued in USD at that day's EURUSD close."""
    sap = InstrumentKey("SAP", AssetType.STOCK)
    closes = {sap: Closes(DAYS, [200.0, 200.0, 210.0], "EUR")}
    fx = {"EUR": Closes(DAYS, [1.0, 1.1, 1.2], "USD")}
    entries = [
        trade("deposit", "2026-11-02", amount="1000", instrument=None),
        trade("buy", "2026-11-02", "2", "200", instrument=sap),
    ]
    entries = [e._replace(currency="EUR") for e in entries]
    f = frames(entries, closes=closes, fx=fx)
    assert pytest.approx([1000.0, 1100.0, 1224.0]) == f.values.tolist()
    assert np.isclose(f.flows[0], 1000.0)


def test_an_asset_class_sleeve_counts_its_trades_as_flows() -> None:
    """Within one asset class a buy paid from cash is money coming into the sleeve."""
    spy = InstrumentKey("SPY", AssetType.ETF)
    closes = {**AAPL_CLOSES, spy: Closes(DAYS, [10.0, 11.0, 12.0], "USD")}
    entries = [
        trade("deposit", "2026-11-02", amount="2000", instrument=None),
        trade("buy", "2026-11-02", "10", "100"),
        trade("buy", "2026-11-03", "10", "11", instrument=spy),
    ]
    history = ledger_history(ordered(entries), asset_class=AssetType.STOCK)
    f = build_frames(history, closes, {}, start=DAYS[0], end=DAYS[-1])
    assert [1000.0, 1100.0, 990.0] == f.values.tolist()
    assert [1000.0, 0.0, 0.0] == f.flows.tolist()


def test_cash_is_tracked_only_from_the_first_deposit_on() -> None:
    """Buys before an account's first deposit were paid from outside: they are inflows."""
    f = frames(
        [
            trade("buy", "2026-11-02", "10", "100"),
            trade("deposit", "2026-11-03", amount="500", instrument=None),
            trade("buy", "2026-11-04", "1", "99"),
        ]
    )
    assert [1000.0, 1600.0, 1490.0] == f.values.tolist()
    assert [1000.0, 500.0, 0.0] == f.flows.tolist()


def test_an_opening_without_price_is_worth_its_first_close() -> None:
    """Units of unknown basis arriving before their first close are valued at it."""
    bbb = InstrumentKey("BBB", AssetType.STOCK)
    closes = {**AAPL_CLOSES, bbb: Closes(DAYS[1:], [50.0, 50.0], "USD")}
    entries = [
        trade("buy", "2026-11-02", "10", "100"),
        trade("transfer_in", "2026-11-02", "100", instrument=bbb),
    ]
    f = frames(entries, closes=closes)
    assert [date(2026, 11, 3), date(2026, 11, 4)] == f.days
    assert [1100.0 + 5000.0, 990.0 + 5000.0] == f.values.tolist()
    assert 5000.0 + 1000.0 == f.flows[0]  # the day-2 buy and the opening land on day 3


def test_a_foreign_opening_is_converted_at_its_currencys_rate() -> None:
    """Units in EUR that arrive without cash still get the EURUSD rate."""
    sap = InstrumentKey("SAP", AssetType.STOCK)
    closes = {sap: Closes(DAYS, [100.0, 100.0, 110.0], "EUR")}
    fx = {"EUR": Closes(DAYS, [1.0, 1.1, 1.1], "USD")}
    entry = trade("transfer_in", "2026-11-02", "10", "90", instrument=sap)._replace(currency="EUR")
    f = frames([entry], closes=closes, fx=fx)
    assert pytest.approx([1000.0, 1100.0, 1210.0]) == f.values.tolist()


def test_a_change_after_the_last_close_shows_in_the_end_days_value_as_a_flow() -> None:
    """Units added today (a grid edit), before today's close, value the end day at the
    latest close: the value moves by the units' worth, the day's return is nil."""
    history = ledger_history(
        ordered(
            [
                trade("buy", "2026-11-02", "10", "100"),
                trade("transfer_in", "2026-11-05", "5", "90", origin=Origin.ADJUSTMENT),
            ]
        )
    )
    f = build_frames(history, AAPL_CLOSES, {}, start=DAYS[0], end=date(2026, 11, 5))
    assert [*DAYS, date(2026, 11, 5)] == f.days
    assert [1000.0, 1100.0, 990.0, 1485.0] == f.values.tolist()
    assert 495.0 == f.flows[-1]
    assert 0.0 == (f.values[-1] - f.flows[-1]) / f.values[-2] - 1


def test_no_change_after_the_last_close_adds_no_day() -> None:
    """Without a change since the last close the series ends at that close."""
    history = ledger_history(ordered([trade("buy", "2026-11-02", "10", "100")]))
    f = build_frames(history, AAPL_CLOSES, {}, start=DAYS[0], end=date(2026, 11, 5))
    assert DAYS == f.days


def test_the_trading_calendar_is_every_day_any_traded_holding_closed() -> None:
    """A later listing's days lie within the calendar; a holding that closed on a day the
    other did not (another exchange's session) adds that day."""
    sap = InstrumentKey("SAP", AssetType.STOCK)
    late = InstrumentKey("NEW", AssetType.STOCK)
    friday, monday = date(2026, 10, 30), date(2026, 11, 9)
    closes = {
        AAPL: Closes(DAYS, [100.0, 110.0, 99.0], "USD"),
        late: Closes(DAYS[1:], [10.0, 11.0], "USD"),
        sap: Closes([friday, *DAYS, monday], [50.0, 50.0, 51.0, 52.0, 53.0], "USD"),
    }
    entries = [
        trade("buy", "2026-10-30", "1", "50", instrument=sap),
        trade("buy", "2026-11-02", "1", "100"),
        trade("buy", "2026-11-03", "1", "10", instrument=late),
    ]
    history = ledger_history(ordered(entries))
    f = build_frames(history, closes, {}, start=friday, end=monday)
    assert [friday, *DAYS, monday] == f.days
    assert [50.0, 150.0, 171.0, 162.0, 163.0] == f.values.tolist()
