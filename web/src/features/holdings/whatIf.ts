/**
 * What-if mode: hypothetical quantities per row, the changes per symbol the what-if
 * engine takes, and the total value the hypothetical rows would have.
 */
import type { HoldingOut } from "../../api/types";
import { rateOf, rowIdOf, type Row } from "./model";

/** Units to add (+) or remove (-) per symbol: the hypothetical quantities minus the real ones, summed over accounts. */
export function changesBySymbol(holdings: HoldingOut[], hypothetical: ReadonlyMap<string, string>): Record<string, number> {
  const changes: Record<string, number> = {};
  for (const h of holdings) {
    const q = hypothetical.get(rowIdOf(h));
    if (q === undefined) continue;
    const delta = Number(q) - Number(h.quantity);
    if (!Number.isFinite(delta) || delta === 0) continue;
    changes[h.symbol] = Number(((changes[h.symbol] ?? 0) + delta).toPrecision(12));
  }
  for (const [symbol, delta] of Object.entries(changes)) if (delta === 0) delete changes[symbol];
  return changes;
}

/** Total value in the base currency of rows (null if any value is unknown), as a decimal string. */
export function totalValue(rows: Pick<Row, "market_value" | "currency">[], base: string, rates: Record<string, string>): string | null {
  let total = 0;
  for (const r of rows) {
    const rate = rateOf(r.currency, base, rates);
    if (r.market_value === null || rate === null) return null;
    total += Number(r.market_value) * rate;
  }
  return total.toFixed(2);
}

/** Whether a row can change in what-if mode: the engine models held instruments, not cash. */
export const whatIfEditable = (row: Pick<Row, "asset_type" | "kind">): boolean =>
  row.kind === "holding" && row.asset_type !== "cash";
