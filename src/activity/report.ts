import type { UsageReport, UsageTotals } from '../limits/types.js';
import { addTotals, zeroTotals } from '../limits/usage-totals.js';
import type { OutcomeCounts, OutcomeDays } from './types.js';

/** Usage totals with the refused and failed counts beside them (docs/api.md `U`, in ticks). */
export type ActivityTotals = UsageTotals & OutcomeCounts;

export interface ActivityReport {
  keyId: string;
  from: string;
  to: string;
  totals: ActivityTotals;
  /** Days with usage or outcomes, ascending. */
  days: { date: string; models: Record<string, ActivityTotals> }[];
}

export function zeroActivity(): ActivityTotals {
  return { ...zeroTotals(), refused: 0, failed: 0 };
}

export function addActivity(a: ActivityTotals, b: ActivityTotals): ActivityTotals {
  return { ...addTotals(a, b), refused: a.refused + b.refused, failed: a.failed + b.failed };
}

/**
 * A usage report with a key's outcome counts merged in, day by day and model by model. A day on which every
 * request was refused has no usage, and appears here all the same.
 */
export function withOutcomes(report: UsageReport, outcomes: OutcomeDays): ActivityReport {
  const days = new Map<string, Record<string, ActivityTotals>>();
  for (const day of report.days) {
    days.set(day.date, Object.fromEntries(Object.entries(day.models).map(([model, totals]) => [model, { ...totals, refused: 0, failed: 0 }])));
  }
  for (const [date, models] of outcomes) {
    if (date < report.from || date > report.to) continue;
    const day = days.get(date) ?? {};
    for (const [model, counts] of models) {
      const totals = Object.hasOwn(day, model) ? (day[model] as ActivityTotals) : zeroActivity();
      day[model] = { ...totals, refused: totals.refused + counts.refused, failed: totals.failed + counts.failed };
    }
    days.set(date, day);
  }
  const sorted = [...days].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([date, models]) => ({ date, models }));
  let totals = zeroActivity();
  for (const day of sorted) for (const model of Object.values(day.models)) totals = addActivity(totals, model);
  return { keyId: report.keyId, from: report.from, to: report.to, totals, days: sorted };
}

/** Share of a key's authenticated requests that did not succeed: (refused + failed) / (sent upstream + refused). */
export function errorRate(totals: ActivityTotals): number {
  const attempts = totals.requests + totals.refused;
  return attempts === 0 ? 0 : (totals.refused + totals.failed) / attempts;
}
