import { LIMIT_NAMES, type LimitName, type LimitSet } from '../config/types.js';

/**
 * Values of the CLI's flags, parsed strictly: a malformed value is a usage error (exit 2) before anything is
 * sent. Only the shape is checked here; the gateway validates meaning (plans, origins, CIDRs, ranges) and
 * its answer names every problem (docs/api.md), so the rules live in one place.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const LIMIT_NAME_SET: ReadonlySet<string> = new Set(LIMIT_NAMES);
const WHOLE = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;

/** `a,b , c` → ['a', 'b', 'c']; an empty list is refused (use `--clear` to drop a list). */
export function parseList(flag: string, raw: string): string[] {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  if (items.length === 0) throw new UsageError(`--${flag} needs a comma-separated list, e.g. --${flag} a,b`);
  return items;
}

/** A whole number >= min, written in plain digits (no sign, exponent or hex); upper bounds are the gateway's. */
export function parseWhole(flag: string, raw: string, min: number): number {
  const value = WHOLE.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${flag} must be a whole number >= ${min}`);
  return value;
}

/** Repeated `--limit name=value` → a LimitSet (docs/configuration.md limit names; USD limits may have decimals). */
export function parseLimits(raws: readonly string[]): LimitSet {
  const entries: [LimitName, number][] = [];
  for (const raw of raws) {
    const [name, value] = splitPair('limit', raw);
    if (!LIMIT_NAME_SET.has(name)) throw new UsageError(`--limit: unknown limit "${name}"; limits are: ${LIMIT_NAMES.join(', ')}`);
    if (!DECIMAL.test(value)) throw new UsageError(`--limit ${name}= needs a number >= 0, e.g. --limit ${name}=20`);
    if (entries.some(([seen]) => seen === name)) throw new UsageError(`--limit ${name} is given twice`);
    entries.push([name as LimitName, Number(value)]);
  }
  return Object.fromEntries(entries);
}

/** Repeated `--metadata k=v` → a string map; the value may contain `=` and may be empty. */
export function parsePairs(flag: string, raws: readonly string[]): Record<string, string> {
  const entries: [string, string][] = [];
  for (const raw of raws) {
    const pair = splitPair(flag, raw);
    if (entries.some(([seen]) => seen === pair[0])) throw new UsageError(`--${flag} ${pair[0]} is given twice`);
    entries.push(pair);
  }
  // fromEntries defines own properties, so a name like "__proto__" stays plain data.
  return Object.fromEntries(entries);
}

function splitPair(flag: string, raw: string): [string, string] {
  const at = raw.indexOf('=');
  if (at <= 0) throw new UsageError(`--${flag} needs name=value, e.g. --${flag} ${flag === 'limit' ? 'requestsPerMinute=20' : 'team=web'}`);
  return [raw.slice(0, at).trim(), raw.slice(at + 1)];
}
