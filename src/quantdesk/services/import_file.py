"""Import a file into the ledger: all rows or none, never a duplicate.

A trades file is streamed in chunks inside one database transaction: each chunk is
parsed, resolved, de-duplicated and inserted; then the ledger with the new entries is
replayed, and the whole import is rolled back if any row is bad, if a sale would exceed
the units held, or on a dry run. Imports of up to :data:`IN_MEMORY_LIMIT` new entries
are replayed in memory (the user's existing ledger plus the new entries); larger ones
are replayed from the database as a stream, so memory stays bounded by the open lots
and the de-duplication keys (about 100 bytes a row), not by the file.

Holdings snapshots are reconciled against what the ledger already holds
(:mod:`quantdesk.services.snapshot`).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO

from quantdesk.domain.accounts import Account
from quantdesk.domain.errors import InvalidInput, Shortfall
from quantdesk.domain.instruments import InstrumentKey
from quantdesk.domain.lots import TRANSFER_TYPES, CostMethod, replay
from quantdesk.domain.transactions import Origin, Transaction, TransactionType
from quantdesk.importers import registry
from quantdesk.importers.base import Issues, Notices, ParsedTransaction
from quantdesk.importers.csvio import ByteSource, CsvDialect, normalize_header, open_csv
from quantdesk.importers.format import Format
from quantdesk.importers.generic import (
    HOLDINGS,
    TRADES,
    check_header,
    parse_holdings,
    parse_trades,
)
from quantdesk.importers.table import LEG, ParseContext, Records
from quantdesk.services.bulk import cyclic_gc_paused
from quantdesk.services.import_report import ImportReport
from quantdesk.services.other_source import RecordedElsewhere, is_sync
from quantdesk.services.ports import LedgerStore, NewRow, UnitOfWork
from quantdesk.services.resolve import AccountResolver, InstrumentResolver
from quantdesk.services.snapshot import reconcile_snapshot

CHUNK = 5_000
#: quantdesk's own formats: an account they name must exist.
_OWN_FORMATS = (TRADES.name, HOLDINGS.name)
#: Bytes looked at to recognize the file.
_PROBE = 64 * 1024
PREVIEW = 20
#: Entries that stand in for history the ledger lacked: re-derived on every import.
STAND_INS = (Origin.UNKNOWN_BASIS, Origin.OPENING)
#: The method imports are checked with: specific identification is FIFO where no lots
#: are chosen, so it finds every shortfall FIFO would and also every chosen lot a change
#: would break.
CHECKED = CostMethod.SPECIFIC
#: New entries kept in memory to validate an import without reading it back.
IN_MEMORY_LIMIT = 100_000


class _Rejected(Exception):
    """Raised inside the unit of work to roll back an import with row issues."""


@dataclass(slots=True)
class ImportOptions:
    account: str | None = None
    format: str = "auto"
    dry_run: bool = False
    allow_unknown_basis: bool = False


def import_file(
    uow: UnitOfWork,
    path: Path,
    options: ImportOptions,
    *,
    clock: Callable[[], datetime],
    on_bytes: Callable[[int], object] | None = None,
) -> ImportReport:
    """Import ``path``; on any bad row nothing is stored and every issue is reported.
    ``on_bytes`` hears how many bytes each read consumed (for a progress bar)."""
    with path.open("rb") as stream:
        return import_stream(uow, stream, path.name, options, clock=clock, on_bytes=on_bytes)


def import_stream(
    uow: UnitOfWork,
    stream: IO[bytes],
    filename: str,
    options: ImportOptions,
    *,
    clock: Callable[[], datetime],
    in_memory_limit: int = IN_MEMORY_LIMIT,
    on_bytes: Callable[[int], object] | None = None,
) -> ImportReport:
    """Import a binary stream (the API's upload, the CLI's file)."""
    with cyclic_gc_paused():
        return _import_stream(uow, stream, filename, options, clock, in_memory_limit, on_bytes)


def _import_stream(
    uow: UnitOfWork,
    stream: IO[bytes],
    filename: str,
    options: ImportOptions,
    clock: Callable[[], datetime],
    in_memory_limit: int,
    on_bytes: Callable[[int], object] | None,
) -> ImportReport:
    now = clock()
    digest = hashlib.sha256()

    def seen(data: bytes) -> None:
        digest.update(data)
        if on_bytes is not None:
            on_bytes(len(data))

    source = io.BufferedReader(ByteSource(stream, seen), buffer_size=_PROBE)
    head = source.peek(_PROBE)[:_PROBE]
    if not head.strip():
        raise InvalidInput("the file is empty")
    registry.refuse_binary(head)
    forced = None if options.format in ("", "auto") else registry.by_name(options.format)
    document = registry.sniff_document(head)
    _check_forced(forced, document)
    issues, notices = Issues(), Notices()
    snapshot: tuple[Records, list[str], CsvDialect] | None = None
    rows: Iterator[ParsedTransaction] = iter(())
    if document is not None:
        ctx = ParseContext(now.date(), issues, notices, CsvDialect("utf-8", ","))
        report = ImportReport(filename, document.name, dry_run=options.dry_run)
        report.confidence = 1.0
        assert document.document_parser is not None
        rows = _counted_rows(document.document_parser(source.read(), ctx), report)
    else:
        dialect, records = open_csv(source)
        detected = registry.detect_csv(records, forced)
        chosen = detected.format
        report = ImportReport(filename, chosen.name, dry_run=options.dry_run)
        report.confidence, report.encoding = detected.confidence, dialect.encoding
        for line in detected.preamble:
            notices.skip(line, "preamble before the header")
        records = _counted(records, report)
        if chosen.generic:
            header = normalize_header(detected.header)
            spec = TRADES if chosen.name == TRADES.name else HOLDINGS
            check_header(spec, header)
            if spec is TRADES:
                rows = parse_trades(records, header, dialect, today=now.date(), issues=issues)
            else:
                snapshot = (records, header, dialect)
        else:
            assert chosen.csv_parser is not None
            ctx = ParseContext(now.date(), issues, notices, dialect, detected.preamble_cells)
            rows = chosen.csv_parser(detected.header, records, ctx)
    report.notices = notices
    try:
        with uow(commit=not options.dry_run) as store:
            store.lock()  # one import or edit of this user's ledger at a time
            account = store.account(options.account) if options.account else None
            scope = options.account or ""
            import_id = store.start_import(
                filename=filename, fmt=report.format, scope=scope, now=now
            )
            if snapshot is None:
                job = _TradesImport(store, account, issues, report, options, now, import_id)
                added = job.run(rows, in_memory_limit)
            else:
                holdings = list(
                    parse_holdings(
                        snapshot[0], snapshot[1], snapshot[2], today=now.date(), issues=issues
                    )
                )
                latest = store.latest_import(report.format, scope)
                previous = latest[1] if latest and latest[0] == digest.hexdigest() else None
                if previous is None:
                    added = reconcile_snapshot(
                        store, holdings, account, issues, report, now, import_id
                    )
                else:  # the latest snapshot of this scope again: it must not be re-applied
                    added, report.duplicates, report.already_imported = 0, len(holdings), previous
            report.issue_count = issues.total
            report.issues = sorted(issues.items, key=lambda i: (i.line or 0, i.column or ""))
            if issues:
                raise _Rejected
            report.added = added
            store.finish_import(import_id, sha256=digest.hexdigest(), rows=report.rows, added=added)
    except _Rejected:
        report.added = 0
    return report


def import_parsed(
    store: LedgerStore,
    rows: Iterable[ParsedTransaction],
    *,
    source: str,
    fmt: str,
    account: str,
    issues: Issues,
    notices: Notices,
    now: datetime,
) -> ImportReport:
    """Entries already parsed (a connection's sync) into ``account``, in the caller's
    transaction: resolved, de-duplicated against everything the ledger holds (a trade
    imported from the exchange's CSV export is the same trade when it has the same
    external id, type and instrument), checked like a file's. Row issues are in the
    report; the caller rolls back when there are any."""
    report = ImportReport(source, fmt)
    report.notices = notices
    store.lock()  # one import or edit of this user's ledger at a time
    target = store.account(account)
    import_id = store.start_import(filename=source, fmt=fmt, scope=account, now=now)
    counted = _counted_rows(iter(rows), report)
    job = _TradesImport(store, target, issues, report, ImportOptions(account), now, import_id)
    added = job.run(counted, IN_MEMORY_LIMIT)
    report.issue_count = issues.total
    report.issues = sorted(issues.items, key=lambda i: (i.line or 0, i.column or ""))
    report.added = added if not issues else 0
    digest = hashlib.sha256(f"{source}\x1f{now.isoformat()}".encode()).hexdigest()
    store.finish_import(import_id, sha256=digest, rows=report.rows, added=report.added)
    return report


def _check_forced(forced: Format | None, document: Format | None) -> None:
    """A format given with --format must be the file's kind of format."""
    if forced is None:
        return
    if forced.kind != "csv" and document is not forced:
        found = f"it is a {document.name} file" if document else "its content does not match"
        raise InvalidInput(
            f"not a {forced.name} file ({forced.title}): {found}; "
            "leave --format out to detect the format"
        )
    if forced.kind == "csv" and document is not None:
        raise InvalidInput(
            f"the file is a {document.name} file ({document.title}), not {forced.name}; "
            "leave --format out to detect the format"
        )


def _counted_rows(
    rows: Iterator[ParsedTransaction], report: ImportReport
) -> Iterator[ParsedTransaction]:
    """Entries of a document, counting each source record once."""
    last = None
    for row in rows:
        if row.line != last:
            report.rows += 1
            last = row.line
        yield row


def _counted(
    records: Iterator[tuple[int, list[str]]], report: ImportReport
) -> Iterator[tuple[int, list[str]]]:
    for record in records:
        report.rows += 1
        yield record


class _TradesImport:
    """One trades import: resolve, de-duplicate and store chunk by chunk, then validate."""

    def __init__(
        self,
        store: LedgerStore,
        default_account: Account | None,
        issues: Issues,
        report: ImportReport,
        options: ImportOptions,
        now: datetime,
        import_id: int,
    ) -> None:
        self.store, self.default_account, self.issues = store, default_account, issues
        self.report, self.options, self.now, self.import_id = report, options, now, import_id
        self.accounts = AccountResolver(
            store, default_account, issues, fall_back=report.format not in _OWN_FORMATS
        )
        self.resolver = InstrumentResolver(store, now)
        self.occurrences: dict[int, int] = {}
        #: Whether each account had entries before this import (asked before its first insert).
        self.had_entries: dict[int, bool] = {}
        #: Whether each account holds entries of the other kind of source than this import.
        self.other_source: dict[int, bool] = {}
        #: The ids of the other source's entries rows of this import matched (each once).
        self.matched: set[int] = set()

    def run(self, rows: Iterator[ParsedTransaction], in_memory_limit: int) -> int:
        try:
            return self._run(rows, in_memory_limit)
        finally:
            self.report.account_fallbacks = dict(self.accounts.fallbacks)

    def _run(self, rows: Iterator[ParsedTransaction], in_memory_limit: int) -> int:
        added = 0
        kept: list[Transaction] | None = []
        first_new_id = self.store.max_transaction_id() + 1
        while chunk := list(islice(rows, CHUNK)):
            staged = self._stage(chunk)
            if self.issues:
                kept = None
                continue  # keep reading to report every bad row; nothing will be stored
            fresh = self._drop_recorded_elsewhere(self._drop_duplicates(staged))
            room = PREVIEW - len(self.report.preview)
            self.report.preview.extend(t for _, _, t in fresh[: max(room, 0)])
            added += self.store.add_transactions(fresh, self.now, import_id=self.import_id)
            if kept is not None:
                kept.extend(t for _, _, t in fresh)
                if len(kept) > in_memory_limit:
                    kept = None  # too large to hold: validate from the database instead
        if self.issues or not added:
            return added
        # Openings of unknown basis stand in for history the ledger lacked; the new
        # entries may supply it, so the check runs without them and they are re-derived.
        if kept is not None:
            existing = [
                t
                for t in self.store.iter_ledger(exclude_import=self.import_id)
                if t.origin not in STAND_INS
            ]
            state = replay(
                [*existing, *kept], method=CHECKED, record=False, collect_shortfalls=True
            )
        else:
            transfers = list(self.store.iter_ledger(types=[t.value for t in TRANSFER_TYPES]))
            state = replay(
                (t for t in self.store.iter_ledger() if t.origin not in STAND_INS),
                method=CHECKED,
                transfers=[t for t in transfers if t.origin not in STAND_INS],
                record=False,
                collect_shortfalls=True,
            )
        return added + self._settle_shortfalls(state.shortfalls, first_new_id)

    def _settle_shortfalls(self, shortfalls: list[Shortfall], first_new_id: int) -> int:
        """Keep the openings of unknown basis that are still needed, delete those the
        new history made unnecessary, and record (with ``--allow-unknown-basis``) or
        refuse the new shortfalls. Returns how many entries that added."""
        wanted = {_opening_fingerprint(s.entry): s for s in shortfalls}
        for origin in STAND_INS:
            for opening in self.store.ledger_of_origin(origin):
                shortfall = wanted.get(opening.fingerprint or "")
                if shortfall is not None and shortfall.missing == opening.quantity:
                    del wanted[opening.fingerprint or ""]  # still stands in for the same units
                elif opening.id is not None:
                    self.store.delete_transaction(opening.id)
                    self.report.openings_removed += 1
                    if origin is Origin.OPENING:  # the user's estimate: say what went
                        self.report.completed_openings_removed.append(opening)
        fresh = list(wanted.values())
        if not fresh:
            return 0
        if not self.options.allow_unknown_basis:
            for shortfall in fresh:
                entry = shortfall.entry
                is_new = entry.id is None or entry.id >= first_new_id
                self.issues.add(
                    entry.source_line if is_new else None, "quantity", shortfall.describe()
                )
            return 0
        self.report.unknown_basis = fresh
        added = self._record_unknown_basis(fresh)
        ids = {t.fingerprint: t.id for t in self.store.ledger_of_origin(Origin.UNKNOWN_BASIS)}
        self.report.opening_ids = [ids.get(_opening_fingerprint(s.entry)) for s in fresh]
        return added

    def _stage(self, chunk: list[ParsedTransaction]) -> list[NewRow]:
        self.resolver.prefetch(r.symbol for r in chunk if r.symbol)
        staged: list[NewRow] = []
        for parsed in chunk:
            account = self.accounts(parsed.account, parsed.line)
            if account is None or account.id is None:
                continue
            currency = parsed.currency or account.currency
            instrument_id: int | None = None
            key: InstrumentKey | None = None
            if parsed.symbol is not None:
                instrument = self.resolver.resolve(
                    parsed.symbol,
                    parsed.asset_type,
                    currency,
                    self.issues,
                    parsed.line,
                    parsed.fallback_type,
                )
                if instrument is None:
                    continue
                key, instrument_id = instrument.key, instrument.id
                # an instrument trades in its own currency unless the row says otherwise
                currency = parsed.currency or instrument.currency
            entry = parsed.transaction.resolved(
                account=account.name,
                instrument=key,
                currency=currency,
                fingerprint=_fingerprint(
                    f"{account.id}\x1f{instrument_id}\x1f{currency}", parsed, self.occurrences
                ),
                source_line=parsed.line,
            )
            staged.append((account.id, instrument_id, entry))
        return staged

    def _drop_duplicates(self, staged: list[NewRow]) -> list[NewRow]:
        """Drop rows already in the ledger. Rows of this file never collide with each
        other (see :func:`_fingerprint`), so only accounts with earlier entries are asked."""
        by_account: dict[int, list[str]] = {}
        for account_id, _, entry in staged:
            if account_id not in self.had_entries:
                self.had_entries[account_id] = self.store.has_transactions(account_id)
            if entry.fingerprint and self.had_entries[account_id]:
                by_account.setdefault(account_id, []).append(entry.fingerprint)
        existing: set[tuple[int, str]] = set()
        for account_id, fingerprints in by_account.items():
            found = self.store.existing_fingerprints(account_id, fingerprints)
            existing.update((account_id, fp) for fp in found)
        fresh = [row for row in staged if (row[0], row[2].fingerprint or "") not in existing]
        self.report.duplicates += len(staged) - len(fresh)
        self.report.duplicate_lines += [
            row[2].source_line or 0
            for row in staged
            if (row[0], row[2].fingerprint or "") in existing
        ]
        return fresh

    def _drop_recorded_elsewhere(self, staged: list[NewRow]) -> list[NewRow]:
        """Drop, as duplicates, the rows the account's other kind of source recorded
        without an id in common: a connection's sync for a file's rows, files for a
        sync's (services/other_source.py)."""
        synced = not is_sync(self.report.format)  # whose entries these rows may repeat
        by_account: dict[int, list[NewRow]] = {}
        for row in staged:
            if self.had_entries.get(row[0]) and self._other_source_in(row[0], synced=synced):
                by_account.setdefault(row[0], []).append(row)
        if not by_account:
            return staged
        dropped: dict[int, int] = {}  # id(row): its line
        for account_id, rows in by_account.items():
            days = [entry.traded_on for _, _, entry in rows]
            elsewhere = RecordedElsewhere(
                self.store.recorded_entries(
                    account_id, synced=synced, since=min(days), until=max(days)
                ),
                self.matched,
            )
            for row in rows:
                if elsewhere.take(row[1], row[2]):
                    dropped[id(row)] = row[2].source_line or 0
        self.report.duplicates += len(dropped)
        self.report.duplicate_lines += dropped.values()
        self.report.other_source_lines += dropped.values()
        return [row for row in staged if id(row) not in dropped]

    def _other_source_in(self, account_id: int, *, synced: bool) -> bool:
        """Whether the account holds entries a sync (``synced``), else files, imported:
        asked once an import per account, so that the rows are matched only then."""
        if account_id not in self.other_source:
            spans = self.store.import_spans(account_id)
            self.other_source[account_id] = any(is_sync(fmt) == synced for fmt, *_ in spans)
        return self.other_source[account_id]

    def _record_unknown_basis(self, shortfalls: list[Shortfall]) -> int:
        """Record each shortfall as an opening of unknown basis just before its entry."""
        rows: list[NewRow] = []
        for shortfall in shortfalls:
            entry = shortfall.entry
            assert entry.instrument is not None
            account = self.accounts.used().get(entry.account) or self.store.account(entry.account)
            assert account.id is not None
            opening = Transaction(
                account=entry.account,
                type=TransactionType.TRANSFER_IN,
                traded_at=entry.traded_at,  # the same moment; its origin orders it first
                trade_date=entry.traded_on,
                timed=entry.timed,
                instrument=entry.instrument,
                quantity=shortfall.missing,
                currency=entry.currency,
                origin=Origin.UNKNOWN_BASIS,
                description=(
                    f"opening of unknown cost basis: the {entry.type.value} of "
                    f"{entry.traded_on} disposes more than the history holds; set its cost "
                    "basis and acquisition date"
                ),
                fingerprint=_opening_fingerprint(entry),
                source_line=entry.source_line,
            )
            instrument = self.resolver.resolve(
                entry.instrument.symbol,
                entry.instrument.asset_type,
                entry.currency,
                self.issues,
                entry.source_line or 0,
            )
            rows.append((account.id, instrument.id if instrument else None, opening))
        return self.store.add_transactions(rows, self.now, import_id=self.import_id)


def _fingerprint(where: str, parsed: ParsedTransaction, occurrences: dict[int, int]) -> str:
    """Identity of a row for de-duplication across imports.

    ``external_id`` when the row has one; otherwise the row's content plus how many
    identical rows came before it in the file, so two genuine identical trades stay two
    while a re-import of either adds nothing.
    """
    key = parsed.content_key
    if parsed.transaction.external_id:
        # Brokers reuse one id for a dividend and its withholding, or for the fills of
        # one order: the id, the type and the place among its namesakes identify a row.
        if key.endswith((":in", ":out")):
            leg = key.rpartition(":")[2]
        else:
            leg = key.rpartition(LEG)[2] if LEG in key else ""
        key = f"id\x1f{parsed.transaction.external_id}\x1f{parsed.transaction.type}\x1f{leg}"
    content = f"{where}\x1f{key}"
    slot = hash(content)
    seen = occurrences[slot] = occurrences.get(slot, 0) + 1
    return _digest(f"{content}\x1f{seen}")


def _opening_fingerprint(entry: Transaction) -> str:
    """The identity of the unknown-basis opening that covers ``entry``'s shortfall."""
    return _digest(f"unknown-basis\x1f{entry.fingerprint or entry.id}")


def _digest(text: str) -> str:
    """128-bit BLAKE2b in hex: collisions are out of reach, and it is quick to index."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
