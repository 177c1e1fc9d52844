"""Import a file into the ledger: all rows or none, never a duplicate.

Trades files are streamed in chunks inside one database transaction: each chunk is
validated, resolved and inserted, and the whole import is rolled back if any row is bad,
if the ledger would sell units it does not hold, or on a dry run. Holdings snapshots are
reconciled against what the ledger already holds (see :mod:`quantdesk.services.snapshot`).
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO

from quantdesk.domain.accounts import Account
from quantdesk.domain.errors import InsufficientLots, InvalidInput, Shortfall
from quantdesk.domain.instruments import Instrument, InstrumentKey
from quantdesk.domain.lots import TRANSFER_TYPES, replay
from quantdesk.domain.transactions import Origin, Transaction, TransactionType
from quantdesk.importers.base import Issues, ParsedTransaction
from quantdesk.importers.csvio import ByteSource, normalize_header, open_csv
from quantdesk.importers.generic import (
    FORMATS,
    TRADES,
    FormatSpec,
    check_header,
    detect,
    parse_holdings,
    parse_trades,
)
from quantdesk.services.import_report import ImportReport
from quantdesk.services.ports import LedgerStore, NewRow, UnitOfWork
from quantdesk.services.resolve import InstrumentResolver, account_for
from quantdesk.services.snapshot import reconcile_snapshot

CHUNK = 5_000
PREVIEW = 20


class _Rejected(Exception):
    """Raised inside the unit of work to roll back an import with row issues."""


@dataclass(slots=True)
class ImportOptions:
    account: str | None = None
    format: str = "auto"
    dry_run: bool = False
    allow_unknown_basis: bool = False


def formats() -> tuple[FormatSpec, ...]:
    return FORMATS


def import_file(
    uow: UnitOfWork,
    path: Path,
    options: ImportOptions,
    *,
    clock: Callable[[], datetime],
) -> ImportReport:
    """Import ``path``; on any bad row nothing is stored and every issue is reported."""
    with path.open("rb") as stream:
        return import_stream(uow, stream, path.name, options, clock=clock)


def import_stream(
    uow: UnitOfWork,
    stream: IO[bytes],
    filename: str,
    options: ImportOptions,
    *,
    clock: Callable[[], datetime],
) -> ImportReport:
    now = clock()
    digest = hashlib.sha256()
    hashed = io.BufferedReader(ByteSource(stream, digest.update), buffer_size=64 * 1024)
    dialect, records = open_csv(hashed)
    first = next(records, None)
    if first is None:
        raise InvalidInput("the file is empty")
    header = normalize_header(first[1])
    spec = _choose_format(header, options.format)
    check_header(spec, header)
    report = ImportReport(filename, spec.name, dry_run=options.dry_run)
    records = _counted(records, report)
    issues = Issues()
    try:
        with uow(commit=not options.dry_run) as store:
            account = store.account(options.account) if options.account else None
            if spec is TRADES:
                rows = parse_trades(records, header, dialect, today=now.date(), issues=issues)
                ids = _import_trades(store, rows, account, issues, report, options, now)
            else:
                holdings = list(
                    parse_holdings(records, header, dialect, today=now.date(), issues=issues)
                )
                previous = store.find_import(digest.hexdigest(), spec.name)
                if previous is None:
                    ids = reconcile_snapshot(store, holdings, account, issues, report, now)
                else:  # the very same snapshot file again: it must not be re-applied
                    ids, report.duplicates, report.already_imported = [], len(holdings), previous
            report.issue_count = issues.total
            report.issues = sorted(issues.items, key=lambda i: (i.line or 0, i.column or ""))
            if issues:
                raise _Rejected
            report.added = len(ids)
            if ids or (spec is not TRADES and report.already_imported is None):
                import_id = store.record_import(
                    filename=filename,
                    fmt=spec.name,
                    sha256=digest.hexdigest(),
                    rows=report.rows,
                    added=len(ids),
                    now=now,
                )
                store.set_import(ids, import_id)
    except _Rejected:
        report.added = 0
    return report


def _choose_format(header: list[str], forced: str) -> FormatSpec:
    if forced in ("", "auto"):
        return detect(header)
    for spec in FORMATS:
        if spec.name == forced:
            return spec
    names = ", ".join(spec.name for spec in FORMATS)
    raise InvalidInput(f"unknown format {forced!r} (one of auto, {names})")


def _counted(
    records: Iterator[tuple[int, list[str]]], report: ImportReport
) -> Iterator[tuple[int, list[str]]]:
    for record in records:
        report.rows += 1
        yield record


def _chunks(rows: Iterator[ParsedTransaction]) -> Iterator[list[ParsedTransaction]]:
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


def _import_trades(
    store: LedgerStore,
    rows: Iterator[ParsedTransaction],
    default_account: Account | None,
    issues: Issues,
    report: ImportReport,
    options: ImportOptions,
    now: datetime,
) -> list[int]:
    accounts: dict[str, Account] = {}
    resolver = InstrumentResolver(store, now)
    occurrences: Counter[int] = Counter()
    ids: list[int] = []
    lines: dict[int, int] = {}
    for chunk in _chunks(rows):
        resolver.prefetch(r.symbol for r in chunk if r.symbol)
        staged: list[tuple[int, NewRow]] = []
        for parsed in chunk:
            account = account_for(
                store, parsed.account, default_account, accounts, issues, parsed.line
            )
            if account is None or account.id is None:
                continue
            currency = parsed.currency or account.currency
            instrument_id: int | None = None
            key: InstrumentKey | None = None
            if parsed.symbol is not None:
                resolved = resolver.resolve(
                    parsed.symbol, parsed.asset_type, currency, issues, parsed.line
                )
                if resolved is None:
                    continue
                key, instrument_id = resolved
            txn = replace(
                parsed.transaction,
                account=account.name,
                instrument=key,
                currency=currency,
                fingerprint=_fingerprint(account.id, parsed, occurrences),
            )
            staged.append((parsed.line, (account.id, instrument_id, txn)))
        if issues:
            continue  # keep reading to report every bad row; nothing will be stored
        fresh = _drop_duplicates(store, staged, report)
        if len(report.preview) < PREVIEW:
            report.preview.extend(t for _, (_, _, t) in fresh[: PREVIEW - len(report.preview)])
        new_ids = store.add_transactions([row for _, row in fresh], now)
        ids.extend(new_ids)
        lines.update(zip(new_ids, (line for line, _ in fresh), strict=True))
    if issues or not ids:
        return ids
    shortfalls = _validate(store)
    if shortfalls and not options.allow_unknown_basis:
        for shortfall in shortfalls:
            line = lines.get(shortfall.transaction_ref or 0)
            issues.add(line, "quantity", shortfall.describe())
        return ids
    if shortfalls:
        ids.extend(_record_unknown_basis(store, shortfalls, accounts, resolver, now))
        report.unknown_basis = shortfalls
    return ids


def _fingerprint(account_id: int, parsed: ParsedTransaction, occurrences: Counter[int]) -> str:
    """Identity of a row for de-duplication across imports.

    ``external_id`` when the row has one; otherwise the row's normalized content plus
    how many identical rows came before it in the file, so two genuine identical trades
    stay two while a re-import of either adds nothing.
    """
    if parsed.transaction.external_id:
        leg = (
            parsed.content_key.rpartition(":")[2]
            if parsed.content_key.endswith((":in", ":out"))
            else ""
        )
        base = f"id\x1f{account_id}\x1f{parsed.transaction.external_id}\x1f{leg}"
        return hashlib.sha256(base.encode()).hexdigest()
    content = f"{account_id}\x1f{parsed.content_key}"
    slot = hash(content)
    occurrences[slot] += 1
    return hashlib.sha256(f"{content}\x1f{occurrences[slot]}".encode()).hexdigest()


def _drop_duplicates(
    store: LedgerStore, staged: list[tuple[int, NewRow]], report: ImportReport
) -> list[tuple[int, NewRow]]:
    by_account: dict[int, list[str]] = {}
    for _, (account_id, _, txn) in staged:
        if txn.fingerprint:
            by_account.setdefault(account_id, []).append(txn.fingerprint)
    existing: set[tuple[int, str]] = set()
    for account_id, fingerprints in by_account.items():
        existing.update(
            (account_id, fp) for fp in store.existing_fingerprints(account_id, fingerprints)
        )
    fresh = [s for s in staged if (s[1][0], s[1][2].fingerprint or "") not in existing]
    report.duplicates += len(staged) - len(fresh)
    return fresh


def _validate(store: LedgerStore) -> list[Shortfall]:
    """Replay the user's whole ledger (streamed) and return every shortfall."""
    transfers = list(store.iter_ledger(types=[t.value for t in TRANSFER_TYPES]))
    try:
        state = replay(
            store.iter_ledger(), transfers=transfers, record=False, collect_shortfalls=True
        )
    except InsufficientLots as error:  # pragma: no cover - collect mode never raises
        return error.shortfalls
    return state.shortfalls


