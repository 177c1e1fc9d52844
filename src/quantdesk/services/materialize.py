"""Materialized analytics: a request's metric set is stored with the fingerprint of its
inputs and served as stored while nothing changed; the scope's daily history is stored
and rewritten only from the earliest day a change touched.

The fingerprint covers everything the numbers depend on: the request's options, the day
(a default end is today), the user's market, the ledger revision (bumped by every change
to the ledger or the user's own closes) and the price revisions (bumped by every write of
the market's closes, or of the user's own). Per instrument read (holdings, their FX pairs
and the benchmark) the count and span of the market's stored closes are kept beside it,
to find the earliest day a change of closes touched. The earliest
affected day is the earliest day any ledger change since the stored revision touched, or,
for market closes (only ever added): the day after the last stored close for closes
appended (the usual refresh); the first new close, up to the first stored one, for closes
added before it (a refresh that fetches from further back), which leaves the stored
days from the first stored close on; the first stored close for closes added between
the two. The closes of a benchmark the ledger does not hold move the metrics only, so
they rewrite no stored day.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.materialized import AnalyticsWrite, StoredState
from quantdesk.services.analytics import (
    BatchReads,
    ClosesCache,
    Options,
    Report,
    analyze_store,
)
from quantdesk.services.analytics_view import analytics_json
from quantdesk.services.lru import Lru
from quantdesk.services.portfolio import LedgerCache
from quantdesk.services.ports import LedgerStore, MarketData, UnitOfWork
from quantdesk.services.prices import BASE_CURRENCY, benchmark_key

#: Bumped when the analytics' definitions change, so stored results are not reused.
ANALYTICS_VERSION = "2"


@dataclass(frozen=True)
class Materialized:
    """A request's payload, whether it came from the store, and what was rewritten."""

    payload: dict[str, Any]
    cached: bool
    history_rows: int
    rewritten_from: date | None
    report: Report | None
    #: The ledger revision and price versions it was computed from (``LedgerStore.versions``):
    #: it stands while they do (on the same day, for the same request and market).
    versions: tuple[int, int, int] | None = None
    #: Served as stored although market closes changed since (``stale_prices``).
    stale: bool = False


