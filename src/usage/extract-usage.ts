import type { ModelPrice } from '../config/types.js';
import type { Usage } from './types.js';
import { costTicksFor } from './cost.js';

/** Which usage shape to read; images/videos ('media') carry only a cost (docs/upstream.md §3.7, §3.8). */
export type UsageKind = 'chat' | 'responses' | 'embeddings' | 'media';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A non-negative integer from an upstream number, or undefined. int64 fields may arrive as decimal strings
 * (proto3 JSON mapping), so digit strings are accepted too.
 */
function countOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

function field(obj: unknown, key: string): unknown {
  return isObject(obj) ? obj[key] : undefined;
}

/** xAI's exact cost: cost_in_usd_ticks (§4.1), else cost_in_nano_usd (§4.2; 1 nano-USD = 10 ticks). */
function upstreamCostTicks(usage: JsonObject): number | undefined {
  const ticks = countOf(usage['cost_in_usd_ticks']);
  if (ticks !== undefined) return ticks;
  const nano = countOf(usage['cost_in_nano_usd']);
  return nano === undefined ? undefined : nano * 10;
}

function withCost(
  tokens: Omit<Usage, 'costTicks' | 'costFromUpstream'>,
  usage: JsonObject,
  price: ModelPrice | undefined,
): Usage {
  const upstream = upstreamCostTicks(usage);
  // Field by field rather than `{ ...tokens, costTicks, … }`: Node 20's V8 takes a slow path for a spread of a
  // fresh object followed by more properties (about 3 us here, measured), and this runs per settled request.
  return {
    promptTokens: tokens.promptTokens,
    completionTokens: tokens.completionTokens,
    reasoningTokens: tokens.reasoningTokens,
    cachedTokens: tokens.cachedTokens,
    totalTokens: tokens.totalTokens,
    costTicks: upstream ?? costTicksFor(tokens, price),
    costFromUpstream: upstream !== undefined,
  };
}

/**
 * Chat / legacy completions usage (docs/upstream.md §4.1). Reasoning is outside completion_tokens, so total is the
 * sum (Surprise #1), never usage.total_tokens as sent. When cached > prompt (Surprise #2) prompt excluded the
 * cache; promptTokens is normalised to prompt + cached so that cachedTokens ⊆ promptTokens always holds here
 * (the cost is unchanged by this: see costTicksFor).
 */
export function usageFromChatObject(usage: JsonObject, price: ModelPrice | undefined): Usage | null {
  const prompt = countOf(usage['prompt_tokens']);
  const completion = countOf(usage['completion_tokens']);
  const reasoning = countOf(field(usage['completion_tokens_details'], 'reasoning_tokens'));
  const cached = countOf(field(usage['prompt_tokens_details'], 'cached_tokens'));
  if (prompt === undefined && completion === undefined && reasoning === undefined && upstreamCostTicks(usage) === undefined) {
    return null;
  }
  const cachedTokens = cached ?? 0;
  const rawPrompt = prompt ?? 0;
  const promptTokens = cachedTokens > rawPrompt ? rawPrompt + cachedTokens : rawPrompt;
  const completionTokens = completion ?? 0;
  const reasoningTokens = reasoning ?? 0;
  return withCost(
    {
      promptTokens,
      completionTokens,
      reasoningTokens,
      cachedTokens,
      totalTokens: promptTokens + completionTokens + reasoningTokens,
    },
    usage,
    price,
  );
}

/**
 * Responses usage (docs/upstream.md §4.2): output_tokens INCLUDES reasoning, total = input + output. Reported as
 * completion = output − reasoning so completion + reasoning is the billed output in both shapes.
 */
export function usageFromResponsesObject(usage: JsonObject, price: ModelPrice | undefined): Usage | null {
  const input = countOf(usage['input_tokens']);
  const output = countOf(usage['output_tokens']);
  if (input === undefined && output === undefined && upstreamCostTicks(usage) === undefined) return null;
  const promptTokens = input ?? 0;
  const outputTokens = output ?? 0;
  const reasoningTokens = Math.min(countOf(field(usage['output_tokens_details'], 'reasoning_tokens')) ?? 0, outputTokens);
  return withCost(
    {
      promptTokens,
      completionTokens: outputTokens - reasoningTokens,
      reasoningTokens,
      cachedTokens: countOf(field(usage['input_tokens_details'], 'cached_tokens')) ?? 0,
      totalTokens: promptTokens + outputTokens,
    },
    usage,
    price,
  );
}

