import { describe, expect, it } from 'vitest';
import { costTicksFor } from '../../src/usage/cost.js';
import type { ModelPrice } from '../../src/config/types.js';

const GROK_4_FAST: ModelPrice = { input: 0.2, cachedInput: 0.05, output: 0.5 };
const GROK_3_MINI: ModelPrice = { input: 0.3, cachedInput: 0.075, output: 0.5 };

describe('costTicksFor reproduces every recorded row of docs/upstream.md §4.4', () => {
  const rows = [
    { capture: '[FAN] simple', price: GROK_4_FAST, counts: [165, 156, 2, 125], ticks: 731_000 },
    { capture: '[FAN] simple_streaming', price: GROK_4_FAST, counts: [165, 164, 2, 129], ticks: 739_000 },
    { capture: '[FAN] tool', price: GROK_4_FAST, counts: [361, 153, 26, 93], ticks: 1_087_500 },
    { capture: '[FAN] tool_streaming', price: GROK_4_FAST, counts: [361, 360, 26, 235], ticks: 1_487_000 },
    { capture: '[VAI] xai-text.chunks', price: GROK_3_MINI, counts: [12, 11, 1, 290], ticks: 1_466_250 },
  ] as const;

  it.each(rows)('$capture → $ticks ticks', ({ price, counts, ticks }) => {
    const [promptTokens, cachedTokens, completionTokens, reasoningTokens] = counts;
    const cost = costTicksFor({ promptTokens, cachedTokens, completionTokens, reasoningTokens }, price);
    expect(cost).toBe(ticks);
    expect(Number.isInteger(cost)).toBe(true);
  });
});

describe('costTicksFor rules', () => {
  const base = { promptTokens: 1000, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0 };

  it('reasoning is billed at the output price', () => {
    const reasoning = costTicksFor({ ...base, promptTokens: 0, reasoningTokens: 100 }, GROK_4_FAST);
    const completion = costTicksFor({ ...base, promptTokens: 0, completionTokens: 100 }, GROK_4_FAST);
    expect(reasoning).toBe(500_000);
    expect(reasoning).toBe(completion);
  });

  it('cached input falls back to the input price when no cachedInput is configured', () => {
    const price: ModelPrice = { input: 2, output: 10 };
    expect(costTicksFor({ ...base, cachedTokens: 400 }, price)).toBe(1000 * 20_000);
  });

  it('cached > prompt (§4.1 Surprise #2): all of prompt is uncached and cached is billed on top', () => {
    // [VAI PR #12485]: prompt 4142, cached 4328, completion 254 (grok-4-1-fast-non-reasoning, 0.20/0.05/0.50).
    const counts = { promptTokens: 4142, cachedTokens: 4328, completionTokens: 254, reasoningTokens: 0 };
    expect(costTicksFor(counts, GROK_4_FAST)).toBe(4142 * 2000 + 4328 * 500 + 254 * 5000);
  });

  it('rounds once at the end, not per term', () => {
    // 0.00001 $/M = 0.1 tick per token: rounding per term would give 0 here.
    const price: ModelPrice = { input: 0.00001, cachedInput: 0.00001, output: 0.00001 };
    // Terms: 4 uncached (0.4) + 4 cached (0.4) + 2 output (0.2).
    expect(costTicksFor({ promptTokens: 8, cachedTokens: 4, completionTokens: 1, reasoningTokens: 1 }, price)).toBe(1);
    expect(costTicksFor({ promptTokens: 1, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0 }, price)).toBe(0);
  });

  it('no price → 0; nonsense counts and prices count as 0', () => {
    expect(costTicksFor(base, undefined)).toBe(0);
    expect(costTicksFor({ promptTokens: -5, cachedTokens: Number.NaN, completionTokens: Infinity, reasoningTokens: 0 }, GROK_4_FAST)).toBe(0);
    expect(costTicksFor(base, { input: Number.NaN, output: -1 })).toBe(0);
  });
});
