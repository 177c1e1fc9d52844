"""Rebalancing: the trades that bring drifted buckets back to their target weights.

Pure and greedy (no solver), so every trade can be explained in one sentence.

Inputs. Accounts (name, taxable or not, cash) hold positions: an instrument, its asset
class (free text such as ``"Stocks"``), units, a price in the base currency and the open
lots. An account's ``cash`` is money to invest there (+) or to withdraw from it (-); the
cash has to sit in an account because sale proceeds and buys stay inside their account.
Targets give weights by asset class and/or by symbol; they must sum to exactly 1.

Buckets. A symbol target carves that symbol out of its asset class: the symbol is its
own bucket and its class's bucket holds the class's other instruments. A holding with no
bucket (neither its symbol nor its class has a target) is refused, never guessed.

Weights are measured against the portfolio after the cash flow, ``T`` = holdings + cash,
so cash to invest shows up as an underweight and a withdrawal as an overweight.

The algorithm:

1. Each bucket outside its band (``|weight - target| > band``; on the band is inside)
   gets a trade of ``target * T - value``, to bring it all the way to its target.
2. Whatever cash those trades leave over (or still need) is settled by the buckets
   inside their band that are on the right side of their target, furthest from it
   first, each only up to its target. As the gaps of all buckets add up to the cash,
   this always balances; with no cash flow it only tidies up what the out-of-band
   trades move.
3. Sells first, largest bucket first. Within a bucket, tax-advantaged positions are sold
   first (no realized gain), then taxable ones; in each group the largest position
   first (fewest trades). In a taxable account the lots with the highest cost per unit
   go first (least realized gain); each lot taken reports its estimated gain and
   whether it is short or long term (held more than one year, as the lot engine
   decides). Proceeds stay in the account as cash.
4. Buys next, largest bucket first, in the accounts that have cash, tax-advantaged
   first, then the most cash first; the instrument is the bucket's largest holding in
   that account, else its largest holding anywhere that the account can hold (a
   position of 0 units with a price names an instrument to buy for an empty bucket).
   An account trades crypto or securities as it already holds them: a brokerage IRA
   buys no bitcoin and an exchange account no ETF (one that holds nothing can buy
   either).
5. For symbols that must trade whole units, units are rounded toward zero (never past
   the target); when that leaves the bucket outside its band, one more unit is traded
   if that lands inside the band and the units or the cash are there.
6. A trade worth less than the minimum trade value is dropped and reported (one worth
   less than a cent, a rounding residue, silently); it moves no units and no cash.

Cash that stays unplaced and withdrawals an account's own sales do not cover are
reported as notes, never hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from functools import partial

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.lots import Lot, Term, holding_term
from quantdesk.domain.money import ZERO

ONE = Decimal(1)
#: Fractional units are kept to 8 decimal places (rounded toward zero).
UNIT_STEP = Decimal("1e-8")
CENT = Decimal("0.01")

_Outside = Callable[[Decimal], bool]


class Action(StrEnum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True)
class Holding:
    """A position in one account: units at a price (in the base currency) and its lots."""

    instrument: InstrumentKey
    asset_class: str
    units: Decimal
    price: Decimal
    lots: tuple[Lot, ...] = ()

    @property
    def value(self) -> Decimal:
        return self.units * self.price


@dataclass(frozen=True, slots=True)
class AccountHoldings:
    """An account's positions; ``cash`` is to invest there (+) or withdraw from it (-)."""

    name: str
    taxable: bool
    holdings: tuple[Holding, ...] = ()
    cash: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Targets:
    """Target weights (by asset class and/or symbol, summing to 1) and trading rules."""

    by_class: Mapping[str, Decimal] = field(default_factory=dict)
    by_symbol: Mapping[str, Decimal] = field(default_factory=dict)
    #: Absolute band around each target, e.g. 0.05 for +-5 percentage points.
    band: Decimal = Decimal("0.05")
    #: Trades worth less than this are dropped (and reported).
    min_trade: Decimal = ZERO
    #: Symbols that trade in whole units only.
    whole_units: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TargetOptions:
    """What a user sets beside the target weights, as stored: ``None`` where they did not
    choose and the app's default applies."""

    band: Decimal
    min_trade: Decimal
    #: Cash to invest (+) or withdraw (-), in the base currency.
    cash_flow: Decimal | None = None
    #: The largest weight one asset may have before a concentration alert.
    concentration_limit: Decimal | None = None
    #: The 1-day 95% VaR allowed, as a fraction of the portfolio's value.
    var_budget: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LotTaken:
    """Units a taxable sale takes from one lot, with the estimated gain."""

    acquired_on: date | None
    units: Decimal
    cost_basis: Decimal | None
    gain: Decimal | None
    term: Term


