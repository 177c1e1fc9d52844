/**
 * The JSON of the suggestion operations (GET/PUT /targets, GET /suggestions,
 * GET /suggestions/optimize, POST /suggestions/summary). The spec leaves them as free-form
 * objects, so they are described here. Decimals cross JSON as strings ("0.60",
 * "1234.56"); the risk figures are numbers or null.
 */

/** Risk figures of a portfolio, before or after trades. */
export interface Figures {
  /** Annualized volatility, a fraction. */
  volatility: number | null;
  /** 1-day 95% historical VaR: a positive loss, in money. */
  var: number | null;
  /** The same VaR as a fraction of the value. */
  var_fraction: number | null;
  sharpe: number | null;
  /** Largest |weight - target| over the buckets, a fraction; null without targets. */
  drift: number | null;
}

export interface Effect {
  before: Figures;
  after: Figures;
}

export interface Targets {
  /** Weight by asset class (lower case) or symbol, fractions: {"etf": "0.6"}. */
  weights: Record<string, string>;
  by_class: Record<string, string>;
  by_symbol: Record<string, string>;
  band: string;
  min_trade: string;
  /** Money to invest (+) or withdraw (-). */
  cash_flow: string;
  concentration_limit: string;
  var_budget: string;
  /** The account whose own targets these are; null for the portfolio's. */
  account?: string | null;
  /** GET /targets only: the accounts with targets of their own (rebalanced on their own). */
  accounts_with_targets?: string[];
}

/** The PUT /targets body: every option but the weights may be left to the server. */
export interface TargetsPut {
  weights: Record<string, string>;
  band?: string;
  min_trade?: string;
  cash_flow?: string;
  concentration_limit?: string;
  var_budget?: string;
}

export type Term = "short" | "long";

export interface TradeLot {
  acquired_on: string | null;
  units: string;
  cost_basis: string | null;
  gain: string | null;
  term: Term;
}

export interface Trade {
  action: "buy" | "sell";
  account: string;
  symbol: string;
  bucket: string;
  units: string;
  value: string;
  price: string;
  realized_gain: string | null;
  lots: TradeLot[];
  rationale: string;
  effect: Effect | null;
}

export interface Bucket {
  bucket: string;
  target: string;
  before: string;
  after: string;
}

/** The plan of an account with targets of its own: rebalanced on its own, inside itself. */
export interface AccountPlan {
  account: string;
  targets: Targets;
  trades: Trade[];
  dropped: Trade[];
  buckets: Bucket[];
  notes: string[];
  effect: Effect | null;
}

export interface Replacement {
  symbol: string;
  correlation: string;
}

export interface HarvestCandidate {
  lot_id: number;
  account: string;
  symbol: string;
  asset_type: string;
  units: string;
  acquired_on: string | null;
  price: string;
  market_value: string;
  cost_basis: string;
  loss: string;
  term: Term;
  tax_rate: string;
  tax_saved: string;
  tax_saved_now: string;
  wash_sale: boolean;
  buyback_window_closes: string;
  replacements: Replacement[];
  is_crypto: boolean;
  notes: string[];
  rationale: string;
  effect: Effect | null;
}

export interface SkippedLot {
  lot_id: number;
  account: string;
  symbol: string;
  reason: string;
}

export type AlertKind = "concentration" | "var_budget" | "stale_price" | "missing_price";
export type Severity = "warning" | "critical";

export interface RiskAlert {
  kind: AlertKind | string;
  severity: Severity;
  symbol: string | null;
  value: string | null;
  limit: string | null;
  message: string;
}

export interface EffectsBasis {
  period: string;
  start: string;
  end: string;
  method: string;
  confidence: number;
  horizon_days: number;
}

export interface Suggestions {
  as_of: string;
  targets: Targets;
  now: Figures;
  effects_basis: EffectsBasis;
  rebalance: {
    trades: Trade[];
    dropped: Trade[];
    buckets: Bucket[];
    notes: string[];
    effect: Effect | null;
  };
  /** One plan per account with targets of its own; the rebalance above leaves them out. */
  account_plans: AccountPlan[];
  harvest: {
    candidates: HarvestCandidate[];
    skipped: SkippedLot[];
    total_loss: string;
    total_tax_saved: string;
  };
  alerts: RiskAlert[];
  summary_available: boolean;
  notes: string[];
}

export interface Performance {
  return: number | null;
  volatility: number | null;
  sharpe: number | null;
}

export interface OptimizedWeight {
  symbol: string;
  asset_type: string;
  current: number;
  optimized: number;
}

export interface Optimization {
  objective: string;
  covariance: string;
  start: string;
  end: string;
  weights: OptimizedWeight[];
  current: Performance;
  optimized: Performance;
  frontier: { return: number; volatility: number }[];
  trades: Trade[];
  dropped: Trade[];
  effect: Effect | null;
  notes: string[];
}

export interface Summary {
  text: string;
  model: string;
  endpoint: string;
}
