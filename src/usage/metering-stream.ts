import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { ModelPrice } from '../config/types.js';
import type { Usage } from './types.js';
import { createSseDecoder } from './sse-decoder.js';
import type { SseEvent } from './sse-decoder.js';
import { isUpstreamErrorBody, usageFromObject } from './extract-usage.js';

export interface StreamOutcome {
  /** From the usage chunk (chat) or response.completed / response.incomplete / response.failed (responses). */
  usage: Usage | null;
  /**
   * UTF-8 bytes of the generated text seen so far, for settling a stream cut short (docs/api.md): chat delta.content,
   * delta.reasoning_content and tool-call arguments; responses output_text / reasoning / function-call argument
   * deltas. Only the length is kept (the estimate needs nothing else), so a long answer holds no memory.
   */
  streamedBytes: number;
  /** SSE blocks forwarded to the client (keep-alive comment blocks included; a stripped usage chunk not). */
  eventCount: number;
  /** A flat `{"code","error"}` event (docs/upstream.md §5.1, §6.4), an `error` event or a `response.failed` error. */
  upstreamError: { code: string; error: string } | null;
  /** Saw `data: [DONE]` (chat) or a terminal response.* event (responses). */
  completed: boolean;
  /** The resolved model id the upstream reported (docs/upstream.md §3.1: may differ from the requested alias). */
  model: string | null;
}

export interface MeteringOptions {
  kind: 'chat' | 'responses';
  /**
   * Chat only: the gateway added stream_options.include_usage for a client that did not ask, so the usage
   * chunk (`"choices":[]` + `usage`) is removed from what the client sees (docs/api.md); usage is still recorded.
   */
  stripUsageChunk: boolean;
  /** Used only when xAI sends no cost_in_usd_ticks. */
  price: ModelPrice | undefined;
  /**
   * Responses only: called with the response of `response.created`, which is held back (and everything after
   * it) until the returned promise settles — so the new response's owner is recorded before its id reaches the
   * client (docs/isolation.md). It must not reject.
   */
  onResponseCreated?: ((response: Record<string, unknown>) => Promise<void>) | undefined;
  /** The bound on one SSE event (default MAX_SSE_EVENT_BYTES); tests set a small one. */
  maxEventBytes?: number;
}

