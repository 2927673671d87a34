import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, rawRequest, startHarness, type Harness } from '../helpers/harness.js';
import { prng } from '../helpers/prng.js';

// Bad input of any kind gets a clear 4xx — never a 5xx, a crash, a hang, or a request upstream.
let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'malformed-input', env: { LOG_LEVEL: 'warn' } });
  ({ key } = await h.createKey({ name: 'fuzz', models: ['grok-4'], endpoints: ['chat.completions', 'responses', 'files', 'models', 'api-key'], limits: { maxOutputTokens: 1000 } }));
  h.fake.reset();
});

afterAll(async () => {
  await h.close();
});


function randomJsonValue(rand: () => number, depth = 0): unknown {
  const pick = Math.floor(rand() * (depth > 3 ? 5 : 8));
  switch (pick) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return Math.floor(rand() * 2 ** 40) * (rand() < 0.5 ? -1 : 1);
    case 3: return rand() * 1e308;
    case 4: return String.fromCharCode(...Array.from({ length: Math.floor(rand() * 20) }, () => Math.floor(rand() * 0xd7ff)));
    case 5: return Array.from({ length: Math.floor(rand() * 4) }, () => randomJsonValue(rand, depth + 1));
    default: {
      const keys = ['model', 'messages', 'stream', 'max_tokens', 'max_completion_tokens', 'stream_options', 'n', 'input', '__proto__', 'constructor'];
      const out: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(rand() * 5); i += 1) out[keys[Math.floor(rand() * keys.length)] ?? 'x'] = randomJsonValue(rand, depth + 1);
      return out;
    }
  }
}

