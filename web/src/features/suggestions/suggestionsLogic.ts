/**
 * The suggestions page's pure logic: the one-line effect of a trade or plan, the order of
 * the risk alerts, the basis of the figures, the harvest and optimize queries, the orders
 * CSV's address and the efficient frontier's plot data. No React, no fetching.
 */
import type { Data } from "plotly.js-dist-min";
import { API, ApiError } from "../../api/client";
import { formatMoney, formatNumber, formatPercent, formatRatio, parseUserNumber } from "../../format/format";
import { percentToFraction } from "../settings/settings";
import type { Effect, EffectsBasis, Figures, Optimization, Replacement, RiskAlert } from "./types";

/** The suggestions' base currency (the engine plans in it). */
export const CURRENCY = "USD";

/** "vol 15.2% → 14.1%, VaR $1,234 → $1,100, Sharpe 0.82 → 0.90, drift 11.2% → 0.4%";
 * a figure missing both before and after is left out, "—" when nothing is known. */
export function effectLine(effect: Effect | null | undefined, currency: string = CURRENCY, locale?: string): string {
  if (!effect) return "—";
  const pct = (v: number | null) => formatPercent(v, locale, 1);
  const money = (v: number | null) => formatMoney(v, currency, locale, 0);
  const ratio = (v: number | null) => formatRatio(v, locale);
  const parts: [string, keyof Figures, (v: number | null) => string][] = [
    ["vol", "volatility", pct],
    ["VaR", "var", money],
    ["Sharpe", "sharpe", ratio],
    ["drift", "drift", pct],
  ];
  const shown = parts
    .filter(([, key]) => effect.before?.[key] != null || effect.after?.[key] != null)
    .map(([label, key, show]) => `${label} ${show(effect.before?.[key] ?? null)} → ${show(effect.after?.[key] ?? null)}`);
  return shown.length ? shown.join(", ") : "—";
}

const SEVERITY_RANK: Record<string, number> = { critical: 0, warning: 1 };

/** Critical alerts first, then warnings; the server's order otherwise. */
export function sortAlerts(alerts: RiskAlert[]): RiskAlert[] {
  return alerts
    .map((alert, i) => ({ alert, i }))
    .sort((a, b) => (SEVERITY_RANK[a.alert.severity] ?? 2) - (SEVERITY_RANK[b.alert.severity] ?? 2) || a.i - b.i)
    .map(({ alert }) => alert);
}

/** What the figures are computed on, for their tooltips. */
export function basisText(basis: EffectsBasis | null | undefined, locale?: string): string {
  if (!basis) return "";
  const confidence = formatPercent(basis.confidence, locale, 0);
  const days = basis.horizon_days === 1 ? "1-day" : `${basis.horizon_days}-day`;
  return (
    `Computed over ${basis.period} (${basis.start} to ${basis.end}) of daily returns; ` +
    `VaR by the ${basis.method} method at ${confidence} confidence, ${days} horizon.`
  );
}

/** True when the suggestions were refused because no targets are set yet. */
export const isNoTargets = (error: unknown): boolean =>
  error instanceof ApiError && error.status === 422 && /no targets/i.test(error.message);

/** A problem the user's input caused (shown in place), not a failure of the server. */
export const isInputProblem = (error: unknown): boolean => error instanceof ApiError && error.status === 422;

// Tax-loss harvesting ---------------------------------------------------------------------

/** "QQQ (ρ 0.93), VOO (ρ 0.91)": the replacements and their correlation to the lot's asset. */
export const replacementsText = (replacements: Replacement[] | undefined, locale?: string): string =>
  (replacements ?? []).map((r) => `${r.symbol} (ρ ${formatNumber(r.correlation, locale, 2, 2)})`).join(", ");

export interface HarvestForm {
  /** Money. */
  min_loss: string;
  /** Percents. */
  short_rate: string;
  long_rate: string;
}

export const HARVEST_DEFAULTS: HarvestForm = { min_loss: "100", short_rate: "37", long_rate: "20" };

export type HarvestQuery = { min_loss: string; short_rate: string; long_rate: string };

/** The GET /suggestions query of the harvest inputs (rates as fractions), or the errors. */
export function harvestQuery(form: HarvestForm, locale?: string): { query: HarvestQuery | null; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const minLoss = parseUserNumber(form.min_loss, locale);
  if (minLoss === null || Number(minLoss) < 0) errors.min_loss = "The minimum loss is an amount of 0 or more.";
  const rate = (field: "short_rate" | "long_rate", what: string): string | null => {
    const fraction = percentToFraction(form[field], locale);
    if (fraction === null || Number(fraction) < 0 || Number(fraction) > 1) {
      errors[field] = `The ${what} tax rate is a percent from 0 to 100.`;
      return null;
    }
    return fraction;
  };
  const short = rate("short_rate", "short-term");
  const long = rate("long_rate", "long-term");
  if (minLoss === null || short === null || long === null || Object.keys(errors).length) return { query: null, errors };
  return { query: { min_loss: minLoss, short_rate: short, long_rate: long }, errors };
}

// Optimization ----------------------------------------------------------------------------

