import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminTokenFingerprint } from '../../src/keys/admin-auth.js';
import { generateClientKey, hashClientKey } from '../../src/keys/key-format.js';
import { ADMIN_TOKEN, chatBody, eventually, postJson, startHarness, type Harness } from '../helpers/harness.js';

// PATCH, revocation, rotation, expiry, all-keys usage and the audit log, over real sockets and Redis.

const DECLARED_SECRET = generateClientKey();
const YAML = `
plans:
  free:
    models: ["grok-3-mini"]
    endpoints: ["chat.completions"]
    limits: { requestsPerMinute: 100 }
keys:
  - { id: key_declared, name: ops, models: ["*"], endpoints: ["*"], secretSha256: "${hashClientKey(DECLARED_SECRET)}" }
`;

let h: Harness;
/** Every client secret this file saw: none may ever appear in the audit log. */
const secrets: string[] = [DECLARED_SECRET];

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'key-lifecycle', yaml: YAML });
});

afterAll(async () => {
  await h.close();
});

const ALL = { models: ['*'], endpoints: ['*'] };

async function newKey(body: Record<string, unknown> = {}): Promise<{ key: string; id: string }> {
  const created = await h.createKey({ name: 'k', ...ALL, ...body });
  secrets.push(created.key);
  return created;
}

