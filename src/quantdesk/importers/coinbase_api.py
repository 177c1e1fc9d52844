"""Coinbase's App API (v2) transactions, as :mod:`quantdesk.connectors.coinbase_session`
reads them from every wallet, as ledger entries recorded the way the retail
"Transaction history" CSV's are (:mod:`.coinbase`):

- ``buy`` and ``sell`` (in the coin's wallet): a buy or sale of the coin for its
  ``native_amount`` (what was paid or received, fees included); the record of the same
  trade in the fiat wallet is its cash side, not recorded twice;
- ``advanced_trade_fill``: a buy or sale at the fill price with its commission (a fiat
  quote), or two conversion legs (a coin quote); recorded from the base coin's wallet;
- ``trade`` (a Convert): its two records, one in each wallet and sharing the trade's id,
  are two linked conversion legs valued at what was given up;
- ``send``: units in or out (an outgoing amount includes the network fee);
- ``fiat_deposit``, ``fiat_withdrawal``, and moves to and from Coinbase Exchange: cash
  (fiat) or units (a coin) in or out, by the amount's sign;
- rewards (staking, interest, Earn): staking rewards valued at their ``native_amount``.

Only completed transactions count; a pending one comes with a later sync. Moves between
Coinbase's own staking wallets are skipped; other types are left to record by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.ccxt_entries import money_move
from quantdesk.importers.cells import json_number
from quantdesk.importers.coinbase import ticker
from quantdesk.importers.crypto import CRYPTO, is_fiat
from quantdesk.importers.dates import When
from quantdesk.importers.table import ParseContext, build_entry, conversion_legs

_REWARDS = frozenset(
    {"staking_reward", "interest", "inflation_reward", "earn_payout", "reward", "learning_reward"}
)
_CASH_MOVES = frozenset(
    {
        "fiat_deposit",
        "fiat_withdrawal",
        "exchange_deposit",
        "exchange_withdrawal",
        "pro_deposit",
        "pro_withdrawal",
    }
)
_INTERNAL = frozenset(
    {
        "staking_transfer",
        "unstaking_transfer",
        "retail_staking_transfer",
        "retail_unstaking_transfer",
        "retail_eth2_deprecation",
    }
)


def _money(record: Mapping[str, Any], key: str) -> tuple[Decimal | None, str]:
    found = record.get(key) or {}
    return json_number(found.get("amount")), ticker(str(found.get("currency") or ""))


def _when(record: Mapping[str, Any]) -> When:
    moment = datetime.fromtimestamp(int(record["timestamp"]) / 1000, UTC)
    return When(moment, moment.date(), True)


def transaction_entries(
    ctx: ParseContext, records: Sequence[Mapping[str, Any]], *, first_line: int = 1
) -> Iterator[ParsedTransaction]:
    """The entries of ``records`` (every wallet's, oldest first); ``line`` numbers them."""
    converts: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for line, record in enumerate(records, start=first_line):
        kind, status, ident = record.get("type"), record.get("status"), str(record.get("id"))
        if status != "completed":
            ctx.notices.skip(line, f"{kind} {ident} is {status or 'of unknown status'}")
            continue
        if kind == "trade":
            trade_id = str((record.get("trade") or {}).get("id") or ident)
            converts.setdefault(trade_id, []).append((line, record))
            continue
        yield from _entry(ctx, line, str(kind), ident, record)
    for trade_id, legs in converts.items():
        yield from _convert(ctx, trade_id, legs)


def _entry(
    ctx: ParseContext, line: int, kind: str, ident: str, record: Mapping[str, Any]
) -> Iterator[ParsedTransaction]:
    amount, code = _money(record, "amount")
    native, currency = _money(record, "native_amount")
    if amount is None or not code:
        ctx.issues.add(line, "amount", f"{kind} {ident} has no amount")
        return
    when, units = _when(record), abs(amount)
    built: list[ParsedTransaction | None] = []
    if kind in ("buy", "sell"):
        if is_fiat(code):
            ctx.notices.skip(line, f"the {code} side of a {kind}: recorded with its coin's side")
            return
        built.append(
            build_entry(
                ctx.issues,
                line,
                T.BUY if kind == "buy" else T.SELL,
                when,
                symbol=code,
                asset_type=CRYPTO,
                quantity=units,
                amount=abs(native) if native is not None else None,
                currency=currency,
                external_id=ident,
                column="amount",
            )
        )
    elif kind == "advanced_trade_fill":
        yield from _fill(ctx, line, ident, record, code, amount)
        return
    elif kind == "send" or kind in _CASH_MOVES:  # in or out by the amount's sign
        fee, fee_code = _money(record.get("network") or {}, "transaction_fee")
        note = f"network fee {fee} {fee_code} included" if fee and amount < 0 else None
        built.append(
            money_move(ctx, line, when, code, units, incoming=amount > 0, external_id=ident,
                       description=note)
        )  # fmt: skip
    elif kind in _REWARDS:
        built.append(
            build_entry(
                ctx.issues,
                line,
                T.STAKING_REWARD,
                when,
                symbol=code,
                asset_type=CRYPTO,
                quantity=units,
                amount=abs(native) if native is not None else None,
                currency=currency,
                external_id=ident,
                column="amount",
            )
        )
    elif kind in _INTERNAL:
        ctx.notices.skip(line, "a move between Coinbase's own staking wallets (internal)")
    else:
        ctx.notices.resolve(line, "type", f"Coinbase transaction type {kind!r} ({ident})")
    yield from (entry for entry in built if entry is not None)


def _fill(
    ctx: ParseContext,
    line: int,
    ident: str,
    record: Mapping[str, Any],
    code: str,
    amount: Decimal,
) -> Iterator[ParsedTransaction]:
    """An Advanced Trade fill, from its base coin's wallet (its quote's record is the
    same fill's other side)."""
    fill = record.get("advanced_trade_fill") or {}
    base, _, quote = str(fill.get("product_id") or "").partition("-")
    base, quote = ticker(base), ticker(quote)
    price, commission = (
        json_number(fill.get("fill_price")),
        json_number(fill.get("commission") or 0),
    )
    if not base or not quote or price is None or commission is None:
        ctx.issues.add(line, "advanced_trade_fill", f"fill {ident} has no product or price")
        return
    if code != base:
        ctx.notices.skip(line, f"the {quote} side of an Advanced Trade fill of {base}")
        return
    when, units, buying = _when(record), abs(amount), amount > 0
    order = str(fill.get("order_id") or ident)
    if is_fiat(quote):
        entry = build_entry(
            ctx.issues,
            line,
            T.BUY if buying else T.SELL,
            when,
            symbol=base,
            asset_type=CRYPTO,
            quantity=units,
            price=price,
            fees=abs(commission),
            currency=quote,
            external_id=ident,
            description=f"Advanced Trade order {order}",
            column="amount",
        )
        if entry is not None:
            yield entry
        return
    worth = units * price
    given, received = (
        ((quote, worth + abs(commission)), (base, units))
        if buying
        else ((base, units), (quote, worth - abs(commission)))
    )
    yield from conversion_legs(
        ctx.issues,
        line,
        when,
        given=given,
        received=received,
        value=worth,
        currency=quote,
        link=f"coinbase:{ident}",
        external_id=ident,
        description=f"Advanced Trade order {order}",
        column="amount",
    )


def _convert(
    ctx: ParseContext, trade_id: str, legs: list[tuple[int, Mapping[str, Any]]]
) -> Iterator[ParsedTransaction]:
    """A Convert's two records (one per wallet) as two linked conversion legs, valued at
    what was given up."""
    line = legs[0][0]
    moved = [(_money(r, "amount"), _money(r, "native_amount"), r) for _, r in legs]
    out = [m for m in moved if m[0][0] is not None and m[0][0] < 0]
    into = [m for m in moved if m[0][0] is not None and m[0][0] > 0]
    if len(out) != 1 or len(into) != 1:
        ctx.notices.resolve(
            line, "trade", f"Convert {trade_id}: {len(legs)} of its 2 sides found (record it)"
        )
        return
    (given, given_code), (worth, currency), record = out[0]
    (got, got_code), _, _ = into[0]
    assert given is not None and got is not None
    if worth is None or not currency:
        ctx.issues.add(line, "native_amount", f"Convert {trade_id} has no value")
        return
    yield from conversion_legs(
        ctx.issues,
        line,
        _when(record),
        given=(given_code, abs(given)),
        received=(got_code, abs(got)),
        value=abs(worth),
        currency=currency,
        link=f"coinbase:{trade_id}",
        external_id=trade_id,
        description=f"Converted {abs(given)} {given_code} to {abs(got)} {got_code}",
        column="amount",
    )
