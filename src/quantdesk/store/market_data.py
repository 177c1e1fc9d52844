"""Provider prices in the database: permanent daily closes with their covered range, and
the last known quote of each symbol. Shared by every user; satisfies the price cache's
``BarStore`` and the embedded backend's ``QuoteStore``.

Each call runs in its own short transaction, so the cache can call it from any thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    distinct,
    func,
    select,
    union,
    update,
)

from quantdesk.domain.instruments import AssetType, Instrument, InstrumentKey
from quantdesk.domain.market import Bar, History, LiveQuote, MarketSymbol
from quantdesk.domain.money import derived
from quantdesk.store.repositories import (
    COIN_SYMBOLS,
    ensure_instruments,
    insert_skipping_duplicates,
    instrument_of_row,
)
from quantdesk.store.tables import (
    accounts,
    instruments,
    price_coverage,
    price_revisions,
    prices,
    quotes,
    transactions,
    user_settings,
    users,
)


@dataclass(frozen=True)
class HeldByMarket:
    """What the users of one market hold, taken together: each instrument (cash aside)
    with the first day any of them traded it, and their accounts' currencies."""

    held: list[tuple[Instrument, date]]
    currencies: set[str]
    #: Each benchmark the users chose (None: those who kept the default), with the first
    #: day of the earliest of their ledgers.
    benchmarks: dict[str | None, date] = field(default_factory=dict)


def instrument_ids(
    conn: Connection, wanted: Iterable[MarketSymbol], now: datetime, *, create: bool = True
) -> dict[InstrumentKey, int]:
    """Ids of the instruments of ``wanted``, creating the missing ones when ``create``
    (an FX pair or a symbol only priced so far)."""
    return ensure_instruments(
        conn, (Instrument(s.symbol, s.asset_type, s.currency) for s in wanted), now, create=create
    )


def market_of(source: str) -> str:
    """The market a close or quote of ``source`` belongs to: ``simulated``, or ``live``
    for every provider's."""
    return "simulated" if source == "simulated" else "live"


def bump_price_revision(conn: Connection, market: str, *, quotes: bool = False) -> None:
    """Note that closes of ``market`` changed (``quotes``: its live quotes), in the
    transaction that changed them."""
    column = price_revisions.c.quotes_revision if quotes else price_revisions.c.revision
    bump = (
        update(price_revisions)
        .where(price_revisions.c.market == market)
        .values({column: column + 1})
    )
    if conn.execute(bump).rowcount == 0:
        conn.execute(
            insert_skipping_duplicates(conn.dialect.name, price_revisions),
            [{"market": market, "revision": 0}],
        )
        conn.execute(bump)


def _insert_closes(conn: Connection, instrument_id: int, history: History) -> None:
    """Store a history's closes; a day already stored from the same source is kept.
    The days already stored are read first and only the others sent (a refresh of the
    simulated market hands over years of closes to add one day: building the insert of
    all of them cost seconds). Inserted as multi-row statements, whose row counts every
    engine reports exactly (an executemany's it does not), so that only new closes move
    the price revision; a close another process stored meanwhile is skipped."""
    if not history.bars:
        return
    days = [bar.day for bar in history.bars]
    stored = set(
        conn.execute(
            select(prices.c.day).where(
                prices.c.instrument_id == instrument_id,
                prices.c.source == history.source,
                prices.c.day >= min(days),
                prices.c.day <= max(days),
            )
        ).scalars()
    )
    rows = [
        {
            "instrument_id": instrument_id,
            "day": bar.day,
            "source": history.source,
            "close": derived(bar.close),
            "currency": history.currency,
        }
        for bar in history.bars
        if bar.day not in stored
    ]
    added = 0
    postgres = conn.dialect.name == "postgresql"  # psycopg reports no count for this insert
    for start in range(0, len(rows), _CLOSES_PER_STATEMENT):
        chunk = rows[start : start + _CLOSES_PER_STATEMENT]
        statement = insert_skipping_duplicates(conn.dialect.name, prices).values(chunk)
        if postgres:
            added += len(conn.execute(statement.returning(prices.c.day)).all())
        else:
            count = conn.execute(statement).rowcount
            added += count if count is not None and count >= 0 else len(chunk)
    if added:
        bump_price_revision(conn, market_of(history.source))


