"""Portfolio analytics: the ledger-true daily history, returns that explain themselves, and
the full risk metric set, for the whole portfolio or one account, plus what-if.

The service loads the ledger and the stored closes, and asks the market for the
benchmark's; everything else is pure computation in :mod:`quantdesk.analytics`.

* **Returns side by side.** Simple return: the gain (end value minus start value minus
  net flows) over the money at work (start value plus inflows). Time-weighted (TWR):
  daily returns with each day's flows taken out, chained. Money-weighted (MWR): the
  XIRR of the start value, every flow and the end value.
* **Holdings-based risk.** Correlation, contributions and Monte Carlo VaR use the daily
  returns of the assets held at the end, weighted by their end values. What-if changes
  those quantities (nothing is saved) and gives the metric set of the hypothetical
  holdings held through the period next to the same for the current holdings.
"""

from __future__ import annotations

import calendar as calendars
from bisect import bisect_left
from collections.abc import Callable, Hashable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from itertools import pairwise
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt

from quantdesk.analytics.drawdown import drawdown_series
from quantdesk.analytics.frames import (
    DEFAULT_CARRY_LIMIT,
    Calendar,
    Closes,
    Frames,
    build_frames,
    day_ordinals,
)
from quantdesk.analytics.metrics import MetricSet, metric_set
from quantdesk.analytics.returns import cumulative_returns, twr_returns, xirr
from quantdesk.analytics.risk import rolling_beta, rolling_sharpe, rolling_volatility
from quantdesk.analytics.whatif import HoldingsModel
from quantdesk.domain.errors import InvalidInput, ProviderError
from quantdesk.domain.instruments import AssetType, InstrumentKey, normalize_symbol
from quantdesk.domain.ledger_history import LedgerHistory, ledger_history
from quantdesk.domain.lots import LedgerState
from quantdesk.domain.market import DailyCloses, MarketSymbol
from quantdesk.domain.materialized import StoredState
from quantdesk.domain.positions import Quote
from quantdesk.domain.transactions import Transaction
from quantdesk.market.cache import LocalLocks
from quantdesk.services.lru import Lru
from quantdesk.services.portfolio import LedgerCache, load_ledger_at, replayed
from quantdesk.services.ports import LedgerStore, MarketData, UnitOfWork
from quantdesk.services.prices import BASE_CURRENCY, benchmark_key

Floats = npt.NDArray[np.float64]
T = TypeVar("T")
PERIODS = ("1M", "3M", "YTD", "1Y", "3Y", "5Y", "ALL")


@dataclass(frozen=True)
class Options:
    """What an analytics request asks for (the CLI's and the API's options)."""

    start: date | None = None
    end: date | None = None
    period: str | None = None
    benchmark: str = "SPY"
    risk_free: float = 0.04
    confidences: tuple[float, ...] = (0.95, 0.99)
    horizon: int = 1
    calendar: Calendar = "auto"
    account: str | None = None
    asset_class: str | None = None
    seed: int = 0

    def validate(self) -> None:
        if self.period is not None and self.period.upper() not in PERIODS:
            raise InvalidInput(f"unknown period {self.period!r} (one of {', '.join(PERIODS)})")
        if any(not 0.5 < c < 1 for c in self.confidences):
            raise InvalidInput("a confidence is a fraction between 0.5 and 1, such as 0.95")
        if self.horizon < 1:
            raise InvalidInput("the horizon is a number of days, at least 1")
        if not -0.5 < self.risk_free < 1:
            raise InvalidInput("the risk-free rate is an annual fraction, such as 0.04")
        if self.start and self.end and self.start >= self.end:
            raise InvalidInput("the start must come before the end")
        if self.asset_class is not None:
            AssetType.parse(self.asset_class)


@dataclass(frozen=True)
class SubPeriod:
    """The stretch between two flows: what the TWR chains."""

    start: date
    end: date
    start_value: float
    #: The value at the end, before that day's flow.
    end_value: float
    flow_at_end: float
    growth: float


