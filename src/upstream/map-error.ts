import { errors, GatewayError } from '../errors.js';

/**
 * Transport failures talking to xAI, mapped in one place by `err.code` (docs/architecture.md, after @fastify/reply-from):
 * timeouts → 504 upstream_timeout; refused, reset, DNS, TLS and broken responses → 502 upstream_error.
 * The message never carries the cause's text (it may include hosts or headers); the cause is kept for the log.
 */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

export function mapUpstreamError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const code = errorCode(err);
  if (code !== null && TIMEOUT_CODES.has(code)) return errors.upstreamTimeout(err);
  return errors.upstreamError(undefined, err);
}

export function errorCode(err: unknown): string | null {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err).code;
    return typeof code === 'string' ? code : null;
  }
  return null;
}

/**
 * Is this xAI answer about the operator's upstream key rather than the client's request (docs/api.md)?
 * xAI answers a wrong key with 400 "Incorrect API key provided", a missing one with 401, a blocked key or
 * team (or one out of credits) with 403 (docs/upstream.md §6.1–6.2).
 */
export function isUpstreamKeyFailure(status: number, bodyText: string): boolean {
  if (status === 401 || status === 403) return true;
  return status === 400 && /incorrect api key|invalid api key/i.test(bodyText);
}
