/**
 * The dashboard ("/"): headline metric cards, allocation (asset class then asset, and
 * account), performance against the benchmark and the drawdown, with stale or missing
 * prices flagged. The three requests go out in parallel and each part renders as soon
 * as its own answer is in (cards do not wait for charts; Plotly loads lazily). While the
 * page is open everything refetches every minute.
 */
import { keepPreviousData, useQuery, useQueryClient, type UseQueryResult } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import type { Data, Layout } from "plotly.js-dist-min";
import { get, post } from "../../api/client";
import type { Analytics, HistoryPoint, HoldingsOut } from "../../api/types";
import { describe as describeError, useReportError } from "../../components/errors";
import { MetricCards } from "../../components/MetricCards";
import { PlotlyChart } from "../../components/PlotlyChart";
import { useTheme } from "../../components/theme";
import { formatMoney, formatPercent, userLocale } from "../../format/format";
import {
  allocate,
  dayChange,
  groupBy,
  stalePrices,
  sunburstNodes,
  type Allocation,
} from "./dashboardLogic";
import "./dashboard.css";

const REFRESH_MS = 60_000;
// The periods the API takes (GET /analytics ?period=); ALL is since the first transaction.
const PERIODS = ["1M", "3M", "YTD", "1Y", "3Y", "5Y", "ALL"] as const;
type Period = (typeof PERIODS)[number];

const live = { refetchInterval: REFRESH_MS, placeholderData: keepPreviousData } as const;

function useHoldings() {
  return useQuery({
    queryKey: ["holdings", { consolidated: false }],
    queryFn: ({ signal }) => get<HoldingsOut>("/holdings", { consolidated: false }, signal),
    ...live,
  });
}

function useAnalytics(period: Period) {
  return useQuery({
    queryKey: ["analytics", "summary", { period }],
    queryFn: ({ signal }) => get<Analytics>("/analytics", { period }, signal),
    ...live,
  });
}

function useHistory(period: Period) {
  return useQuery({
    queryKey: ["analytics", "history", { period }],
    queryFn: ({ signal }) => get<HistoryPoint[]>("/analytics/history", { period }, signal),
    ...live,
  });
}

/**
 * Live prices: every minute while the page is open, ask the server to refresh the quotes
 * and closes of the user's instruments (its price cache makes one upstream call per
 * provider batch per TTL, however many pages ask), then reload what they move.
 */
