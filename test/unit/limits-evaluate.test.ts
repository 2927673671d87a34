import { describe, expect, it } from 'vitest';
import { normalizeLimits, refusalCode, type NormalizedLimits } from '../../src/limits/enforced-limits.js';
import {
  evaluateAdmission,
  fits,
  rateStateOf,
  remainingOf,
  subjectStateOfVector,
  SUBJECT_STATE_FIELDS,
  type EvaluatedSubject,
  type SubjectState,
} from '../../src/limits/evaluate-admission.js';
import { COMMON_LUA } from '../../src/limits/lua/common-lua.js';

const NOW = Date.UTC(2030, 0, 15, 12, 0, 0, 250);
const PERIODS = { dayEndMs: Date.UTC(2030, 0, 16), monthEndMs: Date.UTC(2030, 1, 1) };
const TO_MIDNIGHT = Math.ceil((PERIODS.dayEndMs - NOW) / 1000);
const TO_MONTH_END = Math.ceil((PERIODS.monthEndMs - NOW) / 1000);
const SECOND = Math.floor(NOW / 1000);

function state(partial: Partial<SubjectState> = {}): SubjectState {
  return {
    rpmCount: 0, rpmOldestMs: null, rpmReleaseMs: null, tpmTokens: 0, tpmOldestSecond: null, tpmReleaseSecond: null,
    concurrent: 0, dayRequests: 0, dayTokens: 0, dayCostTicks: 0, monthTokens: 0, monthCostTicks: 0,
    totalTokens: 0, totalCostTicks: 0, ...partial,
  };
}

function evaluate(subjects: EvaluatedSubject[], estimate = { tokens: 100, costTicks: 1000 }) {
  return evaluateAdmission({ subjects, estimate, nowMs: NOW, periods: PERIODS });
}

const subject = (limits: NormalizedLimits, partial: Partial<SubjectState> = {}, keyId = 'key_a'): EvaluatedSubject => ({
  keyId, limits, state: state(partial),
});

describe('normalizeLimits', () => {
  it('floors counts, converts USD to ticks and drops maxOutputTokens', () => {
    expect(normalizeLimits({ requestsPerMinute: 2.7, costPerDayUsd: 0.5, totalCostUsd: 0, maxOutputTokens: 100 })).toEqual({
      requestsPerMinute: 2, costPerDayUsd: 5_000_000_000, totalCostUsd: 0,
    });
  });
  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses %d rather than treating it as unlimited', (value) => {
    expect(() => normalizeLimits({ tokensPerDay: value })).toThrow(RangeError);
  });
});

describe('refusalCode', () => {
  it.each([
    ['requestsPerMinute', 'rate_limit_exceeded'],
    ['tokensPerMinute', 'rate_limit_exceeded'],
    ['requestsPerDay', 'quota_exceeded'],
    ['tokensPerMonth', 'quota_exceeded'],
    ['totalCostUsd', 'quota_exceeded'],
    ['concurrency', 'quota_exceeded'],
  ] as const)('%s → %s', (limit, code) => {
    expect(refusalCode(limit)).toBe(code);
  });
});

describe('fits: used + reserved + demand <= limit', () => {
  const estimate = { tokens: 100, costTicks: 50 };
  it.each([
    ['requestsPerMinute', 4, { rpmCount: 3 }, true],
    ['requestsPerMinute', 3, { rpmCount: 3 }, false],
    ['requestsPerDay', 1, {}, true],
    ['requestsPerDay', 0, {}, false],
    ['tokensPerMinute', 1000, { tpmTokens: 900 }, true],
    ['tokensPerMinute', 1000, { tpmTokens: 901 }, false],
    ['tokensPerDay', 100, {}, true],
    ['tokensPerMonth', 99, {}, false],
    ['totalTokens', 1100, { totalTokens: 1000 }, true],
    ['costPerDayUsd', 50, {}, true],
    ['costPerMonthUsd', 100, { monthCostTicks: 51 }, false],
    ['totalCostUsd', 100, { totalCostTicks: 50 }, true],
    ['concurrency', 2, { concurrent: 1 }, true],
    ['concurrency', 2, { concurrent: 2 }, false],
  ] as const)('%s limit %i with %j → %s', (limit, value, partial, expected) => {
    expect(fits(limit, value, state(partial), estimate)).toBe(expected);
  });
});

