"""A deterministic offline market: realistic-looking prices for a fixed universe, no network.

Used by the demo and by tests. The same seed gives the same prices, bit for bit, whatever
was asked before and in whatever order. Conventions:

* **Model.** Daily log-returns on every calendar day from :data:`EPOCH` (2000-01-01): a drift,
  plus loadings on independent common factors (equity market, growth, rates, gold, crypto,
  US dollar), plus an idiosyncratic shock. Factor and idiosyncratic shocks are Student-t with
  4 degrees of freedom scaled to unit variance (fat tails). Closes are
  ``anchor * exp(cumulative log-return since ANCHOR_DAY)``; see ``simulated_universe`` for the
  anchors, volatilities, drifts (capped after the anchor day) and loadings. A stablecoin
  (USDC) is pegged: its log-price is white noise around the anchor, not a random walk.
* **Determinism.** Shocks come in blocks of one calendar year, each drawn from generators
  seeded by ``(seed, year)`` for the factors and ``(seed, year, instrument)`` for each
  instrument, so a block never depends on what else was generated. Blocks are cached per
  instance (behind a lock: the market cache calls providers from many threads).
* **Calendars.** Stocks, ETFs and funds close on NYSE sessions (``exchange_calendars``,
  ``XNYS``, with its early closes); coins every calendar day at midnight UTC; FX pairs every
  weekday (Monday to Friday, UTC days). The returns of the calendar days between two closes
  (weekends, holidays) are folded into the next close, as news over a weekend moves Monday's
  open. Nothing trades before an instrument's listing day or after :data:`LAST_DAY`.
* **Rounding.** Closes are ``Decimal`` built from text rounded half-even from the model's
  float: stocks, ETFs and funds to cents (more places below 1), coins to 8 significant
  digits, FX to 6 places (more below 0.1).
* **FX.** The six majors are simulated against USD; any pair of USD, EUR, GBP, JPY, CHF, CAD
  and AUD is served as their ratio, so ``USDEUR`` is ``1 / EURUSD``.
* **Quotes.** While an instrument's market is open (NYSE session hours; coins always; FX on
  weekdays), a quote is the previous close moved by the elapsed fraction of the session
  times the day's log-return, plus noise with a Brownian bridge's spread (zero at the open
  and the close) drawn from (seed, symbol, minute); ``as_of`` is ``now`` truncated to the
  minute. While closed, it is the last close, and ``as_of`` that session's close time (UTC).
"""

from __future__ import annotations

import functools
import math
import threading
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from quantdesk.domain.errors import ProviderError, UnknownSymbol
from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import (
    Bar,
    History,
    LiveQuote,
    MarketSymbol,
    QuoteBatch,
    Resolution,
    fx_pair,
)
from quantdesk.market.providers.simulated_universe import (
    ALIASES,
    ANCHOR_DAY,
    EPOCH,
    FACTORS,
    FORWARD_DRIFT,
    LAST_DAY,
    SPECS,
)

__all__ = ["EPOCH", "LAST_DAY", "SimulatedMarket", "asset_class_of", "universe"]

NAME = "simulated"
NOTE = "simulated market: not real prices"

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]

_DT = 1 / 365.25  # one calendar day, in years
_DF = 4.0  # Student-t degrees of freedom
_T_SCALE = math.sqrt((_DF - 2) / _DF)  # scales a t(4) draw to unit variance
_NS = 1_000_000_000
_UNIX_ORDINAL = date(1970, 1, 1).toordinal()

_EXCHANGE, _CRYPTO, _FX = "exchange", "crypto", "fx"
#: Ledger asset types that may ask for an instrument of each kind (the name decides the rest).
_ACCEPTS = {
    _EXCHANGE: {AssetType.STOCK, AssetType.ETF, AssetType.FUND},
    _CRYPTO: {AssetType.CRYPTO},
    _FX: {AssetType.CASH},
}
_ANY = {AssetType.OTHER, AssetType.UNKNOWN}
_KIND = {asset_type: kind for kind, types in _ACCEPTS.items() for asset_type in types}
#: (fewest decimal places, fewest significant digits) of a close, per kind.
_ROUNDING = {_EXCHANGE: (2, 3), _CRYPTO: (2, 8), _FX: (6, 6)}

