/**
 * The holdings page: a spreadsheet of every holding with the risk picture above it.
 * Quantity and cost basis are edited in place (saved at once with optimistic
 * concurrency, undoable, pasteable from a spreadsheet); in what-if mode edits stay
 * hypothetical and the cards show what they would do to the metrics.
 *
 * Grouping (AG Grid's row grouping is Enterprise-only): each group's rows are kept
 * together as a sorted block (the user's sort applies within each block) with a group
 * column pinned left, and the subtotal of each group is a pinned bottom row above the
 * total. Subtotals and total sum the rows the filters let through.
 */
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState, type ClipboardEvent, type ComponentProps, type ElementRef } from "react";
import { get, patch, post } from "../../api/client";
import type { Analytics, HoldingOut, HoldingsOut, WhatIfAnswer } from "../../api/types";
import { useReportError } from "../../components/errors";
import { Grid, type GetRowIdParams } from "../../components/Grid";
import { MetricCards, type WhatIfShown } from "../../components/MetricCards";
import { formatNumber, parseUserNumber } from "../../format/format";
import { buildColumns, cellEditable } from "./columns";
import { conflictMessage, conflictRow, FIELD_LABEL, holdingLabel, popEdit, pushEdit, showValue, type Edit } from "./edits";
import {
  deriveRows,
  keepGroupsTogether,
  rowIdOf,
  summaryRows,
  withField,
  type EditableField,
  type GroupBy,
  type Row,
} from "./model";
import { parseClipboard, planPaste } from "./paste";
import { changesBySymbol, totalValue } from "./whatIf";
import "./holdings.css";

type GridProps = ComponentProps<typeof Grid>;
type GridInstance = ElementRef<typeof Grid>;
type EditRequest = Parameters<NonNullable<GridProps["onCellEditRequest"]>>[0];
type PostSortParams = Parameters<NonNullable<GridProps["postSortRows"]>>[0];
type ModelUpdated = Parameters<NonNullable<GridProps["onModelUpdated"]>>[0];

interface HoldingEdited {
  holding: HoldingOut;
  analytics: Analytics;
}

const REFRESH_MS = 60_000;
/** Columns share the width the screen has beyond their minimum. */
const DEFAULT_COLUMN = { flex: 1 };
const WHAT_IF_DEBOUNCE_MS = 150;
const ANALYTICS_KEY = ["analytics", "holdings-page"] as const;
const holdingsKey = (consolidated: boolean) => ["holdings", { consolidated }] as const;

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

interface Override {
  token: number;
  holding: HoldingOut;
}

let nextToken = 1;

