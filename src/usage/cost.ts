import type { ModelPrice } from '../config/types.js';

/** Token counts as xAI reports them (chat naming); reasoning is separate from completion (docs/upstream.md §4.1). */
export interface TokenCounts {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
}

/** USD per 1M tokens → ticks per token: × 1e10 ticks/USD ÷ 1e6 tokens (docs/upstream.md §4.4). */
const TICKS_PER_TOKEN_PER_USD_PER_MILLION = 10_000;

function count(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function rate(usdPerMillion: number | undefined): number {
  return usdPerMillion !== undefined && Number.isFinite(usdPerMillion) && usdPerMillion > 0
    ? usdPerMillion * TICKS_PER_TOKEN_PER_USD_PER_MILLION
    : 0;
}

/**
 * Cost in integer ticks computed from configured pricing, used only where xAI sent no cost_in_usd_ticks.
 * docs/upstream.md §4.4: uncached_prompt × in + cached × cached_in + (completion + reasoning) × out; reasoning is
 * billed at the output price (§4.1 Surprise #1); cached input falls back to the input price.
 * §4.1 Surprise #2: cached is normally inside prompt, but some models report cached > prompt, meaning prompt
 * excludes the cache; then all of prompt is uncached and cached is billed on top.
 * Rounded once, at the end, so the five recorded captures reproduce exactly. No price → 0.
 */
export function costTicksFor(counts: TokenCounts, price: ModelPrice | undefined): number {
  if (price === undefined) return 0;
  const prompt = count(counts.promptTokens);
  const cached = count(counts.cachedTokens);
  const uncached = cached <= prompt ? prompt - cached : prompt;
  const output = count(counts.completionTokens) + count(counts.reasoningTokens);
  const inputRate = rate(price.input);
  const cachedRate = price.cachedInput === undefined ? inputRate : rate(price.cachedInput);
  const ticks = uncached * inputRate + cached * cachedRate + output * rate(price.output);
  return Math.round(ticks);
}
