import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import type { LimitSet } from '../../src/config/types.js';
import { startFakeXai, type FakeXai } from '../../src/fake/xai-server.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { generateClientKey, generateKeyId, hashClientKey } from '../../src/keys/key-format.js';
import { KeyStoreConflictError, type KeyRecord } from '../../src/keys/types.js';
import type { AdmissionRequest, AdmissionResult, AdmissionSubject, Limiter, Reservation } from '../../src/limits/types.js';
import { createLogger } from '../../src/logging.js';
import { openStore, type Store } from '../../src/store.js';
import { ZERO_USAGE } from '../../src/usage/types.js';
import { chatBody, eventually, postJson } from '../helpers/harness.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';

/**
 * docs/operations.md: the same store on a real three-master Redis Cluster (this file starts and removes
 * its own), configured the way main.ts is (REDIS_CLUSTER_NODES → config.store → openStore → ioredis Cluster).
 * Two stores stand for two gateway instances. Limiter time is passed in; only the HTTP part uses the clock.
 */

const UPSTREAM_KEY = 'xai-CLUSTERupstreamKEY0123456789abcdef';
const ADMIN_TOKEN = 'cluster-admin-token-0123456789';
const PREFIX = `xgwtest:redis-cluster:${randomBytes(4).toString('hex')}:`;
const T0 = Date.UTC(2030, 0, 15, 12, 0, 0);
const LEASE_MS = 600_000;

let cluster: RedisCluster;
let inspect: Cluster;
const stores: Store[] = [];
const logs: string[] = [];
const logger = createLogger({ level: 'info', secrets: [UPSTREAM_KEY, ADMIN_TOKEN], destination: { write: (line: string) => logs.push(line) } });

/** A config as main.ts would load it with REDIS_CLUSTER_NODES set. */
function clusterConfig(fakeUrl = 'http://127.0.0.1:9'): ReturnType<typeof parseConfig> {
  const yaml = `store:\n  keyPrefix: "${PREFIX}"\n`;
  const env = { REDIS_CLUSTER_NODES: cluster.urls.join(','), XAI_API_KEY: UPSTREAM_KEY, XAI_BASE_URL: fakeUrl, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN };
  return parseConfig(yaml, { file: 'test', env });
}

async function openClusterStore(): Promise<Store> {
  const store = openStore(clusterConfig().store, logger);
  stores.push(store);
  await store.ready(30_000);
  return store;
}

let a: Store;
let b: Store;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, timeoutMs: 30_000 });
  inspect = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })));
  a = await openClusterStore();
  b = await openClusterStore();
}, 120_000);

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await inspect?.quit().catch(() => inspect.disconnect());
  await cluster?.close();
}, 30_000);

let sequence = 0;
const unique = (label: string): string => `${label}_${++sequence}_${randomBytes(3).toString('hex')}`;

function admitter(subjects: readonly AdmissionSubject[], familyId: string) {
  return (limiter: Limiter, overrides: Partial<AdmissionRequest> = {}): Promise<AdmissionResult> =>
    limiter.admit({ requestId: unique('req'), subjects, familyId, estimatedTokens: 100, estimatedCostTicks: 0, nowMs: T0, leaseMs: LEASE_MS, ...overrides });
}

function reservationOf(result: AdmissionResult): Reservation {
  if (!result.admitted) throw new Error(`expected admission, got ${result.code} on ${result.limit}`);
  return result.reservation;
}

function record(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const at = '2030-01-15T12:00:00.000Z';
  return {
    id: generateKeyId(), name: 'cluster', plan: null, models: ['grok-4'], endpoints: ['chat.completions'], collections: null, limits: {},
    allowedOrigins: null, allowedIps: null, expiresAt: null, revokedAt: null, createdAt: at, updatedAt: at,
    metadata: {}, parentId: null, mint: null, source: 'api', ...overrides,
  };
}

describe('the store on a three-master Redis Cluster', () => {
  it('is the Cluster client, configured from REDIS_CLUSTER_NODES', async () => {
    expect(clusterConfig().store.clusterNodes).toEqual(cluster.urls);
    expect([a.kind, b.kind]).toEqual(['cluster', 'cluster']);
    await expect(a.ping()).resolves.toBeUndefined();
    expect(inspect.nodes('master')).toHaveLength(3);
  });
});

