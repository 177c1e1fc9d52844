"""An exchange's history as ccxt reports it (its unified trade and transaction
structures, the same for every exchange ccxt supports), as ledger entries: the same
entries the exchange's CSV export gives, so a trade synced and also imported from the
export is one trade (its id is the export's trade id: Kraken's txid, Binance's trade id).

A trade is a buy (fiat given), a sale (fiat received) or two linked conversion legs
(coin for coin), with its fee; a deposit or withdrawal of fiat is cash in or out, of a
coin a transfer in or out of units (its network fee included). Only completed
deposits and withdrawals count; pending ones come with a later sync. Derivatives
(``BTC/USD:USD``) are skipped: margin and futures are not tracked.

A fee paid in a third coin (Binance's BNB discount) consumes that coin's units at no
price, as Binance's exports are recorded (:mod:`.binance_statement`).

``line`` numbers the records in the order given, for row issues and notices.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import json_number
from quantdesk.importers.coinbase import Swap, swap_entries
from quantdesk.importers.crypto import CRYPTO, is_fiat
from quantdesk.importers.dates import When
from quantdesk.importers.table import ParseContext, build_entry


def _when(record: Mapping[str, Any]) -> When | None:
    stamp = record.get("timestamp")
    if not isinstance(stamp, int | float):
        return None
    moment = datetime.fromtimestamp(stamp / 1000, UTC)
    return When(moment, moment.date(), True)


def _fees(record: Mapping[str, Any]) -> dict[str, Decimal]:
    """Fees by currency (ccxt gives ``fee`` or a list ``fees``)."""
    found: dict[str, Decimal] = {}
    listed = record.get("fees") or ([record["fee"]] if record.get("fee") else [])
    for fee in listed:
        cost, code = json_number((fee or {}).get("cost")), (fee or {}).get("currency")
        if cost and code:
            found[str(code)] = found.get(str(code), Decimal(0)) + abs(cost)
    return found


def trade_entries(
    ctx: ParseContext, trades: Sequence[Mapping[str, Any]], *, exchange: str, first_line: int = 1
) -> Iterator[ParsedTransaction]:
    """ccxt's unified trades (``fetch_my_trades``) as entries."""
    for line, trade in enumerate(trades, start=first_line):
        when, symbol = _when(trade), str(trade.get("symbol") or "")
        side, trade_id = trade.get("side"), trade.get("id")
        amount, cost = json_number(trade.get("amount")), json_number(trade.get("cost"))
        if ":" in symbol:
            ctx.notices.skip(line, f"derivative trade {trade_id} on {symbol}: not tracked")
            continue
        if "/" not in symbol or side not in ("buy", "sell") or not trade_id:
            ctx.issues.add(line, "symbol", f"a trade without a pair, side or id: {symbol!r}")
            continue
        if when is None or amount is None or cost is None:
            ctx.issues.add(line, "amount", f"trade {trade_id} has no time, amount or cost")
            continue
        base, quote = symbol.split("/", 1)
        fees = _fees(trade)
        # a fee in a third coin (Binance's BNB): its units consumed, as the exports record it
        paid_in_coin = {c: u for c, u in fees.items() if c not in (base, quote) and not is_fiat(c)}
        fees = {c: u for c, u in fees.items() if c not in paid_in_coin}
        for coin, units in paid_in_coin.items():
            consumed = build_entry(
                ctx.issues,
                line,
                T.SELL,
                when,
                symbol=coin,
                asset_type=CRYPTO,
                quantity=units,
                price=Decimal(0),
                currency=None,
                external_id=str(trade_id),
                description=f"trading fee of trade {trade_id} ({symbol}) paid in {coin}",
                leg=f"fee:{coin}",
            )
            if consumed is not None:
                yield consumed
        swap = (
            Swap(quote, abs(cost), base, abs(amount), fees)
            if side == "buy"
            else Swap(base, abs(amount), quote, abs(cost), fees)
        )
        yield from swap_entries(
            ctx,
            line,
            when,
            swap,
            exchange=exchange,
            external_id=str(trade_id),
            quote=None if is_fiat(quote) else quote,
            column="amount",
        )


def transfer_entries(
    ctx: ParseContext, records: Sequence[Mapping[str, Any]], *, first_line: int = 1
) -> Iterator[ParsedTransaction]:
    """ccxt's unified deposits and withdrawals (``fetch_deposits``,
    ``fetch_withdrawals``) as entries; only completed ones (status ``ok``)."""
    for line, record in enumerate(records, start=first_line):
        kind, status, record_id = record.get("type"), record.get("status"), record.get("id")
        code, when = str(record.get("currency") or ""), _when(record)
        amount = json_number(record.get("amount"))
        if status != "ok":
            ctx.notices.skip(line, f"{kind} {record_id} is {status or 'of unknown status'}")
            continue
        if kind not in ("deposit", "withdrawal") or not code or not record_id:
            ctx.issues.add(line, "type", f"a transfer without a kind, currency or id: {kind!r}")
            continue
        if when is None or amount is None:
            ctx.issues.add(line, "amount", f"{kind} {record_id} has no time or amount")
            continue
        fee = _fees(record).get(code, Decimal(0))
        incoming = kind == "deposit"
        external = f"{kind}:{record_id}"
        coin_fee = Decimal(0) if is_fiat(code) else fee  # a fiat fee is its own entry
        units = abs(amount) - coin_fee if incoming else abs(amount) + coin_fee
        note = f"network fee {fee} {code} included" if coin_fee else None
        built = [money_move(ctx, line, when, code, units, incoming=incoming, external_id=external,
                            description=note)]  # fmt: skip
        if fee and is_fiat(code):
            built.append(
                build_entry(
                    ctx.issues,
                    line,
                    T.FEE,
                    when,
                    amount=fee,
                    currency=code,
                    external_id=external,
                    description=f"{kind} fee",
                    leg="fee",
                )
            )
        for entry in built:
            if entry is not None:
                yield entry


def money_move(
    ctx: ParseContext,
    line: int,
    when: When,
    code: str,
    units: Decimal,
    *,
    incoming: bool,
    external_id: str,
    description: str | None = None,
) -> ParsedTransaction | None:
    """Cash in or out (a fiat ``code``), or units of a coin in or out of the account."""
    if is_fiat(code):
        kind = T.DEPOSIT if incoming else T.WITHDRAWAL
        return build_entry(
            ctx.issues,
            line,
            kind,
            when,
            amount=units,
            currency=code,
            external_id=external_id,
            description=description,
            column="amount",
        )
    return build_entry(ctx.issues, line, T.TRANSFER_IN if incoming else T.TRANSFER_OUT, when,
                       symbol=code, asset_type=CRYPTO, quantity=units, external_id=external_id,
                       description=description, column="amount")  # fmt: skip
