/**
 * Per-request context and response helpers of the fake xAI server: JSON/raw answers, flat `{code,error}` errors
 * (docs/upstream.md §6.2), SSE writing with per-event flushes, delays, client-disconnect detection and the
 * hold / hang-body / midstream-error scenarios.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmittedUsage } from './usage-math.js';

export interface RecordedRequest {
  method: string;
  /** Path including the query string. */
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
  receivedAtMs: number;
  /** Set when the client closed the connection before the response ended. */
  closedByClientAtMs: number | null;
  scenario: string | null;
}

export interface ReportedTotals {
  requests: number;
  totalTokens: number;
  costTicks: number;
}

export interface ResolvedFakeOptions {
  latencyMs: number;
  chunkDelayMs: number;
  streamChunks: number;
}

export interface StoredFile {
  readonly meta: Record<string, unknown>;
  readonly content: Buffer;
}

export interface PendingResult {
  polls: number;
  delivered: boolean;
  readonly body: Record<string, unknown>;
  readonly emitted: EmittedUsage;
}

export interface FakeState {
  readonly options: ResolvedFakeOptions;
  readonly reported: ReportedTotals;
  readonly deferred: Map<string, PendingResult>;
  readonly videos: Map<string, PendingResult>;
  readonly responses: Map<string, Record<string, unknown>>;
  readonly files: Map<string, StoredFile>;
  readonly batches: Map<string, { batch: Record<string, unknown>; requests: unknown[] }>;
  releaseGeneration: number;
  readonly releaseWaiters: Set<() => void>;
}