@dataclass
class Report:
    """Everything ``quantdesk analytics`` shows (see docs/cli-json.md)."""

    options: Options
    start: date
    end: date
    benchmark: str
    frames: Frames
    returns: Floats
    benchmark_returns: Floats | None
    metrics: MetricSet
    symbols: list[str]
    total_value: float | None
    total_cost_basis: Decimal | None
    unrealized_gain: Decimal | None
    realized_gain: Decimal | None
    simple_return: float | None
    mwr: float | None
    warnings: list[str] = field(default_factory=list)

    def flows(self) -> list[tuple[date, float]]:
        return [
            (d, float(f))
            for d, f in zip(self.frames.days, self.frames.flows, strict=True)
            if f != 0
        ]

    def sub_periods(self) -> list[SubPeriod]:
        """The TWR's sub-periods: each ends on a day with a flow (counted at its end of
        day), and the next starts from the value after it."""
        days, values, flows = self.frames.days, self.frames.values, self.frames.flows
        n = len(days)
        bounds = [0] + [t for t in range(1, n) if flows[t] != 0]
        if bounds[-1] != n - 1:
            bounds.append(n - 1)
        return [
            SubPeriod(
                days[s],
                days[e],
                float(values[s]),
                float(values[e] - flows[e]),
                float(flows[e]),
                float(np.prod(1 + self.returns[s:e])) - 1,
            )
            for s, e in pairwise(bounds)
        ]


def period_start(period: str, end: date, first: date) -> date:
    """The day a named period starts (its value is the base of the first return)."""
    key = period.upper()
    if key == "ALL":
        return first
    if key == "YTD":
        return date(end.year - 1, 12, 31)
    months = {"1M": 1, "3M": 3, "1Y": 12, "3Y": 36, "5Y": 60}[key]
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    day = min(end.day, calendars.monthrange(year, month + 1)[1])
    return max(first, date(year, month + 1, day))


class ClosesCache(Lru[object]):
    """Closes already turned into float arrays, by user, market, price versions, what
    was read and the span: a process's recent analytics reuse them while no close they
    came from changed (any write of a close bumps a price version, see
    ``LedgerStore.price_versions``)."""

    def __init__(self, size: int = 256) -> None:
        super().__init__(size)
        self._loads = LocalLocks()

    def loading(self, token: tuple[object, ...]) -> AbstractContextManager[None]:
        """Held while closes under ``token`` are read into the cache: the requests that
        miss them together (a worker's first ones, or all of them after a new close)
        read them once, the others waiting for that read rather than repeating it."""
        return self._loads.hold(token, -1)


class BatchReads:
    """What users computed together (a nightly share, within a second or two, after the
    night's refresh) read once for them all: the market's latest quotes, which a user
    without closes of their own takes as they are, and the benchmark's instrument. It
    lives as long as the batch it serves: the API keeps the market's latest prices from
    request to request by their versions (store/market_quotes.py), the job worker does
    not yet."""

    def __init__(self) -> None:
        self._quotes: dict[tuple[str, date], dict[InstrumentKey, Quote]] = {}
        self._benchmarks: dict[str, InstrumentKey] = {}
        #: Each user's stored state, read for the whole batch, by user id and request
        #: (``materialize.request_key``; see ``materialize.prepare_analytics``).
        self.states: dict[tuple[int, str], StoredState] = {}
        #: Each user's ledger, read for the whole batch, by (user id, revision).
        self.ledgers = LedgerCache()

    def quotes(self, store: LedgerStore, as_of: date) -> dict[InstrumentKey, Quote]:
        key = (store.market(), as_of)
        found = self._quotes.get(key)
        if found is None:
            found = self._quotes[key] = store.market_latest_quotes(as_of)
        return found

    def benchmark(self, store: LedgerStore, name: str) -> InstrumentKey:
        found = self._benchmarks.get(name)
        if found is None:
            found = self._benchmarks[name] = benchmark_key(store, name)
        return found


def _closes_token(
    store: LedgerStore, versions: tuple[int, int] | None = None, has_own: bool | None = None
) -> tuple[object, ...]:
    """What the closes a store reads depend on: whose, which market, which versions
    (``versions``: as just read by the caller; ``has_own``: whether the user has closes
    of their own, if known). A user without closes of their own reads only the market's,
    the same as every such user (a nightly recompute reads them once for all)."""
    market, own = versions or store.price_versions()
    if has_own is None:
        has_own = store.has_own_closes()
    whose = store.user_id if has_own else None
    return (whose, store.market(), market, own)


