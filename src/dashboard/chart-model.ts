import type { Usage, UsageDay } from './types.js';

/**
 * Layout of the key page's usage chart: one stacked bar per UTC day, one segment per model. Pure
 * geometry (SVG user units), so the browser-free tests can check it; usage-chart.ts draws it.
 */
export type Metric = 'totalTokens' | 'requests' | 'costUsd';

export interface Segment {
  model: string;
  /** Index into the legend (colour class series-<n % SERIES_COLOURS>). */
  series: number;
  value: number;
  y: number;
  height: number;
}

export interface Bar {
  date: string;
  x: number;
  width: number;
  total: number;
  segments: Segment[];
}

export interface ChartModel {
  width: number;
  height: number;
  plot: { left: number; top: number; width: number; height: number };
  /** Top of the y axis: a multiple of a round step, at or above the largest day. */
  max: number;
  ticks: { value: number; y: number }[];
  /** Models by their total over the range, largest first. */
  models: string[];
  bars: Bar[];
  /** Dates labelled under the x axis (not every day when there are many). */
  xLabels: { date: string; x: number }[];
}

export const SERIES_COLOURS = 8;
const WIDTH = 640;
const HEIGHT = 240;
const PLOT = { left: 56, top: 12, right: 12, bottom: 28 };

/** 1, 2 or 5 × a power of ten, at or above `value`. */
export function niceCeil(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value - power * 1e-9) return step * power;
  return 10 * power;
}

export function chartModel(input: { dates: readonly string[]; days: readonly UsageDay[]; metric: Metric }): ChartModel {
  const byDate = new Map(input.days.map((day) => [day.date, day.models]));
  const modelTotals = new Map<string, number>();
  for (const day of input.days) {
    for (const [model, usage] of Object.entries(day.models)) modelTotals.set(model, (modelTotals.get(model) ?? 0) + metricOf(usage, input.metric));
  }
  const models = [...modelTotals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([model]) => model);

  const plot = { left: PLOT.left, top: PLOT.top, width: WIDTH - PLOT.left - PLOT.right, height: HEIGHT - PLOT.top - PLOT.bottom };
  const dayTotals = input.dates.map((date) => Object.values(byDate.get(date) ?? {}).reduce((sum, usage) => sum + metricOf(usage, input.metric), 0));
  // Four or fewer gridlines at a round step; the axis ends at the first step above the largest day.
  const highest = Math.max(0, ...dayTotals);
  const step = niceCeil(highest / 4);
  const max = highest <= 0 ? step : step * Math.ceil(highest / step - 1e-9);
  const scale = (value: number): number => (value / max) * plot.height;
  const slot = input.dates.length === 0 ? plot.width : plot.width / input.dates.length;
  const barWidth = Math.max(2, slot * 0.7);

  const bars = input.dates.map((date, i): Bar => {
    const usages = byDate.get(date) ?? {};
    let top = plot.top + plot.height;
    const segments: Segment[] = [];
    for (const [series, model] of models.entries()) {
      const usage = usages[model];
      const value = usage === undefined ? 0 : metricOf(usage, input.metric);
      if (value <= 0) continue;
      const height = scale(value);
      top -= height;
      segments.push({ model, series, value, y: top, height });
    }
    return { date, x: plot.left + i * slot + (slot - barWidth) / 2, width: barWidth, total: dayTotals[i] ?? 0, segments };
  });

  const ticks = Array.from({ length: Math.round(max / step) + 1 }, (_, i) => ({ value: i * step, y: plot.top + plot.height - scale(i * step) }));
  // At most about eight date labels, always including the last (today).
  const every = Math.max(1, Math.ceil(input.dates.length / 8));
  const xLabels = bars
    .filter((_, i) => (input.dates.length - 1 - i) % every === 0)
    .map((bar) => ({ date: bar.date, x: bar.x + bar.width / 2 }));
  return { width: WIDTH, height: HEIGHT, plot, max, ticks, models, bars, xLabels };
}

export function metricOf(usage: Usage, metric: Metric): number {
  return usage[metric];
}
