/**
 * One page of the ledger in the shared AG Grid: sortable within the page, numbers in the
 * user's locale, a Delete button on each row (the page confirms before deleting).
 */
import { useMemo } from "react";
import { Grid, type ColDef, type ICellRendererParams, type ValueFormatterParams } from "../../../components/Grid";
import { formatMoney, formatNumber } from "../../../format/format";
import { compareDecimals, describeTransaction, tradeDate, typeLabel, type Transaction } from "../ledger";

interface Props {
  rows: Transaction[];
  loading: boolean;
  onDelete: (transaction: Transaction) => void;
}

const money = (p: ValueFormatterParams<Transaction>) =>
  p.value === null || p.value === undefined ? "" : formatMoney(p.value as string, p.data?.currency ?? "USD");
const decimal = { comparator: compareDecimals, type: "rightAligned" };

function DeleteButton({ data, onDelete }: ICellRendererParams<Transaction> & { onDelete: Props["onDelete"] }) {
  if (!data || data.id === null) return null;
  return (
    <button
      type="button"
      className="ghost row-delete"
      aria-label={`Delete ${describeTransaction(data)}`}
      onClick={() => onDelete(data)}
    >
      Delete
    </button>
  );
}

export function LedgerGrid({ rows, loading, onDelete }: Props) {
  const columns = useMemo<ColDef<Transaction>[]>(
    () => [
      { headerName: "Date", colId: "date", valueGetter: (p) => (p.data ? tradeDate(p.data.traded_at) : ""), width: 118, sort: "desc" },
      { headerName: "Account", field: "account", width: 124 },
      { headerName: "Type", field: "type", width: 116, valueFormatter: (p) => typeLabel(String(p.value ?? "")) },
      { headerName: "Symbol", field: "symbol", width: 96 },
      { headerName: "Quantity", field: "quantity", width: 112, ...decimal, valueFormatter: (p) => (p.value ? formatNumber(p.value as string) : "") },
      { headerName: "Price", field: "price", width: 112, ...decimal, valueFormatter: money },
      { headerName: "Fees", field: "fees", width: 92, ...decimal, valueFormatter: money },
      { headerName: "Amount", field: "amount", width: 120, ...decimal, valueFormatter: money },
      { headerName: "Currency", field: "currency", width: 96 },
      { headerName: "Origin", field: "origin", width: 96 },
      { headerName: "Description", field: "description", flex: 1, minWidth: 160, tooltipField: "description" },
      {
        headerName: "",
        colId: "actions",
        width: 92,
        pinned: "right",
        sortable: false,
        resizable: false,
        cellRenderer: DeleteButton,
        cellRendererParams: { onDelete },
      },
    ],
    [onDelete],
  );
  return (
    <Grid
      label="Transactions"
      rowData={rows}
      columnDefs={columns}
      defaultColDef={{ filter: false }}
      getRowId={(p) => String(p.data.id)}
      loading={loading}
      overlayNoRowsTemplate="No transactions match these filters."
      height={560}
    />
  );
}
