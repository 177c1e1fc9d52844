"""Small builders for ledger entries in tests (Decimals from strings, dates from text)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.transactions import LotPick, Origin, Transaction, TransactionType

AAPL = InstrumentKey("AAPL", AssetType.STOCK)
BTC = InstrumentKey("BTC", AssetType.CRYPTO)
ETH = InstrumentKey("ETH", AssetType.CRYPTO)


def at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)


def D(text: str | int) -> Decimal:  # noqa: N802 - reads like the literal it builds
    return Decimal(str(text))


def trade(
    kind: str,
    day: str,
    quantity: str | None = None,
    price: str | None = None,
    *,
    instrument: InstrumentKey | None = AAPL,
    account: str = "Broker",
    fees: str = "0",
    amount: str | None = None,
    ratio: str | None = None,
    link: str | None = None,
    acquired_on: str | None = None,
    picks: tuple[tuple[int, str], ...] = (),
    origin: Origin = Origin.IMPORT,
    id: int | None = None,
) -> Transaction:
    return Transaction(
        account=account,
        type=TransactionType(kind),
        traded_at=at(day),
        instrument=instrument,
        quantity=None if quantity is None else D(quantity),
        price=None if price is None else D(price),
        fees=D(fees),
        amount=None if amount is None else D(amount),
        split_ratio=None if ratio is None else D(ratio),
        link=link,
        acquired_on=None if acquired_on is None else date.fromisoformat(acquired_on),
        lot_selection=tuple(LotPick(lot, D(q)) for lot, q in picks),
        origin=origin,
        id=id,
    )
