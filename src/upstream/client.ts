import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { GatewayConfig } from '../config/types.js';

export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path + query from the route table, e.g. `/v1/chat/completions`. */
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer | Readable | null;
  /**
   * Aborts the request (and a response being read) when the caller no longer wants it: the caller aborts it,
   * and so does the client itself when xAI sends no headers within headersTimeoutMs. One controller for both,
   * passed down as it is: AbortSignal listeners are costly in Node, and a request needs none here.
   */
  controller: AbortController;
  /**
   * Called once the whole request (headers and body) has been written to xAI's connection: from then on xAI may
   * be working on it. A request aborted before that never reached xAI (it waited for a connection, or its upload
   * broke off), so it must not count (docs/api.md).
   */
  onRequestSent?: (() => void) | undefined;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface UpstreamClient {
  /** Next usable upstream key (round robin, skipping keys set aside), or null when none is configured. */
  pickKey(): string | null;
  /** xAI refused this key (docs/api.md): skip it for a while. */
  setAside(key: string): void;
  /** Some key is configured and not set aside. */
  hasUsableKey(): boolean;
  /** A name for a key that is safe to log: its position in the configured list (`key#2`), never the key. */
  keyLabel(key: string): string;
  request(request: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

export interface UpstreamClientOptions {
  /** Connection cap; default none: every admitted request gets a connection at once (admission already bounds load). */
  connections?: number | null;
  /** How long a refused upstream key is skipped. */
  setAsideMs?: number;
  now?: () => number;
}

/**
 * One undici Pool for xAI's origin, built once at start with the timeouts of docs/configuration.md and closed on shutdown:
 * connectTimeoutMs bounds the TCP/TLS connect, headersTimeoutMs the wait for xAI's response headers (→ 504),
 * bodyIdleTimeoutMs the silence between two body chunks (a stream that stalls is ended). Upstream keys are
 * used round robin; a key xAI refused is skipped for `setAsideMs`.
 * A base URL with a path (e.g. a corporate egress proxy at https://egress/xai) is honoured as a prefix.
 */
export function createUpstreamClient(config: GatewayConfig['upstream'], options: UpstreamClientOptions = {}): UpstreamClient {
  const base = new URL(config.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const now = options.now ?? Date.now;
  const setAsideMs = options.setAsideMs ?? 60_000;
  const pool = new SentAwarePool(base.origin, {
    // No cap by default: a request queued behind a full pool would wait invisibly, holding its client's
    // reservation (a client that gives up meanwhile is released, not counted: onRequestSent below). Per-key
    // concurrency limits bound what is in flight. Idle connections close after the keep-alive timeout.
    connections: options.connections ?? null,
    connect: { timeout: config.connectTimeoutMs },
    headersTimeout: config.headersTimeoutMs,
    bodyTimeout: config.bodyIdleTimeoutMs,
    keepAliveTimeout: 30_000,
  });
  const keys = [...config.apiKeys];
  const asideUntil = new Map<string, number>();
  let next = 0;

  const usable = (key: string): boolean => (asideUntil.get(key) ?? 0) <= now();

  return {
    pickKey() {
      if (keys.length === 0) return null;
      for (let i = 0; i < keys.length; i += 1) {
        const key = keys[(next + i) % keys.length] ?? '';
        if (usable(key)) {
          next = (next + i + 1) % keys.length;
          return key;
        }
      }
      // Every key set aside: keep trying them in turn rather than failing every request until one recovers.
      const key = keys[next % keys.length] ?? null;
      next = (next + 1) % keys.length;
      return key;
    },
    setAside(key) {
      asideUntil.set(key, now() + setAsideMs);
    },
    hasUsableKey() {
      return keys.some(usable);
    },
    keyLabel(key) {
      return `key#${keys.indexOf(key) + 1}`;
    },
    request(request) {
      // undici checks its timeouts on a ~0.5 s tick, so its headersTimeout fires up to a second late; this timer
      // holds the configured wait exactly (and undici's stays as a backstop). It ends with the headers: a long
      // stream is bounded by the body idle timeout instead. It settles the request itself: undici settles a
      // request aborted while its connection is still being opened only when the connect ends.
      const { controller } = request;
      return new Promise<UpstreamResponse>((resolve, reject) => {
        let settled = false;
        const timer = setTimeout(() => {
          if (settled) return;
          settled = true;
          const err = headersTimeoutError();
          controller.abort(err);
          reject(err);
        }, config.headersTimeoutMs);
        timer.unref();
        const options: Dispatcher.RequestOptions & SentHook = {
          path: `${prefix}${request.path}`,
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: controller.signal,
        };
        if (request.onRequestSent !== undefined) options[ON_REQUEST_SENT] = request.onRequestSent;
        pool.request(options).then(
          (response) => {
            clearTimeout(timer);
            // A response that arrives after the timeout (or after the caller gave up) is discarded.
            if (settled || controller.signal.aborted) {
              response.body.destroy();
              if (!settled) reject(asError(controller.signal.reason));
              settled = true;
              return;
            }
            settled = true;
            resolve({ statusCode: response.statusCode, headers: response.headers, body: response.body });
          },
          (err: unknown) => {
            clearTimeout(timer);
            if (settled) return;
            settled = true;
            reject(asError(err));
          },
        );
      });
    },
    async close() {
      await pool.close();
    },
  };
}

/** undici rejects with Errors, and abort reasons are Errors here (a DOMException, headersTimeoutError). */
function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

const ON_REQUEST_SENT = Symbol('onRequestSent');

/** A callback carried in pool.request's options: undici hands the same options object to dispatch(). */
interface SentHook {
  [ON_REQUEST_SENT]?: () => void;
}

/**
 * undici's request core (lib/core/request.js) calls its dispatch handler's `onRequestSent()` right after the
 * last byte of the request was written to the socket (every body kind, HTTP/1.1 and HTTP/2); the handler that
 * pool.request() builds does not define one. This Pool gives that handler the caller's callback: one property
 * set per request, no wrapper around the handler, so the response path stays undici's own.
 * `onRequestSent` is not in undici's typings (lib/core/request.js is its contract): if an undici upgrade stopped
 * calling it, a client that leaves after xAI got its request would go uncounted, and upstream-resilience.test.ts
 * ("the aborted request is settled with an estimate") fails; upstream-sent.test.ts covers the unwritten side.
 */
class SentAwarePool extends Pool {
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const onSent = (options as Dispatcher.DispatchOptions & SentHook)[ON_REQUEST_SENT];
    if (onSent !== undefined) {
      const target = handler as Dispatcher.DispatchHandler & { onRequestSent?: () => void };
      const own = target.onRequestSent?.bind(target);
      target.onRequestSent =
        own === undefined
          ? onSent
          : () => {
              onSent();
              own();
            };
    }
    return super.dispatch(options, handler);
  }
}

/** Mapped to 504 upstream_timeout like undici's own (map-error.ts). */
function headersTimeoutError(): Error {
  return Object.assign(new Error('No response headers from the upstream within headersTimeoutMs.'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
}
