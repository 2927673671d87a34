import { describe, expect, it } from 'vitest';
import type { ModelPrice } from '../../src/config/types.js';
import { mediaReserveTicks, priceFor, reservationEstimate } from '../../src/usage/reservation.js';
import { parseAnswer, usageOfAnswer } from '../../src/usage/extract-usage.js';

const pricing: Record<string, ModelPrice> = {
  'grok-4': { input: 3, cachedInput: 0.75, output: 15 },
  'grok-3-mini': { input: 0.3, cachedInput: 0.075, output: 0.5 },
  'grok-imagine-image': { input: 0, cachedInput: 0, output: 0, perImage: 0.02 },
  'grok-imagine-video': { input: 0, cachedInput: 0, output: 0, perVideoSecond: 0.05 },
};

describe('priceFor', () => {
  it("uses the model's own price, else the dearest configured", () => {
    expect(priceFor(pricing, 'grok-3-mini')).toBe(pricing['grok-3-mini']);
    expect(priceFor(pricing, 'grok-unknown')).toBe(pricing['grok-4']);
    expect(priceFor(pricing, null)).toBe(pricing['grok-4']);
  });

  it("finds no price of Object's for a model named like one of its properties", () => {
    expect(priceFor(pricing, 'constructor')).toBe(pricing['grok-4']);
    expect(priceFor(pricing, '__proto__')).toBe(pricing['grok-4']);
    expect(priceFor({}, 'toString')).toBeUndefined();
  });
});

describe('reservationEstimate and mediaReserveTicks', () => {
  it('reserves prompt estimate plus output cap at the price, plus the media price', () => {
    // 1,000 prompt tokens at $3/M + 500 output tokens at $15/M = $0.003 + $0.0075 = 105,000,000 ticks.
    expect(reservationEstimate({ promptTokens: 1000, outputCapTokens: 500, price: pricing['grok-4'], mediaTicks: 7 })).toEqual({
      promptTokens: 1000,
      completionTokens: 500,
      costTicks: 105_000_007,
    });
  });

  it('prices n images or seconds of video, the dearest configured for a model without its own', () => {
    expect(mediaReserveTicks(pricing, 'images', 'grok-imagine-image', 3)).toBe(600_000_000);
    expect(mediaReserveTicks(pricing, 'videos', 'grok-imagine-video', 8)).toBe(4_000_000_000);
    expect(mediaReserveTicks(pricing, 'images', 'constructor', 1)).toBe(200_000_000);
    expect(mediaReserveTicks(pricing, 'videos', 'grok-imagine-video', 0)).toBe(0);
  });
});

describe('usageOfAnswer', () => {
  it("reads a JSON answer's usage and model, and none from xAI's flat error body", () => {
    const answer = parseAnswer(Buffer.from(JSON.stringify({ model: 'grok-4-0709', usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } })));
    const found = usageOfAnswer('chat', answer, pricing['grok-4']);
    expect(found.model).toBe('grok-4-0709');
    expect(found.usage?.promptTokens).toBe(10);
    expect(found.usage?.completionTokens).toBe(5);
    expect(usageOfAnswer('chat', parseAnswer(Buffer.from('{"code":"x","error":"y"}')), undefined)).toEqual({ usage: null, model: null });
    expect(usageOfAnswer('chat', parseAnswer(Buffer.from('not json')), undefined)).toEqual({ usage: null, model: null });
  });
});
