/**
 * The targets editor: weight rows (an asset class or a symbol and its weight in percent),
 * their running sum (it must be 100%), and the plan's options. Save replaces the stored
 * targets (PUT /targets); a refusal's reason shows beside the form. Collapsed to one line
 * once targets are set.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { ApiError, put } from "../../../api/client";
import { describe, useReportError } from "../../../components/errors";
import { formatMoney, formatPercent, userLocale } from "../../../format/format";
import { CURRENCY } from "../suggestionsLogic";
import {
  ASSET_CLASSES,
  blankRow,
  keyKind,
  percentDigits,
  targetsBody,
  targetsForm,
  targetsSummary,
  weightSum,
  type TargetErrors,
  type TargetsForm,
} from "../targets";
import type { Targets, TargetsPut } from "../types";

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
}) {
  const { saved, open, onOpen } = props;
  const queryClient = useQueryClient();
  const report = useReportError();
  const [form, setForm] = useState<TargetsForm>(() => targetsForm(saved));
  const [errors, setErrors] = useState<TargetErrors>({});
  const [problem, setProblem] = useState("");
  const [notice, setNotice] = useState("");
  useEffect(() => setForm(targetsForm(saved)), [saved]);
  const set = Object.keys(saved?.weights ?? {}).length > 0;

  const save = useMutation({
    mutationFn: (body: TargetsPut) => put<Targets>("/targets", body),
    onSuccess: (answer) => {
      queryClient.setQueryData(TARGETS_KEY, answer);
      void queryClient.invalidateQueries({ queryKey: ["suggestions"] });
      setErrors({});
      setProblem("");
      setNotice("Saved.");
      props.onSaved();
    },
    onError: (error) => {
      if (error instanceof ApiError && error.status > 0 && error.status < 500 && error.status !== 401) {
        setProblem(describe(error));
      } else report(error, "Saving the targets failed");
    },
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
    setForm(targetsForm(saved));
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
        <span role="status" className="sug-notice">
          {notice}
        </span>
      </div>
      {props.intro && <p className="sug-intro">{props.intro}</p>}
      {!open && saved && set && (
        <p className="sug-target-line" data-testid="targets-summary">
          {targetsSummary(saved, money, pct)}
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