@dataclass(frozen=True, slots=True)
class Trade:
    action: Action
    account: str
    symbol: str
    bucket: str
    units: Decimal
    value: Decimal
    #: Lots a taxable sale takes, highest cost per unit first (empty otherwise).
    lots: tuple[LotTaken, ...] = ()
    #: Estimated realized gain: 0 in a tax-advantaged account, ``None`` for a buy or
    #: when some basis is unknown.
    realized_gain: Decimal | None = None
    rationale: str = ""


@dataclass(frozen=True, slots=True)
class BucketWeight:
    bucket: str
    target: Decimal
    before: Decimal
    after: Decimal


@dataclass(frozen=True, slots=True)
class RebalancePlan:
    trades: tuple[Trade, ...]
    #: Trades under the minimum trade value, not made.
    dropped: tuple[Trade, ...]
    buckets: tuple[BucketWeight, ...]
    notes: tuple[str, ...] = ()
    #: Holdings plus cash after the cash flow: what the weights are measured against.
    total: Decimal = ZERO


@dataclass(slots=True)
class _Draft:
    action: Action
    account: AccountHoldings
    holding: Holding
    bucket: str
    units: Decimal
    value: Decimal
    lots: tuple[LotTaken, ...] = ()
    realized_gain: Decimal | None = None
    residual: bool = False


def check_weights(targets: Targets) -> dict[str, Decimal]:
    """The targets' weights by bucket, or InvalidInput naming what is wrong with them
    (negative, a name used both as a class and a symbol, not summing to 1)."""
    weights: dict[str, Decimal] = {}
    for name, weight in [*targets.by_class.items(), *targets.by_symbol.items()]:
        if weight < 0:
            raise InvalidInput(f"target weight of {name!r} is negative ({weight})")
        if name in weights:
            raise InvalidInput(f"{name!r} is both an asset-class and a symbol target")
        weights[name] = weight
    total = sum(weights.values(), ZERO)
    if total != ONE:
        raise InvalidInput(f"target weights sum to {total}, not 1")
    if targets.band < 0:
        raise InvalidInput(f"the tolerance band is negative ({targets.band})")
    if targets.min_trade < 0:
        raise InvalidInput(f"the minimum trade value is negative ({targets.min_trade})")
    return weights


def _bucket(holding: Holding, targets: Targets) -> str | None:
    if holding.instrument.symbol in targets.by_symbol:
        return holding.instrument.symbol
    if holding.asset_class in targets.by_class:
        return holding.asset_class
    return None


def _units_text(units: Decimal) -> str:
    return f"{units.normalize():f}"


def _pct(weight: Decimal) -> str:
    return f"{(weight * 100).quantize(Decimal('0.1')).normalize():f}%"


