import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ModelPrice } from '../../config/types.js';
import type { RouteSpec } from '../../policy/routes.js';
import type { UpstreamClient, UpstreamResponse } from '../../upstream/client.js';
import type { ForwardResult } from '../../upstream/forward-result.js';
import { buildForwardedRequest } from '../../upstream/forwarded-request.js';
import { buildClientHeaders } from '../../upstream/headers.js';
import { errorCode, mapUpstreamError } from '../../upstream/map-error.js';
import { sendUpstream, type PendingUpstream } from '../../upstream/pending-request.js';
import { readAll } from '../../upstream/read-all.js';
import { redactTeamIdsInBody } from '../../upstream/redact-team.js';
import { relayStream } from '../../upstream/stream-relay.js';
import { parseAnswer, usageOfAnswer } from '../../usage/extract-usage.js';
import { createMeteringTransform } from '../../usage/metering-stream.js';

export interface ForwardInput {
  request: FastifyRequest;
  reply: FastifyReply;
  route: RouteSpec;
  upstreamPath: string;
  body: Buffer | Readable | null;
  stripUsageChunk: boolean;
  price: ModelPrice | undefined;
  /** Applied to streamed (multipart) bodies while they are sent upstream (docs/configuration.md server.bodyLimitBytes). */
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

/** What the forwarding hands back: `done` resolves once the response has ended, with what happened upstream. */
export interface Forwarded {
  done: Promise<ForwardResult>;
}

/**
 * The Fastify side of forwarding: send the request to xAI (src/upstream builds it and picks the key) and relay
 * the answer on the reply, in one of four ways — a metered event stream, a JSON answer read whole for its usage
 * or the object it creates, one of xAI's error bodies, or bytes passed through untouched. Resolves once the
 * response has been handed to Fastify; settlement waits on `done`, off the client's path. Throws a GatewayError
 * when nothing could be relayed (no key, transport failure, timeout before xAI's headers, upstream key refused,
 * body too large): then the request failed and its reservation is released.
 */
export async function forwardRequest(input: ForwardInput, upstream: UpstreamClient): Promise<Forwarded> {
  const { reply, request, route } = input;
  const client = new ClientConnection(reply);
  // The client may have left while the gateway authenticated and admitted it: then nothing is sent at all.
  if (reply.raw.destroyed || request.raw.socket.destroyed) return ended({ ...EMPTY, sentUpstream: false, status: 499, clientAborted: true });

  const outbound = buildForwardedRequest({
    method: route.method,
    path: input.upstreamPath,
    requestId: request.id,
    clientHeaders: request.headers,
    body: input.body,
    bodyLimitBytes: input.bodyLimitBytes,
  });
  const pending = sendUpstream(upstream, outbound, {
    onKeyRefused: (label, status) => request.log.warn({ upstreamKey: label, status }, 'xAI refused an upstream key; set aside'),
  });
  client.whenGone(pending.abandon);
  const sentAtNs = process.hrtime.bigint();
  let response: UpstreamResponse;
  try {
    response = await pending.response;
  } catch (err) {
    // Left while xAI was working: the request reached xAI, so it is settled (estimated), not released. Left
    // before it was written: it never reached xAI, so it does not count (docs/api.md) and is released.
    if (client.gone) return ended({ ...EMPTY, sentUpstream: pending.written(), status: 499, clientAborted: true });
    throw mapUpstreamError(err);
  }
  input.observe?.upstreamResponded(Number(process.hrtime.bigint() - sentAtNs) / 1e9);
  reply.code(response.statusCode).headers(buildClientHeaders(response.headers));

  const answer: Answer = { input, response, client, pending, base: { ...EMPTY, status: response.statusCode } };
  const contentType = String(response.headers['content-type'] ?? '').toLowerCase();
  const succeeded = response.statusCode >= 200 && response.statusCode < 300;
  if (contentType.startsWith('text/event-stream') && (route.usage === 'chat' || route.usage === 'responses')) {
    return relayEventStream(answer, route.usage, succeeded);
  }
  const creates = succeeded && input.recordCreated !== null;
  if ((route.usage !== 'none' || creates) && contentType.includes('json')) return relayJson(answer, creates);
  if (response.statusCode >= 400 && (contentType.includes('json') || contentType.startsWith('text/'))) return relayError(answer);
  return relayBytes(answer);
}

/** One answer from xAI being relayed. */
interface Answer {
  input: ForwardInput;
  response: UpstreamResponse;
  client: ClientConnection;
  pending: PendingUpstream;
  /** The result so far: xAI's status. */
  base: ForwardResult;
}

/**
 * A chat or Responses event stream, relayed event by event through the meter that reads its usage. With
 * `drain`, a client that leaves stops the relaying, not the reading (stream-relay.ts).
 */
function relayEventStream(answer: Answer, kind: 'chat' | 'responses', succeeded: boolean): Forwarded {
  const { input, response, client, pending } = answer;
  const meter = createMeteringTransform({
    kind,
    stripUsageChunk: input.stripUsageChunk,
    price: input.price,
    onResponseCreated: succeeded && input.recordCreated !== null ? input.recordCreated : undefined,
  });
  const relay = relayStream(response.body, meter.transform, (err) => client.upstreamBroke(err, input.request));
  let drained: Promise<void> = Promise.resolve();
  if (input.onClientDisconnect.mode === 'drain') {
    client.whenGone(() => {
      relay.detach();
      const timer = setTimeout(pending.abort, input.onClientDisconnect.drainMs);
      drained = relay.ended.finally(() => clearTimeout(timer));
    });
  }
  input.reply.header('x-accel-buffering', 'no');
  input.observe?.streamStarted();
  void input.reply.send(relay.toClient);
  const done = client.closed.then(async (): Promise<ForwardResult> => {
    await drained;
    input.observe?.streamEnded();
    const outcome = meter.outcome();
    return {
      ...answer.base,
      usage: outcome.usage,
      streamedBytes: outcome.streamedBytes,
      clientAborted: client.gone,
      cutShort: client.gone || client.upstreamFailed || !outcome.completed,
      upstreamModel: outcome.model,
    };
  });
  return { done };
}

/**
 * A JSON answer, read whole to find its usage (an answer, an error with a cost, a fetched deferred result or
 * video) or the id of the object it created, which is recorded as the caller's before the answer is relayed.
 */
async function relayJson(answer: Answer, creates: boolean): Promise<Forwarded> {
  const { input, response, client } = answer;
  const bytes = await readWhole(answer);
  if (bytes === null) return ended({ ...answer.base, clientAborted: true, status: 499 });
  const parsed = parseAnswer(bytes);
  if (creates && input.recordCreated !== null && isRecord(parsed)) await input.recordCreated(parsed);
  void input.reply.send(response.statusCode >= 400 ? redactTeamIdsInBody(bytes) : bytes);
  const found = input.route.usage === 'none' ? { usage: null, model: null } : usageOfAnswer(input.route.usage, parsed, input.price);
  return ended({ ...answer.base, usage: found.usage, upstreamModel: found.model, clientAborted: client.gone });
}

/** xAI's own errors, read whole (they are small) so the operator's team id can be taken out of their text. */
async function relayError(answer: Answer): Promise<Forwarded> {
  const { client } = answer;
  const bytes = await readWhole(answer, MAX_ERROR_BODY_BYTES);
  if (bytes === null) return ended({ ...answer.base, clientAborted: true, status: 499 });
  void answer.input.reply.send(redactTeamIdsInBody(bytes));
  return { done: client.closed.then((): ForwardResult => ({ ...answer.base, clientAborted: client.gone, cutShort: client.gone })) };
}

/**
 * Everything else — binary answers (file content, speech), bodies without usage — handed to Fastify as xAI's
 * stream, whatever its size; Fastify ends it when the client leaves.
 */
function relayBytes(answer: Answer): Forwarded {
  const { input, response, client } = answer;
  response.body.on('error', (err) => client.upstreamBroke(err, input.request));
  void input.reply.send(response.body);
  return { done: client.closed.then((): ForwardResult => ({ ...answer.base, clientAborted: client.gone, cutShort: client.gone || client.upstreamFailed })) };
}

/** The answer's bytes, or null when the client left while they were read; a broken answer throws (502/504). */
async function readWhole(answer: Answer, maxBytes?: number): Promise<Buffer | null> {
  try {
    return await readAll(answer.response.body, maxBytes);
  } catch (err) {
    if (answer.client.gone) return null;
    throw mapUpstreamError(err);
  }
}

/**
 * The client's end of one forwarded request: whether it left before its response ended, and what its leaving
 * does (first: abandon the upstream request; during a drained stream: stop relaying only). Listened for before
 * anything is awaited, so a close is never missed whenever it comes.
 */
class ClientConnection {
  gone = false;
  upstreamFailed = false;
  readonly closed: Promise<void>;
  #onGone: () => void = () => undefined;

  constructor(reply: FastifyReply) {
    this.closed = new Promise<void>((resolve) => {
      reply.raw.once('close', () => {
        // A response that xAI broke off is closed by the gateway: that is not the client leaving.
        if (!reply.raw.writableFinished && !this.upstreamFailed) {
          this.gone = true;
          this.#onGone();
        }
        resolve();
      });
    });
  }

  whenGone(action: () => void): void {
    this.#onGone = action;
  }

  upstreamBroke(err: unknown, request: FastifyRequest): void {
    if (this.gone) return;
    this.upstreamFailed = true;
    request.log.warn({ code: errorCode(err) ?? undefined }, 'upstream response broke off');
  }
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

function ended(result: ForwardResult): Forwarded {
  return { done: Promise.resolve(result) };
}

/** xAI's error bodies are a few hundred bytes; a larger one is a broken answer. */
const MAX_ERROR_BODY_BYTES = 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
