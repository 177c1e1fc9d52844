/**
 * What each metric means, shown on hover wherever the metric is (cards, the analytics
 * panel, the tear sheet). The conventions are the engine's (DESIGN.md): returns are
 * time-weighted unless named money-weighted; annualized with the calendar's periods.
 */
export const DEFINITIONS: Record<string, string> = {
  total_value: "Market value of every holding and cash balance, in the base currency, at the latest prices.",
  day_change: "Change in value since the previous close, excluding deposits and withdrawals.",
  twr: "Time-weighted return over the period: the growth of one unit invested, unaffected by the timing of deposits and withdrawals.",
  twr_annualized: "Time-weighted return per year (geometric).",
  mwr: "Money-weighted return (IRR per year): the return your actual deposits and withdrawals earned.",
  simple_return: "Gain over the period divided by the money invested.",
  volatility: "Annualized standard deviation of daily returns.",
  sharpe: "Excess return over the risk-free rate per unit of volatility (annualized).",
  sortino: "Excess return over the risk-free rate per unit of downside deviation (annualized).",
  calmar: "Annualized return divided by the size of the maximum drawdown.",
  beta: "Sensitivity of the portfolio's daily returns to the benchmark's.",
  alpha: "Annualized return not explained by beta times the benchmark's return (Jensen's alpha).",
  max_drawdown: "Largest fall from a peak to a later trough of the portfolio's value.",
  var: "Value at Risk: the loss not exceeded with the given confidence over the horizon.",
  cvar: "Conditional VaR (expected shortfall): the average loss on the days beyond the VaR.",
  unrealized_gain: "Market value minus cost basis of the open lots.",
  realized_gain: "Gains realized by sales in the period.",
};
