"""The ledger over HTTP as a user meets it: accounts, entries, holdings edited from the
grid, file uploads, lots and gains, and the unauthenticated health and metrics."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.store.database import make_engine, migrate
from tests.api.conftest import User, script, seed_portfolio
from tests.conftest import clock

PROBLEM = "application/problem+json"
STALE = "urn:quantdesk:problem:stale-write"
TRADES_CSV = """date,type,symbol,quantity,price,asset_type
2026-03-02,buy,MSFT,4,400,stock
2026-03-03,buy,VTI,10,250.5,etf
2026-04-01,sell,MSFT,1,420,stock
"""


@pytest.fixture
def offline_app(engine: Engine) -> FastAPI:
    """The API on each backend, offline: analytics never ask a market data provider."""
    return create_app(
        ApiSettings(database_url=str(engine.url), offline=True), engine=engine, clock=clock
    )


@pytest.fixture
def user(offline_app: FastAPI) -> User:
    return script(offline_app, "alice")


@pytest.fixture
def seeded(user: User) -> dict[str, Any]:
    """An account 'Broker' holding 10 AAPL bought at 150 on 2026-01-05."""
    return seed_portfolio(user)


@pytest.fixture
def small_upload_app(tmp_path: Path) -> Iterator[FastAPI]:
    """SQLite, with uploads limited to 1 KiB."""
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    migrate(engine)
    yield create_app(
        ApiSettings(database_url=str(engine.url), offline=True, max_upload_bytes=1024),
        engine=engine,
        clock=clock,
    )
    engine.dispose()


def add(user: User, account_id: int, **fields: Any) -> Any:
    """POST one entry: a buy of AAPL unless ``fields`` say otherwise."""
    body = {
        "account_id": account_id,
        "date": "2026-02-02",
        "type": "buy",
        "symbol": "AAPL",
        "asset_type": "stock",
        **fields,
    }
    return user.post("/api/v1/transactions", json=body)


def entries(user: User, **params: Any) -> dict[str, Any]:
    answer = user.get("/api/v1/transactions", params=params)
    assert 200 == answer.status_code, answer.text
    return answer.json()


def holding(user: User, holding_id: str) -> Any:
    answer = user.get(f"/api/v1/holdings/{holding_id}")
    assert 200 == answer.status_code, answer.text
    return answer


def lots(user: User, **params: Any) -> list[dict[str, Any]]:
    answer = user.get("/api/v1/lots", params=params)
    assert 200 == answer.status_code, answer.text
    return answer.json()["lots"]


def upload(user: User, text: str, **form: str) -> Any:
    """POST ``text`` as a CSV file into the account Broker."""
    return user.post(
        "/api/v1/uploads",
        files={"file": ("trades.csv", text.encode(), "text/csv")},
        data={"account": "Broker", **form},
    )


def assert_problem(answer: Any, status: int, slug: str) -> dict[str, Any]:
    assert status == answer.status_code, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    assert f"urn:quantdesk:problem:{slug}" == body["type"]
    assert status == body["status"]
    return body


# accounts ---------------------------------------------------------------------------------
def test_an_account_is_created_then_listed_and_read(user: User) -> None:
    """A new account answers 201 with its id and shows in the list and by id."""
    made = user.post(
        "/api/v1/accounts",
        json={"name": "IRA", "kind": "retirement", "institution": "Fidelity"},
    )
    assert 201 == made.status_code, made.text
    account = made.json()
    assert {"name": "IRA", "kind": "retirement", "institution": "Fidelity", "currency": "USD"} == {
        k: account[k] for k in ("name", "kind", "institution", "currency")
    }
    assert account["taxable"] is False  # by its kind
    assert [account] == user.get("/api/v1/accounts").json()
    assert account == user.get(f"/api/v1/accounts/{account['id']}").json()


def test_whether_an_account_is_taxable_is_set_and_returned_to_its_kind(user: User) -> None:
    """An HSA kept as a brokerage account is marked tax-advantaged; null goes back to the
    default of its kind."""
    made = user.post(
        "/api/v1/accounts", json={"name": "HSA", "kind": "brokerage", "taxable": False}
    ).json()
    assert made["taxable"] is False
    path = f"/api/v1/accounts/{made['id']}"
    assert user.patch(path, json={"taxable": None}).json()["taxable"] is True
    assert user.patch(path, json={"taxable": False}).json()["taxable"] is False
    assert user.patch(path, json={"name": "Health"}).json()["taxable"] is False  # kept
    assert user.get(path).json()["taxable"] is False


def test_a_duplicate_account_name_is_409_and_adds_nothing(user: User) -> None:
    """A second account of the same name is a conflict, not a second account."""
    user.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"})
    again = user.post("/api/v1/accounts", json={"name": "Broker", "kind": "wallet"})
    assert_problem(again, 409, "conflict")
    assert ["Broker"] == [a["name"] for a in user.get("/api/v1/accounts").json()]


def test_renaming_an_account_renames_it_on_its_entries(user: User, seeded: dict[str, Any]) -> None:
    """A rename is one change: the account and every entry in it show the new name."""
    account_id = seeded["account"]["id"]
    renamed = user.patch(f"/api/v1/accounts/{account_id}", json={"name": "Taxable"})
    assert 200 == renamed.status_code, renamed.text
    assert "Taxable" == renamed.json()["name"]
    assert ["Taxable"] == [t["account"] for t in entries(user)["items"]]
    assert ["Taxable"] == [h["account"] for h in user.get("/api/v1/holdings").json()["holdings"]]


def test_renaming_an_account_to_a_taken_name_is_409(user: User, seeded: dict[str, Any]) -> None:
    """Two accounts cannot end up with one name through a rename either."""
    other = user.post("/api/v1/accounts", json={"name": "Wallet", "kind": "wallet"}).json()
    answer = user.patch(f"/api/v1/accounts/{other['id']}", json={"name": "Broker"})
    assert_problem(answer, 409, "conflict")
    assert "Wallet" == user.get(f"/api/v1/accounts/{other['id']}").json()["name"]


def test_deleting_an_account_removes_its_entries(user: User, seeded: dict[str, Any]) -> None:
    """After the delete the account, its entries and its holdings are gone."""
    account_id = seeded["account"]["id"]
    kept = user.post("/api/v1/accounts", json={"name": "Wallet", "kind": "wallet"}).json()
    assert (
        201
        == add(
            user, kept["id"], symbol="BTC", asset_type="crypto", quantity="1", price="9"
        ).status_code
    )

    assert 204 == user.delete(f"/api/v1/accounts/{account_id}").status_code

    assert_problem(user.get(f"/api/v1/accounts/{account_id}"), 404, "not-found")
    assert ["Wallet"] == [t["account"] for t in entries(user)["items"]]
    assert ["BTC"] == [h["symbol"] for h in user.get("/api/v1/holdings").json()["holdings"]]
    assert_problem(
        user.get(f"/api/v1/transactions/{seeded['transaction']['id']}"), 404, "not-found"
    )


# transactions: create ---------------------------------------------------------------------
def test_a_buy_is_recorded_as_sent(user: User, seeded: dict[str, Any]) -> None:
    """The answer is the stored entry: decimal strings, the account's name, manual origin."""
    made = add(user, seeded["account"]["id"], quantity="2.5", price="151.25", fees="1")
    assert 201 == made.status_code, made.text
    (entry,) = made.json()
    assert {
        "account": "Broker",
        "type": "buy",
        "symbol": "AAPL",
        "quantity": "2.5",
        "price": "151.25",
        "fees": "1",
        "origin": "manual",
    } == {k: entry[k] for k in ("account", "type", "symbol", "quantity", "price", "fees", "origin")}
    assert entry == user.get(f"/api/v1/transactions/{entry['id']}").json()


