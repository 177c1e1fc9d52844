/**
 * Pasting a block of cells copied from a spreadsheet (tab-separated lines) onto the grid:
 * the block lands on the focused cell and the cells right of and below it; only editable
 * cells take a value, and each value must parse as a number (nothing is guessed).
 */
import { parseUserNumber } from "../../format/format";
import type { EditableField } from "./model";

/** Split clipboard text into lines of cells (TSV as spreadsheets copy it, quotes allowed). */
export function parseClipboard(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        cell += ch;
      }
    } else if (ch === '"' && cell === "") {
      quoted = true;
    } else if (ch === "\t") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else {
      cell += ch;
    }
  }
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** What the grid shows where the paste lands: its columns left to right and rows top to bottom. */
export interface PasteTarget {
  columns: { colId: string; label: string }[];
  /** Each row with the columns (ids) that may be edited in it now. */
  rows: { rowId: string; label: string; editable: readonly string[] }[];
  startRow: number;
  startColumn: number;
}

export interface PlannedCell {
  rowId: string;
  field: EditableField;
  value: string;
}

export interface PastePlan {
  cells: PlannedCell[];
  refused: string[];
  skipped: number;
}

const EDITABLE: Record<string, EditableField> = { quantity: "quantity", cost_basis: "cost_basis" };

/** Which cells a pasted block changes, and why any are refused. */
export function planPaste(block: string[][], target: PasteTarget, locale?: string): PastePlan {
  const plan: PastePlan = { cells: [], refused: [], skipped: 0 };
  block.forEach((line, r) => {
    const row = target.rows[target.startRow + r];
    line.forEach((text, c) => {
      const column = target.columns[target.startColumn + c];
      if (!row || !column) {
        plan.skipped++;
        return;
      }
      const field = EDITABLE[column.colId];
      if (!field || !row.editable.includes(column.colId)) {
        plan.skipped++;
        return;
      }
      const value = parseUserNumber(text, locale);
      if (value === null) {
        plan.refused.push(`${row.label} ${column.label}: "${text.trim()}" is not a number`);
      } else if (field === "quantity" && value.startsWith("-")) {
        plan.refused.push(`${row.label} ${column.label}: a quantity cannot be negative (${text.trim()})`);
      } else {
        plan.cells.push({ rowId: row.rowId, field, value });
      }
    });
  });
  return plan;
}
