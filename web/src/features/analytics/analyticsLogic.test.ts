import { describe, expect, it } from "vitest";
import type { HistoryPoint } from "../../api/types";
import { histogram, monthsBefore, periodQuery, rollingSeries, tearsheetUrl, dailyReturns } from "./analyticsLogic";

const point = (date: string, daily: number | null, rolling: Record<string, number | null> = {}): HistoryPoint => ({
  date,
  value: "100.00",
  net_flow: "0.00",
  daily_return: daily,
  cumulative_return: 0,
  drawdown: 0,
  benchmark_cumulative_return: null,
  rolling,
});

describe("histogram", () => {
  it("puts every value in one equal-width bin, the maximum in the last", () => {
    const h = histogram([0, 1, 2, 3, 4], 4);
    expect(h.width).toBe(1);
    expect(h.counts).toEqual([1, 1, 1, 2]);
    expect(h.centers).toEqual([0.5, 1.5, 2.5, 3.5]);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it("skips missing values and handles negative returns", () => {
    const h = histogram([-0.02, null, -0.01, 0.01, Number.NaN, 0.02], 2);
    expect(h.counts).toEqual([2, 2]);
    expect(h.centers[0]).toBeCloseTo(-0.01);
  });

  it("gives one bin when every value is the same and none without values", () => {
    expect(histogram([0.5, 0.5, 0.5])).toEqual({ centers: [0.5], counts: [3], width: 0 });
    expect(histogram([null])).toEqual({ centers: [], counts: [], width: 0 });
  });
});

describe("periods", () => {
  it("maps 6M to a start six months back and MAX to ALL", () => {
    expect(periodQuery("6M", "2026-12-06")).toEqual({ start: "2026-06-06" });
    expect(periodQuery("MAX", "2026-12-06")).toEqual({ period: "ALL" });
    expect(periodQuery("YTD", "2026-12-06")).toEqual({ period: "YTD" });
  });

  it("ends on the shorter month's last day and crosses years", () => {
    expect(monthsBefore("2026-08-31", 6)).toBe("2026-02-28");
    expect(monthsBefore("2026-03-15", 6)).toBe("2025-09-15");
    expect(monthsBefore("2028-08-31", 6)).toBe("2028-02-29");
  });
});

describe("series", () => {
  it("reads a rolling metric and says when its window never filled", () => {
    const history = [point("2026-01-01", null), point("2026-01-02", 0.01, { volatility_63: 0.2 })];
    expect(rollingSeries(history, "volatility", 63)).toEqual({ x: ["2026-01-01", "2026-01-02"], y: [null, 0.2] });
    expect(rollingSeries(history, "volatility", 252)).toBeNull();
    expect(dailyReturns(history)).toEqual([0.01]);
  });

  it("links the tear sheet with the period and benchmark", () => {
    expect(tearsheetUrl("6M", "QQQ")).toBe("/api/v1/reports/tearsheet?period=6M&benchmark=QQQ");
  });
});