def _may_cache(store: LedgerStore, token: tuple[object, ...]) -> bool:
    """Whether what was just read may be cached under ``token``: a user's own token
    always; the shared one (users without closes of their own) only if this user still
    has none (closes of their own imported while it loaded are theirs alone)."""
    return token[0] is not None or not store.has_own_closes()


def _cached(
    store: LedgerStore,
    cache: ClosesCache | None,
    token: tuple[object, ...] | None,
    key: Hashable,
    load: Callable[[], T],
) -> T:
    if cache is None or token is None:
        return load()
    found = cache.get((token, key))
    if found is None:
        found = load()
        if _may_cache(store, token):
            cache.put((token, key), found)
    return cast("T", found)


#: The first day a cached series is read from: all of an instrument's stored closes.
_EVERY_CLOSE = date(1900, 1, 1)


@dataclass(frozen=True)
class _Series:
    """Every stored close of an instrument through a day, as floats (None: it has none),
    cached per instrument and sliced for each request: users whose ledgers start on
    other days share it."""

    closes: Closes | None
    left_out_days: tuple[date, ...]

    @classmethod
    def of(cls, stored: DailyCloses | None) -> _Series:
        return cls(None, ()) if stored is None else cls(_closes(stored), stored.left_out_days)

    def since(self, first: date) -> tuple[Closes, int] | None:
        """Exactly what ``daily_closes`` reads from ``first`` on (as floats), and how
        many closes in another currency it left out."""
        if self.closes is None:
            return None
        at = bisect_left(self.closes.days, first)
        if at == len(self.closes.days):
            return None
        left_out = sum(1 for d in self.left_out_days if d >= first)
        return self.closes.since(at), left_out


def _take_cached(
    cache: ClosesCache,
    token: tuple[object, ...],
    keys: Sequence[InstrumentKey],
    end: date,
    series: dict[InstrumentKey, _Series],
) -> list[InstrumentKey]:
    """Put the cached series of ``keys`` into ``series``; the keys it has none for."""
    missing = []
    for key in keys:
        found = cache.get((token, ("series", key, end)))
        if isinstance(found, _Series):
            series[key] = found
        else:
            missing.append(key)
    return missing


def _read_closes(
    store: LedgerStore,
    cache: ClosesCache | None,
    token: tuple[object, ...] | None,
    keys: Sequence[InstrumentKey],
    first: date,
    end: date,
) -> dict[InstrumentKey, tuple[Closes, int]]:
    """The closes ``store.daily_closes(keys, first, end)`` reads, as floats, with the
    count of closes left out in another currency: each instrument's closes read once
    into the cache (all of them through ``end``) while no close changes."""
    if cache is None or token is None:
        stored = store.daily_closes(keys, first, end)
        return {k: (_closes(v), v.left_out) for k, v in stored.items()}
    series: dict[InstrumentKey, _Series] = {}
    missing = _take_cached(cache, token, keys, end, series)
    if missing:
        with cache.loading(token):
            # what another request read while this one waited is taken from the cache
            missing = _take_cached(cache, token, missing, end, series)
            if missing:
                every = store.daily_closes(missing, _EVERY_CLOSE, end)
                for key in missing:
                    series[key] = _Series.of(every.get(key))
                if _may_cache(store, token):
                    for key in missing:
                        cache.put((token, ("series", key, end)), series[key])
    out = {}
    for key, one in series.items():
        sliced = one.since(first)
        if sliced is not None:
            out[key] = sliced
    return out


def analyze(
    uow: UnitOfWork,
    market: MarketData | None,
    options: Options,
    *,
    clock: Callable[[], datetime],
    closes_cache: ClosesCache | None = None,
    ledger_cache: LedgerCache | None = None,
    versions: tuple[int, int, int] | None = None,
) -> Report:
    """The metric set of the scope over the requested period (``closes_cache`` keeps the
    closes read for the next request of this process). ``versions``: the ledger revision
    and the price versions (``LedgerStore.price_versions``) the caller just read, not
    read again."""
    options.validate()
    with uow(commit=False) as store:
        return analyze_store(
            store,
            market,
            options,
            clock=clock,
            closes_cache=closes_cache,
            ledger_cache=ledger_cache,
            versions=versions,
        )


