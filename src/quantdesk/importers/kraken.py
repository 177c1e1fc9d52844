"""Kraken exports: ledgers.csv (the source of truth) and trades.csv.

ledgers.csv, every vintage: legacy ``txid,refid,time,type,subtype,aclass,asset,amount,
fee,balance``; 2024+ with ``subclass`` and ``wallet``; with ``wallet`` but no
``subclass``. ``amount`` is the signed gross change, ``fee`` (in the row's asset) comes
off it, ``balance`` is the wallet's balance after the row. Rows with an empty ``txid``
are the pending duplicates of deposits and withdrawals: skipped. The legs of a trade
(``trade``, or an instant-buy's ``spend`` + ``receive``) share a ``refid`` and become one
buy or sale (a fiat leg) or two linked conversion legs (coin for coin). The ``refid`` of a
trade is its trades.csv ``txid``, and both files give the trade that external id.

Import ledgers.csv. trades.csv is for users who only have it (it has no deposits,
withdrawals or rewards); importing both files of one account does not double-count the
trades (same external id, type and instrument), but prefer ledgers.csv alone.

Kraken's asset codes become tickers (``XXBT``/``XBT`` BTC, ``XXDG`` DOGE, ``ZEUR`` EUR, ...)
and the staking wallets' suffixes (``.S`` ``.M`` ``.F`` ``.B`` ``.P``, bonded ``DOT28.S``)
are dropped, so staked coins are the coin itself; ETH2 (staked ETH, redeemable 1:1) is
ETH. Moves between Kraken's own wallets (``transfer``, earn allocations) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from quantdesk.domain.money import ZERO
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.coinbase import Swap, swap_entries
from quantdesk.importers.crypto import CRYPTO, is_fiat
from quantdesk.importers.dates import When
from quantdesk.importers.format import Format, sig
from quantdesk.importers.table import ParseContext, Records, Row, Table

#: Kraken's own asset codes that are not the ticker.
ASSETS = {
    "XXBT": "BTC",
    "XBT": "BTC",
    "XBT.M": "BTC",
    "XETH": "ETH",
    "ETH2": "ETH",
    "XXDG": "DOGE",
    "XDG": "DOGE",
    "XLTC": "LTC",
    "XXRP": "XRP",
    "XXLM": "XLM",
    "XXMR": "XMR",
    "XZEC": "ZEC",
    "XETC": "ETC",
    "XREP": "REP",
    "XMLN": "MLN",
    "XXTZ": "XTZ",
    "ZEUR": "EUR",
    "ZUSD": "USD",
    "ZGBP": "GBP",
    "ZCAD": "CAD",
    "ZJPY": "JPY",
    "ZAUD": "AUD",
    "ZCHF": "CHF",
}
#: Bonded staking assets name their lock-up in days (``DOT28.S``).
BONDED = {"DOT28": "DOT", "KSM07": "KSM", "ATOM21": "ATOM", "FLOW14": "FLOW", "SCRT21": "SCRT"}
SUFFIXES = (".S", ".M", ".F", ".B", ".P")
#: Quote assets of Kraken pairs, longest first (``XXBTZEUR``, ``XBTUSDC``, ``ETHXBT``).
QUOTES = sorted(
    (
        *("ZEUR", "ZUSD", "ZGBP", "ZCAD", "ZJPY", "ZAUD", "ZCHF", "XXBT", "XETH"),
        *("PYUSD", "USDT", "USDC", "DAI", "EUR", "USD", "GBP", "CAD", "JPY", "AUD", "CHF"),
        *("XBT", "ETH", "DOT"),
    ),
    key=len,
    reverse=True,
)
_REWARD_TYPES = frozenset({"staking", "reward", "dividend"})
_INTERNAL_TRANSFERS = frozenset(
    {
        "spottostaking",
        "stakingfromspot",
        "stakingtospot",
        "spotfromstaking",
        "spotfromfutures",
        "spottofutures",
        "spottoearn",
        "earnfromspot",
    }
)
_EARN_INTERNAL = frozenset({"allocation", "deallocation", "migration", "autoallocation"})
_REVIEW = frozenset({"margin", "rollover", "settled", "adjustment", "invite bonus", "airdrop"})


def ticker(code: str) -> str:
    """The ticker of a Kraken asset code, without its staking wallet's suffix."""
    code = code.strip().upper()
    for suffix in SUFFIXES:
        if code.endswith(suffix):
            code = code[: -len(suffix)]
            code = BONDED.get(code, code)
            break
    return ASSETS.get(code, code)


