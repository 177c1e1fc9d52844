import { describe, expect, it } from "vitest";
import type { HistoryPoint, HoldingOut } from "../../api/types";
import { allocate, assetClassLabel, dayChange, groupBy, stalePrices, sunburstNodes } from "./dashboardLogic";

const point = (date: string, value: string, net_flow = "0.00"): HistoryPoint => ({
  date,
  value,
  net_flow,
  daily_return: null,
  cumulative_return: null,
  drawdown: null,
  benchmark_cumulative_return: null,
  rolling: {},
});

const holding = (over: Partial<HoldingOut>): HoldingOut => ({
  id: `${over.account ?? "A"}-${over.symbol ?? "X"}`,
  account_id: 1,
  account: "Broker",
  instrument_id: 1,
  symbol: "X",
  asset_type: "stock",
  quantity: "1",
  currency: "USD",
  cost_basis: "1",
  average_cost: "1",
  unknown_basis_quantity: "0",
  price: "1",
  price_as_of: "2026-12-04",
  price_source: "test",
  market_value: "1",
  unrealized_gain: "0",
  lots: 1,
  version: "v",
  editable: true,
  price_missing: false,
  ...over,
});

describe("dayChange", () => {
  it("is the last value minus the previous one, over the previous value", () => {
    const change = dayChange([point("2026-12-03", "90"), point("2026-12-04", "100.00"), point("2026-12-05", "101.50")]);
    expect(change.amount).toBeCloseTo(1.5, 10);
    expect(change.fraction).toBeCloseTo(0.015, 10);
  });

  it("leaves out the last day's deposit (a deposit is not a gain)", () => {
    const change = dayChange([point("2026-12-05", "122367.82"), point("2026-12-06", "124867.82", "2500.00")]);
    expect(change).toEqual({ amount: 0, fraction: 0 });
  });

  it("counts a withdrawal back in: value fell by less than what was taken out", () => {
    const change = dayChange([point("2026-12-05", "1000.00"), point("2026-12-06", "790.00", "-200.00")]);
    expect(change.amount).toBeCloseTo(-10, 10);
    expect(change.fraction).toBeCloseTo(-0.01, 10);
  });

  it("has no exact-decimal noise in money (0.1 + 0.2 style)", () => {
    expect(dayChange([point("d1", "0.10"), point("d2", "0.30", "0.20")]).amount).toBe(0);
  });

  it("is unknown with fewer than two days or a value missing, never zero", () => {
    expect(dayChange(undefined)).toEqual({ amount: null, fraction: null });
    expect(dayChange([point("d1", "5")])).toEqual({ amount: null, fraction: null });
    expect(dayChange([point("d1", ""), point("d2", "5")])).toEqual({ amount: null, fraction: null });
  });

  it("has no fraction when the previous value was nothing", () => {
    expect(dayChange([point("d1", "0"), point("d2", "100", "90")])).toEqual({ amount: 10, fraction: null });
  });
});

describe("allocate", () => {
  const base = { currency: "USD", market_value: null, rates: { EUR: "1.10" }, missing_rates: ["GBP"] };

  it("converts each holding to the base currency and excludes the unpriced and unconvertible", () => {
    const result = allocate({
      total_in_base: base,
      holdings: [
        holding({ symbol: "AAPL", market_value: "100" }),
        holding({ symbol: "SAP", currency: "EUR", market_value: "10" }),
        holding({ symbol: "VOD", currency: "GBP", market_value: "50" }),
        holding({ symbol: "NEW", price_missing: true, market_value: null, price: null }),
        holding({ symbol: "ZERO", market_value: "0" }),
      ],
    });
    expect(result.valued.map((v) => [v.symbol, v.value])).toEqual([
      ["AAPL", 100],
      ["SAP", 11],
    ]);
    expect(result.total).toBeCloseTo(111, 10);
    expect(result.excluded.map((e) => [e.symbol, e.reason])).toEqual([
      ["VOD", "no GBP→USD rate"],
      ["NEW", "no price"],
    ]);
  });

  it("groups by asset class then asset (assets summed over accounts), largest first", () => {
    const { valued } = allocate({
      total_in_base: base,
      holdings: [
        holding({ account: "A", symbol: "VTI", asset_type: "etf", market_value: "10" }),
        holding({ account: "B", symbol: "VTI", asset_type: "etf", market_value: "15" }),
        holding({ account: "B", symbol: "BND", asset_type: "etf", market_value: "5" }),
        holding({ account: "A", symbol: "AAPL", asset_type: "stock", market_value: "40" }),
      ],
    });
    expect(groupBy(valued, (v) => v.account)).toEqual([
      { key: "A", value: 50 },
      { key: "B", value: 20 },
    ]);
    expect(sunburstNodes(valued)).toEqual({
      ids: ["stock", "stock/AAPL", "etf", "etf/VTI", "etf/BND"],
      labels: ["Stocks", "AAPL", "ETFs", "VTI", "BND"],
      parents: ["", "stock", "", "etf", "etf"],
      values: [40, 40, 30, 25, 5],
    });
  });

  it("names asset classes for people", () => {
    expect(assetClassLabel("crypto")).toBe("Crypto");
    expect(assetClassLabel("warrant")).toBe("Warrant");
  });
});

describe("stalePrices", () => {
  it("flags a missing price and one older than four days, not a weekend-old close nor cash", () => {
    const found = stalePrices(
      [
        holding({ symbol: "FRI", price_as_of: "2026-12-04" }),
        holding({ symbol: "OLD", price_as_of: "2026-11-20" }),
        holding({ symbol: "NONE", price_missing: true, price: null, price_as_of: null }),
        holding({ symbol: "USD", asset_type: "cash", price: null, price_as_of: null }),
      ],
      "2026-12-07",
    );
    expect(found.map((f) => [f.symbol, f.problem])).toEqual([
      ["OLD", "price from 2026-11-20"],
      ["NONE", "no price"],
    ]);
  });
});
