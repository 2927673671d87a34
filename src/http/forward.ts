import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ModelPrice } from '../config/types.js';
import { errors } from '../errors.js';
import type { RouteSpec } from '../policy/routes.js';
import type { UpstreamClient, UpstreamResponse } from '../upstream/client.js';
import { buildClientHeaders, buildUpstreamHeaders } from '../upstream/headers.js';
import { isUpstreamKeyFailure, mapUpstreamError } from '../upstream/map-error.js';
import { extractUsage, isUpstreamErrorBody } from '../usage/extract-usage.js';
import { createMeteringTransform } from '../usage/metering-stream.js';
import type { Usage } from '../usage/types.js';

/** What happened upstream, known once the response to the client has ended (or the client left). */
export interface ForwardResult {
  /** The request reached xAI (so it counts as usage, SPEC §5). */
  sentUpstream: boolean;
  status: number;
  /** xAI's reported usage, or null when none arrived (cut-short stream, error without usage). */
  usage: Usage | null;
  /** Text streamed before the end, to estimate usage of a stream cut short. */
  streamedText: string;
  /** The client went away before the response ended. */
  clientAborted: boolean;
  /** The model xAI reported (resolved alias), if seen. */
  upstreamModel: string | null;
}

export interface ForwardInput {
  request: FastifyRequest;
  reply: FastifyReply;
  route: RouteSpec;
  upstreamPath: string;
  body: Buffer | Readable | null;
  stripUsageChunk: boolean;
  price: ModelPrice | undefined;
}

/** Error and JSON bodies are read whole to find usage and error codes; this bounds memory for a hostile upstream. */
const MAX_BUFFERED_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * Send the request to xAI with an upstream key and relay the answer. Resolves once the response has been
 * handed to Fastify, with `done` resolving when it has ended — settlement waits on `done`, off the client's
 * path. Throws a GatewayError when nothing could be relayed (no key, transport failure, upstream key refused).
 */
export async function forwardRequest(input: ForwardInput, upstream: UpstreamClient): Promise<{ done: Promise<ForwardResult> }> {
  const { reply } = input;
  const controller = new AbortController();
  let clientAborted = false;
  reply.raw.on('close', () => {
    // A client that leaves stops the upstream request at once (SPEC §4), and with it xAI's billing.
    if (!reply.raw.writableFinished) {
      clientAborted = true;
      controller.abort();
    }
  });

  const response = await sendWithKeyFailover(input, upstream, controller.signal);
  const base = { sentUpstream: true, status: response.statusCode, streamedText: '', upstreamModel: null };
  const contentType = String(response.headers['content-type'] ?? '').toLowerCase();
  reply.code(response.statusCode).headers(buildClientHeaders(response.headers));

  if (contentType.startsWith('text/event-stream') && (input.route.usage === 'chat' || input.route.usage === 'responses')) {
    const meter = createMeteringTransform({ kind: input.route.usage, stripUsageChunk: input.stripUsageChunk, price: input.price });
    response.body.on('error', () => meter.transform.destroy());
    reply.header('x-accel-buffering', 'no');
    void reply.send(response.body.pipe(meter.transform));
    const done = once(reply.raw, 'close').then((): ForwardResult => {
      const outcome = meter.outcome();
      return { ...base, usage: outcome.usage, streamedText: outcome.streamedText, clientAborted, upstreamModel: outcome.model };
    });
    return { done };
  }

  if (contentType.includes('json') || response.statusCode >= 400) {
    let bytes: Buffer;
    try {
      bytes = await readAll(response.body, MAX_BUFFERED_RESPONSE_BYTES);
    } catch (err) {
      if (clientAborted) return { done: Promise.resolve({ ...base, usage: null, clientAborted, status: 499 }) };
      throw mapUpstreamError(err);
    }
    const usage = input.route.usage === 'none' ? null : usageOf(input.route.usage, bytes, input.price);
    void reply.send(bytes);
    return { done: Promise.resolve({ ...base, usage, clientAborted }) };
  }

  // Binary answers (file content, speech): streamed through untouched.
  void reply.send(response.body);
  const done = once(reply.raw, 'close').then((): ForwardResult => ({ ...base, usage: null, clientAborted }));
  return { done };
}

/**
 * One request upstream; if xAI refuses the upstream key itself (SPEC §4), that key is set aside and the request
 * is retried once with another — safe, since xAI did no work. Any other answer is final: retrying a request
 * that reached xAI could bill it twice (DESIGN.md).
 */
async function sendWithKeyFailover(input: ForwardInput, upstream: UpstreamClient, signal: AbortSignal): Promise<UpstreamResponse> {
  const replayable = input.body === null || Buffer.isBuffer(input.body);
  for (let attempt = 0; ; attempt += 1) {
    const key = upstream.pickKey();
    if (key === null) throw errors.upstreamError('No upstream API key is available on this gateway.');
    const headers = buildUpstreamHeaders(input.request.headers, key);
    headers['x-request-id'] = input.request.id;
    let response: UpstreamResponse;
    try {
      response = await upstream.request({ method: input.route.method, path: input.upstreamPath, headers, body: input.body, signal });
    } catch (err) {
      throw mapUpstreamError(err);
    }
    if (response.statusCode !== 400 && response.statusCode !== 401 && response.statusCode !== 403) return response;

    const bytes = await readAll(response.body, MAX_BUFFERED_RESPONSE_BYTES).catch((err: unknown) => {
      throw mapUpstreamError(err);
    });
    if (!isUpstreamKeyFailure(response.statusCode, bytes.toString('utf8'))) {
      return { ...response, body: bufferStream(bytes) };
    }
    upstream.setAside(key);
    if (attempt === 0 && replayable && upstream.hasUsableKey()) continue;
    // The client's own key is fine; the operator's is not. xAI's text (which quotes part of the key) stays here.
    throw errors.upstreamError('The upstream API refused this gateway\'s credentials; the operator has been notified in the logs.');
  }
}

function usageOf(kind: Exclude<RouteSpec['usage'], 'none'>, bytes: Buffer, price: ModelPrice | undefined): Usage | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (isUpstreamErrorBody(parsed) && !('usage' in parsed)) return null;
  return extractUsage(kind, parsed, price);
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > limit) {
      stream.destroy();
      throw errors.upstreamError('The upstream response was larger than this gateway relays.');
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function bufferStream(bytes: Buffer): Readable {
  // A fresh one-shot stream over bytes already read, so the relay code has one shape for every response.
  return Readable.from([bytes]);
}