def test_a_quantity_that_is_not_a_number_is_422_naming_body_quantity(
    user: User, seeded: dict[str, Any]
) -> None:
    """The request is refused as a problem that points at the field."""
    answer = add(user, seeded["account"]["id"], quantity="ten", price="150")
    body = assert_problem(answer, 422, "validation-error")
    assert ["body.quantity"] == [e["field"] for e in body["errors"]]
    assert 1 == entries(user)["total"]


def test_a_buy_without_a_quantity_is_422_naming_body_quantity(
    user: User, seeded: dict[str, Any]
) -> None:
    """The ledger's own checks name the field the same way as the schema's."""
    answer = add(user, seeded["account"]["id"], price="150")
    body = assert_problem(answer, 422, "validation-error")
    assert ["body.quantity"] == [e["field"] for e in body["errors"]]
    assert 1 == entries(user)["total"]


def test_a_number_too_large_for_the_ledger_is_422_naming_the_field(
    user: User, seeded: dict[str, Any]
) -> None:
    """1e400 units cannot be stored: refused as a problem on body.quantity, not a 500."""
    answer = add(user, seeded["account"]["id"], quantity="1e400", price="150")
    body = assert_problem(answer, 422, "validation-error")
    assert ["body.quantity"] == [e["field"] for e in body["errors"]]
    assert 1 == entries(user)["total"]


