"""Market prices for the user's ledger: refresh every held symbol, show one symbol.

A refresh asks the price cache for the latest quote of every instrument in the ledger
(and of the FX pair of every other currency than the base currency into it)
(one batched call per provider batch, none for what is fresh) and for the daily closes
the analytics read, to yesterday (stored for good: later refreshes fetch only the new
days): each instrument's from its first trade date, and the benchmark's from the
ledger's first day, each less the days a close is carried forward
(``DEFAULT_CARRY_LIMIT``: a first trade on a day without a close is valued at the close
before). So analytics computed after a refresh ask no provider, and a job worker that
reads only stored closes computes the same numbers as an API worker. Under the simulated
market the closes are made locally and stored labelled ``simulated``, where only a
simulated ledger sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from quantdesk.analytics.frames import DEFAULT_CARRY_LIMIT
from quantdesk.domain.errors import InvalidInput, ProviderError, UnknownSymbol
from quantdesk.domain.instruments import (
    AssetType,
    Instrument,
    InstrumentKey,
    first_priced,
    normalize_symbol,
)
from quantdesk.domain.market import Bar, History, LiveQuote, MarketSymbol, fx_pair
from quantdesk.services.ports import CloseSink, LedgerStore, MarketData, UnitOfWork

MARKETS = ("live", "simulated")
#: The currency every holding converts into until users choose their own base currency.
BASE_CURRENCY = "USD"
PROVIDERS = ("yahoo", "coingecko", "alphavantage")


def market_symbol(instrument: Instrument) -> MarketSymbol:
    return MarketSymbol(
        instrument.symbol, instrument.asset_type, instrument.currency, instrument.provider_ids
    )


@dataclass
class RefreshReport:
    """What a refresh did, symbol by symbol."""

    market: str
    offline: bool
    symbols: list[str] = field(default_factory=list)
    quotes: dict[str, LiveQuote] = field(default_factory=dict)
    closes: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: Instruments no provider can be asked about until their asset type is known.
    untyped: list[str] = field(default_factory=list)

    @property
    def stale(self) -> list[str]:
        return sorted(s for s, q in self.quotes.items() if q.stale)


def benchmark_of(symbol: str, known: Iterable[Instrument]) -> InstrumentKey:
    """The benchmark ``symbol``'s instrument: the :func:`first_priced` of ``known``
    (instruments of that symbol), else an ETF."""
    first = first_priced(known)
    return InstrumentKey(symbol, AssetType.ETF) if first is None else first.key


def benchmark_key(store: LedgerStore, name: str) -> InstrumentKey:
    """The benchmark's instrument: the ledger's own if it knows the symbol, else an ETF."""
    symbol = normalize_symbol(name)
    first = store.first_priced_instrument(symbol)
    return benchmark_of(symbol, [] if first is None else [first])


def refresh_prices(
    uow: UnitOfWork,
    market: MarketData | None,
    *,
    clock: Callable[[], datetime],
    simulated: CloseSink | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    benchmark: str | None = None,
) -> RefreshReport:
    """Quotes and daily closes of every instrument in the ledger, and the closes of
    ``benchmark`` (the user's, for their analytics) over the ledger's span.

    ``market`` None means offline: nothing is fetched and the report says so. With
    ``simulated`` the closes go to that sink (labelled simulated) rather than to the
    permanent store of provider closes.
    """
    with uow(commit=False) as store:
        held = store.priced_instruments()
        currencies = store.ledger_currencies()
        benchmarks: list[tuple[MarketSymbol, date]] = []
        first = store.ledger_first_day() if benchmark is not None and held else None
        if benchmark is not None and first is not None:
            key = benchmark_key(store, benchmark)
            benchmarks.append((MarketSymbol(key.symbol, key.asset_type), first))
    return refresh_held(
        held,
        currencies,
        market,
        clock=clock,
        simulated=simulated,
        progress=progress,
        benchmarks=benchmarks,
    )


def benchmark_symbols(
    held: list[tuple[Instrument, date]], chosen: Mapping[str | None, date], default: str
) -> list[tuple[MarketSymbol, date]]:
    """The benchmarks the users of a market chose (None: ``default``), each with the
    first day of the earliest ledger that compares with it, typed by
    :func:`benchmark_of` over what the market's users hold."""
    firsts: dict[str, date] = {}
    for name, first in chosen.items():
        symbol = normalize_symbol(name or default)
        firsts[symbol] = min(first, firsts.get(symbol, first))
    found = []
    for symbol, first in sorted(firsts.items()):
        key = benchmark_of(symbol, (i for i, _ in held if i.symbol == symbol))
        found.append((MarketSymbol(key.symbol, key.asset_type), first))
    return found


def refresh_held(
    held: list[tuple[Instrument, date]],
    currencies: set[str],
    market: MarketData | None,
    *,
    clock: Callable[[], datetime],
    simulated: CloseSink | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    benchmarks: Sequence[tuple[MarketSymbol, date]] = (),
) -> RefreshReport:
    """Quotes and daily closes of the instruments ``held`` (each with the first day it
    was traded, from when its closes are fetched) and of the FX pairs of ``currencies``:
    one user's ledger, or every user's of one market at once (``jobs.refresh_all``).
    ``benchmarks``: instruments whose closes alone are fetched (no quote), each from
    the first day of a ledger that compares with it."""
    report = RefreshReport("simulated" if simulated else "live", market is None)
    currencies = set(currencies)
    wanted: list[tuple[MarketSymbol, date]] = []
    for instrument, first_day in held:
        if instrument.asset_type is AssetType.UNKNOWN:
            report.untyped.append(instrument.symbol)
            continue
        wanted.append((market_symbol(instrument), first_day))
        currencies.add(instrument.currency)
    if wanted:  # the FX rates that convert every holding into the base currency
        since = min(first for _, first in wanted)
        wanted.extend(
            (fx_pair(c, BASE_CURRENCY), since)
            for c in sorted(currencies - {BASE_CURRENCY})
            if len(c) == 3  # ISO currencies; a coin code is priced as a coin, not as FX
        )
    report.symbols = [s.symbol for s, _ in wanted]
    if market is None or not wanted:
        return report
    answer = market.quotes([s for s, _ in wanted])
    report.quotes = dict(answer.quotes)
    report.errors.update({s: str(e) for s, e in answer.errors.items()})
    yesterday = clock().date() - timedelta(days=1)
    fetching = _closes_wanted(wanted, benchmarks)
    for done, (symbol, first_day) in enumerate(fetching, start=1):
        if progress is not None:
            progress(symbol.symbol, done, len(fetching))
        if first_day > yesterday:
            continue
        try:
            if simulated is None:  # stored as fetched: only their count is reported
                report.closes[symbol.symbol] = market.stored_closes(symbol, first_day, yesterday)
                continue
            history = market.history(symbol, first_day, yesterday)
        except ProviderError as error:
            report.errors.setdefault(symbol.symbol, str(error))
            continue
        simulated.store_closes(symbol, history)
        report.closes[symbol.symbol] = len(history.bars)
    return report


def _closes_wanted(
    wanted: list[tuple[MarketSymbol, date]], benchmarks: Sequence[tuple[MarketSymbol, date]]
) -> list[tuple[MarketSymbol, date]]:
    """Whose closes a refresh fetches, and from when: what it quotes and the benchmarks
    (once each, from the earliest day either needs), each from ``DEFAULT_CARRY_LIMIT``
    days before its first day (the analytics carry a close that far forward)."""
    since: dict[str, tuple[MarketSymbol, date]] = {}
    for symbol, first in [*wanted, *benchmarks]:
        found = since.get(symbol.key)
        if found is None or first < found[1]:
            since[symbol.key] = (found[0] if found else symbol, first)
    carry = timedelta(days=DEFAULT_CARRY_LIMIT)
    return [(symbol, first - carry) for symbol, first in since.values()]


@dataclass(frozen=True)
class PriceView:
    """One symbol's latest quote (or why there is none) and its recent closes."""

    symbol: MarketSymbol
    quote: LiveQuote | None
    error: str | None
    history: History | None
    history_error: str | None


def show_prices(
    uow: UnitOfWork,
    market: MarketData,
    symbol_text: str,
    *,
    clock: Callable[[], datetime],
    days: int = 30,
    asset_type: str | None = None,
) -> PriceView:
    """The latest quote and the last ``days`` days of closes of one symbol: an instrument
    of the ledger, or (with ``asset_type``) any symbol the providers know. The user's own
    closes take the place of the market's on the days they cover."""
    today = clock().date()
    start = today - timedelta(days=days)
    with uow(commit=False) as store:
        symbol = _lookup(store, normalize_symbol(symbol_text), asset_type)
        own = store.own_closes(InstrumentKey(symbol.symbol, symbol.asset_type), start, today)
    answer = market.quotes([symbol])
    quote = answer.quotes.get(symbol.symbol)
    error = answer.errors.get(symbol.symbol)
    try:
        history: History | None = market.history(symbol, start, today)
        history_error = None
    except ProviderError as failure:
        history, history_error = None, str(failure)
    if own:
        history = _with_own_closes(symbol, history, own)
    return PriceView(symbol, quote, str(error) if error else None, history, history_error)


def _with_own_closes(
    symbol: MarketSymbol, history: History | None, own: list[tuple[date, Decimal]]
) -> History:
    """The market's closes with the user's own in their place on the days they cover."""
    days = {bar.day: bar for bar in history.bars} if history else {}
    days.update({day: Bar(day, close) for day, close in own})
    sources = {"user"} | ({history.source} if history and history.source else set())
    currency = history.currency if history else symbol.currency
    bars = tuple(days[d] for d in sorted(days))
    return History(symbol.symbol, currency, ",".join(sorted(sources)), bars)


def _lookup(store: LedgerStore, symbol: str, asset_type: str | None) -> MarketSymbol:
    kind = AssetType.parse(asset_type) if asset_type else None
    known = [
        i
        for i in store.instruments_by_symbol([symbol]).get(symbol, [])
        if i.asset_type is not AssetType.CASH and (kind is None or i.asset_type is kind)
    ]
    if len(known) == 1 and known[0].asset_type is not AssetType.UNKNOWN:
        return market_symbol(known[0])
    if kind is not None:
        return MarketSymbol(symbol, kind)
    if len(known) > 1:
        kinds = ", ".join(sorted(i.asset_type.value for i in known))
        raise InvalidInput(f"{symbol} is several instruments ({kinds}): say which with --type")
    raise InvalidInput(
        f"{symbol} has no known asset type in your ledger: say which with --type "
        "(stock, etf, fund, bond, crypto)"
    )


def set_provider_id(
    uow: UnitOfWork, symbol_text: str, provider: str, provider_id: str | None
) -> Instrument:
    """Fix the id a provider knows a symbol by (e.g. a CoinGecko id for a shared ticker)."""
    if provider not in PROVIDERS:
        raise InvalidInput(f"unknown provider {provider!r} (one of {', '.join(PROVIDERS)})")
    with uow() as store:
        return store.set_provider_id(normalize_symbol(symbol_text), provider, provider_id)


def user_market(uow: UnitOfWork) -> str:
    with uow(commit=False) as store:
        return store.market()


def choose_market(uow: UnitOfWork, market: str) -> str:
    """Make ``market`` (live or simulated) this user's market for good; the market now."""
    if market not in MARKETS:
        raise InvalidInput(f"unknown market {market!r} (one of {', '.join(MARKETS)})")
    with uow() as store:
        store.set_market(market)
        return store.market()


@dataclass(frozen=True)
class Resolved:
    instrument: Instrument
    quote: LiveQuote | None
    error: str | None


def resolve_instrument(
    uow: UnitOfWork,
    market: MarketData | None,
    symbol: str,
    asset_type: AssetType,
    currency: str,
    *,
    clock: Callable[[], datetime],
) -> Resolved:
    """The instrument of a symbol and type with its latest quote. A symbol that is new to
    quantdesk is created only if the market knows it (an unknown one raises
    :class:`UnknownSymbol` and creates nothing); offline, it is created unquoted."""
    with uow(commit=False) as store:
        known = [
            i
            for i in store.instruments_by_symbol([symbol]).get(symbol, [])
            if i.asset_type is asset_type
        ]
    wanted = known[0] if known else Instrument(symbol, asset_type, currency)
    quote: LiveQuote | None = None
    error: str | None = "offline: no provider is asked"
    if market is not None:
        result = market.quotes([market_symbol(wanted)])
        quote = result.quotes.get(symbol)
        failure = result.errors.get(symbol)
        if quote is None and isinstance(failure, UnknownSymbol) and not known:
            raise failure
        error = None if quote is not None else str(failure or "no quote")
    if known:
        return Resolved(known[0], quote, error)
    with uow() as store:
        ids = store.ensure_instruments([wanted], clock())
    return Resolved(Instrument(symbol, asset_type, currency, id=ids[wanted.key]), quote, error)


@dataclass(frozen=True)
class Quotes:
    quotes: dict[str, LiveQuote]
    errors: dict[str, str]


def ledger_quotes(uow: UnitOfWork, market: MarketData | None, symbols: list[str]) -> Quotes:
    """Latest quotes of known instruments (an unknown symbol or one of two asset types
    is an error for that symbol, not for the request)."""
    errors: dict[str, str] = {}
    wanted: list[MarketSymbol] = []
    with uow(commit=False) as store:
        for symbol in dict.fromkeys(symbols):
            try:
                wanted.append(_lookup(store, symbol, None))
            except InvalidInput as error:
                errors[symbol] = str(error)
    if market is None:
        errors.update({s.symbol: "offline: no provider is asked" for s in wanted})
        return Quotes({}, errors)
    answer = market.quotes(wanted) if wanted else None
    found = dict(answer.quotes) if answer else {}
    if answer:
        errors.update({s: str(e) for s, e in answer.errors.items()})
    return Quotes(found, errors)
