/**
 * The tables the suggestion sections share: trades with their rationale and effect, the
 * buckets before and after, trades dropped below the minimum, notes, and the orders
 * export link. Plain tables (a few rows of long text each), like the analytics page's.
 */
import { formatMoney, formatNumber, formatPercent } from "../../../format/format";
import { CURRENCY, effectLine, ordersCsvUrl, type HarvestQuery, type OrdersSource } from "../suggestionsLogic";
import type { Bucket, Effect, Trade } from "../types";

const money = (v: string | number | null | undefined) => formatMoney(v, CURRENCY);

/** The effect of a trade or a plan on the figures, as one line. */
export function EffectText({ effect, label }: { effect: Effect | null | undefined; label?: string }) {
  return (
    <span className="sug-effect" title="Volatility, 1-day VaR, Sharpe and drift: now → after">
      {label && <strong>{label} </strong>}
      {effectLine(effect)}
    </span>
  );
}

function lotsTitle(trade: Trade): string | undefined {
  if (!trade.lots?.length) return undefined;
  return trade.lots
    .map(
      (lot) =>
        `${formatNumber(lot.units)} units bought ${lot.acquired_on ?? "on an unknown day"}: ` +
        `gain ${money(lot.gain)} (${lot.term} term)`,
    )
    .join("\n");
}

export function TradesTable({ trades, label }: { trades: Trade[]; label: string }) {
  return (
    <div className="sug-scroll">
      <table className="sug-table" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Action</th>
            <th scope="col">Account</th>
            <th scope="col">Symbol</th>
            <th scope="col" className="num">Units</th>
            <th scope="col" className="num">Est. value</th>
            <th scope="col" className="num">Realized gain</th>
            <th scope="col">Rationale</th>
            <th scope="col">Effect</th>
          </tr>
        </thead>
        <tbody>
          {trades.map((t, i) => (
            <tr key={`${t.account}-${t.symbol}-${t.action}-${i}`}>
              <td>
                <span className={`sug-action ${t.action}`}>{t.action === "buy" ? "Buy" : "Sell"}</span>
              </td>
              <td>{t.account}</td>
              <td>{t.symbol}</td>
              <td className="num" title={t.price ? `at about ${money(t.price)} each` : undefined}>
                {formatNumber(t.units)}
              </td>
              <td className="num">{money(t.value)}</td>
              <td className="num" title={lotsTitle(t)}>
                {money(t.realized_gain)}
              </td>
              <td className="sug-text">{t.rationale}</td>
              <td className="sug-text">
                <EffectText effect={t.effect} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Trades below the minimum trade value, listed collapsed. */
export function DroppedTrades({ trades, minTrade }: { trades: Trade[]; minTrade: string | undefined }) {
  if (!trades.length) return null;
  const n = trades.length;
  return (
    <details className="sug-details">
      <summary>
        {n} {n === 1 ? "trade" : "trades"} below the minimum{minTrade ? ` of ${money(minTrade)}` : ""} dropped
      </summary>
      <TradesTable trades={trades} label="Dropped trades" />
    </details>
  );
}

const pct = (v: string | number | null | undefined) =>
  v === null || v === undefined || v === "" ? "—" : formatPercent(Number(v), undefined, 1);

export function BucketsTable({ buckets, label = "Buckets" }: { buckets: Bucket[]; label?: string }) {
  return (
    <table className="sug-table sug-buckets" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Bucket</th>
          <th scope="col" className="num">Target</th>
          <th scope="col" className="num">Now</th>
          <th scope="col" className="num">After</th>
        </tr>
      </thead>
      <tbody>
        {buckets.map((b) => (
          <tr key={b.bucket}>
            <th scope="row">{b.bucket}</th>
            <td className="num">{pct(b.target)}</td>
            <td className="num">{pct(b.before)}</td>
            <td className="num">{pct(b.after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Notes({ notes, label }: { notes: string[] | undefined; label: string }) {
  if (!notes?.length) return null;
  return (
    <ul className="sug-notes" aria-label={label}>
      {notes.map((n, i) => (
        <li key={i}>{n}</li>
      ))}
    </ul>
  );
}

const SOURCE_NAMES: Record<OrdersSource, string> = {
  rebalance: "rebalancing",
  harvest: "tax-loss harvesting",
  optimize: "optimized allocation",
};

/** A link that downloads the section's orders as CSV for the broker. */
export function ExportOrders({ source, query }: { source: OrdersSource; query?: HarvestQuery | string | null }) {
  return (
    <a
      className="sug-export"
      href={ordersCsvUrl(source, query)}
      download
      title="A list to take to your broker: quantdesk never places orders."
      data-testid={`export-${source}`}
    >
      Export orders (CSV)<span className="sug-hidden"> of the {SOURCE_NAMES[source]}</span>
    </a>
  );
}