def test_an_id_beyond_what_the_ledger_stores_is_422_naming_it(user: User) -> None:
    """Ids are 32-bit: a larger one is a problem on the parameter, not a 500."""
    for url, field in [
        ("/api/v1/transactions/9223372036854775808", "path.transaction_id"),
        ("/api/v1/accounts/2147483648", "path.account_id"),
        ("/api/v1/lots?account_id=-9223372036854775809", "query.account_id"),
    ]:
        body = assert_problem(user.get(url), 422, "validation-error")
        assert [field] == [e["field"] for e in body["errors"]]


def test_an_entry_in_an_unknown_account_is_404(user: User, seeded: dict[str, Any]) -> None:
    """An account id that is not the caller's stores nothing."""
    assert_problem(add(user, 999, quantity="1", price="1"), 404, "not-found")
    assert 1 == entries(user)["total"]


def test_a_sale_beyond_the_units_held_is_409_and_stores_nothing(
    user: User, seeded: dict[str, Any]
) -> None:
    """Selling 11 of 10 AAPL is refused as insufficient lots; the ledger is as it was."""
    before = entries(user)
    answer = add(user, seeded["account"]["id"], type="sell", quantity="11", price="160")
    body = assert_problem(answer, 409, "insufficient-lots")
    assert "AAPL" in body["detail"]
    assert before == entries(user)
    assert ["10"] == [lot["quantity"] for lot in lots(user)]


# transactions: list -----------------------------------------------------------------------
@pytest.fixture
def ledger(user: User, seeded: dict[str, Any]) -> dict[str, int]:
    """Two accounts; Broker: buy AAPL 01-05, buy MSFT 02-10, dividend AAPL 03-01, sell
    AAPL 04-15; Wallet: deposit 02-20, buy BTC 03-10."""
    broker = seeded["account"]["id"]
    wallet = user.post("/api/v1/accounts", json={"name": "Wallet", "kind": "wallet"}).json()["id"]
    for account, fields in [
        (broker, {"date": "2026-02-10", "symbol": "MSFT", "quantity": "3", "price": "400"}),
        (wallet, {"date": "2026-02-20", "type": "deposit", "symbol": None, "amount": "1000"}),
        (broker, {"date": "2026-03-01", "type": "dividend", "amount": "2.4", "asset_type": None}),
        (
            wallet,
            {
                "date": "2026-03-10",
                "symbol": "BTC",
                "asset_type": "crypto",
                "quantity": "0.01",
                "price": "60000",
            },
        ),
        (broker, {"date": "2026-04-15", "type": "sell", "quantity": "4", "price": "170"}),
    ]:
        made = add(user, account, **fields)
        assert 201 == made.status_code, made.text
    return {"broker": broker, "wallet": wallet}


def _dates(page: dict[str, Any]) -> list[str]:
    return [t["traded_at"][:10] for t in page["items"]]


def test_the_ledger_lists_newest_first_with_its_total(ledger: dict[str, int], user: User) -> None:
    """Without filters: every entry, the newest first, and how many there are."""
    page = entries(user)
    assert 6 == page["total"]
    assert ["2026-04-15", "2026-03-10", "2026-03-01", "2026-02-20", "2026-02-10", "2026-01-05"] == (
        _dates(page)
    )


def test_pages_split_the_ledger_without_overlap(ledger: dict[str, int], user: User) -> None:
    """limit and offset walk the ledger; total stays the count of every match."""
    first = entries(user, limit=4, offset=0)
    second = entries(user, limit=4, offset=4)
    assert (4, 0, 6) == (first["limit"], first["offset"], first["total"])
    assert (4, 4, 6) == (second["limit"], second["offset"], second["total"])
    assert 4 == len(first["items"])
    assert 2 == len(second["items"])
    assert _dates(entries(user)) == _dates(first) + _dates(second)
    assert [] == entries(user, limit=4, offset=8)["items"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"symbol": "aapl"}, ["2026-04-15", "2026-03-01", "2026-01-05"]),
        ({"type": "buy"}, ["2026-03-10", "2026-02-10", "2026-01-05"]),
        ({"type": ["deposit", "dividend"]}, ["2026-03-01", "2026-02-20"]),
        ({"start": "2026-02-20", "end": "2026-03-10"}, ["2026-03-10", "2026-03-01", "2026-02-20"]),
        ({"symbol": "AAPL", "type": "sell"}, ["2026-04-15"]),
    ],
)
def test_the_ledger_filters_by_symbol_type_and_dates(
    ledger: dict[str, int], user: User, params: dict[str, Any], expected: list[str]
) -> None:
    """Each filter keeps only matching entries, dates inclusive, and total counts them."""
    page = entries(user, **params)
    assert expected == _dates(page)
    assert len(expected) == page["total"]


