/**
 * The upload's pure logic: what POST /uploads answered (a report, or a problem) in the
 * words the page shows. No React here (Vitest covers it).
 */
import { ApiError, type FieldError } from "../../api/client";
import type { Transaction } from "./ledger";

/** The report of POST /uploads (the JSON of `views.import_json`). */
export interface ImportReport {
  file: string;
  format: string;
  rows: number;
  added: number;
  duplicates: number;
  /** Of the duplicates, rows the account's connection synced (no id in common). */
  duplicates_from_other_source: number;
  adjustments: number;
  openings_removed: number;
  completed_openings_removed: Transaction[];
  dry_run: boolean;
  already_imported: string | null;
  stored: boolean;
  issue_count: number;
  issues: { line: number | null; column: string | null; reason: string }[];
  unknown_basis: { account: string; symbol: string; date: string; quantity: string; transaction_id: number | null }[];
  preview: Transaction[];
  confidence: number | null;
  encoding: string | null;
  skipped_count: number;
  skipped: { reason: string; count: number; lines: number[] }[];
  to_resolve_count: number;
  to_resolve: { line: number | null; reason: string }[];
  account_fallbacks: Record<string, string>;
}

/** A format of GET /formats. */
export interface FileFormat {
  name: string;
  title: string;
  kind: string;
  columns: string[];
  layouts: string[][];
  time_zone?: string;
  notes?: string;
}

/** A failed upload as the page shows it: the row errors with the report, or a sentence. */
export type UploadFailure =
  | { kind: "rows"; summary: string; errors: FieldError[]; issueCount: number; report: ImportReport | null }
  | { kind: "message"; title: string; text: string };

function isReport(value: unknown): value is ImportReport {
  return !!value && typeof value === "object" && "format" in value && "issue_count" in value;
}

/** Turns what the upload threw into what the page says about it. */
export function readUploadFailure(error: unknown): UploadFailure {
  if (error instanceof ApiError) {
    if (error.slug === "invalid-rows") {
      const body = error.body as { report?: unknown } | null;
      const report = body && isReport(body.report) ? body.report : null;
      return {
        kind: "rows",
        summary: error.message,
        errors: error.errors,
        issueCount: report?.issue_count ?? error.errors.length,
        report,
      };
    }
    if (error.status === 413) return { kind: "message", title: "The file is too large", text: error.message };
    if (error.slug === "invalid-input") {
      return { kind: "message", title: "quantdesk cannot read this file", text: error.message };
    }
    if (error.status === 404) return { kind: "message", title: "Not found", text: error.message };
    if (error.status === 0) return { kind: "message", title: "No connection", text: error.message };
    const fields = error.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    return {
      kind: "message",
      title: `The upload failed (HTTP ${error.status})`,
      text: fields ? `${error.message} (${fields})` : error.message,
    };
  }
  return { kind: "message", title: "The upload failed", text: error instanceof Error ? error.message : String(error) };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "Added 2, duplicates 0." after an import; "Would add 2, duplicates 0." on a dry run. */
export function importSummary(report: ImportReport): string {
  const verb = report.dry_run ? "Would add" : "Added";
  let text = `${verb} ${report.added}, duplicates ${report.duplicates}`;
  if (report.duplicates_from_other_source) {
    text += ` (${report.duplicates_from_other_source} synced by the account's connection)`;
  }
  if (report.adjustments) text += `, adjustments ${report.adjustments}`;
  return `${text}.`;
}

/** "100%" for a confidence of 1; "not measured" for documents detected otherwise. */
export function confidenceText(confidence: number | null, locale = "en-US"): string {
  if (confidence === null || confidence === undefined) return "not measured";
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 }).format(confidence);
}

/** "lines 3, 5, 9" (at most `max` of them, then "and N more"). */
export function linesText(lines: number[], max = 12): string {
  if (lines.length === 0) return "";
  const shown = lines.slice(0, max).join(", ");
  const rest = lines.length - max;
  return `${lines.length === 1 ? "line" : "lines"} ${shown}${rest > 0 ? ` and ${rest} more` : ""}`;
}

/** The header a format expects, and how many other header variants it also reads. */
export function formatColumns(format: FileFormat): { columns: string; variants: number } {
  const first = format.layouts[0];
  if (!first) return { columns: format.kind === "csv" ? format.columns.join(", ") : `${format.kind.toUpperCase()} document`, variants: 0 };
  return { columns: first.join(", "), variants: format.layouts.length - 1 };
}

export { plural };
