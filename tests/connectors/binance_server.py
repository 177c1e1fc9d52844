"""Binance's REST API on 127.0.0.1 for the connection tests: the spot market list and
the signed endpoints a read-only sync calls, in Binance's documented shapes, each
signed call checked as Binance checks it (``X-MBX-APIKEY``, a fresh ``timestamp`` within
``recvWindow``, and ``signature``: the HMAC-SHA256 hex of the query string, keyed by the
secret). Its errors are Binance's (``{"code": -2015, "msg": ...}``), and so are its
limits: trades only per symbol, paged by ``fromId``; deposits and withdrawals only in
windows of at most 90 days (the last 90 days when none is asked), newest first. ccxt's
own Binance client talks to it unchanged but for its base URL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.connectors.loopback import JsonServer, Request

API_KEY = "binance-read-only-key-0123456789abcdef"
SECRET = "binance-test-secret-0123456789abcdef0123456789abcdef"
DAY_MS = 86_400_000
NINETY_DAYS_MS = 90 * DAY_MS


def spot_market(base: str, quote: str) -> dict[str, Any]:
    """One symbol of ``/api/v3/exchangeInfo``."""
    return {
        "symbol": base + quote,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00",
             "tickSize": "0.01"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.00000000",
             "stepSize": "0.00001"},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }  # fmt: skip


def my_trade(
    symbol: str,
    trade_id: int,
    time_ms: int,
    *,
    buyer: bool,
    price: str,
    qty: str,
    commission: str,
    commission_asset: str,
) -> dict[str, Any]:
    """One trade of ``/api/v3/myTrades``."""
    return {
        "symbol": symbol,
        "id": trade_id,
        "orderId": trade_id * 10,
        "orderListId": -1,
        "price": price,
        "qty": qty,
        "quoteQty": format(float(price) * float(qty), ".8f"),
        "commission": commission,
        "commissionAsset": commission_asset,
        "time": time_ms,
        "isBuyer": buyer,
        "isMaker": False,
        "isBestMatch": True,
    }


def deposit(coin: str, amount: str, time_ms: int, tx: str, status: int = 1) -> dict[str, Any]:
    """One record of ``/sapi/v1/capital/deposit/hisrec`` (status 0 pending, 1 credited)."""
    return {
        "id": f"{abs(hash(tx)) % 10**18}",
        "amount": amount,
        "coin": coin,
        "network": "ETH" if coin != "BTC" else "BTC",
        "status": status,
        "address": "0x94df8b352de7f46f64b01d3666bf6e936e44ce60",
        "addressTag": "",
        "txId": tx,
        "insertTime": time_ms,
        "completeTime": time_ms + 600_000,
        "transferType": 0,
        "confirmTimes": "12/12",
        "unlockConfirm": 0,
        "walletType": 0,
    }


def withdrawal(
    coin: str, amount: str, fee: str, time_ms: int, tx: str, status: int = 6
) -> dict[str, Any]:
    """One record of ``/sapi/v1/capital/withdraw/history`` (status 6 completed)."""
    applied = datetime.fromtimestamp(time_ms / 1000, UTC)
    return {
        "id": hashlib.md5(tx.encode()).hexdigest(),
        "amount": amount,
        "transactionFee": fee,
        "coin": coin,
        "status": status,
        "address": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
        "txId": tx,
        "applyTime": applied.strftime("%Y-%m-%d %H:%M:%S"),
        "network": "BTC" if coin == "BTC" else "ETH",
        "transferType": 0,
        "info": "",
        "confirmNo": 3,
        "walletType": 0,
        "txKey": "",
        "completeTime": applied.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _applied_ms(record: dict[str, Any]) -> int:
    moment = datetime.strptime(record["applyTime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _error(status: int, code: int, msg: str) -> tuple[int, dict[str, Any]]:
    return status, {"code": code, "msg": msg}


@dataclass
class Binance:
    """The account: ``markets`` (base, quote), ``trades`` per symbol (ids ascending),
    ``deposits``, ``withdrawals`` and ``balances``; ``fail`` makes an endpoint answer an
    error (``{"/api/v3/myTrades": (429, -1003, "Too many requests")}``); ``calls`` logs
    every signed call with its parameters."""

    markets: list[tuple[str, str]] = field(default_factory=list)
    trades: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deposits: list[dict[str, Any]] = field(default_factory=list)
    withdrawals: list[dict[str, Any]] = field(default_factory=list)
    balances: dict[str, str] = field(default_factory=dict)
    fail: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    secret: str = SECRET

    def __post_init__(self) -> None:
        self.http = JsonServer(self.answer)
        self.url = self.http.url

    def close(self) -> None:
        self.http.close()

    def _signed(self, request: Request) -> tuple[int, dict[str, Any]] | None:
        """Binance's refusal of a signed call, or None when it is signed right."""
        if request.headers.get("X-MBX-APIKEY") != API_KEY:
            return _error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        payload, _, signature = request.query.rpartition("&signature=")
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return _error(400, -1022, "Signature for this request is not valid.")
        params = request.params()
        window = int(params.get("recvWindow", 5000))
        if abs(time.time() * 1000 - int(params.get("timestamp", 0))) > window:
            return _error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return None

    def answer(self, request: Request) -> tuple[int, Any]:
        if request.path == "/api/v3/exchangeInfo":
            return 200, {
                "timezone": "UTC",
                "serverTime": int(time.time() * 1000),
                "rateLimits": [],
                "exchangeFilters": [],
                "symbols": [spot_market(b, q) for b, q in self.markets],
            }
        params = request.params()
        params.pop("signature", None)
        self.calls.append((request.path, params))
        refused = self._signed(request)
        if refused:
            return refused
        if request.path in self.fail:
            return _error(*self.fail[request.path])
        if request.path == "/api/v3/account":
            return 200, self._account()
        if request.path == "/api/v3/myTrades":
            return self._my_trades(params)
        if request.path == "/sapi/v1/capital/deposit/hisrec":
            return self._window(params, self.deposits, lambda r: int(r["insertTime"]))
        if request.path == "/sapi/v1/capital/withdraw/history":
            return self._window(params, self.withdrawals, _applied_ms)
        return _error(404, -1000, f"this test server does not serve {request.path}")

    def _account(self) -> dict[str, Any]:
        return {
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": "0.00100000", "taker": "0.00100000",
                                "buyer": "0.00000000", "seller": "0.00000000"},
            "canTrade": False, "canWithdraw": False, "canDeposit": False, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": int(time.time() * 1000), "accountType": "SPOT",
            "balances": [
                {"asset": a, "free": units, "locked": "0.00000000"}
                for a, units in self.balances.items()
            ],
            "permissions": ["SPOT"], "uid": 354937868,
        }  # fmt: skip

    def _my_trades(self, params: dict[str, str]) -> tuple[int, Any]:
        symbol = params.get("symbol")
        if not symbol:
            return _error(400, -1102, "Mandatory parameter 'symbol' was not sent.")
        if "startTime" in params or "endTime" in params:
            return _error(400, -1000, "this test server pages trades by fromId only")
        limit = min(int(params.get("limit", 500)), 1000)
        listed = sorted(self.trades.get(symbol, []), key=lambda t: t["id"])
        if "fromId" in params:
            return 200, [t for t in listed if t["id"] >= int(params["fromId"])][:limit]
        return 200, listed[-limit:]

    def _window(
        self, params: dict[str, str], records: list[dict[str, Any]], when: Any
    ) -> tuple[int, Any]:
        end = int(params.get("endTime", time.time() * 1000))
        start = int(params.get("startTime", end - NINETY_DAYS_MS))
        if end - start > NINETY_DAYS_MS:
            return _error(400, -1127, "More than 90 days between startTime and endTime.")
        limit = min(int(params.get("limit", 1000)), 1000)
        picked = sorted((r for r in records if start <= when(r) <= end), key=when, reverse=True)
        offset = int(params.get("offset", 0))
        return 200, picked[offset : offset + limit]


