"""Coinbase exports: the retail app's "Transaction history" CSV and the Coinbase Pro
(Exchange, Advanced) fills and account statements.

Retail report, every header vintage (the registry skips its preamble of disclaimer,
``Transactions`` and ``User,...`` lines):

- 2024+: ``ID,Timestamp,Transaction Type,Asset,Quantity Transacted,Price Currency,
  Price at Transaction,Subtotal,Total (inclusive of fees and/or spread),Fees and/or
  Spread,Notes``, money cells with currency symbols (``€3343.11``), signed quantities;
- 2021-23: the same without ``ID`` and with ``Spot Price Currency``/``Spot Price at
  Transaction``; older: ``Total (inclusive of fees)`` and ``Fees``;
- 2017-era: the currency inside the header names (``CAD Spot Price at Transaction``,
  ``CAD Amount Transacted (Inclusive of Coinbase Fees)``) and an ``Address`` column.

Buys and sells are priced from the Total (what was paid or received) and the fee, so the
cash they move is exactly Coinbase's; a Convert is two linked conversion legs (the asset
received and its quantity come from Notes ``Converted 0.1 BTC to 156.1 XRP``) valued at
the Total (the value given up, spread included) in the price currency; rewards are
staking rewards valued at their Subtotal. ETH2 is Coinbase's (and Kraken's) staked ETH,
redeemable 1:1: it is booked as ETH, so the ETH to ETH2 Convert and the ETH2 migration
move no units.

Pro fills: one row per fill, ``product`` ``BASE-QUOTE``; a fiat quote makes a buy or a
sell in that currency, a crypto quote (``ETH-BTC``, ``ETH-USDC``) a conversion valued in
the quote asset. Pro account statements: ``match`` rows (one per currency) and the
``fee`` row of one trade share a ``trade id`` and become one trade.

Fees paid in a coin are folded into its units (a buy gets the net units, a sale or a
conversion gives up the units and the fee), so the ledger's holdings equal the
exchange's balances; a buy's or sale's coin fee is also stated in ``fees`` at the trade
price.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.money import ZERO, derived
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import header_key, number
from quantdesk.importers.crypto import CRYPTO, is_fiat, quote_of
from quantdesk.importers.dates import When
from quantdesk.importers.format import Format, sig
from quantdesk.importers.table import (
    ParseContext,
    Records,
    Row,
    Table,
    build_entry,
    conversion_legs,
)

#: Staked ETH of the Eth2 programme, redeemable 1:1: booked as ETH.
ALIASES = {"ETH2": "ETH"}


@dataclass(slots=True)
class Swap:
    """One trade as the units that left and arrived (both before fees), and the fees
    by asset (positive units)."""

    out_asset: str
    out_units: Decimal
    in_asset: str
    in_units: Decimal
    fees: dict[str, Decimal] = field(default_factory=dict)


def swap_entries(
    ctx: ParseContext,
    line: int,
    when: When,
    swap: Swap,
    *,
    exchange: str,
    external_id: str | None,
    description: str | None = None,
    quote: str | None = None,
    column: str | None = None,
) -> list[ParsedTransaction]:
    """A buy (fiat given), a sale (fiat received) or two linked conversion legs (coin
    for coin, valued in ``quote``); an issue (and nothing) when the trade cannot be."""
    issues = ctx.issues
    out, got = swap.out_asset, swap.in_asset
    out_fee = swap.fees.get(out, ZERO)
    in_fee = swap.fees.get(got, ZERO)
    entries: list[ParsedTransaction] = []
    for asset, units in swap.fees.items():
        if asset in (out, got) or not units:
            continue
        if not is_fiat(asset):
            issues.add(line, column, f"a fee of {units} {asset}, neither asset of the trade")
            return []
        fee = build_entry(
            issues,
            line,
            T.FEE,
            when,
            amount=units,
            currency=asset,
            external_id=external_id,
            description=f"trading fee of {exchange} trade {external_id}",
            leg=f"fee-{asset}",
            column=column,
        )
        if fee is not None:
            entries.append(fee)
    if swap.out_units <= 0 or swap.in_units <= 0:
        issues.add(line, column, f"a trade of {swap.out_units} {out} for {swap.in_units} {got}")
        return []
    if is_fiat(out) and is_fiat(got):
        ctx.notices.resolve(
            line,
            None,
            f"currency exchange of {swap.out_units} {out} for {swap.in_units} {got}: not "
            "recorded; enter it as a withdrawal and a deposit",
        )
        return []
    fee_text = ", ".join(f"{units} {asset}" for asset, units in swap.fees.items() if units)
    text = description
    if is_fiat(out) or is_fiat(got):
        if is_fiat(out):  # a buy: the coin's fee comes off the units received
            kind, symbol, currency = T.BUY, got, out
            price = derived(swap.out_units / swap.in_units)
            quantity = swap.in_units - in_fee
            fees = out_fee + in_fee * price
        else:  # a sale: the coin's fee leaves with the units sold
            kind, symbol, currency = T.SELL, out, got
            price = derived(swap.in_units / swap.out_units)
            quantity = swap.out_units + out_fee
            fees = in_fee + out_fee * price
        if quantity <= 0:
            issues.add(line, column, f"the fee of {in_fee} {got} is all of the units bought")
            return []
        entry = build_entry(
            issues,
            line,
            kind,
            when,
            symbol=symbol,
            asset_type=CRYPTO,
            quantity=quantity,
            price=price,
            fees=derived(fees),
            currency=currency,
            external_id=external_id,
            description=text,
            column=column,
        )
        return [*entries, entry] if entry is not None else []
    quote = quote or quote_of(out, got)
    give = swap.out_units + out_fee
    get = swap.in_units - in_fee
    if get <= 0:
        issues.add(line, column, f"the fee of {in_fee} {got} is all of the units received")
        return []
    value = give if quote == out else get if quote == got else swap.out_units
    if fee_text:
        text = f"{text}; " if text else ""
        text += f"fee of {fee_text} included in the units"
    legs = conversion_legs(
        issues,
        line,
        when,
        given=(out, give),
        received=(got, get),
        value=value,
        currency=quote,
        link=f"{exchange}:{external_id or line}",
        external_id=external_id,
        description=text,
        column=column,
    )
    return [*entries, *legs] if legs else []


# --- retail "Transaction history" ------------------------------------------------------

RETAIL_COLUMNS = (
    "ID",
    "Timestamp",
    "Transaction Type",
    "Asset",
    "Quantity Transacted",
    "Price Currency",
    "Spot Price Currency",
    "Price at Transaction",
    "Spot Price at Transaction",
    "Subtotal",
    "Total (inclusive of fees and/or spread)",
    "Total (inclusive of fees)",
    "Fees and/or Spread",
    "Fees",
    "Notes",
    "Address",
)
_BASE = ("Timestamp", "Transaction Type", "Asset", "Quantity Transacted")
#: The 2017-era report names its currency in two headers; these are the ones known.
_OLD_CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "CHF", "SGD", "JPY")
_BUY = frozenset({"buy", "advanced trade buy", "advance trade buy"})
_SELL = frozenset({"sell", "advanced trade sell", "advance trade sell"})
_REWARDS = frozenset(
    {
        "staking income",
        "reward income",
        "rewards income",
        "learning reward",
        "coinbase earn",
        "inflation reward",
        "staking reward",
    }
)
_INTERNAL = frozenset(
    {"retail staking transfer", "retail unstaking transfer", "retail eth2 deprecation"}
)
_DEPOSIT = frozenset({"deposit", "pro withdrawal", "exchange withdrawal"})
_WITHDRAWAL = frozenset({"withdrawal", "pro deposit", "exchange deposit"})
_CONVERTED = re.compile(
    r"Converted\s+([\d.,]+(?:[eE]-?\d+)?)\s+(\S+)\s+to\s+([\d.,]+(?:[eE]-?\d+)?)\s+(\S+)"
)
_OLD_PRICE = re.compile(r"^([A-Za-z]{3}) Spot Price at Transaction$")


def ticker(code: str) -> str:
    code = code.strip().upper()
    return ALIASES.get(code, code)


def parse_retail(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    old_currency = None
    for name in table.names:
        found = _OLD_PRICE.match(name)
        if found:
            old_currency = found[1].upper()
    seen: dict[str, int] = {}
    for row in table.rows():
        ident = row.value("id")
        if ident is not None:
            if ident in seen:
                row.skip(f"a second row with the ID of line {seen[ident]} (a duplicate)")
                continue
            seen[ident] = row.line
        yield from _retail(row, ident, old_currency)


def _retail(row: Row, ident: str | None, old_currency: str | None) -> Iterator[ParsedTransaction]:
    kind = row.text("transaction_type").lower()
    when = row.when("timestamp")
    asset = ticker(row.text("asset"))
    quantity = row.number("quantity_transacted")
    if old_currency is not None:
        currency = old_currency
        total = row.number(
            header_key(f"{old_currency} Amount Transacted (Inclusive of Coinbase Fees)")
        )
        subtotal, fees = None, ZERO
        spot = row.number(header_key(f"{old_currency} Spot Price at Transaction"))
    else:
        currency = row.text("price_currency", "spot_price_currency").upper()
        spot = row.number("price_at_transaction", "spot_price_at_transaction")
        subtotal = row.number("subtotal")
        total = row.number("total_inclusive_of_fees_and_or_spread", "total_inclusive_of_fees")
        fees = abs(row.number("fees_and_or_spread", "fees") or ZERO)
    notes = row.text("notes") or None
    if when is None or not row.ok:
        return
    if kind in _INTERNAL:
        row.skip("move between Coinbase's own staking wallets (internal)")
        return
    if not asset:
        row.fail("asset", "the asset is empty")
        return
    if quantity is None or quantity == 0:
        row.fail("quantity_transacted", "a quantity is needed")
        return
    units = abs(quantity)
    value = abs(total) if total is not None else None
    entry: ParsedTransaction | None
    if kind in _BUY or kind in _SELL:
        if value is None and subtotal is not None:
            value = abs(subtotal) + (fees if kind in _BUY else -fees)
        entry = row.entry(
            T.BUY if kind in _BUY else T.SELL,
            when,
            symbol=asset,
            asset_type=CRYPTO,
            quantity=units,
            fees=fees,
            amount=value,
            currency=currency,
            external_id=ident,
            description=notes,
            column=(
                "total_inclusive_of_fees_and_or_spread",
                "total_inclusive_of_fees",
                "quantity_transacted",
            ),
        )
    elif kind == "convert":
        yield from _convert(row, when, asset, units, value, subtotal, spot, currency, ident, notes)
        return
    elif kind in _REWARDS or (kind == "receive" and notes and " from coinbase" in notes.lower()):
        worth = abs(subtotal) if subtotal is not None else value
        if worth is None and spot is not None:
            worth = derived(units * spot)
        entry = row.entry(
            T.STAKING_REWARD,
            when,
            symbol=asset,
            asset_type=CRYPTO,
            quantity=units,
            amount=worth,
            currency=currency,
            external_id=ident,
            description=notes,
            column="quantity_transacted",
        )
    elif kind in ("send", "receive"):
        text = notes
        if fees:
            text = f"{notes or kind}; network fee {fees} {currency} (not in the units)"
        entry = row.entry(
            T.TRANSFER_OUT if kind == "send" else T.TRANSFER_IN,
            when,
            symbol=asset,
            asset_type=CRYPTO,
            quantity=units,
            currency=currency,
            external_id=ident,
            description=text,
            column="quantity_transacted",
        )
    elif kind in _DEPOSIT or kind in _WITHDRAWAL:
        incoming = kind in _DEPOSIT
        if is_fiat(asset):
            entry = row.entry(
                T.DEPOSIT if incoming else T.WITHDRAWAL,
                when,
                amount=units,
                currency=asset,
                external_id=ident,
                description=notes,
                column="quantity_transacted",
            )
            if fees and entry is not None:
                fee = row.entry(
                    T.FEE,
                    when,
                    amount=fees,
                    currency=currency or asset,
                    external_id=ident,
                    description=f"fee of the {kind}",
                    leg="fee",
                )
                if fee is not None:
                    yield fee
        else:
            entry = row.entry(
                T.TRANSFER_IN if incoming else T.TRANSFER_OUT,
                when,
                symbol=asset,
                asset_type=CRYPTO,
                quantity=units,
                currency=currency,
                external_id=ident,
                description=notes,
                column="quantity_transacted",
            )
    else:
        row.fail(
            "transaction_type",
            f"unknown Coinbase transaction type {row.text('transaction_type')!r}",
        )
        return
    if entry is not None:
        yield entry


def _convert(
    row: Row,
    when: When,
    asset: str,
    units: Decimal,
    total: Decimal | None,
    subtotal: Decimal | None,
    spot: Decimal | None,
    currency: str,
    ident: str | None,
    notes: str | None,
) -> Iterator[ParsedTransaction]:
    """Two conversion legs, valued at what was given up (the Total, spread included)."""
    found = _CONVERTED.search(notes or "")
    if found is None:
        row.fail("notes", "a Convert needs 'Converted QTY ASSET to QTY ASSET' in Notes")
        return
    try:
        got = number(found[3])
    except InvalidInput as error:
        row.fail("notes", str(error))
        return
    target = ticker(found[4])
    if ticker(found[2]) != asset:
        row.fail("notes", f"Notes convert {found[2]}, the row's asset is {asset}")
        return
    if target == asset:
        row.skip(f"conversion of {asset} to its staked form (same coin, no units move)")
        return
    value = total if total is not None else abs(subtotal) if subtotal is not None else None
    if value is None and spot is not None:
        value = units * spot
    if value is None or not currency:
        row.fail("subtotal", "a Convert needs its value (Total, Subtotal or the spot price)")
        return
    yield from conversion_legs(
        row.table.ctx.issues,
        row.line,
        when,
        given=(asset, units),
        received=(target, got),
        value=value,
        currency=currency,
        link=f"coinbase:{ident or row.line}",
        external_id=ident,
        description=notes,
        column=row.column("notes"),
    )


# --- Coinbase Pro / Exchange fills -------------------------------------------------------

FILLS_COLUMNS = (
    "portfolio",
    "trade id",
    "product",
    "side",
    "created at",
    "size",
    "size unit",
    "price",
    "fee",
    "total",
    "price/fee/total unit",
)


def parse_fills(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    for row in table.rows():
        yield from _fill(row, ctx)


def _fill(row: Row, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    product = row.text("product").upper()
    side = row.text("side").upper()
    when = row.when("created_at")
    size = row.required_number("size")
    price = row.required_number("price")
    fee = abs(row.number("fee") or ZERO)
    unit = row.text("price_fee_total_unit").upper()
    trade = row.text("trade_id")
    base, dash, quote = product.partition("-")
    if not dash or not base or not quote:
        row.fail("product", f"product {product!r} is not BASE-QUOTE")
    elif unit and unit != quote:
        row.fail("price_fee_total_unit", f"unit {unit} is not the quote of {product}")
    if side not in ("BUY", "SELL"):
        row.fail("side", f"unknown side {side!r} (BUY or SELL)")
    if not trade:
        row.fail("trade_id", "a fill needs its trade id")
    if when is None or size is None or price is None or not row.ok:
        return
    base, quote = ticker(base), ticker(quote)
    cost = size * price
    if side == "BUY":
        swap = Swap(quote, cost, base, size, {quote: fee})
    else:
        swap = Swap(base, size, quote, cost, {quote: fee})
    yield from swap_entries(
        ctx,
        row.line,
        when,
        swap,
        exchange="coinbase-pro",
        external_id=f"{base}-{quote}:{trade}",
        quote=quote,
        column=row.column("size"),
    )


# --- Coinbase Pro / Exchange account statement ----------------------------------------------

ACCOUNT_COLUMNS = (
    "portfolio",
    "type",
    "time",
    "timestamp",
    "amount",
    "balance",
    "amount/balance unit",
    "transfer id",
    "trade id",
    "order id",
)


@dataclass(slots=True)
class _Leg:
    row: Row
    when: When
    kind: str
    unit: str
    amount: Decimal


def parse_account(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    trades: dict[str, list[_Leg]] = {}
    order: list[tuple[str, _Leg]] = []
    for row in table.rows():
        kind = row.text("type").lower()
        when = row.when("time", "timestamp")
        amount = row.required_number("amount")
        unit = ticker(row.text("amount_balance_unit"))
        if not unit:
            row.fail("amount_balance_unit", "the unit is empty")
        if when is None or amount is None or not row.ok:
            continue
        leg = _Leg(row, when, kind, unit, amount)
        if kind in ("match", "fee"):
            trade = row.text("trade_id")
            if not trade:
                row.fail("trade_id", f"a {kind} row needs its trade id")
                continue
            if trade not in trades:
                trades[trade] = []
                order.append((trade, leg))
            trades[trade].append(leg)
        else:
            order.append(("", leg))
    for trade, leg in order:
        if trade:
            yield from _account_trade(ctx, trade, trades[trade])
        else:
            yield from _account_move(leg)


def _account_move(leg: _Leg) -> Iterator[ParsedTransaction]:
    row, kind = leg.row, leg.kind
    ident = row.value("transfer_id")
    if kind not in ("deposit", "withdrawal"):
        row.fail("type", f"unknown Coinbase Pro statement type {row.text('type')!r}")
        return
    incoming = kind == "deposit"
    if is_fiat(leg.unit):
        entry = row.entry(
            T.DEPOSIT if incoming else T.WITHDRAWAL,
            leg.when,
            amount=leg.amount,
            currency=leg.unit,
            external_id=ident,
            column="amount",
        )
    else:
        entry = row.entry(
            T.TRANSFER_IN if incoming else T.TRANSFER_OUT,
            leg.when,
            symbol=leg.unit,
            asset_type=CRYPTO,
            quantity=abs(leg.amount),
            external_id=ident,
            column="amount",
        )
    if entry is not None:
        yield entry


def _account_trade(ctx: ParseContext, trade: str, legs: list[_Leg]) -> Iterator[ParsedTransaction]:
    first = legs[0]
    moved: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    for leg in legs:
        if leg.kind == "match":
            moved[leg.unit] = moved.get(leg.unit, ZERO) + leg.amount
        else:
            fees[leg.unit] = fees.get(leg.unit, ZERO) - leg.amount
    outs = [unit for unit, amount in moved.items() if amount < 0]
    ins = [unit for unit, amount in moved.items() if amount > 0]
    if len(outs) != 1 or len(ins) != 1:
        first.row.fail("trade_id", f"trade {trade} does not move one unit out and one in")
        return
    out, got = outs[0], ins[0]
    quote = out if is_fiat(out) else got if is_fiat(got) else quote_of(out, got)
    base = got if quote == out else out
    yield from swap_entries(
        ctx,
        first.row.line,
        first.when,
        Swap(out, -moved[out], got, moved[got], fees),
        exchange="coinbase-pro",
        external_id=f"{base}-{quote}:{trade}",
        quote=quote,
        column=first.row.column("amount"),
    )


FORMATS = (
    Format(
        name="coinbase",
        title='Coinbase "Transaction history" report (CSV)',
        kind="csv",
        columns=RETAIL_COLUMNS,
        signatures=(
            sig(
                "ID",
                *_BASE,
                "Price Currency",
                "Price at Transaction",
                "Subtotal",
                "Total (inclusive of fees and/or spread)",
                "Fees and/or Spread",
                "Notes",
            ),
            sig(
                *_BASE,
                "Spot Price Currency",
                "Spot Price at Transaction",
                "Subtotal",
                "Total (inclusive of fees and/or spread)",
                "Fees and/or Spread",
                "Notes",
            ),
            sig(
                *_BASE,
                "Spot Price Currency",
                "Spot Price at Transaction",
                "Subtotal",
                "Total (inclusive of fees)",
                "Fees",
                "Notes",
            ),
            *(
                sig(
                    *_BASE,
                    f"{code} Spot Price at Transaction",
                    f"{code} Amount Transacted (Inclusive of Coinbase Fees)",
                    "Address",
                    "Notes",
                )
                for code in _OLD_CURRENCIES
            ),
        ),
        csv_parser=parse_retail,
        notes="all header vintages; Convert from Notes; ETH2 booked as ETH",
    ),
    Format(
        name="coinbase-pro-fills",
        title="Coinbase Advanced Trade / Exchange (formerly Pro) fills report (CSV)",
        kind="csv",
        columns=FILLS_COLUMNS,
        signatures=(
            sig(
                "trade id",
                "product",
                "side",
                "created at",
                "size",
                "size unit",
                "price",
                "fee",
                "total",
                "price/fee/total unit",
            ),
        ),
        csv_parser=parse_fills,
        notes="fiat quote: buy/sell; crypto quote: conversion valued in the quote",
    ),
    Format(
        name="coinbase-pro-account",
        title="Coinbase Pro / Exchange account statement (CSV)",
        kind="csv",
        columns=ACCOUNT_COLUMNS,
        signatures=(
            sig(
                "type",
                "time",
                "amount",
                "balance",
                "amount/balance unit",
                "transfer id",
                "trade id",
                "order id",
            ),
            sig(
                "type",
                "timestamp",
                "amount",
                "balance",
                "amount/balance unit",
                "transfer id",
                "trade id",
                "order id",
            ),
        ),
        csv_parser=parse_account,
        notes="match and fee rows grouped by trade id",
    ),
)
