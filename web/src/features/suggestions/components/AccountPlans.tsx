/**
 * The rebalancing of the accounts with targets of their own: one sub-section each, with
 * its targets, buckets, trades (and their effect), dropped trades and notes, as the
 * portfolio's plan shows them.
 */
import { formatMoney, formatPercent } from "../../../format/format";
import { CURRENCY } from "../suggestionsLogic";
import { percentDigits, scopedTargets, targetsSummary } from "../targets";
import type { AccountPlan } from "../types";
import { BucketsTable, DroppedTrades, EffectText, Notes, TradesTable } from "./Tables";

const money = (value: string) => formatMoney(value, CURRENCY, undefined, 0);
const pct = (fraction: string) => formatPercent(Number(fraction), undefined, percentDigits(fraction));

function AccountPlanSection({ plan, id }: { plan: AccountPlan; id: string }) {
  const name = plan.account;
  return (
    <section className="sug-account-plan" aria-labelledby={id} data-account={name}>
      <h3 id={id}>{name} — its own targets</h3>
      <p className="sug-target-line" data-testid="account-plan-targets">
        {targetsSummary(scopedTargets(plan.targets, name), money, pct)}
      </p>
      <div className="sug-rebalance">
        {plan.buckets.length > 0 ? <BucketsTable buckets={plan.buckets} label={`${name}: bucket weights`} /> : <div />}
        <div className="sug-rebalance-trades">
          <p className="sug-plan-effect" data-testid="account-plan-effect">
            <EffectText effect={plan.effect} label={`Effect of ${name}'s plan:`} />
          </p>
          {plan.trades.length ? (
            <TradesTable trades={plan.trades} label={`${name}: trades toward its own targets`} />
          ) : (
            <p className="sug-empty" data-testid="account-plan-no-trades">
              {plan.buckets.length ? `No trades: every bucket of ${name} is within its band.` : "No trades."}
            </p>
          )}
          <DroppedTrades trades={plan.dropped} minTrade={plan.targets.min_trade} />
          <Notes notes={plan.notes} label={`${name}: notes`} />
        </div>
      </div>
    </section>
  );
}

export function AccountPlans({ plans }: { plans: AccountPlan[] }) {
  return (
    <>
      {plans.map((plan, i) => (
        <AccountPlanSection key={plan.account} plan={plan} id={`sug-account-plan-${i}`} />
      ))}
    </>
  );
}
