import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { LimitSet } from '../../src/config/types.js';
import { createMemoryLimiter } from '../../src/limits/memory-limiter.js';
import { createRedisLimiter } from '../../src/limits/redis-limiter.js';
import { REAP_BATCH, REAPED_RETENTION_MS } from '../../src/limits/semantics.js';
import type { AdmissionRequest, AdmissionResult, AdmissionSubject, Limiter, Reservation } from '../../src/limits/types.js';
import { ZERO_USAGE, type Usage } from '../../src/usage/types.js';
import { deleteByPrefix, REDIS_URL } from '../helpers/harness.js';

/**
 * The Redis limiter's cost and layout beyond the shared contract (limiter.contract.test.ts): how many
 * commands its scripts run per call (the budget the benchmarks hold it to), taking over counters an earlier layout
 * left in Redis, and semantics details both limiters share (an instance behind at midnight, a reaped mark's
 * retention, concurrency when more reservations are due than one admission reaps). Own key prefix; time is
 * passed in.
 */

const PREFIX = `xgwtest:limiter-redis:${randomBytes(4).toString('hex')}:`;
const T0 = Date.UTC(2030, 0, 15, 12, 0, 0);
const LEASE_MS = 600_000;

const clients: Redis[] = [];
function newClient(): Redis {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  clients.push(client);
  return client;
}
const redis = newClient();

afterAll(async () => {
  await deleteByPrefix(redis, PREFIX);
  await Promise.all(clients.map((client) => client.quit()));
});

const keyId = (): string => `key_${randomBytes(10).toString('hex')}`;
const usage = (partial: Partial<Usage>): Usage => ({ ...ZERO_USAGE, ...partial });

function admitted(result: AdmissionResult): Reservation {
  if (!result.admitted) throw new Error(`expected admission, got ${result.code} on ${result.limit}`);
  return result.reservation;
}

function request(subjects: AdmissionSubject[], familyId: string, overrides: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return { requestId: randomUUID(), subjects, familyId, estimatedTokens: 4200, estimatedCostTicks: 99_000_000, nowMs: T0, leaseMs: LEASE_MS, ...overrides };
}

/**
 * The commands touching this file's keys that MONITOR reports while `run` runs: those run inside scripts
 * (source 'lua') or, with `topLevel`, those sent by clients (the script calls themselves).
 */
async function commandsSeen(run: () => Promise<unknown>, topLevel = false): Promise<string[]> {
  const monitor = await newClient().monitor();
  const marker = `${PREFIX}marker:${randomUUID()}`;
  const seen: string[] = [];
  const drained = new Promise<void>((resolve) => {
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (args.includes(marker)) resolve();
      else if ((source === 'lua') !== topLevel && args.some((arg) => arg.startsWith(PREFIX))) seen.push(String(args[0]).toLowerCase());
    });
  });
  await run();
  await redis.exists(marker);
  await drained;
  // Lines of other clients' commands may still arrive after this: ioredis reports them as errors, ignored here.
  monitor.on('error', () => undefined);
  monitor.disconnect();
  return seen;
}

/** The commands the limiter's scripts run (MONITOR, source lua, this file's keys only) while `run` runs. */
const scriptCommands = (run: () => Promise<unknown>): Promise<string[]> => commandsSeen(run);

const ALL_LIMITS: LimitSet = {
  requestsPerMinute: 1e6, requestsPerDay: 1e8, tokensPerMinute: 1e9, tokensPerDay: 1e10, tokensPerMonth: 1e11,
  costPerDayUsd: 1e4, costPerMonthUsd: 1e5, totalTokens: 1e12, totalCostUsd: 1e6, concurrency: 10_000, maxOutputTokens: 4096,
};

