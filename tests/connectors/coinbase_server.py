"""Coinbase's App API (v2) on 127.0.0.1 for the connection tests: the accounts (one per
currency) and each account's transactions, in Coinbase's documented shapes (``data``
and ``pagination`` with ``next_starting_after``; ``starting_after``/``order`` paging;
``{"errors": [{"id": ..., "message": ...}]}``). Every call must carry a CDP API key's JWT
as Coinbase checks it: ES256 signed by the key's EC private key, ``kid`` and ``sub`` the
key's name, within its ``nbf``/``exp``, for this request's method and path; or a legacy
API key's signature: ``CB-ACCESS-KEY``, ``CB-ACCESS-TIMESTAMP`` (seconds, within 30 s)
and ``CB-ACCESS-SIGN``, the hex HMAC-SHA256 by the key's secret of the timestamp, the
method, the path with its query and the body. ccxt's own Coinbase client talks to it
unchanged but for its base URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.connectors.loopback import JsonServer, Request

KEY_NAME = "organizations/7c4b1a52-0f5e-4a0b-9d35-1f4d2b5e9a10/apiKeys/3f1e5c2a-8b9d-4e7f-a6c1"
_KEY = ec.generate_private_key(ec.SECP256R1())
#: The key's secret as Coinbase hands it out: the EC private key in PEM.
SECRET = _KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
).decode()
#: A legacy (pre-CDP) API key and its secret, as Coinbase handed them out.
LEGACY_KEY = "Xq3vT9bKp2LmN7Rw"
LEGACY_SECRET = "h4Jd8sK2mP9qW3eR7tY5uI1oA6sD0fGz"
CURRENCY_NAMES = {"BTC": "Bitcoin", "ETH": "Ethereum", "USD": "US Dollar", "SOL": "Solana"}


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def transaction(
    kind: str,
    amount: str,
    currency: str,
    native: str,
    time_ms: int,
    *,
    status: str = "completed",
    **extra: Any,
) -> dict[str, Any]:
    """One transaction resource (``amount`` signed, ``native`` its signed USD value)."""
    ident = str(uuid.uuid4())
    return {
        "id": ident,
        "type": kind,
        "status": status,
        "amount": money(amount, currency),
        "native_amount": money(native, "USD"),
        "description": None,
        "created_at": _iso(time_ms),
        "updated_at": _iso(time_ms),
        "resource": "transaction",
        "resource_path": f"/v2/accounts/-/transactions/{ident}",
        "details": {"title": kind.replace("_", " ").title(), "subtitle": ""},
        **extra,
    }


@dataclass
class Account:
    currency: str
    balance: str
    transactions: list[dict[str, Any]] = field(default_factory=list)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def resource(self) -> dict[str, Any]:
        fiat = self.currency == "USD"
        return {
            "id": self.id,
            "name": f"{self.currency} Wallet",
            "primary": self.currency == "BTC",
            "type": "fiat" if fiat else "wallet",
            "currency": {
                "code": self.currency, "name": CURRENCY_NAMES.get(self.currency, self.currency),
                "color": "#F7931A", "sort_index": 100, "exponent": 2 if fiat else 8,
                "type": "fiat" if fiat else "crypto",
                "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.currency)),
                "slug": self.currency.lower(),
            },
            "balance": money(self.balance, self.currency),
            "created_at": "2021-03-01T10:00:00Z",
            "updated_at": "2026-11-01T10:00:00Z",
            "resource": "account",
            "resource_path": f"/v2/accounts/{self.id}",
            "allow_deposits": True,
            "allow_withdrawals": True,
        }  # fmt: skip


def _error(status: int, ident: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"errors": [{"id": ident, "message": message}]}


@dataclass
class Coinbase:
    """The user's accounts and their transactions; ``fail`` makes a path answer an error
    (``{"/v2/accounts": (429, "rate_limit_exceeded", "Too many requests")}``, matched on
    the path's start); ``calls`` logs every call's path and parameters; ``page`` is the
    page size when none is asked."""

    accounts: list[Account] = field(default_factory=list)
    fail: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    public_key: ec.EllipticCurvePublicKey = field(default_factory=_KEY.public_key)
    page: int = 25

    def __post_init__(self) -> None:
        self.http = JsonServer(self.answer)
        self.url = self.http.url

    def close(self) -> None:
        self.http.close()

    def account(self, currency: str) -> Account:
        return next(a for a in self.accounts if a.currency == currency)

    def _authorized(self, request: Request) -> bool:
        if "CB-ACCESS-KEY" in request.headers:
            return self._legacy_signed(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            head, claims, signature = token.split(".")
            header, body = json.loads(_b64(head)), json.loads(_b64(claims))
            raw = _b64(signature)
            der = encode_dss_signature(
                int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
            )
            self.public_key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        except (ValueError, InvalidSignature):
            return False
        now = time.time()
        host = request.headers.get("Host", "")
        return (
            header.get("alg") == "ES256"
            and header.get("kid") == KEY_NAME == body.get("sub")
            and body.get("nbf", now + 1) <= now + 1
            and now < body.get("exp", 0)
            and str(body.get("uri", "")).endswith(f"{host}{request.path}")
            and str(body.get("uri", "")).startswith(f"{request.method} ")
        )

    def _legacy_signed(self, request: Request) -> bool:
        headers = request.headers
        stamp = headers.get("CB-ACCESS-TIMESTAMP", "")
        if headers.get("CB-ACCESS-KEY") != LEGACY_KEY or not stamp.isdigit():
            return False
        path = request.path + (f"?{request.query}" if request.query else "")
        signed = f"{stamp}{request.method}{path}{request.body}".encode()
        expected = hmac.new(LEGACY_SECRET.encode(), signed, hashlib.sha256).hexdigest()
        return abs(time.time() - int(stamp)) <= 30 and hmac.compare_digest(
            expected, headers.get("CB-ACCESS-SIGN", "")
        )

    def answer(self, request: Request) -> tuple[int, Any]:
        params = request.params()
        self.calls.append((request.path, params))
        if not self._authorized(request):
            return _error(401, "authentication_error", "invalid signature")
        for prefix, failure in self.fail.items():
            if request.path.startswith(prefix):
                return _error(*failure)
        parts = request.path.strip("/").split("/")
        if parts == ["v2", "accounts"]:
            return self._paged([a.resource() for a in self.accounts], params, "/v2/accounts")
        if len(parts) == 4 and parts[:2] == ["v2", "accounts"] and parts[3] == "transactions":
            found = [a for a in self.accounts if a.id == parts[2]]
            if not found:
                return _error(404, "not_found", "Not found")
            return self._paged(found[0].transactions, params, request.path)
        return _error(404, "not_found", f"this test server does not serve {request.path}")

    def _paged(
        self, items: list[dict[str, Any]], params: dict[str, str], path: str
    ) -> tuple[int, Any]:
        order = params.get("order", "desc")
        listed = sorted(items, key=lambda i: (i["created_at"], i["id"]), reverse=order == "desc")
        limit = min(int(params.get("limit", self.page)), 100)
        start = 0
        if params.get("starting_after"):
            ids = [i["id"] for i in listed]
            if params["starting_after"] not in ids:
                return _error(400, "invalid_request", "starting_after is not in the list")
            start = ids.index(params["starting_after"]) + 1
        page = listed[start : start + limit]
        more = start + limit < len(listed)
        after = page[-1]["id"] if page and more else None
        return 200, {
            "pagination": {
                "ending_before": None,
                "starting_after": params.get("starting_after"),
                "previous_ending_before": None,
                "next_starting_after": after,
                "limit": limit,
                "order": order,
                "previous_uri": None,
                "next_uri": f"{path}?limit={limit}&order={order}&starting_after={after}"
                if after
                else None,
            },
            "data": page,
        }


T0 = 1_767_000_000_000  # 2025-12-29 09:20 UTC, ms


def small_account() -> Coinbase:
    """Deposited 1,000 USD; bought 0.01 BTC for 500 USD; converted 0.004 BTC to 0.1 ETH
    (worth 200 USD); sent 0.001 BTC out (network fee 0.00002 BTC included); earned
    0.0005 ETH staking; sold 0.01 ETH on Advanced Trade at 2,000 USD (fee 0.12 USD)."""
    usd, btc, eth = Account("USD", "0"), Account("BTC", "0"), Account("ETH", "0")
    convert = {"trade": {"id": str(uuid.uuid4()), "resource": "trade"}}
    fill = {"order_id": str(uuid.uuid4()), "product_id": "ETH-USD", "fill_price": "2000",
            "commission": "0.12", "order_side": "sell"}  # fmt: skip
    usd.transactions = [
        transaction("fiat_deposit", "1000.00", "USD", "1000.00", T0),
        transaction("buy", "-500.00", "USD", "-500.00", T0 + 60_000),  # the buy's cash leg
        transaction("advanced_trade_fill", "19.88", "USD", "19.88", T0 + 400_000,
                    advanced_trade_fill=fill),
    ]  # fmt: skip
    btc.transactions = [
        transaction("buy", "0.01000000", "BTC", "500.00", T0 + 60_000,
                    buy={"id": str(uuid.uuid4()), "resource": "buy"}),
        transaction("trade", "-0.00400000", "BTC", "-200.00", T0 + 120_000, **convert),
        transaction("send", "-0.00100000", "BTC", "-50.00", T0 + 180_000,
                    network={"status": "confirmed", "hash": "9f2c0a", "name": "bitcoin",
                             "transaction_fee": money("0.00002000", "BTC"),
                             "transaction_amount": money("0.00098000", "BTC")},
                    to={"resource": "bitcoin_address", "address": "bc1qexample"}),
    ]  # fmt: skip
    eth.transactions = [
        transaction("trade", "0.10000000", "ETH", "200.00", T0 + 120_000, **convert),
        transaction("staking_reward", "0.00050000", "ETH", "1.00", T0 + 300_000),
        transaction("advanced_trade_fill", "-0.01000000", "ETH", "-20.00", T0 + 400_000,
                    advanced_trade_fill=fill),
    ]  # fmt: skip
    server = Coinbase(accounts=[usd, btc, eth])
    for account in server.accounts:  # the balances the history adds up to
        total = sum((Decimal(t["amount"]["amount"]) for t in account.transactions), Decimal(0))
        account.balance = format(total, "f")
    return server


def ccxt_environment(server: Coinbase) -> dict[str, str]:
    """What points ccxt's Coinbase client at ``server``, with no pacing between calls."""
    return {
        "QUANTDESK_CCXT_URLS": json.dumps({"coinbase": server.url}),
        "QUANTDESK_CCXT_RATE_LIMIT_MS": "0",
    }
