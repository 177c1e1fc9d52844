/**
 * Numbers as the user reads them: in their locale, money in its currency, percentages
 * and ratios with the precision analysts expect. The API sends money as exact decimal
 * strings; they are shown, never used for arithmetic the server does not do.
 */

export const userLocale = (): string =>
  (typeof navigator !== "undefined" && navigator.language) || "en-US";

function toNumber(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined || value === "") return null;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

/** `$124,867.82`; `—` for a missing value (never shown as 0). */
export function formatMoney(
  value: string | number | null | undefined,
  currency: string,
  locale: string = userLocale(),
  digits = 2,
): string {
  const n = toNumber(value);
  if (n === null) return "—";
  try {
    return new Intl.NumberFormat(locale, {
      style: "currency",
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(n);
  } catch {
    // a currency Intl does not know (USDT): the number and the code
    return `${formatNumber(n, locale, digits, digits)} ${currency}`;
  }
}

/** `12.34%` from a fraction (0.1234); a sign when asked (`+1.20%`). */
export function formatPercent(
  value: number | null | undefined,
  locale: string = userLocale(),
  digits = 2,
  signed = false,
): string {
  const n = toNumber(value);
  if (n === null) return "—";
  return new Intl.NumberFormat(locale, {
    style: "percent",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    signDisplay: signed ? "exceptZero" : "auto",
  }).format(n);
}

/** A plain number with grouping: quantities keep up to 8 decimals. */
export function formatNumber(
  value: string | number | null | undefined,
  locale: string = userLocale(),
  maxDigits = 8,
  minDigits = 0,
): string {
  const n = toNumber(value);
  if (n === null) return "—";
  return new Intl.NumberFormat(locale, {
    minimumFractionDigits: minDigits,
    maximumFractionDigits: maxDigits,
  }).format(n);
}

/** A ratio such as Sharpe: two decimals. */
export const formatRatio = (value: number | null | undefined, locale: string = userLocale()): string =>
  formatNumber(value, locale, 2, 2);

/**
 * A number as a user types or pastes it from a spreadsheet: `1,234.5`, `$1,234`, `(12)`,
 * `1.234,5` in a decimal-comma locale, `12 345`. Returns the canonical decimal string
 * the API takes, or null when the text is not a number (never a guess).
 */
export function parseUserNumber(text: string, locale: string = userLocale()): string | null {
  let raw = text.trim().replace(/[\s\u00a0\u202f]/g, "");
  if (!raw) return null;
  let negative = false;
  if (raw.startsWith("(") && raw.endsWith(")")) {
    negative = true;
    raw = raw.slice(1, -1);
  }
  raw = raw.replace(/^[$€£¥]|[$€£¥]$/g, "");
  if (raw.startsWith("-")) {
    negative = !negative;
    raw = raw.slice(1);
  } else if (raw.startsWith("+")) {
    raw = raw.slice(1);
  }
  const decimal = new Intl.NumberFormat(locale).format(1.5).charAt(1);
  const group = decimal === "," ? "." : ",";
  if (decimal === "," && /^\d{1,3}(\.\d{3})*(,\d+)?$|^\d+(,\d+)?$/.test(raw)) {
    raw = raw.replace(/\./g, "").replace(",", ".");
  } else if (new RegExp(`^\\d{1,3}(\\${group}\\d{3})+(\\.\\d+)?$`).test(raw)) {
    raw = raw.split(group).join("");
  }
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(raw)) return null;
  raw = raw.replace(/^0+(?=\d)/, "");
  if (raw.startsWith(".")) raw = `0${raw}`;
  return negative && Number(raw) !== 0 ? `-${raw}` : raw;
}

/** A signed change shown with its direction: a class name for green/red. */
export const direction = (value: number | string | null | undefined): "up" | "down" | "flat" => {
  const n = toNumber(value);
  if (n === null || n === 0) return "flat";
  return n > 0 ? "up" : "down";
};
