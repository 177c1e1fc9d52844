import { describe, expect, it } from "vitest";
import { EMPTY_CONNECTION, connectionBody, draftErrors, statusText, syncSummary, type Connection, type SyncResult } from "./connections";

const base: Connection = {
  id: 1,
  account: "Kraken",
  provider: "kraken",
  status: "ok",
  error: null,
  last_sync_at: "2026-12-06T10:00:00Z",
  created_at: "2026-12-01T10:00:00Z",
  synced_through: { trades: 1, deposits: null, withdrawals: null },
};

describe("connections", () => {
  it("sends a trimmed body, the passphrase only when given", () => {
    const body = connectionBody({ ...EMPTY_CONNECTION, provider: " Kraken ", account: " K ", api_key: " k ", secret: " s " });
    expect(body).toEqual({ provider: "kraken", account: "K", api_key: "k", secret: "s" });
    expect(connectionBody({ ...EMPTY_CONNECTION, password: "p" }).password).toBe("p");
  });

  it("names every missing field", () => {
    expect(Object.keys(draftErrors({ ...EMPTY_CONNECTION, provider: "" })).sort()).toEqual(["account", "api_key", "provider", "secret"]);
    expect(draftErrors({ provider: "kraken", account: "K", api_key: "k", secret: "s", password: "" })).toEqual({});
  });

  it("says a failed sync's reason, else when it last synced", () => {
    const now = new Date("2026-12-06T10:30:00Z");
    expect(statusText(base, now)).toBe("Synced 30 min ago");
    expect(statusText({ ...base, last_sync_at: null, status: "new" }, now)).toBe("Not synced yet");
    expect(statusText({ ...base, status: "error", error: "kraken refused the API key" }, now)).toBe("Sync failed: kraken refused the API key");
  });

  it("sums up a sync: added, already recorded, balances that differ", () => {
    const result: SyncResult = {
      connection: base,
      added: { trades: 2, deposits: 0, withdrawals: 1 },
      duplicates: { trades: 1, deposits: 0, withdrawals: 0 },
      differences: { BTC: { exchange: "0.5", ledger: "0.4" } },
      error: null,
      error_kind: null,
      notes: [],
    };
    expect(syncSummary(result)).toBe("Added 2 trades, 1 withdrawals (1 already recorded). Balances differ: BTC: exchange 0.5, ledger 0.4.");
    expect(syncSummary({ ...result, added: { trades: 0 }, duplicates: {}, differences: {} })).toBe("Nothing new.");
    expect(syncSummary({ ...result, added: {}, duplicates: {}, differences: {}, notes: ["deposits: deposit D1 is pending (records 2)"] })).toBe(
      "Nothing new. Not recorded: deposits: deposit D1 is pending (records 2).",
    );
    expect(syncSummary({ ...result, error: "rate limited", error_kind: "rate-limit" })).toBe("Sync failed: rate limited");
  });
});
