import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_PRICE_TICKS, VIDEO_PRICE_TICKS_PER_SECOND } from '../../src/fake/models.js';
import { costTicksFor } from '../../src/usage/cost.js';
import { eventually, postJson, startHarness, type Harness } from '../helpers/harness.js';
import type { UsageView as Totals } from '../../src/activity/usage-view.js';

// Usage for every endpoint that reports it (docs/api.md), through the gateway, equal to what the fake xAI
// reported: Responses (plain, streamed from response.completed / response.incomplete), compact, embeddings,
// images and videos (cost_in_usd_ticks; a video's cost arrives on the GET that fetches it), deferred completions
// (settled when the result is fetched), legacy completions.
const PRICE = { input: 0.2, cachedInput: 0.05, output: 0.5 };
const YAML = `
pricing:
  grok-4-fast-reasoning: { input: ${PRICE.input}, cachedInput: ${PRICE.cachedInput}, output: ${PRICE.output} }
  grok-imagine-video: { perVideoSecond: 0.06 }
`;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'endpoints-usage', yaml: YAML });
});

afterAll(async () => {
  await h.close();
});


async function totals(id: string): Promise<Totals> {
  return ((await (await h.admin('GET', `/admin/keys/${id}/usage`)).json()) as { totals: Totals }).totals;
}

/** Waits until `requests` were settled, then a little longer to see that nothing else arrives. */
async function settled(id: string, requests: number): Promise<Totals> {
  await eventually(async () => (await totals(id)).requests >= requests);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const t = await totals(id);
  expect(t.requests).toBe(requests);
  return t;
}

async function newKey(name: string): Promise<{ key: string; id: string; auth: Record<string, string> }> {
  const { key, id } = await h.createKey({ name, models: ['*'], endpoints: ['*'] });
  return { key, id, auth: { authorization: `Bearer ${key}` } };
}

const url = (path: string): string => `${h.url}${path}`;

interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
  cost_in_usd_ticks?: number;
}

function expectResponsesUsage(t: Totals, u: ResponsesUsage, requests = 1): void {
  expect(t).toEqual({
    requests,
    promptTokens: u.input_tokens,
    completionTokens: u.output_tokens - u.output_tokens_details.reasoning_tokens,
    reasoningTokens: u.output_tokens_details.reasoning_tokens,
    cachedTokens: u.input_tokens_details.cached_tokens,
    // output_tokens already includes reasoning (docs/upstream.md §4.2): total = input + output.
    totalTokens: u.input_tokens + u.output_tokens,
    costUsd: (u.cost_in_usd_ticks ?? 0) / 1e10,
    refused: 0,
    failed: 0,
  });
}

