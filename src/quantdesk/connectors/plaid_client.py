"""Brokerages through Plaid, with plaid-python's own client: a Link token for the browser's
Plaid Link, the public token it returns exchanged for an access token, and the linked
item's investment transactions and holdings.

The deployment's Plaid keys: ``QUANTDESK_PLAID_CLIENT_ID`` and ``QUANTDESK_PLAID_SECRET``;
``QUANTDESK_PLAID_ENV`` is ``sandbox`` (the default) or ``production``;
``QUANTDESK_PLAID_BASE_URL`` points the client elsewhere (the tests' server on loopback).
Answers are read as JSON (``_preload_content=False``) so that a field Plaid adds to a
response never breaks a sync. Plaid's error codes become :class:`ConnectorError` kinds
in plain words (a sign-in the brokerage wants again, a revoked or unknown access token,
a rate limit, no investment accounts).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import plaid
from plaid.api import plaid_api
from plaid.model.country_code import CountryCode
from plaid.model.investments_holdings_get_request import InvestmentsHoldingsGetRequest
from plaid.model.investments_transactions_get_request import InvestmentsTransactionsGetRequest
from plaid.model.investments_transactions_get_request_options import (
    InvestmentsTransactionsGetRequestOptions,
)
from plaid.model.item_public_token_exchange_request import ItemPublicTokenExchangeRequest
from plaid.model.link_token_create_request import LinkTokenCreateRequest
from plaid.model.link_token_create_request_user import LinkTokenCreateRequestUser
from plaid.model.products import Products

from quantdesk.connectors.session import Batch, ConnectorError
from quantdesk.domain.errors import InvalidInput

#: How far back a first sync reads (Plaid keeps up to 24 months of investments).
FIRST_SYNC_DAYS = 730
PAGE = 500

_KINDS = {
    "ITEM_LOGIN_REQUIRED": (
        "revoked", "the brokerage wants you to sign in again: link it again in Settings"
    ),
    "INVALID_ACCESS_TOKEN": ("revoked", "the link was revoked: link the brokerage again"),
    "ITEM_NOT_FOUND": ("revoked", "the link was removed at Plaid: link the brokerage again"),
    "INVALID_API_KEYS": ("bad-key", "Plaid refused this server's client id or secret"),
    "RATE_LIMIT_EXCEEDED": ("rate-limit", "Plaid is rate limiting: the sync resumes later"),
    "PRODUCTS_NOT_SUPPORTED": (
        "permission", "the brokerage does not share investments through Plaid"
    ),
    "NO_INVESTMENT_ACCOUNTS": ("permission", "the linked login has no investment accounts"),
}  # fmt: skip


def configured() -> bool:
    return bool(
        os.environ.get("QUANTDESK_PLAID_CLIENT_ID") and os.environ.get("QUANTDESK_PLAID_SECRET")
    )


def _api() -> plaid_api.PlaidApi:
    if not configured():
        raise ConnectorError(
            "bad-key",
            "Plaid is not set up on this server (QUANTDESK_PLAID_CLIENT_ID and "
            "QUANTDESK_PLAID_SECRET)",
        )
    env = os.environ.get("QUANTDESK_PLAID_ENV", "sandbox").lower()
    host = os.environ.get("QUANTDESK_PLAID_BASE_URL") or (
        plaid.Environment.Production if env == "production" else plaid.Environment.Sandbox
    )
    configuration = plaid.Configuration(
        host=host,
        api_key={
            "clientId": os.environ["QUANTDESK_PLAID_CLIENT_ID"],
            "secret": os.environ["QUANTDESK_PLAID_SECRET"],
        },
    )
    return plaid_api.PlaidApi(plaid.ApiClient(configuration))


def _call(method: Callable[..., Any], request: Any) -> dict[str, Any]:
    try:
        answer = method(request, _preload_content=False)
    except plaid.ApiException as error:
        try:
            code = json.loads(error.body or "{}").get("error_code", "")
        except (ValueError, AttributeError):
            code = ""
        if code in ("INVALID_PUBLIC_TOKEN", "INVALID_FIELD", "MISSING_FIELDS"):
            refused = f"Plaid refused the request ({code}): link the brokerage again"
            raise InvalidInput(refused) from None
        kind, words = _KINDS.get(code, ("exchange", f"Plaid answered {error.status} {code}"))
        raise ConnectorError(kind, words) from None
    except (OSError, plaid.ApiValueError) as error:
        raise ConnectorError("unreachable", f"cannot reach Plaid: {type(error).__name__}") from None
    found: dict[str, Any] = json.loads(answer.data)
    return found


def link_token(user_ref: str) -> str:
    """A Link token for the browser's Plaid Link (investments)."""
    request = LinkTokenCreateRequest(
        products=[Products("investments")],
        client_name="quantdesk",
        country_codes=[CountryCode("US")],
        language="en",
        user=LinkTokenCreateRequestUser(client_user_id=user_ref),
    )
    api = _api()
    return str(_call(api.link_token_create, request)["link_token"])


