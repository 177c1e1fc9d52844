"""Tax-loss harvesting: which open lots to sell at a loss, and what a wash sale would undo.

Pure functions over the ledger's types (no I/O):

- :func:`wash_sale` applies the US wash-sale rule (IRS Publication 550) to one sale: the
  loss on as many units as were bought (substantially identical) within 30 days before or
  after the sale is disallowed and added to the basis of those replacement units, matched
  to the purchases in the order they were made (a partial wash sale when fewer units were
  bought than sold).
- :func:`harvest_candidates` lists the open lots, across all of the user's accounts,
  whose unrealized loss at current prices exceeds a threshold, with their holding term,
  the tax the loss could save, the purchases of the last 30 days that would make selling
  now a wash sale, the date until which buying back would too, and highly correlated
  other instruments that could stand in meanwhile.

Holding periods follow :func:`~quantdesk.domain.lots.holding_term` (Publication 550: the
period starts the day after acquisition, so a sale on the first anniversary is short term).
Only "the same instrument" counts as substantially identical here; deciding whether two
different instruments (say two S&P 500 funds) are, is left to the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.lots import TRANSFER_TYPES, Lot, Term, holding_term, pair_transfers, ref_of
from quantdesk.domain.money import ZERO
from quantdesk.domain.transactions import Origin, Transaction, TransactionType, ordered

#: Days before and after a sale in which buying substantially identical units washes it.
WASH_SALE_DAYS = 30
#: Default minimum correlation for a replacement candidate.
DEFAULT_MIN_CORRELATION = Decimal("0.9")

CRYPTO_NOTE = (
    "US wash-sale rules do not apply to crypto as property today; rules differ by jurisdiction"
)


class AcquisitionKind(StrEnum):
    """How units were acquired, for the wash-sale look-back."""

    BUY = "buy"
    REINVESTED_DIVIDEND = "reinvested_dividend"
    TRANSFER_IN = "transfer_in"


@dataclass(frozen=True, slots=True)
class Purchase:
    """Units of an instrument acquired on a day, for ``cost`` in all (a possible
    replacement purchase in a wash sale)."""

    acquired_on: date
    quantity: Decimal
    cost: Decimal | None = None
    account: str = ""
    instrument: InstrumentKey | None = None
    kind: AcquisitionKind = AcquisitionKind.BUY
    #: The replay's id of the entry (``ref_of``): equal to the ``lot_id`` of its lot.
    ref: int | None = None


@dataclass(frozen=True, slots=True)
class BasisAdjustment:
    """The disallowed loss a replacement purchase absorbs into its basis."""

    purchase: Purchase
    #: Units of the purchase matched to sold units (at most the purchase's units).
    matched_units: Decimal
    disallowed_loss: Decimal

    @property
    def adjusted_cost(self) -> Decimal | None:
        """The purchase's basis after the adjustment (its cost plus the disallowed loss)."""
        if self.purchase.cost is None:
            return None
        return self.purchase.cost + self.disallowed_loss


@dataclass(frozen=True, slots=True)
class WashSaleResult:
    """One sale under the wash-sale rule. ``loss`` is positive for a loss, else 0."""

    units: Decimal
    loss: Decimal
    washed_units: Decimal
    disallowed_loss: Decimal
    adjustments: tuple[BasisAdjustment, ...]

    @property
    def deductible_loss(self) -> Decimal:
        return self.loss - self.disallowed_loss

    @property
    def is_wash_sale(self) -> bool:
        return self.disallowed_loss > 0


def in_wash_window(sale_date: date, day: date) -> bool:
    """Whether ``day`` lies within 30 days before or after ``sale_date`` (inclusive)."""
    return abs((day - sale_date).days) <= WASH_SALE_DAYS


def wash_sale(
    *,
    units: Decimal,
    proceeds: Decimal,
    basis: Decimal,
    sale_date: date,
    purchases: Iterable[Purchase],
) -> WashSaleResult:
    """The disallowed part of the loss on selling ``units`` for ``proceeds`` (net) with
    cost ``basis``, given purchases of substantially identical units.

    Purchases outside 30 days before or after ``sale_date`` are ignored; the others are
    matched to the sold units in the order they were made until the sold units run out.
    Each matched unit's share of the loss is disallowed and added to the basis of the
    purchase it was matched to. The purchase of the sold units themselves is not a
    replacement: the caller leaves it out.
    """
    if units <= 0:
        raise InvalidInput(f"a sale gives a positive number of units, not {units}")
    loss = basis - proceeds
    if loss <= 0:
        return WashSaleResult(units, ZERO, ZERO, ZERO, ())
    window = sorted(
        (p for p in purchases if p.quantity > 0 and in_wash_window(sale_date, p.acquired_on)),
        key=lambda p: p.acquired_on,
    )
    remaining = units
    matches: list[tuple[Purchase, Decimal]] = []
    for purchase in window:
        if remaining <= 0:
            break
        matched = min(purchase.quantity, remaining)
        matches.append((purchase, matched))
        remaining -= matched
    washed = units - remaining
    disallowed = loss if washed == units else loss * washed / units
    adjustments: list[BasisAdjustment] = []
    given = ZERO
    for position, (purchase, matched) in enumerate(matches):
        # the last match takes the rounding rest, so the shares add up to the total exactly
        share = disallowed - given if position == len(matches) - 1 else loss * matched / units
        given += share
        adjustments.append(BasisAdjustment(purchase, matched, share))
    return WashSaleResult(units, loss, washed, disallowed, tuple(adjustments))


