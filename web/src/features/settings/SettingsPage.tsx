/**
 * Settings: base currency, default benchmark and risk-free rate (shown as a percent),
 * the price providers' keys (write-only: the page only ever learns their last 4
 * characters), the user's accounts (add, edit, delete; taxable or tax-advantaged, by
 * kind or as the user says), the connected exchanges (Connections.tsx), and the target
 * allocation (the Suggestions page's editor).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { ApiError, del, get, patch, post } from "../../api/client";
import { describe, useReportError } from "../../components/errors";
import { TARGETS_KEY, TargetsEditor } from "../suggestions/components/TargetsEditor";
import type { Targets } from "../suggestions/types";
import "../suggestions/suggestions.css";
import { Connections } from "./Connections";
import {
  ACCOUNT_KINDS,
  EMPTY_ACCOUNT,
  KEY_FIELDS,
  TAX_CHOICES,
  accountEditOf,
  accountPatch,
  errorsByField,
  formOf,
  keyStatus,
  newAccountBody,
  settingsPatch,
  taxesText,
  type Account,
  type AccountDraft,
  type AccountEdit,
  type Settings,
  type SettingsForm,
  type TaxChoice,
} from "./settings";
import "./settings.css";

const SETTINGS_KEY = ["settings"];
const ACCOUNTS_KEY = ["settings", "accounts"];

/** A labelled input with its error (if any) beside it, tied to it for screen readers. */
function Field(props: { id: string; label: string; error?: string; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className="settings-field">
      <label htmlFor={props.id}>{props.label}</label>
      <div className="settings-control">
        {props.children}
        {props.hint && <span className="settings-hint">{props.hint}</span>}
        {props.error && (
          <span className="field-error" id={`${props.id}-error`} role="alert">
            {props.error}
          </span>
        )}
      </div>
    </div>
  );
}

function describedBy(id: string, error: string | undefined): { "aria-invalid"?: true; "aria-describedby"?: string } {
  return error ? { "aria-invalid": true, "aria-describedby": `${id}-error` } : {};
}

