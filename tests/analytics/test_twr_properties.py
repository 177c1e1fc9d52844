"""Property: a time-weighted return cannot be moved by when money comes and goes.

If a portfolio only ever holds one asset and every buy and sale happens at that day's
close, each daily TWR return is the asset's own return, so the chained TWR equals the
asset's price return over the period, whatever the sizes and timing of the trades, while
the money-weighted return does depend on them.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.analytics.frames import Closes, build_frames
from quantdesk.analytics.returns import total_return, twr_returns, xirr
from quantdesk.domain.ledger_history import ledger_history
from quantdesk.domain.transactions import ordered
from tests.builders import AAPL, trade

START = date(2025, 1, 6)  # a Monday
DAYS = [START + timedelta(days=i) for i in range(60)]

closes_strategy = st.lists(
    st.integers(min_value=5_000, max_value=20_000), min_size=len(DAYS), max_size=len(DAYS)
)
trades_strategy = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=len(DAYS) - 1),  # day index (0 is the opening)
        st.booleans(),  # buy or sell
        st.integers(min_value=1, max_value=90),  # percent of the holding
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(closes=closes_strategy, moves=trades_strategy, cash_account=st.booleans())
def test_twr_equals_the_assets_return_whatever_the_trades(
    closes: list[int], moves: list[tuple[int, bool, int]], cash_account: bool
) -> None:
    """Trades at the close change the money at work, never the time-weighted return."""
    price = {d: Decimal(c) / 100 for d, c in zip(DAYS, closes, strict=True)}
    held = Decimal(100)
    entries = []
    if cash_account:  # the money arrives as deposits exactly when the trades need it
        entries.append(
            trade(
                "deposit", DAYS[0].isoformat(), amount=str(held * price[DAYS[0]]), instrument=None
            )
        )
    entries.append(trade("buy", DAYS[0].isoformat(), str(held), str(price[DAYS[0]])))
    for index, is_buy, percent in sorted(moves):
        day = DAYS[index]
        units = (held * percent / 100).quantize(Decimal("0.0001"))
        if units <= 0:
            continue
        if is_buy:
            if cash_account:
                entries.append(
                    trade(
                        "deposit", day.isoformat(), amount=str(units * price[day]), instrument=None
                    )
                )
            entries.append(trade("buy", day.isoformat(), str(units), str(price[day])))
            held += units
        else:
            entries.append(trade("sell", day.isoformat(), str(units), str(price[day])))
            if cash_account:
                entries.append(
                    trade(
                        "withdrawal",
                        day.isoformat(),
                        amount=str(units * price[day]),
                        instrument=None,
                    )
                )
            held -= units
    history = ledger_history(ordered(entries))
    frames = build_frames(
        history,
        {AAPL: Closes(DAYS, [float(price[d]) for d in DAYS], "USD")},
        {},
        start=DAYS[0],
        end=DAYS[-1],
        calendar="daily",
    )
    twr = total_return(twr_returns(frames.values, frames.flows))
    asset = closes[-1] / closes[0] - 1
    assert pytest.approx(asset, rel=1e-9, abs=1e-12) == twr


def test_the_money_weighted_return_does_depend_on_timing() -> None:
    """Doubling the stake just before a fall leaves the TWR alone and lowers the MWR."""
    values = np.array([100.0, 110.0, 220.0, 110.0])
    flows = np.array([0.0, 0.0, 110.0, 0.0])  # doubled the stake at 110, then -50%
    assert pytest.approx(1.1 * 1.0 * 0.5 - 1, rel=1e-12) == total_return(twr_returns(values, flows))
    days = [START + timedelta(days=30 * i) for i in range(4)]
    doubled = xirr([days[0], days[2], days[3]], [-100.0, -110.0, 110.0])
    held = xirr([days[0], days[3]], [-100.0, 55.0])
    assert doubled is not None and held is not None
    assert doubled < held
