import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { conflictMessage, conflictRow, popEdit, pushEdit, UNDO_LIMIT, type Edit } from "./edits";
import { holding } from "./fixtures";

const edit = (after: string, before = "10"): Edit => ({
  rowId: "1-2",
  label: "AAPL (Fidelity)",
  field: "quantity",
  before,
  after,
  hypothetical: false,
});

describe("the undo stack", () => {
  it("undoes the last edit first and ignores edits that change nothing", () => {
    let stack = pushEdit([], edit("11"));
    stack = pushEdit(stack, edit("12", "11"));
    stack = pushEdit(stack, edit("12", "12"));
    expect(stack).toHaveLength(2);
    const { edit: last, rest } = popEdit(stack);
    expect(last?.after).toBe("12");
    expect(rest).toHaveLength(1);
    expect(popEdit([]).edit).toBeUndefined();
  });

  it("keeps only the last UNDO_LIMIT edits", () => {
    let stack: Edit[] = [];
    for (let i = 0; i < UNDO_LIMIT + 5; i++) stack = pushEdit(stack, edit(String(i + 100)));
    expect(stack).toHaveLength(UNDO_LIMIT);
    expect(stack[0]!.after).toBe("105");
  });
});

describe("a stale write", () => {
  const current = holding({ quantity: "31", cost_basis: "1835.51", market_value: "5095.16", symbol: "NVDA" });
  const problem = new ApiError(409, "urn:quantdesk:problem:stale-write", "changed", [], { current });

  it("finds the current row in the problem, and only in a stale-write", () => {
    expect(conflictRow(problem)?.quantity).toBe("31");
    expect(conflictRow(new ApiError(409, "urn:quantdesk:problem:conflict", "x", [], {}))).toBeNull();
    expect(conflictRow(new Error("x"))).toBeNull();
  });

  it("says what was not saved and what the holding is now", () => {
    const text = conflictMessage("quantity", "45", current);
    expect(text).toContain("NVDA (Fidelity) was changed elsewhere");
    expect(text).toContain("your quantity 45 was not saved");
    expect(text).toContain("now 31 units");
    expect(text).toContain("$5,095.16");
  });
});
