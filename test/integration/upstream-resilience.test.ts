import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_200_BODY } from '../../src/fake/scenarios.js';
import { statusScenario } from '../../src/fake/scenarios.js';
import { chatBody, eventually, postJson, startHarness, type Harness } from '../helpers/harness.js';
import { redactTeamIds } from '../../src/upstream/redact-team.js';
import type { UsageView as Totals } from '../../src/activity/usage-view.js';

// The upstream path when xAI misbehaves (docs/configuration.md timeouts, §4 errors, §5 settlement): timeouts, a dead
// upstream, client disconnects, xAI's errors passed through, errors inside HTTP 200, stalled streams.
const HEADERS_TIMEOUT_MS = 500;
// undici checks the body idle timeout on a ~0.5 s tick: it fires within about half a second early to a second late.
const BODY_IDLE_TIMEOUT_MS = 1_200;
const UNDICI_TICK_SLACK_MS = 600;
// Abort mode: this file shows what a disconnect does to the upstream request when it is stopped at once; the default,
// drain, is shown in quotas.test.ts and hostile-clients.test.ts.
const YAML = `
upstream: { headersTimeoutMs: ${HEADERS_TIMEOUT_MS}, bodyIdleTimeoutMs: ${BODY_IDLE_TIMEOUT_MS} }
quotas: { onClientDisconnect: abort }
`;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'upstream-resilience', yaml: YAML });
});

afterAll(async () => {
  await h.close();
});


async function totals(harness: Harness, id: string): Promise<Totals> {
  return ((await (await harness.admin('GET', `/admin/keys/${id}/usage`)).json()) as { totals: Totals }).totals;
}

/** Settled `requests` (and nothing more arrives shortly after). */
async function settled(harness: Harness, id: string, requests: number): Promise<Totals> {
  await eventually(async () => (await totals(harness, id)).requests >= requests);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const t = await totals(harness, id);
  expect(t.requests).toBe(requests);
  return t;
}

/** A key with one concurrency slot, so a leaked reservation shows as a refused next request. */
async function oneSlotKey(harness: Harness, name: string): Promise<{ id: string; auth: Record<string, string> }> {
  const { key, id } = await harness.createKey({ name, models: ['*'], endpoints: ['*'], limits: { concurrency: 1 } });
  return { id, auth: { authorization: `Bearer ${key}` } };
}

async function slotIsFree(harness: Harness, auth: Record<string, string>): Promise<void> {
  await eventually(async () => {
    const response = await postJson(`${harness.url}/v1/chat/completions`, chatBody(), auth);
    await response.arrayBuffer();
    return response.status === 200;
  });
}

const chat = (auth: Record<string, string>, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Response> =>
  postJson(`${h.url}/v1/chat/completions`, chatBody(body), { ...auth, ...headers });

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

describe('timeouts (docs/configuration.md)', () => {
  it.each([
    ['a plain request', {}],
    ['a stream', { stream: true }],
  ])('no response headers within headersTimeoutMs: %s → 504 upstream_timeout, upstream closed, nothing counted', async (name, body) => {
    const { id, auth } = await oneSlotKey(h, `hang-${name}`);
    h.fake.reset();
    const started = Date.now();
    const response = await chat(auth, body, { 'x-fake-scenario': 'hang' });
    const elapsed = Date.now() - started;
    console.info(`[timing] headers timeout ${HEADERS_TIMEOUT_MS} ms, ${name}: 504 after ${elapsed} ms`);
    expect(response.status).toBe(504);
    expect(await errorCode(response)).toBe('upstream_timeout');
    // The gateway's own timer ended it (src/upstream/client.ts): not before the timeout, and long before anything
    // else would have (the fake never answers). How close to the timeout is printed above, not asserted: a busy
    // machine may add any delay, and speed is the benchmark's business.
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS);
    expect(elapsed).toBeLessThan(HEADERS_TIMEOUT_MS + 10_000);
    await eventually(() => h.fake.requests[0]?.closedByClientAtMs !== null);
    await slotIsFree(h, auth);
    // The failed request released its reservation; only the probe that found the slot free counts.
    expect((await settled(h, id, 1)).requests).toBe(1);
  });

  it('a stream that stalls after its headers is ended after bodyIdleTimeoutMs, settled from what was streamed, slot freed', async () => {
    const { id, auth } = await oneSlotKey(h, 'hang-body');
    h.fake.reset();
    const response = await chat(auth, { stream: true, model: 'grok-3-mini' }, { 'x-fake-scenario': 'hang-body' });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    const first = await reader.read();
    const firstAt = Date.now();
    expect(Buffer.from(first.value ?? new Uint8Array()).toString('utf8')).toContain('"content":"Hello"');
    // The client sees the stream end without [DONE] (an abort), never a hang.
    let rest = '';
    let aborted = false;
    try {
      for (;;) {
        const next = await reader.read();
        if (next.done) break;
        rest += Buffer.from(next.value).toString('utf8');
      }
    } catch {
      aborted = true;
    }
    const stalledFor = Date.now() - firstAt;
    console.info(`[timing] body idle timeout ${BODY_IDLE_TIMEOUT_MS} ms: stalled stream ended ${stalledFor} ms after its first event (aborted: ${aborted})`);
    expect(rest).not.toContain('[DONE]');
    expect(stalledFor).toBeGreaterThanOrEqual(BODY_IDLE_TIMEOUT_MS - UNDICI_TICK_SLACK_MS);
    // Ended by the idle timer, not by the test's own timeout (the fake stays silent forever); figures printed above.
    expect(stalledFor).toBeLessThan(BODY_IDLE_TIMEOUT_MS + 10_000);
    await eventually(() => h.fake.requests[0]?.closedByClientAtMs !== null);
    const t = await settled(h, id, 1);
    // Estimated: the prompt plus the one streamed token ("Hello"), priced from the config (none here: 0).
    expect(t.promptTokens).toBeGreaterThan(0);
    expect(t.completionTokens).toBe(2);
    await slotIsFree(h, auth);
  });
});

