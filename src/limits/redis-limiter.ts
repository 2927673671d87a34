import type { Cluster, Redis } from 'ioredis';
import { admissionResultOf, estimateOf } from './admission-result.js';
import { ENFORCED_LIMITS, normalizeLimits, type NormalizedLimits } from './enforced-limits.js';
import { evaluateAdmission, remainingOf, SUBJECT_STATE_FIELDS, subjectStateOfVector } from './evaluate-admission.js';
import { BATCH_LUA } from './lua/batch-script.js';
import { PROBE_LUA } from './lua/probe-script.js';
import { periodsAt } from './periods.js';
import { packDoubles, packedLimits, packedUsage, pendingRecord } from './redis-args.js';
import { assertKeyPrefix, limiterKeyBase, limiterRedisKey } from './redis-keys.js';
import { packedScript, type ScriptArg } from './packed-script.js';
import { createScriptBatcher, DUPLICATE_REPLY } from './script-batcher.js';
import { TPM_BUCKET_MS, USAGE_RETENTION_DAYS } from './semantics.js';
import type { AdmissionRequest, Limiter } from './types.js';
import { buildUsageReport, modelsOfStoredDayRecord, parseUsageRange, recordedModelName } from './usage-totals.js';
import { assertAdmissionRequest, assertCount, assertId, assertRequestId, assertUsage } from './validate-input.js';

/**
 * The Limiter on Redis or Redis Cluster: admissions and settlements are items of one Lua script
 * (src/limits/lua/batch-script.ts), sent pre-encoded (src/limits/packed-script.ts: EVALSHA, falling back to EVAL); the items
 * concurrent requests of one key family issue together travel in one call (script-batcher.ts), so an
 * admission is at most one round trip and, on a busy family, a settlement rides along with a later admission.
 * Every key carries the {familyId} hash tag. Redis errors propagate unchanged (the HTTP layer answers 503
 * store_unavailable: fail closed, docs/api.md).
 *
 * Redis cost per request (src/limits/semantics.ts has the figures): the arguments are shaped so the scripts
 * parse and format no decimal numbers on the common path — numbers they compute with arrive packed as
 * doubles, values they only hand to Redis (scores, field names) arrive as ready decimal strings.
 */

export interface RedisLimiterOptions {
  redis: Redis | Cluster;
  /** Key prefix, e.g. 'xgw:' (store.keyPrefix); no braces. */
  prefix: string;
  /** How long a settlement waits for an admission of its family to travel with (ms); default 2. */
  settleDelayMs?: number;
}

/** Items per script call at most: a batch holds Redis for some tens of µs per item. */
const MAX_BATCH_ITEMS = 32;

const hasLimits = (limits: NormalizedLimits): boolean => Object.keys(limits).length > 0;

/**
 * A subject's limits as the script takes them, derived once per limits object: a key's policy (and so its
 * limits object) stays the same object until the key or the plans change (src/policy/scopes.ts).
 */
const preparedLimits = new WeakMap<object, { normalized: NormalizedLimits; packed: Buffer | '' }>();
function prepareLimits(limits: AdmissionRequest['subjects'][number]['limits']): { normalized: NormalizedLimits; packed: Buffer | '' } {
  let prepared = preparedLimits.get(limits);
  if (prepared === undefined) {
    const normalized = normalizeLimits(limits);
    prepared = { normalized, packed: packedLimits(normalized) };
    // Only frozen objects: a mutable one could change under the cached entry.
    if (Object.isFrozen(limits)) preparedLimits.set(limits, prepared);
  }
  return prepared;
}

/** A subject without limits gets no state from the script: nothing is derived from it. */
const NO_STATE = subjectStateOfVector([]);

/** The probe always reads a state: a subject without limits is sent as "every limit absent". */
const NO_LIMITS = packDoubles(ENFORCED_LIMITS.map(() => -1));

/** A state vector of numbers (decimal strings are read too). */
function numbersOf(reply: unknown, length: number): number[] {
  if (!Array.isArray(reply) || reply.length !== length) throw new Error('limiter: unexpected script reply');
  return reply.map((item: unknown) => {
    const value = typeof item === 'string' ? Number(item) : item;
    if (typeof value !== 'number' || Number.isNaN(value)) throw new Error('limiter: unexpected script reply');
    return value;
  });
}

/** Decimal strings the scripts hand to Redis as they are: an unused slot, the current second's bucket field. */
function windowArgs(nowMs: number): [string, string] {
  return ['', String(Math.floor(nowMs / TPM_BUCKET_MS))];
}

