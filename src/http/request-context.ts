import type { Usage } from '../usage/types.js';

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
}

declare module 'fastify' {
  interface FastifyRequest {
    gw: RequestContext;
  }
}

export function newRequestContext(): RequestContext {
  return { startedAtNs: process.hrtime.bigint(), keyId: null, endpoint: null, model: null, usage: null, deferLog: false, refusal: null };
}
