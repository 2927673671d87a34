/**
 * The fake xAI server over real sockets: auth errors, usage arithmetic (docs/upstream.md §4.1, §4.4), stream shapes
 * (§5.1, §5.2), byte-exact recorded replay, fault scenarios and recording of what it received.
 * No Redis: the fake keeps everything in memory.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHAT_SET_COOKIE, startFakeXai } from '../../src/fake/xai-server.js';
import type { FakeXai } from '../../src/fake/xai-server.js';

/** docs/upstream.md §5.1 "Exact replayable stream" [FAN simple_streaming.yaml], copied from the document text. */
const DOC_SIMPLE_STREAM = String.raw`data: {"id":"53ae0d64-4f1a-b4e2-9517-9d20013a1c9c","object":"chat.completion.chunk","created":1773345550,"model":"grok-4-fast-reasoning","choices":[{"index":0,"delta":{"content":"Olá","role":"assistant"}}],"system_fingerprint":"fp_3d7ed3b779"}

data: {"id":"53ae0d64-4f1a-b4e2-9517-9d20013a1c9c","object":"chat.completion.chunk","created":1773345550,"model":"grok-4-fast-reasoning","choices":[{"index":0,"delta":{"content":"!"}}],"system_fingerprint":"fp_3d7ed3b779"}

data: {"id":"53ae0d64-4f1a-b4e2-9517-9d20013a1c9c","object":"chat.completion.chunk","created":1773345550,"model":"grok-4-fast-reasoning","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"system_fingerprint":"fp_3d7ed3b779"}

data: {"id":"53ae0d64-4f1a-b4e2-9517-9d20013a1c9c","object":"chat.completion.chunk","created":1773345550,"model":"grok-4-fast-reasoning","choices":[],"usage":{"prompt_tokens":165,"completion_tokens":2,"total_tokens":296,"prompt_tokens_details":{"text_tokens":165,"audio_tokens":0,"image_tokens":0,"cached_tokens":164},"completion_tokens_details":{"reasoning_tokens":129,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0,"cost_in_usd_ticks":739000},"system_fingerprint":"fp_3d7ed3b779"}

data: [DONE]

`;

const KEY = 'xai-test-key-0001';
const BLOCKED = 'xai-blocked-key-0002';
const AUTH = { authorization: `Bearer ${KEY}` };
const JSON_AUTH = { ...AUTH, 'content-type': 'application/json' };

let fake: FakeXai;

beforeAll(async () => {
  fake = await startFakeXai({ apiKeys: [KEY], blockedKeys: [BLOCKED] });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  fake.setScenario(null);
});

