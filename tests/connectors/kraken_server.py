"""Kraken's REST API on 127.0.0.1 for the connection tests: the public market and asset
lists and the private endpoints a read-only sync calls, in Kraken's documented response
shapes (``{"error": [...], "result": ...}``), each private call's API-Sign checked as
Kraken checks it (HMAC-SHA512 of the path and the SHA-256 of nonce + body, keyed by the
base64 secret). ccxt's own Kraken client talks to it unchanged but for its base URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from tests.connectors.loopback import JsonServer, Request

API_KEY = "kraken-read-only-key"
SECRET = base64.b64encode(
    b"a secret of the kraken test account, 64 bytes long............."
).decode()

PAIR = {
    "lot": "unit",
    "cost_decimals": 5,
    "pair_decimals": 1,
    "lot_decimals": 8,
    "lot_multiplier": 1,
    "leverage_buy": [],
    "leverage_sell": [],
    "fees": [[0, 0.4], [10000, 0.35]],
    "fees_maker": [[0, 0.25], [10000, 0.2]],
    "fee_volume_currency": "ZUSD",
    "margin_call": 80,
    "margin_stop": 40,
    "ordermin": "0.0001",
    "costmin": "0.5",
    "tick_size": "0.1",
    "status": "online",
}
ASSET_PAIRS = {
    "XXBTZUSD": {
        **PAIR, "altname": "XBTUSD", "wsname": "XBT/USD", "aclass_base": "currency",
        "base": "XXBT", "aclass_quote": "currency", "quote": "ZUSD",
    },
    "XETHZUSD": {
        **PAIR, "altname": "ETHUSD", "wsname": "ETH/USD", "aclass_base": "currency",
        "base": "XETH", "aclass_quote": "currency", "quote": "ZUSD",
    },
    "XETHXXBT": {
        **PAIR, "altname": "ETHXBT", "wsname": "ETH/XBT", "aclass_base": "currency",
        "base": "XETH", "aclass_quote": "currency", "quote": "XXBT",
        "fee_volume_currency": "ZUSD",
    },
}  # fmt: skip
ASSETS = {
    "XXBT": {"aclass": "currency", "altname": "XBT", "decimals": 10, "display_decimals": 5,
             "collateral_value": 1.0, "status": "enabled"},
    "XETH": {"aclass": "currency", "altname": "ETH", "decimals": 10, "display_decimals": 5,
             "collateral_value": 1.0, "status": "enabled"},
    "ZUSD": {"aclass": "currency", "altname": "USD", "decimals": 4, "display_decimals": 2,
             "status": "enabled"},
}  # fmt: skip


def trade(
    txid: str, pair: str, side: str, time: float, price: str, vol: str, fee: str
) -> dict[str, Any]:
    cost = format(float(price) * float(vol), ".5f")
    return {
        txid: {
            "ordertxid": f"O{txid[1:]}",
            "postxid": "TKH2SE-M7IF5-CFI7LT",
            "pair": pair,
            "time": time,
            "type": side,
            "ordertype": "limit",
            "price": price,
            "cost": cost,
            "fee": fee,
            "vol": vol,
            "margin": "0.00000",
            "leverage": "0",
            "misc": "",
            "trade_id": abs(hash(txid)) % 10_000_000,
            "maker": False,
        }
    }


def funding(
    refid: str, asset: str, amount: str, fee: str, time: int, status: str = "Success"
) -> dict[str, Any]:
    return {
        "method": "Bitcoin" if asset == "XXBT" else "Bank Frick (SWIFT)",
        "aclass": "currency",
        "asset": asset,
        "refid": refid,
        "txid": f"0x{abs(hash(refid)):x}",
        "info": "bc1qexampleaddress",
        "amount": amount,
        "fee": fee,
        "time": time,
        "status": status,
    }


@dataclass
class Kraken:
    """The account's history and balances; ``fail`` makes an endpoint answer an error
    (``{"TradesHistory": "EAPI:Rate limit exceeded"}``); ``calls`` logs every private
    call with its form."""

    trades: dict[str, dict[str, Any]] = field(default_factory=dict)
    deposits: list[dict[str, Any]] = field(default_factory=list)
    withdrawals: list[dict[str, Any]] = field(default_factory=list)
    balances: dict[str, str] = field(default_factory=dict)
    fail: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    secret: str = SECRET

    def __post_init__(self) -> None:
        self.http = JsonServer(self._route)
        self.url = self.http.url

    def _route(self, request: Request) -> tuple[int, Any]:
        if request.method == "GET":
            if request.path == "/0/public/AssetPairs":
                return 200, {"error": [], "result": ASSET_PAIRS}
            if request.path == "/0/public/Assets":
                return 200, {"error": [], "result": ASSETS}
            return 200, {"error": ["EGeneral:Unknown method"]}
        return 200, self.answer(request.path, request.body, request.params(), request.headers)

    def _signed(self, path: str, body: str, form: dict[str, str], headers: dict[str, str]) -> bool:
        digest = hashlib.sha256((form.get("nonce", "") + body).encode()).digest()
        try:
            key = base64.b64decode(self.secret)
        except ValueError:
            return False
        expected = hmac.new(key, path.encode() + digest, hashlib.sha512).digest()
        given = headers.get("API-Sign") or headers.get("Api-Sign") or ""
        return headers.get("API-Key", headers.get("Api-Key")) == API_KEY and hmac.compare_digest(
            base64.b64encode(expected).decode(), given
        )

    def answer(self, path: str, body: str, form: dict[str, str], headers: dict[str, str]) -> Any:
        method = path.rsplit("/", 1)[1]
        self.calls.append((method, form))
        if not self._signed(path, body, form, headers):
            return {"error": ["EAPI:Invalid key"]}
        if method in self.fail:
            return {"error": [self.fail[method]]}
        start = float(form.get("start", "0") or 0)
        if method == "TradesHistory":
            picked = {k: v for k, v in self.trades.items() if v["time"] >= start}
            return {"error": [], "result": {"trades": picked, "count": len(picked)}}
        if method in ("DepositStatus", "WithdrawStatus"):
            listed = self.deposits if method == "DepositStatus" else self.withdrawals
            return {"error": [], "result": [r for r in listed if r["time"] >= start]}
        if method == "BalanceEx":
            return {
                "error": [],
                "result": {
                    a: {"balance": b, "hold_trade": "0.0000"} for a, b in self.balances.items()
                },
            }
        return {"error": ["EGeneral:Unknown method"]}

    def close(self) -> None:
        self.http.close()


T0 = 1_767_000_000  # 2025-12-29, seconds: the test accounts' first entry


def small_account() -> Kraken:
    """A Kraken account with a deposit of 1,000 USD and one buy of 0.01 BTC (fee 1 USD)."""
    server = Kraken()
    server.deposits = [funding("FTQcuak-V6Za8qrWnhzTx67yYHz8Tg", "ZUSD", "1000.0000", "0", T0)]
    server.trades = trade("TCJTUK-GDK2Y-UXSY7S", "XXBTZUSD", "buy", T0 + 60.5, "50000", "0.01", "1")
    server.balances = {"ZUSD": "499.0000", "XXBT": "0.0100000000"}
    return server


def ccxt_environment(server: Kraken) -> dict[str, str]:
    """What points ccxt's Kraken client at ``server``, with no pacing between calls."""
    return {
        "QUANTDESK_CCXT_URLS": json.dumps({"kraken": server.url}),
        "QUANTDESK_CCXT_RATE_LIMIT_MS": "0",
    }
