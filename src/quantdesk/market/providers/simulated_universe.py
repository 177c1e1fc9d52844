"""The instruments of the simulated market and the factors that move them.

Each instrument is anchored: ``price`` is its close on :data:`ANCHOR_DAY` (roughly the real
close of mid-2025), and every other close follows from the simulated log-returns before and
after that day. ``vol`` is the annual volatility of its log-returns and ``drift`` their
annual mean up to the anchor day (a log drift: the median price grows by ``exp(drift)`` a year),
which brings it from its levels of the 2000s to the anchor; after the anchor day the drift is
capped at :data:`FORWARD_DRIFT`, so the years after it stay near real levels. ``betas`` load
the instrument on the common factors of :data:`FACTORS`; whatever of ``vol`` the factors do
not explain is idiosyncratic. ``tracks`` names another instrument whose idiosyncratic shocks
this one shares (an index fund and the ETF of the same index move together), and a
``pegged`` instrument (a stablecoin) wobbles around its anchor instead of wandering.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from quantdesk.domain.instruments import AssetType

#: The first simulated day: nothing trades before it.
EPOCH = date(2000, 1, 1)
#: The day whose close is each instrument's ``price``.
ANCHOR_DAY = date(2025, 6, 30)
#: The last simulated day (the NYSE calendar is built up to it).
LAST_DAY = date(2049, 12, 31)

#: The highest annual log drift after ANCHOR_DAY.
FORWARD_DRIFT = 0.06

#: Common factors and their annual volatilities (independent of each other).
FACTORS: dict[str, float] = {
    "market": 0.16,  # US equity market
    "growth": 0.10,  # technology and growth over value
    "rates": 0.07,  # bond prices (a fall in rates is a rise)
    "gold": 0.15,
    "crypto": 0.45,
    "dollar": 0.07,  # the US dollar against other currencies
}


@dataclass(frozen=True, slots=True)
class Spec:
    """One simulated instrument (see the module docstring for the fields)."""

    symbol: str
    asset_type: AssetType
    price: float
    vol: float
    drift: float
    betas: tuple[tuple[str, float], ...] = ()
    currency: str = "USD"
    listed: date = EPOCH
    tracks: str | None = None
    pegged: bool = False


def _spec(
    symbol: str,
    asset_type: AssetType,
    price: float,
    vol: float,
    drift: float,
    *,
    listed: str = "",
    tracks: str | None = None,
    currency: str = "USD",
    pegged: bool = False,
    **betas: float,
) -> Spec:
    return Spec(
        symbol,
        asset_type,
        price,
        vol,
        drift,
        tuple(sorted(betas.items())),
        currency,
        date.fromisoformat(listed) if listed else EPOCH,
        tracks,
        pegged,
    )


_E, _F, _S, _C, _X = (
    AssetType.ETF,
    AssetType.FUND,
    AssetType.STOCK,
    AssetType.CRYPTO,
    AssetType.CASH,
)

SPECS: tuple[Spec, ...] = (
    # Broad ETFs
    _spec("SPY", _E, 617.85, 0.165, 0.08, market=1.0),
    _spec("QQQ", _E, 551.64, 0.215, 0.10, market=1.15, growth=0.9),
    _spec("VTI", _E, 303.93, 0.17, 0.08, market=1.02, listed="2001-05-31"),
    _spec("IWM", _E, 215.79, 0.22, 0.06, market=1.15, growth=-0.2, rates=0.3),
    _spec("EFA", _E, 89.42, 0.165, 0.04, market=0.8, dollar=-0.7),
    _spec("VEA", _E, 56.94, 0.165, 0.04, market=0.8, dollar=-0.7, listed="2007-07-26"),
    _spec("VWO", _E, 47.31, 0.20, 0.04, market=0.85, dollar=-0.9, listed="2005-03-10"),
    _spec("AGG", _E, 99.27, 0.055, 0.02, rates=0.75, market=0.03, listed="2003-09-29"),
    _spec("BND", _E, 73.42, 0.055, 0.02, rates=0.75, market=0.03, tracks="AGG"),
    _spec("TLT", _E, 86.99, 0.13, 0.02, rates=1.8, market=-0.1, listed="2002-07-30"),
    _spec("IEF", _E, 94.97, 0.07, 0.02, rates=0.95, listed="2002-07-30"),
    _spec("LQD", _E, 109.41, 0.08, 0.025, rates=0.9, market=0.15, listed="2002-07-30"),
    _spec("HYG", _E, 80.06, 0.08, 0.03, rates=0.35, market=0.35, listed="2007-04-11"),
    _spec("GLD", _E, 305.53, 0.15, 0.07, gold=0.95, dollar=-0.3, listed="2004-11-18"),
    _spec("SLV", _E, 32.87, 0.28, 0.05, gold=1.3, market=0.3, listed="2006-04-28"),
    _spec("VNQ", _E, 89.08, 0.21, 0.05, market=0.9, rates=0.9, listed="2004-09-29"),
    _spec("XLE", _E, 84.84, 0.27, 0.05, market=0.9, growth=-0.6),
    _spec("XLF", _E, 52.34, 0.21, 0.05, market=1.1, growth=-0.4),
    _spec("XLK", _E, 252.68, 0.23, 0.10, market=1.1, growth=1.1),
    # Mutual funds (track an ETF of the same index)
    _spec("VTSAX", _F, 148.31, 0.17, 0.08, market=1.02, tracks="VTI"),
    _spec("VTIAX", _F, 37.14, 0.165, 0.04, market=0.8, dollar=-0.7, tracks="VEA"),
    _spec("VFIAX", _F, 567.85, 0.165, 0.08, market=1.0, tracks="SPY"),
    _spec("FXAIX", _F, 213.75, 0.165, 0.08, market=1.0, tracks="SPY", listed="2011-05-04"),
    # Large US stocks
    _spec("AAPL", _S, 205.17, 0.28, 0.17, market=1.15, growth=0.8),
    _spec("MSFT", _S, 497.41, 0.26, 0.12, market=1.1, growth=0.9),
    _spec("NVDA", _S, 157.99, 0.50, 0.22, market=1.6, growth=1.5),
    _spec("GOOGL", _S, 176.23, 0.30, 0.16, market=1.1, growth=0.8, listed="2004-08-19"),
    _spec("AMZN", _S, 219.39, 0.33, 0.16, market=1.2, growth=0.9),
    _spec("META", _S, 738.09, 0.38, 0.22, market=1.3, growth=1.0, listed="2012-05-18"),
    _spec("TSLA", _S, 317.66, 0.60, 0.30, market=1.6, growth=1.2, listed="2010-06-29"),
    _spec("BRK-B", _S, 485.77, 0.18, 0.09, market=0.85),
    _spec("JPM", _S, 289.91, 0.26, 0.09, market=1.15, growth=-0.5),
    _spec("V", _S, 355.05, 0.22, 0.15, market=0.95, growth=0.2, listed="2008-03-19"),
    _spec("MA", _S, 561.94, 0.24, 0.19, market=1.0, growth=0.2, listed="2006-05-25"),
    _spec("UNH", _S, 311.97, 0.28, 0.13, market=0.6),
    _spec("JNJ", _S, 152.75, 0.17, 0.05, market=0.5, growth=-0.3),
    _spec("XOM", _S, 107.80, 0.26, 0.04, market=0.8, growth=-0.7),
    _spec("CVX", _S, 143.19, 0.27, 0.05, market=0.85, growth=-0.7),
    _spec("PG", _S, 159.32, 0.17, 0.06, market=0.45, growth=-0.3),
    _spec("KO", _S, 70.75, 0.16, 0.05, market=0.5, growth=-0.3),
    _spec("PEP", _S, 132.04, 0.17, 0.06, market=0.5, growth=-0.3),
    _spec("WMT", _S, 97.78, 0.20, 0.09, market=0.55, growth=-0.2),
    _spec("HD", _S, 366.64, 0.24, 0.12, market=1.0),
    _spec("COST", _S, 989.94, 0.22, 0.15, market=0.8),
    _spec("DIS", _S, 124.01, 0.30, 0.04, market=1.1),
    _spec("NFLX", _S, 1339.13, 0.42, 0.25, market=1.2, growth=0.7),
    _spec("ADBE", _S, 386.88, 0.35, 0.12, market=1.2, growth=0.7),
    _spec("CRM", _S, 272.69, 0.36, 0.12, market=1.2, growth=0.6),
    _spec("ORCL", _S, 218.63, 0.33, 0.09, market=1.1, growth=0.5),
    _spec("INTC", _S, 22.40, 0.40, -0.02, market=1.2, growth=0.5),
    _spec("AMD", _S, 141.90, 0.52, 0.10, market=1.6, growth=1.2),
    _spec("CSCO", _S, 69.38, 0.25, 0.02, market=1.0, growth=0.4),
    _spec("BAC", _S, 47.32, 0.31, 0.03, market=1.25, growth=-0.5),
    _spec("WFC", _S, 80.12, 0.30, 0.04, market=1.2, growth=-0.5),
    _spec("PFE", _S, 24.24, 0.23, -0.01, market=0.6, growth=-0.3),
    _spec("MRK", _S, 79.16, 0.23, 0.04, market=0.5, growth=-0.3),
    _spec("ABBV", _S, 185.62, 0.25, 0.15, market=0.6, listed="2013-01-02"),
    _spec("T", _S, 28.94, 0.22, 0.0, market=0.55, growth=-0.3),
    # Coins (a close every UTC calendar day)
    _spec("BTC", _C, 107135.34, 0.52, 0.45, crypto=1.0, market=1.0, listed="2014-09-17"),
    _spec("ETH", _C, 2486.05, 0.75, 0.35, crypto=1.25, market=1.2, listed="2017-11-09"),
    _spec("SOL", _C, 155.25, 0.95, 0.40, crypto=1.35, market=1.3, listed="2020-04-10"),
    _spec("ADA", _C, 0.5776, 0.90, 0.20, crypto=1.3, market=1.2, listed="2017-11-09"),
    _spec("XRP", _C, 2.2359, 0.95, 0.25, crypto=1.3, market=1.1, listed="2017-11-09"),
    _spec("DOGE", _C, 0.1643, 1.05, 0.30, crypto=1.4, market=1.2, listed="2017-11-09"),
    _spec("DOT", _C, 3.4036, 0.95, -0.10, crypto=1.35, market=1.2, listed="2020-08-20"),
    _spec("AVAX", _C, 18.0412, 0.95, 0.10, crypto=1.35, market=1.3, listed="2020-09-22"),
    _spec("LTC", _C, 86.8913, 0.80, 0.20, crypto=1.2, market=1.0, listed="2014-09-17"),
    _spec("LINK", _C, 13.2146, 0.95, 0.30, crypto=1.35, market=1.2, listed="2017-11-09"),
    _spec("MATIC", _C, 0.1912, 1.00, 0.10, crypto=1.35, market=1.2, listed="2019-04-28"),
    _spec("USDC", _C, 1.0, 0.005, 0.0, pegged=True, listed="2018-10-08"),
    # FX majors (a close every weekday, at midnight UTC)
    _spec("EURUSD", _X, 1.1787, 0.08, 0.0, dollar=-1.0),
    _spec("GBPUSD", _X, 1.3732, 0.085, 0.0, dollar=-0.9, market=0.1),
    _spec("USDJPY", _X, 144.03, 0.10, 0.0, currency="JPY", dollar=0.8, rates=-0.4),
    _spec("USDCHF", _X, 0.7935, 0.085, 0.0, currency="CHF", dollar=0.95, gold=-0.1),
    _spec("USDCAD", _X, 1.3626, 0.065, 0.0, currency="CAD", dollar=0.6, market=-0.15),
    _spec("AUDUSD", _X, 0.6583, 0.10, 0.0, dollar=-0.8, market=0.25),
)

#: Other spellings of a symbol in the universe.
ALIASES: dict[str, str] = {"BRK.B": "BRK-B", "BRK/B": "BRK-B"}
