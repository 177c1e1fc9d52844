/**
 * The holdings grid's columns: what each shows, how it sorts and filters (numbers as
 * numbers), which cells are editable and how flagged cells look.
 */
import type { ColDef } from "../../components/Grid";
import { formatMoney, formatNumber, formatPercent, direction } from "../../format/format";
import { priceTooltip, type GroupBy, type Row } from "./model";
import { whatIfEditable } from "./whatIf";

const num = (value: string | null | undefined): number | null =>
  value === null || value === undefined || value === "" ? null : Number(value);

export interface ColumnOptions {
  groupBy: GroupBy;
  whatIf: boolean;
}

/** Whether a cell of this row may be edited now (the field is editable when the row is). */
export function cellEditable(row: Row | undefined, field: string, whatIf: boolean): boolean {
  if (!row || row.kind !== "holding" || !row.editable) return false;
  if (whatIf) return field === "quantity" && whatIfEditable(row);
  return field === "quantity" || field === "cost_basis";
}

const isSummary = (row: Row | undefined) => row !== undefined && row.kind !== "holding";

export function buildColumns({ groupBy, whatIf }: ColumnOptions): ColDef<Row>[] {
  const money = (field: "market_value" | "cost_basis" | "unrealized_gain", headerName: string, extra: ColDef<Row> = {}): ColDef<Row> => ({
    colId: field,
    headerName,
    type: "rightAligned",
    filter: "agNumberColumnFilter",
    valueGetter: (p) => num(p.data?.[field]),
    valueFormatter: (p) => (p.data ? formatMoney(p.value as number | null, p.data.currency) : ""),
    useValueFormatterForExport: false,
    minWidth: 130,
    ...extra,
  });
  const group: ColDef<Row>[] =
    groupBy === "none"
      ? []
      : [
          {
            colId: "group",
            headerName: groupBy === "account" ? "Account" : "Asset class",
            valueGetter: (p) => p.data?.group ?? "",
            pinned: "left",
            flex: 0,
            width: 140,
            sortable: false,
            cellClass: "group-cell",
          },
        ];
  return [
    ...group,
    {
      colId: "symbol",
      field: "symbol",
      headerName: "Symbol",
      pinned: "left",
      flex: 0,
      width: 130,
      cellClass: (p) => (isSummary(p.data) ? "summary-label" : "symbol"),
      valueFormatter: (p) =>
        p.data?.kind === "subtotal"
          ? `Subtotal (${p.data.count})`
          : p.data?.kind === "total"
            ? `Total (${p.data.count})`
            : String(p.value ?? ""),
    },
    { colId: "account", field: "account", headerName: "Account", minWidth: 120, hide: groupBy === "account", valueFormatter: (p) => (isSummary(p.data) ? "" : p.value ?? "All accounts") },
    { colId: "asset_type", field: "asset_type", headerName: "Asset type", minWidth: 100, hide: groupBy === "asset_type" },
    {
      colId: "quantity",
      headerName: "Quantity",
      type: "rightAligned",
      filter: "agNumberColumnFilter",
      minWidth: 130,
      valueGetter: (p) => num(p.data?.quantity),
      valueFormatter: (p) => (isSummary(p.data) ? "" : formatNumber(p.value as number | null)),
      useValueFormatterForExport: false,
      editable: (p) => cellEditable(p.data, "quantity", whatIf),
      cellEditor: "agTextCellEditor",
      // the editor starts from the exact decimal, not the grouped display
      cellEditorParams: { useFormatter: false },
      cellClassRules: {
        "editable-cell": (p) => cellEditable(p.data, "quantity", whatIf),
        "hypothetical-cell": (p) => p.data?.hypotheticalFrom != null,
      },
      tooltipValueGetter: (p) =>
        p.data?.hypotheticalFrom != null
          ? `Hypothetical (what-if): ${formatNumber(p.data.hypotheticalFrom)} now`
          : undefined,
    },
    {
      colId: "price",
      headerName: "Price",
      type: "rightAligned",
      filter: "agNumberColumnFilter",
      minWidth: 130,
      valueGetter: (p) => num(p.data?.price),
      valueFormatter: (p) =>
        isSummary(p.data) ? "" : p.data?.price_missing ? "no price" : p.data ? formatMoney(p.value as number | null, p.data.currency, undefined, 2) : "",
      useValueFormatterForExport: false,
      cellClassRules: {
        "stale-price": (p) => p.data?.priceFlag === "stale",
        "missing-price": (p) => p.data?.priceFlag === "missing",
      },
      tooltipValueGetter: (p) => (p.data ? priceTooltip(p.data) : undefined),
    },
    {
      colId: "price_as_of",
      field: "price_as_of",
      headerName: "As of",
      minWidth: 110,
      filter: "agTextColumnFilter",
      cellClassRules: {
        "stale-price": (p) => p.data?.priceFlag === "stale",
        "missing-price": (p) => p.data?.priceFlag === "missing",
      },
      valueFormatter: (p) => (isSummary(p.data) ? "" : p.data?.priceFlag === "missing" ? "missing" : p.value ?? "—"),
      tooltipValueGetter: (p) => (p.data ? priceTooltip(p.data) : undefined),
    },
    money("market_value", "Market value", {
      cellClassRules: { "hypothetical-cell": (p) => p.data?.hypotheticalFrom != null, "missing-price": (p) => p.data?.priceFlag === "missing" },
    }),
    money("cost_basis", "Cost basis", {
      editable: (p) => cellEditable(p.data, "cost_basis", whatIf),
      cellEditor: "agTextCellEditor",
      cellEditorParams: { useFormatter: false },
      cellClassRules: { "editable-cell": (p) => cellEditable(p.data, "cost_basis", whatIf) },
    }),
    money("unrealized_gain", "Unrealized gain", {
      cellClass: (p) => direction(p.value as number | null),
    }),
    {
      colId: "weight",
      headerName: "Weight",
      type: "rightAligned",
      filter: "agNumberColumnFilter",
      minWidth: 100,
      valueGetter: (p) => p.data?.weight ?? null,
      valueFormatter: (p) => formatPercent(p.value as number | null),
      useValueFormatterForExport: false,
    },
  ];
}
