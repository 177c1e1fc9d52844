import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import {
  EMPTY_ACCOUNT,
  TAX_CHOICES,
  accountEditOf,
  accountPatch,
  errorsByField,
  formOf,
  fractionToPercent,
  keyStatus,
  newAccountBody,
  percentToFraction,
  settingsPatch,
  shiftDecimal,
  taxChoiceOf,
  taxableOf,
  taxesText,
  type Account,
  type Settings,
} from "./settings";

const SAVED: Settings = {
  base_currency: "USD",
  benchmark: "SPY",
  risk_free: "0.04",
  provider_keys: {
    alpha_vantage: { set: true, last4: "1234" },
    coingecko: { set: false, last4: null },
  },
};

describe("the risk-free rate as a percent", () => {
  it("shows the API's fraction as a percent, exactly", () => {
    expect(fractionToPercent("0.04")).toBe("4");
    expect(fractionToPercent("0.0325")).toBe("3.25");
    expect(fractionToPercent("-0.005")).toBe("-0.5");
    expect(fractionToPercent("0.5")).toBe("50");
    expect(fractionToPercent("0")).toBe("0");
  });
  it("turns a typed percent into the fraction the API takes", () => {
    expect(percentToFraction("4.25", "en-US")).toBe("0.0425");
    expect(percentToFraction("4,25", "de-DE")).toBe("0.0425");
    expect(percentToFraction("80%", "en-US")).toBe("0.8");
    expect(percentToFraction("-0.5", "en-US")).toBe("-0.005");
    expect(percentToFraction("0.1", "en-US")).toBe("0.001");
  });
  it("refuses what is not a number rather than guessing", () => {
    expect(percentToFraction("four", "en-US")).toBeNull();
    expect(percentToFraction("", "en-US")).toBeNull();
  });
  it("moves the decimal point either way without float error", () => {
    expect(shiftDecimal("0.07", 2)).toBe("7");
    expect(shiftDecimal("7", -2)).toBe("0.07");
    expect(shiftDecimal("12.345", -3)).toBe("0.012345");
    expect(shiftDecimal("-0", 2)).toBe("0");
  });
});

describe("provider keys", () => {
  it("says whether a key is set and only its last 4 characters", () => {
    expect(keyStatus({ set: true, last4: "1234" })).toBe("set, ends in 1234");
    expect(keyStatus({ set: false, last4: null })).toBe("not set");
  });
});

describe("the PATCH body", () => {
  it("sends nothing when nothing changed", () => {
    expect(settingsPatch(formOf(SAVED), SAVED, "en-US")).toEqual({ body: {}, errors: {} });
  });
  it("sends only the changed fields, upper-cased, with the rate as a fraction", () => {
    const form = { ...formOf(SAVED), benchmark: " qqq ", risk_free_percent: "3.5" };
    expect(settingsPatch(form, SAVED, "en-US").body).toEqual({ benchmark: "QQQ", risk_free: "0.035" });
  });
  it("sends a newly typed key, and null for one the user cleared", () => {
    const form = formOf(SAVED);
    form.keys.coingecko_key = " CG-abc12345 ";
    form.cleared.alpha_vantage_key = true;
    expect(settingsPatch(form, SAVED, "en-US").body).toEqual({
      coingecko_key: "CG-abc12345",
      alpha_vantage_key: null,
    });
  });
  it("flags a rate that is not a number next to its field without sending it", () => {
    const patch = settingsPatch({ ...formOf(SAVED), risk_free_percent: "lots" }, SAVED, "en-US");
    expect(patch.body).toEqual({});
    expect(Object.keys(patch.errors)).toEqual(["risk_free"]);
  });
});

describe("errors by field", () => {
  it("maps a 422 problem's errors to the form's fields", () => {
    const error = new ApiError(422, "urn:quantdesk:problem:invalid-input", "bad", [
      { field: "body.risk_free", message: "too high" },
      { field: "body.base_currency", message: "not ISO" },
    ], null);
    expect(errorsByField(error)).toEqual({ risk_free: "too high", base_currency: "not ISO" });
  });
  it("leaves a problem without field errors to the error banner", () => {
    expect(errorsByField(new ApiError(409, "conflict", "in use", [], null))).toBeNull();
    expect(errorsByField(new Error("network"))).toBeNull();
  });
});

const FIDELITY: Account = { id: 3, name: "Fidelity", kind: "brokerage", institution: "Fidelity", currency: "USD", taxable: true };

describe("an account's taxes", () => {
  it("offers by kind, taxable and tax-advantaged, in that order", () => {
    expect(TAX_CHOICES.map((c) => c.label)).toEqual(["By kind", "Taxable", "Tax-advantaged"]);
  });
  it("sends null for by kind, true or false for a choice the user made", () => {
    expect(taxableOf("kind")).toBeNull();
    expect(taxableOf("taxable")).toBe(true);
    expect(taxableOf("advantaged")).toBe(false);
  });
  it("shows the effective treatment, in the column and as the edit row's choice", () => {
    expect(taxesText(true)).toBe("taxable");
    expect(taxesText(false)).toBe("tax-advantaged");
    expect(taxChoiceOf(true)).toBe("taxable");
    expect(taxChoiceOf(false)).toBe("advantaged");
    expect(accountEditOf(FIDELITY)).toEqual({ name: "Fidelity", kind: "brokerage", institution: "Fidelity", taxes: "taxable" });
    expect(accountEditOf({ ...FIDELITY, institution: null, taxable: false }).institution).toBe("");
  });
});

describe("the new account's POST body", () => {
  it("leaves the taxes to the kind by default", () => {
    expect(newAccountBody({ ...EMPTY_ACCOUNT, name: " HSA ", currency: "usd " })).toEqual({
      name: "HSA",
      kind: "brokerage",
      institution: null,
      currency: "USD",
      taxable: null,
    });
  });
  it("sends the taxes the user chose", () => {
    expect(newAccountBody({ ...EMPTY_ACCOUNT, name: "HSA", taxes: "advantaged" }).taxable).toBe(false);
    expect(newAccountBody({ ...EMPTY_ACCOUNT, name: "IRA", kind: "retirement", taxes: "taxable" }).taxable).toBe(true);
  });
});

describe("the account's PATCH body", () => {
  it("leaves the taxes alone when neither they nor the kind changed", () => {
    const body = accountPatch(FIDELITY, { ...accountEditOf(FIDELITY), name: " Fidelity main " });
    expect(body).toEqual({ name: "Fidelity main", kind: "brokerage", institution: "Fidelity" });
    expect("taxable" in body).toBe(false);
  });
  it("sends the chosen taxes: false for tax-advantaged, null for by kind", () => {
    expect(accountPatch(FIDELITY, { ...accountEditOf(FIDELITY), taxes: "advantaged" }).taxable).toBe(false);
    expect(accountPatch(FIDELITY, { ...accountEditOf(FIDELITY), taxes: "kind" })).toHaveProperty("taxable", null);
    const advantaged = { ...FIDELITY, taxable: false };
    expect(accountPatch(advantaged, { ...accountEditOf(advantaged), taxes: "kind" })).toHaveProperty("taxable", null);
    expect(accountPatch(advantaged, { ...accountEditOf(advantaged), taxes: "taxable" }).taxable).toBe(true);
  });
  it("with a changed kind, sends the choice the row showed on Save", () => {
    const edit = { ...accountEditOf(FIDELITY), kind: "retirement" };
    expect(accountPatch(FIDELITY, edit).taxable).toBe(true);
    expect(accountPatch(FIDELITY, { ...edit, taxes: "kind" })).toHaveProperty("taxable", null);
  });
});
