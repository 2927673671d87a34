import { admissionResultOf, estimateOf } from './admission-result.js';
import { normalizeLimits, type NormalizedLimits } from './enforced-limits.js';
import { evaluateAdmission, remainingOf } from './evaluate-admission.js';
import {
  adjustCounters,
  currentCounters,
  giveBackRequest,
  isStaleMark,
  keyDataOf,
  reap,
  readState,
  type FamilyData,
  type KeyData,
} from './memory-state.js';
import { dayIdOfNumber, periodsAt, type Periods } from './periods.js';
import { USAGE_RETENTION_DAYS } from './semantics.js';
import type { AdmissionRequest, Limiter } from './types.js';
import { buildUsageReport, modelsOfDayRecord, parseUsageRange, usageFieldIncrements } from './usage-totals.js';
import { assertAdmissionRequest, assertCount, assertId, assertRequestId, assertUsage } from './validate-input.js';
import { tpmSecondOf } from './window-math.js';

/**
 * The Limiter in process: one gateway instance, state lost on restart (docs/configuration.md). Same semantics as the Redis
 * limiter (src/limits/semantics.ts), step for step: each method runs synchronously to completion, which
 * makes it atomic within the process.
 */
/** Mirrors the write half of the ADMIT script: buckets, in flight, counters, reservation record. */
function reserve(input: {
  family: FamilyData;
  request: AdmissionRequest;
  subjects: readonly { keyId: string; limits: NormalizedLimits; key: KeyData }[];
  periods: Periods;
}): void {
  const { family, request, subjects, periods } = input;
  const { nowMs } = request;
  const expiresAtMs = nowMs + request.leaseMs;
  for (const { key, limits } of subjects) {
    if (limits.requestsPerMinute !== undefined) key.rpm.set(tpmSecondOf(nowMs), (key.rpm.get(tpmSecondOf(nowMs)) ?? 0) + 1);
    if (limits.tokensPerMinute !== undefined) {
      const second = tpmSecondOf(nowMs);
      key.tpm.set(second, (key.tpm.get(second) ?? 0) + request.estimatedTokens);
    }
    key.inFlight.add(request.requestId);
    const day = currentCounters({ key, periods, nowMs, kind: 'day' });
    day.requests += 1;
    for (const counters of [day, currentCounters({ key, periods, nowMs, kind: 'month' }), key.total]) {
      counters.tokens += request.estimatedTokens;
      counters.costTicks += request.estimatedCostTicks;
    }
  }
  family.reservations.set(request.requestId, {
    status: 'pending',
    admittedAtMs: nowMs,
    expiresAtMs,
    reapedAtMs: 0,
    tokens: request.estimatedTokens,
    costTicks: request.estimatedCostTicks,
    dayId: periods.dayId,
    monthId: periods.monthId,
    keyIds: subjects.map((subject) => subject.keyId),
    wroteTpmBucket: subjects.map((subject) => subject.limits.tokensPerMinute !== undefined),
  });
}

/** Runs a synchronous step as a promise: a thrown error becomes a rejection, as from the Redis limiter. */
function promised<T>(step: () => T): Promise<T> {
  return new Promise((resolve) => resolve(step()));
}

