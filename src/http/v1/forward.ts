import type { ForwardResult } from '../../upstream/forward-result.js';
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ModelPrice } from '../../config/types.js';
import type { RouteSpec } from '../../policy/routes.js';
import type { UpstreamClient, UpstreamResponse } from '../../upstream/client.js';
import { buildClientHeaders } from '../../upstream/headers.js';
import { requestWithKeyFailover } from '../../upstream/key-failover.js';
import { limitedBody } from '../../upstream/limited-body.js';
import { errorCode, mapUpstreamError } from '../../upstream/map-error.js';
import { readAll } from '../../upstream/read-all.js';
import { redactTeamIds } from '../../upstream/redact-team.js';
import { extractUsage, isUpstreamErrorBody } from '../../usage/extract-usage.js';
import { createMeteringTransform } from '../../usage/metering-stream.js';

export type { ForwardResult };

export interface ForwardInput {
  request: FastifyRequest;
  reply: FastifyReply;
  route: RouteSpec;
  upstreamPath: string;
  body: Buffer | Readable | null;
  stripUsageChunk: boolean;
  price: ModelPrice | undefined;
  /** Applied to streamed (multipart) bodies while they are piped upstream (docs/configuration.md server.bodyLimitBytes). */
  bodyLimitBytes: number;
  /**
   * Set when a successful answer creates an object (docs/isolation.md): called with the created object (a JSON
   * answer, or the response of a Responses stream's `response.created`) before any of it is relayed. Must not
   * reject.
   */
  recordCreated: ((created: Record<string, unknown>) => Promise<void>) | null;
  /**
   * A client that leaves mid-stream (docs/api.md): `drain` stops relaying but reads xAI's stream on until it ends (its
   * usage with it), for at most `drainMs`, then aborts; `abort` stops the upstream request at once.
   */
  onClientDisconnect: { mode: 'drain' | 'abort'; drainMs: number };
  /** Observes how long xAI took to answer with headers, and streams being relayed (metrics). */
  observe?: { upstreamResponded(seconds: number): void; streamStarted(): void; streamEnded(): void };
}

/**
 * Send the request to xAI with an upstream key and relay the answer. Resolves once the response has been
 * handed to Fastify, with `done` resolving when it has ended — settlement waits on `done`, off the client's
 * path. Throws a GatewayError when nothing could be relayed (no key, transport failure, timeout before xAI's
 * headers, upstream key refused, body too large): then the request failed and its reservation is released.
 */
