/**
 * The settings page's pure logic: the API's shapes, the risk-free rate shown as a percent
 * (the API takes a fraction per year), the write-only keys' status line, the PATCH body
 * of what changed, an account's taxes choice and the POST/PATCH bodies it makes, and a
 * 422 problem's errors by field.
 */
import { ApiError } from "../../api/client";
import type { components } from "../../api/schema";
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
  /** Effective: as the owner said, or by the kind (retirement is not) when unsaid. */
  taxable: boolean;
}

/** The account kinds the API takes (AccountKindText in api/schemas.py). */
export const ACCOUNT_KINDS = ["brokerage", "exchange", "wallet", "retirement", "manual"] as const;
type AccountKind = (typeof ACCOUNT_KINDS)[number];

export type NewAccountBody = components["schemas"]["AccountIn"];
export type AccountPatchBody = components["schemas"]["AccountPatch"];

/** What the taxes select offers: leave it to the kind, or say it. */
export type TaxChoice = "kind" | "taxable" | "advantaged";

export const TAX_CHOICES: readonly { value: TaxChoice; label: string }[] = [
  { value: "kind", label: "By kind" },
  { value: "taxable", label: "Taxable" },
  { value: "advantaged", label: "Tax-advantaged" },
];

/** The Taxes column: the account's effective treatment. */
export const taxesText = (taxable: boolean): string => (taxable ? "taxable" : "tax-advantaged");

/** The choice that shows an account's effective treatment (the API does not say whether
 * it was set or came from the kind, so never "kind"). */
export const taxChoiceOf = (taxable: boolean): TaxChoice => (taxable ? "taxable" : "advantaged");

/** The API's `taxable` for a choice: null leaves it to the kind. */
export function taxableOf(choice: TaxChoice): boolean | null {
  return choice === "kind" ? null : choice === "taxable";
}

/** The add-account form. */
export interface AccountDraft {
  name: string;
  kind: string;
  institution: string;
  currency: string;
  taxes: TaxChoice;
}

export const EMPTY_ACCOUNT: AccountDraft = { name: "", kind: "brokerage", institution: "", currency: "USD", taxes: "kind" };

/** The POST /accounts body of the add-account form ("By kind" sends null). */
export function newAccountBody(draft: AccountDraft): NewAccountBody {
  return {
    name: draft.name.trim(),
    kind: draft.kind as AccountKind,
    institution: draft.institution.trim() || null,
    currency: draft.currency.trim().toUpperCase(),
    taxable: taxableOf(draft.taxes),
  };
}

/** An account row being edited. */
export interface AccountEdit {
  name: string;
  kind: string;
  institution: string;
  taxes: TaxChoice;
}

/** The edit row of an account: its taxes select starts at the effective treatment. */
export function accountEditOf(account: Account): AccountEdit {
  return { name: account.name, kind: account.kind, institution: account.institution ?? "", taxes: taxChoiceOf(account.taxable) };
}

/** The PATCH /accounts/{id} body of an edited row. `taxable` is sent only when the taxes
 * select or the kind changed: left alone, the account keeps what it had (set, or by kind),
 * which is the treatment the select showed. With a changed kind, the shown choice is sent
 * as is, so what the row showed on Save is what it is; "By kind" sends null. */
export function accountPatch(account: Account, edit: AccountEdit): AccountPatchBody {
  const body: AccountPatchBody = {
    name: edit.name.trim(),
    kind: edit.kind as AccountKind,
    institution: edit.institution.trim() || null,
  };
  if (edit.taxes !== taxChoiceOf(account.taxable) || edit.kind !== account.kind) body.taxable = taxableOf(edit.taxes);
  return body;
}

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
