"""What every importer returns: parsed rows to record, and every row issue found."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
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


@dataclass(slots=True)
class Notices:
    """Rows an import did not turn into ledger entries, and why: skipped on purpose
    (a cash sweep, a pending order, a footer) or left for the user to resolve (a merger
    or a symbol change the ledger must not guess). Lines are kept per reason, capped."""

    skipped: dict[str, list[int]] = field(default_factory=dict)
    skipped_total: int = 0
    to_resolve: list[RowIssue] = field(default_factory=list)
    to_resolve_total: int = 0

    def skip(self, line: int, reason: str) -> None:
        self.skipped_total += 1
        lines = self.skipped.setdefault(reason, [])
        if len(lines) < MAX_ISSUES:
            lines.append(line)

    def resolve(self, line: int, column: str | None, reason: str) -> None:
        self.to_resolve_total += 1
        if len(self.to_resolve) < MAX_ISSUES:
            self.to_resolve.append(RowIssue(line, column, reason))


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
    #: The asset type to give the symbol if the ledger does not know it yet (a broker's
    #: equity is a stock until the user says it is an ETF); an existing instrument of
    #: that symbol keeps its own type.
    fallback_type: AssetType | None = None


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


def number_key(value: Decimal | None) -> str:
    """The number without trailing zeros (150.00 and 150 give one key), in plain digits."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def content_key(entry: Transaction) -> str:
    """What the row means, as parsed: a re-saved export (150.00 written 150, a date as
    01/10/2025, columns reordered, a reworded description) gives the same key. The
    importing service adds the resolved account, instrument and currency."""
    n = number_key
    return (
        f"{entry.type.value}\x1f{_iso(entry.traded_at)}\x1f{entry.timed}\x1f"
        f"{entry.trade_date}\x1f{n(entry.quantity)}\x1f{n(entry.price)}\x1f{n(entry.fees)}\x1f"
        f"{n(entry.amount)}\x1f{n(entry.split_ratio)}\x1f{entry.link or ''}\x1f"
        f"{entry.acquired_on}\x1f{entry.settles_on}\x1f{entry.external_id or ''}"
    )


#: The entries of one exchange trade share their moment: format it once.
_iso = lru_cache(maxsize=64)(datetime.isoformat)
