"""Bad and awkward input files: each gives a clear error or is read correctly, and a
failed import stores nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.services import portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.store.unit_of_work import SqlUnitOfWork
from tests.conftest import clock

HEADER = "symbol,type,quantity,price,fees,date,asset_type\n"


def _import(uow: SqlUnitOfWork, content: bytes | str, **options: object):
    data = content.encode() if isinstance(content, str) else content
    return import_stream(
        uow, io.BytesIO(data), "upload.csv", ImportOptions(account="Broker", **options), clock=clock
    )


@pytest.fixture
def broker(sqlite_uow: SqlUnitOfWork) -> SqlUnitOfWork:
    portfolio.add_account(
        sqlite_uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
    )
    return sqlite_uow


def _count(uow: SqlUnitOfWork) -> int:
    return len(portfolio.list_transactions(uow, limit=0))


def test_bytes_that_are_not_text_are_refused(broker: SqlUnitOfWork) -> None:
    with pytest.raises(InvalidInput, match="not text"):
        _import(broker, b"symbol,quantity\n\x00\x01binary content\x00\xff")
    assert 0 == _count(broker)


@pytest.mark.parametrize(
    ("head", "named"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "spreadsheet"),
        (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "XLS"),
    ],
)
def test_a_spreadsheet_or_pdf_given_as_csv_is_named(
    broker: SqlUnitOfWork, head: bytes, named: str
) -> None:
    """A user who uploads the broker's PDF statement or an Excel file is told what it is."""
    with pytest.raises(InvalidInput, match=named):
        _import(broker, head + b"\x00" * 64)
    assert 0 == _count(broker)


def test_utf8_bom_is_ignored(broker: SqlUnitOfWork) -> None:
    report = _import(broker, "\ufeff" + HEADER + "AAPL,buy,1,100,0,2024-01-02,stock\n")
    assert (True, 1) == (report.ok, report.added)


def test_semicolon_delimited_file_with_decimal_commas(broker: SqlUnitOfWork) -> None:
    content = HEADER.replace(",", ";") + "AAPL;buy;1,5;100,25;0;2024-01-02;stock\n"
    report = _import(broker, content)
    assert report.ok, report.issues
    (entry,) = portfolio.list_transactions(broker)
    assert (Decimal("1.5"), Decimal("100.25")) == (entry.quantity, entry.price)


def test_blank_and_trailing_lines_are_skipped_and_lines_still_counted(
    broker: SqlUnitOfWork,
) -> None:
    content = (
        HEADER
        + "\nAAPL,buy,1,100,0,2024-01-02,stock\n\n,,,,,,\nAAPL,buy,-1,100,0,2024-01-03,stock\n\n\n"
    )
    report = _import(broker, content)
    assert [6] == [issue.line for issue in report.issues]


def test_thousands_separators_in_quoted_cells(broker: SqlUnitOfWork) -> None:
    report = _import(broker, HEADER + 'BRK.A,buy,1,"612,345.67",0,2024-01-02,stock\n')
    assert report.ok, report.issues
    assert Decimal("612345.67") == portfolio.list_transactions(broker)[0].price


def test_negative_buy_quantity_is_a_row_error_pointing_to_sell(broker: SqlUnitOfWork) -> None:
    report = _import(broker, HEADER + "AAPL,buy,-5,100,0,2024-01-02,stock\n")
    (issue,) = report.issues
    assert (2, "quantity") == (issue.line, issue.column)
    assert "type sell" in issue.reason
    assert 0 == _count(broker)


def test_future_date_is_a_row_error(broker: SqlUnitOfWork) -> None:
    report = _import(broker, HEADER + "AAPL,buy,1,100,0,2027-01-04,stock\n")
    (issue,) = report.issues
    assert ("date", True) == (issue.column, "future" in issue.reason)


def test_unknown_type_names_the_allowed_types(broker: SqlUnitOfWork) -> None:
    report = _import(broker, HEADER + "AAPL,yolo,1,100,0,2024-01-02,stock\n")
    (issue,) = report.issues
    assert "type" == issue.column and "buy" in issue.reason and "'yolo'" in issue.reason


def test_missing_required_column_is_named(broker: SqlUnitOfWork) -> None:
    with pytest.raises(InvalidInput, match="'price'"):
        _import(broker, "symbol,type,quantity,date\nAAPL,buy,1,2024-01-02\n")


def test_empty_file_is_refused(broker: SqlUnitOfWork) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        _import(broker, b"")
    with pytest.raises(InvalidInput, match="empty"):
        _import(broker, b"\n\n  \n")


def test_header_matching_no_format_names_the_formats(broker: SqlUnitOfWork) -> None:
    with pytest.raises(InvalidInput, match=r"unrecognized file.*quantdesk formats"):
        _import(broker, "foo,bar\n1,2\n")


