/**
 * The holdings grid's rows, derived purely from the API's answer plus what the user has
 * changed locally (optimistic edits in flight, hypothetical what-if quantities): values
 * in the base currency, weights, price flags, and the subtotal and total rows.
 */
import type { HoldingOut } from "../../api/types";

export type GroupBy = "none" | "account" | "asset_type";
export type PriceFlag = "ok" | "stale" | "missing" | "none";
export type EditableField = "quantity" | "cost_basis";

/** A price older than this many calendar days (weekends and a holiday allowed) is stale. */
export const STALE_AFTER_DAYS = 4;

export interface Row extends HoldingOut {
  /** Stable identity for the grid (the holding id; symbol and currency when consolidated). */
  rowId: string;
  kind: "holding" | "subtotal" | "total";
  /** Market value in the base currency (null: no price or no exchange rate). */
  valueBase: number | null;
  weight: number | null;
  priceFlag: PriceFlag;
  /** Days between the price and the holdings' as-of day. */
  priceAge: number | null;
  /** The quantity before a what-if change (set only on hypothetical rows). */
  hypotheticalFrom: string | null;
  /** An edit of this row is being saved. */
  pending: boolean;
  /** The group this row belongs to when grouped ("" otherwise). */
  group: string;
  /** Number of holdings a subtotal or total sums. */
  count: number;
}

export function rowIdOf(h: Pick<HoldingOut, "id" | "symbol" | "currency">): string {
  return h.id ?? `all-${h.symbol}-${h.currency}`;
}

