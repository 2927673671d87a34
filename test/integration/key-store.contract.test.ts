import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { generateClientKey, generateKeyId, hashClientKey } from '../../src/keys/key-format.js';
import { createMemoryKeyStore } from '../../src/keys/memory-key-store.js';
import { createRedisKeyStore } from '../../src/keys/redis-key-store.js';
import { KeyStoreConflictError } from '../../src/keys/types.js';
import type { KeyPatch, KeyRecord, KeyStore } from '../../src/keys/types.js';
import { deleteByPrefix, REDIS_URL } from '../helpers/harness.js';
import { guardStore } from '../../src/store-errors.js';

/** One contract (src/keys/types.ts KeyStore), checked against both implementations. */

const FILE_PREFIX = `xgwtest:key-store-contract:${randomBytes(6).toString('hex')}:`;
/** How far ahead a grace expiry is set: long enough to observe the hash alive, short enough to wait out on Redis. */
const GRACE_MS = 400;

/** Options a gateway should use for its own client too: fail fast instead of queueing while Redis is away. */
const FAIL_FAST = { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 500, commandTimeout: 500 } as const;

let redis: Redis;
let storeCount = 0;

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { ...FAIL_FAST, lazyConnect: true });
  await redis.connect();
});

afterAll(async () => {
  await deleteByPrefix(redis, FILE_PREFIX);
  await redis.quit();
});

interface Harness {
  store: KeyStore;
  /** An expiry a few hundred ms ahead on the store's clock. */
  soon(): number;
  /** Moves the store's clock past soon(): the memory store's is injected; on Redis, polls until `passed` holds. */
  passSoon(passed: () => Promise<boolean>): Promise<void>;
}

function memoryHarness(): Harness {
  let nowMs = Date.parse('2030-01-01T00:00:00.000Z');
  return {
    store: createMemoryKeyStore({ now: () => nowMs }),
    soon: () => nowMs + GRACE_MS,
    passSoon: () => {
      nowMs += GRACE_MS;
      return Promise.resolve();
    },
  };
}

function redisHarness(): Harness {
  storeCount += 1;
  return {
    store: createRedisKeyStore({ redis, prefix: `${FILE_PREFIX}${storeCount}:` }),
    soon: () => Date.now() + GRACE_MS,
    passSoon: async (passed) => {
      const deadline = Date.now() + GRACE_MS + 3000;
      while (!(await passed())) {
        if (Date.now() > deadline) throw new Error('Redis did not expire the secret hash in time.');
        await delay(25);
      }
    },
  };
}

function makeRecord(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const createdAt = overrides.createdAt ?? '2030-01-01T00:00:00.000Z';
  return {
    id: generateKeyId(),
    name: 'contract-test',
    plan: 'free',
    models: ['grok-4'],
    endpoints: ['chat.completions'],
    collections: null,
    limits: { requestsPerMinute: 60, costPerDayUsd: 1.5 },
    allowedOrigins: ['https://app.example'],
    allowedIps: ['10.0.0.0/8'],
    expiresAt: null,
    revokedAt: null,
    createdAt,
    updatedAt: createdAt,
    metadata: { team: 'a' },
    parentId: null,
    mint: null,
    source: 'api',
    ...overrides,
  };
}

const newHash = (): string => hashClientKey(generateClientKey());

function listOrder(a: KeyRecord, b: KeyRecord): number {
  const byTime = Date.parse(a.createdAt) - Date.parse(b.createdAt);
  return byTime !== 0 ? byTime : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

async function collectAll(store: KeyStore, limit: number, onPage?: (page: number) => Promise<void>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 1; page < 100; page += 1) {
    const result = await store.list({ limit, cursor });
    expect(result.data.length).toBeLessThanOrEqual(limit);
    ids.push(...result.data.map((record) => record.id));
    if (result.nextCursor === null) return ids;
    cursor = result.nextCursor;
    await onPage?.(page);
  }
  throw new Error('list never ended');
}

