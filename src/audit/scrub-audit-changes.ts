import { errors } from '../errors.js';

/**
 * Defence in depth for the audit log (docs/api.md "never the secret"): callers record field changes, not
 * secrets, but whatever they pass is scrubbed before it is stored — fields named like a secret are dropped
 * and any string shaped like a client key (`xgw_…`) or an xAI key (`xai-…`) is replaced.
 */
const SECRET_FIELD_RE = /^(?:key|secret|secrets|secrethash|secrethashes|secretsha256|token|authorization|x-api-key)$/i;
const SECRET_VALUE_RE = /(?:xgw_[0-9A-Za-z]{16,}|xai-[0-9A-Za-z_-]{16,})/g;
const REDACTED = '[redacted]';

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replace(SECRET_VALUE_RE, REDACTED);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) if (!SECRET_FIELD_RE.test(name)) out[name] = scrub(v, depth + 1);
  return out;
}

export function scrubAuditChanges(changes: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return scrub(changes, 0) as Record<string, unknown>;
}

/** Throws invalid_request (400) unless `limit` is an integer in 1..max. */
export function assertAuditLimit(limit: number, max: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw errors.invalidRequest(`limit must be an integer from 1 to ${max}.`);
}
