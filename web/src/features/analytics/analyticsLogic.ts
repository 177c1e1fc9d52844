/**
 * The analytics page's pure logic: which query a period picks, the bins of the return
 * histogram, the rolling series and the tear sheet's address. No React, no fetching.
 */
import type { HistoryPoint } from "../../api/types";
import { API } from "../../api/client";

export const PERIODS = ["1M", "3M", "6M", "YTD", "1Y", "3Y", "5Y", "MAX"] as const;
export type Period = (typeof PERIODS)[number];
export const BENCHMARK_SUGGESTIONS = ["SPY", "QQQ", "VT", "AGG", "BTC-USD"];
export const VAR_METHODS: [string, string][] = [
  ["historical", "Historical"],
  ["parametric", "Parametric (normal)"],
  ["cornish_fisher", "Cornish-Fisher"],
  ["monte_carlo", "Monte Carlo"],
];
export const CONFIDENCES = ["0.95", "0.99"];
export const ROLLING_WINDOWS = [63, 252];

/** A local calendar day as YYYY-MM-DD. */
export function isoDay(day: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

/** The same day `months` calendar months earlier, the month's last day when shorter
 * (the server's rule for 1M, 3M, 1Y...). */
export function monthsBefore(day: string, months: number): string {
  const [y = 0, m = 1, d = 1] = day.split("-").map(Number);
  const index = y * 12 + (m - 1) - months;
  const year = Math.floor(index / 12);
  const month = index - year * 12; // 0-based
  const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${year}-${pad(month + 1)}-${pad(Math.min(d, last))}`;
}

/** The query parameters GET /analytics takes for a period: the engine has no 6M (a
 * start six months back) and calls MAX "ALL". */
export function periodQuery(period: Period, today: string): { period?: string; start?: string } {
  if (period === "6M") return { start: monthsBefore(today, 6) };
  if (period === "MAX") return { period: "ALL" };
  return { period };
}

/** A benchmark as the user typed it, as the API takes it (trimmed, upper case). */
export const normalizeBenchmark = (text: string): string => text.trim().toUpperCase();

/** The tear sheet's address for the page's period and benchmark. */
export function tearsheetUrl(period: Period, benchmark: string): string {
  const params = new URLSearchParams({ period });
  if (benchmark) params.set("benchmark", benchmark);
  return `${API}/reports/tearsheet?${params.toString()}`;
}

export interface Histogram {
  /** The middle of each bin. */
  centers: number[];
  counts: number[];
  width: number;
}

/** Equal-width bins over [min, max] of the finite values; the maximum lands in the last
 * bin. One bin of width 0 when every value is the same; none without values. */
export function histogram(values: (number | null)[], bins = 40): Histogram {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (finite.length === 0 || bins < 1) return { centers: [], counts: [], width: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (const v of finite) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) return { centers: [min], counts: [finite.length], width: 0 };
  const width = (max - min) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of finite) {
    const bin = Math.min(bins - 1, Math.floor((v - min) / width));
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  return { centers: counts.map((_, i) => min + (i + 0.5) * width), counts, width };
}

/** A rolling metric's series (null where the window is not yet full), or null when the
 * period is shorter than the window. */
export function rollingSeries(
  history: HistoryPoint[],
  metric: "volatility" | "sharpe" | "beta",
  window: number,
): { x: string[]; y: (number | null)[] } | null {
  const key = `${metric}_${window}`;
  const y = history.map((h) => h.rolling?.[key] ?? null);
  if (!y.some((v) => v !== null)) return null;
  return { x: history.map((h) => h.date), y };
}

/** The daily returns of the history (the first day has none). */
export const dailyReturns = (history: HistoryPoint[]): number[] =>
  history.map((h) => h.daily_return).filter((v): v is number => v !== null && Number.isFinite(v));
