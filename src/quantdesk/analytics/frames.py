"""Where Decimal becomes float64: the ledger's days of change and the stored closes turned
into daily arrays on one calendar (DESIGN §4).

* **Value** on day t is the units held at the end of t times t's close, converted into the
  base currency at t's FX close, plus the cash of cash-tracking accounts (converted the
  same way): never today's units times old prices.
* **Calendar.** ``auto``: every calendar day if the scope holds any coin in the window
  (A = 365), else the days on which its exchange-traded instruments have closes (A = 252;
  cash does not count), plus the last day when the ledger changed after the last close
  (an edit made today before the close shows in today's value, at the latest closes).
  ``daily`` or ``trading`` force one.
* **Missing closes** are carried forward at most ``carry_limit`` calendar days (weekends
  and holidays are not gaps); a day on which some held instrument has no usable close is
  left out of the series and reported, and its flows move to the next valued day, so
  the time-weighted return chains across the gap instead of inventing a price.
* **Flows** (see :mod:`quantdesk.domain.ledger_history`) count at the end of their day;
  a flow on a day outside the calendar (a Saturday deposit on the trading calendar)
  counts on the next calendar day. Units that cross the boundary are worth their
  (carried) close, else their recorded price.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt

from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.ledger_history import LedgerHistory

Floats = npt.NDArray[np.float64]
Calendar = Literal["auto", "trading", "daily"]
EXCHANGE_TRADED = frozenset({AssetType.STOCK, AssetType.ETF, AssetType.FUND, AssetType.BOND})
DEFAULT_CARRY_LIMIT = 10


@dataclass(frozen=True)
class Closes:
    """Daily closes of one instrument (or FX pair), oldest first, in ``currency``."""

    days: Sequence[date]
    values: Sequence[float]
    currency: str

    @classmethod
    def of(cls, days: Sequence[date], closes: Sequence[Decimal], currency: str) -> Closes:
        """From stored Decimal closes: the one place they become floats."""
        return cls(list(days), [float(c) for c in closes], currency)

    @cached_property
    def ordinals(self) -> npt.NDArray[np.int64]:
        """The days as ordinals (computed once: closes are reused across requests)."""
        return day_ordinals(self.days)

    @cached_property
    def array(self) -> Floats:
        return np.asarray(self.values, dtype=np.float64)

    def since(self, at: int) -> Closes:
        """The closes from position ``at`` on, sharing this series' arrays (a cached
        series sliced per request computes its ordinals once)."""
        sliced = Closes(self.days[at:], self.values[at:], self.currency)
        sliced.__dict__["ordinals"] = self.ordinals[at:]
        sliced.__dict__["array"] = self.array[at:]
        return sliced


@dataclass
class Frames:
    """The scope's daily series on its calendar, ready for the metric functions."""

    days: list[date]
    #: Value at each day's close, in the base currency.
    values: Floats
    #: Net external flow of each day (positive in), in the base currency.
    flows: Floats
    #: Instruments held at some point, and their value per day (T x K), base currency.
    instruments: list[InstrumentKey]
    holdings: Floats
    #: One unit of each, per day, in the base currency (close times FX rate).
    unit_values: Floats
    #: Units held at each day's end (T x K).
    units: Floats
    annualization: int
    calendar: str
    warnings: list[str] = field(default_factory=list)


def day_ordinals(days: Sequence[date]) -> npt.NDArray[np.int64]:
    """The days' ordinals (``date.toordinal``) as an array."""
    return np.fromiter((d.toordinal() for d in days), dtype=np.int64, count=len(days))


#: The ordinal of 1970-01-01, day 0 of numpy's datetime64[D].
_EPOCH = date(1970, 1, 1).toordinal()


def _dates(ordinals: npt.NDArray[np.int64]) -> list[date]:
    """Ordinals as dates, converted in C (a Python call a day cost more than the rest of
    the frames of a long history)."""
    converted: list[date] = (ordinals - _EPOCH).astype("datetime64[D]").tolist()
    return converted


def _union(parts: Sequence[npt.NDArray[np.int64]]) -> npt.NDArray[np.int64]:
    """The sorted union of sorted, distinct day arrays. Instruments of one exchange share
    their days (a later listing has fewer of them), so the parts within the longest one
    are left out before sorting the rest in."""
    if not parts:
        return np.zeros(0, dtype=np.int64)
    longest = max(parts, key=len)
    others = [p for p in parts if p is not longest and not _within(p, longest)]
    if not others:
        return longest
    return np.unique(np.concatenate([longest, *others]))


