/**
 * The Settings page's connections: what a connection's status says in plain words, and
 * what a sync did, as one line. Pure, so the page and its tests share it.
 */
import type { components } from "../../api/schema";

export type Connection = components["schemas"]["ConnectionOut"];
export type SyncResult = components["schemas"]["SyncOut"];
export type ConnectionDraft = { provider: string; account: string; api_key: string; secret: string; password: string };

export const EMPTY_CONNECTION: ConnectionDraft = { provider: "kraken", account: "", api_key: "", secret: "", password: "" };

/** The exchanges most users connect; any ccxt exchange id is accepted. */
export const COMMON_EXCHANGES = ["kraken", "binance", "coinbase", "bitstamp", "gemini", "kucoin", "okx", "bybit"];

/** The POST /connections body: trimmed, the passphrase only when given. */
export function connectionBody(draft: ConnectionDraft): Record<string, string> {
  const body: Record<string, string> = {
    provider: draft.provider.trim().toLowerCase(),
    account: draft.account.trim(),
    api_key: draft.api_key.trim(),
    secret: draft.secret.trim(),
  };
  if (draft.password.trim()) body.password = draft.password.trim();
  return body;
}

/** What is missing before the form can be sent, by field. */
export function draftErrors(draft: ConnectionDraft): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!draft.provider.trim()) errors.provider = "Name the exchange (a ccxt id such as kraken).";
  if (!draft.account.trim()) errors.account = "Name the account it syncs into.";
  if (!draft.api_key.trim()) errors.api_key = "Paste the read-only API key.";
  if (!draft.secret.trim()) errors.secret = "Paste the key's secret.";
  return errors;
}

/** The status column: never synced, synced (when), or why the last sync failed. */
export function statusText(connection: Connection, now: Date = new Date()): string {
  if (connection.status === "error") return `Sync failed: ${connection.error ?? "no reason given"}`;
  if (!connection.last_sync_at) return "Not synced yet";
  return `Synced ${ago(new Date(connection.last_sync_at), now)}`;
}

function ago(when: Date, now: Date): string {
  const minutes = Math.max(0, Math.round((now.getTime() - when.getTime()) / 60000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `on ${when.toISOString().slice(0, 10)}`;
}

/** One line on what a sync did: the entries it added, what it found already recorded,
 * any asset whose units differ between the exchange and the ledger, and what was not
 * recorded (and why). */
export function syncSummary(result: SyncResult): string {
  if (result.error) return `Sync failed: ${result.error}`;
  const added = Object.entries(result.added)
    .filter(([, n]) => n > 0)
    .map(([stream, n]) => `${n} ${stream}`);
  const known = Object.values(result.duplicates).reduce((a, b) => a + b, 0);
  let text = added.length ? `Added ${added.join(", ")}` : "Nothing new";
  if (known) text += ` (${known} already recorded)`;
  const differences = Object.entries(result.differences).map(([asset, d]) => `${asset}: exchange ${d.exchange}, ledger ${d.ledger}`);
  if (differences.length) text += `. Balances differ: ${differences.join("; ")}`;
  if (result.notes.length) text += `. Not recorded: ${result.notes.join("; ")}`;
  return `${text}.`;
}
