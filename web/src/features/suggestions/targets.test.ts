import { describe, expect, it } from "vitest";
import {
  anyTargets,
  followsText,
  hasTargets,
  keyKind,
  listText,
  ownTargetsLine,
  percentDigits,
  scopedBody,
  scopedTargets,
  sumDecimals,
  targetsBody,
  targetsForm,
  targetsKey,
  targetsPath,
  targetsSummary,
  validScope,
  weightSum,
  type TargetsForm,
} from "./targets";
import type { Targets } from "./types";

const SAVED: Targets = {
  weights: { etf: "0.6", bond: "0.3", AAPL: "0.1" },
  by_class: { etf: "0.6", bond: "0.3" },
  by_symbol: { AAPL: "0.1" },
  band: "0.05",
  min_trade: "50",
  cash_flow: "0",
  concentration_limit: "0.25",
  var_budget: "0.03",
};

const form = (rows: [string, string][], options: Partial<TargetsForm> = {}): TargetsForm => ({
  rows: rows.map(([key, percent], i) => ({ id: i + 1, key, percent })),
  band: "",
  min_trade: "",
  cash_flow: "",
  concentration_limit: "",
  var_budget: "",
  ...options,
});

describe("the saved targets in the editor", () => {
  it("shows weights and limits as percents, money as it is", () => {
    const f = targetsForm(SAVED);
    expect(f.rows).toEqual([
      { id: 1, key: "etf", percent: "60" },
      { id: 2, key: "bond", percent: "30" },
      { id: 3, key: "AAPL", percent: "10" },
    ]);
    expect(f).toMatchObject({ band: "5", min_trade: "50", cash_flow: "0", concentration_limit: "25", var_budget: "3" });
  });

  it("starts with one empty row when no targets are set", () => {
    expect(targetsForm({ ...SAVED, weights: {} }).rows).toEqual([{ id: 1, key: "", percent: "" }]);
    expect(targetsForm(undefined).band).toBe("");
  });

  it("round-trips the saved targets into the same PUT body", () => {
    expect(targetsBody(targetsForm(SAVED), "en-US")).toEqual({
      body: {
        weights: { etf: "0.6", bond: "0.3", AAPL: "0.1" },
        band: "0.05",
        min_trade: "50",
        cash_flow: "0",
        concentration_limit: "0.25",
        var_budget: "0.03",
      },
      errors: {},
    });
  });
});

describe("the running sum", () => {
  it("adds decimals exactly, without float error", () => {
    expect(sumDecimals(["33.3", "33.3", "33.4"])).toBe("100");
    expect(sumDecimals(["0.1", "0.2"])).toBe("0.3");
    expect(sumDecimals(["60", "-10.25"])).toBe("49.75");
    expect(sumDecimals(["0.001", "0.009"])).toBe("0.01");
  });

  it("sums the rows that are numbers, in the user's locale", () => {
    expect(weightSum(form([["etf", "60"], ["bond", "39,5"], ["gold", "x"]]).rows, "de-DE")).toBe("99.5");
    expect(weightSum(form([["etf", ""]]).rows, "en-US")).toBeNull();
  });
});

describe("the PUT body", () => {
  it("sends classes as typed and symbols in upper case, weights as fractions", () => {
    const { body, errors } = targetsBody(form([["stock", "70"], [" vti ", "30"]]), "en-US");
    expect(errors).toEqual({});
    expect(body).toEqual({ weights: { stock: "0.7", VTI: "0.3" } });
  });

  it("says which key is an asset class and which a symbol", () => {
    expect(keyKind("etf")).toBe("class");
    expect(keyKind("ETF")).toBe("symbol");
    expect(keyKind("BOND")).toBe("symbol");
    expect(keyKind("  ")).toBeNull();
  });

  it("refuses weights that do not add up to exactly 100%", () => {
    const { body, errors } = targetsBody(form([["etf", "60"], ["bond", "30"]]), "en-US");
    expect(body).toBeNull();
    expect(errors.weights).toBe("The weights add up to 90%: they must add up to exactly 100%.");
  });

  it("names the row of a missing key, a bad weight, a repeat and cash", () => {
    const { body, errors } = targetsBody(
      form([["", "10"], ["etf", "abc"], ["etf", "20"], ["cash", "10"], ["bond", "120"]]),
      "en-US",
    );
    expect(body).toBeNull();
    expect(errors["key-1"]).toMatch(/asset class or a symbol/);
    expect(errors["weight-2"]).toMatch(/in percent/);
    expect(errors["key-3"]).toBe("etf is given twice.");
    expect(errors["key-4"]).toMatch(/Cash is not a target/);
    expect(errors["weight-5"]).toMatch(/between 0 and 100/);
    expect(errors.weights).toBeUndefined(); // the sum is not judged while a weight is wrong
  });

  it("ignores empty rows and needs at least one weight", () => {
    expect(targetsBody(form([["etf", "100"], ["", ""]]), "en-US").body).toEqual({ weights: { etf: "1" } });
    expect(targetsBody(form([["", ""]]), "en-US").errors.weights).toMatch(/at least one/);
  });

  it("converts the options, leaves empty ones to the server and checks them", () => {
    const ok = targetsBody(
      form([["etf", "100"]], { band: "2.5", min_trade: "$1,000", cash_flow: "-500", concentration_limit: "30%", var_budget: "" }),
      "en-US",
    );
    expect(ok.body).toEqual({
      weights: { etf: "1" },
      band: "0.025",
      min_trade: "1000",
      cash_flow: "-500",
      concentration_limit: "0.3",
    });
    const bad = targetsBody(form([["etf", "100"]], { band: "five", min_trade: "-1", cash_flow: "lots", var_budget: "101" }), "en-US");
    expect(bad.body).toBeNull();
    expect(Object.keys(bad.errors).sort()).toEqual(["band", "cash_flow", "min_trade", "var_budget"]);
  });
});

