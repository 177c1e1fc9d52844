"""Portfolio Performance CSV files (its export and the import-wizard layouts) import with
their meaning intact."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from quantdesk.importers import registry
from quantdesk.importers.csvio import open_csv
from tests.importers.broker_golden import check_golden, import_bytes, outcome, sample

CASES = {
    "export-selected": "portfolio-performance/pp_export_selected_transactions.csv",
    "import-account": "portfolio-performance/pp_import_account_transactions.csv",
    "import-portfolio": "portfolio-performance/pp_import_portfolio_transactions.csv",
}

GERMAN = (
    "\ufeffDatum;Uhrzeit;Typ;Wert;Buchungswährung;Gebühren;Steuern;Stück;ISIN;"
    "Wertpapiername;Notiz\n"
    "02.01.2024;09:15:00;Einlage;5.000,00;EUR; ; ; ; ; ;\n"
    "03.01.2024;10:30:00;Kauf;1.012,50;EUR;9,90;2,60;10;DE000BASF111;BASF;erste Order\n"
    "15.04.2024;;Dividende;28,50;EUR;;6,50;10;DE000BASF111;BASF;\n"
    "30.04.2024;;Zinsen;3,10;EUR;;;;;;\n"
    "02.05.2024;14:00:00;Verkauf;480,00;EUR;5,00;15,00;10;DE000BASF111;BASF;\n"
    "03.05.2024;;Entnahme;100,00;EUR;;;;;;\n"
    "04.05.2024;;Steuerrückerstattung;12,00;EUR;;;;;;\n"
).encode()

WIDE = (
    b"Date;Type;Value;Transaction Currency;Fees;Taxes;Shares;Ticker Symbol;Security Name;"
    b"Securities Account;Offset Account\n"
    b"2024-02-01;Delivery (Inbound);1500;EUR;;;10;SAP;SAP SE;Depot A;\n"
    b"2024-02-05;Transfer (Outbound);1600;EUR;;;4;SAP;SAP SE;Depot A;Depot B\n"
    b"2024-02-07;Delivery (Outbound);400;EUR;;;1;SAP;SAP SE;Depot A;\n"
    b"2024-02-08;Interest Charge;7,25;EUR;;;;;;;\n"
)


@pytest.mark.parametrize("case", sorted(CASES))
def test_portfolio_performance_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    """Each PP sample gives the ledger, skips and notices of its golden file."""
    imported = import_bytes(tmp_path, sample(CASES[case]).read_bytes(), currency="EUR")
    check_golden("portfolio_performance", case, outcome(imported), update_golden)


def test_german_wizard_layout_maps_to_its_golden_ledger(
    tmp_path: Path, update_golden: bool
) -> None:
    """German column and type names, dd.MM.yyyy dates with a time column, thousands dots
    and decimal commas import; a tax refund is left to resolve."""
    imported = import_bytes(tmp_path, GERMAN, currency="EUR")
    check_golden("portfolio_performance", "german-wizard", outcome(imported), update_golden)


def test_deliveries_transfers_and_interest_charge_map_to_their_golden_ledger(
    tmp_path: Path, update_golden: bool
) -> None:
    """Deliveries move units at their value, a securities transfer makes two linked legs,
    and an interest charge is negative interest."""
    imported = import_bytes(tmp_path, WIDE, currency="EUR")
    check_golden("portfolio_performance", "deliveries-transfers", outcome(imported), update_golden)


def _detect(data: bytes) -> registry.Detected:
    _, records = open_csv(io.BufferedReader(io.BytesIO(data)))
    return registry.detect_csv(records)


@pytest.mark.parametrize(
    "header",
    [
        "Date;Type;Security;Shares;Quote;Amount;Fees;Taxes;Net Transaction Value;"
        "Cash Account;Offset Account;Note;Source",
        "\ufeffType; Date; Value; Cash Account; Offset Account; Gross Amount; "
        "Currency Gross Amount",
        "\ufeffDate;Type;Shares;Security Name;Value;Exchange rate;fees;taxes;"
        "Securities Account;Cash Account",
        "Datum;Typ;Wert;Buchungswährung;Stück;Wertpapiername;Gebühren;Steuern;Notiz",
    ],
)
def test_portfolio_performance_layouts_are_detected_with_full_confidence(header: str) -> None:
    """PP's export and wizard headers, English or German, are recognized without --format."""
    found = _detect((header + "\n").encode())
    assert (found.format.name, found.confidence) == ("portfolio-performance", 1.0)


def test_quantdesk_trades_header_is_not_portfolio_performance() -> None:
    """quantdesk's own trades header, also ';'-separated, stays generic-trades."""
    assert _detect(b"symbol;type;quantity;price;date\n").format.name == "generic-trades"
    assert _detect(b"date,symbol,type,quantity,price,fees\n").format.name == "generic-trades"


def test_reimport_adds_nothing_and_a_newer_export_adds_only_new_rows(tmp_path: Path) -> None:
    """Re-importing adds 0; an export repeating old rows adds only the new ones."""
    head = "Date;Type;Value;Cash Account;Offset Account\n"
    rows = "2024-01-02;Deposit;1000;main (EUR); \n2024-01-05;Fees;2,50;main (EUR); \n"
    more = "2024-02-01;Transfer (Outbound);100;main (EUR);other (EUR)\n"
    first = import_bytes(tmp_path, (head + rows).encode(), currency="EUR")
    again = import_bytes(tmp_path, (head + rows).encode(), engine=first.uow.engine)
    newer = import_bytes(tmp_path, (head + rows + more).encode(), engine=first.uow.engine)
    repeat = import_bytes(tmp_path, (head + rows + more).encode(), engine=first.uow.engine)
    assert [i.report.added for i in (first, again, newer, repeat)] == [2, 0, 2, 0]


def test_bad_number_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """A value that is no number is an issue on its line and column; nothing is stored."""
    data = b"Date;Type;Value;Cash Account\n2024-01-02;Deposit;100;a\n2024-01-03;Deposit;1x0;a\n"
    report = import_bytes(tmp_path, data, currency="EUR").report
    assert report.added == 0
    assert [(i.line, i.column) for i in report.issues] == [(3, "Value")]


def test_bad_or_future_date_refuses_the_import(tmp_path: Path) -> None:
    """A US-style date and a date in the future are issues naming the Date column."""
    data = b"Date;Type;Value;Cash Account\n01/02/2024;Deposit;100;a\n2031-01-03;Deposit;1;a\n"
    report = import_bytes(tmp_path, data, currency="EUR").report
    assert report.added == 0
    assert [(i.line, i.column) for i in report.issues] == [(2, "Date"), (3, "Date")]
    assert "is in the future" in report.issues[1].reason


def test_unknown_type_is_refused_naming_it(tmp_path: Path) -> None:
    """A transaction type PP does not have refuses the import, naming it."""
    data = b"Date;Type;Value;Cash Account\n2024-01-02;Spin-off;100;a\n"
    report = import_bytes(tmp_path, data, currency="EUR").report
    assert report.added == 0
    assert [(i.line, i.column) for i in report.issues] == [(2, "Type")]
    assert "'Spin-off'" in report.issues[0].reason


def test_buy_without_shares_is_refused(tmp_path: Path) -> None:
    """A buy that does not say how many shares is an issue, not a guess."""
    data = b"Date;Type;Value;Shares;Security Name\n2024-01-02;Buy;100; ;BASF\n"
    report = import_bytes(tmp_path, data, currency="EUR").report
    assert report.added == 0
    assert [(i.line, i.column) for i in report.issues] == [(2, "Shares")]
