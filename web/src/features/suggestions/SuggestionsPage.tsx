/**
 * Suggestions: what to trade and why. The target allocation (GET/PUT /targets), the
 * portfolio's or one account's own (GET/PUT/DELETE /targets?account=), the
 * portfolio's risk figures now, risk alerts, the rebalancing trades toward the targets (the
 * portfolio's plan, then one per account with targets of its own) and
 * the tax-loss harvesting candidates (GET /suggestions), an optimized allocation
 * (GET /suggestions/optimize), each section's orders as CSV for the broker, and, when the
 * server has a language model, a plain-words summary (POST /suggestions/summary).
 */
import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import { Fragment, useEffect, useState, type FormEvent } from "react";
import { ApiError, get, post } from "../../api/client";
import { describe, useReportError } from "../../components/errors";
import { DEFINITIONS } from "../../components/metrics";
import { formatMoney, formatNumber, formatPercent, formatRatio, userLocale } from "../../format/format";
import type { Account } from "../settings/settings";
import { AccountPlans } from "./components/AccountPlans";
import { OptimizePanel } from "./components/OptimizePanel";
import { ScopePicker } from "./components/ScopePicker";
import { BucketsTable, DroppedTrades, EffectText, ExportOrders, Notes, TradesTable } from "./components/Tables";
import { TARGETS_KEY, TargetsEditor } from "./components/TargetsEditor";
import {
  CURRENCY,
  HARVEST_DEFAULTS,
  basisText,
  harvestQuery,
  isInputProblem,
  isNoTargets,
  replacementsText,
  sortAlerts,
  summaryPath,
  type HarvestForm,
  type HarvestQuery,
} from "./suggestionsLogic";
import {
  anyTargets,
  followsText,
  hasTargets,
  listText,
  targetsKey,
  validScope,
  type TargetsScope,
} from "./targets";
import type { HarvestCandidate, Suggestions, Summary, Targets } from "./types";
import "./suggestions.css";

const money = (v: string | number | null | undefined) => formatMoney(v, CURRENCY);

function NowCards({ s }: { s: Suggestions }) {
  const basis = basisText(s.effects_basis);
  const now = s.now;
  const confidence = formatPercent(s.effects_basis?.confidence ?? 0.95, undefined, 0);
  const days = s.effects_basis?.horizon_days ?? 1;
  return (
    <section className="sug-now" aria-labelledby="sug-now-heading">
      <h2 id="sug-now-heading">Now</h2>
      <div className="cards">
        <div className="card" data-testid="now-volatility" title={`${DEFINITIONS.volatility} ${basis}`}>
          <div className="label">Volatility (annualized)</div>
          <div className="value">{formatPercent(now?.volatility, undefined, 1)}</div>
        </div>
        <div className="card" data-testid="now-var" title={`${DEFINITIONS.var} ${basis}`}>
          <div className="label">
            {days}-day VaR {confidence}
          </div>
          <div className="value">{formatMoney(now?.var, CURRENCY, undefined, 0)}</div>
          <div className="label">{formatPercent(now?.var_fraction)} of the value</div>
        </div>
        <div className="card" data-testid="now-sharpe" title={`${DEFINITIONS.sharpe} ${basis}`}>
          <div className="label">Sharpe</div>
          <div className="value">{formatRatio(now?.sharpe)}</div>
        </div>
        <div
          className="card"
          data-testid="now-drift"
          title={`Drift: the largest gap between a bucket's weight and its target (as of ${s.as_of}). ${basis}`}
        >
          <div className="label">Drift from targets</div>
          <div className="value">{formatPercent(now?.drift, undefined, 1)}</div>
        </div>
      </div>
    </section>
  );
}