describe('Responses API', () => {
  it('plain: input + output tokens and cost_in_usd_ticks, exactly as xAI reported them', async () => {
    const { id, auth } = await newKey('resp-plain');
    h.fake.reset();
    const response = await postJson(url('/v1/responses'), { model: 'grok-4-fast-reasoning', input: 'Tell me something' }, auth);
    const body = (await response.json()) as { usage: ResponsesUsage };
    expect(body.usage.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    const t = await settled(id, 1);
    expectResponsesUsage(t, body.usage);
    expect(t.totalTokens).toBe(h.fake.reported.totalTokens);
  });

  it('streamed: counted from response.completed (no [DONE]); the client sees every event unchanged', async () => {
    const { id, auth } = await newKey('resp-stream');
    h.fake.reset();
    const response = await postJson(url('/v1/responses'), { model: 'grok-4-fast-reasoning', input: 'Stream it', stream: true }, { ...auth, 'x-fake-chunks': '9' });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    expect(text).not.toContain('[DONE]');
    const events = text
      .split('\n\n')
      .filter((block) => block !== '')
      .map((block) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))?.slice(6) ?? 'null') as { type: string; sequence_number: number; response?: { usage: ResponsesUsage | null } });
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.filter((e) => e.type === 'response.output_text.delta')).toHaveLength(9);
    const completed = events.at(-1);
    expect(completed?.type).toBe('response.completed');
    // Mid-stream snapshots carry "usage": null; only the terminal event has it (docs/upstream.md §4.2).
    expect(events[0]?.response?.usage).toBeNull();
    const usage = completed?.response?.usage;
    if (usage === undefined || usage === null) throw new Error('no usage in response.completed');
    const t = await settled(id, 1);
    expectResponsesUsage(t, usage);
    expect(t.totalTokens).toBe(h.fake.reported.totalTokens);
    expect(Math.round(t.costUsd * 1e10)).toBe(h.fake.reported.costTicks);
  });

  it('streamed and cut by max_output_tokens: counted from response.incomplete', async () => {
    const { id, auth } = await newKey('resp-incomplete');
    h.fake.reset();
    // grok-4-fast-reasoning thinks 16 tokens; 18 leaves room for 2 of the 5 text tokens.
    const response = await postJson(url('/v1/responses'), { model: 'grok-4-fast-reasoning', input: 'x', stream: true, max_output_tokens: 18 }, auth);
    const text = await response.text();
    const last = text.trim().split('\n\n').at(-1) ?? '';
    expect(last).toContain('event: response.incomplete');
    const usage = (JSON.parse(last.split('data: ')[1] ?? 'null') as { response: { usage: ResponsesUsage } }).response.usage;
    expect(usage.output_tokens).toBe(18);
    expectResponsesUsage(await settled(id, 1), usage);
  });

  it('a 2025 capture without cost_in_usd_ticks: tokens exact, cost computed from pricing', async () => {
    const { id, auth } = await newKey('resp-recorded');
    const response = await postJson(url('/v1/responses'), { model: 'grok-4-fast-reasoning', input: 'search' }, { ...auth, 'x-fake-scenario': 'recorded-response' });
    const body = (await response.json()) as { usage: ResponsesUsage };
    expect(body.usage.cost_in_usd_ticks).toBeUndefined();
    const t = await settled(id, 1);
    // docs/upstream.md §3.3: input 1941 (947 cached), output 583 (380 reasoning), total 2524.
    expect(t).toMatchObject({ promptTokens: 1941, cachedTokens: 947, completionTokens: 203, reasoningTokens: 380, totalTokens: 2524 });
    const ticks = costTicksFor({ promptTokens: 1941, cachedTokens: 947, completionTokens: 203, reasoningTokens: 380 }, PRICE);
    expect(t.costUsd).toBe(ticks / 1e10);
  });

  it('compact: its usage is counted; reading a stored response again is not new usage', async () => {
    const { id, auth } = await newKey('resp-compact');
    h.fake.reset();
    const compact = (await (await postJson(url('/v1/responses/compact'), { model: 'grok-4-fast-reasoning', input: 'long context' }, auth)).json()) as { usage: ResponsesUsage };
    expectResponsesUsage(await settled(id, 1), compact.usage);
    const created = (await (await postJson(url('/v1/responses'), { model: 'grok-4-fast-reasoning', input: 'x' }, auth)).json()) as { id: string; usage: ResponsesUsage };
    await settled(id, 2);
    const before = await totals(id);
    const read = await fetch(url(`/v1/responses/${created.id}`), { headers: auth });
    expect(((await read.json()) as { usage: ResponsesUsage }).usage).toEqual(created.usage);
    const after = await settled(id, 3);
    expect(after.totalTokens).toBe(before.totalTokens);
    expect(after.totalTokens).toBe(h.fake.reported.totalTokens);
  });
});

describe('embeddings, images, videos', () => {
  it('embeddings: prompt tokens', async () => {
    const { id, auth } = await newKey('emb');
    h.fake.reset();
    const body = (await (await postJson(url('/v1/embeddings'), { model: 'v1', input: ['four', 'eight chars'] }, auth)).json()) as { usage: { prompt_tokens: number; total_tokens: number } };
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    // xAI sends no cost for embeddings (docs/upstream.md §3.6) and "v1" is not in this config's pricing: the cost is
    // computed at the dearest configured price, so that cost budgets err high (v1-routes.ts priceFor).
    const ticks = costTicksFor({ promptTokens: body.usage.prompt_tokens, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0 }, PRICE);
    expect(await settled(id, 1)).toEqual({ requests: 1, promptTokens: body.usage.prompt_tokens, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: body.usage.total_tokens, costUsd: ticks / 1e10, refused: 0, failed: 0 });
  });

  it('images: cost_in_usd_ticks, no tokens', async () => {
    const { id, auth } = await newKey('img');
    const body = (await (await postJson(url('/v1/images/generations'), { model: 'grok-imagine-image', prompt: 'a cat', n: 3 }, auth)).json()) as { data: unknown[]; usage: { cost_in_usd_ticks: number } };
    expect(body.data).toHaveLength(3);
    expect(body.usage.cost_in_usd_ticks).toBe(3 * IMAGE_PRICE_TICKS);
    expect(await settled(id, 1)).toEqual({ requests: 1, promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0, costUsd: (3 * IMAGE_PRICE_TICKS) / 1e10, refused: 0, failed: 0 });
  });

  it('videos: the POST is charged its reservation, a 202 poll nothing; the GET that fetches the video replaces the charge by its cost', async () => {
    const { id, auth } = await newKey('vid');
    h.fake.reset();
    const { request_id: requestId } = (await (await postJson(url('/v1/videos/generations'), { model: 'grok-imagine-video', prompt: 'waves', duration: 3 }, auth)).json()) as { request_id: string };
    const pending = await fetch(url(`/v1/videos/${requestId}`), { headers: auth });
    expect(pending.status).toBe(202);
    await pending.arrayBuffer();
    await settled(id, 2);
    // 3 s × the configured $0.06 (above what the fake will bill: $0.05 a second).
    expect((await totals(id)).costUsd).toBeCloseTo(0.18, 9);
    const done = await fetch(url(`/v1/videos/${requestId}`), { headers: auth });
    expect(done.status).toBe(200);
    const video = (await done.json()) as { status: string; usage: { cost_in_usd_ticks: number } };
    expect(video.status).toBe('done');
    const t = await settled(id, 3);
    expect(t).toEqual({ requests: 3, promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0, costUsd: (3 * VIDEO_PRICE_TICKS_PER_SECOND) / 1e10, refused: 0, failed: 0 });
    expect(video.usage.cost_in_usd_ticks).toBe(h.fake.reported.costTicks);
    // The GET names no model; the cost is kept under the model xAI reports for the video.
    const today = new Date().toISOString().slice(0, 10);
    const report = (await (await h.admin('GET', `/admin/keys/${id}/usage?from=${today}&to=${today}`)).json()) as { days: { models: Record<string, Totals> }[] };
    expect(report.days[0]?.models['grok-imagine-video']?.costUsd).toBe((3 * VIDEO_PRICE_TICKS_PER_SECOND) / 1e10);
  });
});