describe('limiter on the Cluster (two instances)', () => {
  it('admits exactly requestsPerMinute of 12 concurrent requests split over both instances', async () => {
    const familyId = unique('key_root');
    const admit = admitter([{ keyId: familyId, limits: { requestsPerMinute: 5 } }], familyId);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => admit(i % 2 === 0 ? a.limiter : b.limiter, { nowMs: T0 + i })));
    expect(results.filter((r) => r.admitted)).toHaveLength(5);
    for (const r of results.filter((x) => !x.admitted)) expect(r).toMatchObject({ code: 'rate_limit_exceeded', limit: 'requestsPerMinute' });
  });

  it('never reserves past a token budget under 40 concurrent admissions', async () => {
    const familyId = unique('key_root');
    const limits: LimitSet = { tokensPerMinute: 10_000, tokensPerDay: 50_000 };
    const admit = admitter([{ keyId: familyId, limits }], familyId);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => admit(i % 2 === 0 ? a.limiter : b.limiter, { estimatedTokens: 700 })));
    expect(results.filter((r) => r.admitted)).toHaveLength(14);
    expect(await b.limiter.remaining({ keyId: familyId, limits, familyId }, T0)).toEqual({ tokensPerMinute: 200, tokensPerDay: 50_000 - 9_800 });
  });

  it("refuses a child on its parent's limit and records the settled usage under both", async () => {
    const familyId = unique('key_root');
    const child: AdmissionSubject = { keyId: unique('key_child'), limits: { tokensPerDay: 5000 } };
    const parent: AdmissionSubject = { keyId: familyId, limits: { tokensPerDay: 1000 } };
    const admit = admitter([child, parent], familyId);
    expect(await admit(a.limiter, { estimatedTokens: 1200 })).toMatchObject({ admitted: false, code: 'quota_exceeded', limit: 'tokensPerDay', keyId: familyId });
    const reservation = reservationOf(await admit(a.limiter, { estimatedTokens: 500, nowMs: T0 + 1 }));
    expect(reservation.keyIds).toEqual([child.keyId, parent.keyId]);
    // Settled by the other instance: a reservation is portable, and exactly once across instances.
    const used = { ...ZERO_USAGE, promptTokens: 300, totalTokens: 300 };
    expect(await b.limiter.settle({ reservation, usage: used, model: 'grok-4', nowMs: T0 + 2 })).toBe(true);
    expect(await a.limiter.settle({ reservation, usage: used, model: 'grok-4', nowMs: T0 + 3 })).toBe(false);
    expect(await a.limiter.remaining({ ...parent, familyId }, T0 + 3)).toEqual({ tokensPerDay: 700 });
    expect(await a.limiter.remaining({ ...child, familyId }, T0 + 3)).toEqual({ tokensPerDay: 4700 });
    for (const keyId of [child.keyId, parent.keyId]) {
      const report = await b.limiter.usageReport(keyId, familyId, { from: '2030-01-15', to: '2030-01-15' });
      expect(report.totals).toMatchObject({ requests: 1, promptTokens: 300, totalTokens: 300 });
    }
  });

  it('holds a concurrency slot across instances until settlement releases it', async () => {
    const familyId = unique('key_root');
    const admit = admitter([{ keyId: familyId, limits: { concurrency: 1 } }], familyId);
    const held = reservationOf(await admit(a.limiter));
    expect(await admit(b.limiter)).toMatchObject({ admitted: false, limit: 'concurrency' });
    expect(await b.limiter.settle({ reservation: held, usage: null, model: 'grok-4', nowMs: T0 + 1 })).toBe(true);
    expect((await admit(b.limiter, { nowMs: T0 + 2 })).admitted).toBe(true);
  });
});

describe('key store on the Cluster (two instances)', () => {
  it('finds, lists, revokes and rotates a key written by the other instance', async () => {
    const root = record();
    const child = record({ parentId: root.id, name: 'child' });
    const [rootHash, childHash, rotatedHash] = [0, 1, 2].map(() => hashClientKey(generateClientKey())) as [string, string, string];
    await a.keyStore.create(root, rootHash);
    await a.keyStore.create(child, childHash);
    expect(await b.keyStore.findBySecretHash(rootHash)).toEqual(root);
    expect(await b.keyStore.findBySecretHash(childHash)).toEqual(child);
    expect((await b.keyStore.listChildren(root.id)).map((k) => k.id)).toEqual([child.id]);
    expect((await b.keyStore.list({ limit: 1000 })).data.map((k) => k.id)).toEqual(expect.arrayContaining([root.id, child.id]));
    await expect(b.keyStore.create(record(), rootHash)).rejects.toBeInstanceOf(KeyStoreConflictError);

    const revokedAt = '2030-01-15T12:05:00.000Z';
    await a.keyStore.update(root.id, { revokedAt }, new Date(revokedAt));
    expect(await b.keyStore.findBySecretHash(rootHash)).toMatchObject({ id: root.id, revokedAt });

    await b.keyStore.addSecretHash(child.id, rotatedHash, null);
    await b.keyStore.removeSecretHashes(child.id, [rotatedHash]);
    expect(await a.keyStore.findBySecretHash(childHash)).toBeNull();
    expect(await a.keyStore.findBySecretHash(rotatedHash)).toMatchObject({ id: child.id });
  });
});

