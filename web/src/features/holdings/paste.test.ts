import { describe, expect, it } from "vitest";
import { parseClipboard, planPaste, type PasteTarget } from "./paste";

describe("parsing a copied block", () => {
  it("splits lines and tab-separated cells, Windows line ends and a trailing newline", () => {
    expect(parseClipboard("1\t2\r\n3\t4\r\n")).toEqual([
      ["1", "2"],
      ["3", "4"],
    ]);
    expect(parseClipboard("5")).toEqual([["5"]]);
  });

  it("reads quoted cells with tabs, newlines and doubled quotes", () => {
    expect(parseClipboard('"1,234"\t"a\tb"\n"x""y"\n')).toEqual([["1,234", "a\tb"], ['x"y']]);
  });
});

describe("planning a paste", () => {
  const target: PasteTarget = {
    columns: [
      { colId: "symbol", label: "Symbol" },
      { colId: "quantity", label: "Quantity" },
      { colId: "price", label: "Price" },
      { colId: "cost_basis", label: "Cost basis" },
    ],
    rows: [
      { rowId: "a", label: "AAPL", editable: ["quantity", "cost_basis"] },
      { rowId: "b", label: "BND", editable: ["quantity", "cost_basis"] },
      { rowId: "c", label: "USD", editable: [] },
    ],
    startRow: 0,
    startColumn: 1,
  };

  it("lands on the focused cell and those right and below, editable ones only", () => {
    const plan = planPaste(parseClipboard("1,000\t99\t$2,500.50\n(3)\t1\t7\n4\n5\n"), target, "en-US");
    expect(plan.cells).toEqual([
      { rowId: "a", field: "quantity", value: "1000" },
      { rowId: "a", field: "cost_basis", value: "2500.50" },
      { rowId: "b", field: "cost_basis", value: "7" },
    ]);
    expect(plan.refused).toEqual(["BND Quantity: a quantity cannot be negative ((3))"]);
    // the price column, the uneditable cash row and the line past the last row
    expect(plan.skipped).toBe(4);
  });

  it("refuses a cell that is not a number, naming it", () => {
    const plan = planPaste([["12abc"]], target, "en-US");
    expect(plan.cells).toEqual([]);
    expect(plan.refused).toEqual(['AAPL Quantity: "12abc" is not a number']);
  });

  it("reads decimal commas in a decimal-comma locale", () => {
    expect(planPaste([["1.234,5"]], target, "de-DE").cells).toEqual([{ rowId: "a", field: "quantity", value: "1234.5" }]);
  });
});
