/**
 * The targets editor: weight rows (an asset class or a symbol and its weight in percent),
 * their running sum (it must be 100%), and the plan's options. Save replaces the stored
 * targets (PUT /targets); a refusal's reason shows beside the form. Collapsed to one line
 * once targets are set. With a scope, the same editor holds one account's own targets
 * (PUT/DELETE /targets?account=): no concentration limit or VaR budget, those are the
 * portfolio's.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { ApiError, del, put } from "../../../api/client";
import { describe, useReportError } from "../../../components/errors";
import { formatMoney, formatPercent, userLocale } from "../../../format/format";
import { CURRENCY } from "../suggestionsLogic";
import {
  ASSET_CLASSES,
  blankRow,
  hasTargets,
  keyKind,
  ownTargetsLine,
  percentDigits,
  scopedBody,
  scopedTargets,
  targetsBody,
  targetsForm,
  targetsKey,
  targetsPath,
  targetsSummary,
  weightSum,
  type TargetErrors,
  type TargetsForm,
  type TargetsScope,
} from "../targets";
import type { Targets, TargetsPut } from "../types";

/** The portfolio's targets; the prefix of every scope's key (targetsKey). */
export const TARGETS_KEY = ["targets"];

function Option(props: { id: string; label: string; unit?: string; hint: string; error?: string; children: ReactNode }) {
  return (
    <div className="sug-option">
      <label htmlFor={props.id}>{props.label}</label>
      <span className="sug-with-unit">
        {props.children}
        {props.unit && <span aria-hidden="true">{props.unit}</span>}
      </span>
      <span className="sug-hint">{props.hint}</span>
      {props.error && (
        <span className="field-error sug-field-error" id={`${props.id}-error`} role="alert">
          {props.error}
        </span>
      )}
    </div>
  );
}

const invalid = (id: string, error: string | undefined) =>
  error ? { "aria-invalid": true as const, "aria-describedby": `${id}-error` } : {};

