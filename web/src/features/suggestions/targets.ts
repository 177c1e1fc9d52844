/**
 * The targets editor's pure logic: the saved targets as the form shows them (weights and
 * limits as percents), the running sum of the weights (exact, it must be 100%), the
 * PUT /targets body the form makes, or what is wrong with it, and the scope they are for
 * (the whole portfolio, or one account's own targets).
 */
import { parseUserNumber } from "../../format/format";
import { fractionToPercent, percentToFraction } from "../settings/settings";
import type { Targets, TargetsPut } from "./types";

// Scopes: the portfolio's targets, or one account's own ------------------------------------

/** Whose targets: null for the whole portfolio, else an account's name (its own targets:
 * it is rebalanced on its own, and the portfolio's apply to the other accounts). */
export type TargetsScope = string | null;

/** The query key of a scope's targets; the portfolio's is ["targets"], the prefix of all. */
export const targetsKey = (scope: TargetsScope): readonly unknown[] =>
  scope === null ? ["targets"] : ["targets", "account", scope];

/** The address (under /api/v1) a scope's targets are read, replaced and removed at. */
export const targetsPath = (scope: TargetsScope): string =>
  scope === null ? "/targets" : `/targets?${new URLSearchParams({ account: scope }).toString()}`;

/** The concentration limit and the VaR budget are the portfolio's only: an account's
 * body leaves them out. */
export function scopedBody(body: TargetsPut, scope: TargetsScope): TargetsPut {
  if (scope === null) return body;
  const own = { ...body };
  delete own.concentration_limit;
  delete own.var_budget;
  return own;
}

/** The targets as a scope has them: an account's without the portfolio-only limits. */
export const scopedTargets = (t: Targets, scope: TargetsScope): Targets =>
  scope === null ? t : { ...t, concentration_limit: "", var_budget: "" };

/** Whether weights are set (the server answers empty weights when none are). */
export const hasTargets = (t: Targets | undefined | null): boolean => Object.keys(t?.weights ?? {}).length > 0;

/** Whether anything is rebalanced: the portfolio or some account has targets. */
export const anyTargets = (portfolio: Targets | undefined | null): boolean =>
  hasTargets(portfolio) || (portfolio?.accounts_with_targets?.length ?? 0) > 0;

/** The chosen scope while its account exists (or the accounts are still loading); the
 * portfolio once the account is gone (renamed or removed). */
export function validScope(scope: TargetsScope, accounts: readonly { name: string }[] | undefined): TargetsScope {
  if (scope === null || accounts === undefined) return scope;
  return accounts.some((a) => a.name === scope) ? scope : null;
}

/** "IRA", "IRA and Roth", "IRA, Roth and 401k". */
export function listText(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? "";
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** The line saying which accounts have targets of their own; null when none has. */
export function ownTargetsLine(accounts: readonly string[] | undefined): string | null {
  if (!accounts?.length) return null;
  const [has, own] = accounts.length === 1 ? ["has", "its"] : ["have", "their"];
  const are = accounts.length === 1 ? "it is" : "they are";
  return (
    `${listText(accounts)} ${has} targets of ${own} own: ${are} rebalanced on ${own} own, ` +
    "and the portfolio's targets apply to the other accounts."
  );
}

/** What the editor says of an account without targets of its own. */
export const followsText = (account: string): string =>
  `${account} follows the portfolio's targets; set targets here to rebalance it on its own.`;

/** The asset classes a target can name (lower case); any other key is a symbol. */
export const ASSET_CLASSES = ["etf", "stock", "bond", "fund", "crypto", "other"] as const;

export interface WeightRow {
  id: number;
  key: string;
  /** The weight as the user types it, in percent. */
  percent: string;
}

export interface TargetsForm {
  rows: WeightRow[];
  band: string;
  min_trade: string;
  cash_flow: string;
  concentration_limit: string;
  var_budget: string;
}

/** Field names whose errors the form shows: the options, `weights` for the sum, and
 * `key-<id>` / `weight-<id>` for a row. */
export type TargetErrors = Record<string, string>;

const percentOf = (fraction: string | undefined | null): string =>
  fraction === undefined || fraction === null || fraction === "" ? "" : fractionToPercent(fraction);

export function blankRow(rows: WeightRow[]): WeightRow {
  return { id: Math.max(0, ...rows.map((r) => r.id)) + 1, key: "", percent: "" };
}

/** The form of the saved targets (one empty row when none are set). */
export function targetsForm(saved: Targets | undefined): TargetsForm {
  const rows = Object.entries(saved?.weights ?? {}).map(([key, weight], i) => ({
    id: i + 1,
    key,
    percent: percentOf(weight),
  }));
  return {
    rows: rows.length ? rows : [{ id: 1, key: "", percent: "" }],
    band: percentOf(saved?.band),
    min_trade: saved?.min_trade ?? "",
    cash_flow: saved?.cash_flow ?? "",
    concentration_limit: percentOf(saved?.concentration_limit),
    var_budget: percentOf(saved?.var_budget),
  };
}

/** "class" for a key the server takes as an asset class (exactly one in lower case),
 * "symbol" for anything else typed, null for an empty key. */
export function keyKind(key: string): "class" | "symbol" | null {
  const k = key.trim();
  if (!k) return null;
  return (ASSET_CLASSES as readonly string[]).includes(k) ? "class" : "symbol";
}

function scaled(text: string): [bigint, number] {
  const negative = text.startsWith("-");
  const [whole = "0", fraction = ""] = (negative ? text.slice(1) : text).split(".");
  const value = BigInt(`${whole}${fraction}` || "0");
  return [negative ? -value : value, fraction.length];
}

/** The exact sum of canonical decimal strings ("60", "30.5", "-1"): no float error. */
export function sumDecimals(values: string[]): string {
  const parts = values.map(scaled);
  const scale = Math.max(0, ...parts.map(([, s]) => s));
  let total = 0n;
  for (const [value, s] of parts) total += value * 10n ** BigInt(scale - s);
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, "0");
  const head = digits.slice(0, digits.length - scale);
  const tail = digits.slice(digits.length - scale).replace(/0+$/, "");
  return `${negative ? "-" : ""}${head}${tail ? `.${tail}` : ""}`;
}