def test_the_ledger_filters_by_account(ledger: dict[str, int], user: User) -> None:
    """account_id keeps the entries of that account only."""
    page = entries(user, account_id=ledger["wallet"])
    assert ["2026-03-10", "2026-02-20"] == _dates(page)
    assert {"Wallet"} == {t["account"] for t in page["items"]}
    assert_problem(user.get("/api/v1/transactions", params={"account_id": 999}), 404, "not-found")


def test_a_bad_filter_is_422_naming_the_parameter(user: User) -> None:
    """A limit beyond the maximum is refused with the parameter named."""
    body = assert_problem(
        user.get("/api/v1/transactions", params={"limit": 5000}), 422, "validation-error"
    )
    assert ["query.limit"] == [e["field"] for e in body["errors"]]


# transactions: edit and delete ------------------------------------------------------------
def test_changing_a_price_changes_the_cost_of_the_lot(user: User, seeded: dict[str, Any]) -> None:
    """The buy at 150 edited to 120: the lot of 10 now costs 1200, the holding too."""
    entry = seeded["transaction"]
    changed = user.patch(f"/api/v1/transactions/{entry['id']}", json={"price": "120"})
    assert 200 == changed.status_code, changed.text
    assert ("120", "10", "buy") == (
        changed.json()["price"],
        changed.json()["quantity"],
        changed.json()["type"],
    )
    assert [("10", "1200", "2026-01-05")] == [
        (lot["quantity"], lot["cost_basis"], lot["acquired_on"]) for lot in lots(user)
    ]
    assert "1200" == holding(user, seeded["holding"]["id"]).json()["cost_basis"]


def test_a_patch_that_leaves_a_sale_short_is_409_and_changes_nothing(
    user: User, seeded: dict[str, Any]
) -> None:
    """With 6 of 10 sold, the buy cannot become 5 units: refused, the entry unchanged."""
    sold = add(
        user, seeded["account"]["id"], date="2026-03-01", type="sell", quantity="6", price="170"
    )
    assert 201 == sold.status_code, sold.text
    entry = seeded["transaction"]
    before = entries(user)

    answer = user.patch(f"/api/v1/transactions/{entry['id']}", json={"quantity": "5"})

    assert_problem(answer, 409, "insufficient-lots")
    assert before == entries(user)


def test_a_patch_with_a_bad_field_is_422_naming_it(user: User, seeded: dict[str, Any]) -> None:
    """An edit is checked like a new entry: a negative price is refused."""
    entry = seeded["transaction"]
    answer = user.patch(f"/api/v1/transactions/{entry['id']}", json={"price": "-1"})
    body = assert_problem(answer, 422, "validation-error")
    assert ["body.price"] == [e["field"] for e in body["errors"]]
    assert "150" == user.get(f"/api/v1/transactions/{entry['id']}").json()["price"]


def test_an_entry_is_deleted(user: User, seeded: dict[str, Any]) -> None:
    """After a delete the entry is gone from the ledger and its holding with it."""
    entry = seeded["transaction"]
    assert 204 == user.delete(f"/api/v1/transactions/{entry['id']}").status_code
    assert_problem(user.get(f"/api/v1/transactions/{entry['id']}"), 404, "not-found")
    assert 0 == entries(user)["total"]
    assert [] == user.get("/api/v1/holdings").json()["holdings"]
    assert_problem(user.delete(f"/api/v1/transactions/{entry['id']}"), 404, "not-found")


def test_deleting_a_buy_a_sale_needs_is_409_and_keeps_it(
    user: User, seeded: dict[str, Any]
) -> None:
    """The later sale of 4 would exceed the units held: the buy stays."""
    add(user, seeded["account"]["id"], date="2026-03-01", type="sell", quantity="4", price="170")
    entry = seeded["transaction"]
    assert_problem(user.delete(f"/api/v1/transactions/{entry['id']}"), 409, "insufficient-lots")
    assert 2 == entries(user)["total"]