def _within(part: npt.NDArray[np.int64], days: npt.NDArray[np.int64]) -> bool:
    """Whether every day of ``part`` is one of ``days`` (both sorted)."""
    at = np.searchsorted(days, part)
    return bool((at < len(days)).all() and (days[np.minimum(at, len(days) - 1)] == part).all())


def _carried(closes: Closes | None, calendar: npt.NDArray[np.int64], limit: int) -> Floats:
    """Each calendar day's latest close within ``limit`` days (NaN beyond)."""
    out = np.full(len(calendar), np.nan)
    if closes is None or not closes.days:
        return out
    days = closes.ordinals
    values = closes.array
    at = np.searchsorted(days, calendar, side="right") - 1
    usable = (at >= 0) & (calendar - days[np.maximum(at, 0)] <= limit)
    out[usable] = values[at[usable]]
    return out


def build_frames(
    history: LedgerHistory,
    closes: Mapping[InstrumentKey, Closes],
    fx: Mapping[str, Closes],
    *,
    start: date,
    end: date,
    base: str = "USD",
    calendar: Calendar = "auto",
    carry_limit: int = DEFAULT_CARRY_LIMIT,
) -> Frames:
    """The daily value, flow and holding series of ``history`` from ``start`` to ``end``."""
    warnings: list[str] = []
    instruments = [i for i in history.instruments if i.asset_type != AssetType.CASH]
    event_days = day_ordinals([d.day for d in history.days])
    first, last = start.toordinal(), end.toordinal()
    # units per instrument (summed over the scope's accounts) after each day of change
    units = np.zeros((len(history.days), len(instruments)))
    index = {key: k for k, key in enumerate(instruments)}
    currencies = sorted(
        set(history.currencies)
        | {base}
        | {c.currency for c in closes.values()}
        | {f.currency for f in history.unit_flows}
    )
    cash = np.zeros((len(history.days), len(currencies)))
    where = {c: m for m, c in enumerate(currencies)}
    for row, day_end in enumerate(history.days):
        for (_, key), quantity in day_end.units.items():
            if key in index:
                units[row, index[key]] += float(quantity)
        for (_, currency), amount in day_end.cash.items():
            cash[row, where[currency]] += float(amount)
    held_any = np.abs(units) > 0
    in_window = (event_days <= last) & (np.append(event_days[1:], np.iinfo(np.int64).max) >= first)
    held_in_window: npt.NDArray[np.bool_] = np.asarray(
        held_any[in_window].any(axis=0) if len(units) else np.zeros(len(instruments), bool),
        dtype=bool,
    )
    holds_coins = any(
        held_in_window[k] and i.asset_type is AssetType.CRYPTO for k, i in enumerate(instruments)
    )
    chosen = calendar
    if calendar == "auto":
        chosen = "daily" if holds_coins else "trading"
    if chosen == "daily":
        days = np.arange(first, last + 1, dtype=np.int64)
        annualization = 365
    else:
        parts = [
            closes[key].ordinals
            for k, key in enumerate(instruments)
            if held_in_window[k] and key.asset_type in EXCHANGE_TRADED and key in closes
        ]
        every = _union(parts)
        days = every[(every >= first) & (every <= last)]
        if not len(days):  # nothing exchange-traded priced: weekdays stand in
            days = np.asarray(
                [d for d in range(first, last + 1) if date.fromordinal(d).weekday() < 5],
                dtype=np.int64,
            )
            if held_in_window.any():
                warnings.append(
                    "no closes of any exchange-traded holding in the period: weekdays are "
                    "used as the trading calendar"
                )
        if len(days) and len(event_days) and days[-1] < event_days[-1] <= last:
            # The ledger changed after the last close (an edit today, before the close):
            # the end day is valued at the latest closes so that the value shows it; its
            # change is a flow, not a return.
            days = np.append(days, last)
        annualization = 252
    n = len(days)
    row_of_day = np.searchsorted(event_days, days, side="right") - 1
    has_row = row_of_day >= 0
    held = np.zeros((n, len(instruments)))
    held[has_row] = units[row_of_day[has_row]]
    balances = np.zeros((n, len(currencies)))
    balances[has_row] = cash[row_of_day[has_row]]
    rates = np.ones((n, len(currencies)))
    for m, currency in enumerate(currencies):
        if currency == base:
            continue
        rates[:, m] = _carried(fx.get(currency), days, carry_limit)
    prices = np.full((n, len(instruments)), np.nan)
    price_rate = np.ones((n, len(instruments)))
    for k, key in enumerate(instruments):
        series = closes.get(key)
        prices[:, k] = _carried(series, days, carry_limit)
        if series is not None:  # every close currency has a rate column (see currencies)
            price_rate[:, k] = rates[:, where[series.currency]]
    holdings = held * prices * price_rate
    holdings[held == 0] = 0.0  # no units: no value, whatever the price
    values = holdings.sum(axis=1) + (balances * rates).sum(axis=1)
    flows = np.zeros(n)
    _place_flows(history, flows, days, instruments, prices, price_rate, rates, where, base)
    missing = ~np.isfinite(values) | ~np.isfinite(flows)
    unit_values = prices * price_rate
    if missing.any():
        names = sorted(
            {
                str(instruments[k])
                for k in range(len(instruments))
                if (np.isnan(prices[:, k]) & (held[:, k] != 0)).any()
            }
        )
        absent = [c for c in currencies if c != base and np.isnan(rates[:, where[c]]).any()]
        what = ", ".join(names + [f"{c} rate" for c in absent]) or "a price"
        warnings.append(
            f"{int(missing.sum())} day(s) left out: no close within {carry_limit} days of "
            f"{what}; their flows count on the next valued day"
        )
        keep = ~missing
        flows = _moved_flows(flows, keep)
        days, values, flows, holdings = days[keep], values[keep], flows[keep], holdings[keep]
        unit_values, held = unit_values[keep], held[keep]
    return Frames(
        _dates(days),
        values,
        flows,
        instruments,
        holdings,
        unit_values,
        held,
        annualization,
        str(chosen),
        warnings,
    )