/** The sum of the rows' weights that are numbers, in percent ("100"); null when none is. */
export function weightSum(rows: WeightRow[], locale?: string): string | null {
  const parsed = rows
    .map((r) => (r.percent.trim() ? parseUserNumber(r.percent.trim().replace(/%$/, ""), locale) : null))
    .filter((p): p is string => p !== null);
  return parsed.length ? sumDecimals(parsed) : null;
}

export interface TargetsCheck {
  /** The PUT /targets body, or null while something is wrong. */
  body: TargetsPut | null;
  errors: TargetErrors;
}

const LIMITS: { field: "band" | "concentration_limit" | "var_budget"; what: string; min: number; max: number }[] = [
  { field: "band", what: "The band", min: 0, max: 100 },
  { field: "concentration_limit", what: "The concentration limit", min: 0, max: 100 },
  { field: "var_budget", what: "The VaR budget", min: 0, max: 100 },
];

/** The PUT /targets body of the form. An option left empty is left to the server's
 * default; a key that is an asset class goes as typed (lower case), a symbol in upper
 * case. The weights must be numbers of 0 to 100% that add up to exactly 100%. */
export function targetsBody(form: TargetsForm, locale?: string): TargetsCheck {
  const errors: TargetErrors = {};
  const weights: Record<string, string> = {};
  const seen = new Set<string>();
  const used = form.rows.filter((r) => r.key.trim() || r.percent.trim());
  if (used.length === 0) errors.weights = "Give at least one asset class or symbol a weight.";
  for (const row of used) {
    const kind = keyKind(row.key);
    const key = kind === "class" ? row.key.trim() : row.key.trim().toUpperCase();
    if (kind === null) errors[`key-${row.id}`] = "Name an asset class or a symbol.";
    else if (key.toLowerCase() === "cash") errors[`key-${row.id}`] = "Cash is not a target: the cash in the accounts is what gets invested.";
    else if (seen.has(key)) errors[`key-${row.id}`] = `${key} is given twice.`;
    const fraction = percentToFraction(row.percent, locale);
    if (fraction === null) errors[`weight-${row.id}`] = "Enter the weight in percent, such as 60.";
    else if (Number(fraction) < 0 || Number(fraction) > 1) errors[`weight-${row.id}`] = "A weight is between 0 and 100%.";
    if (kind !== null && fraction !== null && !seen.has(key)) weights[key] = fraction;
    if (kind !== null) seen.add(key);
  }
  const sum = weightSum(used, locale);
  if (used.length > 0 && sum !== null && sum !== "100" && !Object.keys(errors).some((k) => k.startsWith("weight-"))) {
    errors.weights = `The weights add up to ${sum}%: they must add up to exactly 100%.`;
  }
  const body: TargetsPut = { weights };
  for (const { field, what, min, max } of LIMITS) {
    const text = form[field].trim();
    if (!text) continue;
    const fraction = percentToFraction(text, locale);
    if (fraction === null) errors[field] = `${what} is a percent, such as 5.`;
    else if (Number(fraction) * 100 < min || Number(fraction) * 100 > max) errors[field] = `${what} is between ${min} and ${max}%.`;
    else body[field] = fraction;
  }
  const minTrade = form.min_trade.trim();
  if (minTrade) {
    const value = parseUserNumber(minTrade, locale);
    if (value === null || Number(value) < 0) errors.min_trade = "The minimum trade is an amount of money of 0 or more.";
    else body.min_trade = value;
  }
  const cash = form.cash_flow.trim();
  if (cash) {
    const value = parseUserNumber(cash, locale);
    if (value === null) errors.cash_flow = "The cash is an amount of money: + to invest, - to withdraw.";
    else body.cash_flow = value;
  }
  return { body: Object.keys(errors).length ? null : body, errors };
}

/** The decimals a fraction needs as a percent (up to 2): "0.6" → 0, "0.075" → 1. */
export const percentDigits = (fraction: string): number =>
  Math.min(2, (fractionToPercent(fraction).split(".")[1] ?? "").length);

/** One line of the saved targets for the collapsed editor:
 * "etf 60% · bond 30% · AAPL 10%; band ±5%, trades of $50 or more, ...". */
export function targetsSummary(
  t: Targets,
  money: (value: string) => string,
  percent: (fraction: string) => string,
): string {
  const weights = Object.entries(t.weights)
    .map(([key, w]) => `${key} ${percent(w)}`)
    .join(" · ");
  const options = [
    t.band ? `band ±${percent(t.band)}` : null,
    t.min_trade ? `trades of ${money(t.min_trade)} or more` : null,
    t.cash_flow && Number(t.cash_flow) !== 0
      ? Number(t.cash_flow) > 0
        ? `${money(t.cash_flow)} to invest`
        : `${money(t.cash_flow.replace(/^-/, ""))} to withdraw`
      : null,
    t.concentration_limit ? `concentration limit ${percent(t.concentration_limit)}` : null,
    t.var_budget ? `VaR budget ${percent(t.var_budget)}` : null,
  ].filter((o): o is string => o !== null);
  return options.length ? `${weights}; ${options.join(", ")}` : weights;
}