def acquisitions(transactions: Sequence[Transaction]) -> list[Purchase]:
    """Every acquisition of units in the ledger, in all accounts: buys, reinvested
    dividends (a dividend with a quantity) and transfers in from outside the portfolio.

    A transfer in paired with a transfer out of another of the user's accounts only moves
    units already bought, so it is not an acquisition. An outside transfer in counts on
    its ``acquired_on`` date (the purchase it carries), else its trade date; an opening
    of unknown basis has no known acquisition date and is left out.
    """
    txns = ordered(list(transactions))
    legs = [(ref_of(t, i), t) for i, t in enumerate(txns) if t.type in TRANSFER_TYPES]
    paired_in = set(pair_transfers(legs).values())
    found: list[Purchase] = []
    for index, txn in enumerate(txns):
        key = txn.instrument
        if key is None or key.asset_type is AssetType.CASH or not txn.quantity:
            continue
        ref = ref_of(txn, index)
        if txn.type is TransactionType.BUY:
            kind, day = AcquisitionKind.BUY, txn.traded_on
        elif txn.type is TransactionType.DIVIDEND:
            kind, day = AcquisitionKind.REINVESTED_DIVIDEND, txn.traded_on
        elif txn.type is TransactionType.TRANSFER_IN:
            if ref in paired_in or txn.origin is Origin.UNKNOWN_BASIS:
                continue
            kind, day = AcquisitionKind.TRANSFER_IN, txn.acquired_on or txn.traded_on
        else:
            continue
        gross = txn.gross
        cost = None if gross is None else gross + txn.fees
        found.append(Purchase(day, abs(txn.quantity), cost, txn.account, key, kind, ref))
    return found


@dataclass(frozen=True, slots=True)
class TaxRates:
    """Marginal tax rates on short- and long-term gains, as fractions (0.37 for 37%)."""

    short_term: Decimal
    long_term: Decimal

    def for_term(self, term: Term) -> Decimal:
        return self.long_term if term is Term.LONG else self.short_term


@dataclass(frozen=True, slots=True)
class Replacement:
    """Another instrument that moves with the one sold, to hold during the wash window."""

    symbol: str
    correlation: Decimal


@dataclass(frozen=True, slots=True)
class HarvestCandidate:
    """An open lot whose sale today would realize a loss above the threshold."""

    lot: Lot
    price: Decimal
    market_value: Decimal
    cost_basis: Decimal
    #: Positive: cost basis minus market value.
    loss: Decimal
    term: Term
    tax_rate: Decimal
    #: ``loss`` x ``tax_rate``, before any wash sale.
    tax_saved: Decimal
    #: Acquisitions of the same instrument, in any account, in the 30 days up to today
    #: (the lot's own purchase excluded): selling now would be a wash sale for them.
    conflicts: tuple[Purchase, ...]
    #: The wash-sale rule applied to selling the whole lot today, given ``conflicts``.
    wash: WashSaleResult
    #: Buying the instrument back up to and including this day would wash the sale too.
    buyback_window_closes: date
    replacements: tuple[Replacement, ...]
    is_crypto: bool
    notes: tuple[str, ...]

    @property
    def units(self) -> Decimal:
        return self.lot.quantity

    @property
    def tax_saved_now(self) -> Decimal:
        """Tax saved by the part of the loss that stays deductible after a wash sale."""
        return self.wash.deductible_loss * self.tax_rate


class SkipReason(StrEnum):
    NO_PRICE = "no_price"
    UNKNOWN_BASIS = "unknown_basis"
    UNKNOWN_ACQUISITION_DATE = "unknown_acquisition_date"


@dataclass(frozen=True, slots=True)
class SkippedLot:
    lot: Lot
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class HarvestReport:
    as_of: date
    #: Largest loss first.
    candidates: tuple[HarvestCandidate, ...]
    #: Open lots that could not be assessed (no price, unknown basis or date).
    skipped: tuple[SkippedLot, ...]

    @property
    def total_loss(self) -> Decimal:
        return sum((c.loss for c in self.candidates), ZERO)

    @property
    def total_tax_saved(self) -> Decimal:
        return sum((c.tax_saved for c in self.candidates), ZERO)