describe('Redis limiter: commands per call', () => {
  // Before this layout: 21 (no limits) / 30 (every limit) commands per admission, 26 / 27 per settlement.
  it.each([
    ['no limits', {}, ['hsetnx', 'zrangebyscore', 'hmget', 'hset', 'zadd'], ['hget', 'hdel', 'zrem', 'hmget', 'hset', 'hget', 'hset']],
    [
      'every limit',
      ALL_LIMITS,
      ['hsetnx', 'zrangebyscore', 'hmget', 'hmget', 'hmget', 'hset', 'hset', 'hset', 'zadd'],
      ['hget', 'hdel', 'zrem', 'hmget', 'hset', 'hmget', 'hset', 'hget', 'hset'],
    ],
  ] as const)('%s: admission and settlement in steady state', async (_name, limits, admitCommands, settleCommands) => {
    const limiter = createRedisLimiter({ redis, prefix: PREFIX });
    const familyId = keyId();
    const subjects = [{ keyId: familyId, limits }];
    // The day's first request creates counters, the days index and TTLs; the next ones are the steady state.
    for (const nowMs of [T0, T0 + 10]) {
      const reservation = admitted(await limiter.admit(request(subjects, familyId, { nowMs })));
      await limiter.settle({ reservation, usage: usage({ promptTokens: 30, totalTokens: 42, costTicks: 1234 }), model: 'grok-4', nowMs });
    }
    let reservation: Reservation | undefined;
    expect(await scriptCommands(async () => {
      reservation = admitted(await limiter.admit(request(subjects, familyId, { nowMs: T0 + 20 })));
    })).toEqual(admitCommands);
    expect(await scriptCommands(() => limiter.settle({ reservation: reservation!, usage: usage({ totalTokens: 40 }), model: 'grok-4', nowMs: T0 + 20 }))).toEqual(settleCommands);
  });

  it('pays the per-key part for each key of a child key request', async () => {
    const limiter = createRedisLimiter({ redis, prefix: PREFIX });
    const familyId = keyId();
    const subjects = [{ keyId: keyId(), limits: {} }, { keyId: familyId, limits: {} }];
    admitted(await limiter.admit(request(subjects, familyId, { nowMs: T0 })));
    const commands = await scriptCommands(() => limiter.admit(request(subjects, familyId, { nowMs: T0 + 1 })));
    expect(commands).toEqual(['hsetnx', 'zrangebyscore', 'hmget', 'hmget', 'hset', 'hset', 'zadd']);
  });
});

describe('Redis limiter: memory per key does not grow with a limit', () => {
  it('2,000 requests over 20 s leave at most 61 buckets, for a requestsPerMinute of 1,000,000 as for one of 10', async () => {
    const limiter = createRedisLimiter({ redis, prefix: PREFIX });
    const sizes: number[] = [];
    for (const limit of [1_000_000, 10]) {
      const familyId = keyId();
      const subjects = [{ keyId: familyId, limits: { requestsPerMinute: limit } }];
      for (let i = 0; i < 2000; i += 1) await limiter.admit(request(subjects, familyId, { nowMs: T0 + i * 10 }));
      sizes.push(await redis.hlen(`${PREFIX}v2:{${familyId}}:${familyId}:rpmw`));
    }
    // 20 seconds of traffic: 20 buckets and the summary field, whatever the limit (the 10-rpm key was refused
    // after its first 10, so it holds one bucket).
    expect(sizes[0]).toBe(21);
    expect(sizes[0]).toBeLessThanOrEqual(62);
    expect(sizes[1]).toBe(2);
  });
});

