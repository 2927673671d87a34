import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { packDoubles } from '../../src/limits/redis-args.js';
import { createRedisLimiter } from '../../src/limits/redis-limiter.js';
import { migrateLimiterV1 } from '../../src/limits/redis-migrate-v1.js';
import { packTotals } from '../../src/limits/usage-totals.js';
import { deleteByPrefix, REDIS_URL } from '../helpers/harness.js';

// The one-off upgrade from the limiter's v1 key names to v2 (docs/operations.md "Upgrading"), on a real Redis
// under this file's own prefix. What v1 wrote is seeded by hand, as the v1 scripts are gone.
const PREFIX = `xgwtest:limiter-migrate:${randomBytes(4).toString('hex')}:`;
const T0 = Date.UTC(2030, 0, 15, 12, 0, 0);
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });

afterAll(async () => {
  await deleteByPrefix(redis, PREFIX);
  await redis.quit();
});

const buffer = (doubles: number[]): Buffer => packDoubles(doubles).toBuffer();

describe('migrate:limits (v1 → v2)', () => {
  it('carries counters, usage and reservations over, folds decimal usage in, drops the rpm log, and leaves nothing of v1', async () => {
    const family = `key_${randomBytes(6).toString('hex')}`;
    const oldKey = `key_${randomBytes(6).toString('hex')}`;
    const v1 = `${PREFIX}v1:{${family}}:`;
    // v1's packed layout: counters (with the rpm log's trim marker), usage both packed and decimal, a tpm window,
    // the exact rpm log; a key of the oldest layout (decimal counters in separate keys, a concurrency set).
    await redis.hset(`${v1}${family}:ctr`, 'l', buffer([5000, 70_000, 0]), 'd:2030-01-15', buffer([3, 300, 4000]), 'm:2030-01', buffer([400, 5000]), 'd', '2030-01-15', 'm', '2030-01', 'rs', buffer([T0]));
    await redis.hset(`${v1}${family}:u:2030-01-15`, 'grok-4', packTotals({ requests: 1, promptTokens: 10, completionTokens: 5, reasoningTokens: 0, cachedTokens: 0, totalTokens: 15, costTicks: 100 }), 'grok-4|req', '2', 'grok-4|tt', '50', 'grok-4|cost', '9');
    await redis.zadd(`${v1}${family}:udays`, Math.floor(T0 / 86_400_000), '2030-01-15');
    await redis.hset(`${v1}${family}:tpm`, String(T0 / 1000), buffer([100]), 'w', buffer([100, T0 / 1000 - 60, T0 / 1000]));
    await redis.zadd(`${v1}${family}:rpm`, T0, 'req-1');
    await redis.hset(`${v1}${oldKey}:total`, { tok: 700, cost: 9000 });
    await redis.hset(`${v1}${oldKey}:d:2030-01-15`, { req: 2, tok: 70, cost: 900 });
    await redis.hset(`${v1}${oldKey}:m:2030-01`, { tok: 170, cost: 1900 });
    await redis.zadd(`${v1}${oldKey}:conc`, T0, 'req-old');
    // Another store's v1 names are not the limiter's, and stay.
    await redis.set(`${PREFIX}v1:key:{${family}}`, '{}');

    const report = await migrateLimiterV1(redis, PREFIX);
    expect(report).toMatchObject({ renamed: 4, converted: 2, skipped: 0 });
    expect(await redis.keys(`${PREFIX}v1:{*`)).toEqual([]);
    expect(await redis.exists(`${PREFIX}v1:key:{${family}}`)).toBe(1);

    const limiter = createRedisLimiter({ redis, prefix: PREFIX });
    const limits = { requestsPerDay: 10, tokensPerMinute: 1000, tokensPerDay: 1000, tokensPerMonth: 2000, totalTokens: 9000, requestsPerMinute: 5 };
    expect(await limiter.remaining({ keyId: family, familyId: family, limits }, T0 + 1000)).toEqual({
      requestsPerDay: 7,
      requestsPerMinute: 5, // the exact log is gone: its window restarts
      tokensPerMinute: 900,
      tokensPerDay: 700,
      tokensPerMonth: 1600,
      totalTokens: 4000,
    });
    expect(await limiter.remaining({ keyId: oldKey, familyId: family, limits: { requestsPerDay: 10, tokensPerDay: 1000, totalTokens: 9000 } }, T0)).toEqual({
      requestsPerDay: 8,
      tokensPerDay: 930,
      totalTokens: 8300,
    });
    const usage = await limiter.usageReport(family, family, { from: '2030-01-15', to: '2030-01-15' });
    expect(usage.totals).toEqual({ requests: 3, promptTokens: 10, completionTokens: 5, reasoningTokens: 0, cachedTokens: 0, totalTokens: 65, costTicks: 109 });

    // Once done, a second run has nothing to do.
    expect(await migrateLimiterV1(redis, PREFIX)).toEqual({ renamed: 0, converted: 0, deleted: 0, skipped: 0 });
  });

  it('never overwrites v2 data a newer gateway wrote first', async () => {
    const family = `key_${randomBytes(6).toString('hex')}`;
    await redis.hset(`${PREFIX}v1:{${family}}:${family}:ctr`, 'l', buffer([1, 1, 0]));
    await redis.hset(`${PREFIX}v2:{${family}}:${family}:ctr`, 'l', buffer([2, 2, 0]));
    expect(await migrateLimiterV1(redis, PREFIX)).toMatchObject({ renamed: 0, skipped: 1 });
    const limiter = createRedisLimiter({ redis, prefix: PREFIX });
    expect(await limiter.remaining({ keyId: family, familyId: family, limits: { totalTokens: 10 } }, T0)).toEqual({ totalTokens: 8 });
  });
});
