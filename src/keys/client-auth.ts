import type { PlanConfig } from '../config/types.js';
import { errors } from '../errors.js';
import { hashClientKey, isWellFormedClientKey } from './key-format.js';
import type { KeyResolver } from './key-resolver.js';
import type { KeyRecord } from './types.js';
import { ipAllowed, originAllowed } from '../policy/network.js';
import { effectivePolicy, keyState, type EffectivePolicy } from '../policy/scopes.js';

export interface AuthenticatedClient {
  key: KeyRecord;
  /** The parent of a child key (its limits apply too, docs/api.md), else null. */
  parent: KeyRecord | null;
  policy: EffectivePolicy;
  parentPolicy: EffectivePolicy | null;
}

export interface ClientAuthInput {
  authorization: string | undefined;
  apiKeyHeader: string | undefined;
  origin: string | undefined;
  ip: string;
}

export interface ClientAuthDeps {
  resolver: KeyResolver;
  plans: () => Readonly<Record<string, PlanConfig>>;
  now: () => number;
}

/** `Authorization: Bearer <key>` (scheme case-insensitive), else `x-api-key: <key>` (docs/api.md). */
export function extractClientSecret(authorization: string | undefined, apiKeyHeader: string | undefined): string | null {
  if (authorization !== undefined) {
    const match = /^bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1] ?? null;
  }
  if (apiKeyHeader !== undefined) {
    const trimmed = apiKeyHeader.trim();
    return trimmed === '' ? null : trimmed;
  }
  return null;
}

/**
 * Who is calling, and may they call at all: key present and well-formed (checksum — no store lookup for a
 * typo), known, neither revoked nor expired (nor its parent), from an allowed origin and address.
 * Throws the docs/api.md error otherwise. Scope checks per route happen after, with the returned policy.
 */
export async function authenticateClient(
  input: ClientAuthInput,
  deps: ClientAuthDeps,
  onIdentified?: (key: KeyRecord, parent: KeyRecord | null) => void,
): Promise<AuthenticatedClient> {
  const secret = extractClientSecret(input.authorization, input.apiKeyHeader);
  if (secret === null) throw errors.invalidApiKey('Missing API key. Send "Authorization: Bearer <client key>".');
  if (!isWellFormedClientKey(secret)) throw errors.invalidApiKey('Malformed API key.');
  const key = await deps.resolver.bySecretHash(hashClientKey(secret));
  if (key === null) throw errors.invalidApiKey('Unknown API key.');

  const nowMs = deps.now();
  const parent = key.parentId === null ? null : await deps.resolver.byId(key.parentId);
  if (key.parentId !== null && parent === null) throw errors.keyRevoked();
  for (const k of parent === null ? [key] : [key, parent]) {
    const state = keyState(k, nowMs);
    if (state === 'revoked') throw errors.keyRevoked();
    if (state === 'expired') throw errors.keyExpired();
  }
  // Known, valid key: from here on a refusal is the key's (its refused count and request log, src/activity).
  onIdentified?.(key, parent);
  // A child's lists are within its parent's when minted; checking the parent's too keeps that true after the
  // parent is narrowed later (docs/api.md: a child only ever narrows its parent).
  for (const k of parent === null ? [key] : [key, parent]) {
    if (!originAllowed(k.allowedOrigins, input.origin)) throw errors.originNotAllowed();
    if (!ipAllowed(k.allowedIps, input.ip)) throw errors.ipNotAllowed();
  }

  const plans = deps.plans();
  return {
    key,
    parent,
    policy: effectivePolicy(key, plans),
    parentPolicy: parent === null ? null : effectivePolicy(parent, plans),
  };
}