# The model as arrays, one column per instrument of SPECS.
_LOG_ANCHOR = np.log(np.array([spec.price for spec in SPECS]))
_DRIFT = np.array([spec.drift for spec in SPECS]) * _DT
_FORWARD_DRIFT = np.minimum(_DRIFT, FORWARD_DRIFT * _DT)
_ANCHOR = ANCHOR_DAY.toordinal()
_VOL = np.array([spec.vol for spec in SPECS])
_LOADINGS = np.array(
    [[dict(spec.betas).get(f, 0.0) * vol for f, vol in FACTORS.items()] for spec in SPECS]
) * math.sqrt(_DT)
_IDIO = (
    np.sqrt(np.maximum(_VOL**2 - (_LOADINGS**2).sum(axis=1) / _DT, (0.2 * _VOL) ** 2))
    * math.sqrt(_DT)
    * _T_SCALE
)
_IDIO_KEYS = [zlib.crc32((spec.tracks or spec.symbol).encode()) for spec in SPECS]
_QUOTE_KEYS = [zlib.crc32(spec.symbol.encode()) for spec in SPECS]
_PEGGED = np.array([spec.pegged for spec in SPECS])
_LISTED = [spec.listed.toordinal() for spec in SPECS]
#: Each currency's value in USD as signed legs (columns of FX majors).
_USD_VALUE: dict[str, tuple[tuple[int, float], ...]] = {"USD": ()}
for _i, _spec in enumerate(SPECS):
    if _spec.asset_type is AssetType.CASH:
        _base, _quote = _spec.symbol[:3], _spec.symbol[3:]
        if _quote == "USD":
            _USD_VALUE[_base] = ((_i, 1.0),)
        else:
            _USD_VALUE[_quote] = ((_i, -1.0),)


@dataclass(frozen=True, slots=True)
class _Priced:
    """What a symbol resolves to: signed legs whose log-prices add up to its log-price."""

    symbol: str
    asset_type: AssetType
    currency: str
    kind: str
    legs: tuple[tuple[int, float], ...]
    listed: int


_BY_SYMBOL = {
    spec.symbol: _Priced(
        spec.symbol,
        spec.asset_type,
        spec.currency,
        _KIND[spec.asset_type],
        ((i, 1.0),),
        _LISTED[i],
    )
    for i, spec in enumerate(SPECS)
    if spec.asset_type is not AssetType.CASH
}


@functools.cache
def _fx(text: str) -> _Priced | None:
    base, quote = text[:3], text[3:]
    if len(text) != 6 or base == quote or base not in _USD_VALUE or quote not in _USD_VALUE:
        return None
    legs = _USD_VALUE[base] + tuple((i, -sign) for i, sign in _USD_VALUE[quote])
    return _Priced(text, AssetType.CASH, quote, _FX, legs, EPOCH.toordinal())


def _find(text: str) -> _Priced | None:
    key = text.strip().upper()
    key = ALIASES.get(key, key)
    return _BY_SYMBOL.get(key) or _fx(key)


def universe() -> list[MarketSymbol]:
    """Every instrument of the simulated market with its asset type and currency (FX pairs
    both ways; any cross of their currencies is served too)."""
    symbols = [
        MarketSymbol(spec.symbol, spec.asset_type, spec.currency)
        for spec in SPECS
        if spec.asset_type is not AssetType.CASH
    ]
    for spec in SPECS:
        if spec.asset_type is AssetType.CASH:
            base, quote = spec.symbol[:3], spec.symbol[3:]
            symbols += [fx_pair(base, quote), fx_pair(quote, base)]
    return symbols


def asset_class_of(symbol: str) -> AssetType:
    """The asset type of ``symbol`` in the simulated universe; raises UnknownSymbol."""
    priced = _find(symbol)
    if priced is None:
        raise UnknownSymbol(f"{symbol!r} is not in the simulated universe", provider=NAME)
    return priced.asset_type


@dataclass(frozen=True, slots=True)
class _Nyse:
    sessions: _Ints  # date ordinals
    opens: _Ints  # UTC nanoseconds
    closes: _Ints


_NYSE_LOCK = threading.Lock()


@functools.cache
def _build_nyse() -> _Nyse:
    # exchange_calendars trips pandas deprecation warnings while it builds a calendar.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import exchange_calendars  # type: ignore[import-untyped]  # noqa: PLC0415

        calendar = exchange_calendars.get_calendar(
            "XNYS", start=EPOCH.isoformat(), end=LAST_DAY.isoformat()
        )
        days = calendar.sessions.to_numpy().astype("datetime64[D]").astype(np.int64)

        def nanos(times: Any) -> _Ints:
            utc = times.dt.tz_convert(None).to_numpy()
            return np.asarray(utc.astype("datetime64[ns]").astype(np.int64))

        return _Nyse(days + _UNIX_ORDINAL, nanos(calendar.opens), nanos(calendar.closes))


