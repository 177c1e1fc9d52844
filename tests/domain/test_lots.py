"""Lot engine: cost methods, holding periods, splits, transfers, conversions, income."""

from __future__ import annotations

from datetime import date

import pytest

from quantdesk.domain.errors import InsufficientLots, LedgerError
from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.lots import CostMethod, Term, holding_term, one_year_after, replay
from quantdesk.domain.transactions import Origin, day_bucket, ledger_order_key, same_time_priority
from tests.builders import AAPL, BTC, ETH, D, trade


def _three_buys() -> list:
    return [
        trade("buy", "2023-01-10", "10", "100", id=1),
        trade("buy", "2023-06-10", "10", "150", id=2),
        trade("buy", "2023-09-10", "10", "120", id=3),
    ]


@pytest.mark.parametrize(
    ("method", "expected_basis"),
    [
        (CostMethod.FIFO, D("1750")),  # 10 @ 100 (lot 1) + 5 @ 150 (lot 2)
        (CostMethod.LIFO, D("1950")),  # 10 @ 120 (lot 3) + 5 @ 150 (lot 2)
        (CostMethod.HIFO, D("2100")),  # 10 @ 150 (lot 2) + 5 @ 120 (lot 3)
        (CostMethod.AVERAGE, D("1850")),  # 15 x 3700 / 30
        (CostMethod.SPECIFIC, D("1750")),  # no lots named: FIFO
    ],
)
def test_sale_basis_follows_the_cost_method(method: CostMethod, expected_basis) -> None:
    """Selling 15 of 30 units takes the basis each method prescribes; the rest stays."""
    ledger = [*_three_buys(), trade("sell", "2024-03-01", "15", "200", id=4)]
    state = replay(ledger, method=method)
    assert expected_basis == sum(d.cost_basis for d in state.disposals)
    assert D("3000") == sum(d.proceeds for d in state.disposals)
    assert D("15") == sum(lot.quantity for lot in state.lots)
    assert D("3700") - expected_basis == sum(lot.cost_basis for lot in state.lots)


def test_average_cost_gives_every_remaining_lot_the_pool_average() -> None:
    """Under average cost the remaining units all carry the pool's cost per unit."""
    state = replay(
        [*_three_buys(), trade("sell", "2024-03-01", "15", "200")], method=CostMethod.AVERAGE
    )
    average = D("3700") / D("30")
    assert all(abs(lot.cost_per_unit - average) < D("1e-20") for lot in state.lots)
    # units leave in acquisition order, so the holding period stays that of the oldest
    assert [date(2023, 1, 10)] == [d.acquired_on for d in state.disposals][:1]


def test_specific_identification_sells_the_chosen_lot_and_falls_back_to_fifo() -> None:
    """A sale naming lot 2 takes lot 2; a sale naming nothing takes the oldest lot."""
    ledger = [
        *_three_buys(),
        trade("sell", "2024-03-01", "4", "200", picks=((2, "4"),), id=4),
        trade("sell", "2024-03-02", "3", "200", id=5),
    ]
    state = replay(ledger, method=CostMethod.SPECIFIC)
    first, second = state.disposals
    assert (2, D("600")) == (first.lot_id, first.cost_basis)
    assert (1, D("300")) == (second.lot_id, second.cost_basis)


def test_specific_identification_of_a_lot_that_cannot_cover_the_sale_is_an_error() -> None:
    """Naming a lot for more units than it holds is refused, naming the lot."""
    ledger = [*_three_buys(), trade("sell", "2024-03-01", "12", "200", picks=((2, "12"),))]
    with pytest.raises(LedgerError, match="lot 2"):
        replay(ledger, method=CostMethod.SPECIFIC)