def test_every_bad_row_is_listed_and_nothing_is_stored(broker: SqlUnitOfWork) -> None:
    """One import with three bad rows among good ones reports all three, stores none."""
    content = HEADER + (
        "AAPL,buy,1,100,0,2024-01-02,stock\n"
        "AAPL,buy,abc,100,0,2024-01-02,stock\n"
        "MSFT,buy,1,100,0,2024-01-02,\n"
        "AAPL,sell,1,100,0,not-a-date,\n"
        "AAPL,buy,1,100,0,2024-01-03,stock\n"
    )
    report = _import(broker, content)
    assert [(3, "quantity"), (4, "symbol"), (5, "date")] == [
        (i.line, i.column) for i in report.issues
    ]
    assert (0, False) == (report.added, report.stored)
    assert 0 == _count(broker)


def test_windows_1252_text_is_read(broker: SqlUnitOfWork) -> None:
    content = (HEADER.strip() + ",description\nAAPL,buy,1,100,0,2024-01-02,stock,caf\xe9\n").encode(
        "cp1252"
    )
    report = _import(broker, content)
    assert report.ok, report.issues
    assert "café" == portfolio.list_transactions(broker)[0].description


def test_utf16_export_is_read(broker: SqlUnitOfWork) -> None:
    report = _import(broker, (HEADER + "AAPL,buy,1,100,0,2024-01-02,stock\n").encode("utf-16"))
    assert (True, 1) == (report.ok, report.added)


def test_numbers_the_ledger_cannot_store_exactly_are_refused_not_rounded(
    broker: SqlUnitOfWork,
) -> None:
    """19 decimals or 21 integer digits would be rounded by NUMERIC(38, 18): refuse them."""
    content = HEADER + (
        "BTC,buy,0.1234567890123456789,100,0,2024-01-02,crypto\n"
        "BTC,buy,1,123456789012345678901,0,2024-01-02,crypto\n"
        "BTC,buy,0.123456789012345678,100.5000000000000000000,0,2024-01-02,crypto\n"
    )
    report = _import(broker, content)
    assert [(2, "quantity"), (3, "price")] == [(i.line, i.column) for i in report.issues]
    assert "18 decimal places" in report.issues[0].reason


def test_semicolon_file_reads_a_dot_as_the_thousands_separator(broker: SqlUnitOfWork) -> None:
    content = HEADER.replace(",", ";") + "SAP;buy;1.500;120,50;0;2024-01-02;stock\n"
    assert _import(broker, content).ok
    (entry,) = portfolio.list_transactions(broker)
    assert (Decimal(1500), Decimal("120.50")) == (entry.quantity, entry.price)


def test_short_windows_1252_file_ending_in_an_accent_is_read(broker: SqlUnitOfWork) -> None:
    content = (HEADER.strip() + ",description\nNESN,buy,1,100,0,2024-01-02,stock,Nestl\xe9").encode(
        "cp1252"
    )
    report = _import(broker, content)
    assert report.ok, report.issues
    assert "Nestlé" == portfolio.list_transactions(broker)[0].description


def test_forcing_the_wrong_format_is_refused(broker: SqlUnitOfWork) -> None:
    with pytest.raises(InvalidInput, match=r"header \(line 1\) is that of generic-trades"):
        _import(broker, HEADER + "AAPL,buy,1,100,0,2024-01-02,stock\n", format="generic-holdings")


def test_a_row_longer_than_its_header_is_an_error_unless_the_extra_cells_are_empty(
    broker: SqlUnitOfWork,
) -> None:
    report = _import(broker, "symbol,quantity,asset_type\nAAPL,1,stock,extra\nMSFT,1,stock,,\n")
    assert [(2, None)] == [(i.line, i.column) for i in report.issues]
    assert "4 cells but the header names 3 columns" in report.issues[0].reason


def test_a_date_with_trailing_text_is_refused(broker: SqlUnitOfWork) -> None:
    report = _import(broker, HEADER + "AAPL,buy,1,100,0,2024-03-05xyz,stock\n")
    assert [(2, "date")] == [(i.line, i.column) for i in report.issues]


def test_values_no_database_could_store_are_row_errors_on_every_backend(
    broker: SqlUnitOfWork,
) -> None:
    """A 201-character external id, or an amount that makes a price of 1e21, is an
    issue for its row, never a database error that SQLite would have let through."""
    content = (
        "symbol,type,quantity,price,amount,date,asset_type,external_id\n"
        f"AAPL,buy,1,100,,2024-01-02,stock,{'x' * 201}\n"
        "XYZ,buy,0.000000000000000001,,1000,2024-01-02,stock,\n"
    )
    report = _import(broker, content)
    assert [(2, "external_id"), (3, "price")] == [(i.line, i.column) for i in report.issues]
