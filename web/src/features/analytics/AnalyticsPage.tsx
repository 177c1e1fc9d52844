/**
 * Analytics: the whole metric set of a period against a benchmark (GET /analytics), the
 * correlation heatmap, rolling volatility, Sharpe and beta, the daily return histogram
 * with VaR and CVaR, risk contributions, and the HTML tear sheet of the same request.
 */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import type { Data, Layout } from "plotly.js-dist-min";
import { get } from "../../api/client";
import type { Analytics, HistoryPoint } from "../../api/types";
import { describe, useReportError } from "../../components/errors";
import { PlotlyChart } from "../../components/PlotlyChart";
import { useTheme } from "../../components/theme";
import { direction, formatMoney, formatPercent, formatRatio } from "../../format/format";
import {
  BENCHMARK_SUGGESTIONS,
  CONFIDENCES,
  PERIODS,
  ROLLING_WINDOWS,
  VAR_METHODS,
  dailyReturns,
  histogram,
  isoDay,
  normalizeBenchmark,
  periodQuery,
  rollingSeries,
  tearsheetUrl,
  type Period,
} from "./analyticsLogic";
import { DEFINITIONS, METHOD_NOTES } from "./definitions";
import "./analytics.css";

const CURRENCY = "USD"; // the analytics' base currency

interface Metric {
  key: string;
  label: string;
  value: string;
  sign?: number | string | null;
  title?: string;
}

function metricsOf(a: Analytics): Metric[] {
  const dd = a.max_drawdown;
  return [
    { key: "twr", label: "Return (time-weighted)", value: formatPercent(a.twr), sign: a.twr },
    { key: "twr_annualized", label: "TWR annualized", value: formatPercent(a.twr_annualized), sign: a.twr_annualized },
    { key: "mwr", label: "Return (money-weighted, p.a.)", value: formatPercent(a.mwr), sign: a.mwr },
    { key: "simple_return", label: "Simple return", value: formatPercent(a.simple_return), sign: a.simple_return },
    { key: "volatility", label: "Volatility (annualized)", value: formatPercent(a.volatility) },
    { key: "sharpe", label: "Sharpe", value: formatRatio(a.sharpe) },
    { key: "sortino", label: "Sortino", value: formatRatio(a.sortino) },
    { key: "calmar", label: "Calmar", value: formatRatio(a.calmar) },
    { key: "beta", label: `Beta vs ${a.benchmark ?? "benchmark"}`, value: formatRatio(a.beta) },
    { key: "alpha", label: `Alpha vs ${a.benchmark ?? "benchmark"}`, value: formatPercent(a.alpha), sign: a.alpha },
    { key: "max_drawdown", label: "Max drawdown", value: formatPercent(dd?.value), sign: dd?.value ?? null },
    {
      key: "max_drawdown_dates",
      label: "Drawdown peak → trough",
      value: dd?.peak ? `${dd.peak} → ${dd.trough ?? "—"}` : "—",
      title: `${DEFINITIONS.max_drawdown_dates} Recovered: ${dd?.recovery ?? "not yet"}.`,
    },
    { key: "total_value", label: "Total value", value: formatMoney(a.total_value, CURRENCY) },
    { key: "total_cost_basis", label: "Cost basis", value: formatMoney(a.total_cost_basis, CURRENCY) },
    {
      key: "unrealized_gain",
      label: "Unrealized gain",
      value: formatMoney(a.unrealized_gain, CURRENCY),
      sign: a.unrealized_gain,
    },
    { key: "realized_gain", label: "Realized gain", value: formatMoney(a.realized_gain, CURRENCY), sign: a.realized_gain },
  ];
}

function MetricPanel({ analytics }: { analytics: Analytics }) {
  return (
    <section className="panel anl-metrics" aria-label="Metrics">
      {metricsOf(analytics).map((m) => (
        <div key={m.key} className="anl-metric" data-testid={`metric-${m.key}`} title={m.title ?? DEFINITIONS[m.key] ?? m.label}>
          <div className="label">{m.label}</div>
          <div className={`value ${m.sign === undefined ? "" : direction(m.sign)}`}>{m.value}</div>
        </div>
      ))}
    </section>
  );
}