def analyze_store(
    store: LedgerStore,
    market: MarketData | None,
    options: Options,
    *,
    clock: Callable[[], datetime],
    closes_cache: ClosesCache | None = None,
    ledger_cache: LedgerCache | None = None,
    versions: tuple[int, int, int] | None = None,
    bench_key: InstrumentKey | None = None,
    batch: BatchReads | None = None,
    own_closes: bool | None = None,
) -> Report:
    """:func:`analyze` in a read transaction the caller holds open (materialized analytics
    read their fingerprint and the inputs in one). ``bench_key``: the benchmark's
    instrument (:func:`benchmark_key`) when the caller already resolved it;
    ``batch``: what a batch of users computed together read once (:class:`BatchReads`);
    ``own_closes``: whether the user has closes of their own, when the caller knows."""
    today = clock().date()
    if options.account is not None:
        store.account(options.account)
    known, ledger = load_ledger_at(store, ledger_cache, revision=versions[0] if versions else None)
    if not ledger:
        raise InvalidInput("the ledger is empty: import a file first")
    kind = AssetType.parse(options.asset_class) if options.asset_class else None
    history = ledger_history(ledger, account=options.account, asset_class=kind)
    if not history.days:
        what = f"{options.asset_class} entries" if options.asset_class else "entries"
        where = f" in account '{options.account}'" if options.account else ""
        raise InvalidInput(f"no {what}{where} in the ledger")
    end = min(options.end or today, today)
    first = history.days[0].day
    start = options.start or (period_start(options.period, end, first) if options.period else first)
    start = max(start, first)
    if start >= end:
        raise InvalidInput(f"nothing to measure: the ledger starts on {first}")
    prices = (versions[1], versions[2]) if versions else None
    token = _closes_token(store, prices, own_closes) if closes_cache is not None else None
    frames = _frames(store, history, ledger, start, end, options, closes_cache, token)
    if batch is not None and token is not None and token[0] is None:
        quotes = batch.quotes(store, end)  # no closes of their own: the market's
    else:
        quotes = store.latest_quotes(end)
    state = replayed(ledger_cache, store.user_id, known, ledger, as_of=end)
    totals = _totals(state, quotes, options.account, kind, start, end)
    bench_of = bench_key or benchmark_key(store, options.benchmark)
    bench, bench_failure = _cached(
        store,
        closes_cache,
        token,
        ("benchmark", bench_of, start, end),
        lambda: _benchmark_closes(store, market, bench_of, start, end),
    )
    if bench_failure is not None:
        frames.warnings.append(f"the benchmark's closes could not be fetched: {bench_failure}")
    return _report(options, start, end, frames, bench, totals)


def _frames(
    store: LedgerStore,
    history: LedgerHistory,
    ledger: Sequence[Transaction],
    start: date,
    end: date,
    options: Options,
    cache: ClosesCache | None,
    token: tuple[object, ...] | None,
) -> Frames:
    keys = [k for k in history.instruments if k.asset_type is not AssetType.CASH]
    lookback = start - timedelta(days=DEFAULT_CARRY_LIMIT)

    stored = _read_closes(store, cache, token, keys, lookback, end)
    closes = {k: c for k, (c, _) in stored.items()}
    mixed = sorted(f"{k.symbol} ({left})" for k, (_, left) in stored.items() if left)
    unpriced: list[str] = []
    for key in keys:
        if key not in closes:  # no close at all: its own trade prices stand in
            traded = _trade_prices(ledger, key, end)
            if traded is not None:
                closes[key] = traded
                unpriced.append(key.symbol)
    currencies = set(history.currencies) | {c.currency for c in closes.values()}
    currencies |= {f.currency for f in history.unit_flows}
    pairs = {
        c: InstrumentKey(f"{c}{BASE_CURRENCY}", AssetType.CASH)
        for c in sorted(currencies - {BASE_CURRENCY})
    }

    rates = _read_closes(store, cache, token, list(pairs.values()), lookback, end)
    fx = {c: rates[p][0] for c, p in pairs.items() if p in rates}
    frames = build_frames(
        history, closes, fx, start=start, end=end, base=BASE_CURRENCY, calendar=options.calendar
    )
    if mixed:
        frames.warnings.append(
            f"closes in another currency than each instrument's latest close were left out: "
            f"{', '.join(mixed)}"
        )
    if unpriced:
        frames.warnings.append(
            f"no closes of {', '.join(sorted(unpriced))}: valued at the prices of their own "
            "trades (carried forward); import or refresh closes for a true value"
        )
    return frames


