"""Ghostfolio activity files (JSON export and CSV import table) import with their meaning
intact."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.importers import registry
from quantdesk.importers.csvio import open_csv
from tests.importers.broker_golden import check_golden, import_bytes, outcome, sample

CASES = {
    "sample-csv": ("ghostfolio/ghostfolio_sample.csv", "sample.csv"),
    "btcusd-csv": ("ghostfolio/ghostfolio_btcusd.csv", "btcusd.csv"),
    "sample-json": ("ghostfolio/ghostfolio_sample.json", "sample.json"),
}

ACCOUNTS: list[dict[str, Any]] = [
    {
        "id": "acc-1",
        "name": "Broker",
        "currency": "USD",
        "balances": [],
        "platformId": None,
    }
]


def activity(**fields: Any) -> dict[str, Any]:
    """A Ghostfolio activity as its export writes it, with ``fields`` changed."""
    base: dict[str, Any] = {
        "accountId": "acc-1",
        "comment": None,
        "fee": 0,
        "quantity": 1,
        "type": "BUY",
        "unitPrice": 1,
        "currency": "USD",
        "dataSource": "YAHOO",
        "date": "2024-01-02T00:00:00.000Z",
        "symbol": "AAPL",
        "tags": [],
    }
    base.update(fields)
    return base


def document(*activities: dict[str, Any]) -> bytes:
    body = {
        "meta": {"date": "2024-06-01T00:00:00.000Z", "version": "2.100.0"},
        "accounts": ACCOUNTS,
        "assetProfiles": [
            {
                "dataSource": "MANUAL",
                "symbol": "3b3f1a9e-1111-4f3c-9d55-0123456789ab",
                "name": "Gold Coins",
            }
        ],
        "platforms": [],
        "tags": [],
        "activities": list(activities),
        "user": {"settings": {"currency": "USD"}},
    }
    return json.dumps(body, indent=2).encode()


ALL_TYPES = document(
    activity(id="a-1", type="BUY", quantity=10, unitPrice=150.5, fee=1.25),
    activity(
        id="a-2", type="SELL", quantity=4, unitPrice=170, fee=1, date="2024-03-04T14:30:00.000Z"
    ),
    activity(
        id="a-3", type="DIVIDEND", quantity=6, unitPrice=0.24, date="2024-05-16T00:00:00.000Z"
    ),
    activity(
        id="a-4",
        type="INTEREST",
        quantity=1,
        unitPrice=12.5,
        fee=0.5,
        dataSource="MANUAL",
        symbol="3b3f1a9e-1111-4f3c-9d55-0123456789ab",
    ),
    activity(
        id="a-5",
        type="FEE",
        quantity=0,
        unitPrice=0,
        fee=9.99,
        dataSource="MANUAL",
        symbol="3b3f1a9e-1111-4f3c-9d55-0123456789ab",
    ),
    activity(
        id="a-6",
        type="LIABILITY",
        quantity=1,
        unitPrice=25000,
        dataSource="MANUAL",
        symbol="3b3f1a9e-2222-4f3c-9d55-0123456789ab",
    ),
    activity(
        id="a-7",
        type="ITEM",
        quantity=1,
        unitPrice=1800,
        dataSource="MANUAL",
        symbol="3b3f1a9e-1111-4f3c-9d55-0123456789ab",
    ),
    activity(
        id="a-8",
        type="BUY",
        quantity=0.5,
        unitPrice=42000,
        dataSource="COINGECKO",
        symbol="bitcoin",
    ),
    activity(id="a-9", type="BUY", quantity=2, unitPrice=2500, symbol="ETH-USD", accountId=None),
)

ALIAS_CSV = (
    b"date;symbol;ccy;unitprice;qty;type;datasource;commission;comment;account\n"
    b"2024/01/02;AAPL;USD;185.5;3;BUY;YAHOO;1;first;Broker\n"
    b"2024.02.15;AAPL;USD;0.24;3;DIVIDEND;YAHOO;0;;\n"
    b"20240301;AAPL;USD;190;1;sell;YAHOO;0.5;;\n"
    b"05/03/2024;Savings;EUR;4.5;1;interest;MANUAL;0;;\n"
)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ghostfolio_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    """Each Ghostfolio sample gives the ledger, skips and notices of its golden file."""
    relative, filename = CASES[case]
    imported = import_bytes(tmp_path, sample(relative).read_bytes(), filename=filename)
    check_golden("ghostfolio", case, outcome(imported), update_golden)


def test_every_json_activity_type_maps_to_its_golden_ledger(
    tmp_path: Path, update_golden: bool
) -> None:
    """BUY, SELL, DIVIDEND, INTEREST, FEE, LIABILITY, ITEM, COINGECKO and Yahoo crypto
    activities give the entries of their golden file, with ids as external ids."""
    imported = import_bytes(tmp_path, ALL_TYPES, filename="export.json")
    check_golden("ghostfolio", "json-all-types", outcome(imported), update_golden)


def test_csv_with_ghostfolio_aliases_maps_to_its_golden_ledger(
    tmp_path: Path, update_golden: bool
) -> None:
    """A ';' CSV using Ghostfolio's other column names and date formats imports."""
    imported = import_bytes(tmp_path, ALIAS_CSV, filename="aliases.csv")
    check_golden("ghostfolio", "csv-aliases", outcome(imported), update_golden)


