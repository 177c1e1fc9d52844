/**
 * The headline metrics as cards. In what-if mode each card shows, beside the actual
 * value, the metric of the current holdings and of the hypothetical ones as the what-if
 * engine computes them (buy and hold of each over the same days, so the two compare).
 * Every card has `data-testid="metric-<key>"`.
 */
import type { Analytics, WhatIfMetrics } from "../api/types";
import { direction, formatMoney, formatPercent, formatRatio } from "../format/format";
import { DEFINITIONS } from "./metrics";

export interface DayChange {
  amount: number | null;
  fraction: number | null;
}

interface Card {
  key: string;
  label: string;
  value: (a: Analytics) => string;
  sign?: (a: Analytics) => number | null;
  tooltip?: (a: Analytics) => string;
  /** The same metric from the what-if engine, when it computes one. */
  whatIf?: (w: WhatIfMetrics) => string;
}

/** A what-if to show: the engine's two answers, and the total values (now, what-if). */
export interface WhatIfShown {
  current: WhatIfMetrics;
  hypothetical: WhatIfMetrics;
  totalValue: [string | null, string | null];
}

const VAR_LEVEL = "0.95";

function var95(a: Pick<Analytics, "var">): { amount: string | null; fraction: number | null } {
  const level = a.var?.historical?.[VAR_LEVEL];
  return { amount: level?.amount ?? null, fraction: level?.fraction ?? null };
}

export function cardsFor(currency: string): Card[] {
  return [
    { key: "total_value", label: "Total value", value: (a) => formatMoney(a.total_value, currency) },
    {
      key: "twr",
      label: "Return (time-weighted)",
      value: (a) => formatPercent(a.twr),
      sign: (a) => a.twr,
      whatIf: (w) => formatPercent(w.twr),
      tooltip: (a) => `${DEFINITIONS.twr} ${a.start} to ${a.end}; per year ${formatPercent(a.twr_annualized)}.`,
    },
    {
      key: "mwr",
      label: "Return (money-weighted, p.a.)",
      value: (a) => formatPercent(a.mwr),
      sign: (a) => a.mwr,
    },
    { key: "sharpe", label: "Sharpe", value: (a) => formatRatio(a.sharpe), whatIf: (w) => formatRatio(w.sharpe) },
    {
      key: "var",
      label: "1-day VaR 95%",
      value: (a) => formatMoney(var95(a).amount, currency),
      whatIf: (w) => formatMoney(var95(w).amount, currency),
      tooltip: (a) =>
        `${DEFINITIONS.var} Historical simulation over the last ${a.observations} daily returns ` +
        `(${a.start} to ${a.end}), 95% confidence, ${a.horizon}-day horizon: ${formatPercent(var95(a).fraction)} of the value.`,
    },
    {
      key: "max_drawdown",
      label: "Max drawdown",
      value: (a) => formatPercent(a.max_drawdown?.value),
      sign: (a) => a.max_drawdown?.value ?? null,
      whatIf: (w) => formatPercent(w.max_drawdown),
      tooltip: (a) =>
        `${DEFINITIONS.max_drawdown} Peak ${a.max_drawdown?.peak ?? "—"}, trough ${a.max_drawdown?.trough ?? "—"}, ` +
        `recovered ${a.max_drawdown?.recovery ?? "not yet"}.`,
    },
  ];
}

export function MetricCards({
  analytics,
  whatIf,
  currency,
  dayChange,
}: {
  analytics: Analytics | undefined;
  whatIf?: WhatIfShown;
  currency: string;
  dayChange?: DayChange;
}) {
  const cards = cardsFor(currency);
  return (
    <section className="cards" aria-label="Key metrics">
      {cards.slice(0, 1).map((card) => renderCard(card, analytics, whatIf, currency))}
      {dayChange && (
        <div className="card" data-testid="metric-day_change" title={DEFINITIONS.day_change}>
          <div className="label">Day change</div>
          <div className={`value ${direction(dayChange.amount)}`}>
            {formatMoney(dayChange.amount, currency)}
          </div>
          <div className={`label ${direction(dayChange.fraction)}`}>{formatPercent(dayChange.fraction, undefined, 2, true)}</div>
        </div>
      )}
      {cards.slice(1).map((card) => renderCard(card, analytics, whatIf, currency))}
    </section>
  );
}

function renderCard(
  card: Card,
  analytics: Analytics | undefined,
  whatIf: WhatIfShown | undefined,
  currency: string,
) {
  const sign = analytics && card.sign ? card.sign(analytics) : null;
  const tooltip = analytics && card.tooltip ? card.tooltip(analytics) : DEFINITIONS[card.key] ?? card.label;
  return (
    <div key={card.key} className="card" data-testid={`metric-${card.key}`} title={tooltip}>
      <div className="label">{card.label}</div>
      <div className={`value ${sign === null ? "" : direction(sign)}`} data-role="current">
        {analytics ? card.value(analytics) : "…"}
      </div>
      {whatIf && card.key === "total_value" && (
        <div className="whatif" data-role="what-if">
          what-if {formatMoney(whatIf.totalValue[1], currency)}
        </div>
      )}
      {whatIf && card.whatIf && (
        <div className="whatif" data-role="what-if" title="Held-through period, buy and hold: now → what-if">
          {card.whatIf(whatIf.current)} → {card.whatIf(whatIf.hypothetical)}
        </div>
      )}
    </div>
  );
}
