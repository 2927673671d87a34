import { errorRate, type ActivityReport, type ActivityTotals } from './report.js';

/**
 * Usage in the docs/api.md shape: `U = {requests, promptTokens, completionTokens, reasoningTokens, cachedTokens,
 * totalTokens, costUsd, refused, failed}`.
 */
export interface UsageView {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  totalTokens: number;
  costUsd: number;
  refused: number;
  failed: number;
}

/** The fields of U in order: the JSON keys, and the CSV columns after key, date and model. */
export const USAGE_VIEW_FIELDS = ['requests', 'promptTokens', 'completionTokens', 'reasoningTokens', 'cachedTokens', 'totalTokens', 'costUsd', 'refused', 'failed'] as const satisfies readonly (keyof UsageView)[];

export function usageView(totals: ActivityTotals): UsageView {
  return {
    requests: totals.requests,
    promptTokens: totals.promptTokens,
    completionTokens: totals.completionTokens,
    reasoningTokens: totals.reasoningTokens,
    cachedTokens: totals.cachedTokens,
    totalTokens: totals.totalTokens,
    // Ticks are exact integers; USD is derived once, here, at the API boundary.
    costUsd: totals.costTicks / 1e10,
    refused: totals.refused,
    failed: totals.failed,
  };
}

export interface UsageReportView {
  keyId: string;
  from: string;
  to: string;
  totals: UsageView;
  errorRate: number;
  days: { date: string; models: Record<string, UsageView> }[];
}

export function usageReportView(report: ActivityReport): UsageReportView {
  return {
    keyId: report.keyId,
    from: report.from,
    to: report.to,
    totals: usageView(report.totals),
    errorRate: errorRate(report.totals),
    days: report.days.map((day) => ({
      date: day.date,
      models: Object.fromEntries(Object.entries(day.models).map(([model, totals]) => [model, usageView(totals)])),
    })),
  };
}

/** A CSV field: quoted when it holds a comma, quote or line break; a leading =+-@ is defused for spreadsheets. */
function csvField(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** `text/csv`: a header row, then one row per key, day and model with the fields of U (docs/api.md). */
export function usageCsv(reports: readonly UsageReportView[]): string {
  const lines = [['keyId', 'date', 'model', ...USAGE_VIEW_FIELDS].join(',')];
  for (const report of reports) {
    for (const day of report.days) {
      for (const [model, u] of Object.entries(day.models)) {
        lines.push([report.keyId, day.date, model, ...USAGE_VIEW_FIELDS.map((field) => u[field])].map(csvField).join(','));
      }
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