def replacements_for(
    symbol: str,
    correlations: Mapping[str, Mapping[str, Decimal]] | None,
    min_correlation: Decimal = DEFAULT_MIN_CORRELATION,
) -> tuple[Replacement, ...]:
    """Other symbols correlated at least ``min_correlation`` with ``symbol``, highest
    first (ties by symbol); the symbol itself is never its own replacement."""
    if not correlations:
        return ()
    own = symbol.strip().upper()
    row = correlations.get(symbol) or correlations.get(own) or {}
    found = [
        Replacement(other.strip().upper(), value)
        for other, value in row.items()
        if other.strip().upper() != own and value >= min_correlation
    ]
    found.sort(key=lambda r: (-r.correlation, r.symbol))
    return tuple(found)


def harvest_candidates(
    lots: Iterable[Lot],
    prices: Mapping[InstrumentKey, Decimal],
    transactions: Sequence[Transaction],
    *,
    as_of: date,
    min_loss: Decimal,
    rates: TaxRates,
    correlations: Mapping[str, Mapping[str, Decimal]] | None = None,
    min_correlation: Decimal = DEFAULT_MIN_CORRELATION,
) -> HarvestReport:
    """Open lots (of all accounts) whose sale at ``prices`` on ``as_of`` would realize a
    loss greater than ``min_loss``, largest loss first.

    Each candidate carries its wash-sale conflicts: acquisitions of the same instrument in
    any account within 30 days before ``as_of`` (buys, reinvested dividends, transfers in
    from outside; see :func:`acquisitions`), with the loss they would disallow. Crypto is
    assessed the same way but flagged (see ``CRYPTO_NOTE``).
    """
    if min_loss < 0:
        raise InvalidInput(f"the minimum loss is not negative, not {min_loss}")
    by_instrument: dict[InstrumentKey, list[Purchase]] = {}
    for purchase in acquisitions(transactions):
        if purchase.instrument is not None and _recent(purchase.acquired_on, as_of):
            by_instrument.setdefault(purchase.instrument, []).append(purchase)
    closes = as_of + timedelta(days=WASH_SALE_DAYS)
    candidates: list[HarvestCandidate] = []
    skipped: list[SkippedLot] = []
    for lot in lots:
        if lot.quantity <= 0:
            continue
        price = prices.get(lot.instrument)
        if lot.cost_basis is None:
            skipped.append(SkippedLot(lot, SkipReason.UNKNOWN_BASIS))
            continue
        if lot.acquired_on is None:
            skipped.append(SkippedLot(lot, SkipReason.UNKNOWN_ACQUISITION_DATE))
            continue
        if price is None:
            skipped.append(SkippedLot(lot, SkipReason.NO_PRICE))
            continue
        value = lot.quantity * price
        loss = lot.cost_basis - value
        if loss <= min_loss:
            continue
        term = holding_term(lot.acquired_on, as_of)
        rate = rates.for_term(term)
        conflicts = tuple(
            p
            for p in by_instrument.get(lot.instrument, ())
            if p.ref != lot.lot_id  # the lot's own purchase is what is sold, not a replacement
        )
        wash = wash_sale(
            units=lot.quantity,
            proceeds=value,
            basis=lot.cost_basis,
            sale_date=as_of,
            purchases=conflicts,
        )
        is_crypto = lot.instrument.asset_type is AssetType.CRYPTO
        notes: list[str] = []
        if is_crypto:
            notes.append(CRYPTO_NOTE)
        if conflicts:
            notes.append(
                f"{wash.washed_units} of {lot.quantity} units would be a wash sale: "
                f"{lot.instrument} was acquired within {WASH_SALE_DAYS} days before "
                f"{as_of.isoformat()}"
            )
        notes.append(
            f"buying {lot.instrument} back (in any account) on or before "
            f"{closes.isoformat()} would make the sale a wash sale"
        )
        candidates.append(
            HarvestCandidate(
                lot=lot,
                price=price,
                market_value=value,
                cost_basis=lot.cost_basis,
                loss=loss,
                term=term,
                tax_rate=rate,
                tax_saved=loss * rate,
                conflicts=conflicts,
                wash=wash,
                buyback_window_closes=closes,
                replacements=replacements_for(lot.instrument.symbol, correlations, min_correlation),
                is_crypto=is_crypto,
                notes=tuple(notes),
            )
        )
    candidates.sort(key=lambda c: (-c.loss, c.lot.account, c.lot.instrument.symbol, c.lot.lot_id))
    return HarvestReport(as_of, tuple(candidates), tuple(skipped))


def _recent(day: date, as_of: date) -> bool:
    """Within the 30 days before ``as_of`` (both ends included)."""
    return as_of - timedelta(days=WASH_SALE_DAYS) <= day <= as_of
