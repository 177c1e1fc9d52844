"""Rebalancing engine: hand-worked examples (prices of 10 keep the arithmetic visible)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.lots import Lot, Term
from quantdesk.domain.rebalance import (
    AccountHoldings,
    Action,
    Holding,
    Targets,
    plan_rebalance,
)
from quantdesk.domain.transactions import Origin

D = Decimal
DAY = date(2024, 9, 1)
SIXTY_FORTY = {"Stocks": D("0.6"), "Bonds": D("0.4")}


def _h(symbol: str, cls: str, units: str, price: str = "10", lots=()) -> Holding:
    return Holding(InstrumentKey(symbol, AssetType.ETF), cls, D(units), D(price), tuple(lots))


def _lot(account: str, units: str, basis: str, on: date) -> Lot:
    key = InstrumentKey("VTI", AssetType.ETF)
    return Lot(1, account, key, D(units), D(basis), "USD", on, Origin.IMPORT)


def _ira(*holdings: Holding, cash: str = "0") -> AccountHoldings:
    return AccountHoldings("IRA", False, holdings, D(cash))


def _weights(plan) -> dict[str, tuple[Decimal, Decimal]]:
    return {b.bucket: (b.before, b.after) for b in plan.buckets}


def test_two_bucket_drift_sells_the_overweight_and_buys_the_underweight() -> None:
    # T = 680 + 320 = 1000; stocks 68% (> 60% + 5%), bonds 32% (< 40% - 5%)
    # stocks sell 680 - 600 = 80 = 8 VTI; the 80 of proceeds buy 8 BND
    plan = plan_rebalance(
        [_ira(_h("VTI", "Stocks", "68"), _h("BND", "Bonds", "32"))],
        Targets(by_class=SIXTY_FORTY),
        DAY,
    )
    got = [(t.action, t.account, t.symbol, t.units, t.value) for t in plan.trades]
    assert [
        (Action.SELL, "IRA", "VTI", D("8"), D("80")),
        (Action.BUY, "IRA", "BND", D("8"), D("80")),
    ] == got
    assert D("0") == plan.trades[0].realized_gain  # tax-advantaged
    assert (
        "Stocks is 68% against a 60% target (band ±5%): sell 8 VTI in IRA (no tax) "
        "to bring it to 60%"
    ) == plan.trades[0].rationale
    assert {"Stocks": (D("0.68"), D("0.6")), "Bonds": (D("0.32"), D("0.4"))} == _weights(plan)
    assert () == plan.dropped
    assert () == plan.notes


def test_inside_the_band_makes_no_trades() -> None:
    # stocks 63%, bonds 37%: both within 5 points of target
    plan = plan_rebalance(
        [_ira(_h("VTI", "Stocks", "63"), _h("BND", "Bonds", "37"))],
        Targets(by_class=SIXTY_FORTY),
        DAY,
    )
    assert () == plan.trades
    assert {"Stocks": (D("0.63"), D("0.63")), "Bonds": (D("0.37"), D("0.37"))} == _weights(plan)


def test_cash_to_invest_buys_the_underweight_bucket_only() -> None:
    # T = 600 + 300 + 100 cash = 1000; stocks 60% on target, bonds 30% out of band
    # bonds buy 400 - 300 = 100 = 10 BND; left over 100 - 100 = 0, stocks untouched
    plan = plan_rebalance(
        [_ira(_h("VTI", "Stocks", "60"), _h("BND", "Bonds", "30"), cash="100")],
        Targets(by_class=SIXTY_FORTY),
        DAY,
    )
    assert [(Action.BUY, "BND", D("10"), D("100"))] == [
        (t.action, t.symbol, t.units, t.value) for t in plan.trades
    ]
    assert (D("0.3"), D("0.4")) == _weights(plan)["Bonds"]


def test_a_withdrawal_sells_the_overweight_bucket() -> None:
    # T = 750 + 360 - 210 = 900; stocks 750/900 = 83.3% vs target 540: sell 210 = 21 VTI
    # bonds 360/900 = 40% on target; the sale covers the withdrawal exactly
    plan = plan_rebalance(
        [_ira(_h("VTI", "Stocks", "75"), _h("BND", "Bonds", "36"), cash="-210")],
        Targets(by_class=SIXTY_FORTY),
        DAY,
    )
    assert [(Action.SELL, "VTI", D("21"), D("210"))] == [
        (t.action, t.symbol, t.units, t.value) for t in plan.trades
    ]
    assert D("0.6") == _weights(plan)["Stocks"][1]
    assert () == plan.notes  # the withdrawal is covered


def test_tax_advantaged_account_is_sold_before_taxable() -> None:
    # T = 300 + 500 + 200 = 1000; stocks 80%: sell 200, all of it from the IRA's VTI (20)
    # even though the taxable VTI position is larger; the IRA's 200 buys 20 BND
    taxable = AccountHoldings(
        "Brokerage", True, (_h("VTI", "Stocks", "50", lots=[_lot("Brokerage", "50", "100", DAY)]),)
    )
    ira = _ira(_h("VTI", "Stocks", "30"), _h("BND", "Bonds", "20"))
    plan = plan_rebalance([taxable, ira], Targets(by_class=SIXTY_FORTY), DAY)
    assert [
        (Action.SELL, "IRA", "VTI", D("20")),
        (Action.BUY, "IRA", "BND", D("20")),
    ] == [(t.action, t.account, t.symbol, t.units) for t in plan.trades]


def test_taxable_sale_takes_the_highest_basis_lot_first_with_gain_and_term() -> None:
    # Taxable: VTI 100 @ 10 = 1000 in two lots, BND 0 units (an empty bucket, price 10)
    # lot A 70 units basis 350 (5/unit, 2020: long), lot B 30 units basis 270 (9/unit,
    # March 2024: short on 1 Sept 2024). T = 1000: stocks 100%, sell 400 = 40 units:
    # B first: 30 units, gain 300 - 270 = 30 short; then A: 10 units, basis 50, gain 50 long
    lots = [
        _lot("Taxable", "70", "350", date(2020, 1, 1)),
        _lot("Taxable", "30", "270", date(2024, 3, 1)),
    ]
    account = AccountHoldings(
        "Taxable", True, (_h("VTI", "Stocks", "100", lots=lots), _h("BND", "Bonds", "0"))
    )
    plan = plan_rebalance([account], Targets(by_class=SIXTY_FORTY), DAY)
    sell, buy = plan.trades
    assert (Action.SELL, D("40"), D("400")) == (sell.action, sell.units, sell.value)
    assert [
        (date(2024, 3, 1), D("30"), D("270"), D("30"), Term.SHORT),
        (date(2020, 1, 1), D("10"), D("50"), D("50"), Term.LONG),
    ] == [(t.acquired_on, t.units, t.cost_basis, t.gain, t.term) for t in sell.lots]
    assert D("80") == sell.realized_gain
    assert "taxable, est. gain 80.00, long and short term" in sell.rationale
    assert (Action.BUY, "BND", D("40")) == (buy.action, buy.symbol, buy.units)


def test_whole_units_round_toward_the_target() -> None:
    # VTI 100 @ 7 = 700, BND 30 @ 10 = 300, T = 1000: stocks 70%: sell 100 = 14.29 VTI
    # whole units: 14 VTI = 98 (stocks 602 = 60.2%, inside the band, not past target);
    # the 98 buys 9 BND = 90 (whole; bonds 390 = 39%)
    holdings = (_h("VTI", "Stocks", "100", "7"), _h("BND", "Bonds", "30"))
    whole = plan_rebalance(
        [_ira(*holdings)],
        Targets(by_class=SIXTY_FORTY, whole_units=frozenset({"VTI", "BND"})),
        DAY,
    )
    assert [("VTI", D("14"), D("98")), ("BND", D("9"), D("90"))] == [
        (t.symbol, t.units, t.value) for t in whole.trades
    ]
    assert {"Stocks": (D("0.7"), D("0.602")), "Bonds": (D("0.3"), D("0.39"))} == _weights(whole)
    fractional = plan_rebalance([_ira(*holdings)], Targets(by_class=SIXTY_FORTY), DAY)
    assert D("14.28571428") == fractional.trades[0].units  # 100 / 7, 8 places, down


def test_whole_units_take_one_more_when_rounding_down_stays_outside_the_band() -> None:
    # VTI 16 @ 45 = 720, BND 28 @ 10 = 280, T = 1000, band 1.5 points: sell 120 = 2.67 VTI
    # 2 VTI leave stocks at 630 = 63% (outside); 3 VTI = 135 -> 585 = 58.5%, on the band
    holdings = (_h("VTI", "Stocks", "16", "45"), _h("BND", "Bonds", "28"))
    plan = plan_rebalance(
        [_ira(*holdings)],
        Targets(by_class=SIXTY_FORTY, band=D("0.015"), whole_units=frozenset({"VTI"})),
        DAY,
    )
    assert ("VTI", D("3"), D("135")) == (
        plan.trades[0].symbol,
        plan.trades[0].units,
        plan.trades[0].value,
    )
    assert D("0.585") == _weights(plan)["Stocks"][1]


def test_minimum_trade_value_drops_a_small_trade() -> None:
    # T = 620 + 330 + 50 = 1000; bonds 33% out: buy 70; cash left 50 - 70 = -20 is raised
    # from stocks (62%, inside, 20 over target): sell 2 VTI = 20 < minimum 50: dropped.
    # The buy then has only the 50 of cash: 5 BND (bonds 380 = 38%, inside the band)
    plan = plan_rebalance(
        [_ira(_h("VTI", "Stocks", "62"), _h("BND", "Bonds", "33"), cash="50")],
        Targets(by_class=SIXTY_FORTY, min_trade=D("50")),
        DAY,
    )
    assert [(Action.BUY, "BND", D("5"), D("50"))] == [
        (t.action, t.symbol, t.units, t.value) for t in plan.trades
    ]
    assert [(Action.SELL, "VTI", D("2"), D("20"))] == [
        (t.action, t.symbol, t.units, t.value) for t in plan.dropped
    ]
    assert plan.dropped[0].rationale.startswith("dropped, 20.00 is under the minimum trade")
    assert {"Stocks": (D("0.62"), D("0.62")), "Bonds": (D("0.33"), D("0.38"))} == _weights(plan)


def test_targets_not_summing_to_one_are_refused_naming_the_sum() -> None:
    with pytest.raises(InvalidInput, match=r"target weights sum to 0\.9, not 1"):
        plan_rebalance(
            [_ira(_h("VTI", "Stocks", "1"))],
            Targets(by_class={"Stocks": D("0.6"), "Bonds": D("0.3")}),
            DAY,
        )


def test_holdings_without_a_target_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"holdings with no target: GLD \(Gold\)"):
        plan_rebalance(
            [_ira(_h("VTI", "Stocks", "1"), _h("GLD", "Gold", "1"))],
            Targets(by_class={"Stocks": D("1")}),
            DAY,
        )


def test_a_symbol_target_carves_the_symbol_out_of_its_asset_class() -> None:
    # Stocks 40% (VTI only), VXUS 20% (its own bucket though a stock), Bonds 40%
    # T = 500 + 200 + 300 = 1000: Stocks 50% out: sell 100 = 10 VTI; VXUS 20% on target;
    # Bonds 30% out: buy 100 = 10 BND. VXUS is not touched.
    plan = plan_rebalance(
        [
            _ira(
                _h("VTI", "Stocks", "50"),
                _h("VXUS", "Stocks", "20"),
                _h("BND", "Bonds", "30"),
            )
        ],
        Targets(
            by_class={"Stocks": D("0.4"), "Bonds": D("0.4")},
            by_symbol={"VXUS": D("0.2")},
        ),
        DAY,
    )
    assert [("VTI", D("10"), "Stocks"), ("BND", D("10"), "Bonds")] == [
        (t.symbol, t.units, t.bucket) for t in plan.trades
    ]
    assert {
        "Stocks": (D("0.5"), D("0.4")),
        "Bonds": (D("0.3"), D("0.4")),
        "VXUS": (D("0.2"), D("0.2")),
    } == _weights(plan)


def test_crypto_is_bought_only_where_crypto_is_held_and_securities_only_at_the_broker() -> None:
    # T = 900 + 100 = 1000 across a brokerage IRA (VTI 60, VTI sold down) and an exchange
    # (BTC 10 at 10). Targets 50/50: stocks sell 40 VTI (400) in the IRA; that cash cannot
    # buy BTC there, so the note says so, and the exchange has no cash to buy with.
    btc = Holding(InstrumentKey("BTC", AssetType.CRYPTO), "Crypto", D("10"), D("10"))
    exchange = AccountHoldings("Exchange", True, (btc,), D("0"))
    plan = plan_rebalance(
        [_ira(_h("VTI", "Stocks", "90")), exchange],
        Targets(by_class={"Stocks": D("0.5"), "Crypto": D("0.5")}),
        DAY,
    )
    assert [] == [t for t in plan.trades if t.action is Action.BUY]
    assert any("Crypto: 400.00 could not be bought" in n for n in plan.notes), plan.notes
    # with cash on the exchange, the crypto is bought there and nothing else is
    funded = AccountHoldings("Exchange", True, (btc,), D("400"))
    plan = plan_rebalance(
        [_ira(_h("VTI", "Stocks", "90")), funded],
        Targets(by_class={"Stocks": D("0.5"), "Crypto": D("0.5")}, band=D("0.3")),
        DAY,
    )
    assert [("Exchange", "BTC", D("40"))] == [
        (t.account, t.symbol, t.units) for t in plan.trades if t.action is Action.BUY
    ]


def test_a_rounding_residue_is_no_trade_and_is_not_reported() -> None:
    # half a cent of cash would top up a bucket inside its band: not worth a line
    plan = plan_rebalance(
        [_ira(_h("VTI", "Stocks", "60"), _h("BND", "Bonds", "40"), cash="0.005")],
        Targets(by_class=SIXTY_FORTY, min_trade=D(1)),
        DAY,
    )
    assert ((), ()) == (plan.trades, plan.dropped)