def _record_unknown_basis(
    store: LedgerStore,
    shortfalls: list[Shortfall],
    accounts: dict[str, Account],
    resolver: InstrumentResolver,
    now: datetime,
) -> list[int]:
    """Record each shortfall as an opening of unknown basis just before the entry."""
    rows: list[NewRow] = []
    for shortfall in shortfalls:
        entry = store.transaction(shortfall.transaction_ref or 0)
        account = accounts.get(entry.account) or store.account(entry.account)
        assert entry.instrument is not None and account.id is not None
        opening = Transaction(
            account=entry.account,
            type=TransactionType.TRANSFER_IN,
            traded_at=entry.traded_at,
            instrument=entry.instrument,
            quantity=shortfall.missing,
            currency=entry.currency,
            origin=Origin.UNKNOWN_BASIS,
            description=(
                f"opening of unknown cost basis: transaction {entry.id} disposes more "
                "than the history holds; set its cost basis and acquisition date"
            ),
            fingerprint=hashlib.sha256(
                f"unknown-basis\x1f{entry.fingerprint or entry.id}".encode()
            ).hexdigest(),
        )
        instrument_id = (
            resolver.ids.get(entry.instrument)
            or store.ensure_instruments(
                [Instrument(entry.instrument.symbol, entry.instrument.asset_type, entry.currency)],
                now,
            )[entry.instrument]
        )
        rows.append((account.id, instrument_id, opening))
    return store.add_transactions(rows, now)
