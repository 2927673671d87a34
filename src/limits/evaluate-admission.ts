import type { LimitName } from '../config/types.js';
import { ticksToUsd } from '../usage/types.js';
import { ENFORCED_LIMITS, isCostLimit, type EnforcedLimit, type NormalizedLimits } from './enforced-limits.js';
import { retrySecondsUntil, secondsUntil, type Periods } from './periods.js';
import { WINDOW_MS } from './semantics.js';
import type { RateState, WindowState } from './types.js';
import { tpmBucketLeavesAtMs, tpmSecondOf } from './window-math.js';

/**
 * The limit arithmetic of admission (src/limits/semantics.ts), pure. Both limiters read a subject's state
 * atomically (Redis: inside the Lua script, which also makes the admit/refuse decision with the same
 * inequalities as `fits`) and derive the result here: which limit refused, Retry-After and the rate state.
 */

/** One subject's counters at the moment of admission, before this request. null fields = none. */
export interface SubjectState {
  /** requestsPerMinute log entries in the window (kept only where the subject has that limit). */
  rpmCount: number;
  rpmOldestMs: number | null;
  /** Admission ms of the entry whose leaving makes room for one more (window-math rpmReleaseMs). */
  rpmReleaseMs: number | null;
  /** tokensPerMinute window sum (kept only where the subject has that limit). */
  tpmTokens: number;
  tpmOldestSecond: number | null;
  /** Bucket whose leaving makes room for this estimate (window-math tpmReleaseSecond). */
  tpmReleaseSecond: number | null;
  concurrent: number;
  dayRequests: number;
  dayTokens: number;
  dayCostTicks: number;
  monthTokens: number;
  monthCostTicks: number;
  totalTokens: number;
  totalCostTicks: number;
}

/** Field order of a SubjectState as the Lua scripts return it (null encoded as -1). */
export const SUBJECT_STATE_FIELDS = [
  'rpmCount',
  'rpmOldestMs',
  'rpmReleaseMs',
  'tpmTokens',
  'tpmOldestSecond',
  'tpmReleaseSecond',
  'concurrent',
  'dayRequests',
  'dayTokens',
  'dayCostTicks',
  'monthTokens',
  'monthCostTicks',
  'totalTokens',
  'totalCostTicks',
] as const satisfies readonly (keyof SubjectState)[];

/** Decodes a state vector in SUBJECT_STATE_FIELDS order (as the Lua scripts return it; -1 = null). */
export function subjectStateOfVector(values: readonly number[]): SubjectState {
  const get = (field: (typeof SUBJECT_STATE_FIELDS)[number]): number => values[SUBJECT_STATE_FIELDS.indexOf(field)] ?? 0;
  const orNull = (field: (typeof SUBJECT_STATE_FIELDS)[number]): number | null => (get(field) < 0 ? null : get(field));
  return {
    rpmCount: get('rpmCount'),
    rpmOldestMs: orNull('rpmOldestMs'),
    rpmReleaseMs: orNull('rpmReleaseMs'),
    tpmTokens: get('tpmTokens'),
    tpmOldestSecond: orNull('tpmOldestSecond'),
    tpmReleaseSecond: orNull('tpmReleaseSecond'),
    concurrent: get('concurrent'),
    dayRequests: get('dayRequests'),
    dayTokens: get('dayTokens'),
    dayCostTicks: get('dayCostTicks'),
    monthTokens: get('monthTokens'),
    monthCostTicks: get('monthCostTicks'),
    totalTokens: get('totalTokens'),
    totalCostTicks: get('totalCostTicks'),
  };
}

export interface Estimate {
  tokens: number;
  costTicks: number;
}

/** SubjectState fields that are counters (never null). */
export type CounterField = Exclude<keyof SubjectState, 'rpmOldestMs' | 'rpmReleaseMs' | 'tpmOldestSecond' | 'tpmReleaseSecond'>;

/** Which counter each limit compares (mirrored into the Lua scripts, src/limits/lua/common-lua.ts). */
export const USED_FIELD: Readonly<Record<EnforcedLimit, CounterField>> = {
  requestsPerMinute: 'rpmCount',
  requestsPerDay: 'dayRequests',
  tokensPerMinute: 'tpmTokens',
  tokensPerDay: 'dayTokens',
  tokensPerMonth: 'monthTokens',
  costPerDayUsd: 'dayCostTicks',
  costPerMonthUsd: 'monthCostTicks',
  totalTokens: 'totalTokens',
  totalCostUsd: 'totalCostTicks',
  concurrency: 'concurrent',
};

