"""Plaid's API on 127.0.0.1 for the tests: the endpoints a link and a sync call, in Plaid's
documented response shapes (``/link/token/create``, ``/item/public_token/exchange``,
``/investments/transactions/get`` with offset paging, ``/investments/holdings/get``), and
Plaid's error object (``error_type``, ``error_code``, ``error_message``). Requests must
carry this server's client id and secret, as Plaid's do."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.connectors.loopback import JsonServer

CLIENT_ID = "test-client-id"
SECRET = "test-plaid-secret"
PUBLIC_TOKEN = "public-sandbox-5c224a01-8314-4491-a06f-39e193d5cddc"
ACCESS_TOKEN = "access-sandbox-de3ce8ef-33f8-452c-a685-8671031fc0f6"
ITEM_ID = "M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op"
ACCOUNT_ID = "5e66Dl6jNatx3nXPGwZ7UkJed4z6KBcZA4Rbe"

SECURITIES = [
    {"security_id": "JDdP7XPMklt5vwPmDN45t3KAoWAPmjtpaW7DP", "ticker_symbol": "VTI",
     "name": "Vanguard Total Stock Market ETF", "type": "etf", "iso_currency_code": "USD",
     "is_cash_equivalent": False, "close_price": 250.0, "isin": None, "cusip": None},
    {"security_id": "KDwjlXj1Rqt58dVvmzRguxJybmyQL8FgeWWAy", "ticker_symbol": "AAPL",
     "name": "Apple Inc.", "type": "equity", "iso_currency_code": "USD",
     "is_cash_equivalent": False, "close_price": 190.0, "isin": None, "cusip": None},
    {"security_id": "d6ePmbPxgWCWmMVv66q9iPV94n91vMtov5Are", "ticker_symbol": None,
     "name": "U S Dollar", "type": "cash", "iso_currency_code": "USD",
     "is_cash_equivalent": True, "close_price": 1.0, "isin": None, "cusip": None},
]  # fmt: skip


def movement(
    entry_id: str,
    day: str,
    kind: str,
    subtype: str,
    security: int | None,
    quantity: float,
    price: float,
    amount: float,
    fees: float = 0.0,
) -> dict[str, Any]:
    return {
        "investment_transaction_id": entry_id,
        "account_id": ACCOUNT_ID,
        "security_id": SECURITIES[security]["security_id"] if security is not None else None,
        "date": day,
        "name": f"{kind} {subtype}",
        "quantity": quantity,
        "amount": amount,
        "price": price,
        "fees": fees,
        "type": kind,
        "subtype": subtype,
        "iso_currency_code": "USD",
        "unofficial_currency_code": None,
        "cancel_transaction_id": None,
    }  # fmt: skip


def _error(code: str, status: int, kind: str = "ITEM_ERROR") -> tuple[int, dict[str, Any]]:
    return status, {
        "error_type": kind,
        "error_code": code,
        "error_message": code.lower().replace("_", " "),
        "display_message": None,
        "request_id": "Wvhy9PZHQLV8njG",
    }


@dataclass
class Plaid:
    """The linked item's investments; ``fail`` makes every investments call answer that
    error code; ``asked`` logs each investments call's start date and offset."""

    transactions: list[dict[str, Any]] = field(default_factory=list)
    holdings: dict[int, float] = field(default_factory=dict)
    fail: str | None = None
    page: int = 2
    asked: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.http = JsonServer(
            lambda request: self.answer(request.path, json.loads(request.body), request.headers)
        )
        self.url = self.http.url

    def answer(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if headers.get("PLAID-CLIENT-ID") != CLIENT_ID or headers.get("PLAID-SECRET") != SECRET:
            return _error("INVALID_API_KEYS", 400, "INVALID_INPUT")
        if path == "/link/token/create":
            return 200, {
                "link_token": "link-sandbox-af1a0311-da53-4636-b754-dd15cc058176",
                "expiration": "2026-12-06T12:00:00Z",
                "request_id": "XQVgFigpGHXkb0b",
            }
        if path == "/item/public_token/exchange":
            if body.get("public_token") != PUBLIC_TOKEN:
                return _error("INVALID_PUBLIC_TOKEN", 400, "INVALID_INPUT")
            return 200, {"access_token": ACCESS_TOKEN, "item_id": ITEM_ID, "request_id": "Aim3b"}
        if body.get("access_token") != ACCESS_TOKEN:
            return _error("INVALID_ACCESS_TOKEN", 400, "INVALID_INPUT")
        if self.fail:
            return _error(self.fail, 400 if self.fail != "RATE_LIMIT_EXCEEDED" else 429)
        account = {
            "account_id": ACCOUNT_ID,
            "balances": {"available": None, "current": 10000.0, "iso_currency_code": "USD",
                         "limit": None, "unofficial_currency_code": None},
            "mask": "5555", "name": "Plaid IRA", "official_name": None,
            "subtype": "ira", "type": "investment",
        }  # fmt: skip
        item = {
            "item_id": ITEM_ID,
            "institution_id": "ins_115616",
            "webhook": None,
            "error": None,
            "available_products": [],
            "billed_products": ["investments"],
        }
        if path == "/investments/transactions/get":
            start = str(body["start_date"])
            offset = int((body.get("options") or {}).get("offset", 0))
            self.asked.append((start, offset))
            chosen = [t for t in self.transactions if t["date"] >= start]
            return 200, {
                "accounts": [account], "item": item, "securities": SECURITIES,
                "investment_transactions": chosen[offset : offset + self.page],
                "total_investment_transactions": len(chosen), "request_id": "iv4q3ZlytOOthkv",
            }  # fmt: skip
        if path == "/investments/holdings/get":
            held = [
                {"account_id": ACCOUNT_ID, "security_id": SECURITIES[i]["security_id"],
                 "quantity": q, "institution_price": SECURITIES[i]["close_price"],
                 "institution_value": q * float(SECURITIES[i]["close_price"]),
                 "cost_basis": None, "iso_currency_code": "USD"}
                for i, q in self.holdings.items()
            ]  # fmt: skip
            return 200, {"accounts": [account], "item": item, "securities": SECURITIES,
                         "holdings": held, "request_id": "l68wb8zpS0hqmsJ"}  # fmt: skip
        return _error("UNKNOWN_FIELDS", 404, "INVALID_REQUEST")

    def close(self) -> None:
        self.http.close()


def plaid_environment(server: Plaid) -> dict[str, str]:
    return {
        "QUANTDESK_PLAID_CLIENT_ID": CLIENT_ID,
        "QUANTDESK_PLAID_SECRET": SECRET,
        "QUANTDESK_PLAID_BASE_URL": server.url,
    }
