"""The user's own price history: ``date,symbol,close`` with optional ``currency`` and
``asset_type``. Every bad row is reported; nothing is returned unless all are valid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType, normalize_currency, normalize_symbol
from quantdesk.domain.money import check_storable, parse_decimal
from quantdesk.importers.base import Issues
from quantdesk.importers.csvio import Readable, normalize_header, open_csv
from quantdesk.importers.dates import parse_date

REQUIRED = ("date", "symbol", "close")


@dataclass(frozen=True, slots=True)
class PriceRow:
    line: int
    day: date
    symbol: str
    close: Decimal
    #: None when the file does not say: the instrument's own currency (else USD) applies.
    currency: str | None
    asset_type: AssetType | None


class PriceFileError(InvalidInput):
    """A price file with bad rows; ``issues`` lists every one."""

    def __init__(self, issues: Issues) -> None:
        self.issues = issues
        lines = "; ".join(i.describe() for i in issues.items[:20])
        more = f" (and {issues.total - 20} more)" if issues.total > 20 else ""
        super().__init__(f"{issues.total} bad row(s), nothing stored: {lines}{more}")


def parse_price_file(stream: Readable, *, today: date) -> list[PriceRow]:
    dialect, records = open_csv(stream)
    first = next(records, None)
    if first is None:
        raise InvalidInput("the file is empty")
    header = normalize_header(first[1])
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(
            f"missing required column(s) {', '.join(missing)} (need date,symbol,close)"
        )
    at = {name: i for i, name in enumerate(header)}
    issues = Issues()
    rows: list[PriceRow] = []
    for line, cells in records:

        def cell(name: str, cells: list[str] = cells) -> str:
            i = at.get(name)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        try:
            day = parse_date(cell("date"))
            if day > today:
                raise InvalidInput(f"{day} is in the future")
            symbol = normalize_symbol(cell("symbol"))
            close = check_storable(
                parse_decimal(cell("close"), decimal_comma=dialect.decimal_comma)
            )
            if close <= 0:
                raise InvalidInput(f"a close must be positive, got {close}")
            currency = normalize_currency(cell("currency")) if cell("currency") else None
            kind = AssetType.parse(cell("asset_type")) if cell("asset_type") else None
        except InvalidInput as error:
            issues.add(line, None, str(error))
            continue
        rows.append(PriceRow(line, day, symbol, close, currency, kind))
    if issues:
        raise PriceFileError(issues)
    return rows