def test_fees_go_into_basis_and_out_of_proceeds() -> None:
    """A $5 buy fee raises the basis; a $3 sell fee lowers the proceeds."""
    state = replay(
        [
            trade("buy", "2024-01-02", "10", "100", fees="5"),
            trade("sell", "2024-02-01", "10", "110", fees="3"),
        ]
    )
    (sale,) = state.disposals
    assert (D("1097"), D("1005"), D("92")) == (sale.proceeds, sale.cost_basis, sale.gain)


@pytest.mark.parametrize(
    ("acquired", "sold", "term"),
    [
        ("2023-03-15", "2024-03-15", Term.SHORT),  # exactly one year: not more than a year
        ("2023-03-15", "2024-03-16", Term.LONG),
        ("2024-02-29", "2025-02-28", Term.SHORT),
        ("2024-02-29", "2025-03-01", Term.LONG),
    ],
)
def test_long_term_means_held_more_than_one_year(acquired: str, sold: str, term: Term) -> None:
    """The one-year boundary: a sale on the anniversary is still short term."""
    assert term == holding_term(date.fromisoformat(acquired), date.fromisoformat(sold))


def test_anniversary_of_leap_day_is_the_28th() -> None:
    assert date(2025, 2, 28) == one_year_after(date(2024, 2, 29))


def test_a_sale_spanning_lots_splits_into_short_and_long_term_parts() -> None:
    """Selling across an old and a new lot realizes one long and one short gain."""
    state = replay(
        [
            trade("buy", "2022-01-03", "5", "100"),
            trade("buy", "2024-01-03", "5", "200"),
            trade("sell", "2024-06-03", "8", "250"),
        ]
    )
    terms = [(d.quantity, d.term, d.gain) for d in state.disposals]
    assert [(D(5), Term.LONG, D(750)), (D(3), Term.SHORT, D(150))] == terms


def test_split_multiplies_units_and_keeps_basis_and_dates() -> None:
    """A 4-for-1 split turns 10 units at $400 into 40 units at $100, same acquisition day."""
    state = replay(
        [trade("buy", "2020-01-02", "10", "400"), trade("split", "2020-08-31", ratio="4")]
    )
    (lot,) = state.lots
    assert (D(40), D(4000), D(100), date(2020, 1, 2)) == (
        lot.quantity,
        lot.cost_basis,
        lot.cost_per_unit,
        lot.acquired_on,
    )


def test_split_given_as_units_added_derives_the_ratio() -> None:
    """A split row saying 30 units were added to 10 held is a 4-for-1 split."""
    state = replay([trade("buy", "2020-01-02", "10", "400"), trade("split", "2020-08-31", "30")])
    assert D(40) == state.lots[0].quantity


def test_reverse_split_reduces_units() -> None:
    state = replay(
        [trade("buy", "2020-01-02", "100", "1"), trade("split", "2021-01-04", ratio="0.1")]
    )
    assert (D(10), D(100)) == (state.lots[0].quantity, state.lots[0].cost_basis)


def test_transfer_between_accounts_keeps_basis_and_holding_period() -> None:
    """Moving units to another account keeps their cost and acquisition date: no gain."""
    state = replay(
        [
            trade("buy", "2021-05-03", "10", "100", account="Old"),
            trade("transfer_out", "2023-02-01", "10", account="Old"),
            trade("transfer_in", "2023-02-01", "10", account="New"),
            trade("sell", "2023-03-01", "10", "130", account="New"),
        ]
    )
    (sale,) = state.disposals
    assert ("New", D(1000), date(2021, 5, 3), Term.LONG) == (
        sale.account,
        sale.cost_basis,
        sale.acquired_on,
        sale.term,
    )
    assert [] == state.lots


def test_transfer_in_listed_before_its_transfer_out_still_moves_the_lots() -> None:
    """Legs paired by link move the source's lots whichever leg the ledger meets first."""
    state = replay(
        [
            trade("buy", "2021-05-03", "10", "100", account="Old"),
            trade("transfer_in", "2023-02-01", "4", account="New", link="t1"),
            trade("transfer_out", "2023-02-02", "4", account="Old", link="t1"),
        ]
    )
    by_account = {lot.account: (lot.quantity, lot.cost_basis) for lot in state.lots}
    assert {"Old": (D(6), D(600)), "New": (D(4), D(400))} == by_account