/** Embeddings usage (docs/upstream.md §3.6): prompt_tokens / total_tokens, input only. */
function usageFromEmbeddingsObject(usage: JsonObject, price: ModelPrice | undefined): Usage | null {
  const prompt = countOf(usage['prompt_tokens']);
  const total = countOf(usage['total_tokens']);
  if (prompt === undefined && total === undefined && upstreamCostTicks(usage) === undefined) return null;
  const promptTokens = prompt ?? total ?? 0;
  return withCost(
    {
      promptTokens,
      completionTokens: 0,
      reasoningTokens: 0,
      cachedTokens: 0,
      totalTokens: Math.max(promptTokens, total ?? 0),
    },
    usage,
    price,
  );
}

/** Images / videos (docs/upstream.md §3.7, §3.8): only cost_in_usd_ticks; no tokens, no pricing table applies. */
function usageFromMediaObject(usage: JsonObject): Usage | null {
  const ticks = upstreamCostTicks(usage);
  if (ticks === undefined) return null;
  return {
    promptTokens: 0,
    completionTokens: 0,
    reasoningTokens: 0,
    cachedTokens: 0,
    totalTokens: 0,
    costTicks: ticks,
    costFromUpstream: true,
  };
}

/** Normalised usage from a usage object of the given shape (a chat stream's usage chunk, a response.usage). */
export function usageFromObject(kind: UsageKind, usage: unknown, price: ModelPrice | undefined): Usage | null {
  if (!isObject(usage)) return null;
  switch (kind) {
    case 'chat':
      return usageFromChatObject(usage, price);
    case 'responses':
      return usageFromResponsesObject(usage, price);
    case 'embeddings':
      return usageFromEmbeddingsObject(usage, price);
    case 'media':
      return usageFromMediaObject(usage);
  }
}

/**
 * Usage of a parsed upstream body, or null when it has none. Never throws, whatever the shape.
 * Error bodies are read too: an image moderation rejection (HTTP 400) carries a billed cost (docs/upstream.md §3.7).
 * For 'responses', a stream event wrapping the response (`{"type":"response.completed","response":{...}}`)
 * is accepted as well as the response itself.
 */
export function extractUsage(kind: UsageKind, body: unknown, price: ModelPrice | undefined): Usage | null {
  if (!isObject(body)) return null;
  let usage = body['usage'];
  if (kind === 'responses' && !isObject(usage)) usage = field(body['response'], 'usage');
  return usageFromObject(kind, usage, price);
}

/**
 * xAI's flat error body `{"code": string, "error": string}` (docs/upstream.md §6.2), which can also arrive with
 * HTTP 200 or as a stream event (§6.4, §5.1).
 */
export function isUpstreamErrorBody(body: unknown): body is { code: string; error: string } {
  return isObject(body) && typeof body['code'] === 'string' && typeof body['error'] === 'string';
}

/** A JSON answer's bytes parsed, or undefined when they are not JSON (then the answer reports no usage). */
export function parseAnswer(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Usage and model of a parsed JSON answer. A flat `{"code","error"}` body without usage reports none
 * (docs/upstream.md §6.4); other error bodies are read like answers, since some carry a billed cost.
 */
export function usageOfAnswer(kind: UsageKind, parsed: unknown, price: ModelPrice | undefined): { usage: Usage | null; model: string | null } {
  if (!isObject(parsed)) return { usage: null, model: null };
  const model = typeof parsed['model'] === 'string' ? parsed['model'] : null;
  if (isUpstreamErrorBody(parsed) && !('usage' in parsed)) return { usage: null, model };
  return { usage: extractUsage(kind, parsed, price), model };
}