describe('key placement: one slot per family, families spread over the masters', () => {
  /** Master port serving each slot, from CLUSTER SLOTS. */
  async function slotOwners(): Promise<(slot: number) => number> {
    const ranges = (await inspect.cluster('SLOTS')) as unknown as [number, number, [string, number, ...unknown[]]][];
    return (slot) => {
      const range = ranges.find(([start, end]) => slot >= start && slot <= end);
      if (range === undefined) throw new Error(`slot ${slot} unserved`);
      return range[2][1];
    };
  }

  /** Every key under PREFIX, with the port of the master that actually holds it. */
  async function keysByMaster(): Promise<Map<string, number>> {
    const where = new Map<string, number>();
    for (const node of inspect.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
        for (const key of keys) where.set(key, node.options.port ?? 0);
        cursor = next;
      } while (cursor !== '0');
    }
    return where;
  }

  it('keeps every limiter key of a family (root and child) in one slot, and families land on all three masters', async () => {
    // Pick root ids until each master is predicted to own two families; the placement is then observed by SCAN.
    const ownerOf = await slotOwners();
    const masterPorts = new Set(cluster.nodes.map((n) => n.port));
    const perMaster = new Map<number, string[]>();
    for (let i = 0; i < 500 && [...masterPorts].some((p) => (perMaster.get(p)?.length ?? 0) < 2); i += 1) {
      const id = generateKeyId();
      const port = ownerOf(await inspect.cluster('KEYSLOT', `{${id}}`));
      if ((perMaster.get(port)?.length ?? 0) < 2) perMaster.set(port, [...(perMaster.get(port) ?? []), id]);
    }
    const families = [...perMaster.values()].flat();
    expect(families).toHaveLength(6);

    for (const familyId of families) {
      const child = { keyId: `${familyId}c`, limits: { requestsPerMinute: 10, tokensPerMinute: 5000, tokensPerDay: 9000, totalTokens: 90_000, concurrency: 2 } };
      const parent = { keyId: familyId, limits: { requestsPerDay: 100, tokensPerMonth: 90_000, costPerDayUsd: 5 } };
      const reservation = reservationOf(await admitter([child, parent], familyId)(a.limiter));
      await b.limiter.settle({ reservation, usage: { ...ZERO_USAGE, totalTokens: 42 }, model: 'grok-4', nowMs: T0 + 1 });
      await a.keyStore.create(record({ id: familyId }), hashClientKey(generateClientKey()));
    }

    const where = await keysByMaster();
    const mastersUsed = new Set<number>();
    for (const familyId of families) {
      const limiterKeys = [...where.keys()].filter((key) => key.startsWith(`${PREFIX}v2:{${familyId}}:`));
      // Family-level (res, resexp, reaped?) and per-key parts (rpm, tpm, conc, d:, m:, total, u:, udays) of both keys.
      expect(limiterKeys.filter((key) => key.includes(`}:${familyId}c:`)).length).toBeGreaterThanOrEqual(5);
      expect(limiterKeys.filter((key) => key.includes(`}:${familyId}:`)).length).toBeGreaterThanOrEqual(3);
      const recordKeys = [...where.keys()].filter((key) => key.startsWith(`${PREFIX}v1:key:{${familyId}}`));
      expect(recordKeys.length).toBeGreaterThanOrEqual(2); // the record and its secrets set
      for (const group of [limiterKeys, recordKeys]) {
        const slots = new Set(await Promise.all(group.map((key) => inspect.cluster('KEYSLOT', key))));
        expect(slots).toEqual(new Set([await inspect.cluster('KEYSLOT', `{${familyId}}`)]));
        expect(new Set(group.map((key) => where.get(key))).size).toBe(1);
      }
      mastersUsed.add(where.get(limiterKeys[0] ?? '') ?? 0);
    }
    expect(mastersUsed).toEqual(masterPorts);
  });
});

