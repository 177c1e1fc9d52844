/**
 * Shapes of the API's answers the dashboard reads. Request and response types of typed
 * operations come from the generated `schema.d.ts` (openapi-typescript over the app's own
 * /openapi.json; `npm run api-types` regenerates it and a Python test checks it is current);
 * these describe the JSON of the operations the spec leaves as free-form objects.
 * Money and quantities cross JSON as strings (exact decimals).
 */
import type { components } from "./schema";

export type HoldingOut = components["schemas"]["HoldingOut"];
export type HoldingsOut = components["schemas"]["HoldingsOut"];

export interface Me {
  id: number;
  username: string;
}

export interface LoginAnswer extends Me {
  csrf_token: string;
  expires_at: string;
}

export interface VarLevel {
  fraction: number | null;
  amount: string | null;
}

export interface Analytics {
  start: string;
  end: string;
  total_value: string;
  total_cost_basis: string | null;
  unrealized_gain: string | null;
  realized_gain: string | null;
  simple_return: number | null;
  twr: number | null;
  twr_annualized: number | null;
  mwr: number | null;
  volatility: number | null;
  sharpe: number | null;
  sortino: number | null;
  calmar: number | null;
  beta: number | null;
  alpha: number | null;
  max_drawdown: { value: number | null; peak: string | null; trough: string | null; recovery: string | null };
  var: Record<string, Record<string, VarLevel>>;
  cvar: Record<string, Record<string, VarLevel>>;
  correlation: { symbols: string[]; matrix: (number | null)[][] };
  contributions: {
    symbol: string;
    weight: number;
    return_contribution: number | null;
    volatility_contribution: number | null;
    var_contribution: number | null;
  }[];
  observations: number;
  annualization: number;
  calendar: string;
  benchmark: string | null;
  risk_free: number;
  horizon: number;
  warnings: string[];
  [key: string]: unknown;
}

export interface HistoryPoint {
  date: string;
  value: string;
  net_flow: string;
  daily_return: number | null;
  cumulative_return: number | null;
  drawdown: number | null;
  benchmark_cumulative_return: number | null;
  rolling: Record<string, number | null>;
}

/** The metrics the what-if engine computes, for the held-through period of the
 * current and the hypothetical holdings (buy and hold of each, on the same days). */
export interface WhatIfMetrics {
  twr: number | null;
  volatility: number | null;
  sharpe: number | null;
  sortino: number | null;
  beta: number | null;
  max_drawdown: number | null;
  var: Record<string, Record<string, VarLevel>>;
  cvar: Record<string, Record<string, VarLevel>>;
  warnings: string[];
}

export interface WhatIfAnswer {
  /** Per symbol: [units now, units in the what-if]. */
  quantities: Record<string, [number, number]>;
  current: WhatIfMetrics;
  hypothetical: WhatIfMetrics;
}
