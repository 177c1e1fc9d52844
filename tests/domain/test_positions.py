"""Positions, their totals per currency and what keeps them from a full valuation."""

from __future__ import annotations

from datetime import date

from quantdesk.domain.lots import replay
from quantdesk.domain.positions import (
    Quote,
    Totals,
    position_warnings,
    positions,
    total_in_base,
    totals_by_currency,
)
from tests.builders import AAPL, BTC, D, trade


def test_totals_are_per_currency_and_unknown_when_any_part_is() -> None:
    state = replay(
        [
            trade("buy", "2024-01-02", "10", "100"),
            trade("buy", "2024-01-02", "1", "30000", instrument=BTC),
        ]
    )
    priced = {AAPL: Quote(D(120), "USD", date(2024, 6, 3), "user")}
    rows = positions(state, priced)
    (usd,) = totals_by_currency(rows).values()
    assert (None, D(31000), None) == (usd.market_value, usd.cost_basis, usd.unrealized_gain)
    assert ["BTC in 'Broker': no price stored"] == [
        w.split(",")[0] for w in position_warnings(rows)
    ]
    priced[BTC] = Quote(D(40000), "USD", date(2024, 6, 3), "user")
    (usd,) = totals_by_currency(positions(state, priced)).values()
    assert (D(41200), D(10200)) == (usd.market_value, usd.unrealized_gain)


def test_total_in_base_converts_each_currency_and_never_drops_one() -> None:
    """EUR converts at its rate; a currency without a rate makes the total unknown."""
    totals = {
        "USD": Totals(D(1000), D(900), D(100)),
        "EUR": Totals(D(500), D(400), D(100)),
    }
    converted = total_in_base(totals, {"EUR": D("1.1")}, "USD")
    assert (D("1550.0"), []) == (converted.market_value, converted.missing_rates)
    unknown = total_in_base({**totals, "GBP": totals["EUR"]}, {"EUR": D("1.1")}, "USD")
    assert (None, ["GBP"]) == (unknown.market_value, unknown.missing_rates)