function chat(key: string, body: Record<string, unknown> = {}): Promise<Response> {
  return postJson(`${h.url}/v1/chat/completions`, chatBody(body), { authorization: `Bearer ${key}` });
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

describe('PATCH /admin/keys/:id', () => {
  it('changes scopes, and the next request follows them', async () => {
    const { key, id } = await newKey();
    expect((await chat(key)).status).toBe(200);
    const patched = await h.admin('PATCH', `/admin/keys/${id}`, { models: ['grok-3-mini'] });
    expect(patched.status).toBe(200);
    expect(await json(patched)).toMatchObject({ id, models: ['grok-3-mini'], state: 'active' });
    const refused = await chat(key);
    expect(refused.status).toBe(403);
    expect(await errorCode(refused)).toBe('model_not_allowed');
    expect((await chat(key, { model: 'grok-3-mini' })).status).toBe(200);
    await h.admin('PATCH', `/admin/keys/${id}`, { endpoints: ['models'] });
    expect(await errorCode(await chat(key, { model: 'grok-3-mini' }))).toBe('endpoint_not_allowed');
  });

  it('changes limits, and admission follows them', async () => {
    const { key, id } = await newKey();
    expect((await h.admin('PATCH', `/admin/keys/${id}`, { limits: { requestsPerMinute: 1 } })).status).toBe(200);
    expect((await chat(key)).status).toBe(200);
    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe('rate_limit_exceeded');
  });

  it('changes name, metadata, plan, origins, IPs and mint; the record shows them', async () => {
    const { id } = await newKey();
    const body = {
      name: 'renamed',
      metadata: { team: 'web' },
      plan: 'free',
      allowedOrigins: ['https://app.example.com'],
      allowedIps: ['10.0.0.0/8'],
      mint: { maxTtlSeconds: 600 },
    };
    expect((await h.admin('PATCH', `/admin/keys/${id}`, body)).status).toBe(200);
    const record = await json(await h.admin('GET', `/admin/keys/${id}`));
    expect(record).toMatchObject(body);
    expect(record.updatedAt).not.toBe(record.createdAt);
    expect(record).not.toHaveProperty('key');
  });

  it('sets an expiry with ttlSeconds or expiresAt and clears it with null', async () => {
    const { id } = await newKey();
    const before = Date.now();
    const withTtl = await json<{ expiresAt: string }>(await h.admin('PATCH', `/admin/keys/${id}`, { ttlSeconds: 3600 }));
    expect(Date.parse(withTtl.expiresAt) - before).toBeGreaterThanOrEqual(3_599_000);
    expect(Date.parse(withTtl.expiresAt) - before).toBeLessThanOrEqual(3_601_000);
    const withDate = await json(await h.admin('PATCH', `/admin/keys/${id}`, { expiresAt: '2099-01-01T00:00:00+02:00' }));
    expect(withDate.expiresAt).toBe('2098-12-31T22:00:00.000Z');
    const cleared = await json(await h.admin('PATCH', `/admin/keys/${id}`, { expiresAt: null }));
    expect(cleared.expiresAt).toBeNull();
  });

  it.each<[string, unknown, RegExp]>([
    ['an unknown plan', { plan: 'gold' }, /plan/],
    ['a bad origin', { allowedOrigins: ['app.example.com'] }, /allowedOrigins/],
    ['a bad CIDR', { allowedIps: ['300.0.0.0/8'] }, /allowedIps/],
    ['a past expiry', { expiresAt: '2001-01-01T00:00:00Z' }, /expiresAt/],
    ['revokedAt (DELETE revokes)', { revokedAt: null }, /revokedAt/],
    ['an empty body', {}, /at least one field/],
    ['a negative limit', { limits: { concurrency: -1 } }, /limits\.concurrency/],
  ])('refuses %s with 400 and the reason', async (_label, body, reason) => {
    const { id } = await newKey();
    const response = await h.admin('PATCH', `/admin/keys/${id}`, body);
    expect(response.status).toBe(400);
    const error = (await json<{ error: { code: string; message: string } }>(response)).error;
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(reason);
  });

  it('404 for an unknown key, 409 for a key declared in the YAML', async () => {
    expect((await h.admin('PATCH', '/admin/keys/key_nope', { name: 'x' })).status).toBe(404);
    const declared = await h.admin('PATCH', '/admin/keys/key_declared', { name: 'x' });
    expect(declared.status).toBe(409);
    expect((await json<{ error: { message: string } }>(declared)).error.message).toMatch(/declared in the YAML config and is read-only/);
    expect((await h.admin('DELETE', '/admin/keys/key_declared')).status).toBe(409);
    expect((await h.admin('POST', '/admin/keys/key_declared/rotate', {})).status).toBe(409);
  });

  it('needs the admin token; a client key does not open it', async () => {
    const { key, id } = await newKey();
    const response = await fetch(`${h.url}/admin/keys/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x' }),
    });
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe('invalid_admin_token');
  });
});

describe('expiry', () => {
  it('a key past its expiresAt is 401 key_expired', async () => {
    const { key, id } = await newKey({ ttlSeconds: 3600 });
    expect((await chat(key)).status).toBe(200);
    // The API refuses a past expiry, so the store is set directly; the resolver's cache is dropped as a change would.
    await h.keyStore.update(id, { expiresAt: new Date(Date.now() - 1000).toISOString() }, new Date());
    h.gateway.resolver.invalidate(id);
    const refused = await chat(key);
    expect(refused.status).toBe(401);
    expect(await errorCode(refused)).toBe('key_expired');
    expect(await json(await h.admin('GET', `/admin/keys/${id}`))).toMatchObject({ state: 'expired' });
  });

  it('a key created with ttlSeconds 1 stops working about a second later', async () => {
    const { key } = await newKey({ ttlSeconds: 1 });
    const createdAt = Date.now();
    expect((await chat(key)).status).toBe(200);
    await eventually(async () => (await chat(key)).status === 401, 3_000);
    expect(Date.now() - createdAt).toBeGreaterThanOrEqual(900);
    expect(await errorCode(await chat(key))).toBe('key_expired');
  });
});

describe('DELETE /admin/keys/:id (revoke)', () => {
  it('refuses the key at once with 401 key_revoked and keeps the record', async () => {
    const { key, id } = await newKey();
    expect((await chat(key)).status).toBe(200);
    const revoked = await h.admin('DELETE', `/admin/keys/${id}`);
    expect(revoked.status).toBe(200);
    const record = await json<{ revokedAt: string; state: string }>(revoked);
    expect(record.state).toBe('revoked');
    expect(Date.parse(record.revokedAt)).toBeGreaterThan(Date.now() - 10_000);
    const refused = await chat(key);
    expect(refused.status).toBe(401);
    expect(await errorCode(refused)).toBe('key_revoked');
    expect(await json(await h.admin('GET', `/admin/keys/${id}`))).toMatchObject({ id, state: 'revoked', revokedAt: record.revokedAt });
    const listed = await json<{ data: { id: string }[] }>(await h.admin('GET', '/admin/keys?limit=1000'));
    expect(listed.data.some((k) => k.id === id)).toBe(true);
    // Idempotent: a second revoke changes nothing.
    expect(await json(await h.admin('DELETE', `/admin/keys/${id}`))).toMatchObject({ revokedAt: record.revokedAt });
  });

  it('404 for an unknown key', async () => {
    expect((await h.admin('DELETE', '/admin/keys/key_unknown')).status).toBe(404);
  });
});

describe('POST /admin/keys/:id/rotate', () => {
  it('returns a new secret once; without grace the old one stops at once', async () => {
    const { key: oldKey, id } = await newKey();
    expect((await chat(oldKey)).status).toBe(200);
    const rotated = await h.admin('POST', `/admin/keys/${id}/rotate`, {});
    expect(rotated.status).toBe(200);
    const body = await json<{ key: string; id: string; previousKeyValidUntil: string }>(rotated);
    secrets.push(body.key);
    expect(body.id).toBe(id);
    expect(body.key).toMatch(/^xgw_/);
    expect(body.key).not.toBe(oldKey);
    expect((await chat(body.key)).status).toBe(200);
    const refused = await chat(oldKey);
    expect(refused.status).toBe(401);
    expect(await errorCode(refused)).toBe('invalid_api_key');
    // Shown once: the record never carries it again.
    expect(JSON.stringify(await json(await h.admin('GET', `/admin/keys/${id}`)))).not.toContain(body.key);
  });

  it('with no body at all, behaves as graceSeconds 0', async () => {
    const { key: oldKey, id } = await newKey();
    const response = await fetch(`${h.url}/admin/keys/${id}/rotate`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(200);
    secrets.push((await json<{ key: string }>(response)).key);
    expect((await chat(oldKey)).status).toBe(401);
  });

  it('keeps the old secret for graceSeconds, then not (on time)', async () => {
    const { key: oldKey, id } = await newKey();
    expect((await chat(oldKey)).status).toBe(200);
    const rotated = await json<{ key: string; previousKeyValidUntil: string }>(await h.admin('POST', `/admin/keys/${id}/rotate`, { graceSeconds: 1 }));
    secrets.push(rotated.key);
    const graceEndsAtMs = Date.parse(rotated.previousKeyValidUntil);
    expect(graceEndsAtMs - Date.now()).toBeGreaterThan(500);
    expect(graceEndsAtMs - Date.now()).toBeLessThanOrEqual(1000);
    expect((await chat(oldKey)).status).toBe(200);
    expect((await chat(rotated.key)).status).toBe(200);
    await eventually(async () => (await chat(oldKey)).status === 401, 3_000);
    const lateByMs = Date.now() - graceEndsAtMs;
    expect(lateByMs).toBeGreaterThanOrEqual(0);
    // Within the grace-end announcement's slack (the cache TTL bound is shown with two instances, key-lifecycle-instances).
    expect(lateByMs).toBeLessThan(300);
    expect((await chat(rotated.key)).status).toBe(200);
  });

  it.each<[string, unknown]>([
    ['a negative grace', { graceSeconds: -1 }],
    ['a fractional grace', { graceSeconds: 1.5 }],
    ['a string grace', { graceSeconds: '60' }],
    ['more than a week', { graceSeconds: 604_801 }],
    ['an unknown field', { grace: 60 }],
    ['an array', [60]],
  ])('refuses %s with 400', async (_label, body) => {
    const { id } = await newKey();
    const response = await h.admin('POST', `/admin/keys/${id}/rotate`, body);
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe('invalid_request');
  });

  it('404 for an unknown key; 409 for a revoked key', async () => {
    expect((await h.admin('POST', '/admin/keys/key_unknown/rotate', {})).status).toBe(404);
    const { id } = await newKey();
    await h.admin('DELETE', `/admin/keys/${id}`);
    expect((await h.admin('POST', `/admin/keys/${id}/rotate`, {})).status).toBe(409);
  });
});

describe('GET /admin/usage', () => {
  interface U { requests: number; totalTokens: number; costUsd: number }
  interface Report { from: string; to: string; totals: U; keys: { keyId: string; parentId: string | null; totals: U; days: { date: string; models: Record<string, U> }[] }[] }

  it('reports every key with usage, and overall totals that count a child once', async () => {
    const before = await json<Report>(await h.admin('GET', '/admin/usage'));
    const a = await newKey();
    const b = await newKey({ mint: { maxTtlSeconds: 600 } });
    const idle = await newKey();
    const minted = await postJson(`${h.url}/gateway/keys`, { name: 'child' }, { authorization: `Bearer ${b.key}` });
    expect(minted.status).toBe(201);
    const child = await json<{ key: string; id: string }>(minted);
    secrets.push(child.key);
    for (const key of [a.key, b.key, child.key, child.key]) expect((await chat(key)).status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    let report = before;
    await eventually(async () => {
      report = await json<Report>(await h.admin('GET', `/admin/usage?from=${today}&to=${today}`));
      return report.totals.requests - before.totals.requests === 4;
    });
    expect(report.from).toBe(today);
    const byId = new Map(report.keys.map((k) => [k.keyId, k]));
    expect(byId.get(a.id)?.totals.requests).toBe(1);
    // The parent's report includes its child's usage (docs/api.md); the child's shows under the child too.
    expect(byId.get(b.id)?.totals.requests).toBe(3);
    expect(byId.get(child.id)).toMatchObject({ parentId: b.id, totals: { requests: 2 } });
    expect(byId.get(child.id)?.days[0]?.date).toBe(today);
    expect(byId.get(child.id)?.days[0]?.models['grok-4']?.requests).toBe(2);
    expect(byId.has(idle.id)).toBe(false);
    const sumOfRoots = report.keys.filter((k) => k.parentId === null).reduce((sum, k) => sum + k.totals.totalTokens, 0);
    expect(report.totals.totalTokens).toBe(sumOfRoots);
  });

  it('an empty range in the past has no keys', async () => {
    const report = await json<Report>(await h.admin('GET', '/admin/usage?from=2001-01-01&to=2001-01-31'));
    expect(report).toMatchObject({ from: '2001-01-01', to: '2001-01-31', keys: [], totals: { requests: 0 } });
  });

  it.each(['from=2026-13-01', 'from=yesterday', 'from=2026-02-02&to=2026-02-01', 'from=2020-01-01&to=2026-01-01'])('400 for %s', async (query) => {
    expect((await h.admin('GET', `/admin/usage?${query}`)).status).toBe(400);
  });
});

describe('GET /admin/audit', () => {
  interface Entry { at: string; actor: string; action: string; keyId: string; changes: Record<string, unknown> }

  it('records create, patch, revoke, rotate and mint, newest first, with who and what', async () => {
    const parent = await newKey({ name: 'audited', mint: { maxTtlSeconds: 600 } });
    await h.admin('PATCH', `/admin/keys/${parent.id}`, { name: 'audited-2', limits: { requestsPerMinute: 7 } });
    const rotated = await json<{ key: string }>(await h.admin('POST', `/admin/keys/${parent.id}/rotate`, { graceSeconds: 60 }));
    secrets.push(rotated.key);
    const minted = await json<{ key: string; id: string }>(await postJson(`${h.url}/gateway/keys`, { name: 'tab', ttlSeconds: 60 }, { authorization: `Bearer ${rotated.key}` }));
    secrets.push(minted.key);
    await h.admin('DELETE', `/admin/keys/${parent.id}`);

    const page = await json<{ data: Entry[]; nextCursor: string | null }>(await h.admin('GET', '/admin/audit?limit=5'));
    expect(page.data.map((e) => [e.action, e.keyId])).toEqual([
      ['revoke', parent.id],
      ['mint', minted.id],
      ['rotate', parent.id],
      ['patch', parent.id],
      ['create', parent.id],
    ]);
    const [revoke, mint, rotate, patch, create] = page.data;
    const admin = adminTokenFingerprint(ADMIN_TOKEN);
    expect(admin).toMatch(/^admin:[0-9a-f]{12}$/);
    expect([revoke?.actor, rotate?.actor, patch?.actor, create?.actor]).toEqual([admin, admin, admin, admin]);
    expect(mint?.actor).toBe(`key:${parent.id}`);
    expect(create?.changes).toMatchObject({ name: 'audited', mint: { maxTtlSeconds: 600 } });
    expect(patch?.changes).toEqual({ name: { from: 'audited', to: 'audited-2' }, limits: { from: {}, to: { requestsPerMinute: 7 } } });
    expect(rotate?.changes).toMatchObject({ graceSeconds: 60 });
    expect(mint?.changes).toMatchObject({ name: 'tab', parentId: parent.id });
    expect(revoke?.changes).toMatchObject({ childrenRevoked: [minted.id] });
    const times = page.data.map((e) => Date.parse(e.at));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
  });

  it('pages with a cursor, without duplicates', async () => {
    for (let i = 0; i < 3; i += 1) await newKey({ name: `page-${i}` });
    const first = await json<{ data: Entry[]; nextCursor: string }>(await h.admin('GET', '/admin/audit?limit=2'));
    expect(first.data).toHaveLength(2);
    const second = await json<{ data: Entry[] }>(await h.admin('GET', `/admin/audit?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`));
    expect(second.data).toHaveLength(2);
    const ids = [...first.data, ...second.data].map((e) => `${e.at}/${e.keyId}/${e.action}`);
    expect(new Set(ids).size).toBe(4);
    expect((await h.admin('GET', '/admin/audit?cursor=bogus')).status).toBe(400);
    expect((await h.admin('GET', '/admin/audit?limit=0')).status).toBe(400);
  });

  it('never contains a secret: client keys, their hashes, the admin token', async () => {
    let text = '';
    let cursor: string | null = null;
    do {
      const page: { data: Entry[]; nextCursor: string | null } = await json(await h.admin('GET', `/admin/audit?limit=1000${cursor === null ? '' : `&cursor=${cursor}`}`));
      text += JSON.stringify(page.data);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(text.length).toBeGreaterThan(1000);
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(hashClientKey(secret));
    }
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toMatch(/xgw_[0-9A-Za-z]{10}/);
  });
});

describe('on the in-process store (no REDIS_URL)', () => {
  it('patches, rotates, mints, revokes and audits the same way', async () => {
    const m = await startHarness({ store: 'memory', name: 'key-lifecycle-memory' });
    try {
      const mchat = (key: string): Promise<Response> => postJson(`${m.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}` });
      const parent = await m.createKey({ name: 'mem', ...ALL, mint: { maxTtlSeconds: 60 }, allowedOrigins: ['https://mem.example'] });
      expect((await m.admin('PATCH', `/admin/keys/${parent.id}`, { allowedOrigins: null })).status).toBe(200);
      expect((await mchat(parent.key)).status).toBe(200);
      const rotated = await json<{ key: string }>(await m.admin('POST', `/admin/keys/${parent.id}/rotate`, { graceSeconds: 0 }));
      expect((await mchat(parent.key)).status).toBe(401);
      const child = await json<{ key: string }>(await postJson(`${m.url}/gateway/keys`, { name: 'c' }, { authorization: `Bearer ${rotated.key}` }));
      expect((await mchat(child.key)).status).toBe(200);
      await m.admin('DELETE', `/admin/keys/${parent.id}`);
      expect(await errorCode(await mchat(child.key))).toBe('key_revoked');
      const audit = await json<{ data: { action: string }[] }>(await m.admin('GET', '/admin/audit'));
      expect(audit.data.map((e) => e.action)).toEqual(['revoke', 'mint', 'rotate', 'patch', 'create']);
      const text = JSON.stringify(audit);
      for (const secret of [parent.key, rotated.key, child.key]) expect(text).not.toContain(secret);
    } finally {
      await m.close();
    }
  });
});
