import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAT_SET_COOKIE } from '../../src/fake/xai-server.js';
import { ADMIN_TOKEN, chatBody, eventually, postJson, rawRequest, startHarness, UPSTREAM_KEY, type Harness } from '../helpers/harness.js';

// The walking skeleton end to end — client key in, upstream key out, over real sockets and Redis.
const YAML = `
plans:
  free:
    models: ["grok-3-mini", "grok-4-fast-*"]
    endpoints: ["chat.completions", "models", "api-key"]
`;

let h: Harness;
let key: string;
let keyId: string;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'proxy-chat', yaml: YAML });
  ({ key, id: keyId } = await h.createKey({ name: 'web', models: ['grok-4', 'grok-3-mini'], endpoints: ['chat.completions', 'models', 'api-key'] }));
});

afterAll(async () => {
  await h.close();
});

const chatUrl = (): string => `${h.url}/v1/chat/completions`;

function everythingUpstreamSaw(): string {
  return h.fake.requests.map((r) => JSON.stringify(r.headers) + r.body.toString('utf8')).join('\n');
}

describe('forwarding with the upstream key', () => {
  it('swaps the client key for the upstream key and relays the answer', async () => {
    h.fake.reset();
    const response = await postJson(chatUrl(), chatBody(), { authorization: `Bearer ${key}` });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: unknown[]; usage: { total_tokens: number } };
    expect(body.choices.length).toBe(1);
    expect(h.fake.requests).toHaveLength(1);
    const seen = h.fake.requests[0];
    expect(seen?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(everythingUpstreamSaw()).not.toContain(key);
    expect(seen?.path).toBe('/v1/chat/completions');
  });

  it('accepts the key as x-api-key too', async () => {
    h.fake.reset();
    const response = await postJson(chatUrl(), chatBody(), { 'x-api-key': key });
    expect(response.status).toBe(200);
    expect(h.fake.requests[0]?.headers['x-api-key']).toBeUndefined();
    expect(everythingUpstreamSaw()).not.toContain(key);
  });

  it('drops cookies, hop-by-hop headers and those named in Connection; passes the rest; drops upstream Set-Cookie', async () => {
    h.fake.reset();
    const response = await rawRequest(h.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        cookie: 'session=abc',
        connection: 'keep-alive, x-private-hop',
        'x-private-hop': 'secret-hop',
        'keep-alive': 'timeout=5',
        'x-grok-conv-id': 'conv-42',
        'user-agent': 'gateway-test/1.0',
      },
      body: JSON.stringify(chatBody()),
    });
    expect(response.status).toBe(200);
    const seen = h.fake.requests[0]?.headers ?? {};
    expect(seen.cookie).toBeUndefined();
    expect(seen['x-private-hop']).toBeUndefined();
    expect(seen['keep-alive']).toBeUndefined();
    expect(seen['x-grok-conv-id']).toBe('conv-42');
    expect(seen['user-agent']).toBe('gateway-test/1.0');
    // The fake sends a Set-Cookie on chat answers; the client must not get it.
    expect(CHAT_SET_COOKIE.length).toBeGreaterThan(0);
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('echoes a client x-request-id, or generates one', async () => {
    const echoed = await postJson(chatUrl(), chatBody(), { authorization: `Bearer ${key}`, 'x-request-id': 'req-abc-123' });
    expect(echoed.headers.get('x-request-id')).toBe('req-abc-123');
    const generated = await postJson(chatUrl(), chatBody(), { authorization: `Bearer ${key}` });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('passes xAI errors through unchanged', async () => {
    const response = await postJson(chatUrl(), chatBody({ model: 'grok-3-mini' }), { authorization: `Bearer ${key}`, 'x-fake-scenario': 'status-429' });
    expect(response.status).toBe(429);
    const body = (await response.json()) as { code: string; error: string };
    expect(typeof body.code).toBe('string');
    expect(typeof body.error).toBe('string');
  });
});

describe('client authentication refuses before anything goes upstream', () => {
  const malformed = 'xgw_not-a-real-key';
  it.each([
    ['missing', {}],
    ['not bearer', { authorization: 'Basic abc' }],
    ['malformed', { authorization: `Bearer ${malformed}` }],
    ['unknown', { authorization: 'Bearer UNKNOWN' }],
  ])('%s key → 401 invalid_api_key', async (_name, headers) => {
    h.fake.reset();
    const response = await postJson(chatUrl(), chatBody(), headers);
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { code: string; type: string; message: string } };
    expect(body.error.code).toBe('invalid_api_key');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('a well-formed key with one character changed fails its checksum (401), and an unknown well-formed key is 401', async () => {
    h.fake.reset();
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    const typo = key.slice(0, -1) + last;
    const r1 = await postJson(chatUrl(), chatBody(), { authorization: `Bearer ${typo}` });
    expect(r1.status).toBe(401);
    const { key: other, id } = await h.createKey({ name: 'to-forget', models: ['*'], endpoints: ['*'] });
    // A key that was never issued by this gateway instance's store: delete it behind the gateway's back.
    await h.keyStore.removeSecretHashes(id, []);
    h.app.log.info('cache may hold nothing for the removed key');
    const r2 = await postJson(chatUrl(), chatBody(), { authorization: `Bearer ${other}` });
    expect(r2.status).toBe(401);
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe('scopes refuse before anything goes upstream', () => {
  it('a model outside the key is 403 model_not_allowed', async () => {
    h.fake.reset();
    const response = await postJson(chatUrl(), chatBody({ model: 'grok-3' }), { authorization: `Bearer ${key}` });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('model_not_allowed');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('a glob in the requested model name grants nothing', async () => {
    const { key: globKey } = await h.createKey({ name: 'glob', plan: 'free' });
    h.fake.reset();
    const ok = await postJson(chatUrl(), chatBody({ model: 'grok-4-fast-reasoning' }), { authorization: `Bearer ${globKey}` });
    expect(ok.status).toBe(200);
    const refused = await postJson(chatUrl(), chatBody({ model: '*' }), { authorization: `Bearer ${globKey}` });
    expect(refused.status).toBe(403);
    expect(h.fake.requests).toHaveLength(1);
  });

  it('an endpoint outside the key is 403 endpoint_not_allowed', async () => {
    const { key: modelsOnly } = await h.createKey({ name: 'models-only', models: ['*'], endpoints: ['models'] });
    h.fake.reset();
    const response = await postJson(chatUrl(), chatBody(), { authorization: `Bearer ${modelsOnly}` });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('endpoint_not_allowed');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('a key with no scopes and no plan may call nothing (default deny)', async () => {
    const { key: bare } = await h.createKey({ name: 'bare' });
    h.fake.reset();
    const response = await postJson(chatUrl(), chatBody(), { authorization: `Bearer ${bare}` });
    expect(response.status).toBe(403);
    expect(h.fake.requests).toHaveLength(0);
  });

  it.each([
    ['malformed JSON', '{"model": "grok-4",', 'application/json', 400],
    ['a JSON array', '[1,2]', 'application/json', 400],
    ['no model', '{"messages":[]}', 'application/json', 400],
    ['a numeric model', '{"model": 4, "messages":[]}', 'application/json', 400],
    ['a text body', 'hello', 'text/plain', 415],
    ['an empty body', '', 'application/json', 400],
    ['stream not a boolean', '{"model":"grok-4","messages":[],"stream":"yes"}', 'application/json', 400],
    ['max_tokens not a number', '{"model":"grok-4","messages":[],"max_tokens":"lots"}', 'application/json', 400],
  ])('%s → %i invalid_request, nothing forwarded', async (_name, body, contentType, status) => {
    h.fake.reset();
    const response = await fetch(chatUrl(), { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': contentType }, body });
    expect(response.status).toBe(status);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe('routes', () => {
  it.each([
    '/v1/nope',
    '/v1/admin/keys',
    '/v1/../admin/keys',
    '/v1/%2e%2e/admin/keys',
    '/v1/%2E%2E/%2E%2E/admin/keys',
    '/v1/chat/completions/../../admin/keys',
    '/v1/chat%2fcompletions',
    '/v1//admin/keys',
    '/v1\\..\\admin\\keys',
  ])('GET %s → 404, never forwarded, never the admin API', async (path) => {
    h.fake.reset();
    // Sent raw: fetch would normalise the path before it left the client.
    const response = await rawRequest(h.url, { method: 'GET', path, headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(404);
    const body = JSON.parse(response.body) as { error: { code: string }; data?: unknown };
    expect(body.error.code).toBe('not_found');
    expect(body.data).toBeUndefined();
    // The admin token is no client key: refused before any route is looked at, and the admin API never answers.
    const asAdmin = await rawRequest(h.url, { method: 'GET', path, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect([401, 404]).toContain(asAdmin.status);
    expect((JSON.parse(asAdmin.body) as { data?: unknown }).data).toBeUndefined();
    expect(h.fake.requests).toHaveLength(0);
  });

  it('GET /v1/models lists only the models the key may use, from xAI\'s list', async () => {
    const response = await fetch(`${h.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { object: string; data: { id: string }[] };
    const ids = body.data.map((m) => m.id).sort();
    expect(ids).toContain('grok-3-mini');
    expect(ids).not.toContain('grok-3');
    expect(ids).not.toContain('grok-code-fast-1');
  });

  it('GET /v1/models/:id answers an allowed model and 404s one outside the key', async () => {
    const ok = await fetch(`${h.url}/v1/models/grok-3-mini`, { headers: { authorization: `Bearer ${key}` } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { id: string }).id).toBe('grok-3-mini');
    const hidden = await fetch(`${h.url}/v1/models/grok-3`, { headers: { authorization: `Bearer ${key}` } });
    expect(hidden.status).toBe(404);
  });

  it('GET /v1/api-key answers the client key\'s own record, nothing about the upstream key', async () => {
    const response = await fetch(`${h.url}/v1/api-key`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    const body = JSON.parse(text) as { id: string; name: string; models: string[]; remaining: unknown };
    expect(body.id).toBe(keyId);
    expect(body.name).toBe('web');
    expect(body.models).toEqual(['grok-4', 'grok-3-mini']);
    expect(body.remaining).toEqual({});
    expect(text).not.toContain(UPSTREAM_KEY);
    expect(text).not.toContain(key);
  });
});

describe('streaming', () => {
  it('relays every event in order: content and chunk count equal what the upstream sent', async () => {
    h.fake.reset();
    const response = await postJson(chatUrl(), chatBody({ stream: true, model: 'grok-3-mini' }), {
      authorization: `Bearer ${key}`,
      'x-fake-chunks': '7',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as { choices: { delta: { content?: string } }[]; usage?: unknown });
    // 7 content chunks + the finish chunk; the usage chunk the gateway asked for is not shown to this client.
    expect(chunks).toHaveLength(8);
    expect(chunks.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
    // The upstream was asked for usage on the client's behalf.
    const sent = JSON.parse(h.fake.requests[0]?.body.toString('utf8') ?? '{}') as { stream_options?: { include_usage?: boolean } };
    expect(sent.stream_options?.include_usage).toBe(true);
  });

  it('replays a recorded xAI stream byte for byte when the client asked for usage itself', async () => {
    h.fake.reset();
    const response = await postJson(
      chatUrl(),
      chatBody({ stream: true, model: 'grok-4', stream_options: { include_usage: true } }),
      { authorization: `Bearer ${key}`, 'x-fake-scenario': 'recorded-stream' },
    );
    const text = await response.text();
    expect(text).toContain('"cost_in_usd_ticks":739000');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(h.fake.requests[0]?.body.toString('utf8')).toBe(JSON.stringify(chatBody({ stream: true, model: 'grok-4', stream_options: { include_usage: true } })));
  });

  it('delivers the first event before the upstream has finished', async () => {
    h.fake.reset();
    const response = await postJson(chatUrl(), chatBody({ stream: true }), { authorization: `Bearer ${key}`, 'x-fake-scenario': 'hold' });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    const first = await reader.read();
    const firstText = Buffer.from(first.value ?? new Uint8Array()).toString('utf8');
    expect(firstText.startsWith('data: {')).toBe(true);
    // The upstream is still holding the rest: nothing more has been sent yet.
    expect(firstText).not.toContain('[DONE]');
    h.fake.release();
    let rest = '';
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      rest += Buffer.from(next.value).toString('utf8');
    }
    expect(rest).toContain('data: [DONE]');
  });
});

describe('admin API', () => {
  it('refuses a wrong or missing admin token with 401 invalid_admin_token, and a client key too', async () => {
    for (const authorization of ['Bearer wrong-token-wrong-token', '', `Bearer ${key}`]) {
      const response = await fetch(`${h.url}/admin/keys`, { headers: authorization === '' ? {} : { authorization } });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_admin_token');
    }
  });

  it('creates a key (201, secret once), lists without secrets, shows one', async () => {
    const created = await h.admin('POST', '/admin/keys', { name: 'listed', models: ['grok-4'], endpoints: ['chat.completions'], ttlSeconds: 3600, metadata: { team: 'a' } });
    expect(created.status).toBe(201);
    const record = (await created.json()) as { id: string; key: string; expiresAt: string; state: string };
    expect(record.key).toMatch(/^xgw_[0-9A-Za-z]{46}$/);
    expect(record.id).toMatch(/^key_/);
    expect(record.state).toBe('active');
    expect(Date.parse(record.expiresAt)).toBeGreaterThan(Date.now());

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await h.admin('GET', `/admin/keys?limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      expect(page.status).toBe(200);
      const text = await page.text();
      expect(text).not.toContain(record.key);
      expect(text).not.toMatch(/xgw_[0-9A-Za-z]{20,}/);
      const body = JSON.parse(text) as { data: { id: string }[]; nextCursor: string | null };
      seen.push(...body.data.map((k) => k.id));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(seen).toContain(record.id);
    expect(new Set(seen).size).toBe(seen.length);

    const one = await h.admin('GET', `/admin/keys/${record.id}`);
    expect(one.status).toBe(200);
    const shown = (await one.json()) as { id: string; key?: string; usage: { today: { requests: number } } };
    expect(shown.id).toBe(record.id);
    expect(shown.key).toBeUndefined();
    expect(shown.usage.today.requests).toBe(0);
  });

  it.each([
    [{}, 'name'],
    [{ name: 'x', plan: 'nope' }, 'plan'],
    [{ name: 'x', endpoints: ['chat'] }, 'endpoints'],
    [{ name: 'x', limits: { requestsPerMinut: 5 } }, 'limits'],
    [{ name: 'x', allowedIps: ['10.0.0.0/33'] }, 'allowedIps'],
    [{ name: 'x', expiresAt: '2000-01-01T00:00:00Z' }, 'expiresAt'],
    [{ name: 'x', ttlSeconds: -5 }, 'ttlSeconds'],
    [{ name: 'x', unknownField: true }, 'unknownField'],
  ])('refuses an invalid key body %j with 400 naming %s', async (body, field) => {
    const response = await h.admin('POST', '/admin/keys', body);
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain(field);
  });

  it('answers 404 for an unknown key id', async () => {
    expect((await h.admin('GET', '/admin/keys/key_doesnotexist')).status).toBe(404);
  });
});

describe('health', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
  });
});

describe('secrets', () => {
  it('no log line contains the upstream key, the admin token or a client key; each request logged once with its facts', async () => {
    await (await postJson(chatUrl(), chatBody(), { authorization: `Bearer ${key}`, 'x-request-id': 'log-line-check' })).text();
    // The line is written once the request is settled, just after its response.
    await eventually(() => h.logs.some((line) => line.includes('"reqId":"log-line-check"')));
    const all = h.logs.join('');
    expect(all).not.toContain(UPSTREAM_KEY);
    expect(all).not.toContain(ADMIN_TOKEN);
    expect(all).not.toContain(key);
    expect(all).not.toMatch(/xgw_[0-9A-Za-z]{20,}/);
    const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reqId === 'log-line-check');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ keyId, model: 'grok-4', status: 200, endpoint: 'chat.completions' });
    expect(typeof lines[0]?.latencyMs).toBe('number');
  });
});
