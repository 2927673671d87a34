import type { UsageReport, UsageTotals } from '../limits/types.js';

/** Usage in the SPEC §6 shape: `U = {requests, promptTokens, completionTokens, reasoningTokens, cachedTokens, totalTokens, costUsd}`. */
export type UsageView = Omit<UsageTotals, 'costTicks'> & { costUsd: number };

export function usageView(totals: UsageTotals): UsageView {
  return {
    requests: totals.requests,
    promptTokens: totals.promptTokens,
    completionTokens: totals.completionTokens,
    reasoningTokens: totals.reasoningTokens,
    cachedTokens: totals.cachedTokens,
    totalTokens: totals.totalTokens,
    // Ticks are exact integers; USD is derived once, here, at the API boundary.
    costUsd: totals.costTicks / 1e10,
  };
}

export function usageReportView(report: UsageReport): unknown {
  return {
    keyId: report.keyId,
    from: report.from,
    to: report.to,
    totals: usageView(report.totals),
    days: report.days.map((day) => ({
      date: day.date,
      models: Object.fromEntries(Object.entries(day.models).map(([model, totals]) => [model, usageView(totals)])),
    })),
  };
}