describe('a dead upstream', () => {
  let dead: Harness;
  beforeAll(async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    dead = await startHarness({ store: 'redis', name: 'upstream-dead', fake: h.fake, env: { XAI_BASE_URL: `http://127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    await dead.close();
  });

  it.each([
    ['POST', '/v1/chat/completions', JSON.stringify(chatBody())],
    ['POST', '/v1/responses', JSON.stringify({ model: 'grok-4', input: 'x', stream: true })],
    ['GET', '/v1/files', undefined],
    ['GET', '/v1/models', undefined],
  ])('%s %s → 502 upstream_error at once, reservation released', async (method, path, body) => {
    const { key, id } = await dead.createKey({ name: `dead-${path}`, models: ['*'], endpoints: ['*'], limits: { concurrency: 1 } });
    const started = Date.now();
    const response = await fetch(`${dead.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body }),
    });
    const elapsed = Date.now() - started;
    console.info(`[timing] dead upstream, ${method} ${path}: 502 after ${elapsed} ms`);
    expect(response.status).toBe(502);
    expect(await errorCode(response)).toBe('upstream_error');
    // Refused connections fail at once rather than waiting out the connect timeout (10 s); the time is printed above.
    expect(elapsed).toBeLessThan(10_000);
    // Released: the key's one concurrency slot admits the next request at once.
    const next = await fetch(`${dead.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(next.status).not.toBe(429);
    expect((await totals(dead, id)).requests).toBe(0);
  });

  it('logs an upstream outage as one warning per request with the cause, never an error with a stack', async () => {
    const { key } = await dead.createKey({ name: 'dead-log', models: ['*'], endpoints: ['*'] });
    const requestId = `dead-log-${Date.now()}`;
    const response = await fetch(`${dead.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify(chatBody()),
    });
    expect(response.status).toBe(502);
    const lines = dead.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['reqId'] === requestId);
    const outage = lines.filter((line) => line['msg'] === 'upstream unavailable');
    expect(outage).toHaveLength(1);
    expect(outage[0]).toMatchObject({ level: 40, code: 'upstream_error', causeCode: 'ECONNREFUSED' });
    expect(lines.some((line) => Number(line['level']) >= 50)).toBe(false);
    expect(JSON.stringify(lines)).not.toContain('"stack"');
  });
});

describe('with onClientDisconnect: abort, a client that disconnects aborts the upstream request at once (docs/api.md)', () => {
  it.each([
    ['a plain request held by the upstream before its headers', {}],
    ['a stream held by the upstream after its first event', { stream: true }],
  ])('%s: the upstream connection closes within 1 s', async (name, body) => {
    const { auth } = await oneSlotKey(h, `abort-${name}`);
    h.fake.reset();
    const controller = new AbortController();
    const request = fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'x-fake-scenario': 'hold' },
      body: JSON.stringify(chatBody(body)),
      signal: controller.signal,
    });
    if ('stream' in body) {
      // The stream is under way (its first event arrived) when the client leaves.
      const reader = (await request).body?.getReader();
      expect((await reader?.read())?.done).toBe(false);
    } else {
      void request.catch(() => undefined);
      await eventually(() => h.fake.requests.length === 1);
    }
    const abortedAt = Date.now();
    controller.abort();
    await eventually(() => h.fake.requests[0]?.closedByClientAtMs !== null, 10_000);
    const lag = (h.fake.requests[0]?.closedByClientAtMs ?? 0) - abortedAt;
    console.info(`[timing] client disconnect, ${name}: upstream connection closed ${lag} ms after the client left`);
    // The hold never ends on its own: the close can only come from the gateway's abort. The lag is printed above.
    expect(lag).toBeLessThan(10_000);
    await slotIsFree(h, auth);
  });

  it('the aborted request is charged its whole reservation, never less, and its concurrency slot is freed', async () => {
    const { id, auth } = await oneSlotKey(h, 'abort-settle');
    h.fake.reset();
    const controller = new AbortController();
    const request = fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'x-fake-scenario': 'hold' },
      body: JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'a prompt of some length '.repeat(8) }] })),
      signal: controller.signal,
    });
    void request.catch(() => undefined);
    await eventually(() => h.fake.requests.length === 1);
    controller.abort();
    await eventually(() => h.fake.requests[0]?.closedByClientAtMs !== null);
    // It reached xAI before its usage could, so it is charged what it reserved: the prompt estimate and its output cap.
    const t = await settled(h, id, 1);
    expect(t.promptTokens).toBeGreaterThan(40);
    expect(t.completionTokens).toBe(150);
    await slotIsFree(h, auth);
  });
});

