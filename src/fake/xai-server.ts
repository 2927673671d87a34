/**
 * A fake api.x.ai on node:http for integration tests, the demo and the benchmark: behaves like xAI as
 * described in docs/upstream.md (§11 "For the fake") and records every request it received, so tests can prove
 * what reached the upstream.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { headerValue, latencyMsOf, sendError, sendRaw, sleep } from './fake-context.js';
import type { FakeCtx, FakeState, RecordedRequest, ReportedTotals } from './fake-context.js';
import { matchRoute } from './router.js';
import { ERROR_200_BODY, SCENARIO_HEADER, statusScenario } from './scenarios.js';

export type { RecordedRequest, ReportedTotals } from './fake-context.js';
export { SCENARIOS, SCENARIO_HEADER } from './scenarios.js';
export { CHAT_SET_COOKIE } from './chat-routes.js';

export interface FakeXaiOptions {
  /** Default 0 (ephemeral). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Upstream keys accepted as `Authorization: Bearer <key>`. */
  apiKeys: readonly string[];
  /** Answered 403 with a blocked-team body (docs/upstream.md §6.2). */
  blockedKeys?: readonly string[];
  /** Delay before response headers (header `x-fake-latency-ms` overrides), default 0. */
  latencyMs?: number;
  /** Delay between SSE events (header `x-fake-chunk-delay-ms` overrides), default 0. */
  chunkDelayMs?: number;
  /** Content chunks (= content tokens per choice) of a generated answer (header `x-fake-chunks` overrides), default 5. */
  streamChunks?: number;
}

export interface FakeXai {
  /** e.g. http://127.0.0.1:PORT (no trailing slash, no /v1). */
  url: string;
  port: number;
  /** In arrival order. */
  requests: RecordedRequest[];
  /**
   * Sums of every usage the fake sent when it first delivered it (bodies, stream usage chunks,
   * response.completed); re-reads of stored objects (GET /v1/responses/:id, a video polled again) are not added.
   */
  reported: ReportedTotals;
  /** Clears requests and reported. */
  reset(): void;
  /** Default scenario for subsequent requests (the `x-fake-scenario` header overrides it). */
  setScenario(name: string | null): void;
  /** Lets requests held by the "hold" scenario continue (those that arrived before this call). */
  release(): void;
  /** Closes the server and destroys open sockets. */
  close(): Promise<void>;
}

/** First 2 + *** + last 2 characters, as xAI redacts a wrong key (docs/upstream.md §6.2 notes). */
export function redactKeyLikeXai(key: string): string {
  return `${key.slice(0, 2)}***${key.slice(-2)}`;
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req) chunks.push(chunk as Buffer);
  } catch {
    return null;
  }
  return Buffer.concat(chunks);
}

/** docs/upstream.md §11 For the fake 1, §6.2: 401 without credentials, 400 for a wrong key, 403 for a blocked one. */
async function authenticate(
  ctx: FakeCtx,
  options: FakeXaiOptions,
): Promise<boolean> {
  const auth = headerValue(ctx.req, 'authorization');
  const m = auth === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(auth);
  const key = m?.[1];
  if (key === undefined) {
    await sendError(ctx, 401, 'unauthenticated:no-credentials', 'No credentials presented.');
    return false;
  }
  if (options.blockedKeys?.includes(key)) {
    await sendError(
      ctx,
      403,
      'The caller does not have permission to execute the specified operation',
      'Your team fake-team has either used all available credits or reached its monthly spending limit. To continue making API requests, please purchase more credits or raise your spending limit.',
    );
    return false;
  }
  if (!options.apiKeys.includes(key)) {
    await sendError(
      ctx,
      400,
      'invalid-argument',
      `Incorrect API key provided: ${redactKeyLikeXai(key)}. You can obtain an API key from https://console.x.ai.`,
    );
    return false;
  }
  return true;
}

