"""Holdings snapshots: opening balances the first time, marked adjustments after.

A snapshot says what an account holds at the moment it is uploaded. For every symbol the
ledger does not hold yet, each snapshot row becomes an opening balance: a
``transfer_in`` of origin ``snapshot``, dated its purchase date (the upload instant when
absent), at its cost basis per unit (unknown when empty). Where the ledger already holds
the symbol, only the difference is recorded, as ``adjustment`` entries dated the upload
instant (after every trade recorded before it, that day's included): more
units come in at the cost of the newest snapshot rows, fewer units go out as a
``transfer_out`` (a snapshot does not say they were sold, so no gain is invented). A
symbol the account holds but the snapshot omits is taken out the same way. Cash rows
(asset type ``cash``, the currency code as symbol) set the account's cash balance through
``deposit``/``withdrawal`` entries. Uploading the same snapshot again changes nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal

from quantdesk.domain.accounts import Account
from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.lots import replay
from quantdesk.domain.money import ZERO
from quantdesk.domain.transactions import Origin, Transaction, TransactionType
from quantdesk.importers.base import HoldingRow, Issues
from quantdesk.services.import_report import ImportReport
from quantdesk.services.ports import LedgerStore, NewRow
from quantdesk.services.resolve import AccountResolver, InstrumentResolver

_CURRENCY = re.compile(r"[A-Z]{3}").fullmatch


def reconcile_snapshot(
    store: LedgerStore,
    holdings: list[HoldingRow],
    default_account: Account | None,
    issues: Issues,
    report: ImportReport,
    now: datetime,
    import_id: int,
) -> int:
    """Record what it takes for the ledger to hold exactly the snapshot; returns how many
    entries that took."""
    as_of = now.date()
    account_of = AccountResolver(store, default_account, issues)
    referenced: dict[str, Account] = {}  # only these accounts are reconciled
    resolver = InstrumentResolver(store, now)
    resolver.prefetch(h.symbol for h in holdings if h.asset_type is not AssetType.CASH)
    wanted: dict[str, dict[InstrumentKey, list[HoldingRow]]] = defaultdict(
        lambda: defaultdict(list)
    )
    cash_wanted: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    currencies: dict[tuple[str, InstrumentKey], str] = {}
    for row in holdings:
        account = account_of(row.account, row.line)
        if account is None:
            continue
        referenced[account.name] = account
        currency = row.currency or account.currency
        if row.asset_type is AssetType.CASH:  # USD,1500,cash or CASH,1500,cash,...,EUR
            code = row.currency or (row.symbol if _CURRENCY(row.symbol) else account.currency)
            cash_wanted[account.name][code] += row.quantity
            continue
        instrument = resolver.resolve(row.symbol, row.asset_type, currency, issues, row.line)
        if instrument is not None:
            wanted[account.name][instrument.key].append(row)
            currencies[(account.name, instrument.key)] = row.currency or instrument.currency
    if issues:
        return 0
    # What the ledger holds at the upload instant (trades earlier today included).
    ledger = [t for t in store.ledger() if t.traded_at <= now]
    held = replay(ledger, presorted=True)
    # Openings dated by purchase date only where the ledger never had the symbol in the
    # account: backdating units into a history that sold them would change its gains.
    known = {(t.account, t.instrument) for t in ledger if t.instrument is not None}
    quantities: dict[tuple[str, InstrumentKey], Decimal] = defaultdict(lambda: ZERO)
    held_currency: dict[tuple[str, InstrumentKey], str] = {}
    for lot in held.lots:
        quantities[(lot.account, lot.instrument)] += lot.quantity
        held_currency[(lot.account, lot.instrument)] = lot.currency
    resolver.prefetch(key.symbol for _, key in quantities)  # held, maybe not in the file
    new: list[NewRow] = []
    for name, account in referenced.items():
        assert account.id is not None
        targets = wanted.get(name, {})
        keys = set(targets) | {k for (a, k) in quantities if a == name and quantities[(a, k)] > 0}
        for key in sorted(keys, key=str):
            rows = targets.get(key, [])
            have = quantities.get((name, key), ZERO)
            target = sum((r.quantity for r in rows), ZERO)
            currency = currencies.get((name, key)) or held_currency.get(
                (name, key), account.currency
            )
            instrument = resolver.resolve(key.symbol, key.asset_type, currency, issues, 0)
            assert instrument is not None and instrument.id is not None  # typed: never an issue
            instrument_id = instrument.id
            fresh = (name, key) not in known
            for txn in _entries(name, key, currency, rows, have, target, now, fresh=fresh):
                new.append((account.id, instrument_id, txn))
        for currency, amount in cash_wanted.get(name, {}).items():
            # The balance the ledger implies, even for an account that recorded no cash
            # before: its first cash row makes it track cash, and from then on its buys
            # and sells move that cash.
            balance = held.cash.get((name, currency), ZERO)
            delta = amount - balance
            if delta:
                kind = TransactionType.DEPOSIT if delta > 0 else TransactionType.WITHDRAWAL
                origin = Origin.SNAPSHOT if name not in held.cash_accounts else Origin.ADJUSTMENT
                new.append(
                    (
                        account.id,
                        None,
                        Transaction(
                            account=name,
                            type=kind,
                            traded_at=now,
                            timed=True,
                            amount=abs(delta),
                            currency=currency,
                            origin=origin,
                            description=(
                                f"cash balance set to {amount} by holdings snapshot of {as_of}"
                            ),
                        ),
                    )
                )
    adjustments = sum(1 for _, _, t in new if t.origin is Origin.ADJUSTMENT)
    report.adjustments = adjustments
    report.preview.extend(t for _, _, t in new[:20])
    return store.add_transactions(new, now, import_id=import_id)


def _entries(
    account: str,
    key: InstrumentKey,
    currency: str,
    rows: list[HoldingRow],
    have: Decimal,
    target: Decimal,
    now: datetime,
    *,
    fresh: bool,
) -> list[Transaction]:
    as_of = now.date()
    if have == target:
        return []
    if fresh:  # opening balances, one lot per row, dated by purchase
        return [
            Transaction(
                account=account,
                type=TransactionType.TRANSFER_IN,
                traded_at=_day(r.purchased_on) if r.purchased_on else now,
                timed=r.purchased_on is None,
                instrument=key,
                quantity=r.quantity,
                price=r.cost_per_unit,
                currency=currency,
                acquired_on=r.purchased_on or as_of,
                origin=Origin.SNAPSHOT,
                description=f"opening balance from holdings snapshot of {as_of} (line {r.line})",
            )
            for r in rows
            if r.quantity > 0
        ]
    delta = target - have
    if delta < 0:
        return [
            Transaction(
                account=account,
                type=TransactionType.TRANSFER_OUT,
                traded_at=now,
                timed=True,
                instrument=key,
                quantity=-delta,
                currency=currency,
                origin=Origin.ADJUSTMENT,
                description=(
                    f"adjustment: holdings snapshot of {as_of} shows {target}, ledger held {have}"
                ),
            )
        ]
    entries: list[Transaction] = []
    remaining = delta
    for r in sorted(rows, key=lambda r: r.purchased_on or as_of, reverse=True):
        if remaining <= 0:
            break
        take = min(r.quantity, remaining)
        remaining -= take
        entries.append(
            Transaction(
                account=account,
                type=TransactionType.TRANSFER_IN,
                traded_at=now,
                timed=True,
                instrument=key,
                quantity=take,
                price=r.cost_per_unit,
                currency=currency,
                acquired_on=r.purchased_on or as_of,
                origin=Origin.ADJUSTMENT,
                description=(
                    f"adjustment: holdings snapshot of {as_of} shows {target}, ledger held {have}"
                ),
            )
        )
    return entries


def _day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