describe('evaluateAdmission: refusal and Retry-After', () => {
  it.each([
    ['requestsPerMinute', { requestsPerMinute: 2 }, { rpmCount: 2, rpmOldestMs: NOW - 50_000, rpmReleaseMs: NOW - 50_000 }, 10],
    ['requestsPerMinute', { requestsPerMinute: 2 }, { rpmCount: 2, rpmOldestMs: NOW - 1, rpmReleaseMs: NOW - 1 }, 60],
    ['requestsPerMinute', { requestsPerMinute: 2 }, { rpmCount: 2, rpmOldestMs: NOW - 59_999, rpmReleaseMs: NOW - 59_999 }, 1],
    ['tokensPerMinute', { tokensPerMinute: 150 }, { tpmTokens: 100, tpmOldestSecond: SECOND - 60, tpmReleaseSecond: SECOND - 60 }, 1],
    ['tokensPerMinute', { tokensPerMinute: 150 }, { tpmTokens: 100, tpmOldestSecond: SECOND - 30, tpmReleaseSecond: SECOND - 10 }, 51],
    ['requestsPerDay', { requestsPerDay: 1 }, { dayRequests: 1 }, TO_MIDNIGHT],
    ['tokensPerDay', { tokensPerDay: 150 }, { dayTokens: 100 }, TO_MIDNIGHT],
    ['costPerDayUsd', { costPerDayUsd: 1500 }, { dayCostTicks: 1000 }, TO_MIDNIGHT],
    ['tokensPerMonth', { tokensPerMonth: 150 }, { monthTokens: 100 }, TO_MONTH_END],
    ['costPerMonthUsd', { costPerMonthUsd: 1500 }, { monthCostTicks: 600 }, TO_MONTH_END],
    ['totalTokens', { totalTokens: 150 }, { totalTokens: 100 }, null],
    ['totalCostUsd', { totalCostUsd: 1500 }, { totalCostTicks: 600 }, null],
    ['concurrency', { concurrency: 1 }, { concurrent: 1 }, null],
    ['tokensPerMinute', { tokensPerMinute: 99 }, {}, null], // estimate 100 can never fit
    ['requestsPerDay', { requestsPerDay: 0 }, {}, null],
  ] as const)('%s refuses with Retry-After %s', (limit, limits, partial, retry) => {
    const verdict = evaluate([subject(limits, partial)]);
    expect(verdict).toMatchObject({ admitted: false, limit, keyId: 'key_a', retryAfterSeconds: retry });
  });

  it('reports the longest wait: total > month > day > minute > concurrency', () => {
    const full = {
      rpmCount: 1, rpmOldestMs: NOW - 1000, rpmReleaseMs: NOW - 1000, concurrent: 1, dayTokens: 100, monthTokens: 100, totalTokens: 100,
    };
    const cases: [NormalizedLimits, string][] = [
      [{ requestsPerMinute: 1, concurrency: 1 }, 'requestsPerMinute'],
      [{ requestsPerMinute: 1, concurrency: 1, tokensPerDay: 150 }, 'tokensPerDay'],
      [{ requestsPerMinute: 1, tokensPerDay: 150, tokensPerMonth: 150 }, 'tokensPerMonth'],
      [{ tokensPerMonth: 150, totalTokens: 150, concurrency: 1 }, 'totalTokens'],
    ];
    for (const [limits, expected] of cases) expect(evaluate([subject(limits, full)])).toMatchObject({ admitted: false, limit: expected });
  });

  it('breaks ties by subject order, then limit order', () => {
    const verdict = evaluate([
      subject({ tokensPerDay: 150, costPerDayUsd: 1500 }, { dayTokens: 100, dayCostTicks: 1000 }, 'key_child'),
      subject({ tokensPerDay: 150 }, { dayTokens: 100 }, 'key_parent'),
    ]);
    expect(verdict).toMatchObject({ admitted: false, limit: 'tokensPerDay', keyId: 'key_child' });
  });

  it("refuses on the parent's limit when only the parent is full", () => {
    const verdict = evaluate([subject({ tokensPerDay: 10_000 }, {}, 'key_child'), subject({ tokensPerDay: 150 }, { dayTokens: 100 }, 'key_parent')]);
    expect(verdict).toMatchObject({ admitted: false, limit: 'tokensPerDay', keyId: 'key_parent' });
  });

  it('admits when every limit of every subject has room, with no limits at all too', () => {
    expect(evaluate([subject({ tokensPerDay: 200 }, { dayTokens: 100 })]).admitted).toBe(true);
    expect(evaluate([subject({})])).toEqual({ admitted: true, rate: { requests: null, tokens: null }, headroom: Infinity });
  });

  it('reports headroom: how many more requests like this one the tightest limit of any subject admits after it', () => {
    // requests: 10 − 3 − 1 = 6 more; tokens: (1000 − 400 − 100) / 100 = 5 more; cost (ticks): (10000 − 0 − 1000) / 1000 = 9 more.
    const verdict = evaluate([
      subject({ requestsPerDay: 10, costPerDayUsd: 10_000 }, { dayRequests: 3 }, 'key_child'),
      subject({ tokensPerDay: 1000 }, { dayTokens: 400 }, 'key_parent'),
    ]);
    expect(verdict).toMatchObject({ admitted: true, headroom: 5 });
    expect(evaluate([subject({ concurrency: 4 }, { concurrent: 3 })])).toMatchObject({ admitted: true, headroom: 0 });
    // A limit the request adds nothing to (no tokens estimated) does not bound it.
    expect(evaluate([subject({ tokensPerDay: 1 })], { tokens: 0, costTicks: 0 })).toMatchObject({ admitted: true, headroom: Infinity });
  });
});