function RiskTable({ analytics }: { analytics: Analytics }) {
  const pct = (c: string) => formatPercent(Number(c), undefined, 0);
  return (
    <section className="panel" aria-labelledby="anl-risk">
      <h2 id="anl-risk">Value at risk ({analytics.horizon}-day horizon)</h2>
      <table className="anl-table" data-testid="risk-table">
        <thead>
          <tr>
            <th scope="col">Method</th>
            {(["var", "cvar"] as const).flatMap((kind) =>
              CONFIDENCES.map((c) => (
                <th key={`${kind}${c}`} scope="col" title={DEFINITIONS[kind]}>
                  {kind === "var" ? "VaR" : "CVaR"} {pct(c)}
                </th>
              )),
            )}
          </tr>
        </thead>
        <tbody>
          {VAR_METHODS.filter(([method]) => analytics.var?.[method]).map(([method, label]) => (
            <tr key={method}>
              <th scope="row" title={METHOD_NOTES[method]}>
                {label}
              </th>
              {(["var", "cvar"] as const).flatMap((kind) =>
                CONFIDENCES.map((c) => {
                  const level = analytics[kind]?.[method]?.[c];
                  return (
                    <td
                      key={`${kind}${c}`}
                      data-testid={`${kind}-${method}-${c}`}
                      title={`${DEFINITIONS[kind]} ${METHOD_NOTES[method]} ${pct(c)} confidence.`}
                    >
                      <div>{formatMoney(level?.amount, CURRENCY)}</div>
                      <div className="anl-sub">{formatPercent(level?.fraction)}</div>
                    </td>
                  );
                }),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Charts({ analytics, history }: { analytics: Analytics; history: HistoryPoint[] | undefined }) {
  const heatmap = useMemo<Data[]>(() => {
    const { symbols, matrix } = analytics.correlation ?? { symbols: [], matrix: [] };
    return [
      {
        type: "heatmap",
        z: matrix,
        x: symbols,
        y: symbols,
        zmin: -1,
        zmax: 1,
        colorscale: "RdBu",
        hovertemplate: "%{y} / %{x}: %{z:.2f}<extra></extra>",
      } as Data,
    ];
  }, [analytics.correlation]);

  const contributions = useMemo<Data[]>(() => {
    const rows = analytics.contributions ?? [];
    return [
      {
        type: "bar",
        name: "Volatility contribution",
        x: rows.map((c) => c.symbol),
        y: rows.map((c) => c.volatility_contribution),
        hovertemplate: "%{x}: %{y:.2%}<extra>volatility</extra>",
      },
      {
        type: "bar",
        name: "VaR 95% contribution",
        x: rows.map((c) => c.symbol),
        y: rows.map((c) => c.var_contribution),
        hovertemplate: "%{x}: %{y:.2%}<extra>VaR</extra>",
      },
    ];
  }, [analytics.contributions]);

  const rolling = useMemo(
    () =>
      (["volatility", "sharpe", "beta"] as const).map((metric) => ({
        metric,
        data: ROLLING_WINDOWS.flatMap((w) => {
          const s = history ? rollingSeries(history, metric, w) : null;
          return s ? [{ type: "scatter", mode: "lines", name: `${w}-day`, x: s.x, y: s.y, connectgaps: false } as Data] : [];
        }),
      })),
    [history],
  );

  const distribution = useMemo(() => {
    const h = histogram(history ? dailyReturns(history) : [], 50);
    const top = Math.max(0, ...h.counts);
    const lines = (["var", "cvar"] as const).flatMap((kind) => {
      const fraction = analytics[kind]?.historical?.["0.95"]?.fraction;
      return fraction === null || fraction === undefined ? [] : [{ kind, x: -fraction }];
    });
    const data: Data[] = [
      { type: "bar", name: "Days", x: h.centers, y: h.counts, width: h.width || undefined, hovertemplate: "%{x:.2%}: %{y} days<extra></extra>" },
      ...lines.map(
        (l) =>
          ({
            type: "scatter",
            mode: "lines",
            name: `${l.kind === "var" ? "VaR" : "CVaR"} 95% (${formatPercent(l.x)})`,
            x: [l.x, l.x],
            y: [0, top],
            line: { dash: "dash", color: l.kind === "var" ? "#d97706" : "#dc2626", width: 2 },
          }) as Data,
      ),
    ];
    return { data, empty: h.counts.length === 0 };
  }, [history, analytics]);

  // an axis given here replaces the wrapper's, so it keeps the theme's grid colour
  const { theme } = useTheme();
  const pct = useMemo(() => ({ tickformat: ".1%", gridcolor: theme === "dark" ? "#333" : "#e5e5e5" }), [theme]);
  const pctY: Partial<Layout> = useMemo(() => ({ yaxis: pct }), [pct]);
  const ratioY: Partial<Layout> = useMemo(() => ({}), []);
  const histLayout: Partial<Layout> = useMemo(() => ({ xaxis: pct, bargap: 0.05 }), [pct]);
  const heatLayout: Partial<Layout> = useMemo(() => ({ margin: { l: 70, r: 16, t: 16, b: 70 } }), []);
  const barLayout: Partial<Layout> = useMemo(() => ({ yaxis: pct, barmode: "group" }), [pct]);
  const noCorrelation = !analytics.correlation?.matrix?.length;

  return (
    <>
      <div className="charts">
        <section className="panel" aria-labelledby="anl-corr" title={DEFINITIONS.correlation}>
          <h2 id="anl-corr">Correlation</h2>
          {noCorrelation ? (
            <p className="anl-empty">No correlation: fewer than two assets held with returns in the period.</p>
          ) : (
            <PlotlyChart title="Correlation heatmap" data={heatmap} layout={heatLayout} height={380} />
          )}
        </section>
        <section className="panel" aria-labelledby="anl-contrib" title={`${DEFINITIONS.volatility_contribution} ${DEFINITIONS.var_contribution}`}>
          <h2 id="anl-contrib">Risk contribution</h2>
          <PlotlyChart title="Risk contribution by holding" data={contributions} layout={barLayout} height={380} />
        </section>
        <section className="panel" aria-labelledby="anl-hist" title={DEFINITIONS.histogram}>
          <h2 id="anl-hist">Distribution of daily returns</h2>
          {!history ? (
            <p className="anl-empty">Loading the daily series…</p>
          ) : distribution.empty ? (
            <p className="anl-empty">No daily returns in the period.</p>
          ) : (
            <PlotlyChart title="Daily return histogram" data={distribution.data} layout={histLayout} />
          )}
        </section>
      </div>
      <div className="charts anl-rolling">
        {rolling.map(({ metric, data }) => (
          <section key={metric} className="panel" aria-labelledby={`anl-roll-${metric}`} title={`${DEFINITIONS[metric] ?? ""} ${DEFINITIONS.rolling}`}>
            <h2 id={`anl-roll-${metric}`}>Rolling {metric}</h2>
            {!history ? (
              <p className="anl-empty">Loading the daily series…</p>
            ) : data.length === 0 ? (
              <p className="anl-empty">The period is shorter than a 63-day window{metric === "beta" ? " or has no benchmark" : ""}.</p>
            ) : (
              <PlotlyChart title={`Rolling ${metric}`} data={data} layout={metric === "volatility" ? pctY : ratioY} height={260} />
            )}
          </section>
        ))}
      </div>
    </>
  );
}

export function AnalyticsPage() {
  const report = useReportError();
  const [period, setPeriod] = useState<Period>("1Y");
  const [benchmark, setBenchmark] = useState("SPY");
  const [typed, setTyped] = useState("SPY");
  const today = isoDay(new Date());
  const query = useMemo(() => ({ ...periodQuery(period, today), benchmark }), [period, today, benchmark]);

  const analytics = useQuery({
    queryKey: ["analytics", query],
    queryFn: ({ signal }) => get<Analytics>("/analytics", query, signal),
    placeholderData: keepPreviousData,
  });
  const history = useQuery({
    queryKey: ["analytics-history", query],
    queryFn: ({ signal }) => get<HistoryPoint[]>("/analytics/history", query, signal),
    placeholderData: keepPreviousData,
  });
  useEffect(() => {
    if (analytics.error) report(analytics.error, "The analytics could not be computed");
  }, [analytics.error, report]);
  useEffect(() => {
    if (history.error) report(history.error, "The daily series could not be loaded");
  }, [history.error, report]);

  const commit = (text: string) => {
    const next = normalizeBenchmark(text);
    if (next && next !== benchmark) setBenchmark(next);
    setTyped(next || benchmark);
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    commit(typed);
  };

  const a = analytics.data;
  const benchmarkWarnings = (a?.warnings ?? []).filter((w) => w.toLowerCase().includes("benchmark"));
  const otherWarnings = (a?.warnings ?? []).filter((w) => !w.toLowerCase().includes("benchmark"));
  const fetching = analytics.isFetching || history.isFetching;

  return (
    <div className="anl">
      <div className="anl-head">
        <h1>Analytics</h1>
        <form className="toolbar anl-toolbar" onSubmit={onSubmit} aria-label="Analytics options">
          <div role="radiogroup" aria-label="Period" className="anl-periods">
            {PERIODS.map((p) => (
              <button
                key={p}
                type="button"
                role="radio"
                aria-checked={p === period}
                className={p === period ? "anl-period active" : "anl-period ghost"}
                onClick={() => setPeriod(p)}
              >
                {p}
              </button>
            ))}
          </div>
          <label className="anl-benchmark">
            Benchmark
            <input
              value={typed}
              list="anl-benchmarks"
              maxLength={40}
              size={9}
              onChange={(e) => {
                setTyped(e.target.value);
                if (BENCHMARK_SUGGESTIONS.includes(e.target.value)) commit(e.target.value);
              }}
              onBlur={() => commit(typed)}
            />
            <datalist id="anl-benchmarks">
              {BENCHMARK_SUGGESTIONS.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          </label>
          <button type="submit" className="ghost">
            Apply
          </button>
          <span className="spacer" />
          <a className="anl-download" href={tearsheetUrl(period, benchmark)} download>
            Download tear sheet
          </a>
        </form>
      </div>
      <p className="anl-period-label" data-testid="period-label" aria-live="polite">
        {a ? (
          <>
            <strong>{period}</strong> · {a.start} to {a.end} · {a.observations} daily returns · benchmark {a.benchmark ?? "—"}
          </>
        ) : (
          <strong>{period}</strong>
        )}
        {fetching && <span className="anl-busy"> · updating…</span>}
      </p>
      {analytics.error && (
        <p className="warning" role="status">
          {describe(analytics.error)}
        </p>
      )}
      {benchmarkWarnings.length > 0 && (
        <div className="warning anl-warning" role="status" aria-label="Benchmark problem">
          <strong>Benchmark {benchmark}:</strong> {benchmarkWarnings.join("; ")}. Beta and alpha need the benchmark's closes.
        </div>
      )}
      {otherWarnings.length > 0 && (
        <ul className="warning anl-warning" aria-label="Analytics warnings">
          {otherWarnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {!a && !analytics.error && <p className="loading">Computing the analytics…</p>}
      {a && (
        <>
          <MetricPanel analytics={a} />
          <RiskTable analytics={a} />
          <Charts analytics={a} history={history.data} />
        </>
      )}
    </div>
  );
}
