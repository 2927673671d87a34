import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryAuditLog } from '../../src/audit/memory-audit-log.js';
import { createRedisAuditLog } from '../../src/audit/redis-audit-log.js';
import type { AuditEntry, AuditLog } from '../../src/audit/types.js';
import { GatewayError } from '../../src/errors.js';
import { generateClientKey } from '../../src/keys/key-format.js';
import { deleteByPrefix, REDIS_URL } from '../helpers/harness.js';
import { guardStore } from '../../src/store-errors.js';

/** One contract (src/audit/types.ts AuditLog), checked against both implementations. */

const FILE_PREFIX = `xgwtest:audit-log-contract:${randomBytes(6).toString('hex')}:`;
let redis: Redis;
let logCount = 0;

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
});

afterAll(async () => {
  await deleteByPrefix(redis, FILE_PREFIX);
  await redis.quit();
});

const implementations: [string, () => AuditLog][] = [
  ['memory', () => createMemoryAuditLog()],
  ['redis', () => createRedisAuditLog({ redis, prefix: `${FILE_PREFIX}${(logCount += 1)}:` })],
];

function entry(n: number, changes: Record<string, unknown> = { n }): AuditEntry {
  return { at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), actor: 'admin:0123456789ab', action: 'patch', keyId: `key_${n}`, changes };
}

async function listAll(log: AuditLog, limit: number): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await log.list({ limit, cursor });
    expect(page.data.length).toBeLessThanOrEqual(limit);
    out.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}

describe.each(implementations)('AuditLog contract: %s', (_name, make) => {
  it('lists newest first, exactly what was appended', async () => {
    const log = make();
    for (let n = 1; n <= 3; n += 1) await log.append(entry(n));
    const page = await log.list({ limit: 10 });
    expect(page).toEqual({ data: [entry(3), entry(2), entry(1)], nextCursor: null });
  });

  it('an empty log is an empty page', async () => {
    expect(await make().list({ limit: 5 })).toEqual({ data: [], nextCursor: null });
  });

  it('pages without duplicates or gaps, also while entries are appended', async () => {
    const log = make();
    for (let n = 1; n <= 7; n += 1) await log.append(entry(n));
    const first = await log.list({ limit: 3 });
    expect(first.data.map((e) => e.keyId)).toEqual(['key_7', 'key_6', 'key_5']);
    expect(first.nextCursor).not.toBeNull();
    await log.append(entry(8));
    const second = await log.list({ limit: 3, cursor: first.nextCursor ?? undefined });
    expect(second.data.map((e) => e.keyId)).toEqual(['key_4', 'key_3', 'key_2']);
    const third = await log.list({ limit: 3, cursor: second.nextCursor ?? undefined });
    expect(third).toEqual({ data: [entry(1)], nextCursor: null });
    expect((await listAll(log, 2)).map((e) => e.keyId)).toEqual(['key_8', 'key_7', 'key_6', 'key_5', 'key_4', 'key_3', 'key_2', 'key_1']);
  });

  it('an exact page has no next cursor', async () => {
    const log = make();
    for (let n = 1; n <= 2; n += 1) await log.append(entry(n));
    expect((await log.list({ limit: 2 })).nextCursor).toBeNull();
  });

  it('never stores a secret: secret-named fields dropped, key-shaped strings replaced', async () => {
    const log = make();
    const secret = generateClientKey();
    const xaiKey = 'xai-AAAAbbbbCCCCdddd1234567890';
    await log.append(entry(1, { key: secret, secretHash: 'ab'.repeat(32), nested: { token: 'admin-token-0123456789', note: `see ${secret}` }, list: [xaiKey], name: 'ok' }));
    const [stored] = (await log.list({ limit: 1 })).data;
    const text = JSON.stringify(stored);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(xaiKey);
    expect(text).not.toContain('admin-token');
    expect(text).not.toContain('ab'.repeat(32));
    expect(stored?.changes).toEqual({ nested: { note: 'see [redacted]' }, list: ['[redacted]'], name: 'ok' });
  });

  it.each([0, 1001, 1.5, Number.NaN])('refuses limit %s', async (limit) => {
    await expect(make().list({ limit })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it.each(['garbage', Buffer.from('1-x').toString('base64url'), ''])('refuses a cursor it did not produce: %j', async (cursor) => {
    const log = make();
    await log.append(entry(1));
    const attempt = log.list({ limit: 5, cursor });
    await expect(attempt).rejects.toBeInstanceOf(GatewayError);
    await expect(attempt).rejects.toMatchObject({ status: 400 });
  });
});

describe('memory audit log cap', () => {
  it('drops the oldest entries beyond maxEntries', async () => {
    const log = createMemoryAuditLog({ maxEntries: 3 });
    for (let n = 1; n <= 5; n += 1) await log.append(entry(n));
    expect((await listAll(log, 10)).map((e) => e.keyId)).toEqual(['key_5', 'key_4', 'key_3']);
  });
});

describe('redis audit log', () => {
  it('is one capped stream under the prefix', async () => {
    const prefix = `${FILE_PREFIX}cap:`;
    const log = createRedisAuditLog({ redis, prefix, maxEntries: 100 });
    for (let n = 1; n <= 250; n += 1) await log.append(entry(n));
    expect(await redis.type(`${prefix}v1:audit`)).toBe('stream');
    // MAXLEN ~ trims whole stream nodes (100 entries by default), so the length is near the cap, not exact.
    const length = await redis.xlen(`${prefix}v1:audit`);
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(250);
  });

  it('fails as store_unavailable when Redis is unreachable', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    dead.on('error', () => {});
    const log = guardStore(createRedisAuditLog({ redis: dead, prefix: `${FILE_PREFIX}dead:` }));
    await expect(log.append(entry(1))).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
    await expect(log.list({ limit: 1 })).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
    dead.disconnect();
  });
});

describe.each([
  ['memory', () => createMemoryAuditLog({ maxEntries: 5 })],
  ['redis', () => createRedisAuditLog({ redis, prefix: `${FILE_PREFIX}${(logCount += 1)}:`, maxEntries: 5 })],
] as [string, () => AuditLog][])('AuditLog: no volume of minting evicts an admin entry (%s)', (_name, make) => {
  it('admin entries and mints are capped apart, and listed together newest first', async () => {
    const log = make();
    const admin = [entry(1), entry(2), entry(3)];
    for (const e of admin) await log.append(e);
    const mints = Array.from({ length: 200 }, (_, i) => ({ ...entry(10 + i), action: 'mint' as const, actor: 'key:key_parent' }));
    for (const e of mints) await log.append(e);
    const all = await listAll(log, 4);
    // Every admin entry survived 200 mints; the mints are trimmed to about their own cap.
    expect(all.filter((e) => e.action !== 'mint')).toEqual([entry(3), entry(2), entry(1)]);
    const kept = all.filter((e) => e.action === 'mint');
    expect(kept.length).toBeGreaterThanOrEqual(5);
    expect(kept.length).toBeLessThan(200);
    expect(kept[0]).toEqual(mints.at(-1));
    // Newest first across both: the newest mint before the newest admin entry, pages without duplicates.
    expect(all[0]).toEqual(mints.at(-1));
    expect(new Set(all.map((e) => e.at)).size).toBe(all.length);
  });
});
