import type { Usage } from '../usage/types.js';
import { dayNumberOf } from './periods.js';
import { MAX_MODEL_NAME_LENGTH } from './semantics.js';
import type { UsageReport, UsageTotals } from './types.js';

/**
 * Per-day, per-model usage records (docs/api.md), shared by both limiters: one flat record per key and UTC
 * day. In process its fields are `<model>|<metric>` (the metric codes below); the Redis limiter keeps a hash
 * with one field per model holding its totals packed (modelsOfStoredDayRecord).
 */

/** Totals field ↔ short storage code. */
export const USAGE_METRICS = [
  ['requests', 'req'],
  ['promptTokens', 'pt'],
  ['completionTokens', 'ct'],
  ['reasoningTokens', 'rt'],
  ['cachedTokens', 'cached'],
  ['totalTokens', 'tt'],
  ['costTicks', 'cost'],
] as const satisfies readonly (readonly [keyof UsageTotals, string])[];

export function zeroTotals(): UsageTotals {
  return { requests: 0, promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0, costTicks: 0 };
}

export function addTotals(a: UsageTotals, b: UsageTotals): UsageTotals {
  const sum = zeroTotals();
  for (const [field] of USAGE_METRICS) sum[field] = a[field] + b[field];
  return sum;
}

/** One request sent upstream: requests 1 even when xAI reported no tokens (docs/api.md). */
export function totalsOfUsage(usage: Usage): UsageTotals {
  return {
    requests: 1,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    reasoningTokens: usage.reasoningTokens,
    cachedTokens: usage.cachedTokens,
    totalTokens: usage.totalTokens,
    costTicks: usage.costTicks,
  };
}

/** The model name as recorded: bounded length (it may come from the client), never empty. */
export function recordedModelName(model: string): string {
  const trimmed = model.slice(0, MAX_MODEL_NAME_LENGTH);
  return trimmed.length === 0 ? 'unknown' : trimmed;
}

/** Storage fields of one request's usage: `<model>|<code>` → increment. */
export function usageFieldIncrements(model: string, usage: Usage): [string, number][] {
  const totals = totalsOfUsage(usage);
  const name = recordedModelName(model);
  return USAGE_METRICS.map(([field, code]) => [`${name}|${code}`, totals[field]]);
}

const FIELD_BY_CODE: ReadonlyMap<string, keyof UsageTotals> = new Map(USAGE_METRICS.map(([field, code]) => [code, field]));

/** Reads a day's stored fields back into per-model totals; unknown fields are ignored. */
export function modelsOfDayRecord(record: Readonly<Record<string, string | number>>): Record<string, UsageTotals> {
  const models: Record<string, UsageTotals> = {};
  for (const [key, raw] of Object.entries(record)) {
    const separator = key.lastIndexOf('|');
    const field = FIELD_BY_CODE.get(key.slice(separator + 1));
    if (separator <= 0 || field === undefined) continue;
    const model = key.slice(0, separator);
    const totals = models[model] ?? zeroTotals();
    totals[field] += Number(raw);
    models[model] = totals;
  }
  return models;
}

/** Validated report range as day numbers; RangeError for a malformed date or from after to. */
export function parseUsageRange(range: { from: string; to: string }): { fromDay: number; toDay: number } {
  const fromDay = dayNumberOf(range.from);
  const toDay = dayNumberOf(range.to);
  if (fromDay > toDay) throw new RangeError('usage range: from is after to');
  return { fromDay, toDay };
}

export function buildUsageReport(input: {
  keyId: string;
  from: string;
  to: string;
  days: readonly { date: string; models: Record<string, UsageTotals> }[];
}): UsageReport {
  const days = [...input.days]
    .filter((day) => Object.keys(day.models).length > 0)
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  let totals = zeroTotals();
  for (const day of days) for (const model of Object.values(day.models)) totals = addTotals(totals, model);
  return { keyId: input.keyId, from: input.from, to: input.to, totals, days };
}

/** Bytes of a packed usage value: USAGE_METRICS.length little-endian doubles. */
export const PACKED_USAGE_BYTES = USAGE_METRICS.length * 8;

/** One model's totals as the Redis day record stores them. */
export function packTotals(totals: UsageTotals): Buffer {
  const buffer = Buffer.alloc(PACKED_USAGE_BYTES);
  USAGE_METRICS.forEach(([metric], index) => buffer.writeDoubleLE(totals[metric], index * 8));
  return buffer;
}

/**
 * A day's Redis hash read as Buffers: the settle script keeps one field per model whose value packs its totals
 * (PACKED_USAGE_BYTES bytes); anything else is not a usage field and is ignored.
 */
export function modelsOfStoredDayRecord(record: Readonly<Record<string, Buffer>>): Record<string, UsageTotals> {
  const models: Record<string, UsageTotals> = {};
  for (const [field, value] of Object.entries(record)) {
    if (value.length !== PACKED_USAGE_BYTES) continue;
    const totals = zeroTotals();
    USAGE_METRICS.forEach(([metric], index) => {
      totals[metric] = value.readDoubleLE(index * 8);
    });
    models[field] = totals;
  }
  return models;
}
