import type { UpstreamClient, UpstreamResponse } from './client.js';
import { requestWithKeyFailover, type KeyedRequest, type KeyFailoverOptions } from './key-failover.js';

/** The wait for xAI ended because the client left (see `abandon`). */
export class ClientGone extends Error {
  constructor() {
    super('The client closed the connection.');
  }
}

/** A request on its way to xAI for a client that may leave at any moment. */
export interface PendingUpstream {
  /** xAI's answer (after any retry with another upstream key); rejects with ClientGone once abandoned. */
  readonly response: Promise<UpstreamResponse>;
  /**
   * Whether xAI has the whole request, so may be working on it (docs/api.md: only then does it count as usage).
   * A retry after xAI refused an upstream key starts over: xAI did no work for the refused key.
   */
  readonly written: () => boolean;
  /**
   * The client left: abort the upstream request, and end the wait for xAI's answer at once. undici settles a
   * request aborted while its connection is still being opened only when the connect ends (up to
   * connectTimeoutMs), although it will never write it; the client's reservation must not wait for that. An
   * answer that still comes is discarded.
   */
  readonly abandon: () => void;
  /** Abort the upstream request (a drain that ran out of time); the wait is not ended early. */
  readonly abort: () => void;
}

export function sendUpstream(upstream: UpstreamClient, request: Omit<KeyedRequest, 'controller' | 'onRequestSent'>, options: KeyFailoverOptions = {}): PendingUpstream {
  const controller = new AbortController();
  let written = false;
  let abandoned = false;
  let giveUp: ((err: Error) => void) | null = null;
  const response = new Promise<UpstreamResponse>((resolve, reject) => {
    giveUp = reject;
    requestWithKeyFailover(
      upstream,
      {
        ...request,
        controller,
        onRequestSent: () => {
          written = true;
        },
      },
      {
        onKeyRefused: (label, status) => {
          written = false;
          options.onKeyRefused?.(label, status);
        },
      },
    ).then((answer) => {
      if (abandoned) answer.body.destroy();
      else resolve(answer);
    }, reject);
  }).finally(() => {
    giveUp = null;
  });
  return {
    response,
    written: () => written,
    abandon: () => {
      abandoned = true;
      controller.abort();
      giveUp?.(new ClientGone());
    },
    abort: () => controller.abort(),
  };
}
