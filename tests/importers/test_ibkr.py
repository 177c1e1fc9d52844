"""Interactive Brokers exports (Activity Statement, Transaction History, Flex CSV and
XML) import with their meaning intact."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.lots import replay
from quantdesk.domain.transactions import TransactionType
from tests.importers.broker_golden import check_golden, import_bytes, outcome, sample

CASES = {
    "activity-statement-2023": "ibkr/ibkr_activity_statement_2023.csv",
    "flex-trades": "ibkr/ibkr_flex_trades_e2g.csv",
    "flex-cash-transactions": "ibkr/ibkr_flex_dividends_e2g.csv",
    "flex-xml": "ibkr/ibkr_flex_query.xml",
    "transaction-history": "ibkr/ibkr_transaction_history_kapji.csv",
}
FORMAT_OF = {
    "activity-statement-2023": "ibkr-activity",
    "flex-trades": "ibkr-flex-csv",
    "flex-cash-transactions": "ibkr-flex-csv",
    "flex-xml": "ibkr-flex-xml",
    "transaction-history": "ibkr-transaction-history",
}
HEAD = (
    "Statement,Header,Field Name,Field Value\n"
    "Statement,Data,Title,Activity Statement\n"
    "Account Information,Header,Field Name,Field Value\n"
    "Account Information,Data,Account,U1\n"
)
TRADES = (
    "Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,Quantity,"
    "T. Price,C. Price,Proceeds,Comm/Fee,Basis,Realized P/L,MTM P/L,Code\n"
)


def _statement(body: str) -> bytes:
    return (HEAD + body).encode()


def _filename(case: str) -> str:
    return Path(CASES[case]).name


@pytest.mark.parametrize("case", sorted(CASES))
def test_ibkr_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    """Each real sample gives the reviewed entries, skips, positions and cash."""
    data = sample(CASES[case]).read_bytes()
    imported = import_bytes(tmp_path, data, filename=_filename(case))
    check_golden("ibkr", case, outcome(imported), update_golden)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ibkr_sample_is_detected_without_a_format(case: str, tmp_path: Path) -> None:
    """Every sample is recognized as its own IBKR format, knowing every header column."""
    data = sample(CASES[case]).read_bytes()
    report = import_bytes(tmp_path, data, filename=_filename(case)).report
    assert report.format == FORMAT_OF[case]
    assert report.confidence == 1.0
    assert report.issues == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_reimporting_an_ibkr_sample_adds_nothing(case: str, tmp_path: Path) -> None:
    """Importing the same export twice records its entries once."""
    data = sample(CASES[case]).read_bytes()
    first = import_bytes(tmp_path, data, filename=_filename(case))
    again = import_bytes(tmp_path, data, filename=_filename(case), engine=first.uow.engine)
    assert first.report.added > 0
    assert again.report.added == 0
    assert len(again.ledger) == len(first.ledger)


def test_a_newer_overlapping_flex_export_adds_only_its_new_trades(tmp_path: Path) -> None:
    """A Flex export covering an earlier one's trades adds only the later trades."""
    lines = sample(CASES["flex-trades"]).read_bytes().decode().splitlines()
    older = "\n".join(lines[:6]).encode()  # header and the first five buys
    first = import_bytes(tmp_path, older)
    newer = import_bytes(
        tmp_path, "\n".join(lines).encode(), filename="newer.csv", engine=first.uow.engine
    )
    assert first.report.added == 5
    assert newer.report.added == 3
    assert [t.trade_date.isoformat() for t in newer.ledger[-3:]] == [
        "2023-12-28",
        "2024-01-26",
        "2024-01-29",
    ]


def test_statement_trades_give_the_open_positions_the_statement_reports(
    tmp_path: Path,
) -> None:
    """Trades of the year explain every Open Positions quantity: exactly for positions
    opened this year; as the change from the prior quantity for older ones (the file holds
    no trades before 2023, so their earlier lots are not in the ledger)."""
    data = sample(CASES["activity-statement-2023"]).read_bytes()
    imported = import_bytes(tmp_path, data)
    rows = list(csv.reader(io.StringIO(data.decode())))
    open_positions = {
        r[5]: Decimal(r[6]) for r in rows if r[0] == "Open Positions" and r[1] == "Data"
    }
    prior = {
        r[3]: Decimal(r[4])
        for r in rows
        if r[0] == "Mark-to-Market Performance Summary" and r[1] == "Data" and r[2] == "Stocks"
    }
    traded: dict[str, Decimal] = defaultdict(Decimal)
    for t in imported.ledger:
        if t.instrument is not None and t.type in (TransactionType.BUY, TransactionType.SELL):
            sign = 1 if t.type is TransactionType.BUY else -1
            traded[t.instrument.symbol] += sign * (t.quantity or 0)
    held: dict[str, Decimal] = defaultdict(Decimal)
    for lot in replay(imported.ledger, collect_shortfalls=True).open_lots():
        held[lot.instrument.symbol] += lot.quantity
    assert set(prior) >= set(open_positions)
    for symbol, quantity in open_positions.items():
        assert traded[symbol] == quantity - prior[symbol], symbol
        if prior[symbol] == 0:
            assert held[symbol] == quantity, symbol
    assert {s for s, q in prior.items() if q and s not in open_positions} == {"ALLY"}
    assert held["ALLY"] == 0


