"""Binance's other exports: Auto-Invest history, spot trade history, and deposit and
withdrawal history (CSV). All times are UTC. Trades are recorded as the statement's are
(:func:`quantdesk.importers.binance_statement.exchange_entries`).

**Auto-Invest** (``binance-auto-invest``): ``Auto-Invest Date(UTC),Holding Coin,Amount per
period,Trading Fee,Units,From,Status``, values with unit suffixes (``10.00000000 USDT``),
dates ``M/D/YYYY H:MM``. A successful period buys ``Units`` of the holding coin for
``Amount per period`` of the unit coin (the trading fee is taken out of that amount),
recorded as the statement's trades are; ``From`` names the wallet the money came from. Other
statuses are skipped.

**Trade history** (``binance-trades``): ``Date(UTC),Pair,Side,Price,Executed,Amount,Fee``
(executed, amount and fee with coin suffixes: ``0.5BTC``) and ``Date(UTC),Market,Type,
Price,Amount,Total,Fee,Fee Coin``. The pair is split into base and quote by the longest
known quote asset at its end; amounts are gross and the fee separate, as in the statement.

**Deposit / withdrawal history** (``binance-deposits``, ``binance-withdrawals``):
``Date(UTC+0),Coin,Network,Amount,Address,TXID,Status`` (withdrawals add ``Fee``). A
completed deposit is a ``transfer_in`` of the coin (``deposit`` of fiat); a completed
withdrawal a ``transfer_out`` of the amount plus the network fee (both leave the account;
the fee's units are not a trading cost) or a fiat ``withdrawal``. The TXID is the entry's
id. Other statuses are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantdesk.domain.money import ZERO
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.binance_statement import PAIR_QUOTES, exchange_entries
from quantdesk.importers.cells import number_with_unit
from quantdesk.importers.crypto import CRYPTO, FIAT
from quantdesk.importers.table import ParseContext, Records, Table

# Auto-Invest -------------------------------------------------------------------------
AUTO_INVEST_COLUMNS = (
    "Auto-Invest Date(UTC)",
    "Holding Coin",
    "Amount per period",
    "Trading Fee",
    "Units",
    "From",
    "Status",
)
_SUCCESS = frozenset({"success", "successful", "completed", "filled"})


def parse_auto_invest(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    for row in table.rows():
        status = row.text("status")
        when = row.when("auto_invest_date_utc", order="mdy")
        coin = row.text("holding_coin").upper()
        amount = row.parsed("amount_per_period", number_with_unit)
        fee = row.parsed("trading_fee", number_with_unit)
        units = row.parsed("units", number_with_unit)
        if not row.ok or when is None:
            continue
        if status.lower() not in _SUCCESS:
            row.skip(f"auto-invest period with status {status!r}: nothing was bought")
            continue
        if not coin:
            row.fail("holding_coin", "holding coin is empty")
            continue
        paid, paid_coin = amount if amount is not None else (ZERO, None)
        if paid_coin is None:
            row.fail("amount_per_period", "the amount needs its coin (e.g. '10 USDT')")
            continue
        if units is None or units[0] <= 0:
            row.fail("units", "a successful period needs the units bought")
            continue
        if units[1] not in (None, coin):
            row.fail("units", f"units in {units[1]}, but the holding coin is {coin}")
            continue
        fee_quantity, charged_in = fee if fee is not None else (ZERO, None)
        fee_coin = charged_in or paid_coin
        source = row.text("from")
        description = "Auto-Invest" + (f" from {source}" if source else "")
        if fee_coin == paid_coin:
            gross, fees = paid - fee_quantity, {paid_coin: fee_quantity}
        else:
            gross, fees = paid, {fee_coin: fee_quantity}
        yield from exchange_entries(
            table.ctx.issues,
            row.line,
            when,
            paid_coin,
            gross,
            coin,
            units[0],
            fees,
            description=description,
        )


# Trade history -----------------------------------------------------------------------
TRADES_COLUMNS = ("Date(UTC)", "Pair", "Side", "Price", "Executed", "Amount", "Fee")
TRADES_MARKET_COLUMNS = (
    "Date(UTC)",
    "Market",
    "Type",
    "Price",
    "Amount",
    "Total",
    "Fee",
    "Fee Coin",
)


def _pair_text(pair: str) -> str:
    return pair.strip().upper().replace("/", "").replace("-", "").replace("_", "")


def split_pair(pair: str) -> tuple[str, str] | None:
    """``BTCUSDT`` as (``BTC``, ``USDT``): the longest known quote asset at the end."""
    text = _pair_text(pair)
    for quote in PAIR_QUOTES:
        if text.endswith(quote) and len(text) > len(quote):
            return text[: -len(quote)], quote
    return None


def parse_trades(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    market_layout = table.has("market")
    for row in table.rows():
        when = row.when("date_utc")
        pair_column = "market" if market_layout else "pair"
        pair_text = row.text(pair_column)
        side = row.text("type" if market_layout else "side").upper()
        if market_layout:
            base_quantity = row.required_number("amount")
            quote_quantity = row.required_number("total")
            fee_quantity = row.number("fee") or ZERO
            fee_coin = row.text("fee_coin").upper() or None
            units: tuple[str | None, str | None] = (None, None)
        else:
            executed = row.parsed("executed", number_with_unit)
            total = row.parsed("amount", number_with_unit)
            charged = row.parsed("fee", number_with_unit)
            base_quantity = executed[0] if executed else None
            quote_quantity = total[0] if total else None
            fee_quantity, fee_coin = charged if charged else (ZERO, None)
            units = (executed[1] if executed else None, total[1] if total else None)
            if row.ok and (base_quantity is None or quote_quantity is None):
                row.fail(("executed", "amount"), "executed and amount are required")
        if not row.ok or when is None or base_quantity is None or quote_quantity is None:
            continue
        base, quote = units
        if base is None or quote is None:
            split = split_pair(pair_text)
            if split is None:
                row.fail(pair_column, f"cannot split the pair {pair_text!r} into base and quote")
                continue
            base, quote = base or split[0], quote or split[1]
        if _pair_text(pair_text) != base + quote:
            row.fail(pair_column, f"the pair {pair_text!r} is not {base} and {quote}")
            continue
        if side not in ("BUY", "SELL"):
            row.fail("type" if market_layout else "side", f"unknown side {side!r}")
            continue
        if fee_quantity and fee_coin is None:
            row.fail("fee_coin" if market_layout else "fee", "the fee needs its coin")
            continue
        fees = {fee_coin: abs(fee_quantity)} if fee_coin and fee_quantity else {}
        buying = side == "BUY"
        yield from exchange_entries(
            table.ctx.issues,
            row.line,
            when,
            quote if buying else base,
            abs(quote_quantity) if buying else abs(base_quantity),
            base if buying else quote,
            abs(base_quantity) if buying else abs(quote_quantity),
            fees,
            description=f"{side.lower()} {base}/{quote}",
        )


# Deposit and withdrawal history -------------------------------------------------------
DEPOSIT_COLUMNS = ("Date(UTC+0)", "Coin", "Network", "Amount", "Address", "TXID", "Status")
WITHDRAWAL_COLUMNS = (*DEPOSIT_COLUMNS, "Fee")
_DONE = frozenset({"completed", "success", "successful", "confirmed"})


def parse_deposits(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    yield from _movements(header, records, ctx, incoming=True)


def parse_withdrawals(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    yield from _movements(header, records, ctx, incoming=False)


def _movements(
    header: list[str], records: Records, ctx: ParseContext, *, incoming: bool
) -> Iterator[ParsedTransaction]:
    """Deposits (``transfer_in`` of a coin, ``deposit`` of fiat) or withdrawals
    (``transfer_out`` of the amount plus the network fee, both leaving the account, or a
    fiat ``withdrawal``); the transaction id is the entry's id."""
    table = Table(header, records, ctx)
    for row in table.rows():
        when = row.when("date_utc_0")
        coin = row.text("coin").upper()
        amount = row.required_number("amount")
        fee = ZERO if incoming else (row.number("fee") or ZERO)
        status = row.text("status")
        if not row.ok or when is None or amount is None:
            continue
        if status.lower() not in _DONE:
            row.skip(f"{'deposit' if incoming else 'withdrawal'} with status {status!r}")
            continue
        if not coin:
            row.fail("coin", "coin is empty")
            continue
        network = row.text("network")
        what = ("deposit" if incoming else "withdrawal") + (f" via {network}" if network else "")
        txid = row.value("txid")
        if coin in FIAT:
            entry = row.entry(
                T.DEPOSIT if incoming else T.WITHDRAWAL,
                when,
                amount=abs(amount) + abs(fee),
                currency=coin,
                external_id=txid,
                description=what,
                column="amount",
            )
        else:
            if fee:
                what += f" (network fee {abs(fee)} {coin} included)"
            entry = row.entry(
                T.TRANSFER_IN if incoming else T.TRANSFER_OUT,
                when,
                symbol=coin,
                asset_type=CRYPTO,
                quantity=abs(amount) + abs(fee),
                external_id=txid,
                description=what,
                column="amount",
            )
        if entry is not None:
            yield entry
