import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { LimitSet } from '../../src/config/types.js';
import { withCapacityLeases } from '../../src/limits/capacity-leases.js';
import { createRedisLimiter } from '../../src/limits/redis-limiter.js';
import type { AdmissionRequest, Limiter } from '../../src/limits/types.js';
import { ZERO_USAGE } from '../../src/usage/types.js';
import { deleteByPrefix, eventually, REDIS_URL } from '../helpers/harness.js';

/**
 * Capacity leases (src/limits/capacity-leases.ts) on a real Redis, with three "instances" (each its own
 * connection, Redis limiter and pools) admitting one hot key at once, on the real clock.
 */

const PREFIX = `xgwtest:capacity-leases:${randomBytes(4).toString('hex')}:`;
const clients: Redis[] = [];

afterAll(async () => {
  const redis = clients[0] ?? new Redis(REDIS_URL);
  await deleteByPrefix(redis, PREFIX);
  await Promise.all(clients.map((client) => client.quit()));
});

/** An instance: the leasing limiter over a Redis limiter that counts the admissions reaching Redis. */
function instance(): { limiter: ReturnType<typeof withCapacityLeases<Limiter>>; redisAdmissions: () => number } {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  clients.push(client);
  const redisLimiter = createRedisLimiter({ redis: client, prefix: PREFIX });
  let admissions = 0;
  const counting: Limiter = {
    ...redisLimiter,
    admit: (request) => {
      admissions += 1;
      return redisLimiter.admit(request);
    },
  };
  return { limiter: withCapacityLeases(counting, { now: Date.now }), redisAdmissions: () => admissions };
}

function requestFor(familyId: string, limits: LimitSet, estimatedTokens = 100): AdmissionRequest {
  return {
    requestId: randomUUID(),
    subjects: [{ keyId: familyId, limits }],
    familyId,
    estimatedTokens,
    estimatedCostTicks: 0,
    nowMs: Date.now(),
    leaseMs: 60_000,
  };
}

/** `workers` loops per instance, each admitting and settling at once until `total` admissions were tried. */
async function drive(
  instances: ReturnType<typeof instance>[],
  input: { familyId: string; limits: LimitSet; total: number; workers: number },
): Promise<{ served: number; fromLeases: number }> {
  let tried = 0;
  let served = 0;
  let fromLeases = 0;
  const worker = async (limiter: Limiter): Promise<void> => {
    while (tried < input.total) {
      tried += 1;
      const request = requestFor(input.familyId, input.limits);
      const result = await limiter.admit(request);
      if (!result.admitted) continue;
      served += 1;
      // A leased reservation was admitted ahead of time, under a request id of its own.
      if (result.reservation.requestId !== request.requestId) fromLeases += 1;
      await limiter.settle({ reservation: result.reservation, usage: { ...ZERO_USAGE, totalTokens: 60 }, model: 'grok-4', nowMs: Date.now() });
    }
  };
  await Promise.all(instances.flatMap(({ limiter }) => Array.from({ length: input.workers }, () => worker(limiter))));
  return { served, fromLeases };
}

describe('Capacity leases', () => {
  it('serves a busy key partly from leases (no Redis on the path), and gives unused capacity back exactly', async () => {
    const familyId = `key_hot_${randomBytes(3).toString('hex')}`;
    const limits: LimitSet = Object.freeze({ requestsPerDay: 1_000_000, concurrency: 10_000, tokensPerDay: 1_000_000_000 });
    const instances = [instance(), instance(), instance()];
    const { served, fromLeases } = await drive(instances, { familyId, limits, total: 3_000, workers: 8 });
    expect(served).toBe(3_000);
    // The first admissions of each instance go to Redis while its pool warms up.
    expect(fromLeases).toBeGreaterThan(0);
    const reachedRedis = instances.reduce((sum, { redisAdmissions }) => sum + redisAdmissions(), 0);
    // The admissions that reached Redis were refills of many at once: fewer script calls, none on a request's path.
    const pooled = instances.reduce((sum, { limiter }) => sum + limiter.leased(), 0);
    expect(reachedRedis).toBeGreaterThanOrEqual(served);
    expect(reachedRedis - pooled).toBeGreaterThanOrEqual(served);
    // Unused leases go back at the end of their second (a refill the last admissions started lands first): then
    // what is left is exact.
    await Promise.all(instances.map(({ limiter }) => limiter.settled()));
    await eventually(() => instances.every(({ limiter }) => limiter.leased() === 0), 5_000);
    // ...and the give-backs have reached Redis.
    await Promise.all(instances.map(({ limiter }) => limiter.settled()));
    const subject = { keyId: familyId, limits, familyId };
    const remaining = await instances[0]!.limiter.remaining(subject, Date.now());
    expect(remaining).toEqual({ requestsPerDay: 1_000_000 - served, concurrency: 10_000, tokensPerDay: 1_000_000_000 - served * 60 });
  });

  it('never exceeds requestsPerMinute across three leasing instances, and counts every request once', async () => {
    const familyId = `key_rpm_${randomBytes(3).toString('hex')}`;
    const limits: LimitSet = Object.freeze({ requestsPerMinute: 700, requestsPerDay: 5_000 });
    const instances = [instance(), instance(), instance()];
    const { served, fromLeases } = await drive(instances, { familyId, limits, total: 2_000, workers: 8 });
    expect(fromLeases).toBeGreaterThan(0);
    expect(served).toBeLessThanOrEqual(700);
    // Near the limit admission goes through Redis one request at a time: at most a second's leases stay unused.
    expect(served).toBeGreaterThan(300);
    await Promise.all(instances.map(({ limiter }) => limiter.settled()));
    await eventually(() => instances.every(({ limiter }) => limiter.leased() === 0), 5_000);
    // ...and the give-backs have reached Redis.
    await Promise.all(instances.map(({ limiter }) => limiter.settled()));
    const remaining = await instances[1]!.limiter.remaining({ keyId: familyId, limits, familyId }, Date.now());
    expect(remaining).toEqual({ requestsPerMinute: 700 - served, requestsPerDay: 5_000 - served });
  });

  it('admits one request at a time through Redis near a limit and at a low rate', async () => {
    // Near the limit: every limit must have room for several slices beyond the last admission.
    const near = instance();
    const tight: LimitSet = Object.freeze({ requestsPerMinute: 7 });
    const nearRun = await drive([near], { familyId: `key_near_${randomBytes(3).toString('hex')}`, limits: tight, total: 60, workers: 4 });
    expect(nearRun).toEqual({ served: 7, fromLeases: 0 });
    expect(near.redisAdmissions()).toBe(60);
    // A low rate (below 20 a second): no pool at all.
    const cold = instance();
    const loose: LimitSet = Object.freeze({ requestsPerMinute: 10_000 });
    const familyId = `key_cold_${randomBytes(3).toString('hex')}`;
    let fromLeases = 0;
    for (let i = 0; i < 12; i += 1) {
      const request = requestFor(familyId, loose);
      const result = await cold.limiter.admit(request);
      if (result.admitted && result.reservation.requestId !== request.requestId) fromLeases += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(fromLeases).toBe(0);
    expect(cold.redisAdmissions()).toBe(12);
    expect(cold.limiter.leased()).toBe(0);
  });
});
