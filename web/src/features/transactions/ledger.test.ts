import { describe, expect, it } from "vitest";
import openapi from "../../api/openapi.json";
import {
  NO_FILTERS,
  TRANSACTION_TYPES,
  compareDecimals,
  dateRangeProblem,
  describeTransaction,
  ledgerQuery,
  neighbours,
  pageSummary,
  tradeDate,
  type Transaction,
} from "./ledger";

describe("ledgerQuery", () => {
  it("sends only the filters the user set, with the page", () => {
    expect(ledgerQuery(NO_FILTERS, 0, 50)).toEqual({ limit: 50, offset: 0 });
    expect(
      ledgerQuery({ accountId: "3", symbol: " aapl ", type: "buy", start: "2026-01-01", end: "2026-06-30" }, 100, 50),
    ).toEqual({ limit: 50, offset: 100, account_id: 3, symbol: "aapl", type: "buy", start: "2026-01-01", end: "2026-06-30" });
  });
});

describe("the type filter", () => {
  it("offers exactly the types the API accepts", () => {
    const parameters = (openapi as any).paths["/api/v1/transactions"].get.parameters as any[];
    const type = parameters.find((p) => p.name === "type");
    expect([...TRANSACTION_TYPES]).toEqual(type.schema.anyOf[0].items.enum);
  });
});

describe("dateRangeProblem", () => {
  it("refuses a start after the end and accepts open or ordered ranges", () => {
    expect(dateRangeProblem({ start: "2026-05-02", end: "2026-05-01" })).toMatch(/after/);
    expect(dateRangeProblem({ start: "2026-05-01", end: "2026-05-01" })).toBeNull();
    expect(dateRangeProblem({ start: "", end: "2026-05-01" })).toBeNull();
  });
});

describe("paging", () => {
  it("says which rows are shown out of how many", () => {
    expect(pageSummary(50, 50, 132)).toBe("Rows 51–100 of 132");
    expect(pageSummary(0, 0, 0)).toBe("No transactions match.");
    expect(pageSummary(1000, 0, 1200, "en-US")).toBe("No rows on this page (1200 in all).");
  });
  it("finds the previous and next pages, none beyond the ends", () => {
    expect(neighbours(0, 50, 132)).toEqual({ previous: null, next: 50 });
    expect(neighbours(100, 50, 132)).toEqual({ previous: 50, next: null });
    expect(neighbours(20, 50, 132)).toEqual({ previous: 0, next: 70 });
  });
});

describe("how a transaction reads", () => {
  const buy = {
    id: 7, account: "Fidelity", type: "buy", symbol: "AAPL", quantity: "3", price: "190.5", fees: "1",
    amount: null, currency: "USD", traded_at: "2026-11-02T00:00:00+00:00",
  } as Transaction;
  it("names the trade, its date and account", () => {
    expect(tradeDate(buy.traded_at)).toBe("2026-11-02");
    expect(describeTransaction(buy)).toBe("buy 3 AAPL on 2026-11-02 in Fidelity");
    expect(describeTransaction({ ...buy, type: "transfer_in", symbol: null, quantity: null, amount: "2500" })).toBe(
      "transfer in 2500 USD on 2026-11-02 in Fidelity",
    );
  });
  it("sorts decimal strings as numbers with missing values last", () => {
    const values = ["10", null, "9.5", "-2", "100"];
    expect([...values].sort(compareDecimals)).toEqual(["-2", "9.5", "10", "100", null]);
  });
});