/** Polls a condition driven by socket events; the bound is generous and only limits a failing test. */
async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${fake.url}${path}`, { method: 'POST', headers: { ...JSON_AUTH, ...headers }, body: JSON.stringify(body) });
}

interface Json {
  [k: string]: unknown;
}

async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

/** `data:` payloads of a chat SSE text, in order (the raw strings, so "[DONE]" stays a string). */
function dataPayloads(text: string): string[] {
  return text
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return e.slice('data: '.length);
    });
}

const CHAT = { model: 'grok-4-fast', messages: [{ role: 'user', content: 'Hello there!' }] };

describe('authentication (docs/upstream.md §6.2, §11)', () => {
  it('answers 401 without credentials', async () => {
    const res = await fetch(`${fake.url}/v1/models`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 'unauthenticated:no-credentials', error: 'No credentials presented.' });
  });

  it('answers 400 for an unknown key, redacted as first 2 + *** + last 2', async () => {
    const res = await fetch(`${fake.url}/v1/models`, { headers: { authorization: 'Bearer xai-not-a-real-keyyz' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: 'invalid-argument',
      error: 'Incorrect API key provided: xa***yz. You can obtain an API key from https://console.x.ai.',
    });
  });

  it('answers 403 for a blocked key with a flat {code,error} body', async () => {
    const res = await fetch(`${fake.url}/v1/models`, { headers: { authorization: `Bearer ${BLOCKED}` } });
    expect(res.status).toBe(403);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual(['code', 'error']);
    expect(body['code']).toBe('The caller does not have permission to execute the specified operation');
  });

  it('puts x-zero-data-retention and a uuid x-request-id on every response, errors included', async () => {
    for (const res of [await fetch(`${fake.url}/v1/models`), await fetch(`${fake.url}/v1/models`, { headers: AUTH })]) {
      expect(res.headers.get('x-zero-data-retention')).toBe('false');
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
  });
});

describe('recording', () => {
  it('records method, path with query, headers (the Authorization it saw) and the body', async () => {
    const body = JSON.stringify(CHAT);
    await fetch(`${fake.url}/v1/chat/completions?x=1`, {
      method: 'POST',
      headers: { ...JSON_AUTH, 'x-grok-conv-id': 'conv-42', 'x-fake-scenario': 'recorded-simple' },
      body,
    });
    expect(fake.requests).toHaveLength(1);
    const rec = fake.requests[0];
    expect(rec?.method).toBe('POST');
    expect(rec?.path).toBe('/v1/chat/completions?x=1');
    expect(rec?.headers['authorization']).toBe(`Bearer ${KEY}`);
    expect(rec?.headers['x-grok-conv-id']).toBe('conv-42');
    expect(rec?.body.toString('utf8')).toBe(body);
    expect(rec?.scenario).toBe('recorded-simple');
    expect(rec?.closedByClientAtMs).toBeNull();
  });

  it('reset() clears requests and reported', async () => {
    await post('/v1/chat/completions', CHAT);
    expect(fake.requests).toHaveLength(1);
    expect(fake.reported.requests).toBe(1);
    fake.reset();
    expect(fake.requests).toHaveLength(0);
    expect(fake.reported).toEqual({ requests: 0, totalTokens: 0, costTicks: 0 });
  });
});

describe('chat completions usage (docs/upstream.md §4.1, §4.4)', () => {
  it('reports prompt/completion/reasoning with total = sum and cost by the §4.4 formula', async () => {
    const res = await post('/v1/chat/completions', CHAT);
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toBe(CHAT_SET_COOKIE);
    const body = await json(res);
    expect(body['model']).toBe('grok-4-fast-reasoning');
    const usage = body['usage'] as Json;
    const prompt = usage['prompt_tokens'] as number;
    const completion = usage['completion_tokens'] as number;
    const reasoning = (usage['completion_tokens_details'] as Json)['reasoning_tokens'] as number;
    const cached = (usage['prompt_tokens_details'] as Json)['cached_tokens'] as number;
    // "Hello there!" = 12 chars -> ceil(12/4) + 3 per message.
    expect(prompt).toBe(6);
    expect(completion).toBe(5);
    expect(reasoning).toBeGreaterThan(0);
    expect(cached).toBe(0);
    expect(usage['total_tokens']).toBe(prompt + completion + reasoning);
    // grok-4-fast: 0.20 / 0.05 / 0.50 $ per 1M = 2000 / 500 / 5000 ticks per token.
    expect(usage['cost_in_usd_ticks']).toBe((prompt - cached) * 2000 + cached * 500 + (completion + reasoning) * 5000);
    expect(fake.reported).toEqual({
      requests: 1,
      totalTokens: usage['total_tokens'],
      costTicks: usage['cost_in_usd_ticks'],
    });
  });

  it('reports no reasoning for non-reasoning models', async () => {
    for (const model of ['grok-3', 'grok-4-fast-non-reasoning']) {
      const usage = (await json(await post('/v1/chat/completions', { ...CHAT, model })))['usage'] as Json;
      expect((usage['completion_tokens_details'] as Json)['reasoning_tokens']).toBe(0);
      expect(usage['total_tokens']).toBe((usage['prompt_tokens'] as number) + (usage['completion_tokens'] as number));
    }
  });

  it('never exceeds max_tokens / max_completion_tokens and multiplies by n', async () => {
    const capped = await json(await post('/v1/chat/completions', { ...CHAT, max_completion_tokens: 2 }));
    expect((capped['usage'] as Json)['completion_tokens']).toBe(2);
    expect((capped['choices'] as Json[])[0]?.['finish_reason']).toBe('length');
    const legacyCap = await json(await post('/v1/chat/completions', { ...CHAT, max_tokens: 3 }));
    expect((legacyCap['usage'] as Json)['completion_tokens']).toBe(3);
    const many = await json(await post('/v1/chat/completions', { ...CHAT, n: 3 }));
    expect(many['choices']).toHaveLength(3);
    expect((many['usage'] as Json)['completion_tokens']).toBe(15);
  });

  it('cached-gt-prompt reproduces the §4.1 anomaly (cached > prompt, total includes both)', async () => {
    const usage = (await json(await post('/v1/chat/completions', CHAT, { 'x-fake-scenario': 'cached-gt-prompt' })))[
      'usage'
    ] as Json;
    const prompt = usage['prompt_tokens'] as number;
    const cached = (usage['prompt_tokens_details'] as Json)['cached_tokens'] as number;
    const out = (usage['completion_tokens'] as number) + ((usage['completion_tokens_details'] as Json)['reasoning_tokens'] as number);
    expect(cached).toBeGreaterThan(prompt);
    expect(usage['total_tokens']).toBe(prompt + cached + out);
    expect(usage['cost_in_usd_ticks']).toBe(prompt * 2000 + cached * 500 + out * 5000);
  });

  it('resolves aliases to the canonical id and 404s unknown models', async () => {
    for (const [alias, id] of [
      ['grok-4', 'grok-4-0709'],
      ['grok-4-latest', 'grok-4-0709'],
      ['grok-3-latest', 'grok-3'],
      ['grok-3-mini', 'grok-3-mini'],
    ] as const) {
      expect((await json(await post('/v1/chat/completions', { ...CHAT, model: alias })))['model']).toBe(id);
    }
    const res = await post('/v1/chat/completions', { ...CHAT, model: 'grok-9' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      code: 'not-found',
      error: 'The model grok-9 does not exist or your team fake-team does not have access to it.',
    });
  });
});

describe('chat streaming (docs/upstream.md §5.1)', () => {
  it('without include_usage: role first, no finish_reason key on content chunks, finish chunk, no usage, [DONE] last', async () => {
    const res = await post('/v1/chat/completions', { ...CHAT, stream: true });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const payloads = dataPayloads(await res.text());
    expect(payloads[payloads.length - 1]).toBe('[DONE]');
    const chunks = payloads.slice(0, -1).map((p) => JSON.parse(p) as Json);
    expect(chunks).toHaveLength(6);
    const choice = (c: Json): Json => (c['choices'] as Json[])[0] ?? {};
    expect((choice(chunks[0] ?? {})['delta'] as Json)['role']).toBe('assistant');
    for (const c of chunks.slice(0, 5)) {
      expect('finish_reason' in choice(c)).toBe(false);
      expect('usage' in c).toBe(false);
    }
    expect(choice(chunks[5] ?? {})).toEqual({ index: 0, delta: {}, finish_reason: 'stop' });
    expect(fake.reported.requests).toBe(0);
  });

  it('with include_usage: a choices:[] usage chunk right before [DONE]; x-fake-chunks sets the count', async () => {
    const res = await post('/v1/chat/completions', { ...CHAT, stream: true, stream_options: { include_usage: true } }, {
      'x-fake-chunks': '3',
    });
    const payloads = dataPayloads(await res.text());
    expect(payloads).toHaveLength(3 + 1 + 1 + 1);
    expect(payloads[5]).toBe('[DONE]');
    const usageChunk = JSON.parse(payloads[4] ?? '') as Json;
    expect(usageChunk['choices']).toEqual([]);
    const usage = usageChunk['usage'] as Json;
    expect(usage['completion_tokens']).toBe(3);
    expect(fake.reported).toEqual({ requests: 1, totalTokens: usage['total_tokens'], costTicks: usage['cost_in_usd_ticks'] });
  });

  it('legacy-usage puts cumulative usage on every chunk', async () => {
    const res = await post('/v1/chat/completions', { ...CHAT, stream: true }, { 'x-fake-scenario': 'legacy-usage' });
    const chunks = dataPayloads(await res.text()).slice(0, -1).map((p) => JSON.parse(p) as Json);
    const completions = chunks.map((c) => (c['usage'] as Json)['completion_tokens']);
    expect(completions).toEqual([1, 2, 3, 4, 5, 5]);
    expect(fake.reported.requests).toBe(1);
  });

  it('midstream-error: a couple of content events, then the {code,error} event, then the end', async () => {
    const res = await post('/v1/chat/completions', { ...CHAT, stream: true }, { 'x-fake-scenario': 'midstream-error' });
    const payloads = dataPayloads(await res.text());
    expect(payloads).toHaveLength(3);
    expect(JSON.parse(payloads[2] ?? '')).toEqual({ code: 'internal', error: 'Please retry your request.' });
  });

  it('error-200 answers a stream request with HTTP 200 application/json {code,error}', async () => {
    const res = await post('/v1/chat/completions', { ...CHAT, stream: true }, { 'x-fake-scenario': 'error-200' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect((await json(res))['code']).toBe('The service is currently unavailable');
  });
});

describe('recorded replays', () => {
  it('recorded-stream replays the docs/upstream.md §5.1 stream byte for byte', async () => {
    fake.setScenario('recorded-stream');
    const res = await post('/v1/chat/completions', { ...CHAT, stream: true, stream_options: { include_usage: true } });
    expect(await res.text()).toBe(DOC_SIMPLE_STREAM);
    expect(fake.reported).toEqual({ requests: 1, totalTokens: 296, costTicks: 739000 });
  });

  it('recorded-stream omits the usage chunk when include_usage was not asked', async () => {
    const res = await post('/v1/chat/completions', { ...CHAT, stream: true }, { 'x-fake-scenario': 'recorded-stream' });
    const events = DOC_SIMPLE_STREAM.split('\n\n');
    expect(await res.text()).toBe([...events.slice(0, 3), ...events.slice(4)].join('\n\n'));
    expect(fake.reported.requests).toBe(0);
  });

  it('recorded-simple / recorded-tool / recorded-*-stream replay the documented captures', async () => {
    const simple = await json(await post('/v1/chat/completions', CHAT, { 'x-fake-scenario': 'recorded-simple' }));
    expect(simple['usage']).toMatchObject({ total_tokens: 292, cost_in_usd_ticks: 731000 });
    const tool = await json(await post('/v1/chat/completions', CHAT, { 'x-fake-scenario': 'recorded-tool' }));
    expect((tool['choices'] as Json[])[0]?.['finish_reason']).toBe('tool_calls');
    const body = { ...CHAT, stream: true, stream_options: { include_usage: true } };
    const toolStream = dataPayloads(await (await post('/v1/chat/completions', body, { 'x-fake-scenario': 'recorded-tool-stream' })).text());
    expect(toolStream).toHaveLength(4);
    const reasoning = dataPayloads(
      await (await post('/v1/chat/completions', body, { 'x-fake-scenario': 'recorded-reasoning-stream' })).text(),
    );
    expect(JSON.parse(reasoning[4] ?? '')).toMatchObject({ usage: { total_tokens: 303, cost_in_usd_ticks: 1466250 } });
    expect(fake.reported).toEqual({ requests: 4, totalTokens: 292 + 480 + 622 + 303, costTicks: 731000 + 1087500 + 1487000 + 1466250 });
  });
});

describe('responses (docs/upstream.md §3.3, §4.2, §5.2)', () => {
  it('stream: event lines, contiguous sequence_number from 0, ends with response.completed carrying usage, no [DONE]', async () => {
    const res = await post('/v1/responses', { model: 'grok-4-fast', input: 'Say hello', stream: true });
    const text = await res.text();
    expect(text).not.toContain('[DONE]');
    const events = text.split('\n\n').filter((e) => e !== '').map((e) => {
      const [eventLine, dataLine] = e.split('\n');
      const payload = JSON.parse((dataLine ?? '').slice('data: '.length)) as Json;
      expect(eventLine).toBe(`event: ${String(payload['type'])}`);
      return payload;
    });
    events.forEach((e, i) => expect(e['sequence_number']).toBe(i));
    expect(events[0]?.['type']).toBe('response.created');
    const last = events[events.length - 1] ?? {};
    expect(last['type']).toBe('response.completed');
    for (const e of events.slice(0, -1)) expect(JSON.stringify(e)).not.toContain('"input_tokens"');
    const usage = (last['response'] as Json)['usage'] as Json;
    const reasoning = (usage['output_tokens_details'] as Json)['reasoning_tokens'] as number;
    expect(reasoning).toBeGreaterThan(0);
    expect(usage['output_tokens']).toBe(5 + reasoning);
    expect(usage['total_tokens']).toBe((usage['input_tokens'] as number) + (usage['output_tokens'] as number));
    expect(usage['cost_in_usd_ticks']).toBe((usage['input_tokens'] as number) * 2000 + (usage['output_tokens'] as number) * 5000);
    expect(fake.reported).toEqual({ requests: 1, totalTokens: usage['total_tokens'], costTicks: usage['cost_in_usd_ticks'] });
  });

  it('stores responses unless store:false; GET then DELETE then 404', async () => {
    const created = await json(await post('/v1/responses', { model: 'grok-3', input: 'hi' }));
    const id = created['id'] as string;
    expect(created['status']).toBe('completed');
    const got = await fetch(`${fake.url}/v1/responses/${id}`, { headers: AUTH });
    expect((await json(got))['id']).toBe(id);
    const del = await fetch(`${fake.url}/v1/responses/${id}`, { method: 'DELETE', headers: AUTH });
    expect(await del.json()).toEqual({ id, object: 'response', deleted: true });
    expect((await fetch(`${fake.url}/v1/responses/${id}`, { headers: AUTH })).status).toBe(404);
    const unstored = await json(await post('/v1/responses', { model: 'grok-3', input: 'hi', store: false }));
    expect((await fetch(`${fake.url}/v1/responses/${String(unstored['id'])}`, { headers: AUTH })).status).toBe(404);
  });
});

describe('flow-control scenarios', () => {
  it('hold: the first event arrives, the rest only after release()', async () => {
    const res = await post('/v1/chat/completions', { ...CHAT, stream: true }, { 'x-fake-scenario': 'hold' });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    expect(decoder.decode(first.value)).toContain('"role":"assistant"');
    // Nothing more may arrive while held (a broken hold would deliver the rest at once).
    const next = reader.read();
    const early = await Promise.race([next.then(() => 'data'), new Promise((r) => setTimeout(() => r('quiet'), 300))]);
    expect(early).toBe('quiet');
    const releasedAt = Date.now();
    fake.release();
    let rest = decoder.decode((await next).value);
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      rest += decoder.decode(chunk.value);
    }
    expect(rest.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(releasedAt);
  });

  it('hang: no response headers; the client abort is recorded as closedByClientAtMs', async () => {
    const controller = new AbortController();
    const pending = fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...JSON_AUTH, 'x-fake-scenario': 'hang' },
      body: JSON.stringify(CHAT),
      signal: controller.signal,
    });
    const outcome = await Promise.race([pending.then(() => 'headers'), new Promise((r) => setTimeout(() => r('none'), 300))]);
    expect(outcome).toBe('none');
    const abortedAt = Date.now();
    controller.abort();
    await expect(pending).rejects.toThrow();
    await waitFor(() => fake.requests[0]?.closedByClientAtMs != null);
    expect(fake.requests[0]?.closedByClientAtMs).toBeGreaterThanOrEqual(abortedAt);
  });

  it('a client abort mid-stream is recorded and the fake stops writing', async () => {
    const controller = new AbortController();
    const res = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...JSON_AUTH, 'x-fake-chunks': '200', 'x-fake-chunk-delay-ms': '20' },
      body: JSON.stringify({ ...CHAT, stream: true, stream_options: { include_usage: true } }),
      signal: controller.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    await waitFor(() => fake.requests[0]?.closedByClientAtMs != null);
    // 200 chunks at 20 ms would take 4 s; the usage chunk must never have been sent.
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.reported.requests).toBe(0);
  });

  it('hang-body: 200 headers and one event, then nothing', async () => {
    const controller = new AbortController();
    const res = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...JSON_AUTH, 'x-fake-scenario': 'hang-body' },
      body: JSON.stringify({ ...CHAT, stream: true }),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).done).toBe(false);
    const next = reader.read().catch(() => ({ done: true }));
    expect(await Promise.race([next.then(() => 'data'), new Promise((r) => setTimeout(() => r('quiet'), 300))])).toBe('quiet');
    controller.abort();
    await waitFor(() => fake.requests[0]?.closedByClientAtMs != null);
  });

  it('destroy: the socket is destroyed without an answer (not counted as a client close)', async () => {
    await expect(post('/v1/chat/completions', CHAT, { 'x-fake-scenario': 'destroy' })).rejects.toThrow();
    expect(fake.requests[0]?.closedByClientAtMs).toBeNull();
  });

  it('status-<code> answers realistic §6.2 bodies; 422 is plain text', async () => {
    const r429 = await post('/v1/chat/completions', CHAT, { 'x-fake-scenario': 'status-429' });
    expect(r429.status).toBe(429);
    expect((await json(r429))['code']).toBe('Some resource has been exhausted');
    const r500 = await post('/v1/chat/completions', CHAT, { 'x-fake-scenario': 'status-500' });
    expect(r500.status).toBe(500);
    const r422 = await post('/v1/chat/completions', CHAT, { 'x-fake-scenario': 'status-422' });
    expect(r422.status).toBe(422);
    expect(r422.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await r422.text()).toMatch(/^Failed to deserialize/);
  });
});

describe('other routes', () => {
  it('uploads multipart files; the raw body is recorded byte for byte and bytes = size of the file part', async () => {
    const boundary = 'fakeboundary1234';
    const file = Buffer.from([0, 1, 2, 255, 254, 13, 10, 45, 45, 0x41, 0x42]);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="expires_after"\r\n\r\n3600\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="doc.bin"\r\n`),
      Buffer.from('Content-Type: application/octet-stream\r\n\r\n'),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await fetch(`${fake.url}/v1/files`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
    expect(res.status).toBe(200);
    const meta = await json(res);
    expect(meta).toMatchObject({ object: 'file', bytes: file.length, filename: 'doc.bin' });
    expect(fake.requests[0]?.body.equals(body)).toBe(true);
    const content = await fetch(`${fake.url}/v1/files/${String(meta['id'])}/content`, { headers: AUTH });
    expect(Buffer.from(await content.arrayBuffer()).equals(file)).toBe(true);
    const del = await fetch(`${fake.url}/v1/files/${String(meta['id'])}`, { method: 'DELETE', headers: AUTH });
    expect((await json(del))['deleted']).toBe(true);
  });

  it('deferred completions: 202 (empty) on the first poll, then 200 once, then 404', async () => {
    const { request_id: id } = (await json(await post('/v1/chat/completions', { ...CHAT, deferred: true }))) as {
      request_id: string;
    };
    expect(fake.reported.requests).toBe(0);
    const poll = (): Promise<Response> => fetch(`${fake.url}/v1/chat/deferred-completion/${id}`, { headers: AUTH });
    const first = await poll();
    expect(first.status).toBe(202);
    expect(await first.text()).toBe('');
    const second = await poll();
    expect(second.status).toBe(200);
    expect((await json(second))['object']).toBe('chat.completion');
    expect(fake.reported.requests).toBe(1);
    expect((await poll()).status).toBe(404);
  });

  it('videos: 202 then 200 done with usage.cost_in_usd_ticks', async () => {
    const { request_id: id } = (await json(await post('/v1/videos/generations', { prompt: 'a cat', duration: 2 }))) as {
      request_id: string;
    };
    expect((await fetch(`${fake.url}/v1/videos/${id}`, { headers: AUTH })).status).toBe(202);
    const done = await json(await fetch(`${fake.url}/v1/videos/${id}`, { headers: AUTH }));
    expect(done['status']).toBe('done');
    expect((done['usage'] as Json)['cost_in_usd_ticks']).toBeGreaterThan(0);
    expect(fake.reported.costTicks).toBe((done['usage'] as Json)['cost_in_usd_ticks']);
  });

  it('model lists carry aliases and prices; /v1/models/:id accepts aliases', async () => {
    const list = await json(await fetch(`${fake.url}/v1/models`, { headers: AUTH }));
    const ids = (list['data'] as Json[]).map((m) => m['id']);
    for (const id of ['grok-4-0709', 'grok-4-fast-reasoning', 'grok-4-fast-non-reasoning', 'grok-3', 'grok-3-mini', 'grok-code-fast-1', 'grok-imagine-image', 'grok-imagine-video', 'v1']) {
      expect(ids).toContain(id);
    }
    const lang = await json(await fetch(`${fake.url}/v1/language-models/grok-4-fast`, { headers: AUTH }));
    expect(lang).toMatchObject({ id: 'grok-4-fast-reasoning', prompt_text_token_price: 2000, completion_text_token_price: 5000 });
    expect(lang['aliases']).toContain('grok-4-fast');
    const one = await json(await fetch(`${fake.url}/v1/models/grok-4`, { headers: AUTH }));
    expect(one['id']).toBe('grok-4-0709');
    expect((await fetch(`${fake.url}/v1/embedding-models`, { headers: AUTH })).status).toBe(200);
  });

  it('answers 404 unknown path, 405 wrong method, 415 non-JSON, 400 malformed JSON, 410 /v1/messages', async () => {
    expect((await fetch(`${fake.url}/v1/nope`, { headers: AUTH })).status).toBe(404);
    const r405 = await fetch(`${fake.url}/v1/chat/completions`, { headers: AUTH });
    expect(r405.status).toBe(405);
    expect(Object.keys(await json(r405)).sort()).toEqual(['code', 'error']);
    const r415 = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'text/plain' },
      body: JSON.stringify(CHAT),
    });
    expect(r415.status).toBe(415);
    const r400 = await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers: JSON_AUTH, body: '{"model":' });
    expect(r400.status).toBe(400);
    expect((await json(r400))['code']).toBe('invalid-argument');
    const r410 = await post('/v1/messages', { model: 'grok-3', max_tokens: 10, messages: [] });
    expect(r410.status).toBe(410);
  });

  it('tts returns audio with x-trace-id; realtime secrets, tokenize, api-key, batches cancel answer', async () => {
    const tts = await post('/v1/tts', { text: 'hello', voice_id: 'eve' });
    expect(tts.headers.get('content-type')).toBe('audio/mpeg');
    expect(tts.headers.get('x-trace-id')).toBeTruthy();
    expect((await tts.arrayBuffer()).byteLength).toBeGreaterThan(0);
    const secret = await json(await post('/v1/realtime/client_secrets', { expires_after: { seconds: 300 } }));
    expect(typeof secret['value']).toBe('string');
    const tokens = await json(await post('/v1/tokenize-text', { text: 'Hello world!', model: 'grok-3' }));
    expect((tokens['token_ids'] as Json[]).map((t) => t['string_token'])).toEqual(['Hello', ' world', '!']);
    const apiKey = await json(await fetch(`${fake.url}/v1/api-key`, { headers: AUTH }));
    expect(apiKey['redacted_api_key']).toBe('xai-...0001');
    expect(JSON.stringify(apiKey)).not.toContain(KEY);
    const batch = await json(await post('/v1/batches', { name: 'b' }));
    const cancelled = await fetch(`${fake.url}/v1/batches/${String(batch['id'])}:cancel`, { method: 'POST', headers: AUTH });
    expect((await json(cancelled))['status']).toBe('cancelled');
  });
});