describe("xAI's own errors pass through unchanged", () => {
  it.each([
    ['/v1/chat/completions', chatBody(), 400],
    ['/v1/chat/completions', chatBody(), 404],
    ['/v1/chat/completions', chatBody({ stream: true }), 422],
    ['/v1/chat/completions', chatBody(), 429],
    ['/v1/responses', { model: 'grok-4', input: 'x', stream: true }, 500],
    ['/v1/embeddings', { model: 'v1', input: 'x' }, 503],
    ['/v1/images/generations', { model: 'grok-imagine-image', prompt: 'x' }, 429],
    ['/v1/tts', { text: 'x' }, 422],
  ])('%s answered %i: same status, content type and bytes (but the operator\'s team id); counted as a request without tokens', async (path, body, status) => {
    const { key, id } = await h.createKey({ name: `err-${status}`, models: ['*'], endpoints: ['*'] });
    const canned = statusScenario(`status-${status}`);
    if (canned === undefined) throw new Error('no canned answer');
    h.fake.reset();
    const response = await postJson(`${h.url}${path}`, body, { authorization: `Bearer ${key}`, 'x-fake-scenario': `status-${status}` });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe(canned.contentType);
    expect(await response.text()).toBe(redactTeamIds(canned.body));
    // Not the upstream key's fault: not retried, the key stays in use.
    expect(h.fake.requests).toHaveLength(1);
    const t = await settled(h, id, 1);
    expect(t.totalTokens).toBe(0);
  });
});

describe('errors inside HTTP 200 (docs/upstream.md §6.4)', () => {
  it('a {"code","error"} JSON body for a stream:true request is relayed unchanged; counted, zero tokens', async () => {
    const { key, id } = await h.createKey({ name: 'error-200', models: ['*'], endpoints: ['*'] });
    const response = await chat({ authorization: `Bearer ${key}` }, { stream: true }, { 'x-fake-scenario': 'error-200' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe(ERROR_200_BODY);
    const t = await settled(h, id, 1);
    expect(t.totalTokens).toBe(0);
  });

  it('chat: an error event mid-stream is relayed as sent; the cut stream is settled from what was streamed', async () => {
    const { key, id } = await h.createKey({ name: 'midstream-chat', models: ['*'], endpoints: ['*'] });
    const response = await chat({ authorization: `Bearer ${key}` }, { stream: true, model: 'grok-3-mini' }, { 'x-fake-scenario': 'midstream-error' });
    expect(response.status).toBe(200);
    const events = (await response.text()).split('\n\n').filter((e) => e !== '');
    expect(events).toHaveLength(3);
    expect(events[0]).toContain('"content":"Hello"');
    expect(events[1]).toContain('"content":" from"');
    expect(events[2]).toBe('data: {"code":"internal","error":"Please retry your request."}');
    const t = await settled(h, id, 1);
    // No usage came (no usage chunk, no [DONE]): estimated as prompt + "Hello from" (10 bytes → 3 tokens).
    expect(t.promptTokens).toBeGreaterThan(0);
    expect(t.completionTokens).toBe(3);
  });

  it('Responses: an error event mid-stream is relayed; no usage arrived, so the prompt is estimated', async () => {
    const { key, id } = await h.createKey({ name: 'midstream-responses', models: ['*'], endpoints: ['*'] });
    const response = await postJson(`${h.url}/v1/responses`, { model: 'grok-4', input: 'a question', stream: true }, { authorization: `Bearer ${key}`, 'x-fake-scenario': 'midstream-error' });
    const blocks = (await response.text()).split('\n\n').filter((e) => e !== '');
    expect(blocks.map((b) => b.split('\n')[0])).toEqual(['event: response.created', 'event: response.in_progress', 'event: error']);
    expect(blocks[2]).toBe('event: error\ndata: {"type":"error","code":"internal","message":"Please retry your request.","param":null}');
    const t = await settled(h, id, 1);
    expect(t.promptTokens).toBeGreaterThan(0);
    expect(t.completionTokens).toBe(0);
  });

  it('a connection destroyed before any answer → 502 upstream_error, not counted', async () => {
    const { key, id } = await h.createKey({ name: 'destroy', models: ['*'], endpoints: ['*'] });
    const response = await chat({ authorization: `Bearer ${key}` }, {}, { 'x-fake-scenario': 'destroy' });
    expect(response.status).toBe(502);
    expect(await errorCode(response)).toBe('upstream_error');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await totals(h, id)).requests).toBe(0);
  });
});