function useLivePrices() {
  const client = useQueryClient();
  const report = useReportError();
  useEffect(() => {
    const timer = window.setInterval(() => {
      post("/prices/refresh")
        .catch((error: unknown) => report(error, "Refreshing prices failed"))
        .finally(() => {
          void client.invalidateQueries({ queryKey: ["holdings"] });
          void client.invalidateQueries({ queryKey: ["analytics"] });
        });
    }, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [client, report]);
}

/** Every failure reaches the banner (once per failure), besides the inline alert. */
function useReported(query: UseQueryResult<unknown>, what: string) {
  const report = useReportError();
  useEffect(() => {
    if (query.error) report(query.error, what);
  }, [query.error, query.errorUpdatedAt, report, what]);
}

function Failed({ query, what }: { query: UseQueryResult<unknown>; what: string }) {
  if (!query.error) return null;
  return (
    <p className="error dashboard-failed" role="alert">
      {what}: {describeError(query.error)}{" "}
      <button className="ghost" onClick={() => void query.refetch()}>
        Retry
      </button>
    </p>
  );
}

function Pending({ height = 320 }: { height?: number }) {
  return (
    <div className="dashboard-pending" style={{ minHeight: height }} aria-busy="true">
      Loading…
    </div>
  );
}

interface Palette {
  accent: string;
  benchmark: string;
  down: string;
  grid: string;
  panel: string;
  leafOpacity: number;
}

const PALETTES: Record<"light" | "dark", Palette> = {
  light: { accent: "#2563eb", benchmark: "#6b7280", down: "#b91c1c", grid: "#e5e5e5", panel: "#ffffff", leafOpacity: 0.8 },
  dark: { accent: "#60a5fa", benchmark: "#9aa4b1", down: "#f87171", grid: "#333333", panel: "#1b1f26", leafOpacity: 1 },
};

export function DashboardPage() {
  const [period, setPeriod] = useState<Period>("ALL");
  const holdings = useHoldings();
  const analytics = useAnalytics(period);
  const history = useHistory(period);
  useLivePrices();
  useReported(holdings, "Loading the holdings failed");
  useReported(analytics, "Loading the analytics failed");
  useReported(history, "Loading the value history failed");

  const { theme } = useTheme();
  const palette = PALETTES[theme];
  const currency = holdings.data?.total_in_base.currency;
  const change = useMemo(() => dayChange(history.data), [history.data]);
  const allocation = useMemo(() => (holdings.data ? allocate(holdings.data) : undefined), [holdings.data]);
  const stale = useMemo(
    () => (holdings.data ? stalePrices(holdings.data.holdings, holdings.data.as_of) : []),
    [holdings.data],
  );
  const updated = Math.max(holdings.dataUpdatedAt, analytics.dataUpdatedAt, history.dataUpdatedAt);
  // The cards need the base currency: they show once both answers are in (asked in
  // parallel); if the holdings fail the cards still show, in the server's base, unnamed.
  const cardsReady = analytics.data && (currency !== undefined || holdings.isError);

  return (
    <div className="dashboard">
      <div className="dashboard-head">
        <h1>Dashboard</h1>
        <label className="dashboard-period">
          Period
          <select value={period} onChange={(e) => setPeriod(e.target.value as Period)}>
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <span className="spacer" />
        <small className="dashboard-asof" data-testid="as-of">
          {updated > 0
            ? `as of ${new Date(updated).toLocaleTimeString(userLocale(), { hour: "2-digit", minute: "2-digit", second: "2-digit" })}`
            : "loading…"}
          {(holdings.isFetching || analytics.isFetching || history.isFetching) && updated > 0 ? " · updating" : ""}
          {" · refreshes every minute"}
        </small>
      </div>

      {stale.length > 0 && (
        <p className="warning dashboard-warning" data-testid="stale-prices">
          ⚠ Stale or missing prices:{" "}
          {stale.map((s) => `${s.symbol} in ${s.account} (${s.problem})`).join("; ")}. Values use the last
          known price; a holding without a price is left out of the allocation.
        </p>
      )}
      {holdings.data?.warnings.map((w) => (
        <p key={w} className="warning dashboard-warning">
          ⚠ {w}
        </p>
      ))}
      <Failed query={analytics} what="Loading the analytics failed" />

      <MetricCards
        analytics={cardsReady ? analytics.data : undefined}
        currency={currency ?? ""}
        dayChange={change}
      />

      <section className="charts" aria-label="Allocation">
        <div className="panel">
          <h2>Allocation by asset class</h2>
          <Failed query={holdings} what="Loading the holdings failed" />
          {allocation ? (
            <ClassChart allocation={allocation} currency={currency ?? ""} palette={palette} />
          ) : (
            !holdings.error && <Pending />
          )}
          {allocation && allocation.excluded.length > 0 && (
            <p className="warning dashboard-excluded" data-testid="excluded">
              Not in the allocation:{" "}
              {allocation.excluded.map((e) => `${e.symbol} in ${e.account} (${e.reason})`).join("; ")}.
            </p>
          )}
        </div>
        <div className="panel">
          <h2>Allocation by account</h2>
          <Failed query={holdings} what="Loading the holdings failed" />
          {allocation ? (
            <AccountChart allocation={allocation} currency={currency ?? ""} palette={palette} />
          ) : (
            !holdings.error && <Pending />
          )}
        </div>
      </section>

      <section className="charts" aria-label="Performance">
        <div className="panel">
          <h2>
            Performance vs {analytics.data ? (analytics.data.benchmark ?? "no benchmark") : "benchmark"}
          </h2>
          <Failed query={history} what="Loading the value history failed" />
          {history.data ? (
            <PerformanceChart history={history.data} benchmark={analytics.data?.benchmark ?? null} palette={palette} />
          ) : (
            !history.error && <Pending />
          )}
        </div>
        <div className="panel">
          <h2>Drawdown</h2>
          <Failed query={history} what="Loading the value history failed" />
          {history.data ? (
            <DrawdownChart history={history.data} palette={palette} />
          ) : (
            !history.error && <Pending />
          )}
        </div>
      </section>
    </div>
  );
}

const share = (value: number, total: number) => formatPercent(total > 0 ? value / total : null, undefined, 1);

function Empty({ children }: { children: string }) {
  return <p className="dashboard-empty">{children}</p>;
}

function ClassChart({ allocation, currency, palette }: { allocation: Allocation; currency: string; palette: Palette }) {
  const data = useMemo<Data[]>(() => {
    const nodes = sunburstNodes(allocation.valued);
    return [
      {
        type: "sunburst",
        ...nodes,
        branchvalues: "total",
        sort: false,
        customdata: nodes.values.map((v) => `${formatMoney(v, currency)} · ${share(v, allocation.total)}`),
        hovertemplate: "<b>%{label}</b><br>%{customdata}<extra></extra>",
        textinfo: "label+percent root",
        // over a dark panel a translucent leaf darkens and its auto-contrast text is lost
        leaf: { opacity: palette.leafOpacity },
        marker: { line: { color: palette.panel, width: 1 } },
        // the typings predate sunburst's own textinfo flags ("percent root")
      } as unknown as Data,
    ];
  }, [allocation, currency, palette]);
  // labels too small to read are hidden (the hover still names every slice)
  const layout = useMemo<Partial<Layout>>(
    () => ({ margin: { l: 8, r: 8, t: 8, b: 8 }, uniformtext: { minsize: 10, mode: "hide" } }),
    [],
  );
  if (allocation.valued.length === 0) return <Empty>No priced holdings to allocate.</Empty>;
  return <PlotlyChart title="Allocation by asset class and asset" data={data} layout={layout} />;
}

function AccountChart({ allocation, currency, palette }: { allocation: Allocation; currency: string; palette: Palette }) {
  const data = useMemo<Data[]>(() => {
    const accounts = groupBy(allocation.valued, (v) => v.account);
    return [
      {
        type: "pie",
        hole: 0.55,
        sort: false,
        labels: accounts.map((a) => a.key),
        values: accounts.map((a) => a.value),
        customdata: accounts.map((a) => formatMoney(a.value, currency)),
        hovertemplate: "<b>%{label}</b><br>%{customdata} · %{percent}<extra></extra>",
        textinfo: "label+percent",
        textposition: "outside",
        automargin: true,
        marker: { line: { color: palette.panel, width: 2 } },
      } as Data,
    ];
  }, [allocation, currency, palette]);
  const layout = useMemo<Partial<Layout>>(
    () => ({
      margin: { l: 24, r: 24, t: 24, b: 24 },
      showlegend: false,
      annotations: [
        {
          text: `${formatMoney(allocation.total, currency, undefined, 0)}<br><span style="font-size:11px">${
            allocation.excluded.length > 0 ? "priced, " : ""
          }in ${accountsCount(allocation)}</span>`,
          showarrow: false,
          font: { size: 15 },
        },
      ],
    }),
    [allocation, currency],
  );
  if (allocation.valued.length === 0) return <Empty>No priced holdings to allocate.</Empty>;
  return <PlotlyChart title="Allocation by account" data={data} layout={layout} />;
}

function accountsCount(allocation: Allocation): string {
  const n = new Set(allocation.valued.map((v) => v.account)).size;
  return n === 1 ? "1 account" : `${n} accounts`;
}

function axes(palette: Palette): Partial<Layout> {
  return {
    xaxis: { gridcolor: palette.grid, type: "date" },
    yaxis: { gridcolor: palette.grid, tickformat: ".0%", zerolinecolor: palette.grid, hoverformat: ".2%" },
    hovermode: "x unified",
  };
}

function PerformanceChart({
  history,
  benchmark,
  palette,
}: {
  history: HistoryPoint[];
  benchmark: string | null;
  palette: Palette;
}) {
  const data = useMemo<Data[]>(() => {
    const dates = history.map((p) => p.date);
    const traces: Data[] = [
      {
        type: "scatter",
        mode: "lines",
        name: "Portfolio",
        x: dates,
        y: history.map((p) => p.cumulative_return),
        line: { color: palette.accent, width: 2 },
      },
    ];
    if (benchmark && history.some((p) => p.benchmark_cumulative_return !== null)) {
      traces.push({
        type: "scatter",
        mode: "lines",
        name: benchmark,
        x: dates,
        y: history.map((p) => p.benchmark_cumulative_return),
        line: { color: palette.benchmark, width: 1.5, dash: "dot" },
      });
    }
    return traces;
  }, [history, benchmark, palette]);
  const layout = useMemo<Partial<Layout>>(() => ({ ...axes(palette), legend: { orientation: "h", y: 1.12 } }), [palette]);
  if (history.length === 0) return <Empty>No history yet: add transactions to see performance.</Empty>;
  return <PlotlyChart title={`Cumulative return of the portfolio vs ${benchmark ?? "no benchmark"}`} data={data} layout={layout} />;
}

function DrawdownChart({ history, palette }: { history: HistoryPoint[]; palette: Palette }) {
  const data = useMemo<Data[]>(
    () => [
      {
        type: "scatter",
        mode: "lines",
        name: "Drawdown",
        x: history.map((p) => p.date),
        y: history.map((p) => p.drawdown),
        fill: "tozeroy",
        line: { color: palette.down, width: 1 },
      },
    ],
    [history, palette],
  );
  const layout = useMemo<Partial<Layout>>(() => ({ ...axes(palette), showlegend: false }), [palette]);
  if (history.length === 0) return <Empty>No history yet.</Empty>;
  return <PlotlyChart title="Drawdown from the running peak" data={data} layout={layout} />;
}