describe.each([
  ['memory', (): Limiter => createMemoryLimiter()],
  ['redis', (): Limiter => createRedisLimiter({ redis, prefix: PREFIX })],
])('Limiter details: %s', (_name, create) => {
  it('counts an instance whose clock is behind at midnight into its own day', async () => {
    const limiter = create();
    const familyId = keyId();
    const subjects = [{ keyId: familyId, limits: { requestsPerDay: 1 } }];
    const midnight = Date.UTC(2030, 0, 16);
    admitted(await limiter.admit(request(subjects, familyId, { nowMs: midnight + 5 })));
    admitted(await limiter.admit(request(subjects, familyId, { nowMs: midnight - 5 })));
    expect(await limiter.admit(request(subjects, familyId, { nowMs: midnight - 1 }))).toMatchObject({ admitted: false, limit: 'requestsPerDay' });
    expect(await limiter.admit(request(subjects, familyId, { nowMs: midnight + 6 }))).toMatchObject({ admitted: false, limit: 'requestsPerDay' });
  });

  it('settles a reaped reservation until its mark is REAPED_RETENTION_MS old, not after', async () => {
    const limiter = create();
    const familyId = keyId();
    const subjects = [{ keyId: familyId, limits: { tokensPerMonth: 1e9 } }];
    const [late, lost] = [
      admitted(await limiter.admit(request(subjects, familyId, { leaseMs: 1000 }))),
      admitted(await limiter.admit(request(subjects, familyId, { leaseMs: 1000 }))),
    ];
    admitted(await limiter.admit(request(subjects, familyId, { nowMs: T0 + 1000 }))); // reaps both
    expect(await limiter.settle({ reservation: late, usage: usage({ totalTokens: 7 }), model: 'm', nowMs: T0 + 1000 + REAPED_RETENTION_MS - 1 })).toBe(true);
    expect(await limiter.settle({ reservation: lost, usage: usage({ totalTokens: 7 }), model: 'm', nowMs: T0 + 1000 + REAPED_RETENTION_MS })).toBe(false);
  });

  it('counts expired reservations toward concurrency until they are reaped, REAP_BATCH per admission', async () => {
    const limiter = create();
    const familyId = keyId();
    const limits = { concurrency: REAP_BATCH + 10 };
    const subjects = [{ keyId: familyId, limits }];
    for (let i = 0; i < REAP_BATCH + 10; i += 1) admitted(await limiter.admit(request(subjects, familyId, { leaseMs: 1000, nowMs: T0 + i })));
    expect(await limiter.admit(request(subjects, familyId, { nowMs: T0 + 100 }))).toMatchObject({ admitted: false, limit: 'concurrency' });
    const later = T0 + 5000;
    // remaining() reaps like an admission: the first call frees REAP_BATCH, the second the rest.
    expect(await limiter.remaining({ keyId: familyId, familyId, limits }, later)).toEqual({ concurrency: REAP_BATCH });
    expect(await limiter.remaining({ keyId: familyId, familyId, limits }, later)).toEqual({ concurrency: REAP_BATCH + 10 });
  });
});

/** Top-level commands this file's limiter sends (not from inside a script) while `run` runs. */
const callsSent = (run: () => Promise<unknown>): Promise<string[]> => commandsSeen(run, true);