function Alerts({ s }: { s: Suggestions }) {
  const alerts = sortAlerts(s.alerts ?? []);
  return (
    <section className="panel sug-section" aria-labelledby="sug-alerts-heading">
      <h2 id="sug-alerts-heading">Risk alerts</h2>
      {alerts.length === 0 ? (
        <p className="sug-empty">No risk alerts: no holding above the concentration limit, VaR within its budget, every price fresh.</p>
      ) : (
        <ul className="sug-alerts" aria-label="Risk alerts">
          {alerts.map((a, i) => (
            <li key={`${a.kind}-${a.symbol ?? ""}-${i}`} className={`sug-alert ${a.severity}`} data-severity={a.severity}>
              <span className="sug-severity">{a.severity === "critical" ? "Critical" : "Warning"}</span>
              <span>{a.message}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Rebalance({ s }: { s: Suggestions }) {
  const plan = s.rebalance;
  const own = s.account_plans ?? [];
  return (
    <section className="panel sug-section" aria-labelledby="sug-rebalance-heading">
      <div className="sug-section-head">
        <h2 id="sug-rebalance-heading">Rebalancing</h2>
        <span className="spacer" />
        <ExportOrders source="rebalance" />
      </div>
      {own.length > 0 && hasTargets(s.targets) && <h3>The other accounts — the portfolio&apos;s targets</h3>}
      {hasTargets(s.targets) ? (
        <div className="sug-rebalance">
          <BucketsTable buckets={plan.buckets} />
          <div className="sug-rebalance-trades">
            <p className="sug-plan-effect" data-testid="rebalance-effect">
              <EffectText effect={plan.effect} label="Effect of the whole plan:" />
            </p>
            {plan.trades.length ? (
              <TradesTable trades={plan.trades} label="Rebalancing trades" />
            ) : (
              <p className="sug-empty">No trades: every bucket is within its band.</p>
            )}
            <DroppedTrades trades={plan.dropped} minTrade={s.targets?.min_trade} />
            <Notes notes={plan.notes} label="Rebalancing notes" />
          </div>
        </div>
      ) : (
        <>
          <p className="sug-empty" data-testid="rebalance-no-portfolio-targets">
            No targets for the whole portfolio: only {listText(own.map((p) => p.account))}, with targets of{" "}
            {own.length === 1 ? "its" : "their"} own, {own.length === 1 ? "is" : "are"} rebalanced.
          </p>
          <Notes notes={plan.notes} label="Rebalancing notes" />
        </>
      )}
      <AccountPlans plans={own} />
    </section>
  );
}

function washText(c: HarvestCandidate) {
  return c.wash_sale ? "Wash sale" : "No";
}

function HarvestTable({ candidates }: { candidates: HarvestCandidate[] }) {
  return (
    <div className="sug-scroll">
      <table className="sug-table" aria-label="Tax-loss harvesting candidates">
        <thead>
          <tr>
            <th scope="col">Account</th>
            <th scope="col">Symbol</th>
            <th scope="col" className="num">Units</th>
            <th scope="col">Acquired</th>
            <th scope="col" className="num">Loss</th>
            <th scope="col">Term</th>
            <th scope="col" className="num">Est. tax saved</th>
            <th scope="col">Wash sale</th>
            <th scope="col">Replacements</th>
            <th scope="col">Rationale</th>
            <th scope="col">Effect</th>
          </tr>
        </thead>
        <tbody>
          {candidates.map((c) => (
            <tr key={c.lot_id} className={c.wash_sale ? "sug-wash" : undefined}>
              <td>{c.account}</td>
              <td>
                {c.symbol}
                {c.is_crypto && (
                  <span className="sug-tag" title="A crypto lot: its notes say how the wash-sale rule is treated for it.">
                    crypto
                  </span>
                )}
              </td>
              <td className="num">{formatNumber(c.units)}</td>
              <td className="date">{c.acquired_on ?? "—"}</td>
              <td className="num down">{money(c.loss)}</td>
              <td className="date">{c.term === "long" ? "long term" : "short term"}</td>
              <td className="num" title={`At a ${formatPercent(Number(c.tax_rate), undefined, 0)} rate.`}>
                {money(c.tax_saved)}
                {c.tax_saved_now !== c.tax_saved && <div className="sug-sub">now {money(c.tax_saved_now)}</div>}
              </td>
              <td>
                <span className={c.wash_sale ? "sug-wash-flag" : undefined} data-testid={`wash-${c.lot_id}`}>
                  {washText(c)}
                </span>
                <div className="sug-sub">no buyback until after {c.buyback_window_closes}</div>
              </td>
              <td>{replacementsText(c.replacements) || "—"}</td>
              <td className="sug-text">
                {c.rationale}
                {c.notes?.length > 0 && (
                  <ul className="sug-cell-notes">
                    {c.notes.map((n, i) => (
                      <li key={i}>{n}</li>
                    ))}
                  </ul>
                )}
              </td>
              <td className="sug-text">
                <EffectText effect={c.effect} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Harvest({
  s,
  applied,
  onApply,
  fetching,
}: {
  s: Suggestions;
  applied: HarvestQuery;
  onApply: (query: HarvestQuery) => void;
  fetching: boolean;
}) {
  const [form, setForm] = useState<HarvestForm>(HARVEST_DEFAULTS);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const h = s.harvest;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { query, errors: found } = harvestQuery(form, userLocale());
    setErrors(found);
    if (query) onApply(query);
  };
  const edit = (change: Partial<HarvestForm>) => setForm((f) => ({ ...f, ...change }));
  const n = h.candidates.length;
  return (
    <section className="panel sug-section" aria-labelledby="sug-harvest-heading">
      <div className="sug-section-head">
        <h2 id="sug-harvest-heading">Tax-loss harvesting</h2>
        <span className="spacer" />
        <ExportOrders source="harvest" query={applied} />
      </div>
      <form className="sug-opt-form" onSubmit={submit} noValidate aria-label="Harvesting options">
        <label>
          Minimum loss ({CURRENCY})
          <input inputMode="decimal" size={7} value={form.min_loss} onChange={(e) => edit({ min_loss: e.target.value })} aria-invalid={errors.min_loss ? true : undefined} />
        </label>
        <label>
          Short-term tax rate (%)
          <input inputMode="decimal" size={4} value={form.short_rate} onChange={(e) => edit({ short_rate: e.target.value })} aria-invalid={errors.short_rate ? true : undefined} />
        </label>
        <label>
          Long-term tax rate (%)
          <input inputMode="decimal" size={4} value={form.long_rate} onChange={(e) => edit({ long_rate: e.target.value })} aria-invalid={errors.long_rate ? true : undefined} />
        </label>
        <button type="submit" className="ghost" disabled={fetching}>
          Apply
        </button>
        {fetching && <span className="sug-busy">updating…</span>}
      </form>
      {Object.values(errors).map((e) => (
        <p key={e} className="field-error sug-field-error" role="alert">
          {e}
        </p>
      ))}
      {n === 0 ? (
        <p className="sug-empty" data-testid="harvest-empty">
          No lots at a loss above {formatMoney(applied.min_loss, CURRENCY, undefined, 0)} in taxable accounts.
        </p>
      ) : (
        <>
          <p className="sug-totals" data-testid="harvest-totals">
            {n} {n === 1 ? "lot" : "lots"} · total loss <strong>{money(h.total_loss)}</strong> · est. tax saved{" "}
            <strong>{money(h.total_tax_saved)}</strong>
          </p>
          <HarvestTable candidates={h.candidates} />
        </>
      )}
      {h.skipped?.length > 0 && (
        <details className="sug-details">
          <summary>
            {h.skipped.length} {h.skipped.length === 1 ? "lot" : "lots"} at a loss skipped
          </summary>
          <ul className="sug-notes" aria-label="Skipped lots">
            {h.skipped.map((k) => (
              <li key={k.lot_id}>
                {k.symbol} in {k.account}: {k.reason.replace(/_/g, " ")}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function SummaryPanel({ applied }: { applied: HarvestQuery }) {
  const report = useReportError();
  const summary = useMutation({
    mutationFn: () => post<Summary>(summaryPath(applied), {}),
    onError: (error) => {
      if (!(error instanceof ApiError && (error.status === 404 || error.status === 422 || error.status === 503))) {
        report(error, "The summary could not be written");
      }
    },
  });
  return (
    <section className="panel sug-section" aria-labelledby="sug-summary-heading">
      <div className="sug-section-head">
        <h2 id="sug-summary-heading">In plain words</h2>
        <button type="button" className="ghost" disabled={summary.isPending} onClick={() => summary.mutate()}>
          {summary.isPending ? "Writing…" : "Summarize in plain words"}
        </button>
      </div>
      {summary.error && (
        <p className="warning sug-problem" role="alert">
          The summary could not be written: {describe(summary.error)}
        </p>
      )}
      {summary.data && (
        <figure className="sug-summary">
          <blockquote data-testid="summary-text">{summary.data.text}</blockquote>
          <figcaption>
            Written by a language model ({summary.data.model}); every number in it was checked against the figures above.
          </figcaption>
        </figure>
      )}
    </section>
  );
}

export function SuggestionsPage() {
  const report = useReportError();
  const [applied, setApplied] = useState<HarvestQuery>(() => harvestQuery(HARVEST_DEFAULTS).query as HarvestQuery);
  const [opened, setOpened] = useState<boolean | null>(null);
  const [chosen, setChosen] = useState<TargetsScope>(null);

  // under "suggestions": refreshed when the accounts change on the settings page
  const accounts = useQuery({
    queryKey: ["suggestions", "accounts"],
    queryFn: ({ signal }) => get<Account[]>("/accounts", undefined, signal),
  });
  const scope = validScope(chosen, accounts.data);
  const targets = useQuery({ queryKey: TARGETS_KEY, queryFn: ({ signal }) => get<Targets>("/targets", undefined, signal) });
  // the scope's targets: the same query as the portfolio's when it is the portfolio
  const shown = useQuery({
    queryKey: targetsKey(scope),
    queryFn: ({ signal }) => get<Targets>("/targets", { account: scope }, signal),
  });
  // suggestions are made once the portfolio or an account has targets
  const set = anyTargets(targets.data);
  const suggestions = useQuery({
    queryKey: ["suggestions", "main", applied],
    queryFn: ({ signal }) => get<Suggestions>("/suggestions", applied, signal),
    enabled: set,
    placeholderData: keepPreviousData,
  });
  const noTargets = targets.isSuccess && (!set || isNoTargets(suggestions.error));
  // a refusal of the targets themselves (a holding no target covers...) is said beside them
  const refused = !noTargets && isInputProblem(suggestions.error);
  useEffect(() => {
    if (targets.error) report(targets.error, "The targets could not be loaded");
  }, [targets.error, report]);
  useEffect(() => {
    if (accounts.error) report(accounts.error, "The accounts could not be loaded");
  }, [accounts.error, report]);
  useEffect(() => {
    if (suggestions.error && !isInputProblem(suggestions.error)) report(suggestions.error, "The suggestions could not be made");
  }, [suggestions.error, report]);

  const s = suggestions.error ? undefined : suggestions.data;
  const scopeSet = hasTargets(shown.data);
  const open = opened ?? (noTargets || refused || (shown.isSuccess && !scopeSet));
  const choose = (next: TargetsScope) => {
    setChosen(next);
    setOpened(null);
  };
  const picker =
    accounts.data && accounts.data.length > 0 ? <ScopePicker accounts={accounts.data} scope={scope} onChange={choose} /> : undefined;
  // why the editor is open, or what is wrong: a refusal is said on every scope
  const intro = [
    scope !== null && !scopeSet && <span data-testid="follows-portfolio">{followsText(scope)}</span>,
    scope === null && noTargets && (
      <span data-testid="no-targets">
        No targets set yet: give each asset class or symbol you hold a weight (together 100%) and save to see what to trade.
      </span>
    ),
    scope === null && !noTargets && !scopeSet && (
      <span data-testid="no-portfolio-targets">
        No targets for the whole portfolio: only the accounts with targets of their own are rebalanced. Set targets here to
        rebalance the others.
      </span>
    ),
    refused && (
      <span className="warning sug-refused" role="alert" data-testid="suggestions-refused">
        No suggestions for these targets: {describe(suggestions.error)}
      </span>
    ),
  ].filter(Boolean);

  return (
    <div className="sug">
      <div className="sug-head">
        <h1>Suggestions</h1>
        {s && (
          <span className="sug-asof" data-testid="as-of">
            as of {s.as_of}
            {suggestions.isFetching && <span className="sug-busy"> · updating…</span>}
          </span>
        )}
      </div>
      <p className="sug-broker" data-testid="broker-note">
        quantdesk never places orders: take this list to your broker.
      </p>
      {targets.error && (
        <p className="error" role="status">
          {describe(targets.error)}
        </p>
      )}
      {targets.isPending && <p className="loading">Loading the targets…</p>}
      {targets.isSuccess &&
        (shown.isSuccess ? (
          <TargetsEditor
            key={scope ?? ""}
            scope={scope}
            saved={shown.data}
            open={open}
            onOpen={setOpened}
            onSaved={() => setOpened(null)}
            intro={intro.length ? intro.map((part, i) => <Fragment key={i}>{i > 0 && " "}{part}</Fragment>) : undefined}
            picker={picker}
            accountsWithTargets={targets.data.accounts_with_targets}
          />
        ) : (
          <section className="panel sug-targets" aria-label="Targets">
            <div className="sug-section-head">
              <h2>Targets</h2>
              {picker}
            </div>
            {shown.isPending ? (
              <p className="loading">Loading the targets of {scope ?? "the portfolio"}…</p>
            ) : (
              <p className="error" role="status">
                The targets of {scope ?? "the portfolio"} could not be loaded: {describe(shown.error)}
              </p>
            )}
          </section>
        ))}
      {suggestions.error && !isInputProblem(suggestions.error) && (
        <p className="warning" role="status">
          {describe(suggestions.error)}
        </p>
      )}
      {set && !s && !suggestions.error && <p className="loading">Working out the suggestions…</p>}
      {s && (
        <>
          <Notes notes={s.notes} label="Notes" />
          <NowCards s={s} />
          <Alerts s={s} />
          <Rebalance s={s} />
          <Harvest s={s} applied={applied} onApply={setApplied} fetching={suggestions.isFetching} />
          {s.summary_available && <SummaryPanel key={suggestions.dataUpdatedAt} applied={applied} />}
        </>
      )}
      <OptimizePanel />
    </div>
  );
}

