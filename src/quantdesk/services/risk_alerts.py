"""Risk alerts beside the suggestions: one asset above the concentration limit, the 1-day
95% VaR above its budget, and prices that are missing or too old to trust.

The concentration limit applies to single securities (stocks, crypto, other assets): a
fund or ETF already spreads its risk over its own holdings, so a large weight in one is an
allocation question for the targets, not a concentration alert.

Severity: ``critical`` when the figure is more than 1.5 times its limit, or a holding
has no price at all (the portfolio's value is then wrong); ``warning`` otherwise. A price is
stale when its day is more than :data:`STALE_DAYS` calendar days before the day asked about
(:data:`STALE_DAYS_CRYPTO` for crypto, which trades every day); weekends and most holidays
fit inside the stock window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.money import money_text
from quantdesk.services.effects import Figures
from quantdesk.services.suggest import Exposure

STALE_DAYS = 5
STALE_DAYS_CRYPTO = 2
CRITICAL_RATIO = Decimal("1.5")
#: Asset types that hold many securities: not subject to the concentration limit.
DIVERSIFIED = frozenset({AssetType.ETF, AssetType.FUND, AssetType.BOND})


class AlertKind(StrEnum):
    CONCENTRATION = "concentration"
    VAR_BUDGET = "var_budget"
    STALE_PRICE = "stale_price"
    MISSING_PRICE = "missing_price"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    severity: Severity
    message: str
    symbol: str | None = None
    value: Decimal | None = None
    limit: Decimal | None = None


def _pct(x: Decimal) -> str:
    return f"{x * 100:.1f}%"


def _severity(value: Decimal, limit: Decimal) -> Severity:
    return Severity.CRITICAL if value > limit * CRITICAL_RATIO else Severity.WARNING


def concentration(exposure: tuple[Exposure, ...], invested: Decimal, limit: Decimal) -> list[Alert]:
    """Each single security whose share of holdings plus cash is above ``limit``, largest
    first."""
    if invested <= 0:
        return []
    found = []
    for e in exposure:
        if e.value is None or e.instrument.asset_type in DIVERSIFIED:
            continue
        weight = e.value / invested
        if weight > limit:
            symbol = e.instrument.symbol
            found.append(
                Alert(
                    AlertKind.CONCENTRATION,
                    _severity(weight, limit),
                    f"{symbol} is {_pct(weight)} of the portfolio, above the "
                    f"{_pct(limit)} concentration limit: a fall in {symbol} alone moves "
                    "the whole portfolio",
                    symbol,
                    weight.quantize(Decimal("0.0001")),
                    limit,
                )
            )
    return sorted(found, key=lambda a: -(a.value or 0))


def var_budget(now: Figures | None, budget: Decimal) -> list[Alert]:
    """The 1-day 95% VaR above its budget (a fraction of the value)."""
    if now is None or now.var_fraction is None:
        return []
    var = Decimal(str(round(now.var_fraction, 6)))
    if var <= budget:
        return []
    amount = "" if now.var is None else f" ({money_text(Decimal(str(round(now.var, 2))))})"
    return [
        Alert(
            AlertKind.VAR_BUDGET,
            _severity(var, budget),
            f"1-day 95% VaR is {_pct(var)} of the value{amount}, above the {_pct(budget)} "
            "budget: on 1 day in 20 the portfolio can be expected to lose more than that",
            None,
            var,
            budget,
        )
    ]


def prices(exposure: tuple[Exposure, ...], as_of: date) -> list[Alert]:
    """Holdings with no price, and prices older than the stale window."""
    found = []
    for e in exposure:
        symbol = e.instrument.symbol
        if e.priced_on is None or e.value is None:
            found.append(
                Alert(
                    AlertKind.MISSING_PRICE,
                    Severity.CRITICAL,
                    f"{symbol} has no price in the base currency: it is left out of the value, "
                    "the weights and every suggestion (refresh prices or enter a close)",
                    symbol,
                )
            )
            continue
        window = STALE_DAYS_CRYPTO if e.instrument.asset_type is AssetType.CRYPTO else STALE_DAYS
        age = (as_of - e.priced_on).days
        if age > window:
            found.append(
                Alert(
                    AlertKind.STALE_PRICE,
                    Severity.WARNING,
                    f"{symbol}'s price is from {e.priced_on} ({age} days old): its value and "
                    "the trades that use it may be off (refresh prices)",
                    symbol,
                    Decimal(age),
                    Decimal(window),
                )
            )
    return found


def alerts(
    exposure: tuple[Exposure, ...],
    invested: Decimal,
    now: Figures | None,
    *,
    as_of: date,
    concentration_limit: Decimal,
    budget: Decimal,
) -> list[Alert]:
    """Every alert, critical ones first."""
    found = [
        *concentration(exposure, invested, concentration_limit),
        *var_budget(now, budget),
        *prices(exposure, as_of),
    ]
    return sorted(found, key=lambda a: a.severity is not Severity.CRITICAL)