describe('deferred completions', () => {
  it('POST deferred → {request_id}, charged its reservation; a 202 poll → nothing; the fetched result → exactly its usage', async () => {
    const { key, id } = await h.createKey({ name: 'deferred', models: ['grok-3-mini'], endpoints: ['chat.completions', 'deferred', 'api-key'], limits: { tokensPerDay: 100_000 } });
    const auth = { authorization: `Bearer ${key}` };
    h.fake.reset();
    const posted = await postJson(url('/v1/chat/completions'), { model: 'grok-3-mini', messages: [{ role: 'user', content: 'later please' }], deferred: true, max_tokens: 50 }, auth);
    const { request_id: requestId } = (await posted.json()) as { request_id: string };
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    // Reserved like a chat and charged at once: the prompt estimate plus max_tokens 50.
    let t = await settled(id, 1);
    const upFront = t.totalTokens;
    expect(upFront).toBeGreaterThan(50);

    const pending = await fetch(url(`/v1/chat/deferred-completion/${requestId}`), { headers: auth });
    expect(pending.status).toBe(202);
    expect(await pending.text()).toBe('');
    t = await settled(id, 2);
    expect(t.totalTokens).toBe(upFront);

    const result = await fetch(url(`/v1/chat/deferred-completion/${requestId}`), { headers: auth });
    expect(result.status).toBe(200);
    const body = (await result.json()) as { usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; cost_in_usd_ticks: number; completion_tokens_details: { reasoning_tokens: number } } };
    t = await settled(id, 3);
    expect(t).toEqual({
      requests: 3,
      promptTokens: body.usage.prompt_tokens,
      completionTokens: body.usage.completion_tokens,
      reasoningTokens: body.usage.completion_tokens_details.reasoning_tokens,
      cachedTokens: 0,
      totalTokens: body.usage.total_tokens,
      costUsd: body.usage.cost_in_usd_ticks / 1e10,
      refused: 0,
      failed: 0,
    });
    expect(t.totalTokens).toBe(h.fake.reported.totalTokens);
    // Fetched once: the next poll is xAI's 404, passed through, and adds nothing.
    const again = await fetch(url(`/v1/chat/deferred-completion/${requestId}`), { headers: auth });
    expect(again.status).toBe(404);
    expect((await settled(id, 4)).totalTokens).toBe(t.totalTokens);
    // The GET reserved nothing up front: the key's remaining tokens only moved by the real usage.
    const info = (await (await fetch(url('/v1/api-key'), { headers: auth })).json()) as { remaining: { tokensPerDay: number } };
    expect(info.remaining.tokensPerDay).toBe(100_000 - t.totalTokens);
  });
});

describe('legacy completions', () => {
  it('plain and streamed (usage asked for and hidden), as chat usage', async () => {
    const { id, auth } = await newKey('completions');
    h.fake.reset();
    await (await postJson(url('/v1/completions'), { model: 'grok-3', prompt: 'count', max_tokens: 3 }, auth)).arrayBuffer();
    const streamed = await (await postJson(url('/v1/completions'), { model: 'grok-3', prompt: 'count', max_tokens: 4, stream: true }, auth)).text();
    expect(streamed).not.toContain('"usage"');
    expect(streamed.endsWith('data: [DONE]\n\n')).toBe(true);
    const t = await settled(id, 2);
    expect(t.totalTokens).toBe(h.fake.reported.totalTokens);
    expect(t.completionTokens).toBe(7);
    expect(Math.round(t.costUsd * 1e10)).toBe(h.fake.reported.costTicks);
  });
});