describe("the collapsed editor's line", () => {
  const pct = (f: string) => `${Number(f) * 100}%`;
  const money = (v: string) => `$${v}`;
  it("names the weights and the options", () => {
    expect(targetsSummary(SAVED, money, pct)).toBe(
      "etf 60% · bond 30% · AAPL 10%; band ±5%, trades of $50 or more, concentration limit 25%, VaR budget 3%",
    );
    expect(targetsSummary({ ...SAVED, cash_flow: "-200" }, money, pct)).toContain("$200 to withdraw");
    expect(targetsSummary({ ...SAVED, cash_flow: "1000" }, money, pct)).toContain("$1000 to invest");
  });
  it("shows a percent with the decimals it needs", () => {
    expect(percentDigits("0.6")).toBe(0);
    expect(percentDigits("0.075")).toBe(1);
    expect(percentDigits("0.12345")).toBe(2);
  });
});

describe("the scope of the targets: the portfolio or one account", () => {
  const pct = (f: string) => `${Number(f) * 100}%`;
  const money = (v: string) => `$${v}`;

  it("reads and writes the portfolio's at /targets, an account's with ?account=", () => {
    expect(targetsPath(null)).toBe("/targets");
    expect(targetsPath("IRA")).toBe("/targets?account=IRA");
    expect(targetsPath("Vanguard IRA")).toBe("/targets?account=Vanguard+IRA");
    expect(targetsPath("A&B #1")).toBe("/targets?account=A%26B+%231");
    expect(new URLSearchParams(targetsPath("A&B #1").split("?")[1]).get("account")).toBe("A&B #1");
  });

  it("keys each scope's targets under the portfolio's, so one invalidation reaches them all", () => {
    expect(targetsKey(null)).toEqual(["targets"]);
    expect(targetsKey("IRA")).toEqual(["targets", "account", "IRA"]);
    expect(targetsKey("IRA").slice(0, 1)).toEqual(targetsKey(null));
  });

  it("leaves the portfolio-only limits out of an account's body", () => {
    const body = { weights: { etf: "1" }, band: "0.05", min_trade: "50", cash_flow: "100", concentration_limit: "0.3", var_budget: "0.02" };
    expect(scopedBody(body, null)).toBe(body);
    expect(scopedBody(body, "IRA")).toEqual({ weights: { etf: "1" }, band: "0.05", min_trade: "50", cash_flow: "100" });
    expect(body.var_budget).toBe("0.02"); // the form's body is not changed
    expect(targetsSummary(scopedTargets(SAVED, "IRA"), money, pct)).toBe(
      "etf 60% · bond 30% · AAPL 10%; band ±5%, trades of $50 or more",
    );
    expect(scopedTargets(SAVED, null)).toBe(SAVED);
  });

  it("knows when targets are set, for the portfolio or for some account", () => {
    const none = { ...SAVED, weights: {} };
    expect(hasTargets(SAVED)).toBe(true);
    expect(hasTargets(none)).toBe(false);
    expect(hasTargets(undefined)).toBe(false);
    expect(anyTargets(none)).toBe(false);
    expect(anyTargets({ ...none, accounts_with_targets: [] })).toBe(false);
    expect(anyTargets({ ...none, accounts_with_targets: ["IRA"] })).toBe(true);
    expect(anyTargets(SAVED)).toBe(true);
  });

  it("falls back to the portfolio when the chosen account is gone, not while accounts load", () => {
    const accounts = [{ name: "Brokerage" }, { name: "IRA" }];
    expect(validScope("IRA", accounts)).toBe("IRA");
    expect(validScope("Old IRA", accounts)).toBeNull();
    expect(validScope("IRA", undefined)).toBe("IRA");
    expect(validScope(null, accounts)).toBeNull();
  });

  it("says which accounts have targets of their own", () => {
    expect(listText([])).toBe("");
    expect(listText(["IRA"])).toBe("IRA");
    expect(listText(["IRA", "Roth"])).toBe("IRA and Roth");
    expect(listText(["IRA", "Roth", "401k"])).toBe("IRA, Roth and 401k");
    expect(ownTargetsLine(undefined)).toBeNull();
    expect(ownTargetsLine([])).toBeNull();
    expect(ownTargetsLine(["IRA"])).toBe(
      "IRA has targets of its own: it is rebalanced on its own, and the portfolio's targets apply to the other accounts.",
    );
    expect(ownTargetsLine(["IRA", "Roth"])).toBe(
      "IRA and Roth have targets of their own: they are rebalanced on their own, and the portfolio's targets apply to the other accounts.",
    );
    expect(followsText("IRA")).toBe("IRA follows the portfolio's targets; set targets here to rebalance it on its own.");
  });
});
