"""The outcome of an import, for the CLI, the API and tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from quantdesk.domain.errors import Shortfall
from quantdesk.domain.transactions import Transaction
from quantdesk.importers.base import Notices, RowIssue


@dataclass(slots=True)
class ImportReport:
    """What an import did (or, on a dry run or error, would have done)."""

    filename: str
    format: str
    rows: int = 0
    added: int = 0
    duplicates: int = 0
    #: The source lines of the rows found already in the ledger.
    duplicate_lines: list[int] = field(default_factory=list)
    #: Of those, the rows the account's other kind of source recorded (a connection's
    #: sync, for a file; files, for a sync) with no id in common: the same type,
    #: instrument, currency and trade date, within a second (services/other_source.py).
    other_source_lines: list[int] = field(default_factory=list)
    adjustments: int = 0
    #: Openings of unknown basis this import made unnecessary (its history covers them).
    openings_removed: int = 0
    #: Of those, the ones the user had completed with a cost and date (their estimate
    #: gives way to the imported history, and the user is told).
    completed_openings_removed: list[Transaction] = field(default_factory=list)
    unknown_basis: list[Shortfall] = field(default_factory=list)
    #: The ids of the openings recorded for ``unknown_basis`` (same order; None on a dry
    #: run, which stores nothing): what `transactions set-basis` completes.
    opening_ids: list[int | None] = field(default_factory=list)
    issues: list[RowIssue] = field(default_factory=list)
    issue_count: int = 0
    preview: list[Transaction] = field(default_factory=list)
    dry_run: bool = False
    #: When this exact snapshot file was imported before (it is then not applied again).
    already_imported: datetime | None = None
    #: How sure the detection was: the share of the header's columns the format reads.
    confidence: float | None = None
    #: The text encoding the file was read in (None for documents such as OFX or JSON).
    encoding: str | None = None
    #: Rows skipped on purpose (with why) and rows left for the user to resolve.
    notices: Notices = field(default_factory=Notices)
    #: Accounts the export names that have no quantdesk account of that name: their
    #: rows went to the import's account (export's name -> quantdesk account).
    account_fallbacks: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.issue_count == 0

    @property
    def stored(self) -> bool:
        return self.ok and not self.dry_run