def test_statement_uses_order_lines_and_never_their_fills(tmp_path: Path) -> None:
    """When a Trades section has Order lines, its Trade fills and closed lots are skipped."""
    body = (
        TRADES
        + 'Trades,Data,Order,Stocks,USD,KO,"2023-11-15, 11:00:00",10,57,57,-570,-1,571,0,0,O\n'
        'Trades,Data,Trade,Stocks,USD,KO,"2023-11-15, 11:00:00",4,57,57,-228,-0.4,,0,0,O\n'
        'Trades,Data,Trade,Stocks,USD,KO,"2023-11-15, 11:00:00",6,57,57,-342,-0.6,,0,0,O\n'
        'Trades,Data,ClosedLot,Stocks,USD,KO,"2023-01-15",-1,50,,,,50,,,ST\n'
    )
    imported = import_bytes(tmp_path, _statement(body))
    skipped = imported.report.notices.skipped
    assert [(t.type.value, t.quantity, t.fees) for t in imported.ledger] == [
        ("buy", Decimal(10), Decimal(1))
    ]
    assert imported.ledger[0].traded_at.isoformat() == "2023-11-15T16:00:00+00:00"
    assert skipped["a fill of an order imported from its Order line"] == [7, 8]
    assert skipped["closed lot (the lot a sale closed, not a transaction)"] == [9]


def test_statement_uses_trade_fills_when_it_has_no_order_lines(tmp_path: Path) -> None:
    """Without Order lines, every Trade fill (thousands separators included) is a trade."""
    body = (
        TRADES + 'Trades,Data,Trade,Stocks,USD,KO,"2023-11-15, 11:00:00","1,000",57,57,'
        '"-57,000",-1,571,0,0,O\n'
        'Trades,Data,Trade,Stocks,USD,KO,"2023-11-16, 11:00:00",-6,58,57,348,-0.6,,0,0,C\n'
    )
    imported = import_bytes(tmp_path, _statement(body))
    assert [(t.type.value, t.quantity, t.price) for t in imported.ledger] == [
        ("buy", Decimal(1000), Decimal(57)),
        ("sell", Decimal(6), Decimal(58)),
    ]


def test_statement_forex_trade_moves_cash_between_two_currencies(tmp_path: Path) -> None:
    """EUR.USD bought: USD leaves, EUR arrives (linked legs), the commission is a USD fee."""
    body = (
        "Deposits & Withdrawals,Header,Currency,Settle Date,Description,Amount\n"
        "Deposits & Withdrawals,Data,USD,2023-01-02,Wire,10000\n"
        "Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,Quantity,"
        "T. Price,,Proceeds,Comm in USD,,,MTM in USD,Code\n"
        'Trades,Data,Order,Forex,USD,EUR.USD,"2023-01-16, 10:30:00",8000,1.1,,-8800,-2,,,0,\n'
    )
    imported = import_bytes(tmp_path, _statement(body))
    legs = [(t.type.value, t.amount, t.currency) for t in imported.ledger]
    assert sorted(legs) == [
        ("deposit", Decimal(10000), "USD"),
        ("fee", Decimal(2), "USD"),
        ("transfer_in", Decimal(8000), "EUR"),
        ("transfer_out", Decimal(8800), "USD"),
    ]
    links = {t.link for t in imported.ledger if t.type.value.startswith("transfer")}
    assert len(links) == 1 and None not in links
    cash = replay(imported.ledger).cash
    assert {c: v for (_, c), v in cash.items()} == {"USD": Decimal(1198), "EUR": Decimal(8000)}


