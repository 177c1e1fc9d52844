/**
 * The edit history of the grid (undo is a stack of saved or hypothetical changes) and
 * the words said when an edit is refused.
 */
import { ApiError } from "../../api/client";
import type { HoldingOut } from "../../api/types";
import { formatMoney, formatNumber } from "../../format/format";
import type { EditableField } from "./model";

export interface Edit {
  rowId: string;
  label: string;
  field: EditableField;
  before: string;
  after: string;
  /** A what-if change (undone locally) rather than a saved one (undone with a PATCH). */
  hypothetical: boolean;
}

export const UNDO_LIMIT = 50;

export function pushEdit(stack: readonly Edit[], edit: Edit): Edit[] {
  if (edit.before === edit.after) return [...stack];
  return [...stack, edit].slice(-UNDO_LIMIT);
}

export function popEdit(stack: readonly Edit[]): { edit: Edit | undefined; rest: Edit[] } {
  return { edit: stack[stack.length - 1], rest: stack.slice(0, -1) };
}

export const FIELD_LABEL: Record<EditableField, string> = { quantity: "quantity", cost_basis: "cost basis" };

export function holdingLabel(h: Pick<HoldingOut, "symbol" | "account">): string {
  return h.account ? `${h.symbol} (${h.account})` : h.symbol;
}

export function showValue(field: EditableField, value: string | null, currency: string): string {
  return field === "quantity" ? formatNumber(value) : formatMoney(value, currency);
}

/** The current row a 409 stale-write problem carries, if it does. */
export function conflictRow(error: unknown): HoldingOut | null {
  if (!(error instanceof ApiError) || error.status !== 409 || error.slug !== "stale-write") return null;
  const body = error.body as { current?: HoldingOut } | null;
  return body?.current && typeof body.current === "object" ? body.current : null;
}

/** What to tell the user when a save is refused because the holding changed meanwhile. */
export function conflictMessage(field: EditableField, attempted: string, current: HoldingOut): string {
  return (
    `${holdingLabel(current)} was changed elsewhere, so your ${FIELD_LABEL[field]} ` +
    `${showValue(field, attempted, current.currency)} was not saved. It is now ` +
    `${formatNumber(current.quantity)} units, cost basis ${formatMoney(current.cost_basis, current.currency)}, ` +
    `market value ${formatMoney(current.market_value, current.currency)}: the grid shows it; edit again to change it.`
  );
}
