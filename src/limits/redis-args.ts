import type { Usage } from '../usage/types.js';
import { PackedArg } from './packed-script.js';
import { totalsOfUsage, USAGE_METRICS } from './usage-totals.js';
import { ENFORCED_LIMITS, type NormalizedLimits } from './enforced-limits.js';

/**
 * Values the Redis limiter scripts receive packed (src/limits/lua/common-lua.ts): little-endian IEEE
 * doubles, which struct.unpack turns into Lua numbers without parsing decimals — in the scripts, parsing or
 * formatting one decimal number costs more instructions than a counter's whole read or write.
 */

export function packDoubles(values: readonly number[]): PackedArg {
  return new PackedArg('', values, '');
}

export function unpackDoubles(buffer: Buffer): number[] {
  return Array.from({ length: Math.floor(buffer.length / 8) }, (_, index) => buffer.readDoubleLE(index * 8));
}

/** A subject's limits: one double per ENFORCED_LIMITS entry (-1 = none), or '' when it has none. */
export function packedLimits(limits: NormalizedLimits): Buffer | '' {
  if (Object.keys(limits).length === 0) return '';
  // Kept per limits object (redis-limiter.ts), so packed once into a Buffer.
  return packDoubles(ENFORCED_LIMITS.map((name) => limits[name] ?? -1)).toBuffer();
}

/**
 * The record an admission stores for a pending reservation (HASH `<base>res` field requestId, and member of
 * ZSET `<base>resexp`): '3', 'p', <dddd admittedAtMs, tokens, costTicks, reapedAtMs (0)>, then
 * 'dayId|monthId|tpmMask|keyId|…|requestId'. tpmMask: one '1'/'0' per key, whether the request is counted
 * in that key's tokensPerMinute window. Key ids never contain '|' (validate-input.ts); the requestId comes
 * last because it may.
 */
export function pendingRecord(input: {
  requestId: string;
  admittedAtMs: number;
  tokens: number;
  costTicks: number;
  dayId: string;
  monthId: string;
  keys: readonly { keyId: string; countsTpm: boolean }[];
}): PackedArg {
  let mask = '';
  let ids = '';
  for (const key of input.keys) {
    mask += key.countsTpm ? '1' : '0';
    ids += `${key.keyId}|`;
  }
  return new PackedArg('3p', [input.admittedAtMs, input.tokens, input.costTicks, 0], `${input.dayId}|${input.monthId}|${mask}|${ids}${input.requestId}`);
}

/** One request's usage packed for the Redis settle script (USAGE_METRICS order). */
export function packedUsage(usage: Usage): PackedArg {
  const totals = totalsOfUsage(usage);
  return new PackedArg(
    '',
    USAGE_METRICS.map(([field]) => totals[field]),
    '',
  );
}
