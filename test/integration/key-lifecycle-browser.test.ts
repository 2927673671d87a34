import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, chatBody, postJson, rawRequest, startHarness, type Harness } from '../helpers/harness.js';

// What makes a key safe in a browser — allowedOrigins, CORS, allowedIps and trustProxy — over real
// sockets and Redis.

const CONFIGURED = 'https://configured.example';
const YAML = `
cors: { origins: ["${CONFIGURED}"] }
`;

let h: Harness;
let proxied: Harness;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'key-lifecycle-browser', yaml: YAML });
  proxied = await startHarness({ store: 'redis', name: 'key-lifecycle-browser-proxy', yaml: `${YAML}server: { trustProxy: true }\n`, fake: h.fake });
});

afterAll(async () => {
  await proxied.close();
  await h.close();
});

const ALL = { models: ['*'], endpoints: ['*'] };

function chat(on: Harness, key: string, headers: Record<string, string> = {}): Promise<Response> {
  return postJson(`${on.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}`, ...headers });
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

/** A preflight as a browser sends it (fetch refuses to set Origin itself, so node:http). */
function preflight(on: Harness, path: string, origin: string): ReturnType<typeof rawRequest> {
  return rawRequest(on.url, {
    method: 'OPTIONS',
    path,
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
}

describe('allowedOrigins', () => {
  it('accepts a listed Origin; refuses any other, and a missing one, with 403 origin_not_allowed', async () => {
    const { key } = await h.createKey({ name: 'web', ...ALL, allowedOrigins: ['https://app.example.com'] });
    expect((await chat(h, key, { origin: 'https://app.example.com' })).status).toBe(200);
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'https://app.example.com.evil.example' }, { origin: 'http://app.example.com' }, {}]) {
      const refused = await chat(h, key, headers);
      expect(refused.status).toBe(403);
      expect(await errorCode(refused)).toBe('origin_not_allowed');
    }
  });

  it('a key without allowedOrigins works with or without an Origin', async () => {
    const { key } = await h.createKey({ name: 'server', ...ALL });
    expect((await chat(h, key)).status).toBe(200);
    expect((await chat(h, key, { origin: 'https://anything.example' })).status).toBe(200);
  });
});

