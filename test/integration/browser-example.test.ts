import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPSTREAM_KEY, postJson, rawRequest, startHarness, type Harness } from '../helpers/harness.js';
import { startNodeProcess } from '../helpers/node-process.js';

// Examples/browser — the app backend holds a minting key and hands each page load a ten-minute
// child key bound to the page's origin (docs/api.md child keys, §8 origins and CORS). The backend runs as users run
// it (`node examples/browser/server.js`, its own process) in front of a gateway and the fake xAI, on Redis.
// What a real browser does with the page is the end-to-end test in test/e2e/browser-example.test.ts; this one needs no browser.

const SERVER = fileURLToPath(new URL('../../examples/browser/server.js', import.meta.url));
const MODEL = 'grok-3-mini';
const TEN_MINUTES_MS = 600_000;

interface Backend {
  /** The page's origin as a browser sends it, e.g. http://localhost:41234. */
  origin: string;
  output: () => string;
  stop(): Promise<void>;
}

interface SessionBody {
  key: string;
  expiresAt: string;
  gatewayUrl: string;
  model: string;
}

let h: Harness;
let minting: { key: string; id: string };
let backend: Backend;
/** Every answer of the backend in this file (status line, headers, body), for the leak check at the end. */
const backendAnswers: string[] = [];

async function startBackend(env: Record<string, string>): Promise<Backend> {
  const started = await startNodeProcess({
    script: SERVER,
    name: 'example backend',
    ready: /open (http:\/\/[^/\s]+)\//,
    env: { HOST: '127.0.0.1', PORT: '0', ...env },
  });
  return { origin: started.ready, output: started.output, stop: () => started.stop() };
}

/** A request to the example backend, recorded for the leak check. */
async function get(on: Backend, path: string, init: RequestInit = {}): Promise<{ response: Response; text: string }> {
  const response = await fetch(`${on.origin}${path}`, { redirect: 'manual', ...init });
  const text = await response.text();
  backendAnswers.push(`${response.status}\n${[...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${text}`);
  return { response, text };
}

/** What the page does on load: GET /session (a browser sends the page's Origin or none on a same-origin GET). */
async function newSession(): Promise<SessionBody> {
  const { response, text } = await get(backend, '/session', { headers: { origin: backend.origin } });
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as SessionBody;
}

function chat(key: string, headers: Record<string, string>, body: Record<string, unknown> = {}): Promise<Response> {
  return postJson(
    `${h.url}/v1/chat/completions`,
    { model: MODEL, stream: true, messages: [{ role: 'user', content: 'Hello' }], ...body },
    { authorization: `Bearer ${key}`, ...headers },
  );
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

/** The child's record as the admin API shows it (the session answer carries no id, on purpose). */
async function childRecords(): Promise<Record<string, unknown>[]> {
  const list = (await (await h.admin('GET', '/admin/keys?limit=1000')).json()) as { data: Record<string, unknown>[] };
  return list.data.filter((record) => record['parentId'] === minting.id);
}

/** A preflight as a browser sends it (node:http: fetch does not send Access-Control-Request-* itself). */
function preflight(origin: string): ReturnType<typeof rawRequest> {
  return rawRequest(h.url, {
    method: 'OPTIONS',
    path: '/v1/chat/completions',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
}

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'browser-example' });
  // The parent is wider than what the backend hands out (another model, another endpoint), so the tests can
  // tell the child's narrowing from the parent's own scopes.
  minting = await h.createKey({
    name: 'browser-example-backend',
    models: [MODEL, 'grok-4'],
    endpoints: ['chat.completions', 'models'],
    limits: { requestsPerMinute: 200, maxOutputTokens: 2048 },
    mint: { maxTtlSeconds: 600 },
  });
  backend = await startBackend({ GATEWAY_URL: h.url, MINTING_KEY: minting.key, MODEL });
});

afterAll(async () => {
  await backend.stop();
  await h.close();
});

