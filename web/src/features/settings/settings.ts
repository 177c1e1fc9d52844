/**
 * The settings page's pure logic: the API's shapes, the risk-free rate shown as a percent
 * (the API takes a fraction per year), the write-only keys' status line, the PATCH body
 * of what changed, and a 422 problem's errors by field.
 */
import { ApiError } from "../../api/client";
import { parseUserNumber } from "../../format/format";

export interface KeyState {
  set: boolean;
  last4: string | null;
}

export interface Settings {
  base_currency: string;
  benchmark: string;
  /** A fraction per year, as a decimal string: "0.04" is 4%. */
  risk_free: string;
  provider_keys: { alpha_vantage: KeyState; coingecko: KeyState };
}

export const KEY_FIELDS = [
  { field: "alpha_vantage_key", provider: "alpha_vantage", label: "Alpha Vantage API key" },
  { field: "coingecko_key", provider: "coingecko", label: "CoinGecko API key (demo or pro)" },
] as const;
export type KeyField = (typeof KEY_FIELDS)[number]["field"];

/** What the form holds: the rate as a percent; a key typed anew, or cleared. */
export interface SettingsForm {
  base_currency: string;
  benchmark: string;
  risk_free_percent: string;
  keys: Record<KeyField, string>;
  cleared: Record<KeyField, boolean>;
}

export interface Account {
  id: number;
  name: string;
  kind: string;
  institution: string | null;
  currency: string;
}

/** The account kinds the API takes (AccountKindText in api/schemas.py). */
export const ACCOUNT_KINDS = ["brokerage", "exchange", "wallet", "retirement", "manual"] as const;

/** Moves the decimal point of a canonical decimal string (`-12.5`) by `places`. */
export function shiftDecimal(text: string, places: number): string {
  const negative = text.startsWith("-");
  const [whole = "0", fraction = ""] = (negative ? text.slice(1) : text).split(".");
  let digits = whole + fraction;
  let point = whole.length + places;
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += "0".repeat(point - digits.length);
  const head = digits.slice(0, point).replace(/^0+(?=\d)/, "") || "0";
  const tail = digits.slice(point).replace(/0+$/, "");
  const result = tail ? `${head}.${tail}` : head;
  return negative && /[1-9]/.test(result) ? `-${result}` : result;
}

/** "0.0325" → "3.25": the rate as the percent the form shows. */
export const fractionToPercent = (fraction: string): string => shiftDecimal(fraction, 2);

/** "3.25" (or "3,25" in a decimal-comma locale, "4%") → "0.0325"; null if not a number. */
export function percentToFraction(percent: string, locale?: string): string | null {
  const parsed = parseUserNumber(percent.trim().replace(/%$/, ""), locale);
  return parsed === null ? null : shiftDecimal(parsed, -2);
}

/** What the page says about a stored key (it never sees the key itself). */
export const keyStatus = (state: KeyState): string =>
  state.set ? `set, ends in ${state.last4 ?? "…"}` : "not set";

export function formOf(settings: Settings): SettingsForm {
  return {
    base_currency: settings.base_currency,
    benchmark: settings.benchmark,
    risk_free_percent: fractionToPercent(settings.risk_free),
    keys: { alpha_vantage_key: "", coingecko_key: "" },
    cleared: { alpha_vantage_key: false, coingecko_key: false },
  };
}

export interface Patch {
  body: Record<string, string | null>;
  /** Errors found before asking the API (a rate that is not a number). */
  errors: Record<string, string>;
}

/** The PATCH /settings body of what the form changed from the saved settings. */
export function settingsPatch(form: SettingsForm, saved: Settings, locale?: string): Patch {
  const body: Record<string, string | null> = {};
  const errors: Record<string, string> = {};
  const currency = form.base_currency.trim().toUpperCase();
  if (currency !== saved.base_currency) body.base_currency = currency;
  const benchmark = form.benchmark.trim().toUpperCase();
  if (benchmark !== saved.benchmark) body.benchmark = benchmark;
  const rate = percentToFraction(form.risk_free_percent, locale);
  if (rate === null) errors.risk_free = "Enter the rate as a percent per year, such as 4.25.";
  else if (rate !== shiftDecimal(saved.risk_free, 0)) body.risk_free = rate;
  for (const { field } of KEY_FIELDS) {
    const typed = form.keys[field].trim();
    if (typed) body[field] = typed;
    else if (form.cleared[field]) body[field] = null;
  }
  return { body, errors };
}

/** A problem's errors by field name without the `body.` prefix; a problem without
 * field errors is null (the page reports it as a whole). */
export function errorsByField(error: unknown): Record<string, string> | null {
  if (!(error instanceof ApiError) || error.errors.length === 0) return null;
  const found: Record<string, string> = {};
  for (const e of error.errors) {
    const name = e.field.replace(/^body\./, "");
    found[name] = found[name] ? `${found[name]} ${e.message}` : e.message;
  }
  return found;
}