def _detect(data: bytes) -> registry.Detected:
    _, records = open_csv(io.BufferedReader(io.BytesIO(data)))
    return registry.detect_csv(records)


def test_ghostfolio_csv_is_detected_with_full_confidence() -> None:
    """Ghostfolio's CSV header is recognized without --format."""
    found = _detect(b"Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note\n")
    assert (found.format.name, found.confidence) == ("ghostfolio-csv", 1.0)
    minimal = _detect(b"Date,Code,Currency,Price,Quantity,Action,Fee\n")
    assert minimal.format.name == "ghostfolio-csv"


def test_ghostfolio_json_is_detected_by_its_activities() -> None:
    """A JSON object holding "activities" is a Ghostfolio document; other JSON is not."""
    found = registry.sniff_document(ALL_TYPES[:4096])
    assert found is not None and found.name == "ghostfolio-json"
    assert registry.sniff_document(b'{"prices": []}') is None
    opening = b'{\n  "meta": {"date": "2023-02-05", "version": "dev"},\n  "accounts": ['
    found = registry.sniff_document(opening)
    assert found is not None and found.name == "ghostfolio-json"


def test_quantdesk_trades_header_is_still_generic_trades() -> None:
    """quantdesk's own trades header, even with currency and fees, stays generic-trades."""
    assert _detect(b"symbol,type,quantity,price,date\n").format.name == "generic-trades"
    wide = _detect(b"date,symbol,type,quantity,price,fees,currency,account\n")
    assert wide.format.name == "generic-trades"


def test_reimporting_the_same_json_adds_nothing(tmp_path: Path) -> None:
    """A second import of the same export adds 0 entries."""
    first = import_bytes(tmp_path, ALL_TYPES, filename="export.json")
    again = import_bytes(tmp_path, ALL_TYPES, filename="export.json", engine=first.uow.engine)
    assert first.report.added == 9
    assert again.report.added == 0


def test_newer_overlapping_json_adds_only_new_activities(tmp_path: Path) -> None:
    """An export that repeats old activities and adds one stores only the new one."""
    old = document(
        activity(id="x-1"), activity(id="x-2", type="SELL", date="2024-02-01T00:00:00.000Z")
    )
    new = document(
        activity(id="x-1"),
        activity(id="x-2", type="SELL", date="2024-02-01T00:00:00.000Z"),
        activity(id="x-3", quantity=5, date="2024-03-01T00:00:00.000Z"),
    )
    first = import_bytes(tmp_path, old, filename="old.json")
    second = import_bytes(tmp_path, new, filename="new.json", engine=first.uow.engine)
    assert (first.report.added, second.report.added) == (2, 1)


