import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { chatBody, postJson, rawRequest, REDIS_URL, startHarness, type Harness } from '../helpers/harness.js';

// A revoked or changed key changes behaviour on every instance within one second (docs/api.md). Two
// gateway instances share one Redis prefix, each with its own connections and pub/sub subscriber.

const ALL = { models: ['*'], endpoints: ['*'] };
/** docs/api.md: every change reaches every instance within one second. */
const BOUND_MS = 1000;

/** Default wiring: pub/sub announcements plus the 500 ms cache TTL as fallback. */
let a: Harness;
let b: Harness;
/** Caches that would hold a key for a minute: only the pub/sub announcement can carry a change in time. */
let c: Harness;
let d: Harness;

beforeAll(async () => {
  a = await startHarness({ store: 'redis', name: 'key-lifecycle-instances' });
  b = await startHarness({ store: 'redis', name: 'key-lifecycle-instances', prefix: a.prefix, fake: a.fake });
  c = await startHarness({ store: 'redis', name: 'key-lifecycle-instances-pubsub', fake: a.fake, keyCacheTtlMs: 60_000 });
  d = await startHarness({ store: 'redis', name: 'key-lifecycle-instances-pubsub', prefix: c.prefix, fake: a.fake, keyCacheTtlMs: 60_000 });
});

afterAll(async () => {
  await d.close();
  await c.close();
  await b.close();
  await a.close();
});

function chat(on: Harness | GatewayProcess, key: string, headers: Record<string, string> = {}, body: Record<string, unknown> = {}): Promise<Response> {
  return postJson(`${on.url}/v1/chat/completions`, chatBody(body), { authorization: `Bearer ${key}`, ...headers });
}

async function errorCode(response: Response): Promise<string | null> {
  if (response.status < 400) return null;
  return ((await response.json()) as { error: { code: string } }).error.code;
}

/** Milliseconds from `start` until `check` holds, polling; throws past twice the bound so a failure says how late. */
async function msUntil(start: number, check: () => Promise<boolean>): Promise<number> {
  for (;;) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > 2 * BOUND_MS) throw new Error(`not seen within ${2 * BOUND_MS} ms`);
    await delay(5);
  }
}

/** Changes on `from`, then measures until `on` behaves differently. */
async function propagation(change: () => Promise<unknown>, seen: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  await change();
  return msUntil(start, seen);
}