def split_pair(pair: str) -> tuple[str, str] | None:
    """Base and quote tickers of a Kraken pair (``XXBTZEUR``, ``XBTUSDC``, ``SOL/EUR``)."""
    pair = pair.strip().upper()
    if "/" in pair:
        base, _, quote = pair.partition("/")
        return (ticker(base), ticker(quote)) if base and quote else None
    for quote in QUOTES:
        if pair.endswith(quote) and len(pair) > len(quote):
            return ticker(pair[: -len(quote)]), ticker(quote)
    return None


# --- ledgers.csv ------------------------------------------------------------------------

LEDGER_COLUMNS = (
    "txid",
    "refid",
    "time",
    "type",
    "subtype",
    "aclass",
    "subclass",
    "asset",
    "wallet",
    "amount",
    "fee",
    "balance",
    "amountusd",
)


@dataclass(slots=True)
class _Entry:
    row: Row
    when: When
    txid: str
    refid: str
    kind: str
    subtype: str
    asset: str
    amount: Decimal
    fee: Decimal


def parse_ledgers(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    groups: dict[str, list[_Entry]] = {}
    order: list[tuple[bool, _Entry]] = []
    for row in table.rows():
        txid = row.text("txid")
        if not txid:
            row.skip("pending duplicate of a deposit or withdrawal (no ledger id yet)")
            continue
        when = row.when("time")
        amount = row.required_number("amount")
        fee = abs(row.number("fee") or ZERO)
        raw = row.text("asset")
        if not raw:
            row.fail("asset", "the asset is empty")
        if when is None or amount is None or not row.ok:
            continue
        kind = row.text("type").lower()
        entry = _Entry(
            row,
            when,
            txid,
            row.text("refid"),
            kind,
            row.text("subtype").lower(),
            ticker(raw),
            amount,
            fee,
        )
        if kind in ("trade", "spend", "receive"):
            key = entry.refid or txid
            if key not in groups:
                groups[key] = []
                order.append((True, entry))
            groups[key].append(entry)
        else:
            order.append((False, entry))
    for grouped, entry in order:
        if grouped:
            yield from _trade(ctx, groups[entry.refid or entry.txid])
        else:
            yield from _single(entry)


def _trade(ctx: ParseContext, legs: list[_Entry]) -> Iterator[ParsedTransaction]:
    """The legs of one trade (by refid) as a buy, a sale or a conversion."""
    first = legs[0]
    moved: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    for leg in legs:
        moved[leg.asset] = moved.get(leg.asset, ZERO) + leg.amount
        if leg.fee:
            fees[leg.asset] = fees.get(leg.asset, ZERO) + leg.fee
    outs = [asset for asset, amount in moved.items() if amount < 0]
    ins = [asset for asset, amount in moved.items() if amount > 0]
    lines = ", ".join(str(leg.row.line) for leg in legs)
    if not outs and not ins:
        first.row.skip(f"trade {first.refid} moves no units once staked forms are the coin")
        return
    if len(outs) + len(ins) == 1:
        (asset,) = outs or ins
        first.row.to_resolve(
            f"trade {first.refid} has one leg only ({moved[asset]} {asset}, fee "
            f"{fees.get(asset, ZERO)}): the other asset's row is not in the file; "
            "not recorded, record the trade yourself"
        )
        return
    if len(outs) != 1 or len(ins) != 1:
        first.row.fail(
            "refid", f"trade {first.refid} (lines {lines}) does not give one asset for another"
        )
        return
    out, got = outs[0], ins[0]
    yield from swap_entries(
        ctx,
        first.row.line,
        first.when,
        Swap(out, -moved[out], got, moved[got], fees),
        exchange="kraken",
        external_id=first.refid,
        column=first.row.column("amount"),
    )


def _single(entry: _Entry) -> Iterator[ParsedTransaction]:
    row, kind, subtype, asset = entry.row, entry.kind, entry.subtype, entry.asset
    when, amount, fee, txid = entry.when, entry.amount, entry.fee, entry.txid
    fiat = is_fiat(asset)
    built: list[ParsedTransaction | None] = []
    if kind in ("deposit", "withdrawal"):
        incoming = kind == "deposit"
        if fiat:
            built.append(
                row.entry(
                    T.DEPOSIT if incoming else T.WITHDRAWAL,
                    when,
                    amount=amount,
                    currency=asset,
                    external_id=txid,
                    column="amount",
                )
            )
            if fee:
                built.append(
                    row.entry(
                        T.FEE,
                        when,
                        amount=fee,
                        currency=asset,
                        external_id=txid,
                        description=f"{kind} fee",
                        leg="fee",
                    )
                )
        else:
            units = abs(amount) - fee if incoming else abs(amount) + fee
            text = f"network fee {fee} {asset} included" if fee else None
            built.append(
                row.entry(
                    T.TRANSFER_IN if incoming else T.TRANSFER_OUT,
                    when,
                    symbol=asset,
                    asset_type=CRYPTO,
                    quantity=units,
                    external_id=txid,
                    description=text,
                    column="amount",
                )
            )
    elif kind in _REWARD_TYPES or (kind == "earn" and subtype == "reward"):
        if amount <= 0:
            row.fail("amount", f"a {kind} reward of {amount}")
            return
        built.append(
            row.entry(
                T.STAKING_REWARD,
                when,
                symbol=asset,
                asset_type=CRYPTO,
                quantity=amount - fee,
                external_id=txid,
                description=f"{kind} reward" + (f" (fee {fee} {asset} deducted)" if fee else ""),
                column="amount",
            )
        )
    elif kind == "transfer" and subtype in _INTERNAL_TRANSFERS:
        row.skip("move between Kraken's own wallets (spot, staking, earn, futures)")
        return
    elif kind == "earn" and subtype in _EARN_INTERNAL:
        row.skip("Kraken Earn allocation between its own wallets (internal)")
        return
    elif kind == "transfer" or kind in _REVIEW:
        row.to_resolve(
            f"Kraken {kind}{f' ({subtype})' if subtype else ''} of {amount} {asset} "
            f"(fee {fee}): not recorded; record what it was (airdrop, fork, margin P&L, "
            "correction) yourself"
        )
        return
    else:
        row.fail("type", f"unknown Kraken ledger type {row.text('type')!r}")
        return
    for item in built:
        if item is not None:
            yield item


# --- trades.csv -------------------------------------------------------------------------

TRADE_COLUMNS = (
    "txid",
    "ordertxid",
    "pair",
    "time",
    "type",
    "ordertype",
    "price",
    "cost",
    "fee",
    "vol",
    "margin",
    "misc",
    "ledgers",
    "postxid",
    "posstatus",
    "cprice",
    "ccost",
    "cfee",
    "cvol",
    "cmargin",
    "net",
    "trades",
    "aclass",
    "subclass",
    "leverage",
    "costusd",
)


def parse_trades(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    for row in table.rows():
        yield from _trade_row(row, ctx)


def _trade_row(row: Row, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    txid = row.text("txid")
    when = row.when("time")
    side = row.text("type").lower()
    pair = row.text("pair")
    cost = row.required_number("cost")
    volume = row.required_number("vol")
    fee = abs(row.number("fee") or ZERO)
    margin = row.number("margin") or ZERO
    split = split_pair(pair)
    if split is None:
        row.fail("pair", f"pair {pair!r} has no known quote asset")
    if side not in ("buy", "sell"):
        row.fail("type", f"unknown side {side!r} (buy or sell)")
    if not txid:
        row.fail("txid", "a trade needs its txid")
    if when is None or cost is None or volume is None or split is None or not row.ok:
        return
    if margin:
        row.to_resolve(f"margin trade {txid} ({side} {volume} {pair}): margin is not tracked")
        return
    base, quote = split
    if side == "buy":
        swap = Swap(quote, abs(cost), base, abs(volume), {quote: fee})
    else:
        swap = Swap(base, abs(volume), quote, abs(cost), {quote: fee})
    yield from swap_entries(
        ctx,
        row.line,
        when,
        swap,
        exchange="kraken",
        external_id=txid,
        quote=None if is_fiat(quote) else quote,
        column=row.column("vol"),
    )


FORMATS = (
    Format(
        name="kraken-ledgers",
        title="Kraken ledgers export (ledgers.csv)",
        kind="csv",
        columns=LEDGER_COLUMNS,
        signatures=(
            sig(
                "txid",
                "refid",
                "time",
                "type",
                "subtype",
                "aclass",
                "asset",
                "amount",
                "fee",
                "balance",
            ),
        ),
        csv_parser=parse_ledgers,
        notes="source of truth for a Kraken account; trades grouped by refid",
    ),
    Format(
        name="kraken-trades",
        title="Kraken trades export (trades.csv)",
        kind="csv",
        columns=TRADE_COLUMNS,
        signatures=(
            sig(
                "txid",
                "ordertxid",
                "pair",
                "time",
                "type",
                "ordertype",
                "price",
                "cost",
                "fee",
                "vol",
            ),
        ),
        csv_parser=parse_trades,
        notes="trades only; prefer ledgers.csv",
    ),
)