export function createMemoryLimiter(): Limiter {
  const families = new Map<string, FamilyData>();
  const familyOf = (familyId: string): FamilyData => {
    let family = families.get(familyId);
    if (family === undefined) {
      family = { keys: new Map(), reservations: new Map() };
      families.set(familyId, family);
    }
    return family;
  };

  function recordUsage(key: KeyData, input: { dayId: string; dayNumber: number; fields: readonly [string, number][] }): void {
    const record = key.usage.get(input.dayId) ?? new Map<string, number>();
    for (const [field, increment] of input.fields) record.set(field, (record.get(field) ?? 0) + increment);
    key.usage.set(input.dayId, record);
    const oldestKept = dayIdOfNumber(input.dayNumber - USAGE_RETENTION_DAYS + 1);
    for (const dayId of [...key.usage.keys()]) if (dayId < oldestKept) key.usage.delete(dayId);
  }

  return {
    admit(request) {
      return promised(() => {
        assertAdmissionRequest(request);
        const family = familyOf(request.familyId);
        if (family.reservations.has(request.requestId)) throw new Error('XGW_DUPLICATE_REQUEST_ID');
        const { nowMs } = request;
        reap(family, nowMs);
        const periods = periodsAt(nowMs);
        const subjects = request.subjects.map((subject) => {
          const limits = normalizeLimits(subject.limits);
          const key = keyDataOf(family, subject.keyId);
          const state = readState({ key, limits, nowMs, periods, estimatedTokens: request.estimatedTokens });
          return { keyId: subject.keyId, limits, key, state };
        });
        const verdict = evaluateAdmission({ subjects, estimate: estimateOf(request), nowMs, periods });
        if (verdict.admitted) reserve({ family, request, subjects, periods });
        return admissionResultOf(request, verdict);
      });
    },

    settle({ reservation: given, usage, model, nowMs, correction, giveBack }) {
      return promised(() => {
        assertRequestId(given.requestId);
        assertId('familyId', given.familyId);
        assertCount('nowMs', nowMs);
        if (usage !== null) assertUsage(usage, correction === true);
        const family = familyOf(given.familyId);
        const reservation = family.reservations.get(given.requestId);
        if (reservation === undefined) return false;
        family.reservations.delete(given.requestId);
        if (isStaleMark(reservation, nowMs)) return false;
        const tokens = usage?.totalTokens ?? 0;
        const costTicks = usage?.costTicks ?? 0;
        const periods = periodsAt(nowMs);
        const fields = usage === null ? [] : usageFieldIncrements(model, usage);
        reservation.keyIds.forEach((keyId, keyIndex) => {
          const key = keyDataOf(family, keyId);
          // Pending, or charged as reserved when its lease ran out: the usage replaces the reservation.
          adjustCounters({ key, reservation, keyIndex, tokens: tokens - reservation.tokens, costTicks: costTicks - reservation.costTicks, nowMs });
          if (reservation.status === 'pending') key.inFlight.delete(given.requestId);
          if (giveBack !== undefined && usage === null) {
            giveBackRequest({ key, reservation, countedRpm: giveBack.requestsPerMinute[keyIndex] === true, nowMs });
          }
          if (usage !== null) recordUsage(key, { dayId: periods.dayId, dayNumber: periods.dayNumber, fields });
        });
        return true;
      });
    },

    renew(reservations, nowMs, leaseMs) {
      return promised(() => {
        assertCount('nowMs', nowMs);
        assertCount('leaseMs', leaseMs);
        let renewed = 0;
        for (const given of reservations) {
          const reservation = familyOf(given.familyId).reservations.get(given.requestId);
          if (reservation?.status !== 'pending') continue;
          // Never shortened, as on Redis (ZADD GT).
          reservation.expiresAtMs = Math.max(reservation.expiresAtMs, nowMs + leaseMs);
          renewed += 1;
        }
        return renewed;
      });
    },

    remaining(subject, nowMs) {
      return promised(() => {
        assertId('familyId', subject.familyId);
        assertId('keyId', subject.keyId);
        const family = familyOf(subject.familyId);
        reap(family, nowMs);
        const limits = normalizeLimits(subject.limits);
        const state = readState({ key: keyDataOf(family, subject.keyId), limits, nowMs, periods: periodsAt(nowMs), estimatedTokens: 0 });
        return remainingOf(limits, state);
      });
    },

    usageReport(keyId, familyId, range) {
      return promised(() => {
        assertId('familyId', familyId);
        assertId('keyId', keyId);
        const { fromDay, toDay } = parseUsageRange(range);
        const from = dayIdOfNumber(fromDay);
        const to = dayIdOfNumber(toDay);
        const usage = families.get(familyId)?.keys.get(keyId)?.usage ?? new Map<string, Map<string, number>>();
        const days = [...usage.entries()]
          .filter(([dayId]) => dayId >= from && dayId <= to)
          .map(([dayId, record]) => ({ date: dayId, models: modelsOfDayRecord(Object.fromEntries(record)) }));
        return buildUsageReport({ keyId, from: range.from, to: range.to, days });
      });
    },
  };
}