export function createRedisLimiter(options: RedisLimiterOptions): Limiter {
  const { redis, prefix } = options;
  assertKeyPrefix(prefix);
  const batchScript = packedScript(redis, BATCH_LUA);
  const probeScript = packedScript(redis, PROBE_LUA);

  const familyKeys = (familyId: string): string[] => [
    limiterRedisKey({ prefix, familyId, part: 'res' }),
    limiterRedisKey({ prefix, familyId, part: 'resexp' }),
  ];
  const batcher = createScriptBatcher({
    run: (familyId, items) => batchScript(familyKeys(familyId), items),
    settleDelayMs: options.settleDelayMs ?? 2,
    maxItems: MAX_BATCH_ITEMS,
  });

  return {
    async admit(request) {
      assertAdmissionRequest(request);
      // Plain loops: this runs for every request.
      const subjects: { keyId: string; limits: NormalizedLimits }[] = [];
      const recordKeys: { keyId: string; countsTpm: boolean }[] = [];
      const subjectArgs: ScriptArg[] = [];
      let limited = 0;
      for (const subject of request.subjects) {
        const prepared = prepareLimits(subject.limits);
        subjects.push({ keyId: subject.keyId, limits: prepared.normalized });
        recordKeys.push({ keyId: subject.keyId, countsTpm: prepared.normalized.tokensPerMinute !== undefined });
        subjectArgs.push(subject.keyId, prepared.packed);
        if (hasLimits(prepared.normalized)) limited += 1;
      }
      const periods = periodsAt(request.nowMs);
      const [unused, tpmSecond] = windowArgs(request.nowMs);
      const reply = await batcher.call(request.familyId, 'a', [
        limiterKeyBase(prefix, request.familyId),
        request.requestId,
        packDoubles([request.nowMs, request.estimatedTokens, request.estimatedCostTicks]),
        String(request.nowMs),
        String(request.nowMs + request.leaseMs),
        unused,
        tpmSecond,
        periods.dayId,
        periods.monthId,
        pendingRecord({
          requestId: request.requestId,
          admittedAtMs: request.nowMs,
          tokens: request.estimatedTokens,
          costTicks: request.estimatedCostTicks,
          dayId: periods.dayId,
          monthId: periods.monthId,
          keys: recordKeys,
        }),
        subjects.length,
        ...subjectArgs,
      ]);
      if (reply === DUPLICATE_REPLY) throw new Error('XGW_DUPLICATE_REQUEST_ID');
      const width = SUBJECT_STATE_FIELDS.length;
      const values = numbersOf(reply, 1 + limited * width);
      let next = 1;
      const evaluated = subjects.map((subject) => {
        if (!hasLimits(subject.limits)) return { keyId: subject.keyId, limits: subject.limits, state: NO_STATE };
        next += width;
        return { keyId: subject.keyId, limits: subject.limits, state: subjectStateOfVector(values.slice(next - width, next)) };
      });
      const verdict = evaluateAdmission({
        subjects: evaluated,
        estimate: estimateOf(request),
        nowMs: request.nowMs,
        periods,
      });
      // The script decided with the same inequalities; a disagreement is a bug to surface, not to paper over.
      if (verdict.admitted !== (values[0] === 1)) throw new Error('limiter: script and evaluation disagree');
      return admissionResultOf(request, verdict);
    },

    async settle({ reservation, usage, model, nowMs, correction, giveBack }) {
      assertRequestId(reservation.requestId);
      assertId('familyId', reservation.familyId);
      assertCount('nowMs', nowMs);
      if (usage !== null) assertUsage(usage, correction === true);
      const periods = periodsAt(nowMs);
      const reply = await batcher.call(reservation.familyId, 's', [
        limiterKeyBase(prefix, reservation.familyId),
        reservation.requestId,
        packDoubles([nowMs, usage?.totalTokens ?? 0, usage?.costTicks ?? 0]),
        usage === null ? '' : packedUsage(usage),
        recordedModelName(model),
        periods.dayId,
        periods.monthId,
        String(periods.dayNumber),
        String(periods.dayNumber - USAGE_RETENTION_DAYS + 1),
        giveBack === undefined || usage !== null ? '' : reservation.keyIds.map((_, index) => (giveBack.requestsPerMinute[index] === true ? '1' : '0')).join(''),
      ]);
      return reply === 1;
    },

    async renew(reservations, nowMs, leaseMs) {
      assertCount('nowMs', nowMs);
      assertCount('leaseMs', leaseMs);
      const due = String(nowMs + leaseMs);
      const replies = await Promise.all(
        reservations.map((reservation) => {
          assertRequestId(reservation.requestId);
          assertId('familyId', reservation.familyId);
          return batcher.call(reservation.familyId, 'r', [reservation.requestId, due]);
        }),
      );
      return replies.filter((reply) => reply === 1).length;
    },

    async remaining(subject, nowMs) {
      assertId('familyId', subject.familyId);
      assertId('keyId', subject.keyId);
      // Settlements still waiting for company are written first: what is left must reflect them.
      await batcher.flushFamily(subject.familyId);
      const { normalized: limits, packed } = prepareLimits(subject.limits);
      const periods = periodsAt(nowMs);
      const reply = await probeScript(familyKeys(subject.familyId), [
        limiterKeyBase(prefix, subject.familyId),
        packDoubles([nowMs]),
        String(nowMs),
        ...windowArgs(nowMs),
        periods.dayId,
        periods.monthId,
        subject.keyId,
        packed || NO_LIMITS,
      ]);
      return remainingOf(limits, subjectStateOfVector(numbersOf(reply, SUBJECT_STATE_FIELDS.length)));
    },

    async usageReport(keyId, familyId, range) {
      assertId('familyId', familyId);
      assertId('keyId', keyId);
      const { fromDay, toDay } = parseUsageRange(range);
      await batcher.flushFamily(familyId);
      const dayIds = await redis.zrangebyscore(limiterRedisKey({ prefix, familyId, keyId, part: 'udays' }), fromDay, toDay);
      const pipeline = redis.pipeline();
      for (const dayId of dayIds) pipeline.hgetallBuffer(limiterRedisKey({ prefix, familyId, keyId, part: `u:${dayId}` }));
      const results = dayIds.length === 0 ? [] : ((await pipeline.exec()) ?? []);
      const days = results.map(([error, record], index) => {
        if (error) throw error;
        return { date: String(dayIds[index]), models: modelsOfStoredDayRecord(record as Record<string, Buffer>) };
      });
      return buildUsageReport({ keyId, from: range.from, to: range.to, days });
    },

    drain: () => batcher.flushAll(),
  };
}
