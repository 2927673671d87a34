import type { LimitName, LimitSet } from '../config/types.js';
import type { ActivityTotals } from './report.js';

/** A key at or above this share of a day or month budget shows among the keys close to a limit. */
export const NEAR_LIMIT_SHARE = 0.8;

export interface NearLimit {
  limit: LimitName;
  period: 'day' | 'month';
  used: number;
  max: number;
  /** used / max. */
  share: number;
}

/** The measures of a day's or a month's totals that a budget limit bounds. */
const BUDGETS: readonly { limit: LimitName; period: 'day' | 'month'; used: (t: ActivityTotals) => number }[] = [
  { limit: 'requestsPerDay', period: 'day', used: (t) => t.requests },
  { limit: 'tokensPerDay', period: 'day', used: (t) => t.totalTokens },
  { limit: 'costPerDayUsd', period: 'day', used: (t) => t.costTicks / 1e10 },
  { limit: 'tokensPerMonth', period: 'month', used: (t) => t.totalTokens },
  { limit: 'costPerMonthUsd', period: 'month', used: (t) => t.costTicks / 1e10 },
];

/**
 * The budgets of `limits` that today's or this month's usage has brought within NEAR_LIMIT_SHARE of their
 * maximum, closest first. Usage counts settled requests only; requests in flight are not in it yet.
 */
export function nearLimits(limits: LimitSet, usage: { day: ActivityTotals; month: ActivityTotals }): NearLimit[] {
  const found: NearLimit[] = [];
  for (const budget of BUDGETS) {
    const max = limits[budget.limit];
    if (max === undefined || max <= 0) continue;
    const used = budget.used(budget.period === 'day' ? usage.day : usage.month);
    const share = used / max;
    if (share >= NEAR_LIMIT_SHARE) found.push({ limit: budget.limit, period: budget.period, used, max, share });
  }
  return found.sort((a, b) => b.share - a.share);
}