function PreferencesForm({ saved }: { saved: Settings }) {
  const queryClient = useQueryClient();
  const report = useReportError();
  const [form, setForm] = useState<SettingsForm>(() => formOf(saved));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState("");
  useEffect(() => setForm(formOf(saved)), [saved]);

  const save = useMutation({
    mutationFn: (body: Record<string, string | null>) => patch<Settings>("/settings", body),
    onSuccess: (answer) => {
      queryClient.setQueryData(SETTINGS_KEY, answer);
      setErrors({});
      setNotice("Saved.");
      for (const key of [["analytics"], ["holdings"], ["what-if"]]) void queryClient.invalidateQueries({ queryKey: key });
    },
    onError: (error) => {
      const fields = errorsByField(error);
      if (fields) setErrors(fields);
      else report(error, "Saving the settings failed");
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setNotice("");
    const { body, errors: local } = settingsPatch(form, saved);
    if (Object.keys(local).length > 0) {
      setErrors(local);
      return;
    }
    if (Object.keys(body).length === 0) {
      setErrors({});
      setNotice("Nothing to save.");
      return;
    }
    save.mutate(body);
  };
  const edit = (change: Partial<SettingsForm>) => {
    setNotice("");
    setForm((current) => ({ ...current, ...change }));
  };

  return (
    <form className="panel settings-form" onSubmit={submit} noValidate aria-labelledby="prefs-heading">
      <h2 id="prefs-heading">Preferences</h2>
      <Field id="base-currency" label="Base currency" error={errors.base_currency} hint="Holdings totals are shown in it (ISO code).">
        <input
          id="base-currency"
          value={form.base_currency}
          maxLength={3}
          autoComplete="off"
          list="currency-codes"
          onChange={(e) => edit({ base_currency: e.target.value })}
          {...describedBy("base-currency", errors.base_currency)}
        />
        <datalist id="currency-codes">
          {["USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK"].map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
      </Field>
      <Field id="benchmark" label="Default benchmark" error={errors.benchmark} hint="A symbol, such as SPY or VT.">
        <input
          id="benchmark"
          value={form.benchmark}
          maxLength={40}
          autoComplete="off"
          onChange={(e) => edit({ benchmark: e.target.value })}
          {...describedBy("benchmark", errors.benchmark)}
        />
      </Field>
      <Field id="risk-free" label="Risk-free rate (% per year)" error={errors.risk_free} hint="Used for Sharpe and Sortino; -5% to 50%.">
        <span className="with-unit">
          <input
            id="risk-free"
            inputMode="decimal"
            value={form.risk_free_percent}
            autoComplete="off"
            onChange={(e) => edit({ risk_free_percent: e.target.value })}
            {...describedBy("risk-free", errors.risk_free)}
          />
          <span aria-hidden="true">%</span>
        </span>
      </Field>

      <h2>Price provider keys</h2>
      <p className="settings-note">
        Keys are write-only: once saved, only whether each is set and its last 4 characters are shown.
      </p>
      {KEY_FIELDS.map(({ field, provider, label }) => {
        const state = saved.provider_keys[provider];
        const id = field.replace(/_/g, "-");
        const cleared = form.cleared[field];
        const status = cleared ? "will be cleared on save" : keyStatus(state);
        return (
          <Field key={field} id={id} label={label} error={errors[field]} hint={<span data-testid={`${id}-status`}>{status}</span>}>
            <input
              id={id}
              type="password"
              autoComplete="new-password"
              placeholder={state.set && !cleared ? `•••• ${state.last4 ?? ""}` : "paste the key"}
              value={form.keys[field]}
              onChange={(e) => edit({ keys: { ...form.keys, [field]: e.target.value } })}
              {...describedBy(id, errors[field])}
            />
            {state.set && (
              <button
                type="button"
                className="ghost"
                aria-label={cleared ? `Keep ${label}` : `Clear ${label}`}
                onClick={() => edit({ cleared: { ...form.cleared, [field]: !cleared }, keys: { ...form.keys, [field]: "" } })}
              >
                {cleared ? "Keep" : "Clear"}
              </button>
            )}
          </Field>
        );
      })}
      <div className="settings-actions">
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save settings"}
        </button>
        <span role="status" className="settings-notice">
          {notice}
        </span>
      </div>
    </form>
  );
}

/** The three taxes choices as options (the select's label is the caller's). */
function TaxOptions() {
  return (
    <>
      {TAX_CHOICES.map((c) => (
        <option key={c.value} value={c.value}>
          {c.label}
        </option>
      ))}
    </>
  );
}

function useAccountsChanged(): () => void {
  const queryClient = useQueryClient();
  return () => {
    // whether an account is taxable decides the suggestions' harvesting and trades
    for (const key of [ACCOUNTS_KEY, ["transactions"], ["holdings"], ["analytics"], ["what-if"], ["suggestions"]]) {
      void queryClient.invalidateQueries({ queryKey: key });
    }
  };
}

function AddAccount() {
  const report = useReportError();
  const changed = useAccountsChanged();
  const [draft, setDraft] = useState<AccountDraft>(EMPTY_ACCOUNT);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const add = useMutation({
    mutationFn: () => post<Account>("/accounts", newAccountBody(draft)),
    onSuccess: () => {
      setDraft(EMPTY_ACCOUNT);
      setErrors({});
      changed();
    },
    onError: (error) => {
      const fields = errorsByField(error);
      if (fields) setErrors(fields);
      else if (error instanceof ApiError && error.status === 409) setErrors({ name: error.message });
      else report(error, "Adding the account failed");
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!draft.name.trim()) {
      setErrors({ name: "Give the account a name." });
      return;
    }
    add.mutate();
  };
  const set = (change: Partial<AccountDraft>) => setDraft((d) => ({ ...d, ...change }));
  return (
    <form className="account-add" onSubmit={submit} noValidate aria-labelledby="add-account-heading">
      <h3 id="add-account-heading">Add an account</h3>
      <div className="account-add-fields">
        <Field id="account-name" label="Name" error={errors.name}>
          <input id="account-name" value={draft.name} maxLength={100} onChange={(e) => set({ name: e.target.value })} {...describedBy("account-name", errors.name)} />
        </Field>
        <Field id="account-kind" label="Kind" error={errors.kind}>
          <select id="account-kind" value={draft.kind} onChange={(e) => set({ kind: e.target.value })}>
            {ACCOUNT_KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </Field>
        <Field id="account-institution" label="Institution" error={errors.institution}>
          <input id="account-institution" value={draft.institution} maxLength={100} onChange={(e) => set({ institution: e.target.value })} />
        </Field>
        <Field id="account-currency" label="Currency" error={errors.currency}>
          <input
            id="account-currency"
            value={draft.currency}
            maxLength={5}
            list="currency-codes"
            onChange={(e) => set({ currency: e.target.value })}
            {...describedBy("account-currency", errors.currency)}
          />
        </Field>
        <Field id="account-taxes" label="Taxes" error={errors.taxable} hint="By kind: retirement is tax-advantaged, any other kind taxable.">
          <select id="account-taxes" value={draft.taxes} onChange={(e) => set({ taxes: e.target.value as TaxChoice })} {...describedBy("account-taxes", errors.taxable)}>
            <TaxOptions />
          </select>
        </Field>
      </div>
      <button type="submit" disabled={add.isPending}>
        {add.isPending ? "Adding…" : "Add account"}
      </button>
    </form>
  );
}

function AccountRow({ account }: { account: Account }) {
  const report = useReportError();
  const changed = useAccountsChanged();
  const [mode, setMode] = useState<"view" | "edit" | "confirm">("view");
  const [draft, setDraft] = useState<AccountEdit>(() => accountEditOf(account));
  const [problem, setProblem] = useState("");
  const fail = (what: string) => (error: unknown) => {
    if (error instanceof ApiError && error.status > 0 && error.status < 500 && error.status !== 401) {
      const fields = errorsByField(error);
      setProblem(fields ? Object.values(fields).join(" ") : error.message);
    } else report(error, what);
  };
  const update = useMutation({
    mutationFn: () => patch<Account>(`/accounts/${account.id}`, accountPatch(account, draft)),
    onSuccess: () => {
      setMode("view");
      setProblem("");
      changed();
    },
    onError: fail(`Saving account ${account.name} failed`),
  });
  const remove = useMutation({
    mutationFn: () => del<void>(`/accounts/${account.id}`),
    onSuccess: changed,
    onError: (error) => {
      setMode("view");
      fail(`Deleting account ${account.name} failed`)(error);
    },
  });
  const label = `account ${account.name}`;
  return (
    <tr>
      {mode === "edit" ? (
        <>
          <td>
            <input aria-label={`Name of ${label}`} value={draft.name} maxLength={100} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
          </td>
          <td>
            <select aria-label={`Kind of ${label}`} value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value })}>
              {ACCOUNT_KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </td>
          <td>
            <select aria-label={`Taxes of ${label}`} value={draft.taxes} onChange={(e) => setDraft({ ...draft, taxes: e.target.value as TaxChoice })}>
              <TaxOptions />
            </select>
          </td>
          <td>
            <input aria-label={`Institution of ${label}`} value={draft.institution} maxLength={100} onChange={(e) => setDraft({ ...draft, institution: e.target.value })} />
          </td>
        </>
      ) : (
        <>
          <td>{account.name}</td>
          <td>{account.kind}</td>
          <td>{taxesText(account.taxable)}</td>
          <td>{account.institution ?? "—"}</td>
        </>
      )}
      <td>{account.currency}</td>
      <td>
        <div className="account-actions">
        {mode === "view" && (
          <>
            <button type="button" className="ghost" aria-label={`Edit ${label}`} onClick={() => { setProblem(""); setDraft(accountEditOf(account)); setMode("edit"); }}>
              Edit
            </button>
            <button type="button" className="ghost danger" aria-label={`Delete ${label}`} onClick={() => { setProblem(""); setMode("confirm"); }}>
              Delete
            </button>
          </>
        )}
        {mode === "edit" && (
          <>
            <button type="button" aria-label={`Save ${label}`} disabled={update.isPending} onClick={() => update.mutate()}>
              Save
            </button>
            <button type="button" className="ghost" onClick={() => { setMode("view"); setProblem(""); setDraft(accountEditOf(account)); }}>
              Cancel
            </button>
          </>
        )}
        {mode === "confirm" && (
          <span className="confirm" role="group" aria-label={`Confirm deleting ${label}`}>
            <span>Delete it and every entry in it?</span>
            <button type="button" className="danger" disabled={remove.isPending} onClick={() => remove.mutate()}>
              Yes, delete
            </button>
            <button type="button" className="ghost" onClick={() => setMode("view")}>
              Keep it
            </button>
          </span>
        )}
        {problem && (
          <span className="field-error" role="alert">
            {problem}
          </span>
        )}
        </div>
      </td>
    </tr>
  );
}

function Accounts() {
  const report = useReportError();
  const accounts = useQuery({ queryKey: ACCOUNTS_KEY, queryFn: () => get<Account[]>("/accounts") });
  useEffect(() => {
    if (accounts.error) report(accounts.error, "Loading the accounts failed");
  }, [accounts.error, report]);
  return (
    <section className="panel" aria-labelledby="accounts-heading">
      <h2 id="accounts-heading">Accounts</h2>
      {accounts.isPending ? (
        <p className="loading">Loading accounts…</p>
      ) : accounts.data && accounts.data.length > 0 ? (
        <table className="accounts-table" aria-label="Accounts">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Taxes</th>
              <th scope="col">Institution</th>
              <th scope="col">Currency</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {accounts.data.map((a) => (
              <AccountRow key={a.id} account={a} />
            ))}
          </tbody>
        </table>
      ) : (
        !accounts.error && <p className="settings-note">No accounts yet: add one below or import a file.</p>
      )}
      <AddAccount />
    </section>
  );
}

/** The target allocation, in the Suggestions page's own editor: the same query and, on
 * save, the same cache updates, so the two pages always show the same targets. */
function TargetAllocation() {
  const report = useReportError();
  const [opened, setOpened] = useState<boolean | null>(null);
  const targets = useQuery({ queryKey: TARGETS_KEY, queryFn: ({ signal }) => get<Targets>("/targets", undefined, signal) });
  useEffect(() => {
    if (targets.error) report(targets.error, "Loading the targets failed");
  }, [targets.error, report]);
  const set = Object.keys(targets.data?.weights ?? {}).length > 0;
  const open = opened ?? !set;
  return (
    <section className="panel settings-targets" aria-labelledby="targets-heading">
      <div className="settings-targets-head">
        <h2 id="targets-heading">Target allocation</h2>
        <Link to="/suggestions">See the suggestions</Link>
      </div>
      <p className="settings-note">The weights the Suggestions page rebalances toward, and its limits.</p>
      {targets.isSuccess ? (
        <TargetsEditor
          saved={targets.data}
          open={open}
          onOpen={setOpened}
          onSaved={() => setOpened(null)}
          intro={set ? undefined : "No targets set yet: give each asset class or symbol you hold a weight (together 100%) and save."}
        />
      ) : targets.isPending ? (
        <p className="loading">Loading the targets…</p>
      ) : (
        <p className="error">The targets could not be loaded: {describe(targets.error)}</p>
      )}
    </section>
  );
}

export function SettingsPage() {
  const report = useReportError();
  const settings = useQuery({ queryKey: SETTINGS_KEY, queryFn: () => get<Settings>("/settings") });
  useEffect(() => {
    if (settings.error) report(settings.error, "Loading the settings failed");
  }, [settings.error, report]);
  return (
    <div className="settings-page">
      <h1>Settings</h1>
      <div className="settings-columns">
        {settings.data ? (
          <PreferencesForm saved={settings.data} />
        ) : (
          <section className="panel">{settings.isPending ? <p className="loading">Loading settings…</p> : <p className="error">The settings could not be loaded.</p>}</section>
        )}
        <Accounts />
        <Connections />
        <TargetAllocation />
      </div>
    </div>
  );
}