def test_unpaired_transfer_in_opens_a_lot_at_its_price_and_acquisition_date() -> None:
    state = replay(
        [
            trade(
                "transfer_in",
                "2024-01-05",
                "3",
                "50",
                acquired_on="2019-07-01",
                origin=Origin.SNAPSHOT,
            )
        ]
    )
    (lot,) = state.lots
    assert (D(150), date(2019, 7, 1), Origin.SNAPSHOT) == (
        lot.cost_basis,
        lot.acquired_on,
        lot.origin,
    )


def test_conversion_realizes_a_gain_and_opens_the_new_coin_at_fair_value() -> None:
    """Converting 1 ETH (bought at 2000, worth 3000) into 0.05 BTC realizes 1000."""
    state = replay(
        [
            trade("buy", "2024-01-02", "1", "2000", instrument=ETH),
            trade("conversion", "2024-05-01", "-1", "3000", instrument=ETH, link="c"),
            trade("conversion", "2024-05-01", "0.05", "60000", instrument=BTC, link="c"),
        ]
    )
    (disposal,) = state.disposals
    (lot,) = state.lots
    assert (ETH, D(1000)) == (disposal.instrument, disposal.gain)
    assert (BTC, D("0.05"), D(3000)) == (lot.instrument, lot.quantity, lot.cost_basis)


def test_staking_reward_is_income_at_fair_value_and_a_lot_at_that_basis() -> None:
    state = replay([trade("staking_reward", "2024-03-01", "0.01", "3000", instrument=ETH)])
    (income,) = state.income
    (lot,) = state.lots
    assert (D(30), D(30)) == (income.amount, lot.cost_basis)


def test_reinvested_dividend_is_income_that_buys_units() -> None:
    """A reinvested $20 dividend buys 0.1 units at 200 and leaves cash unchanged."""
    state = replay(
        [
            trade("deposit", "2024-01-02", amount="1000", instrument=None),
            trade("dividend", "2024-03-01", "0.1", "200", amount="20"),
        ]
    )
    (income,) = state.income
    assert D(20) == income.amount
    assert (D("0.1"), D(20)) == (state.lots[0].quantity, state.lots[0].cost_basis)
    assert D(1000) == state.cash[("Broker", "USD")]


def test_cash_balance_follows_every_cash_entry() -> None:
    """Deposits, buys, sells, dividends, interest, fees, taxes and withdrawals move cash."""
    ledger = [
        trade("deposit", "2024-01-02", amount="10000", instrument=None),
        trade("buy", "2024-01-03", "10", "100", fees="1"),
        trade("sell", "2024-02-03", "5", "120", fees="1"),
        trade("dividend", "2024-03-01", amount="4"),
        trade("tax", "2024-03-01", amount="0.6"),
        trade("interest", "2024-03-31", amount="2.5", instrument=None),
        trade("fee", "2024-04-01", amount="10", instrument=None),
        trade("withdrawal", "2024-05-01", amount="500", instrument=None),
    ]
    state = replay(ledger)
    expected = D(10000) - D(1001) + D(599) + D(4) - D("0.6") + D("2.5") - D(10) - D(500)
    assert expected == state.cash[("Broker", "USD")]
    assert {"Broker"} == state.cash_accounts


def test_selling_more_than_held_names_instrument_shortfall_and_the_way_out() -> None:
    with pytest.raises(InsufficientLots) as caught:
        replay(
            [trade("buy", "2024-01-02", "5", "10"), trade("sell", "2024-02-01", "8", "12", id=7)]
        )
    message = str(caught.value)
    assert "AAPL" in message and "short by 3" in message and "--allow-unknown-basis" in message
    assert 7 == caught.value.shortfalls[0].transaction_ref


