"""Target allocations, and the rebalancing and tax-loss-harvesting suggestions they give.

The user's targets (a weight per asset class such as ``stock`` or per symbol such as
``AAPL``, summing to 1, with a tolerance band and a minimum trade value) are stored per
user. :func:`suggestions` builds the pure engines' inputs from the ledger as of one day
(domain/rebalance.py and domain/tax_harvest.py) and returns both answers:

* accounts hold their open lots, valued at the latest stored close on or before the day;
  an account is taxable unless its kind is ``retirement``; its cash balance (in the base
  currency, for accounts that record their cash, else 0) is cash to invest there;
* an instrument's asset class is its asset type (``stock``, ``etf``, ``bond``...);
* holdings without a price in the base currency are left out, each with a note;
* harvest candidates are the taxable accounts' lots at a loss above ``min_loss``, with
  the wash-sale conflicts of the whole ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType, InstrumentKey, normalize_symbol
from quantdesk.domain.lots import Lot
from quantdesk.domain.money import ZERO, money_text, to_text
from quantdesk.domain.positions import Quote, positions
from quantdesk.domain.rebalance import (
    AccountHoldings,
    Holding,
    RebalancePlan,
    TargetOptions,
    Targets,
    Trade,
    check_weights,
    market_of,
    plan_rebalance,
)
from quantdesk.domain.tax_harvest import (
    HarvestCandidate,
    HarvestReport,
    TaxRates,
    harvest_candidates,
)
from quantdesk.domain.transactions import Transaction
from quantdesk.services.portfolio import replay_entries
from quantdesk.services.ports import LedgerStore
from quantdesk.services.prices import BASE_CURRENCY

DEFAULT_BAND = Decimal("0.05")
DEFAULT_MIN_TRADE = Decimal(50)
DEFAULT_MIN_LOSS = Decimal(100)
DEFAULT_SHORT_RATE = Decimal("0.37")
DEFAULT_LONG_RATE = Decimal("0.20")
DEFAULT_CONCENTRATION_LIMIT = Decimal("0.25")
DEFAULT_VAR_BUDGET = Decimal("0.03")
#: Asset classes a target may name: every asset type but cash (what is invested) and
#: unknown (not a class yet).
CLASSES = frozenset(t.value for t in AssetType) - {AssetType.CASH.value, AssetType.UNKNOWN.value}


class TargetsStore(Protocol):
    def weights(self, account_id: int | None = None) -> dict[str, Decimal]: ...
    def options(self, account_id: int | None = None) -> TargetOptions | None: ...
    def replace(
        self,
        weights: dict[str, Decimal],
        options: TargetOptions,
        now: datetime,
        account_id: int | None = None,
    ) -> None: ...
    def clear(self, account_id: int | None = None) -> None: ...
    def scoped_accounts(self) -> dict[int, str]: ...


class SuggestStore(LedgerStore, Protocol):
    @property
    def targets(self) -> TargetsStore: ...


class SuggestUnitOfWork(Protocol):
    def __call__(self, *, commit: bool = True) -> AbstractContextManager[SuggestStore]: ...


@dataclass(frozen=True)
class TargetSet:
    """A user's target allocation: weights by asset class and by symbol, and options."""

    by_class: dict[str, Decimal]
    by_symbol: dict[str, Decimal]
    band: Decimal = DEFAULT_BAND
    min_trade: Decimal = DEFAULT_MIN_TRADE
    #: Cash to invest (+) or withdraw (-) in the base currency.
    cash_flow: Decimal = ZERO
    concentration_limit: Decimal = DEFAULT_CONCENTRATION_LIMIT
    var_budget: Decimal = DEFAULT_VAR_BUDGET
    #: The account these targets are of (rebalanced on its own); None: the portfolio's.
    account: str | None = None

    @property
    def weights(self) -> dict[str, Decimal]:
        return {**self.by_class, **self.by_symbol}

    @property
    def is_set(self) -> bool:
        return bool(self.by_class or self.by_symbol)

    def engine_targets(self) -> Targets:
        return Targets(
            by_class=self.by_class,
            by_symbol=self.by_symbol,
            band=self.band,
            min_trade=self.min_trade,
        )