export interface FakeCtx {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly state: FakeState;
  readonly record: RecordedRequest;
  readonly body: Buffer;
  readonly scenario: string | null;
  readonly apiKey: string;
  /** Captures of the matched route pattern. */
  readonly params: readonly string[];
  /** release() generation when the request arrived: a release() after arrival frees it even before it holds. */
  readonly releaseGenerationAtArrival: number;
  /** Resolves when the connection closes, for whatever reason. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function headerInt(req: IncomingMessage, name: string): number | undefined {
  const v = headerValue(req, name);
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

export function chunkDelayMsOf(ctx: FakeCtx): number {
  return headerInt(ctx.req, 'x-fake-chunk-delay-ms') ?? ctx.state.options.chunkDelayMs;
}

export function chunkCountOf(ctx: FakeCtx): number {
  return headerInt(ctx.req, 'x-fake-chunks') ?? ctx.state.options.streamChunks;
}

export function latencyMsOf(req: IncomingMessage, options: ResolvedFakeOptions): number {
  return headerInt(req, 'x-fake-latency-ms') ?? options.latencyMs;
}

/** Waits ms, returning early when the connection closes. */
export async function sleep(ms: number, closed?: Promise<void>): Promise<void> {
  if (ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await (closed ? Promise.race([elapsed, closed]) : elapsed);
  clearTimeout(timer);
}

export function report(state: FakeState, emitted: EmittedUsage): void {
  state.reported.requests += 1;
  state.reported.totalTokens += emitted.totalTokens;
  state.reported.costTicks += emitted.costTicks;
}

/** Resolves once release() was called after this request arrived (or the connection closed). */
export async function waitForRelease(ctx: FakeCtx): Promise<void> {
  const { state } = ctx;
  if (state.releaseGeneration > ctx.releaseGenerationAtArrival) return;
  let waiter: (() => void) | undefined;
  const released = new Promise<void>((resolve) => {
    waiter = resolve;
    state.releaseWaiters.add(resolve);
  });
  await Promise.race([released, ctx.closed]);
  if (waiter) state.releaseWaiters.delete(waiter);
}

/** Non-stream answers under the hold scenario wait for release() before sending anything. */
async function holdIfAsked(ctx: FakeCtx): Promise<void> {
  if (ctx.scenario === 'hold') await waitForRelease(ctx);
}

export async function sendRaw(
  ctx: FakeCtx,
  args: { status: number; body: string | Buffer; contentType?: string; headers?: Record<string, string> },
): Promise<void> {
  await holdIfAsked(ctx);
  if (ctx.isClosed()) return;
  const body = typeof args.body === 'string' ? Buffer.from(args.body, 'utf8') : args.body;
  const headers: Record<string, string | number> = { ...args.headers, 'content-length': body.length };
  if (args.contentType !== undefined) headers['content-type'] = args.contentType;
  ctx.res.writeHead(args.status, headers);
  ctx.res.end(body);
}

export async function sendJson(
  ctx: FakeCtx,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): Promise<void> {
  await sendRaw(ctx, {
    status,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    contentType: 'application/json',
    ...(headers ? { headers } : {}),
  });
}

/** Flat `{"code","error"}` body, never OpenAI's nested shape (docs/upstream.md §6.2). */
export async function sendError(ctx: FakeCtx, status: number, code: string, error: string): Promise<void> {
  await sendJson(ctx, status, { code, error });
}

export function modelNotFound(ctx: FakeCtx, model: string, team: string): Promise<void> {
  return sendError(
    ctx,
    404,
    'not-found',
    `The model ${model} does not exist or your team ${team} does not have access to it.`,
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The JSON object body of a JSON route, or null after answering 415 (not JSON / empty, docs/upstream.md §6.1),
 * 400 (malformed JSON) or 422 (not an object; plain text like axum, §6.2).
 */
export async function readJsonBody(ctx: FakeCtx): Promise<Record<string, unknown> | null> {
  const type = (headerValue(ctx.req, 'content-type') ?? '').toLowerCase();
  if (!/^application\/([a-z.+-]*\+)?json\b/.test(type) || ctx.body.length === 0) {
    await sendError(
      ctx,
      415,
      'invalid-argument',
      "Expected request with `Content-Type: application/json` and a non-empty body.",
    );
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(ctx.body.toString('utf8'));
  } catch (err) {
    const detail = err instanceof Error ? err.message : 'invalid JSON';
    await sendError(ctx, 400, 'invalid-argument', `Failed to parse the request body as JSON: ${detail}`);
    return null;
  }
  if (!isRecord(parsed)) {
    await sendRaw(ctx, {
      status: 422,
      body: 'Failed to deserialize the JSON body into the target type: invalid type: expected struct',
      contentType: 'text/plain; charset=utf-8',
    });
    return null;
  }
  return parsed;
}

/** One SSE event as written on the wire, and the usage it carries (added to `reported` once written). */
export interface SseEvent {
  readonly text: string;
  readonly usage?: EmittedUsage;
}

async function writeEvent(ctx: FakeCtx, event: SseEvent): Promise<boolean> {
  if (ctx.isClosed()) return false;
  const drained = ctx.res.write(event.text);
  if (event.usage) report(ctx.state, event.usage);
  if (!drained) await Promise.race([new Promise((resolve) => ctx.res.once('drain', resolve)), ctx.closed]);
  return !ctx.isClosed();
}

/**
 * Writes an SSE stream, each event its own write (so arrival timing is observable), chunk delay between
 * events, stopping when the client goes away. Scenarios: hang-body (first event, then silence), hold (first
 * event, then wait for release()), midstream-error (two events, then `midstreamError`, then end).
 */
export async function writeSse(
  ctx: FakeCtx,
  events: readonly SseEvent[],
  opts: { midstreamError: string; headers?: Record<string, string> },
): Promise<void> {
  const { midstreamError } = opts;
  if (ctx.isClosed()) return;
  ctx.res.writeHead(200, { ...opts.headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  ctx.res.flushHeaders();
  const delayMs = chunkDelayMsOf(ctx);
  const list =
    ctx.scenario === 'midstream-error' ? [...events.slice(0, 2), { text: midstreamError }] : events;
  for (let i = 0; i < list.length; i++) {
    const event = list[i];
    if (!event) break;
    if (i > 0) await sleep(delayMs, ctx.closed);
    if (!(await writeEvent(ctx, event))) return;
    if (i === 0 && ctx.scenario === 'hang-body') {
      await ctx.closed;
      return;
    }
    if (i === 0 && ctx.scenario === 'hold') await waitForRelease(ctx);
  }
  if (!ctx.isClosed()) ctx.res.end();
}