interface Case {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Cases are built before the key exists (it.each collects first); KEY stands for it until the request is sent. */
const KEY = '<<client-key>>';
const auth = (): Record<string, string> => ({ authorization: `Bearer ${KEY}`, 'content-type': 'application/json' });
const withKey = (text: string): string => text.replaceAll(KEY, key);

function cases(): Case[] {
  const out: Case[] = [];
  const bodies = [
    '', ' ', '{', '}', '[]', 'null', 'true', '1', '"str"', '{"model":}', '{"model":"grok-4",}', "{'model':'grok-4'}",
    '{"model":"grok-4","messages":[]}garbage', '\u0000\u0001\u0002', '{"model":"grok-4","messages":"x","max_tokens":-1}',
    '{"model":"grok-4","max_tokens":1.5}', '{"model":"grok-4","max_tokens":1e999}', '{"model":"grok-4","max_tokens":1001}',
    '{"model":"grok-4","max_completion_tokens":0}', '{"model":"grok-4","stream":1}', '{"model":"grok-4","stream_options":5,"stream":true}',
    '{"model":null}', '{"model":""}', '{"model":["grok-4"]}', '{"model":{"id":"grok-4"}}', `{"model":"${'x'.repeat(300)}"}`,
    '{"model":"grok-3"}', '{"model":"GROK-4"}', '{"model":"grok-4 "}', '{"model":"*"}', '{"__proto__":{"model":"grok-4"}}',
    '{"model":"grok-4","model":"grok-3"}', `${'['.repeat(5000)}${']'.repeat(5000)}`, `{"a":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`,
    '\uFEFF{"model":"grok-4"}', '{"model":"grok-4\\ud800"}',
  ];
  for (const body of bodies) out.push({ name: `chat body ${JSON.stringify(body).slice(0, 40)}`, headers: auth(), body });
  const contentTypes = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonp', '', 'application/json; charset=utf-16', '*/*'];
  for (const ct of contentTypes) out.push({ name: `content-type ${ct || '(empty)'}`, headers: { authorization: `Bearer ${KEY}`, 'content-type': ct }, body: JSON.stringify(chatBody()) });
  const badAuth = [
    'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', `Bearer ${KEY}x`, `Bearer x${KEY}`, `bearer  xgw_abc`,
    `Bearer xgw_${'A'.repeat(46)}`, `Bearer xgw_${'A'.repeat(5000)}`, 'Bearer xai-abcdefghijklmnop', `Bearer ${KEY} ${KEY}`, 'Token abc', 'Bearer \u00e9\u00e9',
  ];
  for (const a of badAuth) out.push({ name: `authorization ${a.slice(0, 30)}`, headers: { authorization: a, 'content-type': 'application/json' }, body: JSON.stringify(chatBody()) });
  out.push({ name: 'x-api-key empty', headers: { 'x-api-key': '', 'content-type': 'application/json' }, body: JSON.stringify(chatBody()) });
  out.push({ name: 'x-api-key garbage', headers: { 'x-api-key': 'xgw_!!!', 'content-type': 'application/json' }, body: JSON.stringify(chatBody()) });
  const paths = [
    '/v1', '/v1/', '/v1/chat', '/v1/chat/completions/extra', '/v1/chat//completions', '/v1/./chat/completions', '/v1/chat/completions%00',
    '/v1/%00', '/v1/..%2fadmin', '/v1/%2e%2e%2fadmin%2fkeys', '/v1/files/..%5c..%5cadmin', '/v1/files/%2e%2e', `/v1/files/${'a'.repeat(500)}`,
    '/v1/models/../../admin/keys', '/v1/batches/x:cancel:cancel', '/V1/chat/completions', '/v1/CHAT/completions',
    '/v1/chat/completions?model=grok-3&x=%', '/admin/../v1/chat/completions', '//v1/chat/completions', '/v1;/chat/completions', '/v1/responses/../../admin',
  ];
  for (const path of paths) out.push({ name: `path ${path.slice(0, 40)}`, path, headers: auth(), body: JSON.stringify(chatBody()) });
  const methods = ['PUT', 'PATCH', 'DELETE', 'GET', 'OPTIONS'];
  for (const method of methods) out.push({ name: `method ${method}`, method, headers: auth(), body: method === 'GET' ? '' : JSON.stringify(chatBody()) });
  out.push({ name: 'gzip content-encoding with garbage', headers: { ...auth(), 'content-encoding': 'gzip' }, body: 'not gzip at all' });
  out.push({ name: 'unknown content-encoding', headers: { ...auth(), 'content-encoding': 'br, snappy' }, body: JSON.stringify(chatBody()) });
  out.push({ name: 'body over the limit', headers: auth(), body: JSON.stringify(chatBody({ padding: 'x'.repeat(11 * 1024 * 1024) })) });
  const rand = prng(20261126);
  for (let i = 0; i < 150; i += 1) {
    const value = randomJsonValue(rand);
    out.push({ name: `random body #${i}`, headers: auth(), body: JSON.stringify(value) });
  }
  return out;
}

describe('malformed input', () => {
  const all = cases();

  it(`has 100+ cases (${all.length})`, () => {
    expect(all.length).toBeGreaterThan(100);
  });

  it.each(all.map((c) => [c.name, c] as const))('%s → 4xx, nothing forwarded', async (_name, c) => {
    h.fake.reset();
    const headers = Object.fromEntries(Object.entries(c.headers ?? {}).map(([name, value]) => [name, withKey(value)]));
    const response = await rawRequest(h.url, {
      method: c.method ?? 'POST',
      path: c.path ?? '/v1/chat/completions',
      headers,
      ...(c.body === undefined ? {} : { body: c.body }),
    });
    if (response.status < 400 || response.status >= 500) {
      throw new Error(`${c.name}: HTTP ${response.status} ${response.body.slice(0, 200)}`);
    }
    // Our own errors carry the documented shape.
    const body = JSON.parse(response.body) as { error?: { code?: unknown; message?: unknown; type?: unknown } };
    expect(typeof body.error?.code).toBe('string');
    expect(typeof body.error?.message).toBe('string');
    // A random body may be a valid chat request by chance; only then may it reach the upstream.
    const valid = response.status < 400;
    if (!valid) expect(h.fake.requests).toHaveLength(0);
  });

  it('raw protocol garbage gets a 4xx or a closed connection, and the process stays up', async () => {
    const garbage = [
      'GARBAGE\r\n\r\n',
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\n\r\n',
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n',
      'POST /v1/files/a b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
      'POST /v1/files/\u00e9 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
    ];
    for (const text of garbage) {
      const reply = await new Promise<string>((resolve) => {
        const socket = connect(Number(new URL(h.url).port), '127.0.0.1');
        let data = '';
        socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
        socket.on('close', () => resolve(data));
        socket.on('error', () => resolve(data));
        socket.setTimeout(2_000, () => socket.destroy());
        socket.end(text, 'latin1');
      });
      if (reply !== '') expect(reply).toMatch(/^HTTP\/1\.1 4\d\d/);
    }
    expect(h.fake.requests).toHaveLength(0);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });
});