describe('CORS', () => {
  it('answers a preflight for a configured origin with that origin, never *', async () => {
    const response = await preflight(h, '/v1/chat/completions', CONFIGURED);
    expect(response.status).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe(CONFIGURED);
    expect(String(response.headers.vary)).toMatch(/origin/i);
    const allowed = String(response.headers['access-control-allow-headers']).split(/,\s*/);
    for (const name of ['authorization', 'content-type', 'x-api-key', 'x-request-id', 'x-grok-conv-id']) expect(allowed).toContain(name);
    expect(String(response.headers['access-control-allow-methods'])).toMatch(/POST/);
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('answers for an active key\'s origin, and stops once the key is revoked', async () => {
    const origin = 'https://key-origin.example';
    expect((await preflight(h, '/v1/chat/completions', origin)).headers['access-control-allow-origin']).toBeUndefined();
    const { key, id } = await h.createKey({ name: 'spa', ...ALL, allowedOrigins: [origin] });
    const answered = await preflight(h, '/v1/chat/completions', origin);
    expect(answered.status).toBe(204);
    expect(answered.headers['access-control-allow-origin']).toBe(origin);

    const actual = await chat(h, key, { origin });
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBe(origin);
    expect(actual.headers.get('vary')).toMatch(/origin/i);
    const exposed = (actual.headers.get('access-control-expose-headers') ?? '').split(/,\s*/);
    for (const name of ['x-request-id', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-tokens', 'retry-after']) expect(exposed).toContain(name);

    await h.admin('DELETE', `/admin/keys/${id}`);
    const after = await preflight(h, '/v1/chat/completions', origin);
    expect(after.headers['access-control-allow-origin']).toBeUndefined();
    expect(after.status).toBe(404);
  });

  it('follows a PATCH of allowedOrigins', async () => {
    const { id } = await h.createKey({ name: 'moving', ...ALL, allowedOrigins: ['https://before.example'] });
    expect((await preflight(h, '/v1/models', 'https://before.example')).status).toBe(204);
    await h.admin('PATCH', `/admin/keys/${id}`, { allowedOrigins: ['https://after.example'] });
    expect((await preflight(h, '/v1/models', 'https://before.example')).headers['access-control-allow-origin']).toBeUndefined();
    expect((await preflight(h, '/v1/models', 'https://after.example')).headers['access-control-allow-origin']).toBe('https://after.example');
  });

  it('says nothing to a foreign origin, on a preflight or an actual request', async () => {
    const { key } = await h.createKey({ name: 'plain', ...ALL });
    const refused = await preflight(h, '/v1/chat/completions', 'https://evil.example');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect(refused.headers['access-control-allow-headers']).toBeUndefined();
    const actual = await chat(h, key, { origin: 'https://evil.example' });
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('gives the admin API and /gateway/keys no CORS, even for an allowed origin', async () => {
    for (const path of ['/admin/keys', '/gateway/keys', '/healthz']) {
      const response = await preflight(h, path, CONFIGURED);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    }
    const admin = await fetch(`${h.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, origin: CONFIGURED } });
    expect(admin.status).toBe(200);
    expect(admin.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('follows a config reload of cors.origins', async () => {
    const added = 'https://reloaded.example';
    expect((await preflight(h, '/v1/models', added)).headers['access-control-allow-origin']).toBeUndefined();
    h.gateway.applyConfig({ ...h.config, cors: { origins: [CONFIGURED, added] } });
    try {
      expect((await preflight(h, '/v1/models', added)).headers['access-control-allow-origin']).toBe(added);
    } finally {
      h.gateway.applyConfig(h.config);
    }
    expect((await preflight(h, '/v1/models', added)).headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('allowedIps, trustProxy off: the socket address counts, X-Forwarded-For is ignored', () => {
  it('refuses an address outside the list with 403 ip_not_allowed, whatever X-Forwarded-For says', async () => {
    const { key } = await h.createKey({ name: 'office', ...ALL, allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });
    for (const headers of [{}, { 'x-forwarded-for': '10.1.2.3' }, { 'x-forwarded-for': '2001:db8::1' }, { 'x-real-ip': '10.1.2.3', forwarded: 'for=10.1.2.3' }]) {
      const refused = await chat(h, key, headers);
      expect(refused.status).toBe(403);
      expect(await errorCode(refused)).toBe('ip_not_allowed');
    }
  });

  it('accepts the socket address (127.0.0.1) in the list, whatever X-Forwarded-For says', async () => {
    const { key } = await h.createKey({ name: 'local', ...ALL, allowedIps: ['127.0.0.0/8'] });
    expect((await chat(h, key)).status).toBe(200);
    expect((await chat(h, key, { 'x-forwarded-for': '192.0.2.66' })).status).toBe(200);
  });

  it('an IPv6-only list refuses an IPv4 client', async () => {
    const { key } = await h.createKey({ name: 'v6', ...ALL, allowedIps: ['::1'] });
    expect(await errorCode(await chat(h, key))).toBe('ip_not_allowed');
  });
});

describe('allowedIps, trustProxy on: the client address comes from X-Forwarded-For', () => {
  it('checks the forwarded IPv4, IPv6 and IPv4-mapped addresses against the CIDRs', async () => {
    const { key } = await proxied.createKey({ name: 'office', ...ALL, allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });
    expect((await chat(proxied, key, { 'x-forwarded-for': '10.1.2.3' })).status).toBe(200);
    expect((await chat(proxied, key, { 'x-forwarded-for': '2001:db8:1::42' })).status).toBe(200);
    expect((await chat(proxied, key, { 'x-forwarded-for': '::ffff:10.9.8.7' })).status).toBe(200);
    for (const address of ['192.0.2.1', '2001:db9::1', '::ffff:192.0.2.1']) {
      const refused = await chat(proxied, key, { 'x-forwarded-for': address });
      expect(refused.status).toBe(403);
      expect(await errorCode(refused)).toBe('ip_not_allowed');
    }
    // No X-Forwarded-For: the socket address (127.0.0.1) is outside the list.
    expect(await errorCode(await chat(proxied, key))).toBe('ip_not_allowed');
  });
});
