"""DEGIRO account statements and transactions reports import with their meaning intact."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from quantdesk.importers.degiro import amount
from tests.importers.broker_golden import check_golden, import_bytes, outcome, sample

NL = "degiro/degiro_account_nl_e2g.csv"
EN_FX = "degiro/degiro_account_en_fx_buy_gfsk.csv"
DE_TRANSACTIONS = "degiro/degiro_transactions_de_wojI.csv"

EN_TRANSACTIONS = (
    "Date,Time,Product,ISIN,Reference exchange,Venue,Quantity,Price,,Local value,,Value,,"
    "Exchange rate,Transaction and/or third,,Total,,Order ID\n"
    "28-12-2021,15:33,VANGUARD FTSE AW,IE00B3RBWM25,EAM,XAMS,2,103.5000,EUR,-207.00,EUR,"
    "-207.00,EUR,,-2.00,EUR,-209.00,EUR,aaaa-1\n"
    "03-01-2022,09:05,APPLE INC,US0378331005,NDQ,XNAS,5,180.0000,USD,-900.00,USD,"
    "-796.46,EUR,1.1300,-0.50,EUR,-796.96,EUR,aaaa-2\n"
    "04-02-2022,16:40,VANGUARD FTSE AW,IE00B3RBWM25,EAM,XAMS,-1,110.0000,EUR,110.00,EUR,"
    "110.00,EUR,,-2.00,EUR,108.00,EUR,aaaa-3\n"
)
# The German layout with a foreign-currency trade: every currency precedes its amount,
# so the price and local value are in USD and the value, fees and total in EUR.
DE_TRANSACTIONS_USD = (
    "Datum,Uhrzeit,Produkt,ISIN,Referenzbörse,Anzahl,,Kurs,,Wert in Lokalwährun,,Wert,"
    "Wechselkurs,,Transaktionskost,,Gesamt,Order-ID\n"
    "05-03-2021,15:45,APPLE INC,US0378331005,NDQ,5,USD,100.0000,USD,-500.00,EUR,-450.00,"
    "1.1111,EUR,-2.00,EUR,-452.00,bbbb-1\n"
)
EN_ACCOUNT = (
    "Date,Time,Value date,Product,ISIN,Description,FX,Change,,Balance,,Order Id\n"
    "02-03-2024,10:00,02-03-2024,,,Flatex Interest,,EUR,0.05,EUR,100.05,\n"
    "01-03-2024,11:00,01-03-2024,APPLE INC,US0378331005,Dividend Tax,,USD,-0.15,USD,0.85,\n"
    "01-03-2024,11:00,01-03-2024,APPLE INC,US0378331005,Dividend,,USD,1.00,USD,1.00,\n"
    "29-02-2024,09:30,29-02-2024,,,iDEAL Deposit,,EUR,100.00,EUR,100.00,\n"
)


def _degiro(tmp_path: Path, data: bytes, **options: object) -> dict[str, object]:
    return outcome(import_bytes(tmp_path, data, currency="EUR", **options))  # type: ignore[arg-type]


def test_amounts_are_read_per_cell_with_a_decimal_comma_or_point() -> None:
    """A comma without a dot is a decimal comma; a space may separate thousands."""
    assert amount("-79,35") == Decimal("-79.35")
    assert amount("-97.93") == Decimal("-97.93")
    assert amount("1 046,3825") == Decimal("1046.3825")
    assert amount("1.234,50") == Decimal("1234.50")


def test_english_account_with_fx_buy_imports_to_its_golden_ledger(
    tmp_path: Path, update_golden: bool
) -> None:
    """A USD buy in a GBP account is one GBP buy at the converted amount with both fees."""
    imported = import_bytes(tmp_path, sample(EN_FX).read_bytes(), currency="GBP")
    check_golden("degiro", "account-en-fx-buy", outcome(imported), update_golden)


def test_english_account_cash_equals_the_change_in_degiros_balance(tmp_path: Path) -> None:
    """The imported cash of every currency moves as the Balance column does."""
    data = sample(EN_FX).read_bytes()
    imported = import_bytes(tmp_path, data, currency="GBP")
    assert not imported.report.issues
    rows = [line.split(",") for line in data.decode().splitlines()[1:]]
    oldest: dict[str, Decimal] = {}
    newest: dict[str, Decimal] = {}
    for cells in reversed(rows):  # the file is newest first
        currency, change, balance = cells[7], Decimal(cells[8]), Decimal(cells[10])
        oldest.setdefault(currency, balance - change)
        newest[currency] = balance
    imported_cash: dict[str, Decimal] = defaultdict(Decimal)
    for entry in imported.ledger:  # the account has no deposit, so replay tracks no cash
        imported_cash[entry.currency] += entry.cash_effect()
    for currency, balance in newest.items():
        assert imported_cash[currency] == balance - oldest[currency], currency


def test_dutch_collection_is_refused_naming_its_masked_trade_rows(
    tmp_path: Path, update_golden: bool
) -> None:
    """The NL collection's masked 9999.99 trade rows do not match their descriptions:
    the import is refused and the golden names those lines."""
    imported = import_bytes(tmp_path, sample(NL).read_bytes(), currency="EUR")
    result = outcome(imported)
    assert result["added"] == 0
    assert any("line 69" in issue and "9999.99" in issue for issue in result["issues"])
    check_golden("degiro", "account-nl-e2g", result, update_golden)


def test_dutch_collection_without_the_masked_trade_imports_to_its_golden_ledger(
    tmp_path: Path, update_golden: bool
) -> None:
    """Without the masked Toyota trade rows the rest of the collection imports."""
    lines = sample(NL).read_bytes().split(b"\n")
    kept = b"\n".join(line for line in lines if b",541651641" not in line)
    imported = import_bytes(tmp_path, kept, currency="EUR")
    result = outcome(imported)
    assert not result["issues"]
    check_golden("degiro", "account-nl-e2g-unmasked", result, update_golden)


def test_wrapped_order_id_is_joined_back_to_its_row(tmp_path: Path) -> None:
    """The continuation line completes the VICI FX credit's Order Id, so the buy is one
    EUR trade with its fee."""
    lines = sample(NL).read_bytes().split(b"\n")
    kept = b"\n".join(line for line in lines if b",541651641" not in line)
    imported = import_bytes(tmp_path, kept, currency="EUR")
    vici = [t for t in imported.ledger if t.instrument and t.instrument.symbol == "US9256521090"]
    assert len(vici) == 1
    assert (vici[0].type.value, vici[0].currency) == ("buy", "EUR")
    assert (vici[0].price, vici[0].fees) == (Decimal("31.91"), Decimal("1.00"))
    assert vici[0].external_id == "5925d76b-eb36-46e3-b017-a61a6d03c3e7"
    assert imported.report.notices.skipped["the rest of line 18's Order Id, joined back to it"] == [
        19
    ]


def test_english_account_cash_rows_import_with_detection(tmp_path: Path) -> None:
    """An English statement is detected with full confidence; dividend, tax, deposit and
    interest keep their currencies."""
    imported = import_bytes(tmp_path, EN_ACCOUNT.encode(), currency="EUR")
    result = outcome(imported)
    assert result["format"] == "degiro-account"
    assert result["confidence"] == 1.0
    kinds = [(e["type"], e["amount"], e["currency"]) for e in result["entries"]]
    assert sorted(kinds) == sorted(
        [
            ("deposit", "100", "EUR"),
            ("dividend", "1", "USD"),
            ("tax", "0.15", "USD"),
            ("interest", "0.05", "EUR"),
        ]
    )
    assert result["cash"] == {"EUR": "100.05", "USD": "0.85"}


def test_german_account_header_with_truncated_time_is_detected(tmp_path: Path) -> None:
    """DEGIRO's German header with ``Uhrze`` is a DEGIRO account statement."""
    data = (
        "Datum,Uhrze,Valutadatum,Produkt,ISIN,Beschreibung,FX,Änderung,,Saldo,,Order-ID\n"
        '29-02-2024,09:30,29-02-2024,,,flatex Einzahlung,,EUR,"100,00",EUR,"100,00",\n'
    )
    result = _degiro(tmp_path, data.encode())
    assert result["format"] == "degiro-account"
    assert [(e["type"], e["amount"]) for e in result["entries"]] == [("deposit", "100")]
    assert result["entries"][0]["at"] == "2024-02-29T08:30:00+00:00"  # type: ignore[index]


