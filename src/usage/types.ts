/**
 * Usage of one upstream call, normalised across endpoints (docs/api.md).
 * totalTokens is what quotas count: prompt + completion + reasoning for chat (xAI reports reasoning outside
 * completion_tokens, docs/upstream.md §4.1), input + output for Responses (output already includes reasoning).
 *
 * Cost is kept in xAI's own unit, integer "ticks" (1 USD = 1e10 ticks, docs/upstream.md §4.1), so sums are exact;
 * it becomes USD only at the API boundary.
 */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  totalTokens: number;
  /** Exact when xAI sent cost_in_usd_ticks, else computed from pricing (rounded to whole ticks), else 0. */
  costTicks: number;
  /** True when costTicks came from xAI's cost_in_usd_ticks. */
  costFromUpstream: boolean;
}

export const TICKS_PER_USD = 10_000_000_000;

export const ZERO_USAGE: Usage = Object.freeze({
  promptTokens: 0,
  completionTokens: 0,
  reasoningTokens: 0,
  cachedTokens: 0,
  totalTokens: 0,
  costTicks: 0,
  costFromUpstream: false,
});

export function ticksToUsd(ticks: number): number {
  return ticks / TICKS_PER_USD;
}

export function usdToTicks(usd: number): number {
  return Math.round(usd * TICKS_PER_USD);
}
