import { describe, expect, it } from "vitest";
import { direction, formatMoney, formatNumber, formatPercent, parseUserNumber } from "./format";

describe("formatMoney", () => {
  it("shows money in the user's locale and currency", () => {
    expect(formatMoney("124867.82", "USD", "en-US")).toBe("$124,867.82");
    expect(formatMoney("1234.5", "EUR", "de-DE")).toBe("1.234,50\u00a0€");
  });
  it("shows a missing value as a dash, never as zero", () => {
    expect(formatMoney(null, "USD", "en-US")).toBe("—");
    expect(formatMoney("", "USD", "en-US")).toBe("—");
  });
  it("falls back to the code for a currency Intl does not know", () => {
    expect(formatMoney("10", "USDT", "en-US")).toBe("10.00 USDT");
  });
});

describe("formatPercent and formatNumber", () => {
  it("formats fractions as percentages, signed on request", () => {
    expect(formatPercent(0.1234, "en-US")).toBe("12.34%");
    expect(formatPercent(0.012, "en-US", 2, true)).toBe("+1.20%");
    expect(formatPercent(null, "en-US")).toBe("—");
  });
  it("keeps up to eight decimals of a quantity", () => {
    expect(formatNumber("0.04000000", "en-US")).toBe("0.04");
    expect(formatNumber("1234.123456789", "en-US")).toBe("1,234.12345679");
  });
});

describe("parseUserNumber", () => {
  it("reads what people type and paste from spreadsheets", () => {
    expect(parseUserNumber("1,234.5", "en-US")).toBe("1234.5");
    expect(parseUserNumber("$1,234", "en-US")).toBe("1234");
    expect(parseUserNumber("(12.50)", "en-US")).toBe("-12.50");
    expect(parseUserNumber(" 7 ", "en-US")).toBe("7");
    expect(parseUserNumber(".5", "en-US")).toBe("0.5");
  });
  it("reads decimal commas in a decimal-comma locale", () => {
    expect(parseUserNumber("1.234,5", "de-DE")).toBe("1234.5");
    expect(parseUserNumber("12,5", "de-DE")).toBe("12.5");
  });
  it("refuses what is not a number instead of guessing", () => {
    expect(parseUserNumber("abc", "en-US")).toBeNull();
    expect(parseUserNumber("1.2.3", "en-US")).toBeNull();
    expect(parseUserNumber("", "en-US")).toBeNull();
  });
});

describe("direction", () => {
  it("says which way a change went", () => {
    expect(direction("-3.2")).toBe("down");
    expect(direction(0.1)).toBe("up");
    expect(direction(null)).toBe("flat");
  });
});