T0 = 1_767_000_000_000  # 2025-12-29, ms


def small_account() -> Binance:
    """Deposited 1,000 USDT, bought 0.01 BTC for 500 USDT paying its fee in BNB (0.001),
    bought 0.5 BNB before that, withdrew 0.002 BTC (network fee 0.0001)."""
    server = Binance(markets=[("BTC", "USDT"), ("BNB", "USDT"), ("ETH", "USDT"), ("ETH", "BTC")])
    server.deposits = [deposit("USDT", "1000", T0, "0xdeposit1")]
    server.trades = {
        "BNBUSDT": [
            my_trade("BNBUSDT", 7, T0 + 60_000, buyer=True, price="600", qty="0.5",
                     commission="0.0005", commission_asset="BNB"),
        ],
        "BTCUSDT": [
            my_trade("BTCUSDT", 11, T0 + 120_000, buyer=True, price="50000", qty="0.01",
                     commission="0.001", commission_asset="BNB"),
        ],
    }  # fmt: skip
    server.withdrawals = [withdrawal("BTC", "0.002", "0.0001", T0 + 3_600_000, "btc-tx-1")]
    server.balances = {"USDT": "200.00000000", "BTC": "0.00790000", "BNB": "0.49850000"}
    return server


def ccxt_environment(server: Binance) -> dict[str, str]:
    """What points ccxt's Binance client at ``server``, with no pacing between calls."""
    return {
        "QUANTDESK_CCXT_URLS": json.dumps({"binance": server.url}),
        "QUANTDESK_CCXT_RATE_LIMIT_MS": "0",
    }