def request_key(options: Options, *, explain: bool) -> str:
    """The request's identity: options asking for the same numbers share it (period ALL
    and no period both start at the first entry)."""
    asked = asdict(options)
    if asked["period"] is not None and asked["period"].upper() == "ALL" and not asked["start"]:
        asked["period"] = None
    text = json.dumps({**asked, "explain": explain}, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def scope_key(options: Options, calendar: str) -> str:
    return f"{options.account or '*'}|{options.asset_class or '*'}|{calendar}"


def _valued(store: LedgerStore, known: StoredState | None) -> list[InstrumentKey]:
    """The instruments whose market closes value the ledger: its own (cash aside) and the
    FX pairs of its currencies (its accounts', its entries' and its instruments': as the
    analytics convert them). The analytics also read the benchmark's."""
    if known is not None:  # read with the batch
        keys, currencies = list(known.held), set(known.currencies)
    else:
        held = [i for i, _ in store.priced_instruments()]
        currencies = store.ledger_currencies() | {i.currency for i in held}
        keys = [i.key for i in held]
    keys += [
        InstrumentKey(f"{c}{BASE_CURRENCY}", AssetType.CASH)
        for c in sorted(currencies - {BASE_CURRENCY})
    ]
    return keys


class MarketStatsCache(Lru[object]):
    """The market's facts the fingerprints read (per instrument: how many closes, the
    first and last day; how many up to a day), by market and price revision: the same
    for every user of the market, so a nightly run or an API process reads each once."""

    def __init__(self, size: int = 8192) -> None:
        super().__init__(size)


_NONE: list[object] = []  # cached "no closes at all" (the cache keeps no None)


def _stat_name(key: InstrumentKey) -> str:
    return f"{key.asset_type.value}:{key.symbol}"


class _MarketFacts:
    """``price_stats`` and ``closes_through`` of one store, through the cache if given."""

    def __init__(self, store: LedgerStore, cache: MarketStatsCache | None, revision: int) -> None:
        self.store, self.cache = store, cache
        self.token = (store.market(), revision)

    def stats(self, keys: list[InstrumentKey]) -> dict[str, list[Any]]:
        if self.cache is None:
            return self.store.price_stats(keys)
        out: dict[str, list[Any]] = {}
        missing = []
        for key in dict.fromkeys(keys):
            hit = self.cache.get((self.token, "stats", key))
            if hit is None:
                missing.append(key)
            elif hit is not _NONE:
                out[_stat_name(key)] = cast("list[Any]", hit)
        if missing:
            found = self.store.price_stats(missing)
            for key in missing:
                value = found.get(_stat_name(key))
                self.cache.put((self.token, "stats", key), value if value is not None else _NONE)
                if value is not None:
                    out[_stat_name(key)] = value
        return out

    def through(self, key: InstrumentKey, last: date) -> int:
        if self.cache is None:
            return self.store.closes_through(key, last)
        return int(
            cast(
                "int",
                self.cache.get_or_load(
                    (self.token, "through", key, last), lambda: self.store.closes_through(key, last)
                ),
            )
        )


#: Days whose values a change of closes may have moved: from the first, up to (not
#: including) the second; None: on to the last day.
Span = tuple[date, date | None]


def _price_changes(
    facts: _MarketFacts,
    before: dict[str, list[Any]],
    now: dict[str, list[Any]],
    *,
    metrics_only: str | None = None,
) -> list[Span]:
    """The days whose values the market closes added between two price fingerprints may
    have moved, per instrument. A day's value reads the latest close on or before it
    (stored closes are only ever added, never changed), so closes added before an
    instrument's first one move only the days before it, and closes added after its
    last one only the days after. ``metrics_only``: the benchmark's fingerprint name
    when the ledger does not hold it: its closes move the metrics, not the values."""
    spans: list[Span] = []
    for name in set(before) | set(now):
        old, new = before.get(name), now.get(name)
        if old == new or name == metrics_only:
            continue
        if old is None or new is None:  # closes of a symbol appeared (or went): all of them
            present = new if new is not None else old
            assert present is not None
            spans.append((date.fromisoformat(str(present[1])), None))
            continue
        kind, symbol = name.split(":", 1)
        key = InstrumentKey(symbol, AssetType(kind))
        old_first, old_last = date.fromisoformat(str(old[1])), date.fromisoformat(str(old[2]))
        new_first = date.fromisoformat(str(new[1]))
        earlier = (
            facts.through(key, date.fromordinal(old_first.toordinal() - 1))
            if new_first < old_first
            else 0
        )
        through_last = facts.through(key, old_last)
        if earlier:
            spans.append((new_first, old_first))
        if through_last - earlier != old[0]:  # added between the first and the last
            spans.append((old_first, None))
        elif int(new[0]) > through_last:
            spans.append((date.fromordinal(old_last.toordinal() + 1), None))
    return spans


@dataclass(frozen=True)
class Prepared:
    """A request's metric set as :func:`prepare_analytics` found or computed it, and what
    storing it writes (None: it was stored already)."""

    materialized: Materialized
    write: AnalyticsWrite | None


def materialized_analytics(
    uow: UnitOfWork,
    market: MarketData | None,
    options: Options,
    *,
    clock: Callable[[], datetime],
    explain: bool = False,
    closes_cache: ClosesCache | None = None,
    ledger_cache: LedgerCache | None = None,
    stats_cache: MarketStatsCache | None = None,
    stale_prices: bool = False,
) -> Materialized:
    """The request's metric set: the stored one if its inputs did not change, else
    computed, stored, and the scope's daily history rewritten from the earliest change
    (:func:`prepare_analytics`, then its write)."""
    prepared = prepare_analytics(
        uow,
        market,
        options,
        clock=clock,
        explain=explain,
        closes_cache=closes_cache,
        ledger_cache=ledger_cache,
        stats_cache=stats_cache,
        stale_prices=stale_prices,
    )
    if prepared.write is not None:
        with uow() as store:
            store.store_materialized(prepared.write)
    return prepared.materialized


def prepare_analytics(
    uow: UnitOfWork,
    market: MarketData | None,
    options: Options,
    *,
    clock: Callable[[], datetime],
    explain: bool = False,
    closes_cache: ClosesCache | None = None,
    ledger_cache: LedgerCache | None = None,
    stats_cache: MarketStatsCache | None = None,
    batch: BatchReads | None = None,
    stale_prices: bool = False,
) -> Prepared:
    """The request's metric set: the stored one if its inputs did not change, else
    computed, with what storing it writes (its history rewritten from the earliest
    change); a nightly share stores its users' writes together.

    Whether anything changed is known from three numbers (the ledger revision and the
    price revisions of the market and of the user's own closes); the per-instrument
    counts of closes are read only when the market's closes did change, to find the
    earliest day they touched. ``batch``: what users computed together read once (see
    ``analytics.BatchReads``). ``stale_prices``: a stored answer whose only change since
    is the market's closes is returned as it is, flagged stale, for the caller to serve
    while it has it computed again (the ledger, the day and the options still match)."""
    options.validate()
    request = request_key(options, explain=explain)
    with uow(commit=False) as store:
        known = batch.states.get((store.user_id, request)) if batch is not None else None
        if known is not None:  # read with the batch
            (revision, price_revision, own_closes), stored = known.versions, known.stored
            changed_since = known.changed_since
        else:
            versions, stored, changed_since = store.analytics_state(request)
            revision, price_revision, own_closes = versions
        today, market_name = str(clock().date()), store.market()

        def fingerprint_at(prices: object) -> str:
            inputs = [ANALYTICS_VERSION, today, market_name, revision, prices, own_closes, request]
            text = json.dumps(inputs, sort_keys=True, default=str)
            return hashlib.sha256(text.encode()).hexdigest()

        fingerprint = fingerprint_at(price_revision)
        versions = (revision, price_revision, own_closes)
        if stored is not None and stored["fingerprint"] == fingerprint:
            return Prepared(Materialized(stored["payload"], True, 0, None, None, versions), None)
        if (
            stale_prices
            and stored is not None
            and stored["fingerprint"] == fingerprint_at(stored["price_revision"])
        ):
            was = (revision, int(stored["price_revision"]), own_closes)
            found = Materialized(stored["payload"], True, 0, None, None, was, stale=True)
            return Prepared(found, None)
        changed: list[Span] = []
        bench = (
            batch.benchmark(store, options.benchmark)
            if batch is not None
            else benchmark_key(store, options.benchmark)
        )
        if stored is not None and stored["price_revision"] == price_revision:
            stats = stored["price_stats"]  # no market close changed since
        else:
            facts = _MarketFacts(store, stats_cache, price_revision)
            valued = _valued(store, known)
            stats = facts.stats([*valued, bench])
            if stored is not None:
                unheld = None if bench in valued else _stat_name(bench)
                changed += _price_changes(facts, stored["price_stats"], stats, metrics_only=unheld)
        if stored is not None and changed_since is not None:
            changed.append((changed_since, None))
        ledgers = batch.ledgers if batch is not None and known is not None else ledger_cache
        report = analyze_store(  # in the same read: the inputs are those just fingerprinted
            store,
            market,
            options,
            clock=clock,
            closes_cache=closes_cache,
            ledger_cache=ledgers,
            versions=versions,
            bench_key=bench,
            batch=batch,
            own_closes=known.own_closes if known is not None else None,
        )
    payload = analytics_json(report, explain=explain)
    start = report.frames.days[0]
    moved = [first for first, until in changed if until is None or until > start]
    if moved:
        rewrite_from = max(start, min(moved))
    elif stored is not None:  # only the day moved on: the days already stored stand
        rewrite_from = max(start, date.fromisoformat(str(stored["payload"]["end"])))
    else:
        rewrite_from = start
    frames = report.frames
    first = bisect_left(frames.days, rewrite_from)  # the days kept need no conversion
    rows = [
        (day, _stored(value), _stored(flow))
        for day, value, flow in zip(
            frames.days[first:], frames.values[first:], frames.flows[first:], strict=True
        )
    ]
    write = AnalyticsWrite(
        request,
        scope_key(options, frames.calendar),
        fingerprint,
        revision,
        stats,
        price_revision,
        payload,
        clock(),
        rewrite_from,
        frames.days[-1],
        rows,
    )
    materialized = Materialized(payload, False, len(rows), rewrite_from, report, versions)
    return Prepared(materialized, write)


def _stored(value: float) -> Decimal:
    """A float series value as the NUMERIC the database keeps (8 decimals)."""
    return Decimal(f"{value:.8f}")