const num = (value: string | null | undefined): number | null => {
  if (value === null || value === undefined || value === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};

/** A float as the decimal string the row carries (12 significant digits, no exponent). */
export function decimalText(value: number): string {
  if (!Number.isFinite(value)) return "0";
  const text = Number(value.toPrecision(12)).toString();
  if (!/e/i.test(text)) return text;
  return value.toFixed(12).replace(/\.?0+$/, "");
}

function daysBetween(from: string, to: string): number | null {
  const a = Date.parse(`${from.slice(0, 10)}T00:00:00Z`);
  const b = Date.parse(`${to.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(a) || Number.isNaN(b)) return null;
  return Math.round((b - a) / 86_400_000);
}

/** Whether a holding's price is missing, stale (older than STALE_AFTER_DAYS), fine, or not applicable (cash). */
export function priceFlagOf(h: HoldingOut, asOf: string): { flag: PriceFlag; age: number | null } {
  if (h.price_missing) return { flag: "missing", age: null };
  if (h.asset_type === "cash" || !h.price_as_of) return { flag: "none", age: null };
  const age = daysBetween(h.price_as_of, asOf);
  return { flag: age !== null && age > STALE_AFTER_DAYS ? "stale" : "ok", age };
}

export function priceTooltip(row: Pick<Row, "priceFlag" | "priceAge" | "price_as_of" | "price_source">): string | undefined {
  switch (row.priceFlag) {
    case "missing":
      return "No price for this holding: its market value is unknown (not counted as 0). Refresh prices to fetch one.";
    case "stale":
      return `Stale price: as of ${row.price_as_of} (${row.priceAge} days old)${row.price_source ? `, from ${row.price_source}` : ""}.`;
    case "ok":
      return `Price as of ${row.price_as_of}${row.price_source ? `, from ${row.price_source}` : ""}.`;
    default:
      return undefined;
  }
}

/** The holding with a new quantity, valued locally until the server answers: more units
 * come in at the average cost and fewer go out at it (as the server records an edit). */
export function withQuantity(h: HoldingOut, quantity: string): HoldingOut {
  const q = num(quantity) ?? 0;
  const before = num(h.quantity) ?? 0;
  const price = num(h.price);
  const avg = num(h.average_cost);
  const cost = num(h.cost_basis);
  const value = price === null ? null : q * price;
  const newCost = cost === null ? null : avg === null ? cost : cost + (q - before) * avg;
  return {
    ...h,
    quantity,
    market_value: value === null ? null : decimalText(value),
    cost_basis: newCost === null ? null : decimalText(newCost),
    unrealized_gain: value === null || newCost === null ? null : decimalText(value - newCost),
  };
}

/** The holding with a new total cost basis, valued locally until the server answers. */
export function withCostBasis(h: HoldingOut, costBasis: string): HoldingOut {
  const cost = num(costBasis) ?? 0;
  const q = num(h.quantity);
  const value = num(h.market_value);
  return {
    ...h,
    cost_basis: costBasis,
    average_cost: q ? decimalText(cost / q) : h.average_cost,
    unrealized_gain: value === null ? null : decimalText(value - cost),
  };
}

export function withField(h: HoldingOut, field: EditableField, value: string): HoldingOut {
  return field === "quantity" ? withQuantity(h, value) : withCostBasis(h, value);
}

export function groupOf(h: Pick<HoldingOut, "account" | "asset_type">, groupBy: GroupBy): string {
  if (groupBy === "account") return h.account ?? "All accounts";
  if (groupBy === "asset_type") return h.asset_type;
  return "";
}

export interface DeriveInput {
  holdings: HoldingOut[];
  asOf: string;
  base: string;
  /** Exchange rates into the base currency, per currency. */
  rates: Record<string, string>;
  groupBy: GroupBy;
  /** Rows as the user changed them (optimistic edits), by row id. */
  overrides?: ReadonlyMap<string, HoldingOut>;
  /** What-if quantities, by row id. */
  hypothetical?: ReadonlyMap<string, string>;
  /** Row ids with a save in flight. */
  pending?: ReadonlySet<string>;
}

export function rateOf(currency: string, base: string, rates: Record<string, string>): number | null {
  if (currency === base) return 1;
  return num(rates[currency]);
}

/** The grid's rows: each holding with its local changes, base value and weight. */
export function deriveRows(input: DeriveInput): Row[] {
  const { holdings, asOf, base, rates, groupBy } = input;
  const rows: Row[] = holdings.map((original) => {
    const rowId = rowIdOf(original);
    let h = input.overrides?.get(rowId) ?? original;
    const hyp = input.hypothetical?.get(rowId);
    let hypotheticalFrom: string | null = null;
    if (hyp !== undefined && hyp !== h.quantity) {
      hypotheticalFrom = h.quantity;
      h = withQuantity(h, hyp);
    }
    const value = num(h.market_value);
    const rate = rateOf(h.currency, base, rates);
    const { flag, age } = priceFlagOf(h, asOf);
    return {
      ...h,
      rowId,
      kind: "holding",
      valueBase: value === null || rate === null ? null : value * rate,
      weight: null,
      priceFlag: flag,
      priceAge: age,
      hypotheticalFrom,
      pending: input.pending?.has(rowId) ?? false,
      group: groupOf(h, groupBy),
      count: 1,
    };
  });
  const total = rows.reduce((sum, r) => sum + (r.valueBase ?? 0), 0);
  for (const row of rows) row.weight = row.valueBase === null || total === 0 ? null : row.valueBase / total;
  return rows;
}

function sumRow(rows: Row[], label: string, kind: "subtotal" | "total", base: string, rates: Record<string, string>, grand: number): Row {
  let value = 0;
  let cost = 0;
  let costKnown = true;
  let valueKnown = true;
  for (const r of rows) {
    const rate = rateOf(r.currency, base, rates);
    if (r.valueBase === null) valueKnown = false;
    else value += r.valueBase;
    const c = num(r.cost_basis);
    if (c === null || rate === null) costKnown = false;
    else cost += c * rate;
  }
  const gainKnown = valueKnown && costKnown;
  return {
    id: null,
    rowId: `${kind}:${label}`,
    kind,
    account: kind === "total" ? "" : label,
    account_id: null,
    asset_type: "",
    average_cost: null,
    cost_basis: costKnown ? decimalText(cost) : null,
    currency: base,
    editable: false,
    instrument_id: null,
    lots: 0,
    market_value: valueKnown ? decimalText(value) : null,
    price: null,
    price_as_of: null,
    price_missing: false,
    price_source: null,
    quantity: "",
    symbol: label,
    unknown_basis_quantity: "0",
    unrealized_gain: gainKnown ? decimalText(value - cost) : null,
    version: "",
    valueBase: valueKnown ? value : null,
    weight: !valueKnown || grand === 0 ? null : value / grand,
    priceFlag: "none",
    priceAge: null,
    hypotheticalFrom: null,
    pending: false,
    group: kind === "total" ? "" : label,
    count: rows.length,
  };
}

/**
 * The pinned bottom rows: one subtotal per group (in group order) when grouped, then the
 * total. `visible` are the holdings the filters let through, so the sums match the grid.
 * A sum with a holding whose value is unknown is unknown (never a partial sum shown as whole).
 */
export function summaryRows(visible: Row[], groupBy: GroupBy, base: string, rates: Record<string, string>): Row[] {
  const grand = visible.reduce((sum, r) => sum + (r.valueBase ?? 0), 0);
  const out: Row[] = [];
  if (groupBy !== "none") {
    const groups = new Map<string, Row[]>();
    for (const r of visible) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
    for (const name of [...groups.keys()].sort((a, b) => a.localeCompare(b))) {
      out.push(sumRow(groups.get(name) ?? [], name, "subtotal", base, rates, grand));
    }
  }
  out.push(sumRow(visible, "Total", "total", base, rates, grand));
  return out;
}

/** Keep each group's rows together (groups in name order), the user's sort within each
 * group: a stable reorder of the sorted list. */
export function keepGroupsTogether<T>(items: T[], groupOfItem: (item: T) => string): T[] {
  return items
    .map((item, index) => ({ item, index, group: groupOfItem(item) }))
    .sort((a, b) => a.group.localeCompare(b.group) || a.index - b.index)
    .map((x) => x.item);
}