export async function forwardRequest(input: ForwardInput, upstream: UpstreamClient): Promise<{ done: Promise<ForwardResult> }> {
  const { reply, request } = input;
  const controller = new AbortController();
  let clientAborted = false;
  let upstreamFailed = false;
  let markClosed: () => void = () => undefined;
  /** Set while waiting for xAI's answer: a client that leaves ends the wait at once (see below). */
  let giveUp: ((err: Error) => void) | null = null;
  // Listened for before anything is awaited, so a close is never missed whenever it comes.
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  /** What a client that leaves does: stop the upstream request (before xAI answers, and in abort mode). */
  let onClientGone = (): void => {
    controller.abort();
    giveUp?.(new Error('The client closed the connection.'));
  };
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished && !upstreamFailed) {
      clientAborted = true;
      onClientGone();
    }
    markClosed();
  });
  // The client may have left while the gateway authenticated and admitted it: then nothing is sent at all.
  if (reply.raw.destroyed || request.raw.socket.destroyed) {
    return { done: Promise.resolve({ ...EMPTY, sentUpstream: false, status: 499, clientAborted: true }) };
  }

  let response: UpstreamResponse;
  // Whether xAI has the whole request: undici may still be connecting, or waiting for a free connection.
  let written = false;
  const onRequestSent = (): void => {
    written = true;
  };
  const sentAtNs = process.hrtime.bigint();
  try {
    // undici settles a request aborted while its connection is still being opened only when the connect ends
    // (up to connectTimeoutMs), although it will never write it: the client's reservation must not wait for
    // that, so a client that leaves ends this wait itself (giveUp), and an answer that still comes is discarded.
    response = await new Promise<UpstreamResponse>((resolve, reject) => {
      giveUp = reject;
      requestWithKeyFailover(upstream, upstreamRequest(input, controller, onRequestSent), {
        onKeyRefused: (label, status) => {
          // xAI did no work for a refused key: only the retry, once written, puts the request with xAI.
          written = false;
          request.log.warn({ upstreamKey: label, status }, 'xAI refused an upstream key; set aside');
        },
      }).then((answer) => {
        if (clientAborted) answer.body.destroy();
        else resolve(answer);
      }, reject);
    });
    giveUp = null;
  } catch (err) {
    giveUp = null;
    // Left while xAI was working: the request reached xAI, so it is settled (estimated), not released. Left
    // before it was written: it never reached xAI, so it does not count (docs/api.md) and is released.
    if (clientAborted) return { done: Promise.resolve({ ...EMPTY, sentUpstream: written, status: 499, clientAborted: true }) };
    throw mapUpstreamError(err);
  }
  input.observe?.upstreamResponded(Number(process.hrtime.bigint() - sentAtNs) / 1e9);
  const base = { ...EMPTY, status: response.statusCode };
  const contentType = String(response.headers['content-type'] ?? '').toLowerCase();
  reply.code(response.statusCode).headers(buildClientHeaders(response.headers));

  const noteUpstreamFailure = (err: unknown): void => {
    if (clientAborted) return;
    upstreamFailed = true;
    request.log.warn({ code: errorCode(err) ?? undefined }, 'upstream response broke off');
  };

  if (contentType.startsWith('text/event-stream') && (input.route.usage === 'chat' || input.route.usage === 'responses')) {
    const succeeded = response.statusCode >= 200 && response.statusCode < 300;
    const meter = createMeteringTransform({
      kind: input.route.usage,
      stripUsageChunk: input.stripUsageChunk,
      price: input.price,
      onResponseCreated: succeeded && input.recordCreated !== null ? input.recordCreated : undefined,
    });
    response.body.on('error', (err) => {
      noteUpstreamFailure(err);
      // Ends the client's response too (Fastify destroys it): a client must not take a cut stream for a whole one.
      meter.transform.destroy();
    });
    reply.header('x-accel-buffering', 'no');
    input.observe?.streamStarted();
    // The client gets a stream of its own: Fastify destroys what it was given when the client leaves, and the meter
    // must live on to drain xAI's stream in that case.
    const toClient = new PassThrough();
    response.body.pipe(meter.transform).pipe(toClient);
    const meterEnded = new Promise<void>((resolve) => {
      meter.transform.once('end', resolve);
      meter.transform.once('close', resolve);
    });
    // A stream that broke upstream ends the client's response too: a client must not take a cut stream for a whole one.
    meter.transform.once('close', () => {
      if (!meter.transform.readableEnded) toClient.destroy();
    });
    let drained: Promise<void> = Promise.resolve();
    if (input.onClientDisconnect.mode === 'drain') {
      onClientGone = (): void => {
        // Relaying stops (the client is gone); reading goes on, unrelayed, so xAI's usage report is seen and charged.
        meter.transform.unpipe(toClient);
        meter.transform.resume();
        const timer = setTimeout(() => controller.abort(), input.onClientDisconnect.drainMs);
        drained = meterEnded.finally(() => clearTimeout(timer));
      };
    }
    void reply.send(toClient);
    const done = closed.then(async (): Promise<ForwardResult> => {
      await drained;
      input.observe?.streamEnded();
      const outcome = meter.outcome();
      return {
        ...base,
        usage: outcome.usage,
        streamedBytes: outcome.streamedBytes,
        clientAborted,
        cutShort: clientAborted || upstreamFailed || !outcome.completed,
        upstreamModel: outcome.model,
      };
    });
    return { done };
  }

  const creates = input.recordCreated !== null && response.statusCode >= 200 && response.statusCode < 300;
  if ((input.route.usage !== 'none' || creates) && contentType.includes('json')) {
    // Read whole to find usage (a JSON answer, an error with a cost, a fetched deferred result or video), or the id
    // of a created object, which is recorded as the caller's before the answer naming it is relayed.
    let bytes: Buffer;
    try {
      bytes = await readAll(response.body);
    } catch (err) {
      if (clientAborted) return { done: Promise.resolve({ ...base, clientAborted: true, status: 499 }) };
      throw mapUpstreamError(err);
    }
    const parsed = parseJson(bytes);
    if (creates && input.recordCreated !== null && isRecord(parsed)) await input.recordCreated(parsed);
    void reply.send(response.statusCode >= 400 ? redactedError(bytes) : bytes);
    const usage = input.route.usage === 'none' ? {} : usageOf(input.route.usage, parsed, input.price);
    return { done: Promise.resolve({ ...base, ...usage, clientAborted }) };
  }

  // xAI's own errors, read whole (they are small) so the operator's team id can be taken out of their text.
  if (response.statusCode >= 400 && (contentType.includes('json') || contentType.startsWith('text/'))) {
    let bytes: Buffer;
    try {
      bytes = await readAll(response.body, MAX_ERROR_BODY_BYTES);
    } catch (err) {
      if (clientAborted) return { done: Promise.resolve({ ...base, clientAborted: true, status: 499 }) };
      throw mapUpstreamError(err);
    }
    void reply.send(redactedError(bytes));
    return { done: closed.then((): ForwardResult => ({ ...base, clientAborted, cutShort: clientAborted })) };
  }

  // Everything else — binary answers (file content, speech), bodies without usage — streamed through untouched,
  // whatever their size.
  response.body.on('error', noteUpstreamFailure);
  void reply.send(response.body);
  const done = closed.then((): ForwardResult => ({ ...base, clientAborted, cutShort: clientAborted || upstreamFailed }));
  return { done };
}