@dataclass(frozen=True)
class Exposure:
    """One instrument across every account: its value in the base currency (``None``
    without a price there) and the day of that price."""

    instrument: InstrumentKey
    units: Decimal
    value: Decimal | None
    priced_on: date | None


@dataclass(frozen=True)
class AccountPlan:
    """An account with targets of its own, rebalanced on its own."""

    targets: TargetSet
    plan: RebalancePlan
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suggestions:
    as_of: date
    targets: TargetSet
    plan: RebalancePlan
    harvest: HarvestReport
    #: Holdings left out of the plan (no price in the base currency), one line each.
    notes: tuple[str, ...] = ()
    #: What is held, by instrument, and the cash (before the cash flow).
    exposure: tuple[Exposure, ...] = ()
    cash: Decimal = ZERO
    account_plans: tuple[AccountPlan, ...] = ()

    @property
    def invested(self) -> Decimal:
        """Priced holdings plus cash: what a weight of the portfolio is measured against."""
        return sum((e.value for e in self.exposure if e.value is not None), ZERO) + self.cash


def _decimal(value: object, what: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(f"{what} is not a number: {value!r}") from None
    if not number.is_finite():
        raise InvalidInput(f"{what} is not a finite number: {value!r}")
    return number


def _split(weights: dict[str, Decimal]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Keys that are asset classes (lower-case, as ``stock``) apart from symbols."""
    by_class: dict[str, Decimal] = {}
    by_symbol: dict[str, Decimal] = {}
    for key, weight in weights.items():
        if key in CLASSES:
            by_class[key] = weight
        else:
            by_symbol[key] = weight
    return by_class, by_symbol


def _key(text: str) -> str:
    key = text.strip()
    if key.lower() == AssetType.CASH.value:
        raise InvalidInput("cash is not a target: the cash in the accounts is what is invested")
    if key in CLASSES:
        return key
    return normalize_symbol(key)


def _fraction(value: object, what: str) -> Decimal:
    number = _decimal(value, what)
    if not 0 < number <= 1:
        raise InvalidInput(f"{what} is a fraction above 0 and at most 1 (0.25 is 25%), not {value}")
    return number


def set_targets(
    uow: SuggestUnitOfWork,
    weights: dict[str, Decimal],
    band: Decimal | str = DEFAULT_BAND,
    min_trade: Decimal | str = DEFAULT_MIN_TRADE,
    *,
    cash_flow: Decimal | str = ZERO,
    concentration_limit: Decimal | str = DEFAULT_CONCENTRATION_LIMIT,
    var_budget: Decimal | str = DEFAULT_VAR_BUDGET,
    account: str | None = None,
    clock: Callable[[], datetime],
) -> TargetSet:
    """Replace the user's targets. A key in lower case that is an asset type (``stock``,
    ``etf``, ``bond``...) is an asset class, anything else a symbol. The weights must sum
    to exactly 1 (the rebalancing engine's own checks and messages). ``cash_flow`` is cash
    to invest (+) or withdraw (-); the concentration limit and the VaR budget (1-day 95%,
    a fraction of the value) are what the risk alerts hold the portfolio to. With
    ``account``, the targets are that account's own: it is rebalanced on its own (its
    cash flow is its own; the alerts stay the portfolio's)."""
    cleaned: dict[str, Decimal] = {}
    for raw, value in weights.items():
        key = _key(raw)
        if key in cleaned:
            raise InvalidInput(f"target {key!r} is given twice")
        cleaned[key] = _decimal(value, f"the weight of {key!r}")
    if not cleaned:
        raise InvalidInput("no targets given (such as stock=0.6 bond=0.4)")
    by_class, by_symbol = _split(cleaned)
    found = TargetSet(
        by_class,
        by_symbol,
        _decimal(band, "the band"),
        _decimal(min_trade, "the minimum trade value"),
        _decimal(cash_flow, "the cash flow"),
        _fraction(concentration_limit, "the concentration limit"),
        _fraction(var_budget, "the VaR budget"),
        account,
    )
    if found.min_trade < 0:
        raise InvalidInput(f"the minimum trade value is not negative, not {found.min_trade}")
    check_weights(found.engine_targets())
    options = TargetOptions(
        found.band, found.min_trade, found.cash_flow, found.concentration_limit, found.var_budget
    )
    with uow() as store:
        account_id = None
        if account is not None:
            owner = store.account(account)
            account_id, found = owner.id, replace(found, account=owner.name)
        store.targets.replace(cleaned, options, clock(), account_id)
    return found


def _read(
    store: SuggestStore, account_id: int | None = None, account: str | None = None
) -> TargetSet:
    by_class, by_symbol = _split(store.targets.weights(account_id))
    options = store.targets.options(account_id)
    if options is None:
        return TargetSet(by_class, by_symbol, account=account)
    return TargetSet(
        by_class,
        by_symbol,
        options.band,
        options.min_trade,
        ZERO if options.cash_flow is None else options.cash_flow,
        options.concentration_limit or DEFAULT_CONCENTRATION_LIMIT,
        options.var_budget or DEFAULT_VAR_BUDGET,
        account,
    )


def _account_id(store: SuggestStore, account: str | None) -> tuple[int | None, str | None]:
    if account is None:
        return None, None
    found = store.account(account)
    return found.id, found.name


def show_targets(uow: SuggestUnitOfWork, account: str | None = None) -> TargetSet:
    """The targets of the portfolio, or of ``account`` (empty weights, default options,
    when never set)."""
    with uow(commit=False) as store:
        return _read(store, *_account_id(store, account))


def clear_targets(uow: SuggestUnitOfWork, account: str | None = None) -> None:
    """Remove the targets of the portfolio or of ``account`` (which then follows the
    portfolio's again)."""
    with uow() as store:
        store.targets.clear(_account_id(store, account)[0])


def account_targets(store: SuggestStore) -> dict[str, TargetSet]:
    """Every account's own targets, by account name."""
    return {
        name: _read(store, account_id, name)
        for account_id, name in store.targets.scoped_accounts().items()
    }


@dataclass(frozen=True)
class Book:
    """The ledger as of one day, as the engines take it: each account's priced holdings
    (with their open lots) and cash in the base currency, whether it is taxable, what is
    held by instrument, and what was left out (``notes``)."""

    as_of: date
    targets: TargetSet
    ledger: list[Transaction]
    lots: list[Lot]
    quotes: dict[InstrumentKey, Quote]
    taxable: dict[str, bool]
    holdings: dict[str, list[Holding]]
    cash: dict[str, Decimal]
    exposure: tuple[Exposure, ...]
    notes: tuple[str, ...]
    #: Accounts with targets of their own, by name.
    account_targets: dict[str, TargetSet]

    def accounts(
        self, cash_flow: Decimal = ZERO, among: Collection[str] | None = None
    ) -> tuple[list[AccountHoldings], list[str]]:
        """The engine's accounts (all, or those named in ``among``), with ``cash_flow``
        put in (or taken from) the largest taxable one, and a note saying where."""
        cash = dict(self.cash)
        notes = []
        held = {name: h for name, h in self.holdings.items() if among is None or name in among}
        if cash_flow:
            flow_to = _cash_flow_account(held, self.taxable)
            if flow_to is None:
                notes.append("no account holds anything priced: the cash flow has nowhere to go")
            else:
                cash[flow_to] = cash.get(flow_to, ZERO) + cash_flow
                verb = "invested in" if cash_flow > 0 else "withdrawn from"
                notes.append(f"{money_text(abs(cash_flow))} {verb} {flow_to} (its largest account)")
        found = [
            AccountHoldings(name, self.taxable.get(name, True), tuple(h), cash.get(name, ZERO))
            for name, h in held.items()
            if h or cash.get(name, ZERO)
        ]
        return found, notes

    def _missing(self, held: Sequence[Holding], targets: TargetSet) -> list[Holding]:
        """Instruments to buy for the targets that ``held`` has nothing of: a symbol
        target's instrument, a class target's largest holding, from the other holdings
        (0 units at their price)."""
        symbols = {h.instrument.symbol for h in held}
        classes = {h.asset_class for h in held}
        inside = {id(h) for h in held}
        elsewhere = sorted(
            (h for hs in self.holdings.values() for h in hs if id(h) not in inside),
            key=lambda h: -h.value,
        )
        found: dict[InstrumentKey, Holding] = {}
        for h in elsewhere:
            symbol, asset_class = h.instrument.symbol, h.asset_class
            wanted = (symbol in targets.by_symbol and symbol not in symbols) or (
                asset_class in targets.by_class
                and asset_class not in classes
                and symbol not in targets.by_symbol
                and not any(f.asset_class == asset_class for f in found.values())
            )
            if wanted and h.instrument not in found:
                found[h.instrument] = Holding(h.instrument, asset_class, ZERO, h.price)
        return list(found.values())

    def buyable(self, account: str, targets: TargetSet) -> tuple[Holding, ...]:
        """What ``account``, rebalanced on its own, could buy for a target it holds
        nothing of."""
        return tuple(self._missing(self.holdings.get(account, []), targets))

    def with_buyable(
        self, accounts: list[AccountHoldings], targets: TargetSet
    ) -> list[AccountHoldings]:
        """``accounts`` with what they could buy for a target none of them holds (it is
        held only in an account rebalanced on its own): in the largest account that
        trades that kind of asset (crypto or securities)."""
        held = [h for a in accounts for h in a.holdings]
        found = list(accounts)
        for extra in self._missing(held, targets):
            fits = [
                k
                for k, a in enumerate(found)
                if not a.holdings or market_of(extra) in {market_of(h) for h in a.holdings}
            ]
            if fits:
                k = max(fits, key=lambda k: sum((h.value for h in found[k].holdings), ZERO))
                found[k] = replace(found[k], holdings=(*found[k].holdings, extra))
        return found


def read_book(uow: SuggestUnitOfWork, as_of: date) -> Book:
    """The user's ledger, prices and targets as of ``as_of``."""
    with uow(commit=False) as store:
        targets = _read(store)
        scoped = account_targets(store)
        accounts = store.list_accounts()
        ledger = [t for t in store.ledger() if t.traded_on <= as_of]
        quotes = store.latest_quotes(as_of)
    state = replay_entries(ledger, record=False)
    lots = state.open_lots()
    notes: list[str] = []
    taxable = {a.name: a.is_taxable for a in accounts}
    holdings: dict[str, list[Holding]] = {a.name: [] for a in accounts}
    cash: dict[str, Decimal] = {a.name: ZERO for a in accounts}
    exposure: dict[InstrumentKey, Exposure] = {}
    for p in positions(state, quotes):
        owner = p.account or ""
        if p.instrument.asset_type is AssetType.CASH:
            if p.currency == BASE_CURRENCY:
                cash[owner] = cash.get(owner, ZERO) + p.quantity
            else:
                notes.append(f"{p.quantity} {p.currency} cash in {owner} is not in {BASE_CURRENCY}")
            continue
        quote = p.quote
        priced = quote is not None and quote.currency == BASE_CURRENCY == p.currency
        value = p.quantity * quote.price if quote is not None and priced else None
        seen = exposure.get(p.instrument)
        if seen is not None:
            value = None if value is None or seen.value is None else value + seen.value
        exposure[p.instrument] = Exposure(
            p.instrument,
            p.quantity + (seen.units if seen else ZERO),
            value,
            quote.as_of if quote is not None else None,
        )
        if quote is None or not priced:
            notes.append(f"{p.instrument.symbol} in {owner}: no price in {BASE_CURRENCY}, left out")
            continue
        held = tuple(lot for lot in lots if lot.account == owner and lot.instrument == p.instrument)
        holdings.setdefault(owner, []).append(
            Holding(p.instrument, p.instrument.asset_type.value, p.quantity, quote.price, held)
        )
    for name, balance in cash.items():
        if balance < 0:
            notes.append(f"{name} has a negative cash balance ({balance}): counted as 0")
            cash[name] = ZERO
    return Book(
        as_of,
        targets,
        ledger,
        lots,
        quotes,
        taxable,
        holdings,
        cash,
        tuple(exposure.values()),
        tuple(notes),
        scoped,
    )


def suggestions(
    uow: SuggestUnitOfWork,
    *,
    clock: Callable[[], datetime],
    as_of: date | None = None,
    min_loss: Decimal = DEFAULT_MIN_LOSS,
    short_rate: Decimal = DEFAULT_SHORT_RATE,
    long_rate: Decimal = DEFAULT_LONG_RATE,
    correlations: Mapping[str, Mapping[str, Decimal]] | None = None,
) -> Suggestions:
    """The rebalancing trades and the tax-loss-harvesting candidates as of ``as_of``
    (default: today by ``clock``). ``correlations`` (symbol -> symbol -> correlation of
    daily returns) name the harvest's replacement candidates."""
    book = read_book(uow, as_of or clock().date())
    targets, scoped = book.targets, book.account_targets
    if not targets.is_set and not scoped:
        raise InvalidInput("no targets set yet (quantdesk targets set stock=0.6 bond=0.4)")
    others = [name for name in book.holdings if name not in scoped]
    accounts, flow_notes = book.accounts(targets.cash_flow, others)
    if targets.is_set and accounts:
        accounts = book.with_buyable(accounts, targets)
        plan = plan_rebalance(accounts, targets.engine_targets(), book.as_of)
    else:
        plan = RebalancePlan((), (), ())
        if not targets.is_set:
            flow_notes.append(
                "no portfolio targets: only the accounts with targets of their own are rebalanced"
            )
    account_plans = []
    for name, own in scoped.items():
        mine, own_notes = book.accounts(own.cash_flow, [name])
        if not mine:
            own_notes.append(f"{name} holds nothing priced: nothing to rebalance")
            account_plans.append(AccountPlan(own, RebalancePlan((), (), ()), tuple(own_notes)))
            continue
        mine = [replace(mine[0], holdings=mine[0].holdings + book.buyable(name, own))]
        own_plan = plan_rebalance(mine, own.engine_targets(), book.as_of)
        account_plans.append(AccountPlan(own, own_plan, tuple(own_notes)))
    prices = {
        key: quote.price for key, quote in book.quotes.items() if quote.currency == BASE_CURRENCY
    }
    harvest = harvest_candidates(
        [lot for lot in book.lots if book.taxable.get(lot.account, True)],
        prices,
        book.ledger,
        as_of=book.as_of,
        min_loss=min_loss,
        rates=TaxRates(short_term=short_rate, long_term=long_rate),
        correlations=correlations,
    )
    return Suggestions(
        book.as_of,
        targets,
        plan,
        harvest,
        (*book.notes, *flow_notes),
        book.exposure,
        sum(book.cash.values(), ZERO),
        tuple(account_plans),
    )


def _cash_flow_account(
    holdings: Mapping[str, list[Holding]], taxable: Mapping[str, bool]
) -> str | None:
    """Where cash to invest goes and a withdrawal comes from: the largest taxable account
    (a withdrawal from a retirement account may carry a penalty), else the largest one."""
    valued = [
        (taxable.get(name, True), sum((h.value for h in held), ZERO), name)
        for name, held in holdings.items()
        if held
    ]
    return max(valued)[2] if valued else None


# JSON (the CLI's --json and the API's answers: decimals as strings) -----------------------
def targets_json(t: TargetSet) -> dict[str, Any]:
    return {
        "weights": {k: to_text(w) for k, w in sorted(t.weights.items())},
        "by_class": {k: to_text(w) for k, w in sorted(t.by_class.items())},
        "by_symbol": {k: to_text(w) for k, w in sorted(t.by_symbol.items())},
        "band": to_text(t.band),
        "min_trade": to_text(t.min_trade),
        "cash_flow": to_text(t.cash_flow),
        "concentration_limit": to_text(t.concentration_limit),
        "var_budget": to_text(t.var_budget),
        "account": t.account,
    }


def trade_json(t: Trade) -> dict[str, Any]:
    return {
        "action": t.action.value,
        "account": t.account,
        "symbol": t.symbol,
        "bucket": t.bucket,
        "units": to_text(t.units),
        "value": money_text(t.value),
        "realized_gain": money_text(t.realized_gain),
        "lots": [
            {
                "acquired_on": lot.acquired_on.isoformat() if lot.acquired_on else None,
                "units": to_text(lot.units),
                "cost_basis": money_text(lot.cost_basis),
                "gain": money_text(lot.gain),
                "term": lot.term.value,
            }
            for lot in t.lots
        ],
        "rationale": t.rationale,
    }


def _candidate_json(c: HarvestCandidate) -> dict[str, Any]:
    return {
        "lot_id": c.lot.lot_id,
        "account": c.lot.account,
        "symbol": c.lot.instrument.symbol,
        "asset_type": c.lot.instrument.asset_type.value,
        "units": to_text(c.units),
        "acquired_on": c.lot.acquired_on.isoformat() if c.lot.acquired_on else None,
        "price": to_text(c.price),
        "market_value": money_text(c.market_value),
        "cost_basis": money_text(c.cost_basis),
        "loss": money_text(c.loss),
        "term": c.term.value,
        "tax_rate": to_text(c.tax_rate),
        "tax_saved": money_text(c.tax_saved),
        "tax_saved_now": money_text(c.tax_saved_now),
        "wash_sale": c.wash.is_wash_sale,
        "buyback_window_closes": c.buyback_window_closes.isoformat(),
        "replacements": [
            {"symbol": r.symbol, "correlation": to_text(r.correlation)} for r in c.replacements
        ],
        "is_crypto": c.is_crypto,
        "notes": list(c.notes),
    }


def plan_json(plan: RebalancePlan) -> dict[str, Any]:
    return {
        "trades": [trade_json(t) for t in plan.trades],
        "dropped": [trade_json(t) for t in plan.dropped],
        "buckets": [
            {
                "bucket": b.bucket,
                "target": to_text(b.target),
                "before": money_text(b.before),
                "after": money_text(b.after),
            }
            for b in plan.buckets
        ],
        "notes": list(plan.notes),
    }


def suggestions_json(s: Suggestions) -> dict[str, Any]:
    harvest = s.harvest
    return {
        "as_of": s.as_of.isoformat(),
        "targets": targets_json(s.targets),
        "rebalance": plan_json(s.plan),
        "account_plans": [
            {
                "account": p.targets.account,
                "targets": targets_json(p.targets),
                **plan_json(p.plan),
                "notes": [*p.plan.notes, *p.notes],
            }
            for p in s.account_plans
        ],
        "harvest": {
            "candidates": [_candidate_json(c) for c in harvest.candidates],
            "skipped": [
                {
                    "lot_id": k.lot.lot_id,
                    "account": k.lot.account,
                    "symbol": k.lot.instrument.symbol,
                    "reason": k.reason.value,
                }
                for k in harvest.skipped
            ],
            "total_loss": money_text(harvest.total_loss),
            "total_tax_saved": money_text(harvest.total_tax_saved),
        },
        "notes": list(s.notes),
    }
