"""Positions: open lots grouped per account (or consolidated), valued at a given price."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.lots import LedgerState, Lot
from quantdesk.domain.money import ZERO


@dataclass(frozen=True, slots=True)
class Quote:
    """A price for valuing a position: per unit, in ``currency``, as of a day."""

    price: Decimal
    currency: str
    as_of: date
    source: str


@dataclass(frozen=True, slots=True)
class Position:
    """Units of one instrument in one account (``account`` None when consolidated).

    ``cost_basis`` is None when some units have unknown basis; ``unknown_basis_quantity``
    says how many. ``market_value`` and ``unrealized_gain`` are None without a price:
    a missing price is reported, never valued at 0.
    """

    account: str | None
    instrument: InstrumentKey
    quantity: Decimal
    currency: str
    cost_basis: Decimal | None
    unknown_basis_quantity: Decimal
    lot_count: int
    quote: Quote | None

    @property
    def average_cost(self) -> Decimal | None:
        if self.cost_basis is None or not self.quantity:
            return None
        return self.cost_basis / self.quantity

    @property
    def market_value(self) -> Decimal | None:
        if self.quote is None or self.quote.currency != self.currency:
            return None
        return self.quantity * self.quote.price

    @property
    def unrealized_gain(self) -> Decimal | None:
        value = self.market_value
        if value is None or self.cost_basis is None:
            return None
        return value - self.cost_basis


def positions(
    state: LedgerState,
    quotes: Mapping[InstrumentKey, Quote] | None = None,
    *,
    consolidated: bool = False,
    account: str | None = None,
) -> list[Position]:
    """Group open lots and cash balances into positions, sorted by account then symbol.

    Cash balances appear only for accounts that record their cash (deposits, withdrawals
    or cash transfers); a holdings-only account's buys are paid from outside.
    """
    quotes = quotes or {}
    groups: dict[tuple[str | None, InstrumentKey, str], list[Lot]] = defaultdict(list)
    for lot in state.open_lots():
        if account is not None and lot.account != account:
            continue
        owner = None if consolidated else lot.account
        groups[(owner, lot.instrument, lot.currency)].append(lot)
    result = [
        _position(owner, key, currency, lots, quotes.get(key))
        for (owner, key, currency), lots in groups.items()
    ]
    cash: dict[tuple[str | None, str], Decimal] = defaultdict(lambda: ZERO)
    for (owner_account, currency), balance in state.cash.items():
        if owner_account not in state.cash_accounts:
            continue
        if account is not None and owner_account != account:
            continue
        cash[(None if consolidated else owner_account, currency)] += balance
    for (owner, currency), balance in cash.items():
        if balance == 0:
            continue
        key = InstrumentKey(currency, AssetType.CASH)
        quote = Quote(Decimal(1), currency, date.min, "cash")
        result.append(Position(owner, key, balance, currency, balance, ZERO, 0, quote))
    result.sort(
        key=lambda p: (p.account or "", p.instrument.asset_type == "cash", p.instrument.symbol)
    )
    return result


def _position(
    owner: str | None, key: InstrumentKey, currency: str, lots: list[Lot], quote: Quote | None
) -> Position:
    quantity = sum((lot.quantity for lot in lots), ZERO)
    known = sum((lot.cost_basis for lot in lots if lot.cost_basis is not None), ZERO)
    unknown = sum((lot.quantity for lot in lots if lot.cost_basis is None), ZERO)
    basis = None if unknown else known
    return Position(owner, key, quantity, currency, basis, unknown, len(lots), quote)


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over positions in one currency; a sum is None when any part is unknown."""

    market_value: Decimal | None
    cost_basis: Decimal | None
    unrealized_gain: Decimal | None


def totals_by_currency(rows: list[Position]) -> dict[str, Totals]:
    def total(values: list[Decimal | None]) -> Decimal | None:
        known = [v for v in values if v is not None]
        return None if len(known) < len(values) else sum(known, ZERO)

    result: dict[str, Totals] = {}
    for currency in sorted({p.currency for p in rows}):
        group = [p for p in rows if p.currency == currency]
        result[currency] = Totals(
            total([p.market_value for p in group]),
            total([p.cost_basis for p in group]),
            total([p.unrealized_gain for p in group]),
        )
    return result


@dataclass(frozen=True, slots=True)
class BaseTotal:
    """Every currency's market value converted into the base currency at its FX rate."""

    currency: str
    market_value: Decimal | None
    rates: dict[str, Decimal]
    #: Currencies held without a stored rate: the total is then unknown (None), never
    #: a sum that silently leaves them out.
    missing_rates: list[str]


def total_in_base(
    totals: Mapping[str, Totals], rates: Mapping[str, Decimal], base: str
) -> BaseTotal:
    """The value of all holdings in ``base``; ``rates`` convert one unit of a currency."""
    used = {c: rates[c] for c in totals if c != base and c in rates}
    missing = sorted(c for c in totals if c != base and c not in rates)
    value = ZERO
    for currency, total in totals.items():
        if total.market_value is None or currency in missing:
            return BaseTotal(base, None, used, missing)
        value += total.market_value * (Decimal(1) if currency == base else used[currency])
    return BaseTotal(base, value, used, missing)


def position_warnings(rows: list[Position]) -> list[str]:
    """What keeps positions from a full valuation: unknown basis, no price, or a price
    in another currency (there is no exchange rate yet)."""
    warnings = []
    for p in rows:
        where = f"{p.instrument.symbol}" + (f" in '{p.account}'" if p.account else "")
        if p.unknown_basis_quantity:
            warnings.append(
                f"{where}: {format(p.unknown_basis_quantity, 'f')} units have an unknown cost "
                "basis (see `quantdesk lots`, complete with `transactions set-basis`)"
            )
        if p.quote is None:
            warnings.append(
                f"{where}: no price stored, so no market value (`quantdesk prices import FILE`)"
            )
        elif p.quote.currency != p.currency:
            warnings.append(
                f"{where}: its price is in {p.quote.currency} but it is held in {p.currency}; "
                "without an exchange rate its value is unknown (give the price file a "
                "currency column, or wait for FX rates)"
            )
    return warnings