# holdings ---------------------------------------------------------------------------------
def _closes(user: User, text: str) -> None:
    stored = user.post(
        "/api/v1/prices/closes", files={"file": ("closes.csv", text.encode(), "text/csv")}
    )
    assert 200 == stored.status_code, stored.text


def test_holdings_show_quantity_cost_basis_and_a_missing_price(
    user: User, seeded: dict[str, Any]
) -> None:
    """Without any price the holding is flagged, never valued at 0."""
    answer = user.get("/api/v1/holdings")
    assert 200 == answer.status_code, answer.text
    (row,) = answer.json()["holdings"]
    assert {
        "account": "Broker",
        "symbol": "AAPL",
        "quantity": "10",
        "cost_basis": "1500",
        "average_cost": "150",
        "price": None,
        "market_value": None,
        "price_missing": True,
        "editable": True,
    } == {
        k: row[k]
        for k in (
            "account",
            "symbol",
            "quantity",
            "cost_basis",
            "average_cost",
            "price",
            "market_value",
            "price_missing",
            "editable",
        )
    }


def test_holdings_are_valued_at_the_latest_stored_close(user: User, seeded: dict[str, Any]) -> None:
    """With a close of 160 the holding is worth 1600 and gains 100 on its cost."""
    _closes(
        user, "date,symbol,close,asset_type\n2026-11-20,AAPL,155,stock\n2026-11-23,AAPL,160,stock\n"
    )
    (row,) = user.get("/api/v1/holdings").json()["holdings"]
    assert ("160", Decimal(1600), Decimal(100), False) == (
        row["price"],
        Decimal(row["market_value"]),
        Decimal(row["unrealized_gain"]),
        row["price_missing"],
    )


def test_a_holding_carries_its_version_as_etag(user: User, seeded: dict[str, Any]) -> None:
    """GET of one holding answers its version in the ETag an edit names."""
    answer = holding(user, seeded["holding"]["id"])
    assert f'"{answer.json()["version"]}"' == answer.headers["etag"]
    assert seeded["holding"]["version"] == answer.json()["version"]


def _edit(user: User, holding_id: str, etag: str, **body: Any) -> Any:
    return user.patch(f"/api/v1/holdings/{holding_id}", json=body, headers={"If-Match": etag})


def test_setting_a_larger_quantity_records_a_transfer_in(
    user: User, seeded: dict[str, Any]
) -> None:
    """10 set to 12: 2 units come in at the average cost, as an adjustment dated now."""
    hid = seeded["holding"]["id"]
    answer = _edit(user, hid, holding(user, hid).headers["etag"], quantity="12")
    assert 200 == answer.status_code, answer.text
    assert ("12", "1800") == (
        answer.json()["holding"]["quantity"],
        answer.json()["holding"]["cost_basis"],
    )
    newest = entries(user)["items"][0]
    assert ("transfer_in", "2", "150", "adjustment", "2026-11-24") == (
        newest["type"],
        newest["quantity"],
        newest["price"],
        newest["origin"],
        newest["traded_at"][:10],
    )


def test_setting_a_smaller_quantity_records_a_transfer_out(
    user: User, seeded: dict[str, Any]
) -> None:
    """10 set to 7: 3 units go out as an adjustment, without inventing a realized gain."""
    hid = seeded["holding"]["id"]
    answer = _edit(user, hid, holding(user, hid).headers["etag"], quantity="7")
    assert 200 == answer.status_code, answer.text
    assert ("7", "1050") == (
        answer.json()["holding"]["quantity"],
        answer.json()["holding"]["cost_basis"],
    )
    newest = entries(user)["items"][0]
    assert ("transfer_out", "3", "adjustment") == (
        newest["type"],
        newest["quantity"],
        newest["origin"],
    )
    assert [] == user.get("/api/v1/gains").json()["disposals"]


