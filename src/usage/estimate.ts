/**
 * Cheap, deterministic token estimates for admission (docs/api.md: a request reserves estimated prompt tokens +
 * output cap; the reservation is replaced by xAI's real usage afterwards, so this only has to be close and
 * never throw). No tokenizer: ~4 bytes of UTF-8 per token, which is ~4 characters for English and errs high
 * rather than low for non-Latin scripts (3–4 bytes per character).
 */

/** Per-message framing (role, separators) added by chat templates. */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** An image part, whatever its size (xAI reports image_tokens separately; a fixed guess is enough here). */
export const IMAGE_TOKENS = 1024;

const BYTES_PER_TOKEN = 4;
/** Deeper nesting than any real request body; bounds recursion on hostile input. */
const MAX_DEPTH = 32;

/** Request fields whose content reaches the model as input (chat, completions, responses, messages, embeddings, images). */
const INPUT_FIELDS = ['messages', 'input', 'prompt', 'instructions', 'system', 'tools'] as const;
/** Fields holding lists of messages/items, each paying the per-message overhead. */
const MESSAGE_LIST_FIELDS = new Set(['messages', 'input']);
/** Structural keys whose values are not model input, and inline binary that a char count would wildly overstate. */
const SKIPPED_KEYS = new Set([
  'type',
  'role',
  'id',
  'status',
  'tool_call_id',
  'call_id',
  'file_id',
  'index',
  'detail',
  'mime_type',
  'media_type',
  'file_data',
  'cache_control',
]);
const IMAGE_TYPES = new Set(['image_url', 'input_image', 'image']);

export function estimateTokensFromText(text: string): number {
  if (text.length === 0) return 0;
  return estimateTokensFromBytes(Buffer.byteLength(text, 'utf8'));
}

/** The same estimate from a UTF-8 byte count (what a metered stream keeps of its text). */
export function estimateTokensFromBytes(bytes: number): number {
  return Math.ceil(bytes / BYTES_PER_TOKEN);
}

function isImagePart(obj: Record<string, unknown>): boolean {
  const type = obj['type'];
  return (typeof type === 'string' && IMAGE_TYPES.has(type)) || (type === undefined && 'image_url' in obj);
}

function estimateValue(value: unknown, depth: number): number {
  if (typeof value === 'string') return estimateTokensFromText(value);
  // Numbers inside input are token ids (embeddings `input: [[int]]`, docs/upstream.md §3.6) or schema constants.
  if (typeof value === 'number') return 1;
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return 0;
  let total = 0;
  if (Array.isArray(value)) {
    for (const item of value) total += estimateValue(item, depth + 1);
    return total;
  }
  const obj = value as Record<string, unknown>;
  if (isImagePart(obj)) return IMAGE_TOKENS;
  // Keys, not Object.entries' [key, value] pairs: this walks every part of every request body.
  for (const key of Object.keys(obj)) {
    if (!SKIPPED_KEYS.has(key)) total += estimateValue(obj[key], depth + 1);
  }
  return total;
}

/**
 * Estimated prompt tokens of a request body: text of messages / input items (nested content parts, tool calls,
 * reasoning), prompt, instructions, system and tool definitions, plus MESSAGE_OVERHEAD_TOKENS per message or
 * input item; images count IMAGE_TOKENS each. Any other shape counts 0.
 */
export function estimatePromptTokens(body: unknown): number {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 0;
  const obj = body as Record<string, unknown>;
  let total = 0;
  for (const key of INPUT_FIELDS) {
    const value = obj[key];
    if (value === undefined) continue;
    total += estimateValue(value, 0);
    if (MESSAGE_LIST_FIELDS.has(key) && Array.isArray(value)) {
      for (const item of value) {
        if (typeof item === 'object' && item !== null && !Array.isArray(item)) total += MESSAGE_OVERHEAD_TOKENS;
      }
    }
  }
  return total;
}

export type OutputCap =
  | { kind: 'none' }
  | { kind: 'cap'; tokens: number; field: string }
  | { kind: 'invalid'; field: string };

/** Output-cap fields of chat (max_tokens deprecated, max_completion_tokens), completions/messages, responses. */
export const OUTPUT_CAP_FIELDS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;

/**
 * The request's own output cap (docs/api.md reservation): the smallest of the present cap fields. A field that is
 * present (not undefined / null) but not a positive safe integer makes the whole result 'invalid' so the
 * caller can answer 400 invalid_request. Note for chat, max_completion_tokens excludes reasoning
 * (docs/upstream.md §3.1); for responses, max_output_tokens includes it (§3.3).
 */
export function outputCapOf(body: unknown): OutputCap {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { kind: 'none' };
  const obj = body as Record<string, unknown>;
  let best: { tokens: number; field: string } | null = null;
  for (const field of OUTPUT_CAP_FIELDS) {
    const value = obj[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) return { kind: 'invalid', field };
    if (best === null || value < best.tokens) best = { tokens: value, field };
  }
  return best === null ? { kind: 'none' } : { kind: 'cap', tokens: best.tokens, field: best.field };
}
