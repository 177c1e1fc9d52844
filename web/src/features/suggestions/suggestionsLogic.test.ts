import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import {
  OPTIMIZE_DEFAULTS,
  basisText,
  effectLine,
  frontierData,
  harvestQuery,
  isInputProblem,
  isNoTargets,
  optimizeQuery,
  ordersCsvUrl,
  replacementsText,
  sortAlerts,
  summaryPath,
  type OptimizeForm,
} from "./suggestionsLogic";
import type { Effect, Figures, RiskAlert } from "./types";

const figures = (f: Partial<Figures>): Figures => ({ volatility: null, var: null, var_fraction: null, sharpe: null, drift: null, ...f });

describe("the effect line", () => {
  it("shows each figure before → after in the user's locale", () => {
    const effect: Effect = {
      before: figures({ volatility: 0.152, var: 1234, var_fraction: 0.012, sharpe: 0.82, drift: 0.112 }),
      after: figures({ volatility: 0.141, var: 1100, var_fraction: 0.011, sharpe: 0.9, drift: 0.004 }),
    };
    expect(effectLine(effect, "USD", "en-US")).toBe(
      "vol 15.2% → 14.1%, VaR $1,234 → $1,100, Sharpe 0.82 → 0.90, drift 11.2% → 0.4%",
    );
    // a decimal-comma locale, with its (no-break) spaces before % and €
    expect(effectLine(effect, "EUR", "de-DE").replace(/\u00a0/g, " ")).toBe(
      "vol 15,2 % → 14,1 %, VaR 1.234 € → 1.100 €, Sharpe 0,82 → 0,90, drift 11,2 % → 0,4 %",
    );
  });

  it("leaves out a figure unknown before and after, and says — for one side", () => {
    const effect: Effect = {
      before: figures({ volatility: 0.2, sharpe: null }),
      after: figures({ volatility: 0.1, sharpe: 1.5 }),
    };
    expect(effectLine(effect, "USD", "en-US")).toBe("vol 20.0% → 10.0%, Sharpe — → 1.50");
    expect(effectLine({ before: figures({}), after: figures({}) }, "USD", "en-US")).toBe("—");
    expect(effectLine(null)).toBe("—");
  });
});

describe("risk alerts", () => {
  const alert = (severity: RiskAlert["severity"], message: string): RiskAlert => ({
    kind: "concentration",
    severity,
    symbol: null,
    value: null,
    limit: null,
    message,
  });
  it("puts critical alerts first and keeps the server's order otherwise", () => {
    const sorted = sortAlerts([alert("warning", "w1"), alert("critical", "c1"), alert("warning", "w2"), alert("critical", "c2")]);
    expect(sorted.map((a) => a.message)).toEqual(["c1", "c2", "w1", "w2"]);
  });
});

describe("the basis of the figures", () => {
  it("names the period, dates, method, confidence and horizon", () => {
    expect(
      basisText(
        { period: "1Y", start: "2025-12-06", end: "2026-12-06", method: "historical", confidence: 0.95, horizon_days: 1 },
        "en-US",
      ),
    ).toBe("Computed over 1Y (2025-12-06 to 2026-12-06) of daily returns; VaR by the historical method at 95% confidence, 1-day horizon.");
    expect(basisText(undefined)).toBe("");
  });
});

describe("problems", () => {
  it("tells no targets yet apart from other refusals and failures", () => {
    const none = new ApiError(422, "invalid-input", "no targets set yet (quantdesk targets set stock=0.6 bond=0.4)", [], null);
    const other = new ApiError(422, "invalid-input", "VTI has no target", [], null);
    const down = new ApiError(503, "unavailable", "no targets model", [], null);
    expect(isNoTargets(none)).toBe(true);
    expect(isNoTargets(other)).toBe(false);
    expect(isNoTargets(down)).toBe(false);
    expect(isInputProblem(other)).toBe(true);
    expect(isInputProblem(down)).toBe(false);
    expect(isInputProblem(new Error("x"))).toBe(false);
  });
});

describe("the harvest query", () => {
  it("sends the minimum loss as money and the rates as fractions", () => {
    expect(harvestQuery({ min_loss: "$1,000", short_rate: "37", long_rate: "23.8" }, "en-US")).toEqual({
      query: { min_loss: "1000", short_rate: "0.37", long_rate: "0.238" },
      errors: {},
    });
  });
  it("refuses a negative loss and a rate above 100%", () => {
    const { query, errors } = harvestQuery({ min_loss: "-5", short_rate: "120", long_rate: "x" }, "en-US");
    expect(query).toBeNull();
    expect(Object.keys(errors).sort()).toEqual(["long_rate", "min_loss", "short_rate"]);
  });
  it("names replacements with their correlation", () => {
    expect(replacementsText([{ symbol: "QQQ", correlation: "0.93" }, { symbol: "VOO", correlation: "0.9" }], "en-US")).toBe(
      "QQQ (ρ 0.93), VOO (ρ 0.90)",
    );
    expect(replacementsText([], "en-US")).toBe("");
  });
});