def test_statement_options_are_skipped_with_their_reason(tmp_path: Path) -> None:
    """Option trades are reported as skipped: the ledger has no options or short positions."""
    body = (
        TRADES + "Trades,Data,Order,Equity and Index Options,USD,KO 19JAN24 60 C,"
        '"2023-11-15, 11:00:00",-1,1.2,1.1,120,-1,,0,0,O\n'
    )
    imported = import_bytes(tmp_path, _statement(body))
    assert imported.ledger == []
    [reason] = [r for r, lines in imported.report.notices.skipped.items() if lines == [6]]
    assert reason.startswith("Equity and Index Options contract KO 19JAN24 60 C")
    assert "options" in reason


def test_statement_split_is_applied_and_a_merger_left_to_resolve(tmp_path: Path) -> None:
    """``Split 4 for 1`` multiplies the holding by 4; a merger is for the user to resolve."""
    body = (
        TRADES
        + 'Trades,Data,Order,Stocks,USD,AAPL,"2020-08-03, 10:00:00",2,400,400,-800,-1,,0,0,O\n'
        "Corporate Actions,Header,Asset Category,Currency,Report Date,Date/Time,Description,"
        "Quantity,Proceeds,Value,Realized P/L,Code\n"
        'Corporate Actions,Data,Stocks,USD,2020-08-31,"2020-08-28, 20:25:00",'
        '"AAPL(US0378331005) Split 4 for 1 (AAPL, APPLE INC, US0378331005)",6,0,0,0,\n'
        'Corporate Actions,Data,Stocks,USD,2020-10-30,"2020-10-29, 20:25:00",'
        '"LVGO(US5391831030) Merged(Acquisition) WITH US87918A1051 592 FOR 1000",-2,0,0,0,\n'
    )
    imported = import_bytes(tmp_path, _statement(body))
    split = imported.ledger[-1]
    assert (split.type.value, split.split_ratio) == ("split", Decimal(4))
    assert replay(imported.ledger).open_lots()[0].quantity == Decimal(8)
    [resolve] = imported.report.notices.to_resolve
    assert resolve.line == 9 and "Merged(Acquisition)" in resolve.reason


def test_withholding_tax_refund_returns_to_the_dividend(tmp_path: Path) -> None:
    """A positive withholding (tax given back) is dividend income of that instrument."""
    body = (
        "Withholding Tax,Header,Currency,Date,Description,Amount,Code\n"
        "Withholding Tax,Data,USD,2023-03-01,KO(US1912161007) US Tax Withholding,-3.00,\n"
        "Withholding Tax,Data,USD,2023-03-09,KO(US1912161007) US Tax Withholding,1.50,\n"
        "Withholding Tax,Data,Total,,,-1.50,\n"
    )
    imported = import_bytes(tmp_path, _statement(body))
    assert [
        (t.type.value, t.amount, t.instrument and t.instrument.symbol) for t in imported.ledger
    ] == [
        ("tax", Decimal(3), "KO"),
        ("dividend", Decimal("1.5"), "KO"),
    ]


def test_statement_with_bom_and_crlf_imports(tmp_path: Path) -> None:
    """A statement saved with a BOM and Windows line ends reads the same."""
    body = "Dividends,Header,Currency,Date,Description,Amount\r\n" + (
        "Dividends,Data,USD,2023-04-03,KO(US1912161007) Cash Dividend USD 0.46,10.12\r\n"
    )
    data = "\ufeff".encode() + _statement(body).replace(b"\n", b"\r\n").replace(b"\r\r", b"\r")
    imported = import_bytes(tmp_path, data)
    assert imported.report.format == "ibkr-activity"
    assert [(t.type.value, t.amount) for t in imported.ledger] == [("dividend", Decimal("10.12"))]


def test_statement_bad_quantity_refuses_the_import_naming_line_and_column(
    tmp_path: Path,
) -> None:
    """A quantity that is not a number refuses the whole import, naming where it is."""
    body = (
        TRADES + 'Trades,Data,Order,Stocks,USD,KO,"2023-11-15, 11:00:00",ten,57,57,-570,-1,,0,0,O\n'
    )
    report = import_bytes(tmp_path, _statement(body)).report
    assert report.added == 0
    [issue] = report.issues
    assert (issue.line, issue.column) == (6, "Quantity")


def test_statement_bad_date_refuses_the_import(tmp_path: Path) -> None:
    """A dividend date that is not a date is an issue on its line and column."""
    body = (
        "Dividends,Header,Currency,Date,Description,Amount\n"
        "Dividends,Data,USD,2023-13-45,KO(US1912161007) Cash Dividend,10.12\n"
    )
    report = import_bytes(tmp_path, _statement(body)).report
    assert report.added == 0
    assert [(i.line, i.column) for i in report.issues] == [(6, "Date")]


