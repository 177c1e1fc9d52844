"""The tear sheet: one self-contained HTML file with the analytics of a period (the same
metric set as ``GET /analytics`` and ``quantdesk analytics --json``), its charts and the
holdings as of a day, readable offline.

The numbers come from :func:`quantdesk.services.analytics.analyze` rendered through the
JSON contract (:mod:`quantdesk.services.analytics_view`), so the tear sheet shows exactly
what the API answers. The charts are Plotly figures: plotly.js is inlined once, in the
first chart, and the other charts use it (no network is needed to read the file).
"""

from __future__ import annotations

import calendar as calendars
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.positions import Position
from quantdesk.services import analytics, analytics_view, portfolio, prices
from quantdesk.services.portfolio import LedgerCache
from quantdesk.services.ports import MarketData, UnitOfWork

#: The periods the tear sheet (and the analytics page) offer: the engine's, plus 6M
#: (a start six months before the end) and MAX (the engine's ALL).
PERIODS = ("1M", "3M", "6M", "YTD", "1Y", "3Y", "5Y", "MAX")
DEFAULT_PERIOD = "1Y"

#: What each metric means (the web's components/metrics.ts DEFINITIONS, same words).
DEFINITIONS: dict[str, str] = {
    "total_value": "Market value of every holding and cash balance, in the base currency.",
    "total_cost_basis": "What the open lots cost.",
    "twr": "Time-weighted return over the period: the growth of one unit invested, "
    "unaffected by the timing of deposits and withdrawals.",
    "twr_annualized": "Time-weighted return per year (geometric).",
    "mwr": "Money-weighted return (IRR per year): the return your actual deposits and "
    "withdrawals earned.",
    "simple_return": "Gain over the period divided by the money invested.",
    "volatility": "Annualized standard deviation of daily returns.",
    "sharpe": "Excess return over the risk-free rate per unit of volatility (annualized).",
    "sortino": "Excess return over the risk-free rate per unit of downside deviation.",
    "calmar": "Annualized return divided by the size of the maximum drawdown.",
    "beta": "Sensitivity of the portfolio's daily returns to the benchmark's.",
    "alpha": "Annualized return not explained by beta times the benchmark's return.",
    "max_drawdown": "Largest fall from a peak to a later trough of the portfolio's value.",
    "var": "Value at Risk: the loss not exceeded with the given confidence over the horizon.",
    "cvar": "Conditional VaR (expected shortfall): the average loss beyond the VaR.",
    "unrealized_gain": "Market value minus cost basis of the open lots.",
    "realized_gain": "Gains realized by sales in the period.",
}
METHODS = {
    "historical": "Historical",
    "parametric": "Parametric (normal)",
    "cornish_fisher": "Cornish-Fisher",
    "monte_carlo": "Monte Carlo",
}


@dataclass(frozen=True)
class TearSheet:
    """The rendered document, the day it is as of, and the file name to save it as."""

    html: str
    as_of: date
    analytics: dict[str, Any]

    @property
    def filename(self) -> str:
        return f"quantdesk-tearsheet-{self.as_of.isoformat()}.html"


