"""GET /api/v1/reports/tearsheet: the caller's tear sheet as a self-contained HTML
attachment, with the numbers GET /analytics answers."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from quantdesk.services import report
from tests.api.conftest import User, script


def _portfolio(app: FastAPI) -> User:
    """A user on the simulated market holding AAPL and MSFT since January, priced."""
    user = script(app, "tess")
    assert user.put("/api/v1/prices/market", json={"market": "simulated"}).status_code == 200
    account = user.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"}).json()
    for symbol in ("AAPL", "MSFT"):
        made = user.post(
            "/api/v1/transactions",
            json={
                "account_id": account["id"],
                "date": "2026-01-05",
                "type": "buy",
                "symbol": symbol,
                "asset_type": "stock",
                "quantity": "10",
                "price": "100",
            },
        )
        assert made.status_code == 201, made.text
    assert user.post("/api/v1/prices/refresh").status_code == 200
    return user


def test_tearsheet_is_an_html_attachment_with_the_analytics_numbers(sqlite_app: FastAPI) -> None:
    """The answer is text/html, saved as quantdesk-tearsheet-<day>.html, and shows the
    metric values, the holdings, the day and a chart, and fetches nothing."""
    user = _portfolio(sqlite_app)
    answer = user.get("/api/v1/reports/tearsheet?period=3M&benchmark=MSFT")
    assert answer.status_code == 200, answer.text
    data = user.get("/api/v1/analytics?period=3M&benchmark=MSFT").json()
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="quantdesk-tearsheet-{data["end"]}.html"'
    )
    page = answer.text
    for key in ("twr", "volatility", "mwr"):
        assert report.percent(data[key]) in page, key
    assert report.ratio(data["beta"]) in page and report.ratio(data["sharpe"]) in page
    assert report.money(data["var"]["parametric"]["0.95"]["amount"]) in page
    assert ">AAPL</th>" in page and ">MSFT</th>" in page
    assert f'datetime="{data["end"]}"' in page
    assert 'class="plotly-graph-div"' in page
    assert not re.search(r"<script[^>]*\bsrc=|<link\b", page)


def test_tearsheet_as_of_a_day_is_named_after_it(sqlite_app: FastAPI) -> None:
    """as_of ends the period on that day and names the file after it."""
    user = _portfolio(sqlite_app)
    answer = user.get("/api/v1/reports/tearsheet?period=6M&as_of=2026-10-30")
    assert answer.status_code == 200, answer.text
    assert "quantdesk-tearsheet-2026-10-30.html" in answer.headers["content-disposition"]
    assert "Holdings on 2026-10-30" in answer.text


def test_tearsheet_refuses_an_unknown_period_as_a_problem(sqlite_app: FastAPI) -> None:
    """A period the tear sheet does not know is a 422 problem naming the field."""
    user = _portfolio(sqlite_app)
    answer = user.get("/api/v1/reports/tearsheet?period=2W")
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert "query.period" in answer.text


def test_tearsheet_needs_a_signed_in_caller(sqlite_app: FastAPI) -> None:
    """Without a session or token the tear sheet is 401, not anyone's portfolio."""
    answer = TestClient(sqlite_app).get("/api/v1/reports/tearsheet")
    assert answer.status_code == 401
    assert answer.json()["type"] == "urn:quantdesk:problem:not-authenticated"