describe('GET /session', () => {
  it('the gateway answers no CORS for the page origin until a session key bound to it exists', async () => {
    const before = await preflight(backend.origin);
    expect(before.headers['access-control-allow-origin']).toBeUndefined();
    await newSession();
    const after = await preflight(backend.origin);
    expect(after.status).toBe(204);
    expect(after.headers['access-control-allow-origin']).toBe(backend.origin);
    expect(after.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('answers a child key of the minting key that expires within ten minutes, and nothing else', async () => {
    const before = Date.now();
    const { response, text } = await get(backend, '/session', { headers: { origin: backend.origin, 'sec-fetch-site': 'same-origin' } });
    const after = Date.now();
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const session = JSON.parse(text) as SessionBody;
    expect(Object.keys(session).sort()).toEqual(['expiresAt', 'gatewayUrl', 'key', 'model']);
    expect(session.key).toMatch(/^xgw_[0-9A-Za-z]+$/);
    expect(session.key).not.toBe(minting.key);
    expect(session).toMatchObject({ gatewayUrl: h.url, model: MODEL });
    // The gateway sets expiresAt = its now + 600 s at minting, between our two clock readings.
    const expiresAt = Date.parse(session.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + TEN_MINUTES_MS);
    expect(expiresAt).toBeLessThanOrEqual(after + TEN_MINUTES_MS);

    const newest = (await childRecords()).find((record) => record['expiresAt'] === session.expiresAt);
    expect(newest).toMatchObject({
      parentId: minting.id,
      allowedOrigins: [backend.origin],
      models: [MODEL],
      endpoints: ['chat.completions'],
      limits: { requestsPerMinute: 10, maxOutputTokens: 1024 },
      mint: null,
      state: 'active',
    });
  });

  it('refuses another site (foreign Origin or Sec-Fetch-Site) without minting', async () => {
    const count = (await childRecords()).length;
    for (const headers of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }]) {
      const { response, text } = await get(backend, '/session', { headers });
      expect(response.status).toBe(403);
      expect(text).not.toMatch(/xgw_/);
    }
    expect((await childRecords()).length).toBe(count);
  });
});

describe('the session key on the gateway', () => {
  it('streams a chat completion from the page origin, with CORS naming that origin', async () => {
    const session = await newSession();
    const response = await chat(session.key, { origin: backend.origin });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('access-control-allow-origin')).toBe(backend.origin);
    const body = await response.text();
    backendAnswers.push(body); // what the page receives from the gateway is checked for the upstream key too
    const text = body
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => (JSON.parse(line.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '')
      .join('');
    expect(text.length).toBeGreaterThan(0);
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('is refused without the page Origin: none, a foreign one, or another spelling of the same host', async () => {
    const session = await newSession();
    const alias = backend.origin.replace('localhost', '127.0.0.1');
    for (const headers of [{}, { origin: 'https://evil.example' }, { origin: alias }, { origin: `${backend.origin}/` }]) {
      const refused = await chat(session.key, headers);
      expect(refused.status).toBe(403);
      expect(await errorCode(refused)).toBe('origin_not_allowed');
    }
  });

  it('is narrower than its parent: another model, another endpoint and minting are refused', async () => {
    const session = await newSession();
    // The parent itself may use grok-4 and /v1/models (server-side, no Origin)…
    expect((await chat(minting.key, {}, { model: 'grok-4', stream: false })).status).toBe(200);
    expect((await fetch(`${h.url}/v1/models`, { headers: { authorization: `Bearer ${minting.key}` } })).status).toBe(200);
    // …the page's key may not.
    const otherModel = await chat(session.key, { origin: backend.origin }, { model: 'grok-4' });
    expect(otherModel.status).toBe(403);
    expect(await errorCode(otherModel)).toBe('model_not_allowed');
    const models = await fetch(`${h.url}/v1/models`, { headers: { authorization: `Bearer ${session.key}`, origin: backend.origin } });
    expect(models.status).toBe(403);
    expect(await errorCode(models)).toBe('endpoint_not_allowed');
    const mint = await postJson(`${h.url}/gateway/keys`, { name: 'grandchild' }, { authorization: `Bearer ${session.key}`, origin: backend.origin });
    expect(mint.status).toBe(403);
    expect(await errorCode(mint)).toBe('endpoint_not_allowed');
  });

  it('a revoked session key is 401 key_revoked, and a new GET /session (what the page then does) works', async () => {
    const session = await newSession();
    const record = (await childRecords()).find((r) => r['expiresAt'] === session.expiresAt);
    expect((await h.admin('DELETE', `/admin/keys/${String(record?.['id'])}`)).status).toBe(200);
    const refused = await chat(session.key, { origin: backend.origin });
    expect(refused.status).toBe(401);
    expect(await errorCode(refused)).toBe('key_revoked');
    const fresh = await newSession();
    expect((await chat(fresh.key, { origin: backend.origin })).status).toBe(200);
  });
});

describe('the page', () => {
  it('is served with the CSP (self, plus the gateway for fetch) and has no inline script or style', async () => {
    const csp = `default-src 'self'; connect-src 'self' ${new URL(h.url).origin}`;
    for (const path of ['/', '/index.html', '/app.js', '/style.css']) {
      const { response } = await get(backend, path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-security-policy')).toContain(csp);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const { text: html } = await get(backend, '/');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, content] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/app\.js"/);
      expect(content?.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=|https?:\/\//i);
    // Accessible form: a labelled field, a submit button, a live region for the answer.
    expect(html).toMatch(/<label for="prompt">/);
    expect(html).toMatch(/<textarea id="prompt"/);
    expect(html).toMatch(/<button[^>]*type="submit"/);
    expect(html).toMatch(/aria-live="polite"/);
  });

  it('keeps the session key in memory: app.js never writes web storage or cookies', async () => {
    const { text } = await get(backend, '/app.js');
    expect(text).toMatch(/fetch\('\/session'/);
    expect(text).toMatch(/stream: true/);
    expect(text).not.toMatch(/\b(localStorage|sessionStorage|indexedDB)\s*[.[]|document\.cookie|innerHTML/);
  });

  it('is served only on the origin the keys are bound to: another host name is redirected there', async () => {
    const alias = backend.origin.replace('localhost', '127.0.0.1');
    const response = await fetch(`${alias}/`, { redirect: 'manual' });
    backendAnswers.push(await response.text());
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe(`${backend.origin}/`);
  });
});

describe('failures and secrets', () => {
  it('a gateway that does not answer is 502 gateway_unreachable', async () => {
    const lost = await startBackend({ GATEWAY_URL: 'http://127.0.0.1:1', MINTING_KEY: minting.key, MODEL });
    try {
      const { response, text } = await get(lost, '/session');
      expect(response.status).toBe(502);
      expect((JSON.parse(text) as { error: { code: string } }).error.code).toBe('gateway_unreachable');
      expect(lost.output()).not.toContain(minting.key);
    } finally {
      await lost.stop();
    }
  });

  it('other paths and methods are 404 and 405', async () => {
    expect((await get(backend, '/nope')).response.status).toBe(404);
    expect((await get(backend, '/session', { method: 'POST', headers: { origin: backend.origin } })).response.status).toBe(405);
    expect((await get(backend, '/session', { method: 'HEAD' })).response.status).toBe(405); // HEAD must not mint
    for (const path of ['/server.js', '/run-demo.js', '/package.json']) expect((await get(backend, path)).response.status).toBe(404);
  });

  it('a refused mint (the minting key revoked) is 502 mint_failed; its children die with it', async () => {
    const session = await newSession();
    expect((await h.admin('DELETE', `/admin/keys/${minting.id}`)).status).toBe(200);
    const { response, text } = await get(backend, '/session', { headers: { origin: backend.origin } });
    expect(response.status).toBe(502);
    expect((JSON.parse(text) as { error: { code: string } }).error.code).toBe('mint_failed');
    const orphan = await chat(session.key, { origin: backend.origin });
    expect(orphan.status).toBe(401);
    expect(await errorCode(orphan)).toBe('key_revoked');
  });

  // Last: it reads what the tests above collected.
  it('no answer of the backend, nor its output, contains the minting key or the upstream key', () => {
    expect(backendAnswers.length).toBeGreaterThan(15);
    for (const answer of backendAnswers) {
      expect(answer).not.toContain(minting.key);
      expect(answer).not.toContain(UPSTREAM_KEY);
    }
    expect(backend.output()).not.toContain(minting.key);
    expect(backend.output()).not.toContain(UPSTREAM_KEY);
    expect(backend.output()).toMatch(/session key key_\w+ for http:\/\/localhost:\d+/);
  });
});
