import { describe, expect, it } from "vitest";
import { holding } from "./fixtures";
import { changesBySymbol, totalValue, whatIfEditable } from "./whatIf";

describe("what-if changes", () => {
  const holdings = [
    holding(),
    holding({ id: "2-2", account: "IRA", quantity: "5" }),
    holding({ id: "1-9", symbol: "BND", quantity: "3" }),
  ];

  it("sums the units added or removed per symbol across accounts and drops no-ops", () => {
    expect(changesBySymbol(holdings, new Map([["1-2", "12"], ["2-2", "4"], ["1-9", "3"]]))).toEqual({ AAPL: 1 });
    expect(changesBySymbol(holdings, new Map([["1-2", "12"], ["2-2", "3"]]))).toEqual({});
    expect(changesBySymbol(holdings, new Map([["1-9", "0.1"]]))).toEqual({ BND: -2.9 });
  });

  it("totals the hypothetical rows in the base currency, unknown if any value is", () => {
    expect(totalValue([{ market_value: "100.01", currency: "USD" }, { market_value: "10", currency: "EUR" }], "USD", { EUR: "1.1" })).toBe(
      "111.01",
    );
    expect(totalValue([{ market_value: null, currency: "USD" }], "USD", {})).toBeNull();
    expect(totalValue([{ market_value: "1", currency: "GBP" }], "USD", {})).toBeNull();
  });

  it("leaves cash out of what-if edits", () => {
    expect(whatIfEditable({ asset_type: "cash", kind: "holding" })).toBe(false);
    expect(whatIfEditable({ asset_type: "stock", kind: "holding" })).toBe(true);
  });
});
