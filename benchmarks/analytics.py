"""Speed of the analytics engine against quantstats and empyrical-reloaded (issue 4).

(a) 50 assets x 10 years of daily returns (the real 50 US large caps in
    ../shared/data/prices when present, else a seeded simulation): the full metric set
    (returns, volatility, Sharpe, Sortino, Calmar, beta, alpha, max drawdown with dates,
    correlation, contributions, VaR and CVaR by all four methods at 95% and 99%), with
    the same metrics computed by quantstats and by empyrical-reloaded in the same run;
(b) a what-if change of one holding (the full set of the hypothetical holdings);
(c) 1,000 portfolios x 20 assets x 5 years, the full set of each, in a batch.

Run: .venv/bin/python benchmarks/analytics.py   (make bench installs the peers)
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from quantdesk.analytics.metrics import metric_set
from quantdesk.analytics.whatif import HoldingsModel

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "prices"
DAYS_10Y = 2520
RISK_FREE = 0.04
A = 252


def load_assets() -> tuple[np.ndarray, str]:
    wide = DATA / "us_large_caps_50" / "50stocks_close_2013_2024.csv"
    if wide.exists():
        frame = pd.read_csv(wide, index_col=0).dropna(axis=1)
        returns = frame.pct_change().dropna().to_numpy()[-DAYS_10Y:, :50]
        return returns, f"real closes of {returns.shape[1]} US large caps ({wide.name})"
    rng = np.random.default_rng(7)
    market = rng.standard_t(4, DAYS_10Y) * 0.008
    returns = market[:, None] * rng.uniform(0.6, 1.4, 50) + rng.standard_t(4, (DAYS_10Y, 50)) * 0.01
    return returns, "a seeded simulation (../shared/data/prices is absent)"


def median_ms(run: Callable[[], object], repeat: int) -> float:
    run()  # warm up
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> None:
    assets, source = load_assets()
    weights = np.full(assets.shape[1], 1 / assets.shape[1])
    portfolio = assets @ weights
    benchmark = assets.mean(axis=1) * 0.9
    start = date(2015, 1, 2)
    days = [start + timedelta(days=i + 1) for i in range(len(portfolio))]
    print(f"(a) {assets.shape[1]} assets x {len(portfolio)} days from {source}")

    def ours() -> object:
        return metric_set(
            portfolio,
            days,
            start=start,
            periods_per_year=A,
            risk_free=RISK_FREE,
            benchmark_returns=benchmark,
            asset_returns=assets,
            weights=weights,
            last_value=1_000_000.0,
        )

    ours_ms = median_ms(ours, 50)
    print(f"    quantdesk metric_set (full set, 4 VaR methods x 2 levels): {ours_ms:.2f} ms median")
    rf_d = (1 + RISK_FREE) ** (1 / A) - 1
    try:
        import empyrical  # noqa: PLC0415 - a peer for the benchmark only

        def with_empyrical() -> object:
            return (
                empyrical.cum_returns_final(portfolio),
                empyrical.annual_return(portfolio, annualization=A),
                empyrical.annual_volatility(portfolio, annualization=A),
                empyrical.sharpe_ratio(portfolio, risk_free=rf_d, annualization=A),
                empyrical.sortino_ratio(portfolio, required_return=rf_d, annualization=A),
                empyrical.calmar_ratio(portfolio, annualization=A),
                empyrical.max_drawdown(portfolio),
                empyrical.alpha_beta(portfolio, benchmark, risk_free=rf_d, annualization=A),
                empyrical.value_at_risk(portfolio, cutoff=0.05),
                empyrical.value_at_risk(portfolio, cutoff=0.01),
                empyrical.conditional_value_at_risk(portfolio, cutoff=0.05),
                empyrical.conditional_value_at_risk(portfolio, cutoff=0.01),
                np.corrcoef(assets, rowvar=False),
            )

        emp_ms = median_ms(with_empyrical, 50)
        print(
            f"    empyrical-reloaded (its subset: no parametric/CF/MC VaR, no contributions):"
            f" {emp_ms:.2f} ms median, ours/empyrical = {ours_ms / emp_ms:.2f}x"
        )
    except ImportError:
        print("    empyrical-reloaded not installed: `make bench` installs it")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import quantstats as qs  # noqa: PLC0415 - a peer for the benchmark only

        index = pd.bdate_range("2015-01-02", periods=len(portfolio))
        series = pd.Series(portfolio, index=index)
        bench = pd.Series(benchmark, index=index)
        frame = pd.DataFrame(assets, index=index)

        def with_quantstats() -> object:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return (
                    qs.stats.comp(series),
                    qs.stats.cagr(series),
                    qs.stats.volatility(series, periods=A),
                    qs.stats.sharpe(series, rf=RISK_FREE, periods=A),
                    qs.stats.sortino(series, rf=RISK_FREE, periods=A),
                    qs.stats.calmar(series),
                    qs.stats.max_drawdown(series),
                    qs.stats.greeks(series, bench, periods=A),
                    qs.stats.value_at_risk(series, confidence=0.95),
                    qs.stats.value_at_risk(series, confidence=0.99),
                    qs.stats.cvar(series, confidence=0.95),
                    qs.stats.cvar(series, confidence=0.99),
                    frame.corr(),
                )

        qs_ms = median_ms(with_quantstats, 20)
        print(
            f"    quantstats (its subset: parametric VaR, historical CVaR, no contributions):"
            f" {qs_ms:.2f} ms median, ours/quantstats = {ours_ms / qs_ms:.2f}x"
        )
    except ImportError:
        print("    quantstats not installed: `make bench` installs it")

    prices = np.cumprod(1 + assets, axis=0) * 100
    model = HoldingsModel(prices, 10_000.0, [start, *days[:-1]], A, benchmark[1:])
    units = np.full(assets.shape[1], 10.0)
    changed = units.copy()
    changed[3] += 5

    def what_if() -> object:
        return model.metrics(changed, risk_free=RISK_FREE)

    print(f"(b) what-if of one holding (full set): {median_ms(what_if, 50):.2f} ms median")

    rng = np.random.default_rng(3)
    batch_assets = rng.standard_t(4, (1000, 1260, 20)) * 0.01
    batch_weights = rng.dirichlet(np.ones(20), 1000)
    batch_days = days[:1260]

    def batch() -> object:
        return [
            metric_set(
                batch_assets[i] @ batch_weights[i],
                batch_days,
                start=start,
                periods_per_year=A,
                risk_free=RISK_FREE,
                benchmark_returns=benchmark[:1260],
                asset_returns=batch_assets[i],
                weights=batch_weights[i],
                last_value=1.0,
            )
            for i in range(1000)
        ]

    print(
        f"(c) 1,000 portfolios x 20 assets x 1,260 days: {median_ms(batch, 3) / 1000:.2f} s median"
    )


if __name__ == "__main__":
    main()
