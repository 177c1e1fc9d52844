"""The JSON contract of analytics (docs/cli-json.md), shared by the CLI, the API and the
materialized metric sets: ratios as numbers, money as strings with cents, null for what
cannot be computed (never NaN: it is not JSON)."""

from __future__ import annotations

import math
from typing import Any

from quantdesk.analytics.metrics import MetricSet, RiskFigure
from quantdesk.domain.money import money_text
from quantdesk.services.analytics import HistoryRow, Report


def _num(value: float | None) -> float | None:
    """A metric as a JSON number (ratios are floats, not money): None, NaN and inf are
    null (JSON has no NaN)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _money_float(value: float | None) -> str | None:
    """A float money amount as a JSON string with cents (floats are never money in JSON)."""
    return None if value is None or not math.isfinite(value) else f"{value:.2f}"


def _risk(figures: dict[str, dict[float, RiskFigure]]) -> dict[str, Any]:
    return {
        method: {
            f"{c:g}": {"fraction": _num(f.fraction), "amount": _money_float(f.amount)}
            for c, f in by_confidence.items()
        }
        for method, by_confidence in figures.items()
    }


def analytics_json(r: Report, *, explain: bool = False) -> dict[str, Any]:
    m = r.metrics
    dd = m.max_drawdown
    data: dict[str, Any] = {
        "start": r.start.isoformat(),
        "end": r.end.isoformat(),
        "account": r.options.account,
        "asset_class": r.options.asset_class,
        "total_value": _money_float(r.total_value),
        "total_cost_basis": money_text(r.total_cost_basis),
        "unrealized_gain": money_text(r.unrealized_gain),
        "realized_gain": money_text(r.realized_gain),
        "simple_return": _num(r.simple_return),
        "twr": _num(m.twr),
        "twr_annualized": _num(m.twr_annualized),
        "mwr": _num(r.mwr),
        "volatility": _num(m.volatility),
        "sharpe": _num(m.sharpe),
        "sortino": _num(m.sortino),
        "calmar": _num(m.calmar),
        "beta": _num(m.beta),
        "alpha": _num(m.alpha),
        "max_drawdown": None
        if dd is None
        else {
            "value": _num(dd.value),
            "peak": dd.peak.isoformat(),
            "trough": dd.trough.isoformat(),
            "recovery": None if dd.recovery is None else dd.recovery.isoformat(),
        },
        "var": _risk(m.var),
        "cvar": _risk(m.cvar),
        "correlation": {
            "symbols": r.symbols,
            "matrix": None
            if m.correlation is None
            else [[_num(v) if math.isfinite(v) else None for v in row] for row in m.correlation],
        },
        "contributions": [
            {
                "symbol": symbol,
                "weight": _num(c.weight),
                "return_contribution": _num(c.return_contribution),
                "volatility_contribution": _num(c.volatility_contribution),
                "var_contribution": _num(c.var_contribution),
            }
            for symbol, c in zip(r.symbols, m.contributions, strict=False)
        ],
        "observations": m.observations,
        "annualization": m.annualization,
        "calendar": r.frames.calendar,
        "benchmark": r.benchmark,
        "risk_free": r.options.risk_free,
        "horizon": r.options.horizon,
        "warnings": r.warnings,
    }
    if explain:
        data["explain"] = {
            "flows": [{"day": d.isoformat(), "amount": f"{a:.2f}"} for d, a in r.flows()],
            "sub_periods": [
                {
                    "start": p.start.isoformat(),
                    "end": p.end.isoformat(),
                    "start_value": f"{p.start_value:.2f}",
                    "end_value": f"{p.end_value:.2f}",
                    "flow_at_end": f"{p.flow_at_end:.2f}",
                    "return": _num(p.growth),
                }
                for p in r.sub_periods()
            ],
            "start_value": f"{r.frames.values[0]:.2f}",
            "end_value": f"{r.frames.values[-1]:.2f}",
        }
    return data


def history_json(rows: list[HistoryRow]) -> list[dict[str, Any]]:
    return [
        {
            "date": h.day.isoformat(),
            "value": f"{h.value:.2f}",
            "net_flow": f"{h.flow:.2f}",
            "daily_return": _num(h.daily_return),
            "cumulative_return": _num(h.cumulative_return),
            "drawdown": _num(h.drawdown),
            "benchmark_cumulative_return": _num(h.benchmark_cumulative),
            "rolling": {k: _num(v) for k, v in h.rolling.items()},
        }
        for h in rows
    ]


def metric_set_json(m: MetricSet) -> dict[str, Any]:
    return {
        "twr": _num(m.twr),
        "volatility": _num(m.volatility),
        "sharpe": _num(m.sharpe),
        "sortino": _num(m.sortino),
        "beta": _num(m.beta),
        "max_drawdown": None if m.max_drawdown is None else m.max_drawdown.value,
        "var": _risk(m.var),
        "cvar": _risk(m.cvar),
        "warnings": m.warnings,
    }


def number(value: float | None) -> float | None:
    """A float as JSON: null for None, NaN and infinities."""
    return _num(value)