def test_statement_truncated_row_is_refused(tmp_path: Path) -> None:
    """A data line with fewer cells than its section header is refused."""
    body = "Dividends,Header,Currency,Date,Description,Amount\nDividends,Data,USD,2023-04-03,KO\n"
    report = import_bytes(tmp_path, _statement(body)).report
    assert report.added == 0
    assert "truncated row" in report.issues[0].reason


def test_flex_cash_unknown_type_refuses_the_import(tmp_path: Path) -> None:
    """A cash transaction type the importer does not know is an issue naming the Type column."""
    data = (
        b'"Type","SettleDate","ISIN","Description","Amount","CurrencyPrimary"\n'
        b'"Mystery Credit","20230623","US9220427424","VT something","1","USD"\n'
    )
    report = import_bytes(tmp_path, data).report
    assert report.added == 0
    [issue] = report.issues
    assert (issue.line, issue.column) == (2, "Type")
    assert "Mystery Credit" in issue.reason


def test_transaction_history_unknown_type_refuses_the_import(tmp_path: Path) -> None:
    """An unknown Transaction Type in a Transaction History is refused with its line."""
    data = (
        b"Statement,Header,Field Name,Field Value\n"
        b"Statement,Data,Title,Transaction History\n"
        b"Transaction History,Header,Date,Account,Description,Transaction Type,Symbol,"
        b"Quantity,Price,Gross Amount ,Commission,Net Amount\n"
        b"Transaction History,Data,2025-01-01,U1,Something,Teleport,-,-,-,5.0,-,5.0\n"
    )
    report = import_bytes(tmp_path, data).report
    assert report.format == "ibkr-transaction-history"
    assert [(i.line, i.column) for i in report.issues] == [(4, "Transaction Type")]


def test_flex_xml_with_a_doctype_is_refused(tmp_path: Path) -> None:
    """A Flex XML declaring a DOCTYPE (entity expansion) is refused before parsing."""
    data = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
        b"<FlexQueryResponse><FlexStatements/></FlexQueryResponse>"
    )
    with pytest.raises(InvalidInput, match="DOCTYPE"):
        import_bytes(tmp_path, data, filename="flex.xml")


def test_flex_xml_bad_quantity_names_the_element_and_attribute(tmp_path: Path) -> None:
    """A Trade whose quantity is not a number refuses the import, naming the attribute."""
    data = (
        b'<FlexQueryResponse><FlexStatements><FlexStatement accountId="U1"><Trades>'
        b'<Trade accountId="U1" currency="USD" assetCategory="STK" symbol="KO" '
        b'dateTime="20230403;095853" tradeDate="20230403" quantity="x" tradePrice="57" '
        b'ibCommission="-1" ibCommissionCurrency="USD" buySell="BUY" tradeID="7" '
        b'levelOfDetail="EXECUTION"/></Trades></FlexStatement></FlexStatements>'
        b"</FlexQueryResponse>"
    )
    report = import_bytes(tmp_path, data, filename="flex.xml").report
    assert report.added == 0
    assert [(i.line, i.column) for i in report.issues] == [(5, "quantity")]


def test_flex_trade_with_symbol_column_keeps_the_ticker_and_the_pair(tmp_path: Path) -> None:
    """With a Symbol column the ticker is the symbol and a CHF.USD exchange is imported."""
    data = (
        b'"Symbol","Buy/Sell","DateTime","ISIN","Quantity","TradePrice","TradeMoney",'
        b'"CurrencyPrimary","IBCommission","IBCommissionCurrency","TradeID"\n'
        b'"CHF.USD","SELL","20230522;093000","","-8000","1.1173","-8938.4","USD","-1.8","CHF","1"\n'
        b'"VT","BUY","20230522;100000","US9220427424","95","93.78","8909.1","USD","-1","USD","2"\n'
    )
    imported = import_bytes(tmp_path, data)
    got = sorted((t.type.value, t.amount or t.quantity, t.currency) for t in imported.ledger)
    assert got == [
        ("buy", Decimal(95), "USD"),
        ("fee", Decimal("1.8"), "CHF"),
        ("transfer_in", Decimal("8938.4"), "USD"),
        ("transfer_out", Decimal(8000), "CHF"),
    ]
    assert imported.ledger[-1].instrument is not None
    assert imported.ledger[-1].instrument.symbol == "VT"