def _nyse() -> _Nyse:
    with _NYSE_LOCK:
        return _build_nyse()


def _days(kind: str, first: int, last: int) -> _Ints:
    """The ordinals of the closes of a ``kind`` from ``first`` to ``last`` inclusive."""
    if first > last:
        return np.empty(0, dtype=np.int64)
    if kind == _EXCHANGE:
        sessions = _nyse().sessions
        lo, hi = np.searchsorted(sessions, [first, last + 1])
        return sessions[lo:hi]
    days = np.arange(first, last + 1, dtype=np.int64)
    return days[(days - 1) % 7 < 5] if kind == _FX else days


def _decimal(value: float, kind: str) -> Decimal:
    fewest, digits = _ROUNDING[kind]
    places = max(fewest, digits - 1 - math.floor(math.log10(value)))
    whole, _, fraction = f"{value:.{places}f}".partition(".")
    return Decimal(f"{whole}.{fraction.rstrip('0').ljust(fewest, '0')}")


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class SimulatedMarket:
    """The simulated market as a :class:`~quantdesk.market.base.Provider` (see the module)."""

    name = NAME
    max_batch = 50

    def __init__(self, seed: int = 7) -> None:
        if seed < 0:
            raise ValueError("the seed of the simulated market must be >= 0")
        self.seed = seed
        self._lock = threading.Lock()
        self._levels: dict[int, _Floats] = {}  # year -> log(close / anchor), day x instrument
        self._starts: dict[int, _Floats] = {}  # year -> log level before its first day
        self._ends: dict[int, _Floats] = {}  # year -> log level after its last day

    # Provider

    def supports(self, symbol: MarketSymbol) -> bool:
        """Any asset type but unknown: whether a name is simulated is for :meth:`resolve`."""
        return symbol.asset_type is not AssetType.UNKNOWN

    def resolve(self, symbol: MarketSymbol) -> Resolution:
        """The canonical symbol in the simulated universe; raises UnknownSymbol."""
        return Resolution(NAME, self._lookup(symbol).symbol, "simulated universe")

    def history(self, symbol: MarketSymbol, start: date, end: date) -> History:
        """Closes on the instrument's calendar from ``start`` to ``end`` inclusive."""
        priced = self._lookup(symbol)
        first = max(start.toordinal(), priced.listed)
        days = _days(priced.kind, first, min(end.toordinal(), LAST_DAY.toordinal()))
        closes = np.exp(self._log_prices(priced, days))
        bars = tuple(
            Bar(date.fromordinal(int(day)), _decimal(float(close), priced.kind))
            for day, close in zip(days, closes, strict=True)
        )
        return History(symbol.symbol, priced.currency, NAME, bars)

    def quotes(self, symbols: Sequence[MarketSymbol], *, now: datetime) -> QuoteBatch:
        """The price of each symbol at ``now`` (aware); unknown ones go to ``errors``."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        quotes: dict[str, LiveQuote] = {}
        errors: dict[str, ProviderError] = {}
        for symbol in symbols:
            try:
                quotes[symbol.symbol] = self._quote(symbol, now)
            except UnknownSymbol as error:
                errors[symbol.symbol] = error
        return QuoteBatch(quotes, errors)

    # Model

    def _lookup(self, symbol: MarketSymbol) -> _Priced:
        priced = _find(symbol.id_for(NAME) or symbol.symbol)
        if priced is None or symbol.asset_type not in _ACCEPTS[priced.kind] | _ANY:
            kind = symbol.asset_type.value
            raise UnknownSymbol(f"no simulated {kind} {symbol.symbol!r}", provider=NAME)
        return priced

    def _quote(self, symbol: MarketSymbol, now: datetime) -> LiveQuote:
        priced = self._lookup(symbol)
        minute = now.astimezone(UTC).replace(second=0, microsecond=0)
        seconds = int(minute.timestamp())
        day = minute.date().toordinal()
        today: int | None = None
        fraction = 0.0
        if priced.kind == _EXCHANGE:
            nyse = _nyse()
            k = int(np.searchsorted(nyse.closes, seconds * _NS, side="right"))
            if k < len(nyse.sessions) and nyse.opens[k] <= seconds * _NS:
                today = int(nyse.sessions[k])
                fraction = (seconds * _NS - nyse.opens[k]) / (nyse.closes[k] - nyse.opens[k])
            previous = int(nyse.sessions[k - 1]) if k > 0 else 0
            closed_at = _utc(int(nyse.closes[k - 1]) // _NS) if k > 0 else minute
        else:
            weekday = (day - 1) % 7
            if priced.kind == _CRYPTO or weekday < 5:
                today = day
                fraction = (seconds % 86400) / 86400
            # FX: Monday's previous close is Friday's, as is Saturday's and Sunday's last one.
            previous = day - (1 if priced.kind == _CRYPTO else {0: 3, 6: 2}.get(weekday, 1))
            closed_at = datetime.combine(date.fromordinal(previous + 1), datetime.min.time(), UTC)
        if previous < max(priced.listed, EPOCH.toordinal()) or day > LAST_DAY.toordinal():
            raise UnknownSymbol(f"no simulated price of {symbol.symbol!r} at {now}", provider=NAME)
        if today is None:
            log_price = float(self._log_prices(priced, np.array([previous]))[0])
            as_of = closed_at
        else:
            before, after = self._log_prices(priced, np.array([previous, today]))
            wiggle = math.sqrt(fraction * (1 - fraction) * _DT)
            log_price = float(before + fraction * (after - before))
            for i, sign in priced.legs:
                rng = np.random.default_rng([self.seed, 2, _QUOTE_KEYS[i], seconds // 60])
                log_price += sign * _VOL[i] * wiggle * float(rng.standard_normal())
            as_of = minute
        price = _decimal(math.exp(log_price), priced.kind)
        return LiveQuote(symbol.symbol, price, priced.currency, as_of, NAME, now, note=NOTE)

    def _log_prices(self, priced: _Priced, days: _Ints) -> _Floats:
        """Log closes of ``priced`` on ``days`` (ascending date ordinals)."""
        out = np.zeros(len(days))
        if not len(days):
            return out
        first_year = date.fromordinal(int(days[0])).year
        last_year = date.fromordinal(int(days[-1])).year
        rows = days - date(first_year, 1, 1).toordinal()
        for i, sign in priced.legs:
            column = np.concatenate(
                [self._year(year)[:, i] for year in range(first_year, last_year + 1)]
            )
            out += sign * (column[rows] + _LOG_ANCHOR[i])
        return out

    def _year(self, year: int) -> _Floats:
        """Log levels of every instrument on every day of ``year`` (generated once)."""
        with self._lock:
            levels = self._levels.get(year)
            if levels is not None:
                return levels
            anchor = ANCHOR_DAY.year
            step = 1 if year >= anchor else -1
            for y in range(anchor, year + step, step):
                if y not in self._levels:
                    self._generate(y)
            return self._levels[year]

    def _generate(self, year: int) -> None:
        returns = self._returns(year)
        cumulative = np.cumsum(returns, axis=0)
        anchor = ANCHOR_DAY.year
        if year == anchor:
            start = -cumulative[_ANCHOR - date(anchor, 1, 1).toordinal()]
        elif year > anchor:
            start = self._ends[year - 1]
        else:
            start = self._starts[year + 1] - cumulative[-1]
        levels = start + cumulative
        self._starts[year], self._ends[year] = start, levels[-1].copy()
        # A pegged coin's log level is its day's shock itself (daily changes keep their vol).
        levels[:, _PEGGED] = returns[:, _PEGGED] / math.sqrt(2)
        levels.flags.writeable = False
        self._levels[year] = levels

    def _returns(self, year: int) -> _Floats:
        """Daily log-returns of every instrument over ``year`` (fixed by seed and year)."""
        days = date(year + 1, 1, 1).toordinal() - date(year, 1, 1).toordinal()
        factors = np.random.default_rng([self.seed, year, 0, 0]).standard_t(
            _DF, size=(days, len(FACTORS))
        )
        returns = np.empty((days, len(SPECS)))
        for i, key in enumerate(_IDIO_KEYS):
            returns[:, i] = np.random.default_rng([self.seed, year, 1, key]).standard_t(_DF, days)
        returns *= _IDIO
        factors *= _T_SCALE
        for k in range(len(FACTORS)):
            returns += factors[:, k : k + 1] * _LOADINGS[:, k]
        through_anchor = min(max(_ANCHOR - date(year, 1, 1).toordinal() + 1, 0), days)
        returns[:through_anchor] += _DRIFT
        returns[through_anchor:] += _FORWARD_DRIFT
        return returns
