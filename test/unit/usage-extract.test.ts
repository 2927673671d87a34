import { describe, expect, it } from 'vitest';
import { extractUsage, isUpstreamErrorBody } from '../../src/usage/extract-usage.js';
import type { UsageKind } from '../../src/usage/extract-usage.js';
import type { ModelPrice } from '../../src/config/types.js';
import { fixtureJson } from '../fixtures/xai/index.js';

const GROK_4_FAST: ModelPrice = { input: 0.2, cachedInput: 0.05, output: 0.5 };

function withoutUpstreamCost(body: unknown): unknown {
  const copy = structuredClone(body) as { usage: Record<string, unknown> };
  delete copy.usage['cost_in_usd_ticks'];
  return copy;
}

function upstreamTotal(body: unknown): unknown {
  return (body as { usage: { total_tokens: unknown } }).usage.total_tokens;
}

describe('extractUsage chat (docs/upstream.md §3.1, §4.1)', () => {
  const rows = [
    { name: 'chat-simple.json', usage: { promptTokens: 165, cachedTokens: 156, completionTokens: 2, reasoningTokens: 125, totalTokens: 292, costTicks: 731_000 } },
    { name: 'chat-tool.json', usage: { promptTokens: 361, cachedTokens: 153, completionTokens: 26, reasoningTokens: 93, totalTokens: 480, costTicks: 1_087_500 } },
  ];

  it.each(rows)('$name: tokens incl. reasoning and cost_in_usd_ticks', ({ name, usage }) => {
    const body = fixtureJson(name);
    expect(extractUsage('chat', body, GROK_4_FAST)).toEqual({ ...usage, costFromUpstream: true });
  });

  it.each(rows)('$name: the summed total agrees with usage.total_tokens on the capture', ({ name }) => {
    const body = fixtureJson(name);
    expect(extractUsage('chat', body, undefined)?.totalTokens).toBe(upstreamTotal(body));
  });

  it.each(rows)('$name: without cost_in_usd_ticks the cost comes from pricing, to the same tick', ({ name, usage }) => {
    const body = withoutUpstreamCost(fixtureJson(name));
    expect(extractUsage('chat', body, GROK_4_FAST)).toEqual({ ...usage, costFromUpstream: false });
    expect(extractUsage('chat', body, undefined)).toEqual({ ...usage, costTicks: 0, costFromUpstream: false });
  });

  it('total is the sum, not usage.total_tokens as sent', () => {
    const body = { usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, completion_tokens_details: { reasoning_tokens: 7 } } };
    expect(extractUsage('chat', body, undefined)?.totalTokens).toBe(22);
  });

  it('cached > prompt anomaly (§4.1 Surprise #2, [VAI PR #12485]): prompt normalised to include the cache', () => {
    const body = {
      usage: {
        prompt_tokens: 4142,
        completion_tokens: 254,
        total_tokens: 8724,
        prompt_tokens_details: { cached_tokens: 4328 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    };
    expect(extractUsage('chat', body, GROK_4_FAST)).toEqual({
      promptTokens: 8470,
      cachedTokens: 4328,
      completionTokens: 254,
      reasoningTokens: 0,
      totalTokens: 8724,
      costTicks: 4142 * 2000 + 4328 * 500 + 254 * 5000,
      costFromUpstream: false,
    });
  });

  it('a body without usage gives null', () => {
    expect(extractUsage('chat', { choices: [] }, GROK_4_FAST)).toBeNull();
    expect(extractUsage('chat', { usage: null }, GROK_4_FAST)).toBeNull();
    expect(extractUsage('chat', { usage: {} }, GROK_4_FAST)).toBeNull();
  });
});

describe('extractUsage responses (docs/upstream.md §3.3, §4.2)', () => {
  it('web-search capture: output includes reasoning, total = input + output, cost from pricing', () => {
    expect(extractUsage('responses', fixtureJson('responses-web-search.json'), GROK_4_FAST)).toEqual({
      promptTokens: 1941,
      cachedTokens: 947,
      completionTokens: 583 - 380,
      reasoningTokens: 380,
      totalTokens: 2524,
      costTicks: (1941 - 947) * 2000 + 947 * 500 + 583 * 5000,
      costFromUpstream: false,
    });
  });

  it('2026 usage block: cost_in_usd_ticks taken as is', () => {
    expect(extractUsage('responses', fixtureJson('responses-usage-2026.json'), GROK_4_FAST)).toEqual({
      promptTokens: 661,
      cachedTokens: 512,
      completionTokens: 174 - 146,
      reasoningTokens: 146,
      totalTokens: 835,
      costTicks: 15_980_000,
      costFromUpstream: true,
    });
  });

  it('accepts a stream event wrapping the response, and cost_in_nano_usd as a fallback (1 nano-USD = 10 ticks)', () => {
    const event = { type: 'response.completed', response: { usage: { input_tokens: 3, output_tokens: 2, cost_in_nano_usd: 1234 } } };
    expect(extractUsage('responses', event, undefined)).toMatchObject({ promptTokens: 3, completionTokens: 2, totalTokens: 5, costTicks: 12_340, costFromUpstream: true });
  });

  it('mid-stream snapshot with "usage": null gives null', () => {
    expect(extractUsage('responses', { response: { usage: null } }, GROK_4_FAST)).toBeNull();
  });
});

describe('extractUsage embeddings and media', () => {
  it('embeddings (§3.6)', () => {
    const body = { object: 'list', model: 'v1', data: [{ index: 0, embedding: [0.0156, 0.0632, 0.0459], object: 'embedding' }], usage: { prompt_tokens: 1, total_tokens: 1 } };
    expect(extractUsage('embeddings', body, { input: 0.1, output: 0 })).toEqual({
      promptTokens: 1, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0, totalTokens: 1, costTicks: 1000, costFromUpstream: false,
    });
  });

  it('image generation (§3.7): cost only', () => {
    const body = { data: [{ url: 'https://example.invalid/a.jpg', mime_type: 'image/jpeg' }], usage: { cost_in_usd_ticks: 200_000_000 } };
    expect(extractUsage('media', body, GROK_4_FAST)).toEqual({
      promptTokens: 0, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0, totalTokens: 0, costTicks: 200_000_000, costFromUpstream: true,
    });
  });

  it('moderation rejection (§3.7, HTTP 400 error body) still carries a billed cost', () => {
    const body = { code: 'Client specified an invalid argument', error: 'Generated image rejected by content moderation.', usage: { cost_in_usd_ticks: 500_000_000 } };
    expect(isUpstreamErrorBody(body)).toBe(true);
    expect(extractUsage('media', body, undefined)?.costTicks).toBe(500_000_000);
  });

  it('finished video (§3.8) and a media body without cost', () => {
    const done = { status: 'done', progress: 100, video: { url: 'https://vidgen.x.ai/x.mp4', duration: 6 }, model: 'grok-imagine-video', usage: { cost_in_usd_ticks: '5000000000' } };
    expect(extractUsage('media', done, undefined)?.costTicks).toBe(5_000_000_000);
    expect(extractUsage('media', { request_id: 'a3d1008e' }, undefined)).toBeNull();
    expect(extractUsage('media', { usage: {} }, undefined)).toBeNull();
  });
});

describe('extractUsage never throws on odd shapes', () => {
  const kinds: UsageKind[] = ['chat', 'responses', 'embeddings', 'media'];
  const odd: unknown[] = [
    null, undefined, 0, 'usage', [], [{ usage: {} }], { usage: 'x' }, { usage: [] }, { usage: 7 },
    { usage: { prompt_tokens: 'abc', completion_tokens: -4, input_tokens: Number.NaN, cost_in_usd_ticks: Infinity } },
    { usage: { prompt_tokens_details: 'x', completion_tokens_details: [1], input_tokens_details: null } },
    { response: 'x' }, { response: { usage: [1, 2] } }, Object.create(null) as unknown,
  ];

  it.each(kinds)('%s', (kind) => {
    for (const body of odd) {
      expect(() => extractUsage(kind, body, GROK_4_FAST)).not.toThrow();
      const usage = extractUsage(kind, body, GROK_4_FAST);
      if (usage !== null) {
        for (const value of Object.values(usage)) {
          if (typeof value === 'number') expect(Number.isInteger(value) && value >= 0).toBe(true);
        }
      }
    }
  });

  it('negative and non-numeric counts are ignored rather than trusted', () => {
    const usage = extractUsage('chat', { usage: { prompt_tokens: 10, completion_tokens: -4, completion_tokens_details: { reasoning_tokens: '3' } } }, undefined);
    expect(usage).toMatchObject({ promptTokens: 10, completionTokens: 0, reasoningTokens: 3, totalTokens: 13 });
  });
});

describe('extractUsage result shape', () => {
  // Usage objects are serialised (logs, settlement), so every kind yields the same fields in the same order.
  const FIELDS = ['promptTokens', 'completionTokens', 'reasoningTokens', 'cachedTokens', 'totalTokens', 'costTicks', 'costFromUpstream'];
  it.each([
    ['chat', { usage: { prompt_tokens: 3, completion_tokens: 2 } }, false],
    ['chat', { usage: { prompt_tokens: 3, completion_tokens: 2, cost_in_usd_ticks: 70 } }, true],
    ['responses', { usage: { input_tokens: 3, output_tokens: 2 } }, false],
    ['embeddings', { usage: { prompt_tokens: 3, total_tokens: 3 } }, false],
    ['media', { usage: { cost_in_usd_ticks: 70 } }, true],
  ] as const)('%s: fields in order, costFromUpstream %s', (kind, body, fromUpstream) => {
    const usage = extractUsage(kind, body, { input: 1, output: 2 });
    expect(Object.keys(usage ?? {})).toEqual(FIELDS);
    expect(usage?.costFromUpstream).toBe(fromUpstream);
    if (fromUpstream) expect(usage?.costTicks).toBe(70);
    else expect(usage?.costTicks).toBeGreaterThan(0);
  });
});

describe('isUpstreamErrorBody (docs/upstream.md §6.2, §6.4)', () => {
  it.each([
    [{ code: 'invalid-argument', error: 'Incorrect API key provided. You can obtain an API key from https://console.x.ai.' }, true],
    [{ code: 'internal', error: 'Please retry your request.' }, true],
    [{ code: 'The service is currently unavailable', error: 'x' }, true],
    [{ error: 'speed must be between 0.7 and 1.5' }, false],
    [{ error: { message: 'x', type: 'y', code: 'z' } }, false],
    [{ code: 1, error: 'x' }, false],
    [fixtureJson('chat-simple.json'), false],
    [[{ code: 'a', error: 'b' }], false],
    [null, false],
    ['{"code":"a","error":"b"}', false],
  ])('%j → %s', (body, expected) => {
    expect(isUpstreamErrorBody(body)).toBe(expected);
  });
});