export const OBJECTIVES = [
  ["max_sharpe", "Max Sharpe"],
  ["min_volatility", "Min volatility"],
  ["efficient_return", "Target return"],
  ["efficient_risk", "Target risk"],
  ["risk_parity", "Risk parity"],
  ["hrp", "Hierarchical risk parity"],
] as const;
export type Objective = (typeof OBJECTIVES)[number][0];
export const COVARIANCES = [
  ["ledoit_wolf", "Ledoit-Wolf shrinkage"],
  ["sample", "Sample"],
] as const;
export type Covariance = (typeof COVARIANCES)[number][0];
export const OPTIMIZE_PERIODS = ["1Y", "3Y", "5Y", "ALL"] as const;
export type OptimizePeriod = (typeof OPTIMIZE_PERIODS)[number];

export const objectiveLabel = (objective: string): string =>
  OBJECTIVES.find(([key]) => key === objective)?.[1] ?? objective;

/** Risk parity and HRP define their own weights: they take no weight bounds. */
export const takesWeightBounds = (objective: Objective): boolean => objective !== "risk_parity" && objective !== "hrp";

export interface OptimizeForm {
  objective: Objective;
  covariance: Covariance;
  period: OptimizePeriod;
  /** Percents; the target return and risk are asked only by their objective. */
  target_return: string;
  target_risk: string;
  /** Percent; empty for no cap. */
  max_weight: string;
}

export const OPTIMIZE_DEFAULTS: OptimizeForm = {
  objective: "max_sharpe",
  covariance: "ledoit_wolf",
  period: "3Y",
  target_return: "8",
  target_risk: "15",
  max_weight: "",
};

/** The GET /suggestions/optimize query string of the form ("objective=max_sharpe&..."),
 * or the errors of its inputs. */
export function optimizeQuery(form: OptimizeForm, locale?: string): { query: string | null; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const params = new URLSearchParams({ objective: form.objective, covariance: form.covariance, period: form.period });
  const percent = (field: "target_return" | "target_risk" | "max_weight", message: string, ok: (fraction: number) => boolean) => {
    const fraction = percentToFraction(form[field], locale);
    if (fraction === null || !ok(Number(fraction))) errors[field] = message;
    else params.set(field, fraction);
  };
  if (form.objective === "efficient_return") {
    percent("target_return", "Enter the target return per year in percent, such as 8.", (f) => f > -1 && f <= 10);
  }
  if (form.objective === "efficient_risk") {
    percent("target_risk", "Enter the target volatility per year in percent, such as 15.", (f) => f > 0 && f <= 10);
  }
  if (takesWeightBounds(form.objective) && form.max_weight.trim()) {
    percent("max_weight", "The maximum weight per asset is a percent above 0 and up to 100.", (f) => f > 0 && f <= 1);
  }
  return Object.keys(errors).length ? { query: null, errors } : { query: params.toString(), errors };
}

// Orders ----------------------------------------------------------------------------------

export type OrdersSource = "rebalance" | "harvest" | "optimize";

/** The orders CSV's address: the source and the query its suggestions were made with
 * (the harvest inputs, or the optimize query string). */
export function ordersCsvUrl(source: OrdersSource, query?: HarvestQuery | string | null): string {
  const params = new URLSearchParams(typeof query === "string" ? query : (query ?? undefined));
  params.delete("source");
  const text = params.toString();
  return `${API}/suggestions/orders.csv?source=${source}${text ? `&${text}` : ""}`;
}

/** The summary's address: it is written from the suggestions of the same harvest inputs
 * as the figures on the page. */
export const summaryPath = (query: HarvestQuery): string =>
  `/suggestions/summary?${new URLSearchParams(query).toString()}`;

// The efficient frontier ------------------------------------------------------------------

const finite = (v: number | null | undefined): v is number => typeof v === "number" && Number.isFinite(v);

/** The frontier as a line (by volatility) and the current and optimized portfolios as
 * labelled points, volatility on x and return on y. */
export function frontierData(answer: Pick<Optimization, "frontier" | "current" | "optimized" | "objective">): Data[] {
  const line = answer.frontier
    .filter((p) => finite(p.volatility) && finite(p.return))
    .sort((a, b) => a.volatility - b.volatility);
  const point = (name: string, label: string, perf: Optimization["current"], color: string, symbol: string): Data[] =>
    finite(perf?.volatility) && finite(perf?.return)
      ? [
          {
            type: "scatter",
            mode: "text+markers",
            name,
            x: [perf.volatility],
            y: [perf.return],
            text: [label],
            textposition: "top center",
            marker: { size: 13, color, symbol },
            hovertemplate: `${name}: volatility %{x:.1%}, return %{y:.1%}<extra></extra>`,
          } as Data,
        ]
      : [];
  const optimized = `Optimized (${objectiveLabel(answer.objective)})`;
  return [
    {
      type: "scatter",
      mode: "lines",
      name: "Efficient frontier",
      x: line.map((p) => p.volatility),
      y: line.map((p) => p.return),
      line: { color: "#2563eb", width: 2 },
      hovertemplate: "volatility %{x:.1%}, return %{y:.1%}<extra>frontier</extra>",
    } as Data,
    ...point("Current portfolio", "Current", answer.current, "#d97706", "circle"),
    ...point(optimized, "Optimized", answer.optimized, "#16a34a", "star"),
  ];
}