def _trade_prices(ledger: Sequence[Transaction], key: InstrumentKey, end: date) -> Closes | None:
    """An instrument's own trade prices by day (the last of each day), oldest first."""
    by_day: dict[date, Decimal] = {}
    currency = BASE_CURRENCY
    for txn in ledger:
        priced = txn.price is not None and txn.price > 0
        if txn.instrument == key and priced and txn.traded_on <= end:
            by_day[txn.traded_on] = txn.price  # type: ignore[assignment]
            currency = txn.currency
    if not by_day:
        return None
    days = sorted(by_day)
    return Closes.of(days, [by_day[d] for d in days], currency)


@dataclass(frozen=True)
class _Totals:
    cost_basis: Decimal | None
    unrealized: Decimal | None
    realized: Decimal | None
    warnings: list[str]


def _totals(
    state: LedgerState,
    quotes: dict[InstrumentKey, Quote],
    account: str | None,
    kind: AssetType | None,
    start: date,
    end: date,
) -> _Totals:
    """Cost basis and unrealized gain of what the scope holds at the end (base currency
    only, at ``quotes``: the latest on that day), and the gains it realized in the period."""
    basis: Decimal | None = Decimal(0)
    unrealized: Decimal | None = Decimal(0)
    warnings: list[str] = []
    for lot in state.open_lots():
        if account is not None and lot.account != account:
            continue
        if kind is not None and lot.instrument.asset_type != kind:
            continue
        if lot.currency != BASE_CURRENCY:
            warnings.append(f"{lot.instrument} is held in {lot.currency}: not in the totals")
            continue
        quote = quotes.get(lot.instrument)
        if lot.cost_basis is None or basis is None:
            if basis is not None:
                warnings.append(
                    f"{lot.instrument} has units of unknown cost basis: the cost basis and "
                    "unrealized gain are unknown (`quantdesk lots` shows them)"
                )
            basis = unrealized = None
            continue
        basis += lot.cost_basis
        if unrealized is not None:
            if quote is None or quote.currency != lot.currency:
                warnings.append(f"{lot.instrument} has no price: the unrealized gain is unknown")
                unrealized = None
            else:
                unrealized += lot.quantity * quote.price - lot.cost_basis
    realized: Decimal | None = Decimal(0)
    for disposal in state.disposals:
        if account is not None and disposal.account != account:
            continue
        if kind is not None and disposal.instrument.asset_type != kind:
            continue
        if not start < disposal.disposed_on <= end or disposal.currency != BASE_CURRENCY:
            continue
        gain = disposal.gain
        if gain is None and realized is not None:
            warnings.append(
                f"a sale of {disposal.instrument} on {disposal.disposed_on} has an unknown "
                "cost basis: the realized gain is unknown"
            )
        realized = None if gain is None or realized is None else realized + gain
    return _Totals(basis, unrealized, realized, sorted(set(warnings)))


def _benchmark_closes(
    store: LedgerStore, market: MarketData | None, key: InstrumentKey, start: date, end: date
) -> tuple[Closes | None, str | None]:
    """The benchmark's closes from the market (stored ones when it cannot answer), and
    why the market could not answer, if it could not."""
    lookback = start - timedelta(days=DEFAULT_CARRY_LIMIT)
    failure = None
    if market is not None:
        try:
            found = market.history(MarketSymbol(key.symbol, key.asset_type), lookback, end)
        except ProviderError as error:
            found, failure = None, str(error)
        if found is not None and found.bars:
            days = [b.day for b in found.bars]
            return Closes.of(days, [b.close for b in found.bars], found.currency), None
    stored = store.daily_closes([key], lookback, end)
    return (_closes(stored[key]) if key in stored else None), failure


def _closes(stored: DailyCloses) -> Closes:
    return Closes.of(stored.days, stored.closes, stored.currency)


