/**
 * Settings → Connections: the user's exchanges synced through read-only API keys. The key
 * and secret go to the server once and are never shown again (the server keeps them
 * encrypted and never answers them back); each connection shows its status in plain
 * words, and "Sync now" reads what is new. A brokerage is linked through Plaid Link.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { ApiError, del, get, post } from "../../api/client";
import { useReportError } from "../../components/errors";
import {
  COMMON_EXCHANGES,
  EMPTY_CONNECTION,
  connectionBody,
  draftErrors,
  statusText,
  syncSummary,
  type Connection,
  type ConnectionDraft,
  type SyncResult,
} from "./connections";

export const CONNECTIONS_KEY = ["settings", "connections"];

function useLedgerChanged(): () => void {
  const queryClient = useQueryClient();
  return () => {
    for (const key of [CONNECTIONS_KEY, ["settings", "accounts"], ["transactions"], ["holdings"], ["analytics"], ["suggestions"]]) {
      void queryClient.invalidateQueries({ queryKey: key });
    }
  };
}

function ConnectionRow({ connection }: { connection: Connection }) {
  const report = useReportError();
  const changed = useLedgerChanged();
  const [result, setResult] = useState<string | null>(null);
  const sync = useMutation({
    mutationFn: () => post<SyncResult>(`/connections/${connection.id}/sync`),
    onSuccess: (done) => {
      setResult(done.error ? null : syncSummary(done)); // a failure shows as the status
      changed();
    },
    onError: (error) => report(error, "The sync failed"),
  });
  const remove = useMutation({
    mutationFn: () => del<void>(`/connections/${connection.id}`),
    onSuccess: changed,
    onError: (error) => report(error, "Removing the connection failed"),
  });
  const failed = connection.status === "error";
  return (
    <tr>
      <td>{connection.provider}</td>
      <td>{connection.account}</td>
      <td className={failed ? "error" : undefined} data-testid="connection-status">
        {statusText(connection)}
        {result && (
          <div className="settings-note" role="status">
            {result}
          </div>
        )}
      </td>
      <td className="account-actions">
        <button type="button" onClick={() => sync.mutate()} disabled={sync.isPending}>
          {sync.isPending ? "Syncing…" : "Sync now"}
        </button>
        <button type="button" className="secondary" onClick={() => remove.mutate()} disabled={remove.isPending} aria-label={`Remove the ${connection.provider} connection`}>
          Remove
        </button>
      </td>
    </tr>
  );
}

function AddConnection() {
  const report = useReportError();
  const changed = useLedgerChanged();
  const [draft, setDraft] = useState<ConnectionDraft>(EMPTY_CONNECTION);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const add = useMutation({
    mutationFn: () => post<Connection>("/connections", connectionBody(draft)),
    onSuccess: () => {
      setDraft(EMPTY_CONNECTION); // the secret leaves the page's memory once sent
      setErrors({});
      changed();
    },
    onError: (error) => {
      if (error instanceof ApiError && (error.status === 422 || error.status === 409)) setErrors({ form: error.message });
      else report(error, "Adding the connection failed");
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const missing = draftErrors(draft);
    setErrors(missing);
    if (Object.keys(missing).length === 0) add.mutate();
  };
  const set = (change: Partial<ConnectionDraft>) => setDraft((d) => ({ ...d, ...change }));
  const field = (id: keyof ConnectionDraft, label: string, type = "text", extra: Record<string, string> = {}) => (
    <div className="settings-field">
      <label htmlFor={`connection-${id}`}>{label}</label>
      <div className="settings-control">
        <input
          id={`connection-${id}`}
          type={type}
          value={draft[id]}
          autoComplete="off"
          onChange={(e) => set({ [id]: e.target.value })}
          aria-invalid={errors[id] ? true : undefined}
          aria-describedby={errors[id] ? `connection-${id}-error` : undefined}
          {...extra}
        />
        {errors[id] && (
          <span id={`connection-${id}-error`} className="field-error" role="alert">
            {errors[id]}
          </span>
        )}
      </div>
    </div>
  );
  return (
    <form className="account-add" onSubmit={submit} noValidate aria-labelledby="add-connection-heading">
      <h3 id="add-connection-heading">Connect an exchange</h3>
      <p className="settings-note">Use a read-only API key (query funds, trades and ledger). quantdesk stores it encrypted and never shows it again.</p>
      <div className="account-add-fields">
        {field("provider", "Exchange", "text", { list: "exchange-ids" })}
        <datalist id="exchange-ids">
          {COMMON_EXCHANGES.map((e) => (
            <option key={e} value={e} />
          ))}
        </datalist>
        {field("account", "Account")}
        {field("api_key", "API key")}
        {field("secret", "API secret", "password")}
        {field("password", "Passphrase (if any)", "password")}
      </div>
      {errors.form && (
        <p className="error" role="alert">
          {errors.form}
        </p>
      )}
      <button type="submit" disabled={add.isPending}>
        {add.isPending ? "Connecting…" : "Connect"}
      </button>
    </form>
  );
}

type PlaidHandler = { open: () => void };
type PlaidLink = { create: (options: { token: string; onSuccess: (publicToken: string) => void; onExit?: () => void }) => PlaidHandler };
const PLAID_SCRIPT = "https://cdn.plaid.com/link/v2/stable/link-initialize.js";

/** Plaid's own Link script, loaded the first time a brokerage is linked. */
function loadPlaid(): Promise<PlaidLink> {
  const ready = (window as unknown as { Plaid?: PlaidLink }).Plaid;
  if (ready) return Promise.resolve(ready);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = PLAID_SCRIPT;
    script.onload = () => {
      const loaded = (window as unknown as { Plaid?: PlaidLink }).Plaid;
      if (loaded) resolve(loaded);
      else reject(new Error("Plaid Link did not load."));
    };
    script.onerror = () => reject(new Error("Plaid Link could not be loaded (is this browser offline?)."));
    document.head.appendChild(script);
  });
}