def exchange_public_token(public_token: str) -> dict[str, str]:
    """The credentials of a linked item: its access token and item id."""
    api = _api()
    found = _call(api.item_public_token_exchange, ItemPublicTokenExchangeRequest(public_token))
    return {"access_token": str(found["access_token"]), "item_id": str(found["item_id"])}


class PlaidSession:
    """One linked item's investments. Its one stream, ``investments``, is read by date:
    from the last synced day (inclusive: a day's late entries are caught, and what was
    already recorded is recognized by its id) to today."""

    streams = ("investments",)

    def __init__(self, credentials: dict[str, str], *, today: date) -> None:
        self.access_token = credentials.get("access_token", "")
        self.today = today
        self.api = _api()
        self.securities: dict[str, dict[str, Any]] = {}

    def start_after(self, moment: datetime) -> int:
        """The starting point when the history up to ``moment`` came from the brokerage's
        export: the next day (Plaid reads by day, and its ids are not the export's)."""
        return (moment.date() + timedelta(days=1)).toordinal()

    def read(self, stream: str, since: int | None) -> Batch:
        first = (
            date.fromordinal(since)
            if since is not None
            else self.today - timedelta(days=FIRST_SYNC_DAYS)
        )
        found: list[dict[str, Any]] = []
        while True:
            request = InvestmentsTransactionsGetRequest(
                access_token=self.access_token,
                start_date=first,
                end_date=self.today,
                options=InvestmentsTransactionsGetRequestOptions(count=PAGE, offset=len(found)),
            )
            page = _call(self.api.investments_transactions_get, request)
            self.securities.update({s["security_id"]: s for s in page.get("securities", [])})
            found += page.get("investment_transactions", [])
            if len(found) >= int(page.get("total_investment_transactions", 0)) or not page.get(
                "investment_transactions"
            ):
                break
        for record in found:  # the cursor is a day (its ordinal): Plaid reads by date
            record["timestamp"] = date.fromisoformat(str(record["date"])).toordinal()
            record["_security"] = self.securities.get(str(record.get("security_id")), {})
        reached = max([int(r["timestamp"]) for r in found], default=since)
        return Batch(found, reached)

    def balances(self) -> dict[str, Decimal]:
        page = _call(
            self.api.investments_holdings_get,
            InvestmentsHoldingsGetRequest(access_token=self.access_token),
        )
        securities = {s["security_id"]: s for s in page.get("securities", [])}
        units: dict[str, Decimal] = {}
        for holding in page.get("holdings", []):
            security = securities.get(holding.get("security_id"), {})
            cash = security.get("type") == "cash"  # a cash position: units of its currency
            symbol = holding.get("iso_currency_code") if cash else security.get("ticker_symbol")
            if symbol:
                units[symbol] = units.get(symbol, Decimal(0)) + Decimal(str(holding["quantity"]))
        return units