export interface MeteringTransform {
  transform: Transform;
  /** A snapshot of what was observed so far (arrow property so it can be passed around unbound). */
  outcome: () => StreamOutcome;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A JSON string literal body (between the quotes) → its value; '' if malformed. */
function unescapeJsonString(body: string): string {
  if (!body.includes('\\')) return body;
  const value = parseJson(`"${body}"`);
  return typeof value === 'string' ? value : '';
}

const JSON_STRING = String.raw`"((?:[^"\\]|\\.)*)"`;
/**
 * Chat deltas, matched without parsing the chunk: quotes inside JSON strings are escaped, so these keys can
 * only match real object keys. `arguments` carries whole tool calls (docs/upstream.md §5.1: not token-streamed).
 */
const CHAT_TEXT_RE = new RegExp(String.raw`"(?:content|reasoning_content|arguments)"\s*:\s*` + JSON_STRING, 'g');
const DELTA_RE = new RegExp(String.raw`"delta"\s*:\s*` + JSON_STRING);
const MODEL_RE = new RegExp(String.raw`"model"\s*:\s*` + JSON_STRING);
/** Responses event types (docs/upstream.md §5.2); nested item/part types never start with "response." nor equal "error". */
const RESPONSES_TYPE_RE = /"type"\s*:\s*"(response\.[A-Za-z0-9_.]+|error)"/;

const RESPONSES_TEXT_DELTAS = new Set([
  'response.output_text.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
  'response.function_call_arguments.delta',
]);
const RESPONSES_TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed', 'response.done']);

/** Observes decoded events and decides which to forward; knows nothing about streams. */
function createObserver(options: MeteringOptions) {
  const state: StreamOutcome = {
    usage: null,
    streamedBytes: 0,
    eventCount: 0,
    upstreamError: null,
    completed: false,
    model: null,
  };
  /** The response of the `response.created` event just observed, until the relay takes it. */
  let created: Record<string, unknown> | null = null;

  function noteModel(data: string): void {
    if (state.model !== null || !data.includes('"model"')) return;
    const match = MODEL_RE.exec(data);
    if (match?.[1] !== undefined) state.model = unescapeJsonString(match[1]);
  }

  function noteFlatError(parsed: unknown): void {
    if (isUpstreamErrorBody(parsed)) state.upstreamError = { code: parsed.code, error: parsed.error };
  }

  /** Returns true when the event must be forwarded. */
  function observeChat(data: string): boolean {
    noteModel(data);
    const mayMatter = data.includes('"usage"') || data.includes('"code"');
    let parsed: unknown;
    if (mayMatter) {
      parsed = parseJson(data);
      noteFlatError(parsed);
    }
    if (data.includes('content"') || data.includes('"arguments"')) {
      for (const match of data.matchAll(CHAT_TEXT_RE)) {
        if (match[1] !== undefined) state.streamedBytes += Buffer.byteLength(unescapeJsonString(match[1]), 'utf8');
      }
    }
    if (!isObject(parsed) || !isObject(parsed['usage'])) return true;
    // Legacy (2024) chunks carry cumulative usage on every content chunk: keep the last one (docs/upstream.md §5.1).
    const usage = usageFromObject('chat', parsed['usage'], options.price);
    if (usage !== null) state.usage = usage;
    const choices = parsed['choices'];
    const isUsageChunk = choices === undefined || (Array.isArray(choices) && choices.length === 0);
    return !(options.stripUsageChunk && isUsageChunk);
  }

  function observeResponses(event: SseEvent, data: string): void {
    const type = event.event ?? RESPONSES_TYPE_RE.exec(data)?.[1] ?? null;
    if (type !== null && RESPONSES_TEXT_DELTAS.has(type)) {
      const match = DELTA_RE.exec(data);
      if (match?.[1] !== undefined) state.streamedBytes += Buffer.byteLength(unescapeJsonString(match[1]), 'utf8');
      return;
    }
    const isTerminal = type !== null && RESPONSES_TERMINAL.has(type);
    if (type === 'response.created' || type === 'error' || isTerminal || data.includes('"code"')) {
      const parsed = parseJson(data);
      noteFlatError(parsed);
      if (!isObject(parsed)) return;
      const response = parsed['response'];
      if (isObject(response) && typeof response['model'] === 'string') state.model = response['model'];
      if (type === 'response.created' && isObject(response)) created = response;
      if (isTerminal) {
        state.completed = true;
        // Mid-stream snapshots carry "usage": null; only terminal events have it (docs/upstream.md §4.2).
        const usage = usageFromObject('responses', field(response, 'usage'), options.price);
        if (usage !== null) state.usage = usage;
      }
      if (type === 'response.failed') noteNestedError(field(response, 'error'));
      if (type === 'error') noteNestedError(parsed);
    }
  }

  function noteNestedError(value: unknown): void {
    if (!isObject(value)) return;
    const message = value['message'] ?? value['error'];
    const code = value['code'];
    state.upstreamError = {
      code: typeof code === 'string' ? code : typeof code === 'number' ? String(code) : 'error',
      error: typeof message === 'string' ? message : '',
    };
  }

  /** Returns true when the event must be forwarded to the client. */
  function observe(event: SseEvent): boolean {
    const data = event.data;
    if (data === '') return true;
    if (data === '[DONE]') {
      state.completed = true;
      return true;
    }
    if (options.kind === 'chat') return observeChat(data);
    observeResponses(event, data);
    return true;
  }

  function takeCreated(): Record<string, unknown> | null {
    const taken = created;
    created = null;
    return taken;
  }

  return { state, observe, takeCreated };
}

function field(obj: unknown, key: string): unknown {
  return isObject(obj) ? obj[key] : undefined;
}

/**
 * The metering pass-through for SSE responses (docs/api.md streams, §5 usage; DESIGN "Upstream and streaming").
 * Each event's exact bytes are pushed as soon as the event is complete — no batching, no re-encoding —
 * except the usage chunk when stripUsageChunk is set. A trailing partial event is flushed unchanged at end
 * of input. Backpressure is the standard Transform behaviour. outcome() may be called at any time (e.g.
 * after a client disconnect) and returns a snapshot.
 */
/**
 * The most bytes one SSE event may hold before it ends: a stream whose event grows past it (an upstream that
 * never sends the blank line) is cut, and settled as a stream cut short, rather than held in memory without end.
 * xAI's largest events (a response.completed carrying the whole answer) stay far below it.
 */
export const MAX_SSE_EVENT_BYTES = 8 * 1024 * 1024;

export function createMeteringTransform(options: MeteringOptions): MeteringTransform {
  const maxEventBytes = options.maxEventBytes ?? MAX_SSE_EVENT_BYTES;
  const decoder = createSseDecoder();
  const observer = createObserver(options);

  /**
   * Pushes the events from `from` on, then calls `done`. An event that creates a response waits for
   * onResponseCreated first; the Transform takes no more input until `done`, which is its backpressure.
   */
  function relay(stream: Transform, events: readonly SseEvent[], from: number, done: TransformCallback): void {
    for (let i = from; i < events.length; i += 1) {
      const event = events[i] as SseEvent;
      if (!observer.observe(event)) continue;
      observer.state.eventCount += 1;
      const created = observer.takeCreated();
      if (created !== null && options.onResponseCreated !== undefined) {
        options.onResponseCreated(created).then(
          () => {
            stream.push(event.raw);
            relay(stream, events, i + 1, done);
          },
          (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
        );
        return;
      }
      stream.push(event.raw);
    }
    done();
  }

  const transform = new Transform({
    transform(this: Transform, chunk: unknown, encoding: BufferEncoding, callback: TransformCallback): void {
      let events: readonly SseEvent[];
      try {
        const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), encoding);
        events = decoder.push(bytes);
      } catch (error) {
        callback(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      // The events this chunk completed go out first; then a partial one past the bound ends the stream.
      relay(this, events, 0, (error?: Error | null) => {
        if (error) callback(error);
        else if (decoder.pendingBytes > maxEventBytes) callback(new Error(`an SSE event of the upstream stream grew past ${maxEventBytes} bytes`));
        else callback();
      });
    },
    flush(this: Transform, callback: TransformCallback): void {
      let events: readonly SseEvent[];
      try {
        events = decoder.end();
      } catch (error) {
        callback(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      relay(this, events, 0, callback);
    },
  });

  return {
    transform,
    outcome: (): StreamOutcome => ({
      ...observer.state,
      upstreamError: observer.state.upstreamError === null ? null : { ...observer.state.upstreamError },
      usage: observer.state.usage === null ? null : { ...observer.state.usage },
    }),
  };
}
