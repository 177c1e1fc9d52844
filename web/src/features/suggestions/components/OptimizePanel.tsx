/**
 * The optimized allocation: an objective, covariance, period and cap per asset; Run asks
 * GET /suggestions/optimize and shows the efficient frontier with the current and the
 * optimized portfolio, the weights side by side, and the trades that get there with their
 * effect. A constraint that cannot be met is explained in the section.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import type { Layout } from "plotly.js-dist-min";
import { get } from "../../../api/client";
import { describe, useReportError } from "../../../components/errors";
import { PlotlyChart } from "../../../components/PlotlyChart";
import { useTheme } from "../../../components/theme";
import { direction, formatPercent, formatRatio, userLocale } from "../../../format/format";
import {
  COVARIANCES,
  OBJECTIVES,
  OPTIMIZE_DEFAULTS,
  OPTIMIZE_PERIODS,
  frontierData,
  isInputProblem,
  objectiveLabel,
  optimizeQuery,
  takesWeightBounds,
  type Objective,
  type OptimizeForm,
} from "../suggestionsLogic";
import type { Optimization } from "../types";
import { DroppedTrades, EffectText, ExportOrders, Notes, TradesTable } from "./Tables";

function Results({ answer, query }: { answer: Optimization; query: string }) {
  const { theme } = useTheme();
  const data = useMemo(() => frontierData(answer), [answer]);
  const layout: Partial<Layout> = useMemo(() => {
    const grid = theme === "dark" ? "#333" : "#e5e5e5";
    return {
      xaxis: { tickformat: ".0%", gridcolor: grid, title: { text: "Volatility (annualized)" } },
      yaxis: { tickformat: ".0%", gridcolor: grid, title: { text: "Return (annualized)" } },
      margin: { l: 64, r: 16, t: 40, b: 48 },
      legend: { orientation: "h", x: 0, y: 1.12 },
    };
  }, [theme]);
  const covariance = COVARIANCES.find(([key]) => key === answer.covariance)?.[1] ?? answer.covariance;
  const pct = (v: number | null | undefined) => formatPercent(v, undefined, 1);
  return (
    <div className="sug-opt-results" data-testid="optimize-results">
      <p className="sug-basis">
        {objectiveLabel(answer.objective)} · {covariance} covariance · daily returns {answer.start} to {answer.end}
      </p>
      <div className="sug-opt-grid">
        <div>
          {answer.frontier.length === 0 && <p className="sug-empty">No efficient frontier for these assets and period.</p>}
          <PlotlyChart title="Efficient frontier" data={data} layout={layout} height={360} />
        </div>
        <div>
          <table className="sug-table" aria-label="Portfolio performance">
            <thead>
              <tr>
                <th scope="col">Portfolio</th>
                <th scope="col" className="num">Return</th>
                <th scope="col" className="num">Volatility</th>
                <th scope="col" className="num">Sharpe</th>
              </tr>
            </thead>
            <tbody>
              {(
                [
                  ["Current", answer.current],
                  ["Optimized", answer.optimized],
                ] as const
              ).map(([name, perf]) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td className="num">{pct(perf?.return)}</td>
                  <td className="num">{pct(perf?.volatility)}</td>
                  <td className="num">{formatRatio(perf?.sharpe)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table className="sug-table" aria-label="Weights, current and optimized">
            <thead>
              <tr>
                <th scope="col">Symbol</th>
                <th scope="col">Class</th>
                <th scope="col" className="num">Current</th>
                <th scope="col" className="num">Optimized</th>
                <th scope="col" className="num">Change</th>
              </tr>
            </thead>
            <tbody>
              {answer.weights.map((w) => {
                const change = w.optimized - w.current;
                return (
                  <tr key={w.symbol}>
                    <th scope="row">{w.symbol}</th>
                    <td>{w.asset_type}</td>
                    <td className="num">{pct(w.current)}</td>
                    <td className="num">{pct(w.optimized)}</td>
                    <td className={`num ${direction(Math.abs(change) < 0.0005 ? 0 : change)}`}>
                      {formatPercent(change, undefined, 1, true)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </div>
      <h3>Trades to the optimized allocation</h3>
      <div className="sug-plan-head">
        <EffectText effect={answer.effect} label="Effect of all the trades:" />
        <span className="spacer" />
        <ExportOrders source="optimize" query={query} />
      </div>
      {answer.trades.length ? (
        <TradesTable trades={answer.trades} label="Optimized allocation trades" />
      ) : (
        <p className="sug-empty">No trades: the holdings are already at the optimized weights.</p>
      )}
      <DroppedTrades trades={answer.dropped ?? []} minTrade={undefined} />
      <Notes notes={answer.notes} label="Optimization notes" />
    </div>
  );
}

export function OptimizePanel() {
  const report = useReportError();
  const [form, setForm] = useState<OptimizeForm>(OPTIMIZE_DEFAULTS);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [run, setRun] = useState<string | null>(null);
  const optimization = useQuery({
    queryKey: ["suggestions", "optimize", run],
    queryFn: ({ signal }) => get<Optimization>(`/suggestions/optimize?${run ?? ""}`, undefined, signal),
    enabled: run !== null,
  });
  const inputProblem = isInputProblem(optimization.error);
  useEffect(() => {
    if (optimization.error && !isInputProblem(optimization.error)) report(optimization.error, "The optimization failed");
  }, [optimization.error, report]);

  const edit = (change: Partial<OptimizeForm>) => setForm((f) => ({ ...f, ...change }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { query, errors: found } = optimizeQuery(form, userLocale());
    setErrors(found);
    if (query === null) return;
    if (query === run) void optimization.refetch();
    else setRun(query);
  };
  const bounds = takesWeightBounds(form.objective);

  return (
    <section className="panel sug-section" aria-labelledby="sug-optimize-heading">
      <h2 id="sug-optimize-heading">Optimized allocation</h2>
      <form className="sug-opt-form" onSubmit={submit} noValidate aria-label="Optimization options">
        <label>
          Objective
          <select value={form.objective} onChange={(e) => edit({ objective: e.target.value as Objective })}>
            {OBJECTIVES.map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {form.objective === "efficient_return" && (
          <label>
            Target return (% per year)
            <input
              inputMode="decimal"
              size={5}
              value={form.target_return}
              onChange={(e) => edit({ target_return: e.target.value })}
              aria-invalid={errors.target_return ? true : undefined}
            />
          </label>
        )}
        {form.objective === "efficient_risk" && (
          <label>
            Target volatility (% per year)
            <input
              inputMode="decimal"
              size={5}
              value={form.target_risk}
              onChange={(e) => edit({ target_risk: e.target.value })}
              aria-invalid={errors.target_risk ? true : undefined}
            />
          </label>
        )}
        <label>
          Covariance
          <select value={form.covariance} onChange={(e) => edit({ covariance: e.target.value as OptimizeForm["covariance"] })}>
            {COVARIANCES.map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <div role="radiogroup" aria-label="Period" className="sug-periods">
          {OPTIMIZE_PERIODS.map((p) => (
            <button
              key={p}
              type="button"
              role="radio"
              aria-checked={p === form.period}
              className={p === form.period ? "sug-period active" : "sug-period ghost"}
              onClick={() => edit({ period: p })}
            >
              {p}
            </button>
          ))}
        </div>
        <label title={bounds ? "Empty: no cap." : "Risk parity and HRP set their own weights: no cap applies."}>
          Max weight per asset (%)
          <input
            inputMode="decimal"
            size={5}
            placeholder={bounds ? "none" : "n/a"}
            disabled={!bounds}
            value={bounds ? form.max_weight : ""}
            onChange={(e) => edit({ max_weight: e.target.value })}
            aria-invalid={errors.max_weight ? true : undefined}
          />
        </label>
        <button type="submit" disabled={optimization.isFetching}>
          {optimization.isFetching ? "Optimizing…" : "Run optimization"}
        </button>
      </form>
      {Object.values(errors).map((e) => (
        <p key={e} className="field-error sug-field-error" role="alert">
          {e}
        </p>
      ))}
      {run === null && <p className="sug-empty">Pick an objective and run the optimization to compare allocations.</p>}
      {optimization.error && (
        <p className={inputProblem ? "warning sug-problem" : "error sug-problem"} role="alert" data-testid="optimize-problem">
          {inputProblem ? "This optimization cannot be done: " : "The optimization failed: "}
          {describe(optimization.error)}
        </p>
      )}
      {optimization.isFetching && !optimization.data && <p className="loading">Optimizing…</p>}
      {optimization.data && run !== null && !optimization.error && <Results answer={optimization.data} query={run} />}
    </section>
  );
}