def _place_flows(
    history: LedgerHistory,
    flows: Floats,
    days: npt.NDArray[np.int64],
    instruments: list[InstrumentKey],
    prices: Floats,
    price_rate: Floats,
    rates: Floats,
    where: Mapping[str, int],
    base: str,
) -> None:
    """Add every flow inside the calendar's span to its day (or the next calendar day)."""
    if not len(days):
        return
    first, last = int(days[0]), int(days[-1])
    index = {key: k for k, key in enumerate(instruments)}
    for flow in history.cash_flows:
        d = flow.day.toordinal()
        if d < first or d > last:
            continue
        t = int(np.searchsorted(days, d, side="left"))
        rate = 1.0 if flow.currency == base else rates[t, where[flow.currency]]
        flows[t] += float(flow.amount) * rate
    for unit_flow in history.unit_flows:
        d = unit_flow.day.toordinal()
        if d < first or d > last:
            continue
        t = int(np.searchsorted(days, d, side="left"))
        k = index.get(unit_flow.instrument)
        if k is not None and np.isfinite(prices[t, k]):
            flows[t] += float(unit_flow.units) * prices[t, k] * price_rate[t, k]
        elif unit_flow.fallback is not None:
            rate = 1.0 if unit_flow.currency == base else rates[t, where[unit_flow.currency]]
            flows[t] += float(unit_flow.fallback) * rate
        else:
            # units of no recorded price and no close that day: worth their first close
            # after it (the days in between cannot be valued and are left out, their
            # flows moving to that day)
            later: npt.NDArray[np.intp] = (
                np.zeros(0, dtype=np.intp)
                if k is None
                else np.flatnonzero(np.isfinite(prices[t:, k]))
            )
            if len(later):
                t2 = t + int(later[0])
                flows[t2] += float(unit_flow.units) * prices[t2, k] * price_rate[t2, k]
            else:
                flows[t] = np.nan  # never priced: the day cannot be valued


def _moved_flows(flows: Floats, keep: npt.NDArray[np.bool_]) -> Floats:
    """Flows with each left-out day's moved to the next day that is kept."""
    moved = np.zeros(len(flows))
    pending = 0.0
    for t, flow in enumerate(np.where(np.isfinite(flows), flows, 0.0)):
        pending += flow
        if keep[t]:
            moved[t] = pending
            pending = 0.0
    return moved
