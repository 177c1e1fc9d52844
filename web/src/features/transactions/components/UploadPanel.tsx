/**
 * Upload an export: drop it (or choose it), pick the account, and see a dry run first
 * (format, confidence, encoding, preview, skipped rows, rows to resolve, every row
 * error) before "Import" stores it. Failures are said here, in place.
 */
import { useEffect, useId, useRef, useState, type DragEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { upload } from "../../../api/client";
import { formatMoney, formatNumber } from "../../../format/format";
import { tradeDate, typeLabel, type Account } from "../ledger";
import {
  confidenceText,
  importSummary,
  linesText,
  plural,
  readUploadFailure,
  type FileFormat,
  type ImportReport,
  type UploadFailure,
} from "../upload";

interface Props {
  accounts: Account[];
  formats: FileFormat[] | undefined;
}

interface Request {
  file: File;
  account: string;
  allowUnknownBasis: boolean;
  dryRun: boolean;
}

function send({ file, account, allowUnknownBasis, dryRun }: Request): Promise<ImportReport> {
  const form = new FormData();
  form.append("file", file, file.name);
  if (account) form.append("account", account);
  form.append("allow_unknown_basis", String(allowUnknownBasis));
  if (dryRun) form.append("dry_run", "true");
  return upload<ImportReport>("/uploads", form);
}

export function UploadPanel({ accounts, formats }: Props) {
  const queryClient = useQueryClient();
  const inputRef = useRef<HTMLInputElement>(null);
  const headingId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [account, setAccount] = useState("");
  const [allowUnknownBasis, setAllowUnknownBasis] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [imported, setImported] = useState<ImportReport | null>(null);

  const check = useMutation({ mutationFn: send });
  const store = useMutation({
    mutationFn: send,
    onSuccess: async (report) => {
      setImported(report);
      setFile(null);
      check.reset();
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: ["transactions"] }),
        queryClient.invalidateQueries({ queryKey: ["holdings"] }),
        queryClient.invalidateQueries({ queryKey: ["analytics"] }),
      ]);
    },
  });

  // A dry run whenever the file, the account or the option changes (nothing is stored).
  const { mutate: runCheck, reset: resetCheck } = check;
  const { reset: resetStore } = store;
  useEffect(() => {
    resetStore();
    if (!file || !account) {
      resetCheck();
      return;
    }
    runCheck({ file, account, allowUnknownBasis, dryRun: true });
  }, [file, account, allowUnknownBasis, runCheck, resetCheck, resetStore]);

  const choose = (chosen: File | undefined | null) => {
    if (!chosen) return;
    setImported(null);
    setFile(chosen);
  };
  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    choose(event.dataTransfer.files[0]);
  };

  const report = check.data;
  const failure: UploadFailure | null = store.error
    ? readUploadFailure(store.error)
    : check.error
      ? readUploadFailure(check.error)
      : null;
  const shownReport = report ?? (failure?.kind === "rows" ? failure.report : null);
  const formatTitle = (name: string) => formats?.find((f) => f.name === name)?.title;

  return (
    <section className="upload panel" aria-labelledby={headingId}>
      <h2 id={headingId}>Upload an export</h2>
      <div className="toolbar">
        <label>
          Into account{" "}
          <select value={account} onChange={(e) => setAccount(e.target.value)}>
            <option value="">Choose an account…</option>
            {accounts.map((a) => (
              <option key={a.id} value={a.name}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={allowUnknownBasis} onChange={(e) => setAllowUnknownBasis(e.target.checked)} />
          Allow unknown basis
        </label>
        <span className="muted hint">
          (sells of units bought before this file's history are kept as openings whose cost you complete later)
        </span>
      </div>

      <div
        className={`drop-zone${dragging ? " dragging" : ""}`}
        role="region"
        aria-label="Drop an export file here"
        onDragEnter={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = "copy";
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>
          {file ? (
            <>
              <strong>{file.name}</strong> ({formatNumber(file.size)} bytes)
            </>
          ) : (
            "Drag a broker export, a quantdesk CSV, OFX or JSON file here"
          )}
        </p>
        <button type="button" className="ghost" onClick={() => inputRef.current?.click()}>
          {file ? "Choose another file…" : "Choose a file…"}
        </button>
        <input
          ref={inputRef}
          type="file"
          hidden
          aria-label="File to upload"
          onChange={(e) => {
            choose(e.target.files?.[0]);
            e.target.value = "";
          }}
        />
      </div>

      {file && !account && <p className="warning">Choose the account to import into: the file is then checked.</p>}
      {check.isPending && <p className="muted" role="status">Checking {file?.name}…</p>}

      {imported && (
        <p className="success" role="status">
          Imported {imported.file} into {account || "its accounts"}: {importSummary(imported)}
          {imported.unknown_basis.length > 0 &&
            ` ${plural(imported.unknown_basis.length, "opening")} of unknown basis recorded: complete their cost on the ledger.`}
        </p>
      )}

      {failure?.kind === "message" && (
        <div className="upload-failure" role="alert">
          <strong>{failure.title}.</strong> {failure.text}
        </div>
      )}

      {shownReport && (
        <div className="check" aria-label="Dry run">
          <h3>{failure?.kind === "rows" ? "The file was read, but rows are wrong" : "Dry run: nothing stored yet"}</h3>
          <dl className="facts">
            <div>
              <dt>Format</dt>
              <dd data-testid="detected-format">
                <code>{shownReport.format}</code>
                {formatTitle(shownReport.format) && <span className="muted"> {formatTitle(shownReport.format)}</span>}
              </dd>
            </div>
            <div>
              <dt>Confidence</dt>
              <dd>{confidenceText(shownReport.confidence)}</dd>
            </div>
            <div>
              <dt>Encoding</dt>
              <dd>{shownReport.encoding ?? "not a text file"}</dd>
            </div>
            <div>
              <dt>Rows</dt>
              <dd>{formatNumber(shownReport.rows)}</dd>
            </div>
            {!failure && (
              <div>
                <dt>Result</dt>
                <dd>{importSummary(shownReport)}</dd>
              </div>
            )}
          </dl>
          {shownReport.already_imported && (
            <p className="warning">
              This exact file was imported on {shownReport.already_imported.slice(0, 10)}: importing it again adds nothing.
            </p>
          )}
          {Object.entries(shownReport.account_fallbacks ?? {}).map(([named, used]) => (
            <p key={named} className="warning">
              The file names an account “{named}” that quantdesk does not have: its rows go to {used}.
            </p>
          ))}
          {failure?.kind === "rows" && <RowErrors failure={failure} />}
          <Skipped report={shownReport} />
          <ToResolve report={shownReport} />
          {shownReport.unknown_basis.length > 0 && (
            <div>
              <h4>Sold without a known purchase ({shownReport.unknown_basis.length})</h4>
              <ul>
                {shownReport.unknown_basis.map((u, i) => (
                  <li key={i}>
                    {formatNumber(u.quantity)} {u.symbol} in {u.account} on {u.date}: recorded as an opening of unknown cost
                  </li>
                ))}
              </ul>
            </div>
          )}
          {report && <Preview report={report} />}
        </div>
      )}

      {file && report && (
        <div className="toolbar">
          <button
            type="button"
            disabled={store.isPending || check.isPending}
            onClick={() => store.mutate({ file, account, allowUnknownBasis, dryRun: false })}
          >
            {store.isPending ? "Importing…" : "Import"}
          </button>
          <button
            type="button"
            className="ghost"
            disabled={store.isPending}
            onClick={() => {
              setFile(null);
              setImported(null);
            }}
          >
            Cancel
          </button>
          <span className="muted">
            Stores {plural(report.added, "transaction")} in {account}.
          </span>
        </div>
      )}
    </section>
  );
}

function RowErrors({ failure }: { failure: Extract<UploadFailure, { kind: "rows" }> }) {
  return (
    <div className="row-errors" role="alert">
      <p>
        <strong>{failure.summary}.</strong> Fix these rows in the file and drop it again.
      </p>
      <table aria-label="Row errors">
        <thead>
          <tr>
            <th scope="col">Where</th>
            <th scope="col">Problem</th>
          </tr>
        </thead>
        <tbody>
          {failure.errors.map((e, i) => (
            <tr key={i}>
              <td>{e.field}</td>
              <td>{e.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {failure.issueCount > failure.errors.length && (
        <p className="muted">
          {failure.errors.length} of {failure.issueCount} problems are listed.
        </p>
      )}
    </div>
  );
}

function Skipped({ report }: { report: ImportReport }) {
  if (report.skipped_count === 0) return null;
  return (
    <div>
      <h4>Skipped on purpose ({formatNumber(report.skipped_count)} rows)</h4>
      <ul aria-label="Skipped rows">
        {report.skipped.map((s) => (
          <li key={s.reason}>
            {s.reason}: {plural(s.count, "row")} ({linesText(s.lines)})
          </li>
        ))}
      </ul>
    </div>
  );
}

function ToResolve({ report }: { report: ImportReport }) {
  if (report.to_resolve_count === 0) return null;
  return (
    <div>
      <h4>Left for you to resolve ({formatNumber(report.to_resolve_count)} rows)</h4>
      <ul aria-label="Rows to resolve">
        {report.to_resolve.map((r, i) => (
          <li key={i}>
            {r.line !== null ? `line ${r.line}: ` : ""}
            {r.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Preview({ report }: { report: ImportReport }) {
  if (report.preview.length === 0) return <p className="muted">No new transactions to preview.</p>;
  return (
    <div className="preview">
      <table aria-label="Preview">
        <caption>
          Preview: {report.preview.length === report.added ? "all" : `the first ${report.preview.length} of`}{" "}
          {plural(report.added, "new transaction")}
        </caption>
        <thead>
          <tr>
            <th scope="col">Date</th>
            <th scope="col">Account</th>
            <th scope="col">Type</th>
            <th scope="col">Symbol</th>
            <th scope="col" className="num">Quantity</th>
            <th scope="col" className="num">Price</th>
            <th scope="col" className="num">Fees</th>
            <th scope="col" className="num">Amount</th>
            <th scope="col">Description</th>
          </tr>
        </thead>
        <tbody>
          {report.preview.map((t, i) => (
            <tr key={i}>
              <td>{tradeDate(t.traded_at)}</td>
              <td>{t.account}</td>
              <td>{typeLabel(t.type)}</td>
              <td>{t.symbol ?? ""}</td>
              <td className="num">{t.quantity ? formatNumber(t.quantity) : ""}</td>
              <td className="num">{t.price ? formatMoney(t.price, t.currency) : ""}</td>
              <td className="num">{t.fees ? formatMoney(t.fees, t.currency) : ""}</td>
              <td className="num">{t.amount ? formatMoney(t.amount, t.currency) : ""}</td>
              <td>{t.description ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