describe('rateStateOf: tightest limit for the x-ratelimit headers', () => {
  const rate = (subjects: EvaluatedSubject[], admitted: boolean, tokens = 100) =>
    rateStateOf({ subjects, estimate: { tokens, costTicks: 0 }, nowMs: NOW, periods: PERIODS, admitted });

  it('counts this request when admitted, not when refused, never below 0', () => {
    const s = subject({ requestsPerMinute: 5, tokensPerDay: 1000 }, { rpmCount: 2, rpmOldestMs: NOW - 30_000, dayTokens: 950 });
    expect(rate([s], true)).toEqual({
      requests: { limit: 5, remaining: 2, resetSeconds: 30 },
      tokens: { limit: 1000, remaining: 0, resetSeconds: TO_MIDNIGHT },
    });
    expect(rate([s], false)).toEqual({
      requests: { limit: 5, remaining: 3, resetSeconds: 30 },
      tokens: { limit: 1000, remaining: 50, resetSeconds: TO_MIDNIGHT },
    });
  });

  it('picks the smallest remaining across subjects; ties keep the first', () => {
    const child = subject({ requestsPerMinute: 10, requestsPerDay: 4 }, { dayRequests: 1 }, 'key_child');
    const parent = subject({ requestsPerMinute: 3, tokensPerMinute: 500, tokensPerMonth: 10_000 }, {}, 'key_parent');
    expect(rate([child, parent], true)).toEqual({
      requests: { limit: 4, remaining: 2, resetSeconds: TO_MIDNIGHT },
      tokens: { limit: 500, remaining: 400, resetSeconds: 61 },
    });
  });

  it('resets: first request in a window → 60 s; nothing counted → 0; lifetime totals are no header', () => {
    expect(rate([subject({ requestsPerMinute: 5 })], true).requests).toEqual({ limit: 5, remaining: 4, resetSeconds: 60 });
    expect(rate([subject({ requestsPerMinute: 5, tokensPerMinute: 10 })], false)).toEqual({
      requests: { limit: 5, remaining: 5, resetSeconds: 0 },
      tokens: { limit: 10, remaining: 10, resetSeconds: 0 },
    });
    expect(rate([subject({ tokensPerMinute: 10 }, { tpmTokens: 4, tpmOldestSecond: SECOND - 20 })], true, 0).tokens).toEqual({
      limit: 10, remaining: 6, resetSeconds: 41,
    });
    expect(rate([subject({ totalTokens: 5, totalCostUsd: 5, concurrency: 1 })], true)).toEqual({ requests: null, tokens: null });
  });
});

describe('remainingOf', () => {
  it('answers each enforced limit, cost in USD, never negative', () => {
    const limits = normalizeLimits({ requestsPerMinute: 10, tokensPerDay: 100, costPerMonthUsd: 2, totalCostUsd: 1, concurrency: 3, maxOutputTokens: 9 });
    const used = state({ rpmCount: 4, dayTokens: 150, monthCostTicks: 5_000_000_000, totalCostTicks: 1, concurrent: 1 });
    expect(remainingOf(limits, used)).toEqual({
      requestsPerMinute: 6, tokensPerDay: 0, costPerMonthUsd: 1.5, totalCostUsd: 0.9999999999, concurrency: 2,
    });
  });
});

describe('state vectors shared with Lua', () => {
  it('decode in SUBJECT_STATE_FIELDS order with -1 as null', () => {
    const values = SUBJECT_STATE_FIELDS.map((_, index) => index + 1);
    values[1] = -1;
    const decoded = subjectStateOfVector(values);
    expect(decoded.rpmCount).toBe(1);
    expect(decoded.rpmOldestMs).toBeNull();
    expect(decoded.totalCostTicks).toBe(SUBJECT_STATE_FIELDS.length);
  });

  it('generates the Lua limit tables from the TypeScript ones', () => {
    expect(COMMON_LUA).toContain('local USED_FIELD = { 1, 8, 4, 9, 11, 10, 12, 13, 14, 7 }');
    expect(COMMON_LUA).toContain('local DEMAND = { 0, 0, 1, 1, 1, 2, 2, 1, 2, 0 }');
    expect(COMMON_LUA).toContain('local TPM_WINDOW_BUCKETS = 61');
  });
});
