/**
 * Definitions of the analytics page's metrics: the shared ones (components/metrics.ts)
 * and those only this page shows.
 */
import { DEFINITIONS as SHARED } from "../../components/metrics";

export const DEFINITIONS: Record<string, string> = {
  ...SHARED,
  total_cost_basis: "What the open lots cost, in the base currency.",
  max_drawdown_dates:
    "The day of the peak before the largest fall, the day of its trough, and the day the value got back to the peak (if it has).",
  correlation: "Correlation of the held assets' daily returns over the period (-1 opposite, 0 unrelated, 1 together).",
  volatility_contribution:
    "How much of the portfolio's annualized volatility each holding brings (weight times its marginal contribution; they add up to the volatility).",
  var_contribution: "How much of the 1-day historical VaR at 95% each holding brings (component VaR).",
  rolling: "The metric over a trailing window of 63 (about a quarter) or 252 (about a year) daily returns.",
  histogram: "How often each size of daily return happened; the dashed lines are the 95% historical VaR and CVaR.",
};

export const METHOD_NOTES: Record<string, string> = {
  historical: "Historical simulation: the losses of the actual daily returns of the period.",
  parametric: "Parametric: a normal distribution with the returns' mean and standard deviation.",
  cornish_fisher: "Cornish-Fisher: the normal quantile corrected for the returns' skew and fat tails.",
  monte_carlo: "Monte Carlo: simulated returns of the current holdings from their joint history.",
};
