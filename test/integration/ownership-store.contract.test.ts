import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryOwnershipStore } from '../../src/ownership/memory-ownership-store.js';
import { guardStore } from '../../src/store-errors.js';
import { createRedisOwnershipStore, ownerRedisKey } from '../../src/ownership/redis-ownership-store.js';
import type { ListCursor, ObjectOwner, OwnershipStore } from '../../src/ownership/types.js';
import { deleteByPrefix, REDIS_URL } from '../helpers/harness.js';

/** One contract (src/ownership/types.ts OwnershipStore), checked against both implementations. */

const FILE_PREFIX = `xgwtest:ownership-contract:${randomBytes(6).toString('hex')}:`;
let redis: Redis;
let storeCount = 0;

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
});

afterAll(async () => {
  await deleteByPrefix(redis, FILE_PREFIX);
  await redis.quit();
});

const implementations: [string, () => OwnershipStore][] = [
  ['memory', () => createMemoryOwnershipStore()],
  ['redis', () => createRedisOwnershipStore({ redis, prefix: `${FILE_PREFIX}${(storeCount += 1)}:` })],
];

function owner(id: string, overrides: Partial<ObjectOwner> = {}): ObjectOwner {
  return { id, kind: 'file', ownerId: 'key_owner', ownerParentId: null, createdAtMs: 1_765_000_000_000, expiresAtMs: null, upFront: null, ...overrides };
}

const cursor: ListCursor = { keyId: 'key_owner', kind: 'file', upstreamToken: 'file_xyz', skip: 3, afterId: 'file_abc', query: 'order=desc' };

describe.each(implementations)('OwnershipStore contract: %s', (_name, make) => {
  it('answers one entry per id, in order; null for ids without a record', async () => {
    const store = make();
    const a = owner('file_a');
    const b = owner('batch_b', { kind: 'batch', ownerId: 'key_child', ownerParentId: 'key_parent', expiresAtMs: Date.now() + 60_000 });
    await store.record(a);
    await store.record(b);
    expect(await store.getMany(['batch_b', 'file_missing', 'file_a'])).toEqual([b, null, a]);
    expect(await store.getMany([])).toEqual([]);
  });

  it('a record replaces the one before it', async () => {
    const store = make();
    await store.record(owner('file_r', { ownerId: 'key_first' }));
    await store.record(owner('file_r', { ownerId: 'key_second' }));
    expect((await store.getMany(['file_r']))[0]?.ownerId).toBe('key_second');
  });

  it('a record whose object has ended reads as null', async () => {
    const store = make();
    await store.record(owner('file_old', { expiresAtMs: Date.now() - 1 }));
    expect(await store.getMany(['file_old'])).toEqual([null]);
  });

  it('forget removes a record; forgetting an unknown id is fine', async () => {
    const store = make();
    await store.record(owner('file_f'));
    await store.forget('file_f');
    await store.forget('file_never');
    expect(await store.getMany(['file_f'])).toEqual([null]);
  });

  it('a cursor is read back while it lives, under a token that names nothing of it', async () => {
    const store = make();
    const token = await store.saveCursor(cursor, 60_000);
    expect(token).toMatch(/^xgwpage_[A-Za-z0-9_-]{32}$/);
    expect(token).not.toContain('file_');
    expect(await store.loadCursor(token)).toEqual(cursor);
    expect(await store.saveCursor(cursor, 60_000)).not.toBe(token);
  });

  it('an unknown, malformed or expired cursor token reads as null', async () => {
    const store = make();
    expect(await store.loadCursor('xgwpage_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBeNull();
    expect(await store.loadCursor('file_abc')).toBeNull();
    expect(await store.loadCursor('')).toBeNull();
    const token = await store.saveCursor(cursor, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await store.loadCursor(token)).toBeNull();
  });
});

describe('OwnershipStore on Redis', () => {
  it('keeps each record under its own hash tag, with the object\'s end as its expiry', async () => {
    const prefix = `${FILE_PREFIX}layout:`;
    const store = createRedisOwnershipStore({ redis, prefix });
    const expiresAtMs = Date.now() + 3_600_000;
    await store.record(owner('file_tagged', { expiresAtMs }));
    await store.record(owner('file_forever'));
    expect(ownerRedisKey(prefix, 'file_tagged')).toBe(`${prefix}v1:obj:{file_tagged}`);
    expect(await redis.pexpiretime(ownerRedisKey(prefix, 'file_tagged'))).toBe(expiresAtMs);
    expect(await redis.pttl(ownerRedisKey(prefix, 'file_forever'))).toBe(-1);
  });

  it('a corrupt record reaches nobody', async () => {
    const prefix = `${FILE_PREFIX}corrupt:`;
    const store = createRedisOwnershipStore({ redis, prefix });
    await redis.set(ownerRedisKey(prefix, 'file_bad'), '{"k":"file","o":""}');
    await redis.set(ownerRedisKey(prefix, 'file_worse'), 'not json');
    expect(await store.getMany(['file_bad', 'file_worse'])).toEqual([null, null]);
  });

  it('rejects (never hangs) while Redis is unreachable', async () => {
    const down = new Redis({ port: 1, maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    const store = guardStore(createRedisOwnershipStore({ redis: down, prefix: FILE_PREFIX }));
    const unavailable = { status: 503, code: 'store_unavailable' };
    await expect(store.getMany(['file_a'])).rejects.toMatchObject(unavailable);
    await expect(store.record(owner('file_a'))).rejects.toMatchObject(unavailable);
    await expect(store.claimSettlement('file_a', null)).rejects.toMatchObject(unavailable);
    down.disconnect();
  });
});
