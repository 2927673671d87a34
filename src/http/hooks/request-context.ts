import type { Usage } from '../../usage/types.js';
import type { AuthenticatedClient } from '../../keys/client-auth.js';

/** Per-request facts collected along the way for the one log line per request (docs/operations.md) and metrics. */
export interface RequestContext {
  startedAtNs: bigint;
  keyId: string | null;
  endpoint: string | null;
  model: string | null;
  usage: Usage | null;
  /** The /v1 handler logs the line itself, after settlement, so it can include usage. */
  deferLog: boolean;
  /** The limit that refused admission (metrics' refusal reason), if one did. */
  refusal: string | null;
  /** The client key, authenticated from the headers before any body was read (client-auth-hook.ts). */
  client: AuthenticatedClient | null;
  /** The key, once known and valid, even if its origin or address is then refused (its request log counts it). */
  identified: { keyId: string; parentId: string | null } | null;
  /** The model a model_not_allowed refusal named (ctx.model stays null: the request never got that far). */
  refusedModel: string | null;
  /** The gateway's own error code, when the gateway answered with an error (error-handler.ts). */
  code: string | null;
  /** Forwarding to xAI was attempted: its errors and broken streams count as failed (docs/api.md). */
  forwarded: boolean;
  /** The answer was an event stream. */
  streamed: boolean;
  /** The stream ended without its terminal event, and not because the client left. */
  broken: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    gw: RequestContext;
  }
}

export function newRequestContext(): RequestContext {
  return { startedAtNs: process.hrtime.bigint(), keyId: null, endpoint: null, model: null, usage: null, deferLog: false, refusal: null, client: null, identified: null, refusedModel: null, code: null, forwarded: false, streamed: false, broken: false };
}