def test_reimport_adds_nothing_and_a_newer_export_adds_only_new_rows(tmp_path: Path) -> None:
    """Rows already imported are recognised in a later, overlapping export."""
    first = import_bytes(tmp_path, EN_ACCOUNT.encode(), currency="EUR")
    assert first.report.added == 4
    engine = first.uow.engine
    again = import_bytes(tmp_path, EN_ACCOUNT.encode(), currency="EUR", engine=engine)
    assert again.report.added == 0
    header, *rows = EN_ACCOUNT.splitlines()
    newer = "\n".join(
        [header, "05-03-2024,08:00,05-03-2024,,,DEGIRO courtesy,,EUR,0.24,EUR,100.29,", *rows]
    )
    later = import_bytes(tmp_path, newer.encode(), currency="EUR", engine=engine)
    assert later.report.added == 1


def test_bad_amount_is_refused_naming_line_and_column(tmp_path: Path) -> None:
    """A change that is not a number refuses the import, naming its line and column."""
    data = EN_ACCOUNT.replace("EUR,100.00,EUR,100.00", "EUR,1O0.00,EUR,100.00").encode()
    result = _degiro(tmp_path, data)
    assert result["added"] == 0
    assert any("line 5" in i and "Change" in i for i in result["issues"])  # type: ignore[union-attr]