def _is_instrument(symbol: MarketSymbol) -> tuple[ColumnElement[bool], ...]:
    return (
        instruments.c.symbol == symbol.symbol,
        instruments.c.asset_type == symbol.asset_type.value,
    )


def _instrument_params(symbol: MarketSymbol) -> dict[str, str]:
    return {"symbol": symbol.symbol, "asset_type": symbol.asset_type.value}


# A refresh asks these for every symbol it holds: built once, with bound parameters.
_THE_INSTRUMENT = (
    instruments.c.symbol == bindparam("symbol"),
    instruments.c.asset_type == bindparam("asset_type"),
)
_COVERAGE = (
    select(price_coverage.c.first_day, price_coverage.c.last_day)
    .join(instruments, instruments.c.id == price_coverage.c.instrument_id)
    .where(*_THE_INSTRUMENT)
)
_COUNT_CLOSES = (
    select(func.count(distinct(prices.c.day)))
    .join(instruments, instruments.c.id == prices.c.instrument_id)
    .where(
        *_THE_INSTRUMENT,
        prices.c.day >= bindparam("start"),
        prices.c.day <= bindparam("end"),
        prices.c.source != "simulated",
    )
)

#: Rows per multi-row insert: 5 parameters each stays under every engine's limit.
_CLOSES_PER_STATEMENT = 1_000