describe.each([
  ['memory', memoryHarness],
  ['redis', redisHarness],
])('KeyStore contract: %s', (_name, makeHarness) => {
  it('creates a record, then gets it by id and finds it by secret hash', async () => {
    const { store } = makeHarness();
    const record = makeRecord({ mint: { maxTtlSeconds: 3600 }, expiresAt: '2031-01-01T00:00:00.000Z' });
    const hash = newHash();
    await store.create(record, hash);
    expect(await store.get(record.id)).toEqual(record);
    expect(await store.findBySecretHash(hash)).toEqual(record);
    expect(await store.get('key_unknown')).toBeNull();
    expect(await store.findBySecretHash(newHash())).toBeNull();
  });

  it('hands out copies: changing a returned record changes nothing stored', async () => {
    const { store } = makeHarness();
    const record = makeRecord();
    await store.create(record, newHash());
    const got = await store.get(record.id);
    (got as { name: string }).name = 'changed';
    (record as { name: string }).name = 'changed too';
    expect((await store.get(record.id))?.name).toBe('contract-test');
  });

  it('refuses a second record with the same id, keeping the first and not indexing the new hash', async () => {
    const { store } = makeHarness();
    const first = makeRecord();
    const firstHash = newHash();
    await store.create(first, firstHash);
    const otherHash = newHash();
    await expect(store.create({ ...first, name: 'impostor' }, otherHash)).rejects.toBeInstanceOf(KeyStoreConflictError);
    expect(await store.get(first.id)).toEqual(first);
    expect(await store.findBySecretHash(firstHash)).toEqual(first);
    expect(await store.findBySecretHash(otherHash)).toBeNull();
  });

  it('refuses a second record with the same secret hash, leaving no trace of it', async () => {
    const { store } = makeHarness();
    const first = makeRecord();
    const hash = newHash();
    await store.create(first, hash);
    const second = makeRecord();
    await expect(store.create(second, hash)).rejects.toBeInstanceOf(KeyStoreConflictError);
    expect(await store.get(second.id)).toBeNull();
    expect((await store.findBySecretHash(hash))?.id).toBe(first.id);
    expect((await store.list({ limit: 10 })).data.map((record) => record.id)).toEqual([first.id]);
  });

  it('lists an empty store as one empty page', async () => {
    const { store } = makeHarness();
    expect(await store.list({ limit: 10 })).toEqual({ data: [], nextCursor: null });
  });

  it('pages 25 keys by 10 in createdAt-then-id order, without duplicates or omissions', async () => {
    const { store } = makeHarness();
    // Groups of 5 share a millisecond, so the id tie-break is exercised across page boundaries.
    const records = Array.from({ length: 25 }, (_, i) =>
      makeRecord({ createdAt: new Date(Date.parse('2030-01-01T00:00:00.000Z') + Math.floor(i / 5) * 1000).toISOString() }),
    );
    for (const record of [...records].reverse()) await store.create(record, newHash());
    const expected = [...records].sort(listOrder).map((record) => record.id);

    const first = await store.list({ limit: 10 });
    expect(first.data.map((record) => record.id)).toEqual(expected.slice(0, 10));
    expect(first.data[0]).toEqual(records.find((record) => record.id === expected[0]));
    expect(first.nextCursor).not.toBeNull();
    expect(await collectAll(store, 10)).toEqual(expected);
    expect(await collectAll(store, 25)).toEqual(expected);
    expect(await collectAll(store, 1)).toEqual(expected);
  });

  it('keeps pagination stable while keys are added mid-iteration', async () => {
    const { store } = makeHarness();
    const base = Date.parse('2030-01-01T00:00:00.000Z');
    const records = Array.from({ length: 25 }, (_, i) => makeRecord({ createdAt: new Date(base + i * 1000).toISOString() }));
    for (const record of records) await store.create(record, newHash());
    const expected = records.map((record) => record.id);
    const later: string[] = [];

    const seen = await collectAll(store, 10, async (page) => {
      if (page !== 1) return;
      // One key sorting before the cursor (not seen in this pass), one in the middle of what is left, two at the end.
      const added = [
        makeRecord({ createdAt: new Date(base - 1000).toISOString() }),
        makeRecord({ createdAt: new Date(base + 15_500).toISOString() }),
        makeRecord({ createdAt: new Date(base + 60_000).toISOString() }),
        makeRecord({ createdAt: new Date(base + 61_000).toISOString() }),
      ];
      for (const record of added) await store.create(record, newHash());
      later.push(...added.slice(1).map((record) => record.id));
    });

    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => expected.includes(id))).toEqual(expected);
    expect(seen.filter((id) => !expected.includes(id))).toEqual(later);
  });

  it('rejects a limit outside 1..1000 and a cursor it did not make, as invalid_request', async () => {
    const { store } = makeHarness();
    await store.create(makeRecord(), newHash());
    for (const limit of [0, -1, 1001, 2.5]) {
      await expect(store.list({ limit })).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    }
    expect((await store.list({ limit: 1000 })).data).toHaveLength(1);
    for (const cursor of ['not-a-cursor', Buffer.from('{"a":1}').toString('base64url'), '']) {
      await expect(store.list({ limit: 10, cursor })).rejects.toBeInstanceOf(GatewayError);
    }
  });

  it('lists the children of a key, oldest first, and nothing for a key without any', async () => {
    const { store } = makeHarness();
    const parent = makeRecord({ mint: { maxTtlSeconds: 600 } });
    const otherParent = makeRecord();
    await store.create(parent, newHash());
    await store.create(otherParent, newHash());
    const younger = makeRecord({ parentId: parent.id, createdAt: '2030-01-02T00:00:00.000Z' });
    const older = makeRecord({ parentId: parent.id, createdAt: '2030-01-01T12:00:00.000Z' });
    const unrelated = makeRecord({ parentId: otherParent.id });
    for (const record of [younger, older, unrelated]) await store.create(record, newHash());

    expect(await store.listChildren(parent.id)).toEqual([older, younger]);
    expect(await store.listChildren(otherParent.id)).toEqual([unrelated]);
    expect(await store.listChildren(younger.id)).toEqual([]);
    expect(await store.listChildren('key_unknown')).toEqual([]);
  });

  it('updates with patch semantics: replace, clear with null, leave absent fields, bump updatedAt', async () => {
    const { store } = makeHarness();
    const parent = makeRecord();
    await store.create(parent, newHash());
    const record = makeRecord({ parentId: parent.id });
    const hash = newHash();
    await store.create(record, hash);
    const now = new Date('2030-02-01T10:00:00.000Z');
    // `endpoints: undefined` is what an optional field parsed from a JSON body can look like: it changes nothing.
    const patch = {
      name: 'renamed',
      plan: null,
      models: ['grok-3-mini'],
      allowedOrigins: null,
      limits: { tokensPerDay: 1000 },
      metadata: { owner: 'b' },
      expiresAt: '2030-03-01T00:00:00.000Z',
      revokedAt: '2030-02-01T10:00:00.000Z',
      endpoints: undefined,
    };
    const updated = await store.update(record.id, patch as unknown as KeyPatch, now);
    const expected: KeyRecord = {
      ...record,
      name: 'renamed',
      plan: null,
      models: ['grok-3-mini'],
      allowedOrigins: null,
      limits: { tokensPerDay: 1000 },
      metadata: { owner: 'b' },
      expiresAt: '2030-03-01T00:00:00.000Z',
      revokedAt: '2030-02-01T10:00:00.000Z',
      updatedAt: now.toISOString(),
    };
    expect(updated).toEqual(expected);
    expect(await store.get(record.id)).toEqual(expected);
    expect(await store.findBySecretHash(hash)).toEqual(expected);
    expect(await store.listChildren(parent.id)).toEqual([expected]);
  });

  it('ignores immutable fields smuggled into a patch', async () => {
    const { store } = makeHarness();
    const record = makeRecord();
    await store.create(record, newHash());
    const smuggled = { id: 'key_other', createdAt: '2000-01-01T00:00:00.000Z', parentId: 'key_evil', source: 'config', name: 'ok' };
    const now = new Date('2030-02-02T00:00:00.000Z');
    const updated = await store.update(record.id, smuggled, now);
    expect(updated).toEqual({ ...record, name: 'ok', updatedAt: now.toISOString() });
    expect(await store.get('key_other')).toBeNull();
    expect(await store.listChildren('key_evil')).toEqual([]);
  });

  it('answers null when updating an unknown id, creating nothing', async () => {
    const { store } = makeHarness();
    expect(await store.update('key_unknown', { name: 'x' }, new Date())).toBeNull();
    expect(await store.get('key_unknown')).toBeNull();
  });

  it('adds another secret hash for a key; both find it', async () => {
    const { store } = makeHarness();
    const record = makeRecord();
    const first = newHash();
    const second = newHash();
    await store.create(record, first);
    await store.addSecretHash(record.id, second, null);
    expect(await store.findBySecretHash(first)).toEqual(record);
    expect(await store.findBySecretHash(second)).toEqual(record);
  });

  it('refuses to add a hash another key holds, and refuses an unknown id', async () => {
    const { store } = makeHarness();
    const a = makeRecord();
    const b = makeRecord();
    const hashA = newHash();
    await store.create(a, hashA);
    await store.create(b, newHash());
    await expect(store.addSecretHash(b.id, hashA, null)).rejects.toBeInstanceOf(KeyStoreConflictError);
    expect((await store.findBySecretHash(hashA))?.id).toBe(a.id);
    const orphan = newHash();
    await expect(store.addSecretHash('key_unknown', orphan, null)).rejects.toMatchObject({ code: 'not_found' });
    expect(await store.findBySecretHash(orphan)).toBeNull();
  });

  it('forgets a hash added with an expiry once that instant passes (rotation grace)', async () => {
    const harness = makeHarness();
    const { store } = harness;
    const record = makeRecord();
    const current = newHash();
    const old = newHash();
    await store.create(record, current);
    await store.addSecretHash(record.id, old, harness.soon());
    expect(await store.findBySecretHash(old)).toEqual(record);
    await harness.passSoon(async () => (await store.findBySecretHash(old)) === null);
    expect(await store.findBySecretHash(old)).toBeNull();
    expect(await store.findBySecretHash(current)).toEqual(record);
  });

  it('replaces the bound of a hash the key already has when it is added again', async () => {
    const harness = makeHarness();
    const { store } = harness;
    const record = makeRecord();
    const sentinel = newHash();
    const kept = newHash();
    await store.create(record, newHash());
    await store.addSecretHash(record.id, kept, harness.soon());
    await store.addSecretHash(record.id, sentinel, harness.soon());
    await store.addSecretHash(record.id, kept, null);
    await harness.passSoon(async () => (await store.findBySecretHash(sentinel)) === null);
    expect(await store.findBySecretHash(sentinel)).toBeNull();
    expect(await store.findBySecretHash(kept)).toEqual(record);
  });

  it('bounds every other hash on rotation with grace, and never extends an earlier bound', async () => {
    const harness = makeHarness();
    const { store } = harness;
    const record = makeRecord();
    const original = newHash();
    const rotatedEarlier = newHash();
    const fresh = newHash();
    await store.create(record, original);
    await store.addSecretHash(record.id, rotatedEarlier, harness.soon());
    await store.addSecretHash(record.id, fresh, null);
    await store.expireSecretHashes(record.id, { except: [fresh], expiresAtMs: harness.soon() });
    await store.expireSecretHashes(record.id, { except: [fresh, original], expiresAtMs: harness.soon() + 3_600_000 });
    expect(await store.findBySecretHash(original)).toEqual(record);
    expect(await store.findBySecretHash(rotatedEarlier)).toEqual(record);
    await harness.passSoon(async () =>
      (await store.findBySecretHash(original)) === null && (await store.findBySecretHash(rotatedEarlier)) === null,
    );
    expect(await store.findBySecretHash(original)).toBeNull();
    expect(await store.findBySecretHash(rotatedEarlier)).toBeNull();
    expect(await store.findBySecretHash(fresh)).toEqual(record);
    await expect(store.expireSecretHashes('key_unknown', { except: [], expiresAtMs: harness.soon() })).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('drops every hash of the key except those kept, and no other key\'s', async () => {
    const { store } = makeHarness();
    const record = makeRecord();
    const other = makeRecord();
    const [h1, h2, h3, otherHash] = [newHash(), newHash(), newHash(), newHash()];
    await store.create(record, h1);
    await store.create(other, otherHash);
    await store.addSecretHash(record.id, h2, null);
    await store.addSecretHash(record.id, h3, null);
    await store.removeSecretHashes(record.id, [h2]);
    expect(await store.findBySecretHash(h1)).toBeNull();
    expect(await store.findBySecretHash(h3)).toBeNull();
    expect(await store.findBySecretHash(h2)).toEqual(record);
    expect(await store.findBySecretHash(otherHash)).toEqual(other);
    await store.removeSecretHashes(record.id, []);
    expect(await store.findBySecretHash(h2)).toBeNull();
    expect(await store.get(record.id)).toEqual(record);
    await store.removeSecretHashes('key_unknown', []);
  });

  it('finds revoked and expired keys alike: judging them is policy\'s job', async () => {
    const { store } = makeHarness();
    const revoked = makeRecord({ revokedAt: '2029-12-31T00:00:00.000Z' });
    const expired = makeRecord({ expiresAt: '2001-01-01T00:00:00.000Z' });
    const revokedHash = newHash();
    const expiredHash = newHash();
    await store.create(revoked, revokedHash);
    await store.create(expired, expiredHash);
    expect(await store.findBySecretHash(revokedHash)).toEqual(revoked);
    expect(await store.findBySecretHash(expiredHash)).toEqual(expired);
  });

  it('refuses to store a record it could not read back', async () => {
    const { store } = makeHarness();
    const broken = { ...makeRecord(), createdAt: 'yesterday' };
    await expect(store.create(broken, newHash())).rejects.toBeInstanceOf(TypeError);
    expect(await store.get(broken.id)).toBeNull();
  });

  it('answers ping', async () => {
    await expect(makeHarness().store.ping()).resolves.toBeUndefined();
  });
});

