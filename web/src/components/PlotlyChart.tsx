/**
 * The one wrapper of Plotly.js: the rest of the UI passes data and layout and never
 * imports Plotly. Plotly (3 MB) is loaded on first use, so cards and grids render first.
 */
import { useEffect, useRef } from "react";
import type { Config, Data, Layout } from "plotly.js-dist-min";
import { useTheme } from "./theme";
import { useReportError } from "./errors";

type PlotlyModule = typeof import("plotly.js-dist-min");
let loading: Promise<PlotlyModule> | null = null;
const loadPlotly = () => (loading ??= import("plotly.js-dist-min").then((m) => (m as { default?: PlotlyModule }).default ?? m));

export interface PlotlyChartProps {
  data: Data[];
  layout?: Partial<Layout>;
  config?: Partial<Config>;
  /** Accessible name of the chart. */
  title: string;
  height?: number;
}

export function PlotlyChart({ data, layout, config, title, height = 320 }: PlotlyChartProps) {
  const element = useRef<HTMLDivElement>(null);
  const { theme } = useTheme();
  const report = useReportError();

  useEffect(() => {
    let cancelled = false;
    const target = element.current;
    const dark = theme === "dark";
    loadPlotly()
      .then((Plotly) => {
        if (cancelled || !target) return;
        return Plotly.react(
          target,
          data,
          {
            autosize: true,
            height,
            margin: { l: 56, r: 16, t: 24, b: 40 },
            paper_bgcolor: "rgba(0,0,0,0)",
            plot_bgcolor: "rgba(0,0,0,0)",
            font: { color: dark ? "#e6e6e6" : "#222", size: 12 },
            xaxis: { gridcolor: dark ? "#333" : "#e5e5e5" },
            yaxis: { gridcolor: dark ? "#333" : "#e5e5e5" },
            legend: { orientation: "h" },
            ...layout,
          },
          { displaylogo: false, responsive: true, ...config },
        );
      })
      .catch((error: unknown) => report(error, `Chart "${title}" could not be drawn`));
    return () => {
      cancelled = true;
    };
  }, [data, layout, config, theme, height, title, report]);

  useEffect(() => {
    const target = element.current;
    return () => {
      if (target) void loadPlotly().then((Plotly) => Plotly.purge(target));
    };
  }, []);

  return <div ref={element} role="img" aria-label={title} className="chart" style={{ minHeight: height }} />;
}
