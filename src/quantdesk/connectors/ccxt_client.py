"""A crypto exchange through ccxt's own client (Kraken, Binance, Coinbase and every other
exchange ccxt supports): the account's trades, deposits and withdrawals since a point in
time, and its balances, read with a read-only API key. Nothing here places an order.

ccxt's errors become :class:`ConnectorError` with a kind and plain words (a bad key, a
missing permission, a rate limit, revoked access, the exchange unreachable). The key and
secret are never put in a message.

``QUANTDESK_CCXT_URLS`` (JSON, ``{"kraken": "http://127.0.0.1:8123"}``) points an
exchange's API somewhere else: a sandbox, or the tests' server on loopback.
``QUANTDESK_CCXT_RATE_LIMIT_MS`` replaces ccxt's pacing between calls (0: none, for a
server on loopback); by default ccxt paces each exchange as that exchange asks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from quantdesk.connectors.session import Batch, ConnectorError, resume_point, stamp

#: How many pages of history one stream reads in one sync at most (a first sync of a
#: long history continues from where it stopped on the next sync).
MAX_PAGES = 50

__all__ = ["MAX_PAGES", "Batch", "ConnectorError", "ExchangeSession", "exchanges"]


def _ccxt() -> Any:
    """ccxt, imported on first use: it takes most of a second to import, which every
    `quantdesk` command and API worker would otherwise pay at start."""
    import ccxt  # noqa: PLC0415

    return ccxt


def exchanges() -> list[str]:
    """Every exchange id ccxt supports."""
    return list(_ccxt().exchanges)


def failure_of(error: Exception, name: str) -> ConnectorError:
    ccxt = _ccxt()
    if isinstance(error, ccxt.AccountSuspended):
        return ConnectorError("revoked", f"{name} says the account is suspended or access revoked")
    if isinstance(error, ccxt.PermissionDenied):
        return ConnectorError(
            "permission",
            f"the API key lacks a permission {name} needs for a read-only sync (query funds, "
            "trades and ledger entries): add it on the exchange's API page",
        )
    if isinstance(error, ccxt.AuthenticationError):
        return ConnectorError(
            "bad-key", f"{name} refused the API key or secret: check them, or make a new key"
        )
    if isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return ConnectorError(
            "rate-limit", f"{name} is rate limiting the key: the sync resumes later"
        )
    if isinstance(error, ccxt.ArgumentsRequired):
        return ConnectorError(
            "exchange",
            f"{name}'s API lists history per market or per currency, which quantdesk does not "
            "read for it yet (it does for Binance and Coinbase): import its CSV export instead",
        )
    if isinstance(error, ccxt.NetworkError):
        return ConnectorError("unreachable", f"cannot reach {name}: {type(error).__name__}")
    return ConnectorError("exchange", f"{name} answered with an error: {type(error).__name__}")


def _moved(api: Any, origin: str) -> Any:
    """The exchange's API addresses with their scheme and host replaced by ``origin``,
    their paths kept (Binance's /api/v3 and /sapi/v1 live on one host)."""
    if isinstance(api, dict):
        return {k: _moved(v, origin) for k, v in api.items()}
    if isinstance(api, str):
        parts = urlsplit(api)
        return origin.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
    return api


#: Per exchange, ccxt options that keep a read-only sync to the calls it needs (Binance
#: would otherwise also load its futures markets and its margin pairs).
OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {
        "fetchMarkets": {"types": ["spot"]},
        "fetchMargins": False,
        "fetchCurrencies": False,
    },
}


class ExchangeSession:
    """One exchange account through ccxt."""

    def __init__(self, provider: str, credentials: Mapping[str, str]) -> None:
        ccxt = _ccxt()
        if provider not in ccxt.exchanges:
            raise ConnectorError("exchange", f"ccxt knows no exchange {provider!r}")
        config: dict[str, Any] = {
            "apiKey": credentials.get("api_key", ""),
            "secret": credentials.get("secret", ""),
            "enableRateLimit": True,
            "timeout": 20_000,
            "options": dict(OPTIONS.get(provider, {})),
        }
        if credentials.get("password"):
            config["password"] = credentials["password"]
        pacing = os.environ.get("QUANTDESK_CCXT_RATE_LIMIT_MS")
        if pacing is not None:
            config["enableRateLimit"] = pacing.strip() not in ("", "0")
            if config["enableRateLimit"]:
                config["rateLimit"] = int(pacing)
        self.name = provider
        self.client = getattr(ccxt, provider)(config)
        override = json.loads(os.environ.get("QUANTDESK_CCXT_URLS") or "{}").get(provider)
        if override:
            self.client.urls["api"] = _moved(self.client.urls.get("api"), override)
        self.streams: tuple[str, ...] = ("trades", "deposits", "withdrawals")

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``method`` of the ccxt client, its failure a :class:`ConnectorError`."""
        try:
            return method(*args, **kwargs)
        except _ccxt().BaseError as error:
            raise failure_of(error, self.name) from None
        except ValueError:  # ccxt signs with the secret before sending: it is not a key
            raise ConnectorError(
                "bad-key",
                f"the API secret cannot sign {self.name} requests: paste the whole secret "
                "as the exchange gave it",
            ) from None

    def start_after(self, moment: datetime) -> int:
        """The starting point of a stream whose history up to ``moment`` came from the
        exchange's export: the next second (exports give seconds)."""
        return int(moment.replace(microsecond=0).timestamp() * 1000) + 1000

    def _since(self, method: Callable[..., Any], since: int | None) -> Batch:
        """Every record from ``since`` (ms, inclusive) on, page by page, oldest first."""
        self.call(self.client.load_markets)
        found: dict[str, dict[str, Any]] = {}
        cursor = since
        for _ in range(MAX_PAGES):
            page = self.call(method, None, cursor)
            fresh = [r for r in page if str(r.get("id")) not in found]
            for record in fresh:
                found[str(record.get("id"))] = record
            if not fresh:
                break
            cursor = max(stamp(r) for r in page)
        records = sorted(found.values(), key=lambda r: (stamp(r), str(r["id"])))
        return Batch(records, resume_point(records, cursor))

    def read(self, stream: str, since: Any) -> Batch:
        """A stream's records from ``since`` (where its last read stopped) on."""
        method = {
            "trades": self.client.fetch_my_trades,
            "deposits": self.client.fetch_deposits,
            "withdrawals": self.client.fetch_withdrawals,
        }[stream]
        return self._since(method, since)

    def balances(self) -> dict[str, Decimal]:
        """Units of every asset the account holds (total: free and in orders)."""
        found = self.call(self.client.fetch_balance)
        totals = found.get("total") or {}
        return {str(code): Decimal(str(units)) for code, units in totals.items() if units}