def months_before(end: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day if shorter)."""
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    return date(year, month + 1, min(end.day, calendars.monthrange(year, month + 1)[1]))


def tearsheet_options(
    period: str | None, benchmark: str, as_of: date | None, *, today: date
) -> analytics.Options:
    """The analytics options of a tear sheet request (6M and MAX included)."""
    key = (period or DEFAULT_PERIOD).strip().upper()
    if key == "ALL":
        key = "MAX"
    if key not in PERIODS:
        raise InvalidInput(f"unknown period {period!r} (one of {', '.join(PERIODS)})")
    if as_of is not None and as_of > today:
        raise InvalidInput(f"as_of {as_of} is in the future (today is {today})")
    name = benchmark.strip().upper()
    if not name:
        raise InvalidInput("the benchmark is a symbol, such as SPY")
    end = as_of or today
    options = analytics.Options(
        start=months_before(end, 6) if key == "6M" else None,
        end=as_of,
        period=None if key == "6M" else ("ALL" if key == "MAX" else key),
        benchmark=name,
    )
    options.validate()
    return options


def build_tearsheet(
    uow: UnitOfWork,
    market: MarketData | None,
    *,
    period: str | None = None,
    benchmark: str = "SPY",
    as_of: date | None = None,
    clock: Callable[[], datetime],
    closes_cache: analytics.ClosesCache | None = None,
    ledger_cache: LedgerCache | None = None,
) -> TearSheet:
    """The tear sheet of the caller's portfolio over ``period`` ending ``as_of`` (today
    by default), against ``benchmark``."""
    now = clock()
    options = tearsheet_options(period, benchmark, as_of, today=now.date())
    report = analytics.analyze(
        uow,
        market,
        options,
        clock=clock,
        closes_cache=closes_cache,
        ledger_cache=ledger_cache,
    )
    data = analytics_view.analytics_json(report)
    history = analytics_view.history_json(analytics.history_rows(report))
    positions, base = portfolio.valued_positions(
        uow, consolidated=True, as_of=report.end, base=prices.BASE_CURRENCY
    )
    label = (period or DEFAULT_PERIOD).strip().upper()
    document = _document(
        data,
        history,
        positions,
        base.market_value,
        period="MAX" if label == "ALL" else label,
        generated=now,
    )
    return TearSheet(document, report.end, data)


# formatting ------------------------------------------------------------------------------
NA = "—"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def percent(value: float | None) -> str:
    """A fraction as the tear sheet shows it: ``-4.04%``."""
    return NA if value is None or not math.isfinite(value) else f"{value * 100:,.2f}%"


def ratio(value: float | None) -> str:
    return NA if value is None or not math.isfinite(value) else f"{value:,.2f}"


def money(value: str | Decimal | None, currency: str = prices.BASE_CURRENCY) -> str:
    """A money amount (the JSON's exact text) with grouping: ``1,655.62 USD``."""
    if value is None:
        return NA
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return NA
    return f"{amount:,.2f} {currency}"


def quantity(value: Decimal) -> str:
    text = f"{value:,.8f}".rstrip("0").rstrip(".")
    return text or "0"


# the document ---------------------------------------------------------------------------
STYLE = """
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
body { margin: 0 auto; max-width: 1100px; padding: 24px; color: #1d2330; background: #fff; }
h1 { margin: 0 0 4px; font-size: 1.6rem; }
h2 { margin: 28px 0 8px; font-size: 1.15rem; border-bottom: 1px solid #d9dde5; padding: 4px 0; }
.meta { color: #5a6475; margin: 0 0 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 8px; border-bottom: 1px solid #eceef3; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f4f6f9; font-weight: 600; }
td[title], th[title] { cursor: help; }
.neg { color: #b42318; } .pos { color: #067647; }
.warnings { background: #fff8e6; border: 1px solid #f0d48a; padding: 8px 12px; border-radius: 6px; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
.chart { break-inside: avoid; margin: 0; min-width: 0; }
@media (max-width: 800px) { .charts { grid-template-columns: 1fr; } }
footer { margin-top: 32px; color: #5a6475; font-size: 0.85rem; }
@media print { body { padding: 0; } h2 { break-after: avoid; } }
"""


def _sign(value: float | str | None) -> str:
    try:
        n = float(value) if value is not None else 0.0
    except ValueError:
        return ""
    return "neg" if n < 0 else "pos" if n > 0 else ""


def _row(key: str, label: str, shown: str, sign: float | str | None = None) -> str:
    css = _sign(sign) if sign is not None else ""
    return (
        f'<tr data-metric="{_e(key)}"><th scope="row" title="{_e(DEFINITIONS.get(key, label))}">'
        f'{_e(label)}</th><td class="{css}">{_e(shown)}</td></tr>'
    )


def _metrics_table(d: dict[str, Any]) -> str:
    dd = d.get("max_drawdown") or {}
    drawdown_days = (
        f"peak {dd.get('peak') or NA}, trough {dd.get('trough') or NA}, "
        f"recovered {dd.get('recovery') or 'not yet'}"
        if dd
        else NA
    )
    rows = [
        _row("twr", "Return (time-weighted)", percent(d["twr"]), d["twr"]),
        _row("twr_annualized", "TWR annualized", percent(d["twr_annualized"]), d["twr_annualized"]),
        _row("mwr", "Return (money-weighted, p.a.)", percent(d["mwr"]), d["mwr"]),
        _row("simple_return", "Simple return", percent(d["simple_return"]), d["simple_return"]),
        _row("volatility", "Volatility (annualized)", percent(d["volatility"])),
        _row("sharpe", "Sharpe ratio", ratio(d["sharpe"])),
        _row("sortino", "Sortino ratio", ratio(d["sortino"])),
        _row("calmar", "Calmar ratio", ratio(d["calmar"])),
        _row("beta", f"Beta vs {d['benchmark']}", ratio(d["beta"])),
        _row("alpha", f"Alpha vs {d['benchmark']}", percent(d["alpha"]), d["alpha"]),
        _row("max_drawdown", "Max drawdown", percent(dd.get("value")), dd.get("value")),
        _row("max_drawdown", "Max drawdown dates", drawdown_days),
        _row("total_value", "Total value", money(d["total_value"])),
        _row("total_cost_basis", "Cost basis", money(d["total_cost_basis"])),
        _row(
            "unrealized_gain",
            "Unrealized gain",
            money(d["unrealized_gain"]),
            d["unrealized_gain"],
        ),
        _row("realized_gain", "Realized gain", money(d["realized_gain"]), d["realized_gain"]),
    ]
    return (
        '<table id="metrics" aria-label="Metrics"><thead><tr><th scope="col">Metric</th>'
        f'<th scope="col">Value</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _risk_table(d: dict[str, Any]) -> str:
    levels = sorted({c for figures in d["var"].values() for c in figures}, key=float)
    head = "".join(
        f'<th scope="col" title="{_e(DEFINITIONS[kind])}">{kind.upper()} {float(c):.0%}</th>'
        for kind in ("var", "cvar")
        for c in levels
    )
    body = []
    for method, label in METHODS.items():
        if method not in d["var"]:
            continue
        cells = []
        for kind in ("var", "cvar"):
            for c in levels:
                figure = d[kind].get(method, {}).get(c) or {}
                cells.append(
                    f'<td data-risk="{kind}-{method}-{c}">{_e(money(figure.get("amount")))}'
                    f"<br><small>{_e(percent(figure.get('fraction')))}</small></td>"
                )
        body.append(f'<tr><th scope="row">{_e(label)}</th>{"".join(cells)}</tr>')
    return (
        f'<table id="risk" aria-label="Value at risk"><thead><tr><th scope="col">Method '
        f"({d['horizon']}-day horizon)</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _holdings_table(rows: Sequence[Position], total: Decimal | None) -> str:
    body = []
    for p in sorted(rows, key=lambda p: -(p.market_value or Decimal(0))):
        weight = (
            float(p.market_value / total)
            if total and p.market_value is not None and p.currency == prices.BASE_CURRENCY
            else None
        )
        gain = p.unrealized_gain
        body.append(
            "<tr>"
            f'<th scope="row">{_e(p.instrument.symbol)}</th>'
            f"<td>{_e(p.instrument.asset_type.value)}</td>"
            f"<td>{_e(quantity(p.quantity))}</td>"
            f"<td>{_e(money(p.quote.price, p.currency) if p.quote else NA)}</td>"
            f"<td>{_e(money(p.market_value, p.currency))}</td>"
            f"<td>{_e(money(p.cost_basis, p.currency))}</td>"
            f'<td class="{_sign(None if gain is None else str(gain))}">'
            f"{_e(money(p.unrealized_gain, p.currency))}</td>"
            f"<td>{_e(percent(weight))}</td>"
            "</tr>"
        )
    if not body:
        body.append('<tr><td colspan="8">Nothing held on this day.</td></tr>')
    return (
        '<table id="holdings" aria-label="Holdings"><thead><tr>'
        + "".join(
            f'<th scope="col">{h}</th>'
            for h in (
                "Symbol",
                "Type",
                "Quantity",
                "Price",
                "Market value",
                "Cost basis",
                "Unrealized gain",
                "Weight",
            )
        )
        + f"</tr></thead><tbody>{''.join(body)}</tbody>"
        f'<tfoot><tr><th scope="row">Total</th><td colspan="3"></td>'
        f'<td>{_e(money(total))}</td><td colspan="3"></td></tr></tfoot></table>'
    )


def _charts(d: dict[str, Any], history: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """The figures of the tear sheet, titled."""
    import plotly.graph_objects as go  # type: ignore[import-untyped]  # noqa: PLC0415

    days = [h["date"] for h in history]
    layout = {
        "template": "plotly_white",
        "height": 340,
        "margin": {"l": 56, "r": 16, "t": 40, "b": 40},
        "legend": {"orientation": "h"},
    }
    charts: list[tuple[str, Any]] = []

    growth = go.Figure(
        go.Scatter(x=days, y=[h["cumulative_return"] for h in history], name="Portfolio (TWR)")
    )
    if any(h["benchmark_cumulative_return"] is not None for h in history):
        growth.add_trace(
            go.Scatter(
                x=days,
                y=[h["benchmark_cumulative_return"] for h in history],
                name=str(d["benchmark"]),
            )
        )
    growth.update_layout(title="Cumulative return", yaxis_tickformat=".1%", **layout)
    charts.append(("Cumulative return", growth))

    drawdown = go.Figure(
        go.Scatter(x=days, y=[h["drawdown"] for h in history], fill="tozeroy", name="Drawdown")
    )
    drawdown.update_layout(title="Drawdown", yaxis_tickformat=".1%", **layout)
    charts.append(("Drawdown", drawdown))

    returns = [h["daily_return"] for h in history if h["daily_return"] is not None]
    histogram = go.Figure(go.Histogram(x=returns, nbinsx=50, name="Daily returns"))
    for kind, color, where in (
        ("var", "#d97706", "top right"),
        ("cvar", "#b42318", "top left"),
    ):
        fraction = d[kind].get("historical", {}).get("0.95", {}).get("fraction")
        if fraction is not None:
            histogram.add_vline(
                x=-fraction,
                line_color=color,
                line_dash="dash",
                annotation_text=f"{kind.upper()} 95% {percent(-fraction)}",
                annotation_position=where,
            )
    histogram.update_layout(title="Distribution of daily returns", xaxis_tickformat=".1%", **layout)
    charts.append(("Distribution of daily returns", histogram))

    rolling = go.Figure()
    for window in (63, 252):
        values = [h["rolling"].get(f"volatility_{window}") for h in history]
        if any(v is not None for v in values):
            rolling.add_trace(go.Scatter(x=days, y=values, name=f"{window}-day volatility"))
    rolling.update_layout(title="Rolling volatility", yaxis_tickformat=".0%", **layout)
    charts.append(("Rolling volatility", rolling))

    matrix = d["correlation"]["matrix"]
    symbols = d["correlation"]["symbols"]
    if matrix:
        heatmap = go.Figure(
            go.Heatmap(
                z=matrix,
                x=symbols,
                y=symbols,
                zmin=-1,
                zmax=1,
                colorscale="RdBu",
                reversescale=True,
            )
        )
        heatmap.update_layout(title="Correlation of daily returns", **{**layout, "height": 420})
        charts.append(("Correlation of daily returns", heatmap))

    contributions = d["contributions"]
    if contributions:
        bars = go.Figure(
            [
                go.Bar(
                    x=[c["symbol"] for c in contributions],
                    y=[c["volatility_contribution"] for c in contributions],
                    name="Volatility contribution",
                ),
                go.Bar(
                    x=[c["symbol"] for c in contributions],
                    y=[c["var_contribution"] for c in contributions],
                    name="VaR 95% contribution",
                ),
            ]
        )
        bars.update_layout(
            title="Risk contribution by holding", barmode="group", yaxis_tickformat=".1%", **layout
        )
        charts.append(("Risk contribution by holding", bars))
    return charts


def _document(
    d: dict[str, Any],
    history: list[dict[str, Any]],
    positions: Sequence[Position],
    total: Decimal | None,
    *,
    period: str,
    generated: datetime,
) -> str:
    figures = []
    for index, (title, figure) in enumerate(_charts(d, history)):
        # plotly.js once, inline, in the first chart; the others draw with it
        div = figure.to_html(
            full_html=False,
            include_plotlyjs=index == 0,
            default_width="100%",
            default_height="340px",
            config={"displaylogo": False, "responsive": True},
        )
        figures.append(f'<figure class="chart" aria-label="{_e(title)}">{div}</figure>')
    warnings = "".join(f"<li>{_e(w)}</li>" for w in d["warnings"])
    if warnings:
        warnings = f'<section class="warnings" aria-label="Warnings"><ul>{warnings}</ul></section>'
    as_of = d["end"]
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>quantdesk tear sheet as of {_e(as_of)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Portfolio tear sheet</h1>
<p class="meta">As of <time id="as-of" datetime="{_e(as_of)}">{_e(as_of)}</time> ·
period {_e(period)} ({_e(d["start"])} to {_e(d["end"])}) · benchmark {_e(d["benchmark"])} ·
{_e(d["observations"])} daily returns, annualized over {_e(d["annualization"])} days ·
risk-free rate {_e(percent(d["risk_free"]))}</p>
</header>
{warnings}
<section class="grid">
<div><h2>Metrics</h2>{_metrics_table(d)}</div>
<div><h2>Value at risk</h2>{_risk_table(d)}</div>
</section>
<h2>Charts</h2>
<section class="charts">{"".join(figures)}</section>
<h2>Holdings on {_e(as_of)}</h2>
{_holdings_table(positions, total)}
<footer>Generated by quantdesk at {_e(generated.strftime("%Y-%m-%d %H:%M UTC"))}.
Returns are time-weighted unless named money-weighted; amounts in {prices.BASE_CURRENCY}.</footer>
</body>
</html>
"""
