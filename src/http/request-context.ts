import type { Usage } from '../usage/types.js';
import type { AuthenticatedClient } from './client-auth.js';

/** Per-request facts collected along the way for the one log line per request (SPEC §7) and metrics. */
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
}

declare module 'fastify' {
  interface FastifyRequest {
    gw: RequestContext;
  }
}

export function newRequestContext(): RequestContext {
  return { startedAtNs: process.hrtime.bigint(), keyId: null, endpoint: null, model: null, usage: null, deferLog: false, refusal: null, client: null };
}