def test_setting_the_cost_basis_keeps_each_lot_its_date(user: User, seeded: dict[str, Any]) -> None:
    """Lots of 10 (Jan) and 5 (Mar) set to a total basis of 3000: dates kept, total exact."""
    add(user, seeded["account"]["id"], date="2026-03-02", quantity="5", price="180")
    hid = seeded["holding"]["id"]

    answer = _edit(user, hid, holding(user, hid).headers["etag"], cost_basis="3000")

    assert 200 == answer.status_code, answer.text
    assert ("15", "3000") == (
        answer.json()["holding"]["quantity"],
        answer.json()["holding"]["cost_basis"],
    )
    after = lots(user)
    assert [("10", "2026-01-05"), ("5", "2026-03-02")] == [
        (lot["quantity"], lot["acquired_on"]) for lot in after
    ]
    assert Decimal(3000) == sum(Decimal(lot["cost_basis"]) for lot in after)


def test_setting_quantity_and_cost_basis_together(user: User, seeded: dict[str, Any]) -> None:
    """Both at once: 12 units with a total basis of 1000, the old lot keeping its date."""
    hid = seeded["holding"]["id"]
    answer = _edit(user, hid, holding(user, hid).headers["etag"], quantity="12", cost_basis="1000")
    assert 200 == answer.status_code, answer.text
    assert ("12", "1000") == (
        answer.json()["holding"]["quantity"],
        answer.json()["holding"]["cost_basis"],
    )
    after = lots(user)
    assert "2026-01-05" == after[0]["acquired_on"]
    assert Decimal(12) == sum(Decimal(lot["quantity"]) for lot in after)
    assert Decimal(1000) == sum(Decimal(lot["cost_basis"]) for lot in after)


def test_an_edit_answers_with_the_recomputed_analytics_and_a_new_etag(
    user: User, seeded: dict[str, Any]
) -> None:
    """The answer carries what GET /analytics now says; the ETag names the new version."""
    hid = seeded["holding"]["id"]
    etag = holding(user, hid).headers["etag"]
    answer = _edit(user, hid, etag, quantity="12")
    assert 200 == answer.status_code, answer.text
    assert etag != answer.headers["etag"]
    assert f'"{answer.json()["holding"]["version"]}"' == answer.headers["etag"]
    assert answer.headers["etag"] == holding(user, hid).headers["etag"]
    analytics = answer.json()["analytics"]
    assert "1800" == analytics["total_cost_basis"]
    assert user.get("/api/v1/analytics").json() == analytics


def test_the_version_may_come_in_the_body(user: User, seeded: dict[str, Any]) -> None:
    """Without If-Match, a ``version`` field names what was read."""
    hid = seeded["holding"]["id"]
    version = holding(user, hid).json()["version"]
    answer = user.patch(f"/api/v1/holdings/{hid}", json={"quantity": "11", "version": version})
    assert 200 == answer.status_code, answer.text
    assert "11" == answer.json()["holding"]["quantity"]


def test_a_stale_version_is_409_with_the_current_row(user: User, seeded: dict[str, Any]) -> None:
    """Two grids read version v; the second edit is refused and shown the row as it is."""
    hid = seeded["holding"]["id"]
    read = holding(user, hid).headers["etag"]
    assert 200 == _edit(user, hid, read, quantity="12").status_code
    before = entries(user)

    stale = _edit(user, hid, read, quantity="20")

    body = assert_problem(stale, 409, "stale-write")
    assert STALE == body["type"]
    assert ("12", hid) == (body["current"]["quantity"], body["current"]["id"])
    assert f'"{body["current"]["version"]}"' == holding(user, hid).headers["etag"]
    assert before == entries(user)


def test_a_holding_edit_that_would_leave_the_ledger_short_is_409_and_records_nothing(
    user: User, seeded: dict[str, Any]
) -> None:
    """5 more AAPL come in at 20:00 today, after the edit's now (15:30): taking the 15
    units out at 15:30 to set the basis would sell 5 not yet held, so it is refused."""
    later = add(
        user, seeded["account"]["id"], date="2026-11-24T20:00:00Z", quantity="5", price="200"
    )
    assert 201 == later.status_code, later.text
    hid = seeded["holding"]["id"]
    read = holding(user, hid)
    assert "15" == read.json()["quantity"]
    before = entries(user)

    answer = _edit(user, hid, read.headers["etag"], cost_basis="3000")

    assert_problem(answer, 409, "insufficient-lots")
    assert before == entries(user)
    assert read.headers["etag"] == holding(user, hid).headers["etag"]
    assert 201 == add(user, seeded["account"]["id"], quantity="1", price="150").status_code


def test_an_edit_without_a_version_is_422(user: User, seeded: dict[str, Any]) -> None:
    """Neither If-Match nor version: refused, nothing recorded."""
    answer = user.patch(f"/api/v1/holdings/{seeded['holding']['id']}", json={"quantity": "12"})
    assert_problem(answer, 422, "invalid-input")
    assert 1 == entries(user)["total"]