def test_collected_shortfall_becomes_unknown_basis_and_its_gain_is_unknown() -> None:
    """With shortfalls collected, the missing units have unknown basis and gain, not 0."""
    state = replay(
        [trade("buy", "2024-01-02", "5", "10"), trade("sell", "2024-02-01", "8", "12")],
        collect_shortfalls=True,
    )
    gains = sorted((d.quantity, d.gain) for d in state.disposals)
    assert [(D(3), None), (D(5), D(10))] == gains
    assert [D(3)] == [s.missing for s in state.shortfalls]


def test_same_day_buy_is_applied_before_the_sale_listed_first() -> None:
    """A newest-first export lists a day's sale above its buy; the ledger still balances."""
    state = replay([trade("sell", "2024-02-01", "5", "12"), trade("buy", "2024-02-01", "5", "10")])
    assert D(10) == state.disposals[0].gain


def test_hifo_puts_unknown_basis_lots_last() -> None:
    state = replay(
        [
            trade("transfer_in", "2020-01-01", "5", origin=Origin.UNKNOWN_BASIS),
            trade("buy", "2024-01-02", "5", "10"),
            trade("sell", "2024-02-01", "5", "12"),
        ],
        method=CostMethod.HIFO,
    )
    assert D(10) == state.disposals[0].gain


def test_btc_and_aapl_lots_never_mix() -> None:
    state = replay(
        [
            trade("buy", "2024-01-02", "1", "10"),
            trade("buy", "2024-01-02", "1", "10", instrument=BTC),
        ]
    )
    assert {AAPL, BTC} == {lot.instrument for lot in state.lots}


def test_average_cost_with_units_of_unknown_basis_leaves_the_whole_sale_unknown() -> None:
    """A pool with unknown-basis units has an unknown average: no gain is made up."""
    state = replay(
        [
            trade("transfer_in", "2020-01-01", "10", origin=Origin.UNKNOWN_BASIS),
            trade("buy", "2024-01-02", "10", "100"),
            trade("buy", "2024-01-03", "10", "300"),
            trade("sell", "2024-02-01", "15", "200"),
        ],
        method=CostMethod.AVERAGE,
    )
    assert [None] == list({d.gain for d in state.disposals})


def test_transfer_that_arrives_short_keeps_its_basis_in_the_units_that_arrive() -> None:
    """1 BTC sent, 0.9995 received (network fee): the wallet holds 0.9995 at the full basis."""
    state = replay(
        [
            trade("buy", "2024-01-02", "1", "30000", instrument=BTC, account="Exchange"),
            trade("transfer_out", "2024-02-01", "1", instrument=BTC, account="Exchange", link="w"),
            trade(
                "transfer_in", "2024-02-01", "0.9995", instrument=BTC, account="Wallet", link="w"
            ),
        ]
    )
    (lot,) = state.lots
    assert ("Wallet", D("0.9995"), D(30000)) == (lot.account, lot.quantity, lot.cost_basis)
    with pytest.raises(InsufficientLots):
        replay(
            [
                *_btc_moved(),
                trade("sell", "2024-03-01", "1", "40000", instrument=BTC, account="Wallet"),
            ]
        )


def _btc_moved() -> list:
    return [
        trade("buy", "2024-01-02", "1", "30000", instrument=BTC, account="Exchange"),
        trade("transfer_out", "2024-02-01", "1", instrument=BTC, account="Exchange", link="w"),
        trade("transfer_in", "2024-02-01", "0.9995", instrument=BTC, account="Wallet", link="w"),
    ]


def test_a_chosen_lot_must_give_a_positive_number_of_units() -> None:
    ledger = [
        *_three_buys(),
        trade("sell", "2024-03-01", "10", "200", picks=((1, "-5"), (2, "10"), (3, "5"))),
    ]
    with pytest.raises(LedgerError, match="positive"):
        replay(ledger, method=CostMethod.SPECIFIC)


