"""Binance through ccxt, where its API differs from the exchanges that list an account's
history in one call:

- **Trades are listed per market** (``GET /api/v3/myTrades`` needs a symbol). A sync reads
  the spot markets between the assets the account touches (its balances, the coins it
  deposited or withdrew, the markets it traded before), each from the trade id after
  the last one read (``fromId``: Binance's one exact way to page). An asset bought and
  sold again between two syncs, in a market of assets otherwise never held, deposited
  or withdrawn, is not found: the balance check after the sync cannot see it either,
  and the README says so.
- **Deposits and withdrawals are listed per window of at most 90 days**, the last 90 days
  when no window is asked. A sync walks the windows from where the last one stopped (the
  first from Binance's opening in July 2017) to now; the next starts a day before where
  this one stopped, so that a deposit Binance lists late is still seen (what was
  recorded already is known by its id).
- Fiat bought by card or bank (``/sapi/v1/fiat/orders``) is not read: import Binance's
  statement for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from quantdesk.connectors.ccxt_client import MAX_PAGES, ExchangeSession
from quantdesk.connectors.session import Batch, resume_point, stamp

#: Binance opened in July 2017: a first sync's deposits and withdrawals start there.
OPENED = int(datetime(2017, 7, 1, tzinfo=UTC).timestamp() * 1000)
DAY = 86_400_000
#: Binance's longest window of deposit and withdrawal history.
WINDOW = 90 * DAY
#: How much of the last window the next sync reads again.
OVERLAP = DAY
#: Records per call: Binance's largest page of trades and of deposits and withdrawals.
PAGE = 1000


class BinanceSession(ExchangeSession):
    def __init__(self, credentials: dict[str, str], *, now: datetime) -> None:
        super().__init__("binance", credentials)
        self.now = int(now.timestamp() * 1000)
        # deposits and withdrawals first: their coins say which markets to read trades of
        self.streams = ("deposits", "withdrawals", "trades")
        self.touched: set[str] = set()
        self._held: dict[str, Decimal] | None = None

    def balances(self) -> dict[str, Decimal]:
        """The account's units, read once a session (they also choose the markets)."""
        if self._held is None:
            self._held = super().balances()
        return self._held

    def read(self, stream: str, since: Any) -> Batch:
        self.call(self.client.load_markets)
        if stream == "trades":
            return self._trades(since)
        method = (
            self.client.fetch_deposits if stream == "deposits" else self.client.fetch_withdrawals
        )
        batch = self._windows(method, since)
        self.touched |= {str(r["currency"]) for r in batch.records if r.get("currency")}
        return batch

    def _windows(self, method: Any, since: int | None) -> Batch:
        """Every record from ``since`` to now, window by window. A window with a full page
        may hold more than Binance gives in one answer (and in no documented order): it is
        halved until its records fit a page."""
        now = self.now
        start = OPENED if since is None else int(since)
        found: dict[str, dict[str, Any]] = {}
        reached, span = start, WINDOW
        for _ in range(MAX_PAGES * 4):  # a first sync walks about 40 windows
            if start > now:
                break
            end = min(start + span - 1, now)
            page = self.call(method, None, start, PAGE, {"endTime": end})
            if len(page) >= PAGE and end > start:
                span = (end - start + 1) // 2
                continue
            for record in page:
                found[str(record.get("id"))] = record
            reached, start, span = end, end + 1, WINDOW
        records = sorted(found.values(), key=lambda r: (stamp(r), str(r["id"])))
        return Batch(records, resume_point(records, max(reached + 1 - OVERLAP, OPENED)))

    def _markets(self, traded: dict[str, int]) -> list[str]:
        held = set(self.balances()) | self.touched
        for symbol in traded:
            market = self.client.markets.get(symbol)
            if market:
                held |= {market["base"], market["quote"]}
        between = {
            symbol
            for symbol, market in self.client.markets.items()
            if market.get("spot") and market["base"] in held and market["quote"] in held
        }
        return sorted(between | set(traded))

    def _trades(self, since: Any) -> Batch:
        """Trades of each market from the id after the last one read; a first read of a
        market (ids from 0) keeps only the trades from ``after`` on (the history before
        came from an export)."""
        state = since if isinstance(since, dict) else {"after": since}
        after, traded = state.get("after"), dict(state.get("from_id") or {})
        records: list[dict[str, Any]] = []
        for symbol in self._markets(traded):
            next_id = int(traded.get(symbol, 0))
            for _ in range(MAX_PAGES):
                page = self.call(
                    self.client.fetch_my_trades, symbol, None, PAGE, {"fromId": next_id}
                )
                if not page:
                    break
                records += [t for t in page if after is None or stamp(t) >= int(after)]
                next_id = max(int(t["id"]) for t in page) + 1
                if len(page) < PAGE:
                    break
            traded[symbol] = next_id
        records.sort(key=lambda r: (stamp(r), str(r["id"])))
        through = max([stamp(r) for r in records] + [int(state.get("through") or 0)]) or None
        return Batch(records, {"after": after, "through": through, "from_id": traded})