def test_an_edit_of_an_unknown_holding_is_404(user: User, seeded: dict[str, Any]) -> None:
    """An id that names no holding of the caller's is not found."""
    answer = user.patch("/api/v1/holdings/1-999", json={"quantity": "1", "version": "x"})
    assert_problem(answer, 404, "not-found")


# uploads ----------------------------------------------------------------------------------
def test_a_dry_run_upload_previews_and_stores_nothing(user: User, seeded: dict[str, Any]) -> None:
    """dry_run: the detected format and the entries it would add, and the ledger unchanged."""
    answer = upload(user, TRADES_CSV, dry_run="true")
    assert 200 == answer.status_code, answer.text
    report = answer.json()
    assert ("generic-trades", 3, True, False) == (
        report["format"],
        report["added"],
        report["dry_run"],
        report["stored"],
    )
    assert ["MSFT", "VTI", "MSFT"] == [t["symbol"] for t in report["preview"]]
    assert 1 == entries(user)["total"]


def test_an_upload_stores_every_row(user: User, seeded: dict[str, Any]) -> None:
    """Without dry_run the rows are in the ledger and the holdings."""
    answer = upload(user, TRADES_CSV)
    assert 200 == answer.status_code, answer.text
    assert (3, True) == (answer.json()["added"], answer.json()["stored"])
    assert 4 == entries(user)["total"]
    held = {h["symbol"]: h["quantity"] for h in user.get("/api/v1/holdings").json()["holdings"]}
    assert {"AAPL": "10", "MSFT": "3", "VTI": "10"} == held


def test_an_upload_with_a_bad_row_is_422_naming_line_and_column(
    user: User, seeded: dict[str, Any]
) -> None:
    """One bad quantity on line 3: every row is refused and the problem says where."""
    bad = TRADES_CSV.replace("2026-03-03,buy,VTI,10,", "2026-03-03,buy,VTI,lots,")
    body = assert_problem(upload(user, bad), 422, "invalid-rows")
    assert ["file line 3, column quantity"] == [e["field"] for e in body["errors"]]
    assert 1 == entries(user)["total"]


ROBINHOOD_CSV = (
    '"Activity Date","Process Date","Settle Date","Instrument","Description","Trans Code",'
    '"Quantity","Price","Amount"\n'
    '"3/5/2026","3/5/2026","3/7/2026","NVDA","NVIDIA\nCUSIP: 67066G104","Buy","2","$110.00",'
    '"($220.00)"\n'
    '"3/6/2026","3/6/2026","3/6/2026","NVDA","NVDA 3/20/2026 Call $120.00","BTO","1","$1.20",'
    '"($120.00)"\n'
    '"3/9/2026","3/9/2026","3/9/2026","","ACH Deposit","ACH","","","$1,000.00"\n'
    '""\n'
    '"","","","","","","","","","The data provided is for informational purposes only."\n'
)


def test_a_broker_export_upload_is_detected_and_reports_what_it_skipped(
    user: User, seeded: dict[str, Any]
) -> None:
    """A Robinhood export needs no format: the report names it, stores the stock buy and
    the deposit, and lists the option row and the footer as skipped, with their lines."""
    answer = upload(user, ROBINHOOD_CSV)
    assert 200 == answer.status_code, answer.text
    report = answer.json()
    assert ("robinhood", 1.0, 2, True) == (
        report["format"],
        report["confidence"],
        report["added"],
        report["stored"],
    )
    skipped = {item["reason"].split(" (")[0]: item["lines"] for item in report["skipped"]}
    assert {"option contract": [4], "footer or disclaimer text": [7]} == skipped
    held = {h["symbol"]: h["quantity"] for h in user.get("/api/v1/holdings").json()["holdings"]}
    assert "2" == held["NVDA"]


def test_a_forced_format_that_does_not_match_is_refused(user: User, seeded: dict[str, Any]) -> None:
    """format=robinhood on a generic trades file: a problem naming what the file is."""
    answer = upload(user, TRADES_CSV, format="robinhood")
    body = assert_problem(answer, 422, "invalid-input")
    assert "generic-trades, not robinhood" in body["detail"]
    assert 1 == entries(user)["total"]


