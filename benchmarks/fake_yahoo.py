"""A Yahoo Finance stand-in on 127.0.0.1 for the stack benchmark's live market: the
routes quantdesk's Yahoo adapter calls, answered in Yahoo's response shapes (the
shapes of ../shared/formats/price-apis/yahoo_v7_quote_AAPL.json and
yahoo_v8_chart_AAPL_daily.json) with made-up prices, and a count of every call, so
that a run shows how many upstream calls its users' reads and refreshes cost.

Routes: GET /cookie (any answer sets the session), GET /v1/test/getcrumb (text),
GET /v7/finance/quote?symbols=A,B&crumb=C, GET /v8/finance/chart/{ticker}?period1&period2.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def _price(symbol: str, day: int) -> float:
    """A made-up but stable price of ``symbol`` on day number ``day``."""
    base = 50 + zlib.crc32(symbol.encode()) % 400
    return round(base * (1 + 0.0003 * day + 0.01 * ((day * 7919) % 13 - 6) / 6), 2)


def quote_body(symbols: list[str], now: datetime) -> dict[str, Any]:
    at = int(now.timestamp())
    rows = [
        {
            "language": "en-US",
            "region": "US",
            "quoteType": "ETF" if symbol in ("VTI", "BND", "SPY") else "EQUITY",
            "currency": "USD",
            "marketState": "REGULAR",
            "priceHint": 2,
            "regularMarketPrice": _price(symbol, now.toordinal()),
            "regularMarketTime": at,
            "exchange": "NMS",
            "exchangeTimezoneName": "America/New_York",
            "symbol": symbol,
        }
        for symbol in symbols
    ]
    return {"quoteResponse": {"result": rows, "error": None}}


def chart_body(symbol: str, first: datetime, last: datetime) -> dict[str, Any]:
    stamps, closes = [], []
    day = first.replace(hour=14, minute=30, second=0, microsecond=0)
    while day <= last:
        if day.weekday() < 5:
            stamps.append(int(day.timestamp()))
            closes.append(_price(symbol, day.toordinal()))
        day += timedelta(days=1)
    meta = {
        "currency": "USD",
        "symbol": symbol,
        "exchangeName": "NMS",
        "instrumentType": "EQUITY",
        "exchangeTimezoneName": "America/New_York",
        "dataGranularity": "1d",
        "priceHint": 2,
    }
    return {
        "chart": {
            "result": [
                {
                    "meta": meta,
                    "timestamp": stamps,
                    "indicators": {
                        "quote": [{"close": closes}],
                        "adjclose": [{"adjclose": closes}],
                    },
                }
            ],
            "error": None,
        }
    }


class FakeYahoo:
    """The server, in a thread of this process; ``calls`` counts requests by route and
    ``quoted`` every symbol batch a quote call asked for."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.quoted: list[tuple[str, ...]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                status, body = fake.answer(parts.path, params)
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        now = datetime.now(UTC)
        with self._lock:
            if path.startswith("/v8/finance/chart/"):
                self.calls["chart"] += 1
            elif path == "/v7/finance/quote":
                self.calls["quote"] += 1
                self.quoted.append(tuple(sorted(params.get("symbols", "").split(","))))
            else:
                self.calls[path.strip("/").split("/")[-1] or "/"] += 1
        if path == "/v1/test/getcrumb":
            return 200, b"benchCrumb1"
        if path == "/v7/finance/quote":
            return 200, quote_body([s for s in params.get("symbols", "").split(",") if s], now)
        if path.startswith("/v8/finance/chart/"):
            symbol = path.rsplit("/", 1)[1]
            first = datetime.fromtimestamp(int(params.get("period1", "0")), UTC)
            until = int(params.get("period2", str(int(now.timestamp()))))
            last = datetime.fromtimestamp(until, UTC)
            return 200, chart_body(symbol, first, min(last, now))
        return 404, {"error": "not found"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
