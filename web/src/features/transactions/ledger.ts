/**
 * The ledger's pure logic: the filters as the API's query, the page the user is on,
 * and how a transaction reads in the grid. No React here (Vitest covers it).
 */
import type { components } from "../../api/schema";

export type Transaction = components["schemas"]["TransactionOut"];
export type TransactionPage = components["schemas"]["TransactionPage"];
export type Account = components["schemas"]["AccountOut"];

/** The transaction types the API accepts as a filter (checked against openapi.json). */
export const TRANSACTION_TYPES = [
  "buy",
  "sell",
  "dividend",
  "interest",
  "fee",
  "tax",
  "deposit",
  "withdrawal",
  "transfer_in",
  "transfer_out",
  "split",
  "staking_reward",
  "conversion",
] as const;

export const PAGE_SIZES = [25, 50, 100, 500] as const;
export const DEFAULT_PAGE_SIZE = 50;

export interface LedgerFilters {
  /** An account id as the select holds it ("" for every account). */
  accountId: string;
  symbol: string;
  /** One transaction type ("" for every type). */
  type: string;
  /** YYYY-MM-DD, inclusive ("" for open). */
  start: string;
  end: string;
}

export const NO_FILTERS: LedgerFilters = { accountId: "", symbol: "", type: "", start: "", end: "" };

/** Why the date range cannot be asked for, or null when it can. */
export function dateRangeProblem(filters: Pick<LedgerFilters, "start" | "end">): string | null {
  if (filters.start && filters.end && filters.start > filters.end) {
    return "The start date is after the end date.";
  }
  return null;
}

/** The query string of GET /transactions for these filters and this page. */
export function ledgerQuery(
  filters: LedgerFilters,
  offset: number,
  limit: number,
): Record<string, string | number> {
  const query: Record<string, string | number> = { limit, offset };
  if (filters.accountId) query.account_id = Number(filters.accountId);
  const symbol = filters.symbol.trim();
  if (symbol) query.symbol = symbol;
  if (filters.type) query.type = filters.type;
  if (filters.start) query.start = filters.start;
  if (filters.end) query.end = filters.end;
  return query;
}

/** "Rows 51–100 of 132", "No transactions match" (the count of rows actually shown). */
export function pageSummary(offset: number, shown: number, total: number, locale = "en-US"): string {
  if (total === 0 || shown === 0) return total === 0 ? "No transactions match." : `No rows on this page (${total} in all).`;
  const n = (value: number) => new Intl.NumberFormat(locale).format(value);
  return `Rows ${n(offset + 1)}–${n(offset + shown)} of ${n(total)}`;
}

/** The offset of the previous page (never below 0) and of the next one (null at the end). */
export function neighbours(offset: number, limit: number, total: number): { previous: number | null; next: number | null } {
  return {
    previous: offset > 0 ? Math.max(0, offset - limit) : null,
    next: offset + limit < total ? offset + limit : null,
  };
}

/** The calendar date of a transaction as the ledger stores it (its ISO timestamp's date). */
export const tradeDate = (traded_at: string): string => traded_at.slice(0, 10);

/** "transfer_in" -> "transfer in". */
export const typeLabel = (type: string): string => type.replace(/_/g, " ");

/** Compares two decimal strings as numbers, missing values last. */
export function compareDecimals(a: string | null | undefined, b: string | null | undefined): number {
  const x = a === null || a === undefined || a === "" ? null : Number(a);
  const y = b === null || b === undefined || b === "" ? null : Number(b);
  if (x === null && y === null) return 0;
  if (x === null) return 1;
  if (y === null) return -1;
  return x - y;
}

/** What the delete confirmation names: "buy 3 AAPL on 2026-11-02 in Fidelity". */
export function describeTransaction(t: Transaction): string {
  const parts = [typeLabel(t.type)];
  if (t.quantity) parts.push(t.quantity);
  if (t.symbol) parts.push(t.symbol);
  if (!t.quantity && t.amount) parts.push(`${t.amount} ${t.currency}`);
  return `${parts.join(" ")} on ${tradeDate(t.traded_at)} in ${t.account}`;
}
