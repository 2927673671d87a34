import { LIMIT_NAMES, type LimitName, type LimitSet } from '../config/types.js';
import { usdToTicks } from '../usage/types.js';

/**
 * The limits admission enforces, in LIMIT_NAMES order without maxOutputTokens (the caller checks that one,
 * docs/api.md). This order is the tie-break order of refusals and the order limits travel to the Lua script.
 */
export type EnforcedLimit = Exclude<LimitName, 'maxOutputTokens'>;

export const ENFORCED_LIMITS: readonly EnforcedLimit[] = LIMIT_NAMES.filter((name): name is EnforcedLimit => name !== 'maxOutputTokens');

const COST_LIMITS: ReadonlySet<EnforcedLimit> = new Set(['costPerDayUsd', 'costPerMonthUsd', 'totalCostUsd']);
const PER_MINUTE_LIMITS: ReadonlySet<EnforcedLimit> = new Set(['requestsPerMinute', 'tokensPerMinute']);

export function isCostLimit(limit: EnforcedLimit): boolean {
  return COST_LIMITS.has(limit);
}

/** docs/api.md: per-minute limits are rate limits; day, month, total, cost and concurrency limits are quotas. */
export function refusalCode(limit: EnforcedLimit): 'rate_limit_exceeded' | 'quota_exceeded' {
  return PER_MINUTE_LIMITS.has(limit) ? 'rate_limit_exceeded' : 'quota_exceeded';
}

/** Limits as admission compares them: integers, cost in ticks (1 USD = 1e10), absent = unlimited. */
export type NormalizedLimits = Partial<Record<EnforcedLimit, number>>;

/**
 * Converts a LimitSet (USD for cost limits) to integer units. Counts are floored (a limit of 2.5 requests
 * admits 2). Throws RangeError for a negative or non-finite value: a broken limit must never mean "unlimited".
 */
export function normalizeLimits(limits: LimitSet): NormalizedLimits {
  const normalized: NormalizedLimits = {};
  for (const name of ENFORCED_LIMITS) {
    const value = limits[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`limit ${name} must be a non-negative number`);
    }
    normalized[name] = isCostLimit(name) ? usdToTicks(value) : Math.floor(value);
  }
  return normalized;
}