def plan_rebalance(
    accounts: Sequence[AccountHoldings], targets: Targets, trade_date: date
) -> RebalancePlan:
    """The trades that bring every bucket outside its band back to its target weight."""
    weights = check_weights(targets)
    names = [account.name for account in accounts]
    if len(set(names)) != len(names):
        raise InvalidInput("account names repeat")
    unbucketed: list[str] = []
    holdings_of: dict[str, list[tuple[AccountHoldings, Holding]]] = {b: [] for b in weights}
    for account in accounts:
        for holding in account.holdings:
            if holding.units < 0 or holding.price <= 0:
                raise InvalidInput(
                    f"{holding.instrument.symbol} in {account.name!r}: units must not be "
                    "negative and the price must be positive"
                )
            bucket = _bucket(holding, targets)
            if bucket is None:
                unbucketed.append(f"{holding.instrument.symbol} ({holding.asset_class})")
            else:
                holdings_of[bucket].append((account, holding))
    if unbucketed:
        raise InvalidInput(f"holdings with no target: {', '.join(unbucketed)}")
    value = {b: sum((h.value for _, h in pairs), ZERO) for b, pairs in holdings_of.items()}
    cash_total = sum((account.cash for account in accounts), ZERO)
    total = sum(value.values(), ZERO) + cash_total
    if total <= 0:
        raise InvalidInput(f"nothing to rebalance: holdings plus cash come to {total}")
    for bucket, weight in weights.items():
        if weight > 0 and not holdings_of[bucket]:
            raise InvalidInput(f"no priced instrument to buy for {bucket!r}")

    band = targets.band

    def outside(bucket: str, bucket_value: Decimal) -> bool:
        return abs(bucket_value / total - weights[bucket]) > band

    # 1-2. how much each bucket trades (+ buy, - sell)
    deltas: dict[str, Decimal] = {}
    for bucket in weights:
        if outside(bucket, value[bucket]):
            deltas[bucket] = weights[bucket] * total - value[bucket]
    out_of_band = set(deltas)
    residual = cash_total - sum(deltas.values(), ZERO)
    inside = [b for b in weights if b not in deltas]
    inside.sort(key=lambda b: -abs(weights[b] * total - value[b]))
    for bucket in inside:
        gap = weights[bucket] * total - value[bucket]
        if residual == 0:
            break
        if gap * residual > 0:
            step = gap if abs(gap) <= abs(residual) else residual
            deltas[bucket] = step
            residual -= step

    cash = {account.name: account.cash for account in accounts}
    running = dict(value)
    made: list[_Draft] = []
    dropped: list[_Draft] = []
    notes: list[str] = []

    def whole(symbol: str) -> bool:
        return symbol in targets.whole_units

    def settle(draft: _Draft) -> None:
        if draft.value < targets.min_trade:
            if draft.value >= CENT:  # a rounding residue is no trade to report
                dropped.append(draft)
            return
        made.append(draft)
        sign = 1 if draft.action is Action.BUY else -1
        running[draft.bucket] += sign * draft.value
        cash[draft.account.name] -= sign * draft.value

    # 3. sells
    sells = sorted((b for b in deltas if deltas[b] < 0), key=lambda b: deltas[b])
    for bucket in sells:
        remaining = -deltas[bucket]
        candidates = [(a, h) for a, h in holdings_of[bucket] if h.units > 0]
        candidates.sort(key=lambda pair: (pair[0].taxable, -pair[1].value))
        for account, holding in candidates:
            if remaining <= 0:
                break
            exact = min(remaining / holding.price, holding.units)
            units = _round_units(
                exact,
                whole(holding.instrument.symbol),
                room=holding.units,
                start=running[bucket],
                step=-holding.price,
                outside=partial(outside, bucket),
            )
            if units <= 0:
                continue
            trade_value = units * holding.price
            lots, gain = _take_lots(account, holding, units, trade_date)
            settle(
                _Draft(
                    Action.SELL,
                    account,
                    holding,
                    bucket,
                    units,
                    trade_value,
                    lots,
                    gain,
                    bucket not in out_of_band,
                )
            )
            remaining -= trade_value

    # 4. buys
    buys = sorted((b for b in deltas if deltas[b] > 0), key=lambda b: -deltas[b])
    for bucket in buys:
        remaining = deltas[bucket]
        funded = [a for a in accounts if cash[a.name] > 0]
        funded.sort(key=lambda a: (a.taxable, -cash[a.name]))
        for account in funded:
            if remaining <= 0:
                break
            choice = _buy_instrument(account, holdings_of[bucket])
            if choice is None:
                continue
            holding = choice
            budget = min(remaining, cash[account.name])
            available = cash[account.name]
            units = _round_units(
                budget / holding.price,
                whole(holding.instrument.symbol),
                room=(available / holding.price).to_integral_value(ROUND_DOWN)
                if whole(holding.instrument.symbol)
                else available / holding.price,
                start=running[bucket],
                step=holding.price,
                outside=partial(outside, bucket),
            )
            if units <= 0:
                continue
            trade_value = units * holding.price
            settle(
                _Draft(
                    Action.BUY,
                    account,
                    holding,
                    bucket,
                    units,
                    trade_value,
                    residual=bucket not in out_of_band,
                )
            )
            remaining -= trade_value
        if remaining >= CENT and bucket in out_of_band and outside(bucket, running[bucket]):
            notes.append(
                f"{bucket}: {remaining:.2f} could not be bought: no account that can hold "
                "it has the cash left"
            )

    for account in accounts:
        if cash[account.name] < 0:
            notes.append(
                f"{account.name!r} is {-cash[account.name]:.2f} short of its withdrawal: "
                "its own sales do not cover it"
            )

    buckets = tuple(
        BucketWeight(b, weights[b], value[b] / total, running[b] / total) for b in weights
    )
    weight_of = {bw.bucket: bw for bw in buckets}

    def finish(draft: _Draft, *, was_dropped: bool) -> Trade:
        bw = weight_of[draft.bucket]
        where = draft.account.name
        verb = draft.action.value
        what = f"{verb} {_units_text(draft.units)} {draft.holding.instrument.symbol} in {where}"
        if draft.action is Action.SELL:
            what += f" ({_tax_text(draft)})"
        if draft.residual:
            state = (
                f"{draft.bucket} is {_pct(bw.before)}, inside its band around its "
                f"{_pct(bw.target)} target (±{_pct(band)})"
            )
            why = "with the cash left to invest" if verb == "buy" else "to raise the cash"
            what = f"{what} {why},"
        else:
            state = (
                f"{draft.bucket} is {_pct(bw.before)} against a {_pct(bw.target)} "
                f"target (band ±{_pct(band)})"
            )
        text = f"{state}: {what} to bring it to {_pct(bw.after)}"
        if was_dropped:
            text = (
                f"dropped, {draft.value:.2f} is under the minimum trade of "
                f"{targets.min_trade:.2f}: {text}"
            )
        return Trade(
            draft.action,
            draft.account.name,
            draft.holding.instrument.symbol,
            draft.bucket,
            draft.units,
            draft.value,
            draft.lots,
            draft.realized_gain,
            text,
        )

    return RebalancePlan(
        tuple(finish(d, was_dropped=False) for d in made),
        tuple(finish(d, was_dropped=True) for d in dropped),
        buckets,
        tuple(notes),
        total,
    )