const EMPTY: ForwardResult = {
  sentUpstream: true,
  status: 0,
  usage: null,
  streamedBytes: 0,
  clientAborted: false,
  cutShort: false,
  upstreamModel: null,
};

function upstreamRequest(input: ForwardInput, controller: AbortController, onRequestSent: () => void) {
  const { request, body } = input;
  const extraHeaders: Record<string, string> = { 'x-request-id': request.id };
  let sent: Buffer | Readable | null = body;
  if (body !== null && !Buffer.isBuffer(body)) {
    sent = limitedBody(body, input.bodyLimitBytes);
    // A streamed body keeps the client's length when it declared one (else it goes chunked); undici checks
    // that the bytes match it. Content-Type (with the multipart boundary) passes with the other headers.
    const length = request.headers['content-length'];
    if (typeof length === 'string' && /^\d{1,15}$/.test(length) && request.headers['transfer-encoding'] === undefined) {
      extraHeaders['content-length'] = length;
    }
  }
  return {
    method: input.route.method,
    path: input.upstreamPath,
    clientHeaders: request.headers,
    extraHeaders,
    body: sent,
    controller,
    onRequestSent,
  };
}

/** xAI's error bodies are a few hundred bytes; a larger one is a broken answer. */
const MAX_ERROR_BODY_BYTES = 1024 * 1024;

function redactedError(bytes: Buffer): Buffer {
  const text = bytes.toString('utf8');
  const redacted = redactTeamIds(text);
  return redacted === text ? bytes : Buffer.from(redacted);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Usage and model of a JSON answer; a flat `{"code","error"}` body without usage reports none (docs/upstream.md §6.4). */
function usageOf(
  kind: Exclude<RouteSpec['usage'], 'none'>,
  parsed: unknown,
  price: ModelPrice | undefined,
): Pick<ForwardResult, 'usage' | 'upstreamModel'> {
  if (typeof parsed !== 'object' || parsed === null) return { usage: null, upstreamModel: null };
  const model = (parsed as Record<string, unknown>).model;
  const upstreamModel = typeof model === 'string' ? model : null;
  if (isUpstreamErrorBody(parsed) && !('usage' in parsed)) return { usage: null, upstreamModel };
  return { usage: extractUsage(kind, parsed, price), upstreamModel };
}