/** What this request adds to each limit: one request/slot, its token estimate, or its cost estimate. */
export const DEMAND_KIND: Readonly<Record<EnforcedLimit, 'request' | 'tokens' | 'cost'>> = {
  requestsPerMinute: 'request',
  requestsPerDay: 'request',
  tokensPerMinute: 'tokens',
  tokensPerDay: 'tokens',
  tokensPerMonth: 'tokens',
  costPerDayUsd: 'cost',
  costPerMonthUsd: 'cost',
  totalTokens: 'tokens',
  totalCostUsd: 'cost',
  concurrency: 'request',
};

/** What a limit has used so far (reservations included), in its own unit. */
export function usedOf(limit: EnforcedLimit, state: SubjectState): number {
  return state[USED_FIELD[limit]];
}

export function demandOf(limit: EnforcedLimit, estimate: Estimate): number {
  switch (DEMAND_KIND[limit]) {
    case 'request': return 1;
    case 'tokens': return estimate.tokens;
    case 'cost': return estimate.costTicks;
  }
}

/** The admission inequality, the same in Lua: used + reserved + demand ≤ limit. */
export function fits(limit: EnforcedLimit, value: number, state: SubjectState, estimate: Estimate): boolean {
  return usedOf(limit, state) + demandOf(limit, estimate) <= value;
}

/** Wait before a retry can succeed; `rank` orders refusals (Infinity = never, concurrency = 0). */
function retryOf(
  limit: EnforcedLimit,
  context: { value: number; state: SubjectState; estimate: Estimate; nowMs: number; periods: RetryPeriods },
): { seconds: number | null; rank: number } {
  const { value, state, estimate, nowMs, periods } = context;
  if (demandOf(limit, estimate) > value) return { seconds: null, rank: Infinity };
  const at = (targetMs: number): { seconds: number; rank: number } => {
    const seconds = retrySecondsUntil(targetMs, nowMs);
    return { seconds, rank: seconds };
  };
  switch (limit) {
    case 'requestsPerMinute':
      return at((state.rpmReleaseMs ?? nowMs) + WINDOW_MS);
    case 'tokensPerMinute':
      return at(tpmBucketLeavesAtMs(state.tpmReleaseSecond ?? tpmSecondOf(nowMs)));
    case 'requestsPerDay':
    case 'tokensPerDay':
    case 'costPerDayUsd':
      return at(periods.dayEndMs);
    case 'tokensPerMonth':
    case 'costPerMonthUsd':
      return at(periods.monthEndMs);
    case 'totalTokens':
    case 'totalCostUsd':
      return { seconds: null, rank: Infinity };
    case 'concurrency':
      return { seconds: null, rank: 0 };
  }
}

export type RetryPeriods = Pick<Periods, 'dayEndMs' | 'monthEndMs'>;

export interface EvaluatedSubject {
  keyId: string;
  limits: NormalizedLimits;
  state: SubjectState;
}

export interface AdmissionInput {
  subjects: readonly EvaluatedSubject[];
  estimate: Estimate;
  nowMs: number;
  periods: RetryPeriods;
}

export type AdmissionVerdict =
  | { admitted: true; rate: RateState; headroom: number }
  | { admitted: false; limit: EnforcedLimit; keyId: string; retryAfterSeconds: number | null; rate: RateState };

export function evaluateAdmission(input: AdmissionInput): AdmissionVerdict {
  let refusal: { limit: EnforcedLimit; keyId: string; seconds: number | null; rank: number } | null = null;
  for (const { keyId, limits, state } of input.subjects) {
    for (const limit of ENFORCED_LIMITS) {
      const value = limits[limit];
      if (value === undefined || fits(limit, value, state, input.estimate)) continue;
      const retry = retryOf(limit, { value, state, estimate: input.estimate, nowMs: input.nowMs, periods: input.periods });
      if (refusal === null || retry.rank > refusal.rank) refusal = { limit, keyId, ...retry };
    }
  }
  const rate = rateStateOf({ subjects: input.subjects, estimate: input.estimate, nowMs: input.nowMs, periods: input.periods, admitted: refusal === null });
  if (refusal === null) return { admitted: true, rate, headroom: headroomOf(input) };
  return { admitted: false, limit: refusal.limit, keyId: refusal.keyId, retryAfterSeconds: refusal.seconds, rate };
}