export function HoldingsPage() {
  const report = useReportError();
  const queryClient = useQueryClient();
  const gridRef = useRef<GridInstance>(null);
  const [consolidated, setConsolidated] = useState(false);
  const [groupBy, setGroupBy] = useState<GroupBy>("none");
  const [whatIf, setWhatIf] = useState(false);
  const [hypothetical, setHypothetical] = useState<ReadonlyMap<string, string>>(new Map());
  const [overrides, setOverrides] = useState<ReadonlyMap<string, Override>>(new Map());
  const [pending, setPending] = useState<ReadonlySet<string>>(new Set());
  const [undoStack, setUndoStack] = useState<Edit[]>([]);
  const [editing, setEditing] = useState(false);
  const [status, setStatus] = useState("");
  const [conflict, setConflict] = useState<string | null>(null);
  const [visible, setVisible] = useState<Row[] | null>(null);
  const [lastEditMs, setLastEditMs] = useState<number | null>(null);
  const [savingWhatIf, setSavingWhatIf] = useState(false);
  const chains = useRef(new Map<string, Promise<unknown>>());

  const paused = editing || hypothetical.size > 0 || pending.size > 0;
  const key = holdingsKey(consolidated);
  const holdingsQuery = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => get<HoldingsOut>("/holdings", { consolidated }, signal),
    refetchInterval: paused ? false : REFRESH_MS,
    placeholderData: keepPreviousData,
  });
  const analyticsQuery = useQuery({
    queryKey: ANALYTICS_KEY,
    queryFn: ({ signal }) => get<Analytics>("/analytics", undefined, signal),
    refetchInterval: paused ? false : REFRESH_MS,
  });
  useEffect(() => {
    if (holdingsQuery.error) report(holdingsQuery.error, "Loading the holdings");
  }, [holdingsQuery.error, report]);
  useEffect(() => {
    if (analyticsQuery.error) report(analyticsQuery.error, "Loading the metrics");
  }, [analyticsQuery.error, report]);

  const data = holdingsQuery.data;
  const base = data?.total_in_base.currency ?? "USD";
  const rates = data?.total_in_base.rates ?? {};
  const asOf = data?.as_of ?? "";
  const overrideHoldings = useMemo(
    () => new Map([...overrides].map(([id, o]) => [id, o.holding] as const)),
    [overrides],
  );
  const rows = useMemo(() => {
    if (!data) return [];
    const derived = deriveRows({
      holdings: data.holdings,
      asOf: data.as_of,
      base: data.total_in_base.currency,
      rates: data.total_in_base.rates,
      groupBy,
      overrides: overrideHoldings,
      hypothetical,
      pending,
    });
    return groupBy === "none" ? derived : keepGroupsTogether(derived, (r) => r.group);
  }, [data, groupBy, overrideHoldings, hypothetical, pending]);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const summaries = useMemo(() => summaryRows(visible ?? rows, groupBy, base, rates), [visible, rows, groupBy, base, rates]);

  // --- saving edits -------------------------------------------------------------------

  const holdingNow = useCallback(
    (rowId: string): HoldingOut | undefined =>
      queryClient.getQueryData<HoldingsOut>(holdingsKey(false))?.holdings.find((h) => rowIdOf(h) === rowId),
    [queryClient],
  );

  const replaceHolding = useCallback(
    (holding: HoldingOut) => {
      queryClient.setQueryData<HoldingsOut>(holdingsKey(false), (old) =>
        old ? { ...old, holdings: old.holdings.map((h) => (rowIdOf(h) === rowIdOf(holding) ? holding : h)) } : old,
      );
    },
    [queryClient],
  );

  const dropOverride = (rowId: string, token: number) =>
    setOverrides((map) => {
      if (map.get(rowId)?.token !== token) return map;
      const next = new Map(map);
      next.delete(rowId);
      return next;
    });

  /** Save one field of one holding: shown at once, sent after any earlier save of the
   * same row (each names the version the previous one produced), rolled back if refused. */
  const save = useCallback(
    (rowId: string, field: EditableField, value: string, record: boolean): Promise<boolean> => {
      const shown = rowsRef.current.find((r) => r.rowId === rowId);
      const token = nextToken++;
      const started = performance.now();
      if (shown) setOverrides((map) => new Map(map).set(rowId, { token, holding: withField(shown, field, value) }));
      setPending((set) => new Set(set).add(rowId));
      const run = async (): Promise<boolean> => {
        const now = holdingNow(rowId);
        if (!now || !now.id) {
          dropOverride(rowId, token);
          report(new Error("This holding is no longer in the list; reload the page."), "Saving an edit");
          return false;
        }
        const before = now[field] ?? "0";
        try {
          const answer = await patch<HoldingEdited>(
            `/holdings/${encodeURIComponent(now.id)}`,
            { [field]: value },
            { "If-Match": `"${now.version}"` },
          );
          replaceHolding(answer.holding);
          queryClient.setQueryData(ANALYTICS_KEY, answer.analytics);
          dropOverride(rowId, token);
          if (record) {
            setUndoStack((stack) =>
              pushEdit(stack, { rowId, label: holdingLabel(now), field, before, after: value, hypothetical: false }),
            );
          }
          requestAnimationFrame(() => setLastEditMs(Math.round(performance.now() - started)));
          setStatus(
            `Saved ${holdingLabel(now)} ${FIELD_LABEL[field]}: ${showValue(field, before, now.currency)} → ${showValue(field, value, now.currency)}.`,
          );
          void queryClient.invalidateQueries({ queryKey: ["holdings"] });
          void queryClient.invalidateQueries({ queryKey: ["analytics"] });
          return true;
        } catch (error) {
          dropOverride(rowId, token);
          const current = conflictRow(error);
          if (current) {
            replaceHolding(current);
            setConflict(conflictMessage(field, value, current));
            void queryClient.invalidateQueries({ queryKey: ["holdings"] });
            void queryClient.invalidateQueries({ queryKey: ["analytics"] });
          } else {
            report(error, `Saving the ${FIELD_LABEL[field]} of ${holdingLabel(now)} (rolled back)`);
          }
          return false;
        } finally {
          setPending((set) => {
            const next = new Set(set);
            next.delete(rowId);
            return next;
          });
        }
      };
      const chained = (chains.current.get(rowId) ?? Promise.resolve()).then(run);
      chains.current.set(rowId, chained);
      return chained;
    },
    [holdingNow, queryClient, replaceHolding, report],
  );

  const setHypotheticalQuantity = useCallback((rowId: string, quantity: string) => {
    const real = holdingNow(rowId)?.quantity;
    setHypothetical((map) => {
      const next = new Map(map);
      if (real !== undefined && Number(real) === Number(quantity)) next.delete(rowId);
      else next.set(rowId, quantity);
      return next;
    });
  }, [holdingNow]);

  /** An edit from the grid, a paste or an undo: hypothetical in what-if mode, saved otherwise. */
  const applyEdit = useCallback(
    (row: Row, field: EditableField, value: string) => {
      if (whatIf) {
        const before = row.quantity;
        setHypotheticalQuantity(row.rowId, value);
        setUndoStack((stack) =>
          pushEdit(stack, { rowId: row.rowId, label: holdingLabel(row), field, before, after: value, hypothetical: true }),
        );
        setStatus(`What-if: ${holdingLabel(row)} quantity ${formatNumber(before)} → ${formatNumber(value)} (not saved).`);
        return;
      }
      void save(row.rowId, field, value, true);
    },
    [save, setHypotheticalQuantity, whatIf],
  );

  const onCellEditRequest = useCallback(
    (event: EditRequest) => {
      const row = event.data as Row | undefined;
      const field = event.colDef.colId as EditableField;
      if (!row || !cellEditable(row, field, whatIf)) return;
      const text = String(event.newValue ?? "");
      const value = parseUserNumber(text);
      if (value === null) {
        report(new Error(`"${text}" is not a number; nothing was changed.`), `Editing the ${FIELD_LABEL[field]} of ${holdingLabel(row)}`);
        return;
      }
      if (field === "quantity" && value.startsWith("-")) {
        report(new Error("a quantity cannot be negative; nothing was changed."), `Editing the quantity of ${holdingLabel(row)}`);
        return;
      }
      if (Number(value) === Number(row[field])) return;
      setConflict(null);
      applyEdit(row, field, value);
    },
    [applyEdit, report, whatIf],
  );

  // --- undo ---------------------------------------------------------------------------

  const undo = useCallback(() => {
    const { edit, rest } = popEdit(undoStack);
    if (!edit) return;
    setUndoStack(rest);
    if (edit.hypothetical) {
      setHypotheticalQuantity(edit.rowId, edit.before);
      setStatus(`Undone: what-if ${edit.label} quantity back to ${formatNumber(edit.before)}.`);
      return;
    }
    void save(edit.rowId, edit.field, edit.before, false).then((ok) => {
      if (ok) setStatus(`Undone: ${edit.label} ${FIELD_LABEL[edit.field]} back to ${formatNumber(edit.before)}.`);
      else setUndoStack((stack) => [...stack, edit]);
    });
  }, [save, setHypotheticalQuantity, undoStack]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.shiftKey || event.key.toLowerCase() !== "z") return;
      const target = event.target as HTMLElement | null;
      if (editing || target?.closest("input, textarea, select, [contenteditable=true]")) return;
      event.preventDefault();
      undo();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [editing, undo]);

  // --- paste --------------------------------------------------------------------------

  const onPaste = useCallback(
    (event: ClipboardEvent<HTMLDivElement>) => {
      const target = event.target as HTMLElement | null;
      if (editing || target?.closest("input, textarea")) return; // the cell editor takes it
      const api = gridRef.current?.api;
      const focused = api?.getFocusedCell();
      if (!api || !focused || focused.rowPinned) {
        setStatus("Select the cell where the pasted block should start, then paste.");
        return;
      }
      event.preventDefault();
      const block = parseClipboard(event.clipboardData.getData("text/plain"));
      const columns = api.getAllDisplayedColumns().map((c) => ({ colId: c.getColId(), label: c.getColDef().headerName ?? c.getColId() }));
      const displayed: Row[] = [];
      for (let i = 0; i < api.getDisplayedRowCount(); i++) {
        const node = api.getDisplayedRowAtIndex(i);
        if (node?.data) displayed.push(node.data as Row);
      }
      const plan = planPaste(block, {
        columns,
        rows: displayed.map((r) => ({
          rowId: r.rowId,
          label: holdingLabel(r),
          editable: (["quantity", "cost_basis"] as const).filter((f) => cellEditable(r, f, whatIf)),
        })),
        startRow: focused.rowIndex,
        startColumn: columns.findIndex((c) => c.colId === focused.column.getColId()),
      });
      for (const cell of plan.cells) {
        const row = displayed.find((r) => r.rowId === cell.rowId);
        if (row) applyEdit(row, cell.field, cell.value);
      }
      if (plan.refused.length) {
        report(new Error(plan.refused.join("; ")), `Paste: ${plan.refused.length} cell(s) refused`);
      }
      setStatus(
        `Pasted ${plan.cells.length} cell(s)` +
          (plan.refused.length ? `, ${plan.refused.length} refused` : "") +
          (plan.skipped ? `, ${plan.skipped} skipped (not editable or outside the grid)` : "") +
          ".",
      );
    },
    [applyEdit, editing, report, whatIf],
  );

  // --- what-if ------------------------------------------------------------------------

  const changes = useMemo(
    () => (data && whatIf ? changesBySymbol(data.holdings, hypothetical) : {}),
    [data, hypothetical, whatIf],
  );
  const changesJson = JSON.stringify(changes);
  const debouncedJson = useDebounced(changesJson, WHAT_IF_DEBOUNCE_MS);
  const hasChanges = changesJson !== "{}";
  const whatIfQuery = useQuery({
    queryKey: ["what-if", debouncedJson],
    queryFn: () => post<WhatIfAnswer>("/analytics/what-if", { changes: JSON.parse(debouncedJson) as Record<string, number> }),
    enabled: whatIf && debouncedJson !== "{}",
    placeholderData: keepPreviousData,
    retry: false,
  });
  useEffect(() => {
    if (whatIfQuery.error) report(whatIfQuery.error, "Computing the what-if");
  }, [whatIfQuery.error, report]);
  const actualTotal = useMemo(() => (data ? totalValue(data.holdings, base, rates) : null), [data, base, rates]);
  const whatIfShown: WhatIfShown | undefined =
    whatIf && hasChanges && whatIfQuery.data
      ? {
          current: whatIfQuery.data.current,
          hypothetical: whatIfQuery.data.hypothetical,
          totalValue: [actualTotal, totalValue(rows, base, rates)],
        }
      : undefined;

  const leaveWhatIf = () => {
    setHypothetical(new Map());
    setUndoStack((stack) => stack.filter((e) => !e.hypothetical));
    setWhatIf(false);
  };

  const discard = () => {
    leaveWhatIf();
    setStatus("What-if discarded: nothing was saved.");
  };

  const saveWhatIf = async () => {
    setSavingWhatIf(true);
    let saved = 0;
    try {
      for (const [rowId, quantity] of hypothetical) {
        const ok = await save(rowId, "quantity", quantity, true);
        if (!ok) {
          setStatus(`Saved ${saved} change(s); the rest stay hypothetical.`);
          return;
        }
        saved++;
        setHypothetical((map) => {
          const next = new Map(map);
          next.delete(rowId);
          return next;
        });
      }
      leaveWhatIf();
      setStatus(`Saved ${saved} what-if change(s).`);
    } finally {
      setSavingWhatIf(false);
    }
  };

  // --- grid wiring --------------------------------------------------------------------

  const columns = useMemo(() => buildColumns({ groupBy, whatIf }), [groupBy, whatIf]);
  const getRowId = useCallback((p: GetRowIdParams) => (p.data as Row).rowId, []);
  const postSortRows = useCallback(
    (params: PostSortParams) => {
      if (groupBy === "none") return;
      const sorted = keepGroupsTogether(params.nodes, (n) => (n.data as Row | undefined)?.group ?? "");
      params.nodes.splice(0, params.nodes.length, ...sorted);
    },
    [groupBy],
  );
  const onModelUpdated = useCallback((event: ModelUpdated) => {
    const shown: Row[] = [];
    event.api.forEachNodeAfterFilter((node) => {
      if (node.data) shown.push(node.data as Row);
    });
    setVisible(shown);
  }, []);
  const rowClassRules = useMemo(
    () => ({
      "hypothetical-row": (p: { data?: Row }) => p.data?.hypotheticalFrom != null,
      "pending-row": (p: { data?: Row }) => p.data?.pending === true,
      "subtotal-row": (p: { data?: Row }) => p.data?.kind === "subtotal",
      "total-row": (p: { data?: Row }) => p.data?.kind === "total",
    }),
    [],
  );

  const exportCsv = () => {
    gridRef.current?.api.exportDataAsCsv({ fileName: `holdings-${asOf || "export"}.csv` });
    setStatus("Exported the rows as CSV.");
  };

  const updating =
    pending.size > 0 ||
    analyticsQuery.isFetching ||
    (whatIf && hasChanges && (changesJson !== debouncedJson || whatIfQuery.isFetching));
  // While a save is in flight the total value card follows the rows at once; the risk
  // metrics follow when the server has recomputed them.
  const localTotal = useMemo(() => totalValue(rows, base, rates), [rows, base, rates]);
  const shownAnalytics =
    analyticsQuery.data && pending.size > 0 && localTotal !== null && !whatIf
      ? { ...analyticsQuery.data, total_value: localTotal }
      : analyticsQuery.data;
  const flagged = rows.filter((r) => r.priceFlag === "stale" || r.priceFlag === "missing");

  return (
    <div className="holdings-page">
      <h1>Holdings</h1>
      <div className="toolbar holdings-toolbar">
        <label className="check">
          <input
            type="checkbox"
            checked={consolidated}
            disabled={whatIf}
            onChange={(e) => {
              setConsolidated(e.target.checked);
              setVisible(null);
            }}
          />
          Consolidated across accounts
        </label>
        <label>
          Group by{" "}
          <select value={groupBy} onChange={(e) => setGroupBy(e.target.value as GroupBy)}>
            <option value="none">None</option>
            <option value="account">Account</option>
            <option value="asset_type">Asset class</option>
          </select>
        </label>
        <button
          className={whatIf ? "" : "ghost"}
          aria-pressed={whatIf}
          disabled={consolidated || (whatIf && hypothetical.size > 0)}
          title={
            consolidated
              ? "What-if edits holdings of an account: turn off Consolidated first."
              : whatIf && hypothetical.size > 0
                ? "Save or discard the what-if changes first."
                : "Try quantity changes without saving them and see what they do to the metrics."
          }
          onClick={() => (whatIf ? leaveWhatIf() : setWhatIf(true))}
        >
          What-if mode
        </button>
        <button className="ghost" onClick={undo} disabled={undoStack.length === 0} title="Undo the last edit (Ctrl+Z)">
          Undo{undoStack.length ? ` (${undoStack.length})` : ""}
        </button>
        <button className="ghost" onClick={exportCsv} disabled={rows.length === 0}>
          Export CSV
        </button>
        <span className="spacer" />
        <span className="muted">
          {data ? `As of ${data.as_of} · ${data.method.toUpperCase()} · ${rows.length} holdings` : "Loading…"}
          {holdingsQuery.isFetching && data ? " · refreshing" : ""}
          {paused && data ? " · live refresh paused" : ""}
        </span>
      </div>
      {whatIf && (
        <div className="whatif-bar" role="region" aria-label="What-if">
          <span>
            <strong>What-if mode.</strong> Quantity edits are hypothetical until saved
            {hasChanges
              ? `: ${Object.entries(changes)
                  .map(([s, d]) => `${s} ${d > 0 ? "+" : ""}${formatNumber(d)}`)
                  .join(", ")}`
              : " (cash is not modelled)."}
          </span>
          <span className="spacer" />
          <button onClick={() => void saveWhatIf()} disabled={hypothetical.size === 0 || savingWhatIf}>
            Save changes
          </button>
          <button className="ghost" onClick={discard} disabled={savingWhatIf}>
            Discard
          </button>
        </div>
      )}
      {conflict && (
        <div className="warning conflict" role="alert">
          <span>{conflict}</span>
          <button className="ghost" aria-label="Dismiss the conflict message" onClick={() => setConflict(null)}>
            ×
          </button>
        </div>
      )}
      {data?.warnings.map((w) => (
        <p key={w} className="warning">
          {w}
        </p>
      ))}
      {flagged.length > 0 && (
        <p className="warning">
          {flagged.length} holding(s) with a stale or missing price: {flagged.map((r) => holdingLabel(r)).join(", ")}.
        </p>
      )}
      <div
        className={`holdings-cards${updating ? " updating" : ""}`}
        aria-busy={updating}
        data-edit-ms={lastEditMs ?? undefined}
      >
        <MetricCards analytics={shownAnalytics} currency={base} whatIf={whatIfShown} />
      </div>
      <p className="status" role="status">
        {status}
        {lastEditMs !== null && status.startsWith("Saved") ? ` Cards updated in ${lastEditMs} ms.` : ""}
      </p>
      <div className={`holdings-grid${whatIf ? " in-whatif" : ""}`} onPaste={onPaste}>
        <Grid
          ref={gridRef}
          label="Holdings"
          height="max(360px, calc(100vh - 310px))"
          rowData={rows}
          columnDefs={columns}
          defaultColDef={DEFAULT_COLUMN}
          getRowId={getRowId}
          pinnedBottomRowData={summaries}
          readOnlyEdit
          onCellEditRequest={onCellEditRequest}
          onCellEditingStarted={() => setEditing(true)}
          onCellEditingStopped={() => setEditing(false)}
          enterNavigatesVerticallyAfterEdit
          stopEditingWhenCellsLoseFocus
          postSortRows={postSortRows}
          onModelUpdated={onModelUpdated}
          rowClassRules={rowClassRules}
          tooltipShowDelay={300}
          overlayNoRowsTemplate={holdingsQuery.isLoading ? "Loading…" : "No holdings yet: import or add transactions."}
        />
      </div>
      <p className="hint muted">
        {consolidated
          ? "Consolidated rows sum every account and are read-only: turn off Consolidated to edit."
          : "Double-click or press Enter on a quantity or cost basis to edit it · paste a block copied from a " +
            "spreadsheet onto a selected cell · Ctrl+Z undoes the last edit."}
      </p>
    </div>
  );
}
