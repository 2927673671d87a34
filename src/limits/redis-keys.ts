/**
 * Names of every Redis key the limiter touches: `${prefix}v1:{familyId}:…`. The `{familyId}` hash tag puts a
 * whole key family (a root key and its children) in one Cluster slot, so each admission and settlement
 * script touches one slot (SPEC §7). The Lua scripts build per-key names from the same base with the same
 * layout (`base .. keyId .. ':' .. part`, family-level `base .. part`; see src/limits/lua/common-lua.ts).
 *
 * Per key (`<base><keyId>:<part>`):
 *   rpm            ZSET requestId → admission ms (requestsPerMinute log)
 *   tpm            HASH second → tokens (tokensPerMinute buckets)
 *   conc           ZSET requestId → lease expiry ms (concurrency slots)
 *   d:YYYY-MM-DD   HASH req, tok, cost (used + reserved in that UTC day)
 *   m:YYYY-MM      HASH tok, cost (that UTC month)
 *   total          HASH tok, cost (lifetime)
 *   u:YYYY-MM-DD   HASH "<model>|<metric>" → usage recorded on settlements of that UTC day
 *   udays          ZSET YYYY-MM-DD → day number (days with usage, for reports)
 * Per family (`<base><part>`):
 *   res            HASH requestId → reservation record (pending or reaped)
 *   resexp         ZSET requestId → lease expiry ms (pending reservations)
 *   reaped         ZSET requestId → reaped-at ms (reaped marks, trimmed after REAPED_RETENTION_MS)
 */

export type KeyPart = 'rpm' | 'tpm' | 'conc' | 'total' | 'udays' | `d:${string}` | `m:${string}` | `u:${string}`;
export type FamilyPart = 'res' | 'resexp' | 'reaped';

/** The prefix must not contain `{` or `}`: the first braces of a name are its Cluster hash tag. */
export function assertKeyPrefix(prefix: string): void {
  if (/[{}]/.test(prefix)) throw new RangeError('limiter key prefix must not contain { or }');
}

/** `${prefix}v1:{familyId}:`: passed to the Lua scripts, which append the parts. */
export function limiterKeyBase(prefix: string, familyId: string): string {
  return `${prefix}v1:{${familyId}}:`;
}

/** The one naming function: a key's part when keyId is given, else a family-level part. */
export function limiterRedisKey(
  input: { prefix: string; familyId: string } & ({ keyId: string; part: KeyPart } | { keyId?: undefined; part: FamilyPart }),
): string {
  const base = limiterKeyBase(input.prefix, input.familyId);
  return input.keyId === undefined ? `${base}${input.part}` : `${base}${input.keyId}:${input.part}`;
}