/**
 * How many more requests like this one every limit would still admit after it (Infinity when no limit bounds
 * them): capacity leases (capacity-leases.ts) lease ahead only far from every limit.
 */
function headroomOf(input: AdmissionInput): number {
  let headroom = Infinity;
  for (const { limits, state } of input.subjects) {
    for (const limit of ENFORCED_LIMITS) {
      const value = limits[limit];
      const demand = demandOf(limit, input.estimate);
      if (value === undefined || demand <= 0) continue;
      headroom = Math.min(headroom, Math.floor((value - usedOf(limit, state) - demand) / demand));
    }
  }
  return Math.max(0, headroom);
}

const REQUEST_HEADER_LIMITS = ['requestsPerMinute', 'requestsPerDay'] as const;
const TOKEN_HEADER_LIMITS = ['tokensPerMinute', 'tokensPerDay', 'tokensPerMonth'] as const;
type HeaderLimit = (typeof REQUEST_HEADER_LIMITS)[number] | (typeof TOKEN_HEADER_LIMITS)[number];

/** Whole seconds until `remaining` of a header limit next grows; 0 when nothing is counted. */
function resetSecondsOf(
  limit: HeaderLimit,
  context: { state: SubjectState; used: number; admitted: boolean; estimate: Estimate; nowMs: number; periods: RetryPeriods },
): number {
  const { state, used, admitted, estimate, nowMs, periods } = context;
  if (used <= 0) return 0;
  switch (limit) {
    case 'requestsPerMinute': {
      const oldestMs = state.rpmCount > 0 ? state.rpmOldestMs : admitted ? nowMs : null;
      return oldestMs === null ? 0 : secondsUntil(oldestMs + WINDOW_MS, nowMs);
    }
    case 'tokensPerMinute': {
      const current = admitted && estimate.tokens > 0 ? tpmSecondOf(nowMs) : null;
      const candidates = [state.tpmOldestSecond, current].filter((second): second is number => second !== null);
      return candidates.length === 0 ? 0 : secondsUntil(tpmBucketLeavesAtMs(Math.min(...candidates)), nowMs);
    }
    case 'requestsPerDay':
    case 'tokensPerDay':
      return secondsUntil(periods.dayEndMs, nowMs);
    case 'tokensPerMonth':
      return secondsUntil(periods.monthEndMs, nowMs);
  }
}

function tightest(
  names: readonly HeaderLimit[],
  input: AdmissionInput & { admitted: boolean },
): WindowState | null {
  let best: WindowState | null = null;
  for (const { limits, state } of input.subjects) {
    for (const limit of names) {
      const value = limits[limit];
      if (value === undefined) continue;
      const used = usedOf(limit, state) + (input.admitted ? demandOf(limit, input.estimate) : 0);
      const remaining = Math.max(0, value - used);
      if (best !== null && remaining >= best.remaining) continue;
      // Fields named, not spread: Node 20's V8 builds a spread of a fresh object slowly, and this runs per request.
      const context = { state, used, admitted: input.admitted, estimate: input.estimate, nowMs: input.nowMs, periods: input.periods };
      best = { limit: value, remaining, resetSeconds: resetSecondsOf(limit, context) };
    }
  }
  return best;
}

/** The x-ratelimit-* view (docs/api.md): tightest request limit and tightest token limit. */
export function rateStateOf(input: AdmissionInput & { admitted: boolean }): RateState {
  return { requests: tightest(REQUEST_HEADER_LIMITS, input), tokens: tightest(TOKEN_HEADER_LIMITS, input) };
}

/** What is left now of each limit (GET /v1/api-key, docs/api.md): counts as integers, cost limits in USD. */
export function remainingOf(limits: NormalizedLimits, state: SubjectState): Partial<Record<LimitName, number>> {
  const remaining: Partial<Record<LimitName, number>> = {};
  for (const limit of ENFORCED_LIMITS) {
    const value = limits[limit];
    if (value === undefined) continue;
    const left = Math.max(0, value - usedOf(limit, state));
    remaining[limit] = isCostLimit(limit) ? ticksToUsd(left) : left;
  }
  return remaining;
}
