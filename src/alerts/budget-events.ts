import { createHash } from 'node:crypto';
import type { LimitName, LimitSet } from '../config/types.js';
import type { AlertEvent } from './types.js';

/** The limits a budget threshold applies to (docs/alerts.md: any token or cost limit of a day, month or total). */
const BUDGET_LIMITS: readonly { limit: LimitName; period: 'day' | 'month' | 'total'; measure: 'tokens' | 'costUsd' }[] = [
  { limit: 'tokensPerDay', period: 'day', measure: 'tokens' },
  { limit: 'costPerDayUsd', period: 'day', measure: 'costUsd' },
  { limit: 'tokensPerMonth', period: 'month', measure: 'tokens' },
  { limit: 'costPerMonthUsd', period: 'month', measure: 'costUsd' },
  { limit: 'totalTokens', period: 'total', measure: 'tokens' },
  { limit: 'totalCostUsd', period: 'total', measure: 'costUsd' },
];

/** What a key has used per period: settled usage for days and months; lifetime counters for totals. */
export interface BudgetUsage {
  day: { id: string; tokens: number; costUsd: number };
  month: { id: string; tokens: number; costUsd: number };
  /** null when the key has no total limit (not read). */
  total: { tokens: number; costUsd: number } | null;
}

export function hasBudgetLimits(limits: LimitSet): boolean {
  return BUDGET_LIMITS.some(({ limit }) => (limits[limit] ?? 0) > 0);
}

export function hasTotalLimits(limits: LimitSet): boolean {
  return (limits.totalTokens ?? 0) > 0 || (limits.totalCostUsd ?? 0) > 0;
}

/** An id that every instance derives alike for the same occurrence (the dispatcher sends each id once). */
export function eventId(...parts: readonly (string | number)[]): string {
  return `evt_${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 24)}`;
}

/**
 * The `budget.threshold` events a key's usage has reached: one per limit, period and threshold at or below the
 * share used. Events already sent are filtered by id downstream, so this may list the same one many times.
 */
export function budgetEvents(input: { keyId: string; limits: LimitSet; usage: BudgetUsage; thresholds: readonly number[]; at: string }): AlertEvent[] {
  const events: AlertEvent[] = [];
  for (const { limit, period, measure } of BUDGET_LIMITS) {
    const max = input.limits[limit];
    if (max === undefined || max <= 0) continue;
    const source = period === 'total' ? input.usage.total : input.usage[period];
    if (source === null) continue;
    const used = source[measure];
    const periodId = period === 'total' ? 'total' : input.usage[period].id;
    for (const threshold of input.thresholds) {
      // A tiny tolerance: cost sums of ticks divided back to USD may land a hair below an exact threshold.
      if (used + 1e-12 < threshold * max) continue;
      events.push({
        id: eventId('budget.threshold', input.keyId, limit, periodId, threshold),
        type: 'budget.threshold',
        at: input.at,
        keyId: input.keyId,
        data: { limit, threshold, used, max, period: periodId },
      });
    }
  }
  return events;
}

/** `key.expiring` once a key's expiry is within `withinDays`, or null. One event per key and expiry. */
export function expiringEvent(input: { keyId: string; expiresAt: string | null; withinDays: number; nowMs: number }): AlertEvent | null {
  if (input.expiresAt === null) return null;
  const expiresMs = Date.parse(input.expiresAt);
  if (Number.isNaN(expiresMs) || expiresMs <= input.nowMs || expiresMs - input.nowMs > input.withinDays * 86_400_000) return null;
  return {
    id: eventId('key.expiring', input.keyId, input.expiresAt),
    type: 'key.expiring',
    at: new Date(input.nowMs).toISOString(),
    keyId: input.keyId,
    data: { expiresAt: input.expiresAt },
  };
}
