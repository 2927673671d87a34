import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postJson, rawRequest, startHarness, type Harness } from '../helpers/harness.js';

// Child keys minted through POST /gateway/keys (docs/api.md) — only ever narrower, expiring within the
// parent's bound, counted against the parent, dying with it — over real sockets and Redis.

const YAML = `
plans:
  free:
    models: ["grok-4", "grok-4-fast-*"]
    endpoints: ["chat.completions", "models"]
    limits: { requestsPerMinute: 100 }
`;

const APP = 'https://app.example.com';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'key-lifecycle-mint', yaml: YAML });
});

afterAll(async () => {
  await h.close();
});

interface Minted {
  status: number;
  body: Record<string, unknown> & { key: string; id: string; expiresAt: string; error?: { code: string; message: string } };
}

async function mint(parentKey: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Minted> {
  const response = await postJson(`${h.url}/gateway/keys`, body, { authorization: `Bearer ${parentKey}`, ...headers });
  return { status: response.status, body: (await response.json()) as Minted['body'] };
}

function chat(key: string, headers: Record<string, string> = {}, body: Record<string, unknown> = {}): Promise<Response> {
  return postJson(`${h.url}/v1/chat/completions`, chatBody(body), { authorization: `Bearer ${key}`, ...headers });
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

const PARENT = {
  name: 'backend',
  plan: 'free',
  limits: { requestsPerMinute: 50, tokensPerDay: 1_000_000, concurrency: 4 },
  allowedIps: ['127.0.0.0/8', '10.0.0.0/8'],
  mint: { maxTtlSeconds: 600 },
};

describe('POST /gateway/keys', () => {
  it('mints a child (Bearer or x-api-key) that inherits what it omits and expires maxTtlSeconds away', async () => {
    const parent = await h.createKey(PARENT);
    const before = Date.now();
    const minted = await mint(parent.key, { name: 'tab-1' });
    expect(minted.status).toBe(201);
    expect(minted.body).toMatchObject({
      name: 'tab-1',
      parentId: parent.id,
      plan: 'free',
      models: ['grok-4', 'grok-4-fast-*'],
      endpoints: ['chat.completions', 'models'],
      allowedIps: ['127.0.0.0/8', '10.0.0.0/8'],
      allowedOrigins: null,
      mint: null,
      state: 'active',
    });
    expect(minted.body.key).toMatch(/^xgw_/);
    const ttlMs = Date.parse(minted.body.expiresAt) - before;
    expect(ttlMs).toBeGreaterThan(599_000);
    expect(ttlMs).toBeLessThanOrEqual(601_000);
    expect((await chat(minted.body.key)).status).toBe(200);

    const viaHeader = await postJson(`${h.url}/gateway/keys`, { name: 'tab-2', ttlSeconds: 60 }, { 'x-api-key': parent.key });
    expect(viaHeader.status).toBe(201);
    const stored = await h.admin('GET', `/admin/keys/${minted.body.id}`);
    expect(JSON.stringify(await stored.json())).not.toContain(minted.body.key);
  });

  it('accepts a child narrower in every dimension, and enforces its own scopes', async () => {
    const parent = await h.createKey({ ...PARENT, allowedOrigins: [APP, 'https://admin.example.com'] });
    const minted = await mint(
      parent.key,
      { name: 'narrow', models: ['grok-4-fast-*'], endpoints: ['chat.completions'], allowedOrigins: [APP], allowedIps: ['127.0.0.1'], limits: { requestsPerMinute: 2 }, ttlSeconds: 120 },
      { origin: APP },
    );
    expect(minted.status).toBe(201);
    const child = minted.body.key;
    expect(await errorCode(await chat(child, { origin: APP }))).toBe('model_not_allowed');
    expect((await chat(child, { origin: APP }, { model: 'grok-4-fast-reasoning' })).status).toBe(200);
    expect(await errorCode(await chat(child, { origin: 'https://admin.example.com' }, { model: 'grok-4-fast-reasoning' }))).toBe('origin_not_allowed');
    expect((await chat(child, { origin: APP }, { model: 'grok-4-fast-reasoning' })).status).toBe(200);
    expect(await errorCode(await chat(child, { origin: APP }, { model: 'grok-4-fast-reasoning' }))).toBe('rate_limit_exceeded');
  });

  it('inherits the parent\'s origins, and CORS answers for them', async () => {
    const origin = 'https://inherited.example';
    const parent = await h.createKey({ ...PARENT, allowedOrigins: [origin] });
    const minted = await mint(parent.key, { name: 'spa' }, { origin });
    expect(minted.body.allowedOrigins).toEqual([origin]);
    const pre = await rawRequest(h.url, { method: 'OPTIONS', path: '/v1/chat/completions', headers: { origin, 'access-control-request-method': 'POST' } });
    expect(pre.headers['access-control-allow-origin']).toBe(origin);
  });

  it('CORS stops answering a child\'s origin when its parent is revoked', async () => {
    const origin = 'https://child-only.example';
    const allowOrigin = async (): Promise<unknown> =>
      (await rawRequest(h.url, { method: 'OPTIONS', path: '/v1/models', headers: { origin, 'access-control-request-method': 'GET' } })).headers['access-control-allow-origin'];
    const parent = await h.createKey(PARENT);
    await mint(parent.key, { name: 'spa', allowedOrigins: [origin] });
    expect(await allowOrigin()).toBe(origin);
    await h.admin('DELETE', `/admin/keys/${parent.id}`);
    expect(await allowOrigin()).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a model outside the parent', { models: ['grok-3-mini'] }, /models: "grok-3-mini"/],
    ['a wider model glob', { models: ['grok-*'] }, /models: "grok-\*"/],
    ['every model', { models: ['*'] }, /models/],
    ['an endpoint outside the parent', { endpoints: ['responses'] }, /endpoints: "responses"/],
    ['every endpoint', { endpoints: ['*'] }, /endpoints/],
    ['an origin outside the parent', { allowedOrigins: ['https://evil.example'] }, /allowedOrigins: "https:\/\/evil\.example"/],
    ['no origin restriction', { allowedOrigins: null }, /allowedOrigins: must be a non-empty subset/],
    ['a wider IP range', { allowedIps: ['0.0.0.0/0'] }, /allowedIps: "0\.0\.0\.0\/0"/],
    ['no IP restriction', { allowedIps: null }, /allowedIps: must be a non-empty subset/],
    ['a larger limit', { limits: { requestsPerMinute: 51 } }, /limits\.requestsPerMinute: 51 is above the parent's 50/],
    ['a larger concurrency', { limits: { concurrency: 5 } }, /limits\.concurrency/],
    ['another plan', { plan: null }, /plan: must be the parent's plan/],
    ['mint on the child', { mint: { maxTtlSeconds: 60 } }, /mint: a child key cannot mint keys/],
    ['a ttl beyond maxTtlSeconds (not clamped)', { ttlSeconds: 601 }, /expiresAt: must be at most 600 seconds away/],
    ['an expiresAt beyond maxTtlSeconds', { expiresAt: new Date(Date.now() + 3_600_000).toISOString() }, /expiresAt: must be at most 600 seconds/],
    ['no expiry', { expiresAt: null }, /expiresAt: a child key must expire/],
  ])('refuses %s with 400', async (_label, body, problem) => {
    const parent = await h.createKey({ ...PARENT, allowedOrigins: [APP] });
    const minted = await mint(parent.key, { name: 'wide', ...body }, { origin: APP });
    expect(minted.status).toBe(400);
    expect(minted.body.error?.code).toBe('invalid_request');
    expect(minted.body.error?.message).toMatch(problem);
  });

  it('refuses an expiry after the parent\'s', async () => {
    const parent = await h.createKey({ ...PARENT, ttlSeconds: 60 });
    const minted = await mint(parent.key, { name: 'late', ttlSeconds: 120 });
    expect(minted.status).toBe(400);
    expect(minted.body.error?.message).toMatch(/expiresAt: must not be after the parent's expiry/);
    const defaulted = await mint(parent.key, { name: 'default' });
    expect(defaulted.status).toBe(201);
    expect(Date.parse(defaulted.body.expiresAt)).toBeLessThanOrEqual(Date.parse(parent.record.expiresAt as string));
  });

  it('refuses an invalid body like POST /admin/keys does', async () => {
    const parent = await h.createKey(PARENT);
    expect((await mint(parent.key, { models: ['grok-4'] })).body.error?.message).toMatch(/name: is required/);
    expect((await mint(parent.key, { name: 'x', surprise: true })).status).toBe(400);
  });

  it('403 endpoint_not_allowed for a key without mint, and for a child', async () => {
    const plain = await h.createKey({ name: 'plain', models: ['*'], endpoints: ['*'] });
    const refused = await mint(plain.key, { name: 'x' });
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe('endpoint_not_allowed');
    const parent = await h.createKey(PARENT);
    const child = await mint(parent.key, { name: 'child' });
    const grandchild = await mint(child.body.key, { name: 'grandchild' });
    expect(grandchild.status).toBe(403);
    expect(grandchild.body.error?.code).toBe('endpoint_not_allowed');
  });

  it('authenticates the minting key like any client call', async () => {
    const none = await postJson(`${h.url}/gateway/keys`, { name: 'x' });
    expect(none.status).toBe(401);
    const parent = await h.createKey({ ...PARENT, allowedOrigins: [APP] });
    expect((await mint(parent.key, { name: 'x' })).body.error?.code).toBe('origin_not_allowed');
    const remote = await h.createKey({ ...PARENT, allowedIps: ['192.0.2.0/24'] });
    expect((await mint(remote.key, { name: 'x' })).body.error?.code).toBe('ip_not_allowed');
    await h.admin('DELETE', `/admin/keys/${parent.id}`);
    expect((await mint(parent.key, { name: 'x' }, { origin: APP })).body.error?.code).toBe('key_revoked');
  });
});

describe('a child and its parent', () => {
  it('the child\'s usage counts against the parent\'s limits', async () => {
    // Four requests a minute: the mint is one of them (a mint counts against the minting key's limits).
    const parent = await h.createKey({ ...PARENT, limits: { requestsPerMinute: 4 } });
    const child = (await mint(parent.key, { name: 'c' })).body.key;
    expect((await chat(child)).status).toBe(200);
    expect((await chat(child)).status).toBe(200);
    expect((await chat(parent.key)).status).toBe(200);
    const refused = await chat(child);
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe('rate_limit_exceeded');
    expect((await chat(parent.key)).status).toBe(429);
  });

  it('the child stops working when its parent is revoked, and its record says so', async () => {
    const parent = await h.createKey(PARENT);
    const child = (await mint(parent.key, { name: 'c' })).body;
    expect((await chat(child.key)).status).toBe(200);
    expect((await h.admin('DELETE', `/admin/keys/${parent.id}`)).status).toBe(200);
    const refused = await chat(child.key);
    expect(refused.status).toBe(401);
    expect(await errorCode(refused)).toBe('key_revoked');
    expect(await (await h.admin('GET', `/admin/keys/${child.id}`)).json()).toMatchObject({ state: 'revoked' });
  });

  it('the child stops working when its parent expires', async () => {
    const parent = await h.createKey({ ...PARENT, ttlSeconds: 3600 });
    const child = (await mint(parent.key, { name: 'c' })).body;
    expect((await chat(child.key)).status).toBe(200);
    await h.keyStore.update(parent.id, { expiresAt: new Date(Date.now() - 1000).toISOString() }, new Date());
    h.gateway.resolver.invalidate(parent.id);
    expect(await errorCode(await chat(child.key))).toBe('key_expired');
  });

  it('the child stops working when its parent is narrowed below it (origins, IPs)', async () => {
    const parent = await h.createKey({ ...PARENT, allowedOrigins: [APP, 'https://b.example'] });
    const child = (await mint(parent.key, { name: 'c', allowedOrigins: ['https://b.example'] }, { origin: APP })).body;
    expect((await chat(child.key, { origin: 'https://b.example' })).status).toBe(200);
    await h.admin('PATCH', `/admin/keys/${parent.id}`, { allowedOrigins: [APP] });
    expect(await errorCode(await chat(child.key, { origin: 'https://b.example' }))).toBe('origin_not_allowed');
    await h.admin('PATCH', `/admin/keys/${parent.id}`, { allowedOrigins: null, allowedIps: ['192.0.2.0/24'] });
    expect(await errorCode(await chat(child.key, { origin: 'https://b.example' }))).toBe('ip_not_allowed');
  });

  it('an admin PATCH cannot widen a child either, nor give it mint', async () => {
    const parent = await h.createKey(PARENT);
    const child = (await mint(parent.key, { name: 'c' })).body;
    for (const body of [{ models: ['*'] }, { endpoints: ['*'] }, { allowedIps: null }, { limits: { requestsPerMinute: 500 } }, { mint: { maxTtlSeconds: 60 } }, { expiresAt: null }, { ttlSeconds: 3600 }]) {
      const response = await h.admin('PATCH', `/admin/keys/${child.id}`, body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/A child key can only narrow its parent/);
    }
    const narrowed = await h.admin('PATCH', `/admin/keys/${child.id}`, { name: 'renamed', models: ['grok-4'] });
    expect(narrowed.status).toBe(200);
  });
});