def test_bad_date_is_refused_naming_line_and_column(tmp_path: Path) -> None:
    """A date that is not DD-MM-YYYY refuses the import, naming its line and column."""
    data = EN_ACCOUNT.replace("29-02-2024,09:30", "31-02-2024,09:30").encode()
    result = _degiro(tmp_path, data)
    assert result["added"] == 0
    assert any("line 5" in i and "Date" in i for i in result["issues"])  # type: ignore[union-attr]


def test_unknown_movement_is_refused(tmp_path: Path) -> None:
    """A description the importer does not know refuses the import."""
    data = EN_ACCOUNT.replace("Flatex Interest", "Mystery Bonus").encode()
    result = _degiro(tmp_path, data)
    assert result["added"] == 0
    assert any("unknown DEGIRO account movement" in i for i in result["issues"])  # type: ignore[union-attr]


def test_german_transactions_sample_is_refused_for_its_inconsistent_sell_total(
    tmp_path: Path, update_golden: bool
) -> None:
    """The sample's SAP sale has a Total that is not its value less its fees: refused."""
    result = _degiro(tmp_path, sample(DE_TRANSACTIONS).read_bytes())
    assert result["format"] == "degiro-transactions"
    assert result["added"] == 0
    check_golden("degiro", "transactions-de", result, update_golden)


def test_german_transactions_map_currency_cells_before_their_amounts(
    tmp_path: Path, update_golden: bool
) -> None:
    """With the sale's Total made consistent the German sample imports; currencies are
    read from the cell before each amount."""
    data = sample(DE_TRANSACTIONS).read_bytes().replace(b",3181.8,", b",3179.8,")
    result = _degiro(tmp_path, data)
    assert not result["issues"]
    check_golden("degiro", "transactions-de-consistent", result, update_golden)


def test_german_transactions_record_a_usd_trade_in_the_total_currency(tmp_path: Path) -> None:
    """Price and local value are in USD; the trade is recorded in EUR from Wert and fees."""
    result = _degiro(tmp_path, DE_TRANSACTIONS_USD.encode())
    assert not result["issues"]
    (entry,) = result["entries"]  # type: ignore[misc]
    assert (entry["type"], entry["quantity"], entry["price"]) == ("buy", "5", "90")
    assert (entry["fees"], entry["currency"]) == ("2", "EUR")
    assert result["cash"] == {}  # no deposit in the file: cash is not tracked


def test_english_transactions_import_to_their_golden_ledger(
    tmp_path: Path, update_golden: bool
) -> None:
    """The English layout (currency after each amount) imports buys and a sale."""
    result = _degiro(tmp_path, EN_TRANSACTIONS.encode())
    assert result["format"] == "degiro-transactions"
    assert result["confidence"] == 1.0
    check_golden("degiro", "transactions-en-inline", result, update_golden)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (",-209.00,EUR,aaaa-1", ",-209.00,XX1,aaaa-1", "not a currency code"),
        ("28-12-2021,15:33", "28-13-2021,15:33", "not a date"),
    ],
)
def test_bad_transactions_cells_are_refused(tmp_path: Path, old: str, new: str, words: str) -> None:
    """A bad currency cell or date refuses the import, naming line 2."""
    result = _degiro(tmp_path, EN_TRANSACTIONS.replace(old, new).encode())
    assert result["added"] == 0
    assert any("line 2" in i and words in i for i in result["issues"])  # type: ignore[union-attr]
