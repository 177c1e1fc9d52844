"""Binance exports: the account statement ("Transaction History"), Auto-Invest history and
spot trade history (CSV). All times are UTC.

**Statement** (``binance-statement``): ``User_ID,UTC_Time,Account,Operation,Coin,Change,
Remark`` (older files omit ``User_ID``; some rows omit the empty ``Remark``). One row per
balance change with a signed ``Change``. A trade is several rows sharing
``(UTC_Time, Account)``: legacy ``Buy``/``Sell``/``Fee`` (both legs of a trade carry the
same operation), ``Transaction Buy/Spend/Fee/Revenue/Sold/Related``, ``Binance Convert``,
``Small assets exchange BNB`` (dust) and ``Buy Crypto``. Consecutive rows with the same
time and account form a group (newest-first and oldest-first files alike); its trade legs
are netted by coin, its fee rows summed by coin, and other rows in it (a referral reward
paid in the same second) are entries of their own.

How a netted trade (one coin given up, one received) is recorded:

- **Fiat on one side** (ISO 4217 codes: EUR, USD, UAH, ...): a ``buy`` or ``sell`` of the
  coin in that fiat currency. A fee in the fiat is the entry's fee; a fee taken from the
  coin (Binance deducts it from what is bought) lowers the quantity to what was really
  received and is valued at the trade's price, so quantity x price + fees is exactly the
  fiat paid.
- **Crypto on both sides**: a ``conversion`` of two linked legs (out leg negative). Both
  legs are valued in the pair's quote asset -- the side that ranks first among fiat,
  stablecoins (USDT, BUSD, USDC, FDUSD, ...), BTC, ETH, BNB and other common quotes; when
  neither does, the coin given up -- so SOL sold for USDT is worth the USDT received and
  HIGH bought with BTC costs the BTC spent. Fees taken from either coin are folded into
  the legs' quantities (the out leg gives up what left the account, the in leg receives
  what arrived), not put in ``fees``: the ledger books a conversion's fees against the
  cash balance of its currency, and that currency is a coin held as units here.
- **A fee paid in a third coin** (BNB): the units are consumed, so a ``sell`` of them at
  price 0 (leg ``fee:<coin>``): their cost leaves the portfolio as a realized loss, which
  is the fee's cost; the statement gives no market price to value it otherwise. A fee in
  fiat with no trade is a ``fee`` entry.
- **Dust** ("Small assets exchange BNB"): when every row's remark says ``<COIN> to BNB``
  each coin becomes its own conversion into the BNB its rows received; when the group
  nets to one coin given up it is one conversion; several coins given up for one BNB
  amount with no remarks cannot be split honestly (the statement has no values), so the
  group is left to resolve.
- Groups that net to several coins on both sides (two orders filled in one second) are
  left to resolve, naming the coins: which amount paid for which is not in the file. A
  group with only one side (``Buy Crypto`` paid by card, whose card payment is not in the
  statement) is recorded as a ``transfer_in``/``transfer_out`` of unknown cost and left to
  resolve with a note to replace it by the buy at the price paid.

Other operations: ``Deposit`` is a ``transfer_in`` of a coin or a ``deposit`` of fiat;
``Withdraw`` a ``transfer_out`` (the network fee is included in the change, per Binance's
remark) or a ``withdrawal``; earn, staking, launchpool, airdrop, distribution and referral
rows are ``staking_reward`` of the coin (``interest`` when paid in fiat); Binance Pay and
P2P payments move units out of or into the account (``transfer_out``/``transfer_in``; a
P2P trade is also left to resolve: its fiat side is settled outside Binance). Futures
``Realized Profit and Loss`` and ``Insurance Fund Compensation`` are ``interest`` (signed)
and ``Funding Fee`` a ``fee`` (or ``interest`` when received), in the margin coin: the
ledger has no futures positions, so their settlement is income or expense in that coin.
Moves inside Binance (Earn/Savings/Staking subscriptions and redemptions, transfers
between the Spot, Funding and futures wallets) are skipped. ``Asset Recovery`` and
``Token Swap - Distribution`` (a token migration in two unrelated rows) are left to
resolve. Any other operation refuses the import, naming the line.

No ids: entries are told apart by content (the importer counts repeats), so re-importing
an overlapping statement adds only its new rows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.money import ZERO, derived
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import Issues, ParsedTransaction
from quantdesk.importers.cells import moment, number
from quantdesk.importers.crypto import CRYPTO, FIAT, QUOTE_RANK
from quantdesk.importers.dates import When
from quantdesk.importers.table import (
    ParseContext,
    Records,
    Row,
    Table,
    build_entry,
    conversion_legs,
)

_RANK = QUOTE_RANK
#: Longest first, for splitting ``BTCUSDT`` into ``BTC`` and ``USDT``.
PAIR_QUOTES = sorted(_RANK, key=len, reverse=True)
_CURRENCY = re.compile(r"[A-Z]{3,5}").fullmatch

# statement operations (lower-cased) ----------------------------------------------------
TRADE, FEE, REWARD, SKIP, DEPOSIT, WITHDRAW, PNL, FUNDING, PAY, P2P, RESOLVE = range(11)
_OPERATIONS: dict[str, tuple[int, str]] = {}


def _ops(kind: int, reason: str, *names: str) -> None:
    for name in names:
        _OPERATIONS[name.lower()] = (kind, reason)


_ops(
    TRADE,
    "",
    "Buy",
    "Sell",
    "Transaction Buy",
    "Transaction Spend",
    "Transaction Revenue",
    "Transaction Sold",
    "Transaction Related",
    "Binance Convert",
    "Small assets exchange BNB",
    "Buy Crypto",
    "Large OTC trading",
    "ETH 2.0 Staking",
    "Stablecoins Auto-Conversion",
    "Auto-Invest Transaction",
)
_ops(FEE, "", "Fee", "Transaction Fee")
_ops(
    REWARD,
    "",
    "POS savings interest",
    "Simple Earn Flexible Interest",
    "Simple Earn Flexible Airdrop",
    "Simple Earn Locked Rewards",
    "ETH 2.0 Staking Rewards",
    "Launchpool Interest",
    "Launchpool Airdrop",
    "Staking Rewards",
    "Locked Staking Rewards",
    "BNB Vault Rewards",
    "Savings Interest",
    "Super BNB Mining",
    "Distribution",
    "Airdrop Assets",
    "HODLer Airdrops Distribution",
    "Megadrop Rewards",
    "Mission Reward Distribution",
    "Cash Voucher Distribution",
    "Commission History",
    "Commission Fee Shared With You",
    "Commission Rebate",
    "Referral Kickback",
    "Referral Commission",
    "Crypto Box",
)
_ops(
    SKIP,
    "move within Binance (savings, earn or staking subscription/redemption)",
    "POS savings purchase",
    "POS savings redemption",
    "Simple Earn Flexible Subscription",
    "Simple Earn Flexible Redemption",
    "Simple Earn Locked Subscription",
    "Simple Earn Locked Redemption",
    "Savings purchase",
    "Savings Principal redemption",
    "Staking Purchase",
    "Staking Redemption",
    "Launchpool Subscription/Redemption",
)
_ops(
    SKIP,
    "transfer between the user's own Binance wallets",
    "Transfer Between Main and Funding Wallet",
    "Transfer Between Spot Account and UM Futures Account",
    "Transfer Between Spot Account and CM Futures Account",
    "Transfer Between Main Account/Futures and Margin Account",
    "Transfer Between Main Account and Margin Account",
    "Transfer Between Spot and Isolated Margin Account",
    "transfer_in",
    "transfer_out",
)
_ops(DEPOSIT, "", "Deposit", "Fiat Deposit")
_ops(WITHDRAW, "", "Withdraw", "Fiat Withdraw", "Fiat Withdrawal")
_ops(PNL, "", "Realized Profit and Loss", "Insurance Fund Compensation")
_ops(FUNDING, "", "Funding Fee")
_ops(PAY, "Binance Pay", "Send", "Receive", "Merchant Acquiring", "Binance Pay")
_ops(P2P, "", "P2P Trading")
_ops(
    RESOLVE,
    "units removed by Binance (asset recovery); if it is a token migration, record it "
    "with the distribution of the new token as a conversion",
    "Asset Recovery",
)
_ops(
    RESOLVE,
    "new tokens from a token swap or migration; record it with the removal of the old "
    "token as a conversion",
    "Token Swap - Distribution",
)

STATEMENT_COLUMNS = ("User_ID", "UTC_Time", "Account", "Operation", "Coin", "Change", "Remark")


class _Leg:
    """One trade or fee row of a statement group."""

    __slots__ = ("change", "coin", "fee", "operation", "remark", "row")

    def __init__(
        self, row: Row, operation: str, coin: str, change: Decimal, fee: bool, remark: str
    ) -> None:
        self.row, self.operation, self.coin, self.change = row, operation, coin, change
        self.fee, self.remark = fee, remark


def parse_statement(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    at = table.at
    i_time, i_account, i_op = at["utc_time"], at["account"], at["operation"]
    i_coin, i_change = at["coin"], at["change"]
    i_remark = at.get("remark", -1)
    latest = ctx.today + timedelta(days=1)
    group: list[_Leg] = []
    group_ok = True
    key: tuple[str, str] | None = None
    when: When | None = None
    for row in table.rows(ragged=True):
        cells = row.cells
        width = len(cells)
        stamp = cells[i_time].strip() if i_time < width else ""
        account = cells[i_account].strip() if i_account < width else ""
        if key is None or stamp != key[0] or account != key[1]:
            if group and group_ok and when is not None:
                yield from _group(group, when, ctx)
            group, group_ok = [], True
            if key is None or stamp != key[0]:
                when = _utc(row, stamp, latest)
            key = (stamp, account)
        operation = cells[i_op].strip() if i_op < width else ""
        found = _OPERATIONS.get(operation.lower())
        if found is None:
            row.fail("operation", f"unknown Binance operation {operation!r}")
            group_ok = False
            continue
        kind, reason = found
        if kind is SKIP:
            row.skip(f"{operation}: {reason}")
            continue
        coin = cells[i_coin].strip().upper() if i_coin < width else ""
        raw = cells[i_change].strip() if i_change < width else ""
        change: Decimal | None = None
        if not coin:
            row.fail("coin", "coin is empty")
        elif not raw:
            row.fail("change", "change is empty")
        else:
            try:
                change = number(raw)
            except InvalidInput as error:
                row.fail("change", str(error))
        if when is None and row.ok:
            row.fail("utc_time", "date is empty" if not stamp else f"not a date: {stamp!r}")
        if not row.ok or change is None or when is None:
            group_ok = False
            continue
        if kind is TRADE or kind is FEE:
            remark = cells[i_remark].strip() if 0 <= i_remark < width else ""
            group.append(_Leg(row, operation, coin, change, kind is FEE and change < 0, remark))
            continue
        if change == 0:
            row.skip(f"{operation}: no change of balance")
            continue
        entry = _single(row, kind, reason, operation, coin, change, when)
        if entry is not None:
            yield entry
    if group and group_ok and when is not None:
        yield from _group(group, when, ctx)


def _utc(row: Row, stamp: str, latest: date) -> When | None:
    """The statement's ``YYYY-MM-DD HH:MM:SS`` (UTC); None (the row's issue comes later)."""
    if not stamp:
        return None
    try:
        if len(stamp) == 19:
            parsed = datetime.fromisoformat(stamp).replace(tzinfo=UTC)
            found = When(parsed, parsed.date(), True)
        else:
            found = moment(stamp, tz="UTC")
    except (ValueError, InvalidInput):
        row.fail("utc_time", f"not a date and time: {stamp!r}")
        return None
    if found.on > latest:
        row.fail("utc_time", f"{found.on.isoformat()} is in the future")
        return None
    return found


def _single(
    row: Row, kind: int, reason: str, operation: str, coin: str, change: Decimal, when: When
) -> ParsedTransaction | None:
    """The entry of a statement row that stands alone."""
    fiat = coin in FIAT
    units = abs(change)
    if kind is REWARD:
        if change < 0:
            row.fail("change", f"{operation}: a reward cannot take units away ({change})")
            return None
        if fiat:
            return row.entry(T.INTEREST, when, amount=change, currency=coin, description=operation)
        return row.entry(
            T.STAKING_REWARD,
            when,
            symbol=coin,
            asset_type=CRYPTO,
            quantity=units,
            description=operation,
            column="change",
        )
    if kind is DEPOSIT or kind is WITHDRAW:
        incoming = kind is DEPOSIT
        if (change > 0) != incoming:
            row.fail(
                "change", f"{operation} with a {'negative' if incoming else 'positive'} change"
            )
            return None
        if fiat:
            return row.entry(
                T.DEPOSIT if incoming else T.WITHDRAWAL,
                when,
                amount=units,
                currency=coin,
                description=operation,
            )
        return row.entry(
            T.TRANSFER_IN if incoming else T.TRANSFER_OUT,
            when,
            symbol=coin,
            asset_type=CRYPTO,
            quantity=units,
            description=operation,
            column="change",
        )
    if kind is PNL or kind is FUNDING:
        paid = kind is FUNDING and change < 0
        return row.entry(
            T.FEE if paid else T.INTEREST,
            when,
            amount=units if paid else change,
            currency=coin,
            description=operation,
            column="coin",
        )
    if kind is PAY or kind is P2P:
        if kind is P2P:
            row.to_resolve(
                f"P2P trade of {change} {coin}: recorded as a transfer "
                f"{'out' if change < 0 else 'in'} of the coin; its fiat side is settled "
                "outside Binance (record the sale or purchase price yourself)"
            )
        if fiat:
            return row.entry(
                T.DEPOSIT if change > 0 else T.WITHDRAWAL,
                when,
                amount=units,
                currency=coin,
                description=operation,
            )
        return row.entry(
            T.TRANSFER_IN if change > 0 else T.TRANSFER_OUT,
            when,
            symbol=coin,
            asset_type=CRYPTO,
            quantity=units,
            description=f"{operation} ({reason or 'P2P'})",
            column="change",
        )
    # RESOLVE
    row.to_resolve(f"{operation} of {change} {coin}: not applied; {reason}")
    return None


_DUST_REMARK = re.compile(r"([A-Z0-9]+) to ([A-Z0-9]+)")


def _group(legs: list[_Leg], when: When, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    """The entries of one statement trade group (rows with one time and account)."""
    first = legs[0].row
    if len(legs) > 1 and legs[0].remark and all(_DUST_REMARK.fullmatch(leg.remark) for leg in legs):
        by_remark: dict[str, list[_Leg]] = {}
        for leg in legs:
            by_remark.setdefault(leg.remark, []).append(leg)
        if len(by_remark) > 1:
            for remark, part in by_remark.items():
                yield from _netted(part, when, ctx, first, tag=remark.split(" ", 1)[0] + ":")
            return
    yield from _netted(legs, when, ctx, first, tag="")


def _netted(
    legs: list[_Leg], when: When, ctx: ParseContext, first: Row, *, tag: str
) -> Iterator[ParsedTransaction]:
    net: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    for leg in legs:
        if leg.fee:
            fees[leg.coin] = fees.get(leg.coin, ZERO) - leg.change
        else:
            net[leg.coin] = net.get(leg.coin, ZERO) + leg.change
    ins = [(coin, q) for coin, q in net.items() if q > 0]
    outs = [(coin, -q) for coin, q in net.items() if q < 0]
    what = " / ".join(sorted({leg.operation for leg in legs}))
    issues = ctx.issues
    if len(ins) == 1 and len(outs) == 1:
        yield from exchange_entries(
            issues,
            first.line,
            when,
            outs[0][0],
            outs[0][1],
            ins[0][0],
            ins[0][1],
            fees,
            description=what,
            tag=tag,
        )
        return
    if not ins and not outs:
        yield from _fee_entries(issues, first.line, when, fees, None, what, tag)
        return
    if ins and outs:
        listed = ", ".join(f"{q} {c}" for c, q in outs)
        got = ", ".join(f"{q} {c}" for c, q in ins)
        charged = "".join(f", fee {q} {c}" for c, q in fees.items())
        first.to_resolve(
            f"{what} at {when.at.isoformat()}: {listed} given up for {got}{charged} in one "
            "second; the statement does not say which amount paid for which (not applied: "
            "record the trades yourself)"
        )
        return
    for coin, quantity in ins or outs:
        incoming = bool(ins)
        if coin in FIAT:
            entry = build_entry(
                issues,
                first.line,
                T.DEPOSIT if incoming else T.WITHDRAWAL,
                when,
                amount=quantity,
                currency=coin,
                description=what,
                leg=tag + coin,
            )
        else:
            entry = build_entry(
                issues,
                first.line,
                T.TRANSFER_IN if incoming else T.TRANSFER_OUT,
                when,
                symbol=coin,
                asset_type=CRYPTO,
                quantity=quantity,
                description=what,
                leg=tag + coin,
            )
        first.to_resolve(
            f"{what}: {quantity} {coin} {'received' if incoming else 'given up'} with no "
            "other side in the statement (paid or received outside it); recorded as a "
            f"transfer {'in' if incoming else 'out'} of unknown value: replace it by the "
            "trade at its price"
        )
        if entry is not None:
            yield entry
    yield from _fee_entries(issues, first.line, when, fees, None, what, tag)


def _quote(given: str, received: str) -> str:
    """The asset a crypto-to-crypto trade is valued in (see the module docstring)."""
    rank_given, rank_received = _RANK.get(given, 99), _RANK.get(received, 99)
    first, second = (received, given) if rank_received < rank_given else (given, received)
    return first if _CURRENCY(first) or not _CURRENCY(second) else second


def exchange_entries(
    issues: Issues,
    line: int,
    when: When,
    given: str,
    given_quantity: Decimal,
    received: str,
    received_quantity: Decimal,
    fees: dict[str, Decimal],
    *,
    description: str,
    tag: str = "",
) -> Iterator[ParsedTransaction]:
    """A trade of ``given_quantity`` of ``given`` for ``received_quantity`` of ``received``
    (both gross of fees) with ``fees`` by coin: a buy, sell or conversion and the fees'
    own entries."""
    fees = dict(fees)
    fee_given = fees.pop(given, ZERO)
    fee_received = fees.pop(received, ZERO)
    gave = given_quantity + (fee_given if given not in FIAT else ZERO)
    got = received_quantity - fee_received
    if got <= 0 or gave <= 0:
        issues.add(
            line,
            None,
            f"{description}: fees of {fee_received} {received} leave nothing of the "
            f"{received_quantity} received",
        )
        return
    if given in FIAT and received in FIAT:
        issues.add(line, None, f"{description}: an exchange of two fiat currencies")
        return
    if given in FIAT or received in FIAT:
        buying = given in FIAT
        fiat, coin = (given, received) if buying else (received, given)
        fiat_quantity = given_quantity if buying else received_quantity
        coin_quantity = received_quantity if buying else gave
        price = derived(fiat_quantity / coin_quantity)
        # the fiat side's fee, plus (on a buy) the coin Binance kept, valued at the price
        paid = fee_given + derived(fee_received * price) if buying else fee_received
        entry = build_entry(
            issues,
            line,
            T.BUY if buying else T.SELL,
            when,
            symbol=coin,
            asset_type=CRYPTO,
            quantity=got if buying else gave,
            price=price,
            fees=paid,
            currency=fiat,
            description=description,
            leg=tag + "trade" if tag else "",
        )
        if entry is not None:
            yield entry
    else:
        currency = _quote(given, received)
        if not _CURRENCY(currency):
            issues.add(
                line,
                None,
                f"{description}: neither {given} nor {received} can be the currency of "
                "the conversion (3 to 5 letters)",
            )
            return
        value = gave if currency == given else got
        link_key = f"{when.at.isoformat()}|{given}|{gave}|{received}|{got}|{tag}"
        link = "binance:" + hashlib.blake2b(link_key.encode(), digest_size=8).hexdigest()
        yield from conversion_legs(
            issues,
            line,
            when,
            given=(given, gave),
            received=(received, got),
            value=value,
            currency=currency,
            link=link,
            description=description,
            leg_prefix=tag,
        )
    yield from _fee_entries(issues, line, when, fees, None, description, tag)


def _fee_entries(
    issues: Issues,
    line: int,
    when: When,
    fees: dict[str, Decimal],
    currency: str | None,
    description: str,
    tag: str,
) -> Iterator[ParsedTransaction]:
    """Fees in a coin that is neither side of the trade: a fiat ``fee``, or the coin's
    units disposed of at price 0 (see the module docstring)."""
    for coin, quantity in fees.items():
        if quantity == 0:
            continue
        if coin in FIAT:
            entry = build_entry(
                issues,
                line,
                T.FEE,
                when,
                amount=quantity,
                currency=coin,
                description=f"trading fee ({description})",
                leg=f"{tag}fee:{coin}",
            )
        else:
            entry = build_entry(
                issues,
                line,
                T.SELL,
                when,
                symbol=coin,
                asset_type=CRYPTO,
                quantity=quantity,
                price=ZERO,
                currency=currency,
                description=f"trading fee paid in {coin} ({description}): units consumed",
                leg=f"{tag}fee:{coin}",
            )
        if entry is not None:
            yield entry