/** Scenarios that apply to every route; true when the request was taken care of. */
async function applyGenericScenario(ctx: FakeCtx, destroy: () => void): Promise<boolean> {
  switch (ctx.scenario) {
    case 'hang':
      await ctx.closed;
      return true;
    case 'destroy':
      destroy();
      return true;
    case 'error-200':
      await sendRaw(ctx, { status: 200, body: ERROR_200_BODY, contentType: 'application/json' });
      return true;
    case null:
      return false;
    default: {
      const canned = statusScenario(ctx.scenario);
      if (!canned) return false;
      await sendRaw(ctx, { status: canned.status, body: canned.body, contentType: canned.contentType });
      return true;
    }
  }
}

export async function startFakeXai(options: FakeXaiOptions): Promise<FakeXai> {
  const state: FakeState = {
    options: {
      latencyMs: options.latencyMs ?? 0,
      chunkDelayMs: options.chunkDelayMs ?? 0,
      streamChunks: options.streamChunks ?? 5,
    },
    reported: { requests: 0, totalTokens: 0, costTicks: 0 },
    deferred: new Map(),
    videos: new Map(),
    responses: new Map(),
    files: new Map(),
    batches: new Map(),
    releaseGeneration: 0,
    releaseWaiters: new Set(),
  };
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let defaultScenario: string | null = null;
  let closing = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headerScenario = headerValue(req, SCENARIO_HEADER);
    const releaseGenerationAtArrival = state.releaseGeneration;
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: { ...req.headers },
      body: Buffer.alloc(0),
      receivedAtMs: Date.now(),
      closedByClientAtMs: null,
      scenario: headerScenario ?? defaultScenario,
    };
    requests.push(record);
    // docs/upstream.md §7: on every response.
    res.setHeader('x-zero-data-retention', 'false');
    res.setHeader('x-request-id', randomUUID());
    let closedByFake = false;
    let isClosed = false;
    const closed = new Promise<void>((resolve) => {
      res.once('close', () => {
        isClosed = true;
        if (!res.writableFinished && !closedByFake && !closing) record.closedByClientAtMs = Date.now();
        resolve();
      });
    });
    const body = await readBody(req);
    if (body === null) return;
    record.body = body;
    const ctx: FakeCtx = {
      req,
      res,
      state,
      record,
      body,
      scenario: record.scenario,
      apiKey: '',
      params: [],
      releaseGenerationAtArrival,
      closed,
      isClosed: () => isClosed || res.destroyed,
    };
    await sleep(latencyMsOf(req, state.options), closed);
    if (ctx.isClosed()) return;
    // Auth errors are answered at once, whatever the scenario (hold must not delay them).
    if (!(await authenticate({ ...ctx, scenario: null }, options))) return;
    const key = /^Bearer\s+(\S+)/i.exec(headerValue(req, 'authorization') ?? '')?.[1] ?? '';
    const authed: FakeCtx = { ...ctx, apiKey: key };
    const destroy = (): void => {
      closedByFake = true;
      req.socket.destroy();
    };
    if (await applyGenericScenario(authed, destroy)) return;
    const pathname = new URL(record.path, 'http://fake.invalid').pathname;
    const match = matchRoute(record.method, pathname);
    switch (match.kind) {
      case 'found':
        await match.handler({ ...authed, params: match.params });
        return;
      case 'method-not-allowed':
        res.setHeader('allow', match.allowed.join(', '));
        await sendError(authed, 405, 'method-not-allowed', `Method ${record.method} is not allowed on ${pathname}.`);
        return;
      case 'not-found':
        await sendError(authed, 404, 'not-found', `No such endpoint: ${record.method} ${pathname}.`);
        return;
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'internal', error: 'Fake server failure.' }));
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    requests,
    reported: state.reported,
    reset(): void {
      requests.length = 0;
      state.reported.requests = 0;
      state.reported.totalTokens = 0;
      state.reported.costTicks = 0;
    },
    setScenario(name: string | null): void {
      defaultScenario = name;
    },
    release(): void {
      state.releaseGeneration += 1;
      for (const resolve of [...state.releaseWaiters]) resolve();
      state.releaseWaiters.clear();
    },
    close(): Promise<void> {
      closing = true;
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
