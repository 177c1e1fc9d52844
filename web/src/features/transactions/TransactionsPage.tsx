/**
 * The ledger: every transaction, filtered and paged on the server (Previous/Next pages of
 * a chosen size; sorting applies within the page), a row deleted after confirmation, and
 * the upload of an export (dry run first, then Import).
 */
import { useCallback, useEffect, useState } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { del, get } from "../../api/client";
import { describe, useReportError } from "../../components/errors";
import { ConfirmDialog } from "./components/ConfirmDialog";
import { FormatsHelp, useFormats } from "./components/FormatsHelp";
import { LedgerGrid } from "./components/LedgerGrid";
import { UploadPanel } from "./components/UploadPanel";
import {
  DEFAULT_PAGE_SIZE,
  NO_FILTERS,
  PAGE_SIZES,
  TRANSACTION_TYPES,
  dateRangeProblem,
  describeTransaction,
  ledgerQuery,
  neighbours,
  pageSummary,
  typeLabel,
  type Account,
  type LedgerFilters,
  type Transaction,
  type TransactionPage,
} from "./ledger";
import "./transactions.css";

export function TransactionsPage() {
  const report = useReportError();
  const queryClient = useQueryClient();
  const [filters, setFilters] = useState<LedgerFilters>(NO_FILTERS);
  const [symbolText, setSymbolText] = useState("");
  const [offset, setOffset] = useState(0);
  const [limit, setLimit] = useState<number>(DEFAULT_PAGE_SIZE);
  const [deleting, setDeleting] = useState<Transaction | null>(null);

  const change = (patch: Partial<LedgerFilters>) => {
    setFilters((current) => ({ ...current, ...patch }));
    setOffset(0);
  };
  // The symbol is asked for once the user pauses typing.
  useEffect(() => {
    if (symbolText === filters.symbol) return;
    const timer = window.setTimeout(() => {
      setFilters((current) => ({ ...current, symbol: symbolText }));
      setOffset(0);
    }, 300);
    return () => window.clearTimeout(timer);
  }, [symbolText, filters.symbol]);

  const rangeProblem = dateRangeProblem(filters);
  const accounts = useQuery({ queryKey: ["transactions", "accounts"], queryFn: () => get<Account[]>("/accounts") });
  const formats = useFormats();
  const ledger = useQuery({
    queryKey: ["transactions", "list", filters, offset, limit],
    queryFn: ({ signal }) => get<TransactionPage>("/transactions", ledgerQuery(filters, offset, limit), signal),
    enabled: rangeProblem === null,
    placeholderData: keepPreviousData,
  });
  useEffect(() => {
    if (ledger.error) report(ledger.error, "The transactions could not be loaded");
  }, [ledger.error, report]);
  useEffect(() => {
    if (accounts.error) report(accounts.error, "The accounts could not be loaded");
  }, [accounts.error, report]);

  const remove = useMutation({
    mutationFn: (t: Transaction) => del<void>(`/transactions/${t.id}`),
    onSuccess: async () => {
      setDeleting(null);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: ["transactions"] }),
        queryClient.invalidateQueries({ queryKey: ["holdings"] }),
        queryClient.invalidateQueries({ queryKey: ["analytics"] }),
      ]);
    },
  });
  const { reset: resetRemove } = remove;
  const askDelete = useCallback(
    (t: Transaction) => {
      resetRemove();
      setDeleting(t);
    },
    [resetRemove],
  );

  const page = ledger.data;
  const rows = page?.items ?? [];
  const total = page?.total ?? 0;
  const { previous, next } = neighbours(offset, limit, total);
  const filtered = Object.values(filters).some(Boolean) || symbolText !== "";

  return (
    <div className="transactions-page">
      <h1>Transactions</h1>

      <section className="panel ledger" aria-label="Ledger">
        <form className="filters toolbar" role="search" aria-label="Filter transactions" onSubmit={(e) => e.preventDefault()}>
          <label>
            Account{" "}
            <select value={filters.accountId} onChange={(e) => change({ accountId: e.target.value })}>
              <option value="">All accounts</option>
              {(accounts.data ?? []).map((a) => (
                <option key={a.id} value={String(a.id)}>
                  {a.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Symbol{" "}
            <input
              type="search"
              value={symbolText}
              placeholder="e.g. AAPL"
              size={10}
              onChange={(e) => setSymbolText(e.target.value)}
            />
          </label>
          <label>
            Type{" "}
            <select value={filters.type} onChange={(e) => change({ type: e.target.value })}>
              <option value="">All types</option>
              {TRANSACTION_TYPES.map((t) => (
                <option key={t} value={t}>
                  {typeLabel(t)}
                </option>
              ))}
            </select>
          </label>
          <label>
            From <input type="date" value={filters.start} onChange={(e) => change({ start: e.target.value })} />
          </label>
          <label>
            To <input type="date" value={filters.end} onChange={(e) => change({ end: e.target.value })} />
          </label>
          {filtered && (
            <button
              type="button"
              className="ghost"
              onClick={() => {
                setSymbolText("");
                change(NO_FILTERS);
              }}
            >
              Clear filters
            </button>
          )}
        </form>
        {rangeProblem && (
          <p className="error" role="alert">
            {rangeProblem}
          </p>
        )}

        <LedgerGrid rows={rows} loading={ledger.isPending && rangeProblem === null} onDelete={askDelete} />

        <nav className="pager toolbar" aria-label="Pages of transactions">
          <span role="status" className="page-summary">
            {page ? pageSummary(offset, rows.length, total) : ledger.isError ? "The transactions could not be loaded." : "Loading…"}
          </span>
          <span className="spacer" />
          <label>
            Rows per page{" "}
            <select
              value={limit}
              onChange={(e) => {
                setLimit(Number(e.target.value));
                setOffset(0);
              }}
            >
              {PAGE_SIZES.map((size) => (
                <option key={size} value={size}>
                  {size}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="ghost" disabled={previous === null} onClick={() => previous !== null && setOffset(previous)}>
            Previous page
          </button>
          <button type="button" className="ghost" disabled={next === null} onClick={() => next !== null && setOffset(next)}>
            Next page
          </button>
        </nav>
      </section>

      <UploadPanel accounts={accounts.data ?? []} formats={formats.data} />
      <FormatsHelp />

      {deleting && (
        <ConfirmDialog
          title="Delete this transaction?"
          confirmLabel="Delete"
          busy={remove.isPending}
          error={remove.error ? `The transaction was not deleted: ${describe(remove.error)}` : null}
          onConfirm={() => remove.mutate(deleting)}
          onCancel={() => setDeleting(null)}
        >
          <p>
            {describeTransaction(deleting)}. Holdings and analytics are recomputed without it; this cannot be undone
            (importing the same file again would bring it back).
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