describe('the gateway over HTTP on the Cluster (two instances)', () => {
  let fake: FakeXai;
  const gateways: Gateway[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    fake = await startFakeXai({ apiKeys: [UPSTREAM_KEY] });
    for (let i = 0; i < 2; i += 1) {
      const config = clusterConfig(fake.url);
      const store = openStore(config.store, logger);
      stores.push(store);
      await store.ready(30_000);
      const gateway = createGateway({ config, logger, store });
      gateways.push(gateway);
      await gateway.app.listen({ host: '127.0.0.1', port: 0 });
      urls.push(`http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`);
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
    await fake?.close();
  });

  const admin = (url: string, method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('shares quota and usage across instances, and a revocation on one reaches the other', async () => {
    const [urlA, urlB] = urls as [string, string];
    for (const url of urls) expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const created = await admin(urlA, 'POST', '/admin/keys', {
      name: 'cluster-http', models: ['grok-4'], endpoints: ['chat.completions'], limits: { requestsPerMinute: 3 },
    });
    expect(created.status).toBe(201);
    const { key, id } = (await created.json()) as { key: string; id: string };
    const call = (url: string): Promise<Response> => postJson(`${url}/v1/chat/completions`, chatBody({ model: 'grok-4' }), { authorization: `Bearer ${key}` });

    const statuses = (await Promise.all([call(urlA), call(urlB), call(urlA), call(urlB)])).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
    await eventually(async () => {
      const usage = (await (await admin(urlB, 'GET', `/admin/keys/${id}/usage`)).json()) as { totals: { requests: number; totalTokens: number } };
      return usage.totals.requests === 3 && usage.totals.totalTokens > 0;
    }, 10_000);

    const revokedAt = new Date();
    await a.keyStore.update(id, { revokedAt: revokedAt.toISOString() }, revokedAt);
    await eventually(async () => {
      const response = await call(urlB);
      return response.status === 401 && ((await response.json()) as { error: { code: string } }).error.code === 'key_revoked';
    }, 5_000);
    expect(logs.join('\n')).not.toContain(key);
    expect(logs.join('\n')).not.toContain(UPSTREAM_KEY);
    // No Redis error (CROSSSLOT, MOVED left unhandled, …) and nothing above info was logged on the way.
    expect(logs.filter((line) => (JSON.parse(line) as { level: number }).level > 30)).toEqual([]);
  });

  it('keeps tenants apart: objects spread over the masters, each check one slot, lists walked across them', async () => {
    const [urlA, urlB] = urls as [string, string];
    const keys: { key: string; id: string }[] = [];
    for (const name of ['tenant-a', 'tenant-b']) {
      const created = await admin(urlA, 'POST', '/admin/keys', { name, models: ['*'], endpoints: ['responses', 'batches'] });
      keys.push((await created.json()) as { key: string; id: string });
    }
    const [tenantA, tenantB] = keys as [{ key: string; id: string }, { key: string; id: string }];
    const responseOf = async (key: string): Promise<string> => {
      const r = await postJson(`${urlA}/v1/responses`, { model: 'grok-4-fast-reasoning', input: 'x' }, { authorization: `Bearer ${key}` });
      return ((await r.json()) as { id: string }).id;
    };
    const batchOf = async (key: string): Promise<string> => {
      const r = await postJson(`${urlA}/v1/batches`, { name: 'x' }, { authorization: `Bearer ${key}` });
      return ((await r.json()) as { id: string }).id;
    };
    const mine = [await responseOf(tenantA.key), await responseOf(tenantA.key), await responseOf(tenantA.key)];
    const theirs = await responseOf(tenantB.key);
    const get = (key: string, id: string): Promise<number> => fetch(`${urlB}/v1/responses/${id}`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
    for (const id of mine) expect(await get(tenantA.key, id)).toBe(200);
    expect(await get(tenantA.key, theirs)).toBe(404);
    expect(await get(tenantB.key, mine[0] ?? '')).toBe(404);
    // One request naming several objects (in several slots) is checked in one go.
    const chained = await postJson(`${urlB}/v1/responses`, { model: 'grok-4-fast-reasoning', input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file_x' }] }], previous_response_id: mine[1] }, { authorization: `Bearer ${tenantA.key}` });
    expect(chained.status).toBe(404);
    const batches = [await batchOf(tenantA.key), await batchOf(tenantB.key), await batchOf(tenantA.key)];
    const listed = (await (await fetch(`${urlB}/v1/batches?limit=1`, { headers: { authorization: `Bearer ${tenantA.key}` } })).json()) as { batches: { id: string }[]; pagination_token: string };
    const rest = (await (await fetch(`${urlA}/v1/batches?pagination_token=${listed.pagination_token}`, { headers: { authorization: `Bearer ${tenantA.key}` } })).json()) as { batches: { id: string }[] };
    expect([...listed.batches, ...rest.batches].map((x) => x.id)).toEqual([batches[2], batches[0]]);
    expect(logs.filter((line) => (JSON.parse(line) as { level: number }).level > 30)).toEqual([]);
  });
});