def test_newer_overlapping_csv_adds_only_new_rows(tmp_path: Path) -> None:
    """A CSV that repeats earlier rows and adds one stores only the new one."""
    head = b"Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note\n"
    rows = b"16-09-2021,MSFT,YAHOO,USD,298.58,5,buy,19.00,\n"
    more = b"17/11/2021,MSFT,YAHOO,USD,0.62,5,dividend,0.00,\n"
    first = import_bytes(tmp_path, head + rows)
    again = import_bytes(tmp_path, head + rows, engine=first.uow.engine)
    newer = import_bytes(tmp_path, head + rows + more, engine=first.uow.engine)
    assert (first.report.added, again.report.added, newer.report.added) == (1, 0, 1)


def test_bad_csv_price_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """A price that is no number is an issue on its line and column; nothing is stored."""
    data = (
        b"Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note\n"
        b"16-09-2021,MSFT,YAHOO,USD,298.58,5,buy,19.00,\n"
        b"17-09-2021,MSFT,YAHOO,USD,abc,5,buy,0,\n"
    )
    report = import_bytes(tmp_path, data).report
    assert report.added == 0
    assert [(i.line, i.column) for i in report.issues] == [(3, "Price")]


def test_two_digit_year_is_refused(tmp_path: Path) -> None:
    """Ghostfolio refuses two-digit years, and so does the import."""
    data = b"Date,Code,Currency,Price,Quantity,Action,Fee\n16-09-21,MSFT,USD,298.58,5,buy,0\n"
    report = import_bytes(tmp_path, data).report
    assert report.added == 0
    assert [(i.line, i.column) for i in report.issues] == [(2, "Date")]
    assert "two-digit years are refused" in report.issues[0].reason


def test_unknown_csv_action_is_refused(tmp_path: Path) -> None:
    """An action Ghostfolio does not know refuses the import, naming it."""
    data = b"Date,Code,Currency,Price,Quantity,Action,Fee\n16-09-2021,MSFT,USD,1,5,split,0\n"
    report = import_bytes(tmp_path, data).report
    assert report.added == 0
    assert [(i.line, i.column) for i in report.issues] == [(2, "Action")]
    assert "'split'" in report.issues[0].reason


def test_unknown_json_type_and_bad_field_name_the_activity(tmp_path: Path) -> None:
    """A JSON activity of an unknown type or with a non-number quantity is an issue on
    that activity's index and field."""
    data = document(
        activity(type="BUY"),
        activity(type="SPLIT"),
        activity(quantity="ten"),
        activity(quantity=True),
    )
    report = import_bytes(tmp_path, data, filename="export.json").report
    assert report.added == 0
    assert [(i.line, i.column) for i in report.issues] == [
        (2, "type"),
        (3, "quantity"),
        (4, "quantity"),
    ]


def test_invalid_json_is_refused_naming_line_and_column(tmp_path: Path) -> None:
    """Broken JSON is refused with the line and column where it breaks."""
    data = b'{\n  "activities": [\n    {"type": "BUY",,}\n  ]\n}\n'
    with pytest.raises(InvalidInput, match=r"line 3, column 20"):
        import_bytes(tmp_path, data, filename="export.json")


def test_json_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    """Activities that are not a list, and absurd nesting, are clear errors."""
    with pytest.raises(InvalidInput, match="'activities' must be a list"):
        import_bytes(tmp_path, b'{"activities": {"a": 1}}', filename="export.json")
    deep = b'{"activities": [], "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    with pytest.raises(InvalidInput, match="nests"):
        import_bytes(tmp_path, deep, filename="export.json")