describe('default wiring (pub/sub, cache TTL 500 ms as fallback)', () => {
  it('a key revoked on one instance is refused by the other within 1 s', async () => {
    const { key, id } = await a.createKey({ name: 'shared', ...ALL });
    expect((await chat(b, key)).status).toBe(200);
    expect((await chat(b, key)).status).toBe(200);
    const ms = await propagation(() => a.admin('DELETE', `/admin/keys/${id}`), async () => (await errorCode(await chat(b, key))) === 'key_revoked');
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('a change written without any announcement still reaches the other instance within 1 s (cache TTL)', async () => {
    const { key, id } = await a.createKey({ name: 'silent', ...ALL });
    expect((await chat(b, key)).status).toBe(200);
    const ms = await propagation(
      () => a.keyStore.update(id, { revokedAt: new Date().toISOString() }, new Date()),
      async () => (await errorCode(await chat(b, key))) === 'key_revoked',
    );
    expect(ms).toBeLessThan(BOUND_MS);
  });
});

describe('announcements alone (caches that would hold a key for a minute)', () => {
  it('revocation', async () => {
    const { key, id } = await c.createKey({ name: 'r', ...ALL });
    expect((await chat(d, key)).status).toBe(200);
    const ms = await propagation(() => c.admin('DELETE', `/admin/keys/${id}`), async () => (await errorCode(await chat(d, key))) === 'key_revoked');
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('PATCH of models, and of allowedOrigins', async () => {
    const { key, id } = await c.createKey({ name: 'p', ...ALL });
    expect((await chat(d, key)).status).toBe(200);
    const models = await propagation(
      () => c.admin('PATCH', `/admin/keys/${id}`, { models: ['grok-3-mini'] }),
      async () => (await errorCode(await chat(d, key))) === 'model_not_allowed',
    );
    expect(models).toBeLessThan(BOUND_MS);
    expect((await chat(d, key, {}, { model: 'grok-3-mini' })).status).toBe(200);
    const origins = await propagation(
      () => c.admin('PATCH', `/admin/keys/${id}`, { allowedOrigins: ['https://only.example'] }),
      async () => (await errorCode(await chat(d, key, {}, { model: 'grok-3-mini' }))) === 'origin_not_allowed',
    );
    expect(origins).toBeLessThan(BOUND_MS);
  });

  it('rotation without grace: the old secret is refused at once', async () => {
    const { key, id } = await c.createKey({ name: 'rot', ...ALL });
    expect((await chat(d, key)).status).toBe(200);
    let fresh = '';
    const ms = await propagation(
      async () => {
        fresh = ((await (await c.admin('POST', `/admin/keys/${id}/rotate`, {})).json()) as { key: string }).key;
      },
      async () => (await errorCode(await chat(d, key))) === 'invalid_api_key',
    );
    expect(ms).toBeLessThan(BOUND_MS);
    expect((await chat(d, fresh)).status).toBe(200);
  });

  it('rotation with grace: the old secret works until the grace ends, then not, on time', async () => {
    const { key, id } = await c.createKey({ name: 'grace', ...ALL });
    expect((await chat(d, key)).status).toBe(200);
    const rotated = (await (await c.admin('POST', `/admin/keys/${id}/rotate`, { graceSeconds: 1 })).json()) as { previousKeyValidUntil: string };
    const graceEndsAtMs = Date.parse(rotated.previousKeyValidUntil);
    expect((await chat(d, key)).status).toBe(200);
    for (;;) {
      const status = (await chat(d, key)).status;
      if (status === 401) break;
      expect(status).toBe(200);
      expect(Date.now() - graceEndsAtMs).toBeLessThan(BOUND_MS);
      await delay(5);
    }
    const lateMs = Date.now() - graceEndsAtMs;
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(BOUND_MS);
  });

  it('a child dies with its parent', async () => {
    const parent = await c.createKey({ name: 'parent', ...ALL, mint: { maxTtlSeconds: 600 } });
    const minted = await postJson(`${d.url}/gateway/keys`, { name: 'child' }, { authorization: `Bearer ${parent.key}` });
    expect(minted.status).toBe(201);
    const child = ((await minted.json()) as { key: string }).key;
    expect((await chat(d, child)).status).toBe(200);
    const ms = await propagation(() => c.admin('DELETE', `/admin/keys/${parent.id}`), async () => (await errorCode(await chat(d, child))) === 'key_revoked');
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('CORS for a key\'s origin starts and stops on the other instance', async () => {
    const origin = 'https://spread.example';
    const allowOrigin = async (): Promise<string | undefined> => {
      const pre = await rawRequest(d.url, { method: 'OPTIONS', path: '/v1/chat/completions', headers: { origin, 'access-control-request-method': 'POST' } });
      const value: unknown = pre.headers['access-control-allow-origin'];
      return typeof value === 'string' ? value : undefined;
    };
    expect(await allowOrigin()).toBeUndefined();
    let id = '';
    const on = await propagation(
      async () => {
        ({ id } = await c.createKey({ name: 'cors', ...ALL, allowedOrigins: [origin] }));
      },
      async () => (await allowOrigin()) === origin,
    );
    expect(on).toBeLessThan(BOUND_MS);
    const off = await propagation(() => c.admin('DELETE', `/admin/keys/${id}`), async () => (await allowOrigin()) === undefined);
    expect(off).toBeLessThan(BOUND_MS);
  });

  it('an instance started later knows the origins of existing keys', async () => {
    const origin = 'https://existing.example';
    await c.createKey({ name: 'before', ...ALL, allowedOrigins: [origin] });
    const late = await startHarness({ store: 'redis', name: 'key-lifecycle-instances-pubsub', prefix: c.prefix, fake: a.fake });
    try {
      const allowed = async (): Promise<boolean> => {
        const pre = await rawRequest(late.url, { method: 'OPTIONS', path: '/v1/models', headers: { origin, 'access-control-request-method': 'GET' } });
        return pre.headers['access-control-allow-origin'] === origin;
      };
      expect(await msUntil(performance.now(), allowed)).toBeLessThan(BOUND_MS);
    } finally {
      // Its own close would delete the shared prefix's keys while c and d still run; only the gateway and store.
      await late.gateway.close();
      await late.store.close();
      await late.redis?.quit();
    }
  });
});

describe('a second gateway process (node dist/src/main.js)', () => {
  let processGateway: GatewayProcess | null = null;

  afterAll(async () => {
    await processGateway?.stop();
  });

  it('refuses a key revoked through the first within 1 s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xgw-lifecycle-'));
    const configFile = join(dir, 'gateway.yaml');
    writeFileSync(configFile, `store: { keyPrefix: "${a.prefix}" }\n`);
    processGateway = await startGatewayProcess({ XAI_BASE_URL: a.fake.url, REDIS_URL, GATEWAY_CONFIG: configFile });
    const { key, id } = await a.createKey({ name: 'cross-process', ...ALL });
    expect((await chat(processGateway, key)).status).toBe(200);
    expect((await chat(processGateway, key)).status).toBe(200);
    const gateway = processGateway;
    const ms = await propagation(() => a.admin('DELETE', `/admin/keys/${id}`), async () => (await errorCode(await chat(gateway, key))) === 'key_revoked');
    expect(ms).toBeLessThan(BOUND_MS);
  });
});