describe("the optimize query", () => {
  const run = (change: Partial<OptimizeForm>) => optimizeQuery({ ...OPTIMIZE_DEFAULTS, ...change }, "en-US");
  it("sends the objective, covariance and period, and a cap only when given", () => {
    expect(run({})).toEqual({ query: "objective=max_sharpe&covariance=ledoit_wolf&period=3Y", errors: {} });
    expect(run({ covariance: "sample", period: "ALL", max_weight: "40" }).query).toBe(
      "objective=max_sharpe&covariance=sample&period=ALL&max_weight=0.4",
    );
  });
  it("asks the target return or risk of their objective only, as fractions", () => {
    expect(run({ objective: "efficient_return", target_return: "8" }).query).toBe(
      "objective=efficient_return&covariance=ledoit_wolf&period=3Y&target_return=0.08",
    );
    expect(run({ objective: "efficient_risk", target_risk: "12.5" }).query).toBe(
      "objective=efficient_risk&covariance=ledoit_wolf&period=3Y&target_risk=0.125",
    );
    expect(run({ objective: "min_volatility", target_return: "8" }).query).not.toContain("target_return");
  });
  it("sends no cap to risk parity and HRP, which set their own weights", () => {
    expect(run({ objective: "hrp", max_weight: "10" }).query).toBe("objective=hrp&covariance=ledoit_wolf&period=3Y");
    expect(run({ objective: "risk_parity", max_weight: "10" }).query).not.toContain("max_weight");
  });
  it("refuses what is not a usable number", () => {
    expect(run({ objective: "efficient_return", target_return: "" }).errors.target_return).toBeTruthy();
    expect(run({ objective: "efficient_risk", target_risk: "0" }).errors.target_risk).toBeTruthy();
    expect(run({ max_weight: "0" }).errors.max_weight).toBeTruthy();
    expect(run({ max_weight: "150" }).query).toBeNull();
    expect(run({ max_weight: "1" }).query).toContain("max_weight=0.01");
  });
});

describe("the orders CSV", () => {
  it("links each source with the query its suggestions were made with", () => {
    expect(ordersCsvUrl("rebalance")).toBe("/api/v1/suggestions/orders.csv?source=rebalance");
    expect(ordersCsvUrl("harvest", { min_loss: "100", short_rate: "0.37", long_rate: "0.2" })).toBe(
      "/api/v1/suggestions/orders.csv?source=harvest&min_loss=100&short_rate=0.37&long_rate=0.2",
    );
    expect(ordersCsvUrl("optimize", "objective=hrp&covariance=sample&period=1Y")).toBe(
      "/api/v1/suggestions/orders.csv?source=optimize&objective=hrp&covariance=sample&period=1Y",
    );
  });
});

describe("the summary", () => {
  it("is asked of the same harvest inputs as the figures shown", () => {
    expect(summaryPath({ min_loss: "250", short_rate: "0.35", long_rate: "0.15" })).toBe(
      "/suggestions/summary?min_loss=250&short_rate=0.35&long_rate=0.15",
    );
  });
});

describe("the frontier plot", () => {
  const answer = {
    objective: "max_sharpe",
    frontier: [
      { return: 0.09, volatility: 0.2 },
      { return: 0.05, volatility: 0.1 },
      { return: Number.NaN, volatility: 0.3 },
    ],
    current: { return: 0.06, volatility: 0.18, sharpe: 0.2 },
    optimized: { return: 0.08, volatility: 0.15, sharpe: 0.4 },
  };
  it("draws the frontier by volatility and marks both portfolios with labels", () => {
    const [line, current, optimized] = frontierData(answer) as Record<string, unknown>[];
    expect(line).toMatchObject({ mode: "lines", name: "Efficient frontier", x: [0.1, 0.2], y: [0.05, 0.09] });
    expect(current).toMatchObject({ name: "Current portfolio", x: [0.18], y: [0.06], text: ["Current"] });
    expect(optimized).toMatchObject({ name: "Optimized (Max Sharpe)", x: [0.15], y: [0.08], text: ["Optimized"] });
  });
  it("leaves out a portfolio without figures", () => {
    const data = frontierData({ ...answer, current: { return: null, volatility: null, sharpe: null } });
    expect(data.map((d) => (d as { name?: string }).name)).toEqual(["Efficient frontier", "Optimized (Max Sharpe)"]);
  });
});
