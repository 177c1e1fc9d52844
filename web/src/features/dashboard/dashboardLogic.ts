/**
 * The dashboard's own arithmetic, kept pure so it is tested without a browser: the day
 * change from the daily history, the allocation of the holdings' market value (by asset
 * class then asset, and by account) in the base currency, and which prices are stale.
 */
import type { HistoryPoint, HoldingOut, HoldingsOut } from "../../api/types";
import type { DayChange } from "../../components/MetricCards";

const cents = (text: string | null | undefined): number | null => {
  if (text === null || text === undefined || text === "") return null;
  const n = Number(text);
  return Number.isFinite(n) ? Math.round(n * 100) : null;
};

/**
 * Change of value over the last day, deposits and withdrawals excluded: the last value
 * minus the previous day's value minus the last day's net flow; the fraction is over the
 * previous value. Unknown (nulls) with fewer than two days or a missing number.
 */
export function dayChange(history: readonly HistoryPoint[] | undefined): DayChange {
  const unknown = { amount: null, fraction: null };
  if (!history || history.length < 2) return unknown;
  const last = history[history.length - 1]!;
  const previous = history[history.length - 2]!;
  const now = cents(last.value);
  const before = cents(previous.value);
  const flow = cents(last.net_flow) ?? 0;
  if (now === null || before === null) return unknown;
  const amountCents = now - before - flow;
  const amount = amountCents / 100;
  const fraction = before > 0 ? amountCents / before : null;
  return { amount: amount === 0 ? 0 : amount, fraction: fraction === 0 ? 0 : fraction };
}

/** One holding's value in the base currency. */
export interface Valued {
  id: string;
  symbol: string;
  assetType: string;
  account: string;
  value: number;
}

/** A holding left out of the allocation, and why (never counted as 0). */
export interface Excluded {
  id: string;
  symbol: string;
  account: string;
  reason: string;
}

export interface Allocation {
  valued: Valued[];
  excluded: Excluded[];
  total: number;
}

const accountName = (h: HoldingOut): string => h.account ?? "All accounts";

/**
 * The holdings' market values in the base currency (`rates` convert one unit of a
 * currency). A holding without a price, or in a currency without a rate, is excluded
 * with its reason. Zero positions carry no weight and are left out silently.
 */
export function allocate(answer: Pick<HoldingsOut, "holdings" | "total_in_base">): Allocation {
  const base = answer.total_in_base.currency;
  const rates = answer.total_in_base.rates;
  const valued: Valued[] = [];
  const excluded: Excluded[] = [];
  for (const h of answer.holdings) {
    const who = { id: String(h.id ?? `${h.account}-${h.symbol}`), symbol: h.symbol, account: accountName(h) };
    const raw = h.market_value === null || h.market_value === undefined ? NaN : Number(h.market_value);
    if (h.price_missing || !Number.isFinite(raw)) {
      excluded.push({ ...who, reason: "no price" });
      continue;
    }
    const rate = h.currency === base ? 1 : Number(rates[h.currency] ?? NaN);
    if (!Number.isFinite(rate)) {
      excluded.push({ ...who, reason: `no ${h.currency}→${base} rate` });
      continue;
    }
    const value = raw * rate;
    if (value === 0) continue;
    valued.push({ ...who, assetType: h.asset_type, value });
  }
  return { valued, excluded, total: valued.reduce((sum, v) => sum + v.value, 0) };
}

/** Sums of `value` per key, largest first. */
export function groupBy(valued: readonly Valued[], key: (v: Valued) => string): { key: string; value: number }[] {
  const sums = new Map<string, number>();
  for (const v of valued) sums.set(key(v), (sums.get(key(v)) ?? 0) + v.value);
  return [...sums.entries()].map(([k, value]) => ({ key: k, value })).sort((a, b) => b.value - a.value);
}

/** Nodes of a sunburst (Plotly `ids/labels/parents/values`, branchvalues "total"):
 * asset classes in the ring inside, their assets (summed over accounts) outside. */
export function sunburstNodes(valued: readonly Valued[]): {
  ids: string[];
  labels: string[];
  parents: string[];
  values: number[];
} {
  const nodes = { ids: [] as string[], labels: [] as string[], parents: [] as string[], values: [] as number[] };
  for (const cls of groupBy(valued, (v) => v.assetType)) {
    nodes.ids.push(cls.key);
    nodes.labels.push(assetClassLabel(cls.key));
    nodes.parents.push("");
    nodes.values.push(cls.value);
    const assets = groupBy(
      valued.filter((v) => v.assetType === cls.key),
      (v) => v.symbol,
    );
    for (const asset of assets) {
      nodes.ids.push(`${cls.key}/${asset.key}`);
      nodes.labels.push(asset.key);
      nodes.parents.push(cls.key);
      nodes.values.push(asset.value);
    }
  }
  return nodes;
}

const CLASS_LABELS: Record<string, string> = {
  stock: "Stocks",
  etf: "ETFs",
  fund: "Funds",
  bond: "Bonds",
  crypto: "Crypto",
  cash: "Cash",
  option: "Options",
  future: "Futures",
};

/** "etf" -> "ETFs"; an unknown class keeps its name, capitalized. */
export function assetClassLabel(assetType: string): string {
  return CLASS_LABELS[assetType] ?? assetType.charAt(0).toUpperCase() + assetType.slice(1);
}

/** A holding whose price is missing or older than the allowed age, and why. */
export interface StalePrice {
  id: string;
  symbol: string;
  account: string;
  problem: string;
}

const DAY_MS = 86_400_000;
const dayNumber = (iso: string): number => Math.floor(Date.parse(`${iso.slice(0, 10)}T00:00:00Z`) / DAY_MS);

/**
 * Holdings whose price is missing, or dated more than `maxAgeDays` calendar days before
 * `today` (the holdings' as-of date; 4 days lets a Friday close stand over a weekend).
 * Cash has no price and is never stale.
 */
export function stalePrices(
  holdings: readonly HoldingOut[],
  today: string,
  maxAgeDays = 4,
): StalePrice[] {
  const now = dayNumber(today);
  const found: StalePrice[] = [];
  for (const h of holdings) {
    const who = { id: String(h.id ?? `${h.account}-${h.symbol}`), symbol: h.symbol, account: accountName(h) };
    if (h.price_missing) {
      found.push({ ...who, problem: "no price" });
    } else if (h.price_as_of && now - dayNumber(h.price_as_of) > maxAgeDays) {
      found.push({ ...who, problem: `price from ${h.price_as_of.slice(0, 10)}` });
    }
  }
  return found;
}
