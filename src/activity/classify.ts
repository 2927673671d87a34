import type { Outcome } from './types.js';

/** Statuses of the gateway's own refusals that count as `refused` (docs/api.md: 400, 403, 413, 429; 415 is a 400-class refusal of the body). */
const REFUSED = new Set([400, 403, 413, 415, 429]);

/**
 * How one finished, authenticated request counts (docs/api.md):
 * - refused: the gateway answered with its own error of a refused status, nothing having been sent to xAI;
 * - failed: it was forwarded and ended with an error status from xAI, a 502/504, or a stream cut short by the
 *   upstream (not by the client leaving, which is the client's doing and not a failure of the service).
 */
export function classifyOutcome(input: {
  status: number;
  /** The gateway's own error code, or null when the answer (error or not) came from xAI. */
  gatewayCode: string | null;
  /** Forwarding was attempted (the route is one the gateway forwards). */
  forwarded: boolean;
  /** A response stream that ended without its terminal event for a reason other than the client leaving. */
  broken: boolean;
}): Outcome {
  // The gateway's upstream_error / upstream_timeout, or xAI's own: the way to xAI failed.
  if (input.status === 502 || input.status === 504) return 'failed';
  if (input.gatewayCode !== null) return REFUSED.has(input.status) ? 'refused' : null;
  if (!input.forwarded) return null;
  if (input.status >= 400 && input.status !== 499) return 'failed';
  return input.broken ? 'failed' : null;
}
