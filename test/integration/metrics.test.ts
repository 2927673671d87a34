import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, chatBody, eventually, postJson, startHarness, UPSTREAM_KEY, type Harness } from '../helpers/harness.js';

// Prometheus metrics — what the gateway did, with bounded labels and no secret anywhere.
let h: Harness;
let key: string;
let keyId: string;

beforeAll(async () => {
  // grok-4 is priced, so the config knows it: a model label (docs/threat-model.md: only models xAI or the config knows are).
  h = await startHarness({ store: 'redis', name: 'metrics', yaml: 'pricing: { grok-4: { input: 3, output: 15 } }' });
  ({ key, id: keyId } = await h.createKey({ name: 'metrics', models: ['grok-4'], endpoints: ['chat.completions'], limits: { requestsPerMinute: 3 } }));
});

afterAll(async () => {
  await h.close();
});

async function scrape(): Promise<string> {
  const response = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

/** The value of one sample line, e.g. metric('xgw_requests_total', {endpoint: 'chat.completions'}). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('/metrics', () => {
  it('needs an admin token; a client key never opens it', async () => {
    expect((await fetch(`${h.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
  });

  it('counts requests, tokens, cost, refusals, upstream and store latency; streams return to zero', async () => {
    const plain = await postJson(`${h.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}` });
    const body = (await plain.json()) as { usage: { total_tokens: number; completion_tokens_details: { reasoning_tokens: number }; cost_in_usd_ticks: number } };
    const stream = await postJson(`${h.url}/v1/chat/completions`, chatBody({ stream: true }), { authorization: `Bearer ${key}` });
    await stream.text();
    expect((await postJson(`${h.url}/v1/chat/completions`, chatBody({ model: 'grok-3' }), { authorization: `Bearer ${key}` })).status).toBe(403);
    await postJson(`${h.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}` });
    expect((await postJson(`${h.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}` })).status).toBe(429);

    await eventually(async () => sample(await scrape(), 'xgw_requests_total', { endpoint: 'chat.completions', model: 'grok-4', status: '429' }) === 1);
    const text = await scrape();
    expect(sample(text, 'xgw_requests_total', { endpoint: 'chat.completions', model: 'grok-4', status: '200' })).toBe(3);
    // A request refused before its body was accepted carries no model label.
    expect(sample(text, 'xgw_requests_total', { endpoint: 'chat.completions', model: 'none', status: '403' })).toBe(1);
    expect(sample(text, 'xgw_refusals_total', { reason: 'model_not_allowed' })).toBe(1);
    expect(sample(text, 'xgw_refusals_total', { reason: 'requestsPerMinute' })).toBe(1);
    expect(sample(text, 'xgw_tokens_total', { model: 'grok-4', kind: 'reasoning' })).toBeGreaterThanOrEqual(body.usage.completion_tokens_details.reasoning_tokens);
    expect(sample(text, 'xgw_tokens_total', { model: 'grok-4', kind: 'total' })).toBeGreaterThanOrEqual(body.usage.total_tokens);
    expect(sample(text, 'xgw_cost_usd_total', { model: 'grok-4' })).toBeGreaterThanOrEqual(body.usage.cost_in_usd_ticks / 1e10);
    expect(sample(text, 'xgw_upstream_duration_seconds_count', { endpoint: 'chat.completions' })).toBe(3);
    expect(sample(text, 'xgw_store_duration_seconds_count', { operation: 'limits.admit', outcome: 'ok' })).toBeGreaterThanOrEqual(4);
    expect(sample(text, 'xgw_streams_in_flight', {})).toBe(0);
    expect(text).toContain('xgw_process_resident_memory_bytes');
  });

  it('carries no secret and no key id in any label', async () => {
    const text = await scrape();
    expect(text).not.toContain(UPSTREAM_KEY);
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toContain(key);
    expect(text).not.toContain(keyId);
    expect(text).not.toMatch(/xgw_[0-9A-Za-z]{20,}/);
  });

  it('keeps the model label set bounded when clients send arbitrary model names', async () => {
    const { key: any } = await h.createKey({ name: 'any-model', models: ['*'], endpoints: ['chat.completions'] });
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => postJson(`${h.url}/v1/chat/completions`, chatBody({ model: `made-up-${i}` }), { authorization: `Bearer ${any}` })),
    );
    const text = await scrape();
    const models = new Set([...text.matchAll(/model="([^"]*)"/g)].map((m) => m[1]));
    // No made-up name became a label: they all count under "unlisted", beside the known ones.
    expect([...models].filter((m) => m?.startsWith('made-up-') === true)).toEqual([]);
    expect(models.has('unlisted')).toBe(true);
    expect(models.size).toBeLessThanOrEqual(201);
  });
});