def _report(
    options: Options,
    start: date,
    end: date,
    frames: Frames,
    bench: Closes | None,
    totals: _Totals,
) -> Report:
    warnings = list(frames.warnings) + totals.warnings
    values, flows, days = frames.values, frames.flows, frames.days
    live = np.flatnonzero(values > 0)
    if len(live) == 0:
        why = "; ".join(frames.warnings)
        raise InvalidInput(
            "no day of the period could be valued" + (f": {why}" if why else " (nothing held)")
        )
    begin = int(live[0])  # the series starts on the first day with something held
    if begin:
        frames = _slice(frames, begin)
        values, flows, days = frames.values, frames.flows, frames.days
    returns = twr_returns(values, flows)
    dead = ~np.isfinite(returns)
    return_days = list(days[1:])
    bench_returns = _aligned_benchmark(bench, days) if bench is not None else None
    if dead.any():
        warnings.append(
            f"{int(dead.sum())} day(s) followed a day worth nothing: no return is measured "
            "over them (they are not observations)"
        )
        live_returns = ~dead
        returns = returns[live_returns]
        return_days = [d for d, keep in zip(return_days, live_returns, strict=True) if keep]
        if bench_returns is not None:
            bench_returns = bench_returns[live_returns]
    if bench is None:
        warnings.append(f"no closes of the benchmark {options.benchmark} in the period")
    elif bench_returns is None:
        warnings.append(f"the benchmark {options.benchmark} has no closes on these days")
    held = np.flatnonzero(frames.units[-1] != 0)
    last_value = float(values[-1])
    asset_returns, weights, symbols = _assets(frames, held, last_value, warnings)
    metrics = metric_set(
        returns,
        return_days,
        start=days[0],
        periods_per_year=frames.annualization,
        risk_free=options.risk_free,
        benchmark_returns=bench_returns,
        asset_returns=asset_returns,
        weights=weights,
        last_value=last_value,
        confidences=options.confidences,
        horizon=options.horizon,
        seed=options.seed,
    )
    warnings.extend(metrics.warnings)
    mwr = _mwr(days, values, flows)
    if mwr is None:
        warnings.append(
            "the money-weighted return has no solution for these flows (XIRR needs money "
            "in and money out with one sign change of its value)"
        )
    return Report(
        options,
        days[0],
        end,
        normalize_symbol(options.benchmark),
        frames,
        returns,
        bench_returns,
        metrics,
        symbols,
        last_value,
        totals.cost_basis,
        totals.unrealized,
        totals.realized,
        _simple_return(values, flows),
        mwr,
        warnings,
    )


def _slice(frames: Frames, begin: int) -> Frames:
    """The frames from day ``begin`` on (whose value then opens the series: no flow)."""
    return replace(
        frames,
        days=frames.days[begin:],
        values=frames.values[begin:],
        flows=np.concatenate([[0.0], frames.flows[begin + 1 :]]),
        holdings=frames.holdings[begin:],
        unit_values=frames.unit_values[begin:],
        units=frames.units[begin:],
    )


def _aligned_benchmark(bench: Closes, days: Sequence[date]) -> Floats | None:
    """The benchmark's returns on the portfolio's days (its closes carried forward)."""
    ords, values = bench.ordinals, bench.array  # computed once per cached series
    at = np.searchsorted(ords, day_ordinals(days), side="right") - 1
    if (at < 0).all() or len(days) < 2:
        return None
    level = np.where(at >= 0, values[np.maximum(at, 0)], np.nan)
    return level[1:] / level[:-1] - 1  # NaN before its first close: left out of beta


def _assets(
    frames: Frames, held: npt.NDArray[np.intp], last_value: float, warnings: list[str]
) -> tuple[Floats | None, Floats | None, list[str]]:
    """Daily returns of the assets held at the end (their common priced days) and their
    end-of-period value weights."""
    symbols = [frames.instruments[k].symbol for k in held]
    if not len(held) or last_value <= 0:
        return None, None, symbols
    units = frames.unit_values[:, held]
    returns = units[1:] / units[:-1] - 1
    complete = np.isfinite(returns).all(axis=1)
    if not complete.all():
        warnings.append(
            f"asset returns on {int((~complete).sum())} day(s) left out of correlation and "
            "contributions: not every holding had a close"
        )
    returns = returns[complete]
    weights = frames.holdings[-1, held] / last_value
    return returns, weights, symbols


def _simple_return(values: Floats, flows: Floats) -> float | None:
    inflows = float(flows[1:][flows[1:] > 0].sum())
    base = float(values[0]) + inflows
    if base <= 0:
        return None
    gain = float(values[-1] - values[0] - flows[1:].sum())
    return gain / base


def _mwr(days: Sequence[date], values: Floats, flows: Floats) -> float | None:
    moved = np.flatnonzero(flows[1:]) + 1  # the days with a flow, the first aside
    dates = [days[0], *(days[i] for i in moved.tolist()), days[-1]]
    amounts = [-float(values[0]), *(-flows[moved]).tolist(), float(values[-1])]
    return xirr(dates, amounts)


