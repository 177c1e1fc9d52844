import { describe, expect, it } from "vitest";
import { holding } from "./fixtures";
import {
  decimalText,
  deriveRows,
  keepGroupsTogether,
  priceFlagOf,
  priceTooltip,
  rowIdOf,
  summaryRows,
  withCostBasis,
  withQuantity,
} from "./model";


const base = { asOf: "2026-12-06", base: "USD", rates: {} as Record<string, string>, groupBy: "none" as const };

describe("row identity", () => {
  it("uses the holding id, or symbol and currency when consolidated", () => {
    expect(rowIdOf(holding())).toBe("1-2");
    expect(rowIdOf(holding({ id: null }))).toBe("all-AAPL-USD");
  });
});

describe("price flags", () => {
  it("calls a weekend-old price fine, a two-week-old one stale and a missing one missing", () => {
    expect(priceFlagOf(holding(), "2026-12-06")).toEqual({ flag: "ok", age: 2 });
    expect(priceFlagOf(holding({ price_as_of: "2026-11-20" }), "2026-12-06")).toEqual({ flag: "stale", age: 16 });
    expect(priceFlagOf(holding({ price_missing: true, price: null }), "2026-12-06").flag).toBe("missing");
    expect(priceFlagOf(holding({ asset_type: "cash", price_as_of: null }), "2026-12-06").flag).toBe("none");
  });

  it("explains the flag in the tooltip", () => {
    const [stale] = deriveRows({ ...base, holdings: [holding({ price_as_of: "2026-11-20" })] });
    expect(priceTooltip(stale!)).toContain("Stale price: as of 2026-11-20 (16 days old)");
    const [missing] = deriveRows({ ...base, holdings: [holding({ price_missing: true, price: null, market_value: null })] });
    expect(priceTooltip(missing!)).toContain("No price");
  });
});

describe("local valuation of an edit", () => {
  it("values a new quantity at the price, units in and out at the average cost", () => {
    const more = withQuantity(holding(), "12");
    expect(more.market_value).toBe("1800");
    expect(more.cost_basis).toBe("1200");
    expect(more.unrealized_gain).toBe("600");
    expect(withQuantity(holding(), "5").cost_basis).toBe("500");
  });

  it("keeps an unknown price unknown", () => {
    const h = withQuantity(holding({ price: null, market_value: null, price_missing: true }), "12");
    expect(h.market_value).toBeNull();
    expect(h.unrealized_gain).toBeNull();
  });

  it("recomputes the gain and average cost of a new cost basis", () => {
    const h = withCostBasis(holding(), "1200");
    expect(h.unrealized_gain).toBe("300");
    expect(h.average_cost).toBe("120");
  });

  it("writes floats as plain decimals", () => {
    expect(decimalText(0.1 + 0.2)).toBe("0.3");
    expect(decimalText(1e-9)).toBe("0.000000001");
  });
});

describe("deriving rows", () => {
  const holdings = [
    holding(),
    holding({ id: "2-9", account: "Vanguard", symbol: "BND", asset_type: "etf", market_value: "500", cost_basis: "400" }),
    holding({ id: "1-EUR", symbol: "EUR", asset_type: "cash", currency: "EUR", market_value: "100", cost_basis: "100" }),
  ];

  it("converts to the base currency and weighs each row", () => {
    const rows = deriveRows({ ...base, rates: { EUR: "1.1" }, holdings });
    expect(rows.map((r) => r.valueBase)).toEqual([1500, 500, 110.00000000000001]);
    expect(rows[0]!.weight).toBeCloseTo(1500 / 2110);
  });

  it("applies optimistic overrides and flags hypothetical quantities", () => {
    const rows = deriveRows({
      ...base,
      rates: { EUR: "1.1" },
      holdings,
      overrides: new Map([["2-9", { ...holdings[1]!, quantity: "20" }]]),
      hypothetical: new Map([["1-2", "20"]]),
      pending: new Set(["2-9"]),
    });
    expect(rows[0]!.hypotheticalFrom).toBe("10");
    expect(rows[0]!.market_value).toBe("3000");
    expect(rows[1]!.quantity).toBe("20");
    expect(rows[1]!.pending).toBe(true);
  });

  it("sums subtotals per group and a total of the visible rows; an unknown value makes the sum unknown", () => {
    const rows = deriveRows({ ...base, rates: { EUR: "1.1" }, holdings, groupBy: "account" });
    const sums = summaryRows(rows, "account", "USD", { EUR: "1.1" });
    expect(sums.map((s) => [s.kind, s.symbol, s.count])).toEqual([
      ["subtotal", "Fidelity", 2],
      ["subtotal", "Vanguard", 1],
      ["total", "Total", 3],
    ]);
    expect(Number(sums[2]!.market_value)).toBeCloseTo(2110);
    expect(Number(sums[2]!.cost_basis)).toBeCloseTo(1510);
    expect(sums[1]!.weight).toBeCloseTo(500 / 2110);
    const noRate = summaryRows(deriveRows({ ...base, holdings }), "none", "USD", {});
    expect(noRate).toHaveLength(1);
    expect(noRate[0]!.market_value).toBeNull();
    expect(noRate[0]!.weight).toBeNull();
  });

  it("keeps groups together and the sort within each group", () => {
    const items = [
      { g: "b", n: 1 },
      { g: "a", n: 2 },
      { g: "b", n: 3 },
      { g: "a", n: 4 },
    ];
    expect(keepGroupsTogether(items, (i) => i.g).map((i) => i.n)).toEqual([2, 4, 1, 3]);
  });
});
