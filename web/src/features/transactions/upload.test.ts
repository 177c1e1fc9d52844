import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { confidenceText, formatColumns, importSummary, linesText, readUploadFailure, type ImportReport } from "./upload";

const report = {
  file: "bad.csv", format: "generic-trades", rows: 3, added: 0, duplicates: 0, duplicates_from_other_source: 0, adjustments: 0, dry_run: true,
  issue_count: 2, issues: [], preview: [], confidence: 1, encoding: "utf-8", skipped: [], to_resolve: [],
} as unknown as ImportReport;

describe("readUploadFailure", () => {
  it("keeps every row error and the report of an invalid-rows problem", () => {
    const errors = [
      { field: "file line 3, column quantity", message: "not a number: 'x'" },
      { field: "file line 4, column date", message: "not a date: '2026-13-04'" },
    ];
    const error = new ApiError(422, "urn:quantdesk:problem:invalid-rows", "2 problem(s) in bad.csv", errors, {
      errors,
      report,
    });
    const failure = readUploadFailure(error);
    expect(failure.kind).toBe("rows");
    if (failure.kind !== "rows") return;
    expect(failure.errors).toEqual(errors);
    expect(failure.issueCount).toBe(2);
    expect(failure.report?.format).toBe("generic-trades");
  });
  it("says a too large file and an unreadable file in plain words", () => {
    const big = readUploadFailure(new ApiError(413, "urn:quantdesk:problem:payload-too-large", "over 25 MB", [], null));
    expect(big).toEqual({ kind: "message", title: "The file is too large", text: "over 25 MB" });
    const unknown = readUploadFailure(
      new ApiError(422, "urn:quantdesk:problem:invalid-input", "unrecognized file: closest schwab", [], null),
    );
    expect(unknown).toMatchObject({ title: "quantdesk cannot read this file", text: "unrecognized file: closest schwab" });
  });
  it("names the fields of any other problem", () => {
    const other = readUploadFailure(
      new ApiError(422, "urn:quantdesk:problem:validation-error", "invalid request", [{ field: "body.file", message: "required" }], null),
    );
    expect(other).toMatchObject({ kind: "message", text: "invalid request (body.file: required)" });
  });
});

describe("the words of a report", () => {
  it("says what an import added or would add", () => {
    expect(importSummary({ ...report, dry_run: false, added: 2, duplicates: 1 })).toBe("Added 2, duplicates 1.");
    expect(importSummary({ ...report, added: 2 })).toBe("Would add 2, duplicates 0.");
    expect(importSummary({ ...report, dry_run: false, duplicates: 3, duplicates_from_other_source: 2 })).toBe(
      "Added 0, duplicates 3 (2 synced by the account's connection).",
    );
  });
  it("shows confidence as a percentage and lists lines briefly", () => {
    expect(confidenceText(0.875)).toBe("88%");
    expect(confidenceText(null)).toBe("not measured");
    expect(linesText([4])).toBe("line 4");
    expect(linesText([1, 2, 3, 4], 2)).toBe("lines 1, 2 and 2 more");
  });
  it("shows the header a format expects and how many variants it also reads", () => {
    expect(
      formatColumns({ name: "x", title: "X", kind: "csv", columns: [], layouts: [["Date", "Symbol"], ["Datum", "Symbol"]] }),
    ).toEqual({ columns: "Date, Symbol", variants: 1 });
    expect(formatColumns({ name: "ofx", title: "OFX", kind: "ofx", columns: [], layouts: [] }).columns).toBe(
      "OFX document",
    );
  });
});