describe('Redis key store: what only Redis can get wrong', () => {
  it('treats a corrupt or foreign record as missing, never throwing', async () => {
    const prefix = `${FILE_PREFIX}corrupt:`;
    const store = createRedisKeyStore({ redis, prefix });
    const good = makeRecord({ createdAt: '2030-01-02T00:00:00.000Z' });
    const broken = makeRecord();
    const misfiled = makeRecord();
    const [brokenHash, misfiledHash] = [newHash(), newHash()];
    await store.create(good, newHash());
    await store.create(broken, brokenHash);
    await store.create(misfiled, misfiledHash);
    await redis.set(`${prefix}v1:key:{${broken.id}}`, '{"id":');
    await redis.set(`${prefix}v1:key:{${misfiled.id}}`, JSON.stringify({ ...good }));

    expect(await store.get(broken.id)).toBeNull();
    expect(await store.findBySecretHash(brokenHash)).toBeNull();
    expect(await store.get(misfiled.id)).toBeNull();
    expect(await store.findBySecretHash(misfiledHash)).toBeNull();
    expect(await store.update(broken.id, { name: 'x' }, new Date())).toBeNull();
    expect((await store.list({ limit: 10 })).data).toEqual([good]);
    await redis.set(`${prefix}v1:key:{${broken.id}}`, JSON.stringify({ ...broken, limits: { requestsPerMinute: 'many' } }));
    expect(await store.get(broken.id)).toBeNull();
  });

  it('names one key\'s own entries with one hash tag, so they share a Cluster slot', async () => {
    const prefix = `${FILE_PREFIX}slots:`;
    const store = createRedisKeyStore({ redis, prefix });
    const record = makeRecord();
    const hash = newHash();
    await store.create(record, hash);
    await store.create(makeRecord({ parentId: record.id }), newHash());
    const own = [`${prefix}v1:key:{${record.id}}`, `${prefix}v1:key:{${record.id}}:secrets`, `${prefix}v1:key:{${record.id}}:children`];
    expect(await Promise.all(own.map((name) => redis.exists(name)))).toEqual([1, 1, 1]);
    expect(await redis.get(`${prefix}v1:secret:${hash}`)).toBe(record.id);
    expect(await redis.zscore(`${prefix}v1:keys`, record.id)).toBe(String(Date.parse(record.createdAt)));
  });
});

