"""Ledger invariants under any sequence of valid entries (hypothesis state machine).

A plain model (units per account and symbol, money in and out) runs beside the lot
engine: units are conserved, no lot goes negative, realized + unrealized P&L equals market
value minus net invested, and a sale beyond the units held is always refused.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from quantdesk.domain.errors import InsufficientLots
from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.lots import CostMethod, replay, stored_units
from quantdesk.domain.transactions import Transaction, TransactionType
from tests import strategies as s
from tests.builders import at

START = at("2020-01-01")
TOLERANCE = Decimal("1e-20")


def _key(symbol: str) -> InstrumentKey:
    return InstrumentKey(symbol, AssetType.STOCK)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ledger: list[Transaction] = []
        self.units: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self.net_invested = Decimal(0)
        self.day = 0
        self.method = CostMethod.FIFO

    @initialize(method=s.methods)
    def choose_method(self, method: CostMethod) -> None:
        self.method = method

    def _a_position(self, data: st.DataObject) -> tuple[str, str]:
        """An (account, symbol) that holds units, drawn by hypothesis."""
        held = sorted(k for k, v in self.units.items() if v > 0)
        return data.draw(st.sampled_from(held))

    def _add(self, kind: TransactionType, account: str, symbol: str, **fields: object) -> None:
        self.day += 1
        self.ledger.append(
            Transaction(
                account=account,
                type=kind,
                traded_at=START + timedelta(days=self.day),
                instrument=_key(symbol),
                id=len(self.ledger) + 1,
                **fields,  # type: ignore[arg-type]
            )
        )

    @rule(account=s.accounts, symbol=s.symbols, quantity=s.quantities, price=s.prices, fee=s.fees)
    def buy(
        self, account: str, symbol: str, quantity: Decimal, price: Decimal, fee: Decimal
    ) -> None:
        self._add(TransactionType.BUY, account, symbol, quantity=quantity, price=price, fees=fee)
        self.units[(account, symbol)] += quantity
        self.net_invested += quantity * price + fee

    @precondition(lambda self: any(self.units.values()))
    @rule(data=st.data(), quantity=s.quantities, price=s.prices)
    def reinvest_dividend(self, data: st.DataObject, quantity: Decimal, price: Decimal) -> None:
        """A reinvested dividend: income that buys units at its price (a new lot)."""
        account, symbol = self._a_position(data)
        self._add(TransactionType.DIVIDEND, account, symbol, quantity=quantity, price=price)
        self.units[(account, symbol)] += quantity
        self.net_invested += quantity * price

    @precondition(lambda self: any(self.units.values()))
    @rule(data=st.data(), fraction=s.fractions, price=s.prices, received=s.quantities)
    def convert(
        self, data: st.DataObject, fraction: Decimal, price: Decimal, received: Decimal
    ) -> None:
        """A conversion into the other symbol: a disposal at fair value and a new lot."""
        account, symbol = self._a_position(data)
        other = "BBB" if symbol == "AAA" else "AAA"
        given = stored_units(self.units[(account, symbol)] * fraction)
        if not given:
            return
        value = given * price
        link = f"c{len(self.ledger)}"
        self._add(
            TransactionType.CONVERSION, account, symbol, quantity=-given, price=price, link=link
        )
        self._add(
            TransactionType.CONVERSION,
            account,
            other,
            quantity=received,
            price=value / received,
            link=link,
        )
        self.units[(account, symbol)] -= given
        self.units[(account, other)] += received
        # the new lot's basis is the value given up: value in, value out, nothing invested
        self.net_invested += received * (value / received) - value

    @precondition(lambda self: any(self.units.values()))
    @rule(data=st.data(), fraction=s.fractions, price=s.prices, fee=s.fees)
    def sell(self, data: st.DataObject, fraction: Decimal, price: Decimal, fee: Decimal) -> None:
        account, symbol = self._a_position(data)
        quantity = stored_units(self.units[(account, symbol)] * fraction)  # as a file could say
        if not quantity:
            return
        self._add(TransactionType.SELL, account, symbol, quantity=quantity, price=price, fees=fee)
        self.units[(account, symbol)] -= quantity
        self.net_invested -= quantity * price - fee

    @precondition(lambda self: any(self.units.values()))
    @rule(data=st.data(), ratio=s.split_ratios)
    def split(self, data: st.DataObject, ratio: Decimal) -> None:
        account, symbol = self._a_position(data)
        self._add(TransactionType.SPLIT, account, symbol, split_ratio=ratio)
        self.units[(account, symbol)] = stored_units(self.units[(account, symbol)] * ratio)

    @precondition(lambda self: any(self.units.values()))
    @rule(data=st.data(), fraction=s.fractions)
    def transfer(self, data: st.DataObject, fraction: Decimal) -> None:
        source, symbol = self._a_position(data)
        destination = "IRA" if source == "Taxable" else "Taxable"
        quantity = stored_units(self.units[(source, symbol)] * fraction)
        if not quantity:
            return
        link = f"t{len(self.ledger)}"
        self._add(TransactionType.TRANSFER_OUT, source, symbol, quantity=quantity, link=link)
        self._add(TransactionType.TRANSFER_IN, destination, symbol, quantity=quantity, link=link)
        self.units[(source, symbol)] -= quantity
        self.units[(destination, symbol)] += quantity

    @invariant()
    def units_are_conserved_and_lots_never_negative(self) -> None:
        state = replay(self.ledger, method=self.method)
        engine: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for lot in state.lots:
            assert lot.quantity > 0
            assert lot.cost_basis is not None and lot.cost_basis >= 0
            engine[(lot.account, lot.instrument.symbol)] += lot.quantity
        for key, units in self.units.items():
            assert abs(units - engine.get(key, Decimal(0))) <= TOLERANCE

    @invariant()
    def realized_plus_unrealized_equals_value_minus_net_invested(self) -> None:
        state = replay(self.ledger, method=self.method)
        marks = {"AAA": Decimal("123.45"), "BBB": Decimal("0.5")}
        realized = sum((d.gain for d in state.disposals if d.gain is not None), Decimal(0))
        value = sum((lot.quantity * marks[lot.instrument.symbol] for lot in state.lots), Decimal(0))
        unrealized = value - sum((lot.cost_basis or 0 for lot in state.lots), Decimal(0))
        assert abs((realized + unrealized) - (value - self.net_invested)) <= Decimal("1e-12")

    @invariant()
    def a_sale_beyond_the_units_held_is_refused(self) -> None:
        account, symbol = "Taxable", "AAA"
        held = self.units.get((account, symbol), Decimal(0))
        oversell = Transaction(
            account=account,
            type=TransactionType.SELL,
            traded_at=START + timedelta(days=self.day + 1),
            instrument=_key(symbol),
            quantity=held + Decimal("0.0001"),
            price=Decimal(1),
        )
        with pytest.raises(InsufficientLots):
            replay([*self.ledger, oversell], method=self.method)


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestLedgerInvariants = LedgerMachine.TestCase


@given(quantity=s.quantities, price=s.prices, fee=s.fees, extra=s.quantities)
@settings(max_examples=100, deadline=None)
def test_selling_more_than_bought_names_the_exact_shortfall(
    quantity: Decimal, price: Decimal, fee: Decimal, extra: Decimal
) -> None:
    """However much is bought, selling `extra` more fails and says by how much."""
    key = _key("AAA")
    ledger = [
        Transaction("A", TransactionType.BUY, START, key, quantity, price, fee),
        Transaction(
            "A", TransactionType.SELL, START + timedelta(days=1), key, quantity + extra, price
        ),
    ]
    with pytest.raises(InsufficientLots) as caught:
        replay(ledger)
    assert extra == caught.value.shortfalls[0].missing
