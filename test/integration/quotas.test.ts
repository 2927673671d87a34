import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeXai, type FakeXai } from '../../src/fake/xai-server.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { ADMIN_TOKEN, chatBody, eventually, postJson, REDIS_URL, startHarness, UPSTREAM_KEY, type Harness } from '../helpers/harness.js';

// Quotas, rate limits and usage accounting over real sockets and a real Redis.
const YAML = `
pricing:
  grok-4: { input: 3.00, cachedInput: 0.75, output: 15.00 }
  grok-4-fast-non-reasoning: { input: 0.20, cachedInput: 0.05, output: 0.50 }
`;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'quotas', yaml: YAML });
});

afterAll(async () => {
  await h.close();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
const chat = (key: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Response> =>
  postJson(`${h.url}/v1/chat/completions`, chatBody(body), { ...auth(key), ...headers });

interface U { requests: number; promptTokens: number; completionTokens: number; reasoningTokens: number; cachedTokens: number; totalTokens: number; costUsd: number }

async function usageOf(id: string): Promise<U> {
  const response = await h.admin('GET', `/admin/keys/${id}/usage`);
  return ((await response.json()) as { totals: U }).totals;
}

describe('requestsPerMinute', () => {
  it('8 concurrent requests on requestsPerMinute 5: exactly 5 admitted, 3 refused with Retry-After, remaining 4..0', async () => {
    const { key } = await h.createKey({ name: 'rpm', models: ['*'], endpoints: ['*'], limits: { requestsPerMinute: 5 } });
    h.fake.reset();
    const responses = await Promise.all(Array.from({ length: 8 }, () => chat(key)));
    const admitted = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(admitted).toHaveLength(5);
    expect(refused).toHaveLength(3);
    expect(admitted.map((r) => r.headers.get('x-ratelimit-remaining-requests')).sort()).toEqual(['0', '1', '2', '3', '4']);
    for (const r of admitted) expect(r.headers.get('x-ratelimit-limit-requests')).toBe('5');
    for (const r of refused) {
      const retryAfter = Number(r.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      // The window is the current second and the 60 before it: at most 61 s until the oldest second leaves.
      expect(retryAfter).toBeLessThanOrEqual(61);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    }
    expect(h.fake.requests).toHaveLength(5);
  });

  it('counts requests the gateway answers itself', async () => {
    const { key } = await h.createKey({ name: 'rpm-self', models: ['*'], endpoints: ['*'], limits: { requestsPerMinute: 2 } });
    expect((await fetch(`${h.url}/v1/api-key`, { headers: auth(key) })).status).toBe(200);
    expect((await fetch(`${h.url}/v1/models`, { headers: auth(key) })).status).toBe(200);
    expect((await fetch(`${h.url}/v1/api-key`, { headers: auth(key) })).status).toBe(429);
  });

  it('a key without limits gets no rate-limit headers', async () => {
    const { key } = await h.createKey({ name: 'unlimited', models: ['*'], endpoints: ['*'] });
    const response = await chat(key);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBeNull();
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBeNull();
  });
});

describe('usage accounting equals the upstream\'s usage', () => {
  it('plain: tokens (reasoning included) and cost_in_usd_ticks recorded exactly', async () => {
    const { key, id } = await h.createKey({ name: 'acct-plain', models: ['*'], endpoints: ['*'] });
    const bodies: { usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; cost_in_usd_ticks: number; completion_tokens_details: { reasoning_tokens: number }; prompt_tokens_details: { cached_tokens: number } } }[] = [];
    for (const model of ['grok-4', 'grok-3-mini', 'grok-4-fast-non-reasoning']) {
      const response = await chat(key, { model }, { 'x-fake-scenario': 'cached' });
      bodies.push((await response.json()) as (typeof bodies)[number]);
    }
    const expected = bodies.reduce(
      (acc, b) => ({
        prompt: acc.prompt + b.usage.prompt_tokens,
        completion: acc.completion + b.usage.completion_tokens,
        reasoning: acc.reasoning + b.usage.completion_tokens_details.reasoning_tokens,
        cached: acc.cached + b.usage.prompt_tokens_details.cached_tokens,
        total: acc.total + b.usage.total_tokens,
        ticks: acc.ticks + b.usage.cost_in_usd_ticks,
      }),
      { prompt: 0, completion: 0, reasoning: 0, cached: 0, total: 0, ticks: 0 },
    );
    expect(expected.reasoning).toBeGreaterThan(0);
    await eventually(async () => (await usageOf(id)).requests === 3);
    const usage = await usageOf(id);
    expect(usage).toEqual({
      requests: 3,
      promptTokens: expected.prompt,
      completionTokens: expected.completion,
      reasoningTokens: expected.reasoning,
      cachedTokens: expected.cached,
      totalTokens: expected.total,
      costUsd: expected.ticks / 1e10,
      refused: 0,
      failed: 0,
    });
    expect(usage.totalTokens).toBe(usage.promptTokens + usage.completionTokens + usage.reasoningTokens);
  });

  it('streamed: recorded from the usage chunk the gateway asked for (and hid), exactly as xAI reported it', async () => {
    const { key, id } = await h.createKey({ name: 'acct-stream', models: ['*'], endpoints: ['*'] });
    h.fake.reset();
    const response = await chat(key, { stream: true, model: 'grok-3-mini' }, { 'x-fake-scenario': 'recorded-reasoning-stream' });
    const text = await response.text();
    expect(text).not.toContain('"usage"');
    await eventually(async () => (await usageOf(id)).requests === 1);
    // docs/upstream.md §5.1 reasoning stream: prompt 12 (11 cached), completion 1, reasoning 290, 1 466 250 ticks.
    expect(await usageOf(id)).toEqual({
      requests: 1,
      promptTokens: 12,
      completionTokens: 1,
      reasoningTokens: 290,
      cachedTokens: 11,
      totalTokens: 303,
      costUsd: 1_466_250 / 1e10,
      refused: 0,
      failed: 0,
    });
    expect(h.fake.reported.totalTokens).toBe(303);
  });

  it('shows usage by UTC day and model, and in the key\'s record', async () => {
    const { key, id } = await h.createKey({ name: 'acct-days', models: ['*'], endpoints: ['*'] });
    await chat(key, { model: 'grok-4' });
    await chat(key, { model: 'grok-3-mini' });
    await eventually(async () => (await usageOf(id)).requests === 2);
    const today = new Date().toISOString().slice(0, 10);
    const report = (await (await h.admin('GET', `/admin/keys/${id}/usage?from=${today}&to=${today}`)).json()) as {
      keyId: string; from: string; to: string; days: { date: string; models: Record<string, U> }[];
    };
    expect(report.keyId).toBe(id);
    expect(report.days).toHaveLength(1);
    expect(report.days[0]?.date).toBe(today);
    expect(Object.keys(report.days[0]?.models ?? {}).sort()).toEqual(['grok-3-mini', 'grok-4']);
    const record = (await (await h.admin('GET', `/admin/keys/${id}`)).json()) as { usage: { today: U } };
    expect(record.usage.today.requests).toBe(2);
    expect((await h.admin('GET', `/admin/keys/${id}/usage?from=2026-13-01`)).status).toBe(400);
  });

  it('a request refused by the gateway or never sent upstream is not usage', async () => {
    const { key, id } = await h.createKey({ name: 'acct-refused', models: ['grok-4'], endpoints: ['chat.completions'] });
    expect((await chat(key, { model: 'grok-3' })).status).toBe(403);
    expect((await chat(key, { model: 'grok-4' }, { 'x-fake-scenario': 'destroy' })).status).toBe(502);
    expect((await chat(key, { model: 'grok-4' })).status).toBe(200);
    await eventually(async () => (await usageOf(id)).requests >= 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await usageOf(id)).requests).toBe(1);
  });
});

describe('token and cost budgets', () => {
  it('a token budget is refused once spent and never exceeded by sequential requests', async () => {
    const { key, id } = await h.createKey({ name: 'budget-seq', models: ['*'], endpoints: ['*'], limits: { tokensPerDay: 400 } });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      const response = await chat(key, { model: 'grok-4-fast-non-reasoning', max_tokens: 20 });
      statuses.push(response.status);
      await response.arrayBuffer();
      if (response.status === 429) {
        const body = (await h.admin('GET', `/admin/keys/${id}/usage`)).json() as Promise<{ totals: U }>;
        expect((await body).totals.totalTokens).toBeLessThanOrEqual(400);
      }
    }
    expect(statuses).toContain(200);
    expect(statuses.at(-1)).toBe(429);
    const refusal = await chat(key, { model: 'grok-4-fast-non-reasoning', max_tokens: 20 });
    expect(refusal.status).toBe(429);
    expect(((await refusal.json()) as { error: { code: string } }).error.code).toBe('quota_exceeded');
    expect(Number(refusal.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await usageOf(id)).totalTokens).toBeLessThanOrEqual(400);
  });

  it('60 concurrent requests never push recorded usage past the budget by more than the estimation error', async () => {
    const budget = 2000;
    const { key, id } = await h.createKey({ name: 'budget-conc', models: ['*'], endpoints: ['*'], limits: { tokensPerDay: budget } });
    h.fake.reset();
    // The upstream holds every admitted request until all 60 were decided, so all reservations overlap.
    let refusedSoFar = 0;
    const pending = Array.from({ length: 60 }, () =>
      chat(key, { model: 'grok-4-fast-non-reasoning', max_tokens: 50 }, { 'x-fake-scenario': 'hold' }).then((r) => {
        if (r.status === 429) refusedSoFar += 1;
        return r;
      }),
    );
    await eventually(() => h.fake.requests.length + refusedSoFar === 60, 10_000);
    h.fake.release();
    const responses = await Promise.all(pending);
    const admitted = responses.filter((r) => r.status === 200).length;
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThan(60);
    // Each reserved at least its 50-token cap: the budget bounds how many could be in flight at once.
    expect(admitted).toBeLessThanOrEqual(Math.floor(budget / 50));
    await eventually(async () => (await usageOf(id)).requests === admitted);
    // Non-reasoning model and the request's own cap: actual ≤ reserved, so no overshoot at all here.
    expect((await usageOf(id)).totalTokens).toBeLessThanOrEqual(budget);
  });

  it('a cost budget in USD is enforced against xAI\'s cost, never exceeded by sequential requests', async () => {
    // A non-reasoning model: the output cap bounds the spend (for reasoning models see the README's bound).
    const { key, id } = await h.createKey({ name: 'budget-cost', models: ['*'], endpoints: ['*'], limits: { costPerDayUsd: 0.00005 } });
    let refused = false;
    for (let i = 0; i < 100 && !refused; i += 1) {
      const response = await chat(key, { model: 'grok-4-fast-non-reasoning', max_tokens: 10 });
      await response.arrayBuffer();
      refused = response.status === 429;
    }
    expect(refused).toBe(true);
    const usage = await usageOf(id);
    expect(usage.requests).toBeGreaterThan(1);
    expect(usage.costUsd).toBeLessThanOrEqual(0.00005);
  });

  it('maxOutputTokens: a larger request is 400 and not forwarded; a request without a cap gets the cap set upstream', async () => {
    const { key } = await h.createKey({ name: 'max-out', models: ['*'], endpoints: ['*'], limits: { maxOutputTokens: 64 } });
    h.fake.reset();
    const tooBig = await chat(key, { max_tokens: 65 });
    expect(tooBig.status).toBe(400);
    expect(h.fake.requests).toHaveLength(0);
    const body = chatBody();
    delete body.max_tokens;
    const response = await postJson(`${h.url}/v1/chat/completions`, body, auth(key));
    expect(response.status).toBe(200);
    const sent = JSON.parse(h.fake.requests[0]?.body.toString('utf8') ?? '{}') as { max_completion_tokens?: number };
    expect(sent.max_completion_tokens).toBe(64);
  });
});

describe('concurrency', () => {
  it('concurrency 2 refuses a third concurrent request and frees its slots afterwards', async () => {
    const { key } = await h.createKey({ name: 'conc', models: ['*'], endpoints: ['*'], limits: { concurrency: 2 } });
    h.fake.reset();
    const held = [chat(key, { stream: true }, { 'x-fake-scenario': 'hold' }), chat(key, { stream: true }, { 'x-fake-scenario': 'hold' })];
    const [a, b] = await Promise.all(held);
    expect(a?.status).toBe(200);
    expect(b?.status).toBe(200);
    const third = await chat(key);
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe('quota_exceeded');
    h.fake.release();
    await Promise.all([a?.text(), b?.text()]);
    await eventually(async () => (await chat(key)).status === 200);
  });
});

describe('disconnects', () => {
  it('a client that disconnects mid-stream: relaying stops, xAI\'s stream is read on to its usage, and exactly that is charged', async () => {
    const { key, id } = await h.createKey({ name: 'disconnect', models: ['*'], endpoints: ['*'], limits: { concurrency: 1 } });
    h.fake.reset();
    const response = await chat(key, { stream: true }, { 'x-fake-scenario': 'hold' });
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(first?.done).toBe(false);
    // The client goes away while the upstream is still holding the rest of the stream.
    await reader?.cancel();
    h.fake.release();
    await eventually(async () => (await usageOf(id)).requests === 1);
    const usage = await usageOf(id);
    // xAI's own report, reasoning included, not an estimate; and the gateway, not the client, ended the upstream stream.
    expect(usage.totalTokens).toBe(h.fake.reported.totalTokens);
    expect(usage.reasoningTokens).toBeGreaterThan(0);
    expect(h.fake.requests[0]?.closedByClientAtMs).toBeNull();
    // The concurrency slot was freed by the settlement.
    await eventually(async () => (await chat(key)).status === 200);
  });
});

describe('two gateway processes on one Redis', () => {
  let fake: FakeXai;
  const processes: GatewayProcess[] = [];

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await fake.close();
  });

  it('share one limit exactly: 12 concurrent requests on requestsPerMinute 7 across both admit 7', async () => {
    fake = await startFakeXai({ apiKeys: [UPSTREAM_KEY] });
    const dir = mkdtempSync(join(tmpdir(), 'xgw-quotas-'));
    const configFile = join(dir, 'gateway.yaml');
    writeFileSync(configFile, `store: { keyPrefix: "${h.prefix}" }\n`);
    const env = { XAI_BASE_URL: fake.url, REDIS_URL, GATEWAY_CONFIG: configFile };
    processes.push(...(await Promise.all([startGatewayProcess(env), startGatewayProcess(env)])));
    const [a, b] = processes.map((p) => p.url);
    const created = await postJson(
      `${a}/admin/keys`,
      { name: 'shared', models: ['*'], endpoints: ['*'], limits: { requestsPerMinute: 7 } },
      { authorization: `Bearer ${ADMIN_TOKEN}` },
    );
    const { key } = (await created.json()) as { key: string };
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => postJson(`${i % 2 === 0 ? a : b}/v1/chat/completions`, chatBody(), auth(key))),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(7);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    expect(fake.requests).toHaveLength(7);
  });
});