describe('Redis key store when Redis is down', () => {
  it('rejects every method within a second as store_unavailable', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (address === null || typeof address === 'string') throw new Error('no port');

    const down = new Redis({ host: '127.0.0.1', port: address.port, ...FAIL_FAST, retryStrategy: () => 200 });
    down.on('error', () => undefined);
    try {
      const store = guardStore(createRedisKeyStore({ redis: down, prefix: `${FILE_PREFIX}down:` }));
      const calls: [string, () => Promise<unknown>][] = [
        ['create', () => store.create(makeRecord(), newHash())],
        ['get', () => store.get('key_x')],
        ['findBySecretHash', () => store.findBySecretHash(newHash())],
        ['list', () => store.list({ limit: 10 })],
        ['listChildren', () => store.listChildren('key_x')],
        ['update', () => store.update('key_x', { name: 'x' }, new Date())],
        ['addSecretHash', () => store.addSecretHash('key_x', newHash(), null)],
        ['removeSecretHashes', () => store.removeSecretHashes('key_x', [])],
        ['expireSecretHashes', () => store.expireSecretHashes('key_x', { except: [], expiresAtMs: Date.now() })],
        ['ping', () => store.ping()],
      ];
      for (const [name, call] of calls) {
        const started = Date.now();
        const outcome = await call().then(
          () => 'resolved',
          (error: unknown) => error,
        );
        expect(outcome, name).toBeInstanceOf(GatewayError);
        expect(outcome, name).toMatchObject({ code: 'store_unavailable', status: 503 });
        expect(Date.now() - started, name).toBeLessThan(1000);
      }
    } finally {
      down.disconnect();
    }
  });
});