export function TargetsEditor(props: {
  saved: Targets | undefined;
  open: boolean;
  onOpen: (open: boolean) => void;
  /** Saved: the page decides again whether the editor stays open. */
  onSaved: () => void;
  /** One line above the form (why it is open). */
  intro?: ReactNode;
  /** Whose targets (default: the whole portfolio's); give the editor a key per scope. */
  scope?: TargetsScope;
  /** Beside the heading: the choice of the scope. */
  picker?: ReactNode;
  /** The accounts with targets of their own, listed under the summary line. */
  accountsWithTargets?: string[];
}) {
  const { saved, open, onOpen } = props;
  const scope = props.scope ?? null;
  const queryClient = useQueryClient();
  const report = useReportError();
  // an account's form has no concentration limit or VaR budget (the portfolio's)
  const formOf = (t: Targets | undefined) => targetsForm(t && scopedTargets(t, scope));
  const [form, setForm] = useState<TargetsForm>(() => formOf(saved));
  const [errors, setErrors] = useState<TargetErrors>({});
  const [problem, setProblem] = useState("");
  const [notice, setNotice] = useState("");
  useEffect(() => setForm(formOf(saved)), [saved, scope]);
  const set = hasTargets(saved);

  const refused = (error: Error, what: string) => {
    if (error instanceof ApiError && error.status > 0 && error.status < 500 && error.status !== 401) {
      setProblem(describe(error));
    } else report(error, what);
  };
  const changed = () => {
    // an account's targets change which accounts the portfolio's apply to (the list of
    // accounts with their own, on every scope's answer)
    if (scope !== null) void queryClient.invalidateQueries({ queryKey: TARGETS_KEY });
    void queryClient.invalidateQueries({ queryKey: ["suggestions"] });
    setErrors({});
    setProblem("");
    props.onSaved();
  };
  const save = useMutation({
    mutationFn: (body: TargetsPut) => put<Targets>(targetsPath(scope), scopedBody(body, scope)),
    onSuccess: (answer) => {
      // the PUT's answer has no list of the accounts with targets of their own: keep it
      queryClient.setQueryData<Targets>(targetsKey(scope), (old) => ({
        ...answer,
        accounts_with_targets: old?.accounts_with_targets,
      }));
      setNotice("Saved.");
      changed();
    },
    onError: (error) => refused(error, "Saving the targets failed"),
  });
  const remove = useMutation({
    mutationFn: () => del<void>(targetsPath(scope)),
    onSuccess: () => {
      setNotice(scope === null ? "Removed." : `Removed: ${scope} follows the portfolio's targets again.`);
      changed();
    },
    onError: (error) => refused(error, "Removing the targets failed"),
  });

  const edit = (change: Partial<TargetsForm>) => {
    setNotice("");
    setForm((current) => ({ ...current, ...change }));
  };
  const editRow = (id: number, change: { key?: string; percent?: string }) =>
    edit({ rows: form.rows.map((r) => (r.id === id ? { ...r, ...change } : r)) });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setNotice("");
    setProblem("");
    const { body, errors: found } = targetsBody(form, userLocale());
    setErrors(found);
    if (body) save.mutate(body);
  };
  const cancel = () => {
    setForm(formOf(saved));
    setErrors({});
    setProblem("");
    onOpen(false);
  };

  const sum = weightSum(form.rows, userLocale());
  const sumOk = sum === "100";
  const pct = (fraction: string) => formatPercent(Number(fraction), undefined, percentDigits(fraction));
  const money = (value: string) => formatMoney(value, CURRENCY, undefined, 0);

  return (
    <section className="panel sug-targets" aria-labelledby="sug-targets-heading">
      <div className="sug-section-head">
        <h2 id="sug-targets-heading">Targets</h2>
        {props.picker}
        {set && (
          <button
            type="button"
            className="ghost"
            aria-expanded={open}
            aria-controls="sug-targets-form"
            onClick={() => (open ? cancel() : onOpen(true))}
          >
            {open ? "Close the editor" : "Edit targets"}
          </button>
        )}
        {scope !== null && set && (
          <button type="button" className="ghost danger" disabled={remove.isPending} onClick={() => remove.mutate()}>
            {remove.isPending ? "Removing…" : `Remove ${scope}'s own targets`}
          </button>
        )}
        <span role="status" className="sug-notice">
          {notice}
        </span>
      </div>
      {props.intro && <p className="sug-intro">{props.intro}</p>}
      {problem && !open && (
        <p className="field-error sug-field-error" role="alert" data-testid="targets-problem">
          {problem}
        </p>
      )}
      {!open && saved && set && (
        <p className="sug-target-line" data-testid="targets-summary">
          {targetsSummary(scopedTargets(saved, scope), money, pct)}
        </p>
      )}
      {ownTargetsLine(props.accountsWithTargets) && (
        <p className="sug-target-line" data-testid="targets-accounts">
          {ownTargetsLine(props.accountsWithTargets)}
        </p>
      )}
      {open && (
        <form id="sug-targets-form" className="sug-targets-form" onSubmit={submit} noValidate aria-label="Target allocation">
          <div className="sug-weights">
            <table className="sug-weight-rows">
              <thead>
                <tr>
                  <th scope="col">Asset class or symbol</th>
                  <th scope="col">Weight</th>
                  <th scope="col">
                    <span className="sug-hidden">Remove</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {form.rows.map((row, i) => {
                  const n = i + 1;
                  const kind = keyKind(row.key);
                  const keyError = errors[`key-${row.id}`];
                  const weightError = errors[`weight-${row.id}`];
                  return (
                    <tr key={row.id}>
                      <td>
                        <input
                          id={`target-key-${row.id}`}
                          aria-label={`Target ${n}: asset class or symbol`}
                          value={row.key}
                          list="sug-asset-classes"
                          maxLength={40}
                          autoComplete="off"
                          placeholder="etf, stock… or a symbol"
                          onChange={(e) => editRow(row.id, { key: e.target.value })}
                          {...invalid(`target-key-${row.id}`, keyError)}
                        />
                        {kind && <span className={`sug-kind ${kind}`}>{kind === "class" ? "asset class" : "symbol"}</span>}
                        {keyError && (
                          <span className="field-error sug-field-error" id={`target-key-${row.id}-error`} role="alert">
                            {keyError}
                          </span>
                        )}
                      </td>
                      <td>
                        <span className="sug-with-unit">
                          <input
                            id={`target-weight-${row.id}`}
                            aria-label={`Target ${n}: weight (%)`}
                            inputMode="decimal"
                            value={row.percent}
                            autoComplete="off"
                            onChange={(e) => editRow(row.id, { percent: e.target.value })}
                            {...invalid(`target-weight-${row.id}`, weightError)}
                          />
                          <span aria-hidden="true">%</span>
                        </span>
                        {weightError && (
                          <span className="field-error sug-field-error" id={`target-weight-${row.id}-error`} role="alert">
                            {weightError}
                          </span>
                        )}
                      </td>
                      <td>
                        <button
                          type="button"
                          className="ghost"
                          aria-label={`Remove target ${n}`}
                          disabled={form.rows.length === 1}
                          onClick={() => edit({ rows: form.rows.filter((r) => r.id !== row.id) })}
                        >
                          ×
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <datalist id="sug-asset-classes">
              {ASSET_CLASSES.map((c) => (
                <option key={c} value={c} />
              ))}
            </datalist>
            <div className="sug-weights-foot">
              <button type="button" className="ghost" onClick={() => edit({ rows: [...form.rows, blankRow(form.rows)] })}>
                Add a row
              </button>
              <span className={`sug-sum ${sumOk ? "ok" : "bad"}`} data-testid="weight-sum" aria-live="polite">
                Sum {sum === null ? "—" : `${sum}%`} {sumOk ? "✓" : "(must be 100%)"}
              </span>
            </div>
            {errors.weights && (
              <span className="field-error sug-field-error" role="alert">
                {errors.weights}
              </span>
            )}
          </div>
          <div className="sug-options">
            <Option id="target-band" label="Band" unit="%" hint="± around each target before it is traded." error={errors.band}>
              <input id="target-band" inputMode="decimal" value={form.band} onChange={(e) => edit({ band: e.target.value })} {...invalid("target-band", errors.band)} />
            </Option>
            <Option id="target-min-trade" label="Minimum trade value" unit={CURRENCY} hint="Smaller trades are dropped." error={errors.min_trade}>
              <input id="target-min-trade" inputMode="decimal" value={form.min_trade} onChange={(e) => edit({ min_trade: e.target.value })} {...invalid("target-min-trade", errors.min_trade)} />
            </Option>
            <Option id="target-cash-flow" label="Cash to invest (+) or withdraw (-)" unit={CURRENCY} hint="Planned with the trades." error={errors.cash_flow}>
              <input id="target-cash-flow" inputMode="decimal" value={form.cash_flow} onChange={(e) => edit({ cash_flow: e.target.value })} {...invalid("target-cash-flow", errors.cash_flow)} />
            </Option>
            {scope === null ? (
              <>
                <Option id="target-concentration" label="Concentration limit" unit="%" hint="Alert when one holding is more of the value." error={errors.concentration_limit}>
                  <input
                    id="target-concentration"
                    inputMode="decimal"
                    value={form.concentration_limit}
                    onChange={(e) => edit({ concentration_limit: e.target.value })}
                    {...invalid("target-concentration", errors.concentration_limit)}
                  />
                </Option>
                <Option id="target-var-budget" label="VaR budget" unit="%" hint="Alert when the 1-day 95% VaR is more of the value." error={errors.var_budget}>
                  <input id="target-var-budget" inputMode="decimal" value={form.var_budget} onChange={(e) => edit({ var_budget: e.target.value })} {...invalid("target-var-budget", errors.var_budget)} />
                </Option>
              </>
            ) : (
              <p className="sug-hint sug-scope-hint">
                The band, the minimum trade and the cash are {scope}&apos;s own; the concentration limit and the VaR budget are the
                portfolio&apos;s.
              </p>
            )}
          </div>
          <div className="sug-actions">
            <button type="submit" disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save targets"}
            </button>
            {set && (
              <button type="button" className="ghost" onClick={cancel}>
                Cancel
              </button>
            )}

            {problem && (
              <span className="field-error sug-field-error" role="alert" data-testid="targets-problem">
                {problem}
              </span>
            )}
          </div>
        </form>
      )}
    </section>
  );
}
