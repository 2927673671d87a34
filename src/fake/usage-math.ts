/**
 * Deterministic token counts and xAI-shaped usage blocks for the fake (pure functions).
 * Chat: total = prompt + completion + reasoning (docs/upstream.md §4.1 surprise #1); Responses: output includes
 * reasoning and total = input + output (§4.2); cost per §4.4 with prices in ticks per token.
 */
import type { FakeModel } from './models.js';

/** What the fake adds to `reported` for one usage it sent. */
export interface EmittedUsage {
  totalTokens: number;
  costTicks: number;
}

/** How cached tokens are reported: none, a part of the prompt, or the §4.1 surprise #2 anomaly (cached > prompt). */
export type CacheMode = 'none' | 'within-prompt' | 'beyond-prompt';

export const REASONING_TOKENS_PER_CHOICE = 16;
/** Extra cached tokens in the cached > prompt anomaly (docs/upstream.md §4.1: prompt 4142, cached 4328). */
const BEYOND_PROMPT_EXTRA = 186;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Characters of text in a chat/responses content value: a string, or parts with `text`. */
export function contentChars(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const part of content) {
    if (typeof part === 'string') n += part.length;
    else if (isRecord(part) && typeof part['text'] === 'string') n += part['text'].length;
  }
  return n;
}

/** ceil(total chars of message contents / 4) + 3 per message. */
export function promptTokensOfMessages(messages: readonly unknown[]): number {
  let chars = 0;
  for (const m of messages) if (isRecord(m)) chars += contentChars(m['content']);
  return Math.ceil(chars / 4) + 3 * messages.length;
}

/** Responses `input` (string or items) plus `instructions`, counted like chat messages. */
export function promptTokensOfResponsesInput(input: unknown, instructions: unknown): number {
  const items: unknown[] =
    typeof input === 'string' ? [{ content: input }] : Array.isArray(input) ? [...(input as unknown[])] : [];
  if (typeof instructions === 'string') items.push({ content: instructions });
  return promptTokensOfMessages(items);
}

export function cachedTokensFor(promptTokens: number, mode: CacheMode): number {
  switch (mode) {
    case 'none':
      return 0;
    case 'within-prompt':
      return Math.floor(promptTokens / 2);
    case 'beyond-prompt':
      return promptTokens + BEYOND_PROMPT_EXTRA;
  }
}

/** docs/upstream.md §4.4; when cached > prompt the prompt excludes the cache (§4.1 surprise #2). */
export function costTicks(args: {
  model: FakeModel;
  promptTokens: number;
  cachedTokens: number;
  outputTokens: number;
}): number {
  const { model, promptTokens, cachedTokens, outputTokens } = args;
  const uncached = cachedTokens <= promptTokens ? promptTokens - cachedTokens : promptTokens;
  return uncached * model.inputPrice + cachedTokens * model.cachedInputPrice + outputTokens * model.outputPrice;
}

export interface ChatUsageArgs {
  model: FakeModel;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cache: CacheMode;
}

/** Chat Completions `usage` (spec `Usage`, docs/upstream.md §4.1) and what it adds to `reported`. */
export function buildChatUsage(args: ChatUsageArgs): { usage: Record<string, unknown>; emitted: EmittedUsage } {
  const { model, promptTokens, completionTokens, reasoningTokens, cache } = args;
  const cachedTokens = cachedTokensFor(promptTokens, cache);
  const extraInput = cachedTokens > promptTokens ? cachedTokens : 0;
  const totalTokens = promptTokens + extraInput + completionTokens + reasoningTokens;
  const cost = costTicks({ model, promptTokens, cachedTokens, outputTokens: completionTokens + reasoningTokens });
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: totalTokens,
    prompt_tokens_details: { text_tokens: promptTokens, audio_tokens: 0, image_tokens: 0, cached_tokens: cachedTokens },
    completion_tokens_details: {
      reasoning_tokens: reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
    num_sources_used: 0,
    cost_in_usd_ticks: cost,
  };
  return { usage, emitted: { totalTokens, costTicks: cost } };
}

/** Responses `usage` (spec `ModelUsage`, docs/upstream.md §4.2): output_tokens includes reasoning. */
export function buildResponsesUsage(args: {
  model: FakeModel;
  inputTokens: number;
  textTokens: number;
  reasoningTokens: number;
}): { usage: Record<string, unknown>; emitted: EmittedUsage } {
  const { model, inputTokens, textTokens, reasoningTokens } = args;
  const outputTokens = textTokens + reasoningTokens;
  const totalTokens = inputTokens + outputTokens;
  const cost = costTicks({ model, promptTokens: inputTokens, cachedTokens: 0, outputTokens });
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: reasoningTokens },
    total_tokens: totalTokens,
    num_sources_used: 0,
    num_server_side_tools_used: 0,
    cost_in_usd_ticks: cost,
  };
  return { usage, emitted: { totalTokens, costTicks: cost } };
}

const WORDS = ['Hello', ' from', ' the', ' fake', ' xAI', ' server', '.'];

/** The i-th generated content token (one token per content chunk). */
export function contentToken(i: number): string {
  return WORDS[i % WORDS.length] ?? '';
}

export function generatedText(tokens: number): string {
  let s = '';
  for (let i = 0; i < tokens; i++) s += contentToken(i);
  return s;
}