def test_ledger_order_key_agrees_with_its_parts() -> None:
    """The inlined sort key orders as day_bucket and same_time_priority say."""
    entries = [
        trade("sell", "2024-03-05"),
        trade("buy", "2024-03-05"),
        trade("transfer_in", "2024-03-05", origin=Origin.UNKNOWN_BASIS),
        trade("split", "2024-03-05", ratio="2"),
    ]
    for entry in entries:
        key = ledger_order_key(entry)
        assert (entry.traded_on, day_bucket(entry), same_time_priority(entry)) == (
            key[0],
            key[1],
            key[3],
        )


def test_a_same_day_buy_then_transfer_moves_the_bought_units() -> None:
    """Date-only: buy in A, transfer A to B the same day: B holds them, A holds none."""
    state = replay(
        [
            trade("transfer_in", "2024-01-02", "10", account="B"),
            trade("transfer_out", "2024-01-02", "10", account="A"),
            trade("buy", "2024-01-02", "10", "100", account="A"),
        ]
    )
    assert [("B", D(10), D(1000))] == [
        (lot.account, lot.quantity, lot.cost_basis) for lot in state.lots
    ]


def test_a_split_given_as_units_added_holds_exactly_the_new_total() -> None:
    state = replay(
        [
            trade("buy", "2024-01-02", "1", "30"),
            trade("buy", "2024-01-03", "2", "30"),
            trade("split", "2024-02-01", "1"),
        ]
    )
    assert D(4) == sum(lot.quantity for lot in state.lots)
    sold = replay([*_split_ledger(), trade("sell", "2024-03-01", "4", "40")])
    assert [] == sold.lots


def _split_ledger() -> list:
    return [
        trade("buy", "2024-01-02", "1", "30"),
        trade("buy", "2024-01-03", "2", "30"),
        trade("split", "2024-02-01", "1"),
    ]


def test_split_and_transfer_quantities_keep_to_the_ledgers_18_decimals() -> None:
    state = replay(
        [
            trade("buy", "2024-01-02", "0.000000000000000003", "1", instrument=BTC, account="X"),
            trade("split", "2024-02-01", ratio="0.5", instrument=BTC, account="X"),
            trade(
                "transfer_out",
                "2024-03-01",
                "0.000000000000000002",
                instrument=BTC,
                account="X",
                link="t",
            ),
            trade(
                "transfer_in",
                "2024-03-01",
                "0.000000000000000001",
                instrument=BTC,
                account="Y",
                link="t",
            ),
        ]
    )
    assert all(lot.quantity.as_tuple().exponent >= -18 for lot in state.lots)  # type: ignore[operator]


def test_chained_same_day_conversions_work_in_either_row_order() -> None:
    """USDC to ETH, then ETH to BTC, all date-only: a newest-first export works too."""
    usdc = InstrumentKey("USDC", AssetType.CRYPTO)
    legs = [
        trade("conversion", "2024-03-05", "-3000", "1", instrument=usdc, link="a"),
        trade("conversion", "2024-03-05", "1", "3000", instrument=ETH, link="a"),
        trade("conversion", "2024-03-05", "-1", "3000", instrument=ETH, link="b"),
        trade("conversion", "2024-03-05", "0.05", "60000", instrument=BTC, link="b"),
    ]
    opening = trade("buy", "2024-03-01", "3000", "1", instrument=usdc)
    for order in (legs, legs[::-1]):
        state = replay([opening, *order])
        assert [(BTC, D("0.05"))] == [(lot.instrument, lot.quantity) for lot in state.lots]


def test_cash_is_tracked_from_the_first_deposit_not_before() -> None:
    """Buys made before an account's first deposit do not drain a cash balance it never had."""
    state = replay(
        [
            trade("buy", "2024-01-02", "10", "100"),
            trade("deposit", "2024-01-10", amount="500", instrument=None),
            trade("buy", "2024-01-11", "1", "99"),
        ]
    )
    assert {("Broker", "USD"): D("401")} == state.cash