class SqlMarketData:
    """Daily closes, their coverage and last known quotes, in the database."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def _id(self, conn: Connection, symbol: MarketSymbol) -> int:
        return instrument_ids(conn, [symbol], self.clock())[
            InstrumentKey(symbol.symbol, symbol.asset_type)
        ]

    def held_by_market(self) -> dict[str, HeldByMarket]:
        """Every user's holdings by market, each instrument once: what a scheduled
        refresh fetches (once per symbol, however many users hold it)."""
        first = (
            select(
                users.c.market,
                transactions.c.instrument_id,
                func.min(transactions.c.trade_date).label("first_day"),
            )
            .join(users, users.c.id == transactions.c.user_id)
            .where(transactions.c.instrument_id.is_not(None))
            .group_by(users.c.market, transactions.c.instrument_id)
            .subquery()
        )
        found: dict[str, HeldByMarket] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(instruments, first.c.market, first.c.first_day)
                .join(first, first.c.instrument_id == instruments.c.id)
                .where(instruments.c.asset_type != AssetType.CASH.value)
                .order_by(first.c.market, instruments.c.symbol)
            )
            for row in rows:
                found.setdefault(row.market, HeldByMarket([], set())).held.append(
                    (instrument_of_row(row), row.first_day)
                )
            held_in = union(  # accounts' currencies, and entries' (cash of other currencies)
                select(users.c.market, accounts.c.currency).join(
                    users, users.c.id == accounts.c.user_id
                ),
                select(users.c.market, transactions.c.currency)
                .join(users, users.c.id == transactions.c.user_id)
                .where(transactions.c.currency.not_in(COIN_SYMBOLS)),
            )
            for market, currency in conn.execute(held_in):
                found.setdefault(market, HeldByMarket([], set())).currencies.add(currency)
            for market, benchmark, first_day in conn.execute(
                select(
                    users.c.market, user_settings.c.benchmark, func.min(transactions.c.trade_date)
                )
                .join(users, users.c.id == transactions.c.user_id)
                .outerjoin(user_settings, user_settings.c.user_id == users.c.id)
                .group_by(users.c.market, user_settings.c.benchmark)
            ):
                found.setdefault(market, HeldByMarket([], set())).benchmarks[benchmark] = first_day
        return found

    # BarStore -------------------------------------------------------------------------
    def coverage(self, symbol: MarketSymbol) -> tuple[date, date] | None:
        with self.engine.connect() as conn:
            row = conn.execute(_COVERAGE, _instrument_params(symbol)).one_or_none()
        return None if row is None else (row.first_day, row.last_day)

    def count(self, symbol: MarketSymbol, start: date, end: date) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(
                _COUNT_CLOSES, {**_instrument_params(symbol), "start": start, "end": end}
            ).scalar_one()
        return int(found)

    def bars(self, symbol: MarketSymbol, start: date, end: date) -> list[tuple[Bar, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(prices.c.day, prices.c.close, prices.c.source)
                .join(instruments, instruments.c.id == prices.c.instrument_id)
                .where(
                    *_is_instrument(symbol),
                    prices.c.day >= start,
                    prices.c.day <= end,
                    prices.c.source != "simulated",
                )
                .order_by(prices.c.day)
            ).all()
        by_day: dict[date, tuple[Bar, str]] = {}
        for row in rows:  # one close a day even if two providers filled different ranges
            by_day.setdefault(row.day, (Bar(row.day, row.close), row.source))
        return list(by_day.values())

    def save(
        self, symbol: MarketSymbol, history: History, covered: tuple[date, date] | None
    ) -> None:
        with self.engine.begin() as conn:
            found = self._id(conn, symbol)
            _insert_closes(conn, found, history)
            if covered is None:
                return
            first, last = covered
            # Insert-or-widen that two processes may run at once on any engine: the insert
            # of a row another process just created is skipped, the widening is monotone.
            conn.execute(
                insert_skipping_duplicates(conn.dialect.name, price_coverage),
                [{"instrument_id": found, "first_day": first, "last_day": last}],
            )
            conn.execute(
                update(price_coverage)
                .where(price_coverage.c.instrument_id == found)
                .values(
                    first_day=case(
                        (price_coverage.c.first_day > first, first),
                        else_=price_coverage.c.first_day,
                    ),
                    last_day=case(
                        (price_coverage.c.last_day < last, last),
                        else_=price_coverage.c.last_day,
                    ),
                )
            )

    def store_closes(self, symbol: MarketSymbol, history: History) -> int:
        """Store closes without coverage (the simulated market's: never fetched, made)."""
        with self.engine.begin() as conn:
            _insert_closes(conn, self._id(conn, symbol), history)
        return len(history.bars)

    # QuoteStore -----------------------------------------------------------------------
    def load_quotes(self, keys: Sequence[str]) -> dict[str, LiveQuote]:
        wanted = {k: MarketSymbol.from_key(k) for k in keys}
        found: dict[str, LiveQuote] = {}
        with self.engine.connect() as conn:
            ids = instrument_ids(conn, wanted.values(), self.clock(), create=False)
            by_id = {
                (ids[InstrumentKey(s.symbol, s.asset_type)], s.currency): k
                for k, s in wanted.items()
                if InstrumentKey(s.symbol, s.asset_type) in ids
            }
            if not by_id:
                return found
            rows = conn.execute(
                select(quotes).where(quotes.c.instrument_id.in_({i for i, _ in by_id}))
            )
            for row in rows:
                key = by_id.get((row.instrument_id, row.currency))
                if key is not None:
                    found[key] = LiveQuote(
                        wanted[key].symbol,
                        row.price,
                        row.price_currency,
                        row.as_of,
                        row.source,
                        row.fetched_at,
                        note=row.note,
                    )
        return found

    def save_quotes(self, latest: Mapping[str, LiveQuote]) -> None:
        wanted = {k: MarketSymbol.from_key(k) for k in latest}
        with self.engine.begin() as conn:
            ids = instrument_ids(conn, wanted.values(), self.clock())
            for key, quote in latest.items():
                symbol = wanted[key]
                found = ids[InstrumentKey(symbol.symbol, symbol.asset_type)]
                values = {
                    "price": derived(quote.price),
                    "price_currency": quote.currency,
                    "as_of": quote.as_of,
                    "source": quote.source,
                    "fetched_at": quote.fetched_at,
                    "note": quote.note,
                }
                where = and_(
                    quotes.c.instrument_id == found,
                    quotes.c.currency == symbol.currency,
                    quotes.c.fetched_at <= quote.fetched_at,  # never overwrite a newer quote
                )
                if conn.execute(update(quotes).where(where).values(**values)).rowcount == 0:
                    conn.execute(  # new, or a newer one is there: then this is skipped
                        insert_skipping_duplicates(conn.dialect.name, quotes),
                        [{"instrument_id": found, "currency": symbol.currency, **values}],
                    )
            for market in sorted({market_of(q.source) for q in latest.values()}):
                bump_price_revision(conn, market, quotes=True)