describe('Redis limiter: batching (at most one round trip per request)', () => {
  it('sends the concurrent admissions of one family as one script call, each answered as if alone', async () => {
    const limiter = createRedisLimiter({ redis, prefix: PREFIX });
    const familyId = keyId();
    const subjects = [{ keyId: familyId, limits: { concurrency: 10 } }];
    admitted(await limiter.admit(request(subjects, familyId))); // loads the script
    let results: AdmissionResult[] = [];
    const calls = await callsSent(async () => {
      results = await Promise.all(Array.from({ length: 12 }, () => limiter.admit(request(subjects, familyId))));
    });
    expect(calls).toEqual(['evalsha']);
    // In order: 9 more fit next to the first; the last three find the limit reached.
    expect(results.map((r) => r.admitted)).toEqual([...Array<boolean>(9).fill(true), false, false, false]);
    expect(results[10]).toMatchObject({ admitted: false, limit: 'concurrency' });
  });

  /** Starts an admission and returns once its script call is on the wire (in flight): the family is busy until it is answered. */
  const inFlightAdmission = async (limiter: Limiter, subjects: AdmissionSubject[], familyId: string): Promise<{ pending: Promise<AdmissionResult> }> => {
    const pending = limiter.admit(request(subjects, familyId));
    // The batcher sends at setImmediate; this one was queued after it, so the call has been written when it runs.
    await new Promise((resolve) => setImmediate(resolve));
    return { pending }; // wrapped: an async function returning the promise itself would wait for it
  };

  it('lets a settlement of a busy family ride with the next admission, and writes it before that admission runs', async () => {
    // A minute's delay: the settlement can only be answered within the test's time if the admission carries it.
    const limiter = createRedisLimiter({ redis, prefix: PREFIX, settleDelayMs: 60_000 });
    const familyId = keyId();
    const subjects = [{ keyId: familyId, limits: { concurrency: 2 } }];
    const first = admitted(await limiter.admit(request(subjects, familyId)));
    let settled: Promise<boolean> = Promise.resolve(false);
    let second: AdmissionResult | undefined;
    let third: AdmissionResult | undefined;
    const calls = await callsSent(async () => {
      const { pending } = await inFlightAdmission(limiter, subjects, familyId);
      settled = limiter.settle({ reservation: first, usage: usage({ totalTokens: 5 }), model: 'm', nowMs: T0 });
      // A turn later: a settlement that went on its own would be on the wire by now.
      await new Promise((resolve) => setImmediate(resolve));
      // Both slots are held (first, second): this admission fits only if the settlement ran first, in its call.
      const thirdPending = limiter.admit(request(subjects, familyId));
      [second, third] = await Promise.all([pending, thirdPending]);
    });
    expect(await settled).toBe(true);
    expect(second?.admitted).toBe(true);
    expect(third?.admitted).toBe(true);
    // Two calls: the in-flight admission, then the settlement with the next admission (not three).
    expect(calls).toEqual(['evalsha', 'evalsha']);
  }, 10_000);

  it('writes the settlement of an idle family at once instead of holding it for company', async () => {
    // A minute's delay would time the test out if an idle family's settlement waited for it.
    const limiter = createRedisLimiter({ redis, prefix: PREFIX, settleDelayMs: 60_000 });
    const familyId = keyId();
    const limits = { concurrency: 1 };
    const subjects = [{ keyId: familyId, limits }];
    const first = admitted(await limiter.admit(request(subjects, familyId)));
    const calls = await callsSent(async () => {
      expect(await limiter.settle({ reservation: first, usage: usage({ totalTokens: 5 }), model: 'm', nowMs: T0 })).toBe(true);
    });
    expect(calls).toEqual(['evalsha']);
    expect(await limiter.remaining({ keyId: familyId, familyId, limits }, T0)).toEqual({ concurrency: 1 });
  }, 10_000);

  it('writes a held settlement that found no company after settleDelayMs, or at once on drain', async () => {
    const limiter = createRedisLimiter({ redis, prefix: PREFIX, settleDelayMs: 30 });
    const familyId = keyId();
    const limits = { concurrency: 5 };
    const subjects = [{ keyId: familyId, limits }];
    const [a, b] = [admitted(await limiter.admit(request(subjects, familyId))), admitted(await limiter.admit(request(subjects, familyId)))];
    const busy = (await inFlightAdmission(limiter, subjects, familyId)).pending;
    const alone = limiter.settle({ reservation: a, usage: usage({ totalTokens: 5 }), model: 'm', nowMs: T0 });
    const c = admitted(await busy);
    expect(await alone).toBe(true);
    const held = createRedisLimiter({ redis, prefix: PREFIX, settleDelayMs: 60_000 });
    const heldBusy = (await inFlightAdmission(held, subjects, familyId)).pending;
    const settled = held.settle({ reservation: b, usage: usage({ totalTokens: 5 }), model: 'm', nowMs: T0 });
    const d = admitted(await heldBusy);
    await held.drain?.();
    expect(await settled).toBe(true);
    for (const reservation of [c, d]) await limiter.settle({ reservation, usage: null, model: 'm', nowMs: T0 });
    expect(await limiter.remaining({ keyId: familyId, familyId, limits }, T0)).toEqual({ concurrency: 5 });
  }, 10_000);

  it('answers a duplicate requestId in a batch with an error for that item only', async () => {
    const limiter = createRedisLimiter({ redis, prefix: PREFIX });
    const familyId = keyId();
    const subjects = [{ keyId: familyId, limits: {} }];
    const same = request(subjects, familyId);
    const results = await Promise.allSettled([limiter.admit(same), limiter.admit(same), limiter.admit(request(subjects, familyId))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/DUPLICATE/);
  });
});
