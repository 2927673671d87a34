/**
 * Names of every Redis key the limiter touches: `${prefix}v2:{familyId}:…` (v1, the layout before it, is
 * converted by scripts/migrate-limits-v2.mjs; docs/operations.md "Upgrading"). The `{familyId}` hash tag puts a
 * whole key family (a root key and its children) in one Cluster slot, so each admission and settlement
 * script touches one slot (docs/operations.md). The Lua scripts build per-key names from the same base with the same
 * layout (`base .. keyId .. ':' .. part`, family-level `base .. part`; see src/limits/lua/common-lua.ts).
 *
 * Per key (`<base><keyId>:<part>`). Numbers the scripts compute with are stored as little-endian doubles
 * (struct.pack; decoding helpers in src/limits/redis-args.ts), not decimals: see src/limits/lua/common-lua.ts.
 *   rpmw           HASH requestsPerMinute window: requests per second, laid out as tpm below
 *   tpm            HASH tokensPerMinute window (src/limits/lua/tpm-lua.ts):
 *                    <second>   <d tokens of that second's bucket (> 0)
 *                    w          <ddd sum of the buckets, lowest second kept, lowest bucket present (-1 unknown)
 *   ctr            HASH the key's counters, no TTL (src/limits/lua/counters-lua.ts):
 *                    d:<day>    <ddd requests, tokens, cost of that UTC day (used + reserved)
 *                    m:<month>  <dd tokens, cost of that UTC month
 *                    l          <ddd lifetime tokens, lifetime cost, reservations in flight (concurrency)
 *                    d pd m pm  the current and previous day / month that have fields (older ones deleted)
 *                    ud         newest UTC day with recorded usage (days index maintained)
 *   u:YYYY-MM-DD   HASH model → <7 doubles> its usage totals in USAGE_METRICS order, recorded on settlements
 *                  of that UTC day
 *   udays          ZSET YYYY-MM-DD → day number (days with usage, for reports)
 * Per family (`<base><part>`):
 *   res            HASH requestId → reservation record (pending or reaped; format in common-lua.ts)
 *   resexp         ZSET reservation record (the same string as in res) → when it is due: lease expiry ms
 *                  (pending), or reaped-at ms + REAPED_RETENTION_MS (reaped mark)
 */

export type KeyPart =
  | 'rpmw'
  | 'tpm'
  | 'ctr'
  | 'udays'
  | `u:${string}`;
export type FamilyPart = 'res' | 'resexp';

/** The prefix must not contain `{` or `}`: the first braces of a name are its Cluster hash tag. */
export function assertKeyPrefix(prefix: string): void {
  if (/[{}]/.test(prefix)) throw new RangeError('limiter key prefix must not contain { or }');
}

/** `${prefix}v2:{familyId}:`: passed to the Lua scripts, which append the parts. */
export function limiterKeyBase(prefix: string, familyId: string): string {
  return `${prefix}v2:{${familyId}}:`;
}

/** The one naming function: a key's part when keyId is given, else a family-level part. */
export function limiterRedisKey(
  input: { prefix: string; familyId: string } & ({ keyId: string; part: KeyPart } | { keyId?: undefined; part: FamilyPart }),
): string {
  const base = limiterKeyBase(input.prefix, input.familyId);
  return input.keyId === undefined ? `${base}${input.part}` : `${base}${input.keyId}:${input.part}`;
}
