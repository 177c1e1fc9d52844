"""Coinbase through ccxt's own Coinbase client, read the way its App API (v2) keeps an
account's history: one account (wallet) per currency, each with its list of
transactions (buys, sells, converts, Advanced Trade fills, sends and receives, fiat
deposits and withdrawals, rewards), paged oldest first with ``starting_after``.

ccxt's unified ``fetch_deposits`` of Coinbase takes one wallet at a time and calls every
incoming amount a deposit (a buy's coins too), so the session reads the wallets'
transactions through ccxt's calls of those endpoints (signed by ccxt, with a CDP key's
JWT) and keeps them as Coinbase gives them, for :mod:`quantdesk.importers.coinbase_api`.

The one stream, ``transactions``, resumes in each wallet after the last transaction read
(its id), or before the first one still pending, so that it is recorded once it
completes.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from quantdesk.connectors.ccxt_client import MAX_PAGES, ExchangeSession
from quantdesk.connectors.session import Batch, stamp
from quantdesk.importers.coinbase import ticker

#: Coinbase's largest page.
PAGE = 100


def _moment(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def pem(secret: str) -> str:
    """A CDP key's private key in PEM, also as it arrives pasted from Coinbase's key file
    (its line breaks written ``\\n``) or into a one-line field (its line breaks gone)."""
    text = secret.replace("\\n", "\n").strip()
    found = re.fullmatch(r"(-----BEGIN [A-Z ]+-----)\s*(.+?)\s*(-----END [A-Z ]+-----)", text, re.S)
    if not found:
        return secret  # a legacy key's secret, as it is
    body = "".join(found[2].split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([found[1], *lines, found[3]]) + "\n"


class CoinbaseSession(ExchangeSession):
    def __init__(self, credentials: dict[str, str]) -> None:
        super().__init__("coinbase", {**credentials, "secret": pem(credentials.get("secret", ""))})
        self.streams = ("transactions",)
        # a key without a scope the sync needs is answered invalid_scope, which ccxt counts
        # as a refused key: in its own table of Coinbase's errors, a missing permission
        from ccxt.base.errors import PermissionDenied  # noqa: PLC0415 - ccxt is loaded by now

        self.client.exceptions["exact"]["invalid_scope"] = PermissionDenied
        self._accounts: list[dict[str, Any]] | None = None

    def _paged(self, method: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a v2 list, oldest first, from ``request``'s ``starting_after``."""
        found: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            page = self.call(method, {**request, "limit": PAGE})
            found += page.get("data") or []
            after = (page.get("pagination") or {}).get("next_starting_after")
            if not after:
                break
            request = {**request, "starting_after": after}
        return found

    def accounts(self) -> list[dict[str, Any]]:
        if self._accounts is None:
            self._accounts = self._paged(self.client.v2PrivateGetAccounts, {})
        return self._accounts

    def read(self, stream: str, since: Any) -> Batch:
        state = since if isinstance(since, dict) else {"after": since}
        after, read_to = state.get("after"), dict(state.get("accounts") or {})
        records: list[dict[str, Any]] = []
        for account in self.accounts():
            request: dict[str, Any] = {"account_id": account["id"], "order": "asc"}
            if read_to.get(account["id"]):
                request["starting_after"] = read_to[account["id"]]
            listed = self._paged(self.client.v2PrivateGetAccountsAccountIdTransactions, request)
            for record in listed:
                record["timestamp"] = _moment(str(record.get("created_at")))
            pending = [i for i, r in enumerate(listed) if r.get("status") == "pending"]
            last = pending[0] - 1 if pending else len(listed) - 1
            if last >= 0:
                read_to[account["id"]] = listed[last]["id"]
            records += [r for r in listed if after is None or stamp(r) >= int(after)]
        records.sort(key=lambda r: (stamp(r), str(r.get("id"))))
        through = max([stamp(r) for r in records] + [int(state.get("through") or 0)]) or None
        return Batch(records, {"after": after, "through": through, "accounts": read_to})

    def balances(self) -> dict[str, Decimal]:
        units: dict[str, Decimal] = {}
        for account in self.accounts():
            balance = account.get("balance") or {}
            code = ticker(str(balance.get("currency") or ""))
            if code and Decimal(str(balance.get("amount") or 0)):
                units[code] = units.get(code, Decimal(0)) + Decimal(str(balance["amount"]))
        return units
