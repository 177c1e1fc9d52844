"""When a market is closed, a quote cannot change: it stays fresh until the next open.

A US stock or ETF quoted while the NYSE is closed (nights, weekends, holidays; from 20
minutes after the close, once the closing auction has printed) is the regular session's
last price until the next session opens, so asking again before then
only spends an upstream call. This applies only where the calendar is known for sure:
stocks and ETFs quoted in USD, on the NYSE's regular sessions (``exchange_calendars``,
``XNYS``, early closes included). Mutual funds are excluded (their NAV arrives hours after
the close), and so is everything else: coins trade around the clock, and other exchanges'
calendars are not modelled yet.
"""

from __future__ import annotations

import functools
import threading
import warnings
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.market import MarketSymbol

_CALENDAR_START = date(2000, 1, 1)
_CALENDAR_END = date(2049, 12, 31)
_US_LISTED = frozenset({AssetType.STOCK, AssetType.ETF})
_LOCK = threading.Lock()
#: After the closing bell the official close (closing auction) still arrives for a while:
#: only a quote taken this long after the close is final until the next open.
_SETTLING = 20 * 60 * 1_000_000_000


@functools.cache
def _nyse_sessions() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Opens and closes of every NYSE regular session, as UTC nanoseconds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        # imported on first use: exchange_calendars pulls in pandas (~0.6 s)
        import exchange_calendars  # type: ignore[import-untyped]  # noqa: PLC0415

        calendar = exchange_calendars.get_calendar(
            "XNYS", start=_CALENDAR_START.isoformat(), end=_CALENDAR_END.isoformat()
        )

        def nanos(times: Any) -> npt.NDArray[np.int64]:
            utc = times.dt.tz_convert(None).to_numpy()
            return np.asarray(utc.astype("datetime64[ns]").astype(np.int64))

        return nanos(calendar.opens), nanos(calendar.closes)


def preload() -> None:
    """Build the session calendar now (a server starting), not on a user's first quote."""
    with _LOCK:
        _nyse_sessions()


class UsEquityHours:
    """NYSE regular hours for US stocks and ETFs (see the module docstring)."""

    def closed_until(self, symbol: MarketSymbol, at: datetime) -> datetime | None:
        """The next open if ``symbol``'s market is closed at ``at``; None if it is open
        or its calendar is not known (then only the TTL applies)."""
        if symbol.asset_type not in _US_LISTED or symbol.currency != "USD":
            return None
        with _LOCK:
            opens, closes = _nyse_sessions()
        moment = int(at.timestamp() * 1_000_000_000)
        started = int(np.searchsorted(opens, moment, side="right"))  # sessions opened by now
        if started and moment < closes[started - 1] + _SETTLING:
            return None  # in session, or the closing prints may still be arriving
        if started >= len(opens):
            return None
        return datetime.fromtimestamp(int(opens[started]) / 1_000_000_000, tz=UTC)