/** Link a brokerage through Plaid Link: the server makes a Link token, Plaid's window
 * signs in to the brokerage, and the public token it gives is kept by the server. */
function LinkBrokerage() {
  const changed = useLedgerChanged();
  const [account, setAccount] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const link = async () => {
    if (!account.trim()) {
      setMessage("Name the account the brokerage syncs into.");
      return;
    }
    setBusy(true);
    setMessage(null);
    try {
      const { link_token } = await post<{ link_token: string }>("/connections/plaid/link-token");
      const plaid = await loadPlaid();
      plaid
        .create({
          token: link_token,
          onSuccess: (publicToken) => {
            post<Connection>("/connections/plaid", { public_token: publicToken, account: account.trim() })
              .then(() => {
                setAccount("");
                setMessage("Linked: Sync now reads its investments.");
                changed();
              })
              .catch((error: unknown) => setMessage(error instanceof Error ? error.message : String(error)));
          },
          onExit: () => setBusy(false),
        })
        .open();
    } catch (error) {
      setMessage(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="account-add" aria-labelledby="link-brokerage-heading" role="group">
      <h3 id="link-brokerage-heading">Link a brokerage</h3>
      <p className="settings-note">Through Plaid: you sign in to the brokerage in Plaid's window; quantdesk keeps only Plaid's access token, encrypted.</p>
      <div className="settings-field">
        <label htmlFor="plaid-account">Brokerage account</label>
        <div className="settings-control">
          <input id="plaid-account" value={account} maxLength={100} onChange={(e) => setAccount(e.target.value)} />
        </div>
      </div>
      {message && (
        <p className="settings-note" role="status">
          {message}
        </p>
      )}
      <button type="button" onClick={() => void link()} disabled={busy}>
        {busy ? "Opening Plaid…" : "Link with Plaid"}
      </button>
    </div>
  );
}

export function Connections() {
  const report = useReportError();
  const listed = useQuery({ queryKey: CONNECTIONS_KEY, queryFn: () => get<Connection[]>("/connections") });
  useEffect(() => {
    if (listed.error) report(listed.error, "Loading the connections failed");
  }, [listed.error, report]);
  return (
    <section className="panel" aria-labelledby="connections-heading">
      <h2 id="connections-heading">Connections</h2>
      {listed.isPending ? (
        <p className="loading">Loading connections…</p>
      ) : listed.data && listed.data.length > 0 ? (
        <table className="accounts-table" aria-label="Connections">
          <thead>
            <tr>
              <th scope="col">Exchange</th>
              <th scope="col">Account</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {listed.data.map((c) => (
              <ConnectionRow key={c.id} connection={c} />
            ))}
          </tbody>
        </table>
      ) : (
        !listed.error && <p className="settings-note">No exchange connected yet.</p>
      )}
      <AddConnection />
      <LinkBrokerage />
    </section>
  );
}