def test_an_upload_over_the_limit_is_413(small_upload_app: FastAPI) -> None:
    """A file past max_upload_bytes is refused as a problem and stores nothing."""
    user = script(small_upload_app, "bob")
    user.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"})
    rows = "".join(f"2026-03-{day:02},buy,MSFT,1,400,stock\n" for day in range(1, 29))
    text = "date,type,symbol,quantity,price,asset_type\n" + rows * 2
    assert len(text) > 1024
    assert_problem(upload(user, text), 413, "payload-too-large")
    assert 0 == entries(user)["total"]


# lots and gains ---------------------------------------------------------------------------
def test_lots_list_the_open_lots_with_their_dates_and_cost(
    user: User, seeded: dict[str, Any]
) -> None:
    """Two buys, part of the first sold (FIFO): what is left of each, with its basis."""
    account_id = seeded["account"]["id"]
    add(user, account_id, date="2026-03-02", quantity="5", price="180")
    add(user, account_id, date="2026-04-01", type="sell", quantity="4", price="200")
    found = lots(user, symbol="AAPL", account_id=account_id)
    assert [("6", "900", "2026-01-05"), ("5", "900", "2026-03-02")] == [
        (lot["quantity"], lot["cost_basis"], lot["acquired_on"]) for lot in found
    ]
    assert [] == lots(user, symbol="MSFT")
    assert_problem(user.get("/api/v1/lots", params={"account_id": 999}), 404, "not-found")


def test_gains_report_the_realized_gain_of_a_sale(user: User, seeded: dict[str, Any]) -> None:
    """4 of the lot bought at 150 sold at 200: a short-term gain of 200."""
    add(user, seeded["account"]["id"], date="2026-04-01", type="sell", quantity="4", price="200")
    answer = user.get("/api/v1/gains", params={"year": 2026})
    assert 200 == answer.status_code, answer.text
    report = answer.json()
    assert "200" == Decimal(report["realized"]["USD"]["short_term"]).to_eng_string()
    (disposal,) = report["disposals"]
    assert ("4", "2026-01-05", "2026-04-01", "short") == (
        disposal["quantity"],
        disposal["acquired_on"],
        disposal["disposed_on"],
        disposal["term"],
    )
    assert [] == user.get("/api/v1/gains", params={"year": 2025}).json()["disposals"]


# system -----------------------------------------------------------------------------------
def test_healthz_answers_ok_without_signing_in(sqlite_app: FastAPI) -> None:
    """The liveness probe needs no credentials."""
    answer = TestClient(sqlite_app).get("/healthz")
    assert (200, {"status": "ok"}) == (answer.status_code, answer.json())


def test_metrics_count_the_upstream_calls(sqlite_app: FastAPI) -> None:
    """Prometheus text with the upstream call counter, without signing in."""
    answer = TestClient(sqlite_app).get("/metrics")
    assert 200 == answer.status_code
    assert answer.headers["content-type"].startswith("text/plain")
    assert "quantdesk_upstream_calls_total" in answer.text


def test_an_over_size_body_is_refused_before_anyone_reads_it(small_upload_app: FastAPI) -> None:
    """Past the limit, even without credentials and without a Content-Length (chunked),
    the answer is 413 problem+json: the body is never parsed or spooled."""
    client = TestClient(small_upload_app)
    big = b"date,type,symbol,quantity,price\n" + b"2026-01-02,buy,AAPL,1,1\n" * 10_000
    declared = client.post("/api/v1/uploads", files={"file": ("big.csv", big, "text/csv")})
    assert (413, PROBLEM) == (declared.status_code, declared.headers["content-type"])

    def chunks() -> Iterator[bytes]:
        for _ in range(200):
            yield b"x" * 4096

    streamed = client.post(
        "/api/v1/uploads",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=zzz"},
    )
    assert (413, PROBLEM) == (streamed.status_code, streamed.headers["content-type"])
    assert "payload-too-large" in streamed.json()["type"]


def test_a_date_time_whose_offset_leaves_the_calendar_is_a_field_error(
    user: User, seeded: dict[str, Any]
) -> None:
    """'0001-01-01T00:00:00+01:00' is before year 1 in UTC: 422 naming body.date."""
    answer = user.post(
        "/api/v1/transactions",
        json={
            "account_id": seeded["account"]["id"],
            "date": "0001-01-01T00:00:00+01:00",
            "type": "deposit",
            "amount": "10",
        },
    )
    assert 422 == answer.status_code
    assert ["body.date"] == [e["field"] for e in answer.json()["errors"]]