# history and what-if -------------------------------------------------------------------
ROLLING_WINDOWS = (63, 252)


@dataclass(frozen=True)
class HistoryRow:
    day: date
    value: float
    flow: float
    daily_return: float | None
    cumulative_return: float
    drawdown: float
    benchmark_cumulative: float | None
    #: Rolling volatility, Sharpe and beta over the last 63 and 252 returns (None before
    #: a window is full), keyed like ``volatility_63``.
    rolling: dict[str, float | None] = field(default_factory=dict)


def history_rows(report: Report) -> list[HistoryRow]:
    """The daily series behind the report (charts and ``quantdesk history``)."""
    r = report.returns
    cumulative = np.concatenate([[0.0], cumulative_returns(r)])
    drawdown = np.concatenate([[0.0], drawdown_series(r)])
    bench = (
        None
        if report.benchmark_returns is None
        else np.concatenate([[0.0], cumulative_returns(report.benchmark_returns)])
    )
    f = report.frames
    a = f.annualization
    series: dict[str, Floats] = {}
    for window in ROLLING_WINDOWS:
        if len(r) < window:
            continue
        series[f"volatility_{window}"] = rolling_volatility(r, window, periods_per_year=a)
        series[f"sharpe_{window}"] = rolling_sharpe(
            r, window, risk_free=report.options.risk_free, periods_per_year=a
        )
        if report.benchmark_returns is not None:
            series[f"beta_{window}"] = rolling_beta(r, report.benchmark_returns, window)

    def rolling_at(t: int) -> dict[str, float | None]:
        if t == 0:
            return {}
        return {
            name: float(values[t - 1]) if np.isfinite(values[t - 1]) else None
            for name, values in series.items()
        }

    return [
        HistoryRow(
            day,
            float(f.values[t]),
            float(f.flows[t]),
            None if t == 0 else float(r[t - 1]),
            float(cumulative[t]),
            float(drawdown[t]),
            None if bench is None else float(bench[t]),
            rolling_at(t),
        )
        for t, day in enumerate(f.days)
    ]


@dataclass(frozen=True)
class WhatIf:
    """The metric set of the current holdings and of the hypothetical ones, each held
    through the period (buy and hold), side by side."""

    current: MetricSet
    hypothetical: MetricSet
    quantities: dict[str, tuple[float, float]]


class WhatIfEngine:
    """Prepared once per report; each :meth:`evaluate` is pure numpy (a grid keystroke)."""

    def __init__(self, report: Report) -> None:
        f = report.frames
        self.report = report
        self.symbols = [k.symbol for k in f.instruments]
        self.units = f.units[-1].copy()
        self.model = HoldingsModel(
            f.unit_values,
            float(f.values[-1] - f.holdings[-1].sum()),
            f.days,
            f.annualization,
            report.benchmark_returns,
        )

    def metrics(self, quantities: Floats, cash: float | None = None) -> MetricSet:
        """The metric set of holding ``quantities`` (per symbol, in :attr:`symbols`'
        order) and the cash (the portfolio's own, or ``cash``) through the period."""
        options = self.report.options
        return self.model.metrics(
            quantities,
            risk_free=options.risk_free,
            confidences=options.confidences,
            horizon=options.horizon,
            seed=options.seed,
            cash=cash,
        )

    @cached_property
    def current(self) -> MetricSet:
        """The current holdings' set: the same for every what-if of one report."""
        return self.metrics(self.units)

    def evaluate(self, changes: Mapping[str, float]) -> WhatIf:
        hypothetical = self.units.copy()
        for symbol, delta in changes.items():
            if symbol not in self.symbols:
                raise InvalidInput(
                    f"{symbol} is not in this portfolio's history: what-if changes what is held"
                )
            hypothetical[self.symbols.index(symbol)] += delta
        if (hypothetical < 0).any():
            raise InvalidInput("a what-if cannot hold fewer than 0 units")
        return WhatIf(
            self.current,
            self.metrics(hypothetical),
            {
                s: (float(self.units[k]), float(hypothetical[k]))
                for k, s in enumerate(self.symbols)
                if self.units[k] or hypothetical[k]
            },
        )