def _round_units(
    exact: Decimal,
    whole: bool,
    *,
    room: Decimal,
    start: Decimal,
    step: Decimal,
    outside: _Outside,
) -> Decimal:
    """Units to trade: ``exact`` rounded toward zero; for whole units, one more when
    that is what brings the bucket (worth ``start``, moving ``step`` a unit) inside its
    band and ``room`` allows it."""
    if not whole:
        return exact.quantize(UNIT_STEP, rounding=ROUND_DOWN)
    units = exact.to_integral_value(ROUND_DOWN)
    more = units + 1
    if outside(start + units * step) and more <= room and not outside(start + more * step):
        return more
    return units


def _take_lots(
    account: AccountHoldings, holding: Holding, units: Decimal, trade_date: date
) -> tuple[tuple[LotTaken, ...], Decimal | None]:
    """The lots a sale takes (highest cost per unit first) and its estimated gain."""
    if not account.taxable:
        return (), ZERO
    price = holding.price
    ordered = sorted(
        (lot for lot in holding.lots if lot.quantity > 0),
        key=lambda lot: (lot.cost_per_unit is None, -(lot.cost_per_unit or ZERO)),
    )
    taken: list[LotTaken] = []
    remaining = units
    for lot in ordered:
        if remaining <= 0:
            break
        part = min(remaining, lot.quantity)
        basis = None if lot.cost_basis is None else lot.cost_basis * part / lot.quantity
        gain = None if basis is None else part * price - basis
        taken.append(
            LotTaken(lot.acquired_on, part, basis, gain, holding_term(lot.acquired_on, trade_date))
        )
        remaining -= part
    if remaining > 0:  # units the lots do not account for: basis unknown
        taken.append(LotTaken(None, remaining, None, None, Term.UNKNOWN))
    gains = [t.gain for t in taken]
    total = None if any(g is None for g in gains) else sum((g for g in gains if g), ZERO)
    return tuple(taken), total


def _tax_text(draft: _Draft) -> str:
    if not draft.account.taxable:
        return "no tax"
    if draft.realized_gain is None:
        return "taxable, gain unknown: some basis is missing"
    terms = sorted({t.term.value for t in draft.lots})
    return f"taxable, est. gain {draft.realized_gain:.2f}, {' and '.join(terms)} term"


def market_of(holding: Holding) -> str:
    """Where a holding trades: ``crypto`` (exchanges, wallets) or ``securities``."""
    return "crypto" if holding.instrument.asset_type is AssetType.CRYPTO else "securities"


def _buy_instrument(
    account: AccountHoldings, pairs: Sequence[tuple[AccountHoldings, Holding]]
) -> Holding | None:
    """The bucket's largest holding in ``account``, else its largest holding anywhere
    that the account can hold: an account trades crypto or securities as it holds them
    (a brokerage IRA buys no bitcoin, an exchange account no ETF); one holding nothing
    yet can buy either. ``None``: nothing of the bucket can be bought there."""
    here = [h for a, h in pairs if a.name == account.name]
    if here:
        return max(here, key=lambda h: h.value)
    markets = {market_of(h) for h in account.holdings}
    pool = [h for _, h in pairs if not markets or market_of(h) in markets]
    return max(pool, key=lambda h: h.value) if pool else None
