"""What every importer returns: parsed rows to record, and every row issue found."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.transactions import Transaction

#: Detailed issues kept per import; beyond this only the count grows (a 50 MB file of
#: garbage must not exhaust memory just to describe itself).
MAX_ISSUES = 1_000


@dataclass(frozen=True, slots=True)
class RowIssue:
    """A problem with one row (``line`` counts the header as line 1) or the whole file."""

    line: int | None
    column: str | None
    reason: str

    def describe(self) -> str:
        where = "file" if self.line is None else f"line {self.line}"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class Issues:
    """Row issues of one import, capped at :data:`MAX_ISSUES` details."""

    items: list[RowIssue] = field(default_factory=list)
    total: int = 0

    def add(self, line: int | None, column: str | None, reason: str) -> None:
        self.total += 1
        if len(self.items) < MAX_ISSUES:
            self.items.append(RowIssue(line, column, reason))

    def __bool__(self) -> bool:
        return self.total > 0


class ParsedTransaction(NamedTuple):
    """A trades-file row as a ledger entry whose account, instrument and currency the
    importing service still has to resolve (the importer does no I/O)."""

    line: int
    transaction: Transaction
    account: str | None
    symbol: str | None
    asset_type: AssetType | None
    currency: str | None
    #: The row's content, normalized: identical rows give identical keys.
    content_key: str


class HoldingRow(NamedTuple):
    """A holdings-snapshot row: units held, cost per unit and purchase date if known."""

    line: int
    symbol: str
    quantity: Decimal
    asset_type: AssetType | None
    cost_per_unit: Decimal | None
    purchased_on: date | None
    account: str | None
    currency: str | None
