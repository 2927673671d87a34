import { record, text } from './json-read.js';
import { formatCount, formatTable, formatUsd } from './text-table.js';

/**
 * Usage answers (docs/api.md: `U = {requests, promptTokens, completionTokens, reasoningTokens, cachedTokens,
 * totalTokens, costUsd, refused, failed}`) as tables: one key's by UTC day and model, every key's by key.
 */
const U_HEADERS = ['REQUESTS', 'PROMPT', 'COMPLETION', 'REASONING', 'CACHED', 'TOTAL TOKENS', 'COST', 'REFUSED', 'FAILED'] as const;

function usageCells(u: unknown): string[] {
  const t = record(u);
  const count = (name: string): string => (typeof t[name] === 'number' ? formatCount(t[name]) : '-');
  return [
    count('requests'),
    count('promptTokens'),
    count('completionTokens'),
    count('reasoningTokens'),
    count('cachedTokens'),
    count('totalTokens'),
    typeof t.costUsd === 'number' ? formatUsd(t.costUsd) : '-',
    count('refused'),
    count('failed'),
  ];
}

/** Indexes of the numeric columns after `lead` leading text columns. */
function numericColumns(lead: number): number[] {
  return U_HEADERS.map((_, i) => lead + i);
}

export function formatKeyUsage(report: unknown): string {
  const r = record(report);
  const title = `Usage of ${text(r.keyId)}, ${text(r.from)} to ${text(r.to)} (UTC days)`;
  const rows: string[][] = [];
  for (const day of Array.isArray(r.days) ? (r.days as unknown[]) : []) {
    const d = record(day);
    for (const [model, u] of Object.entries(record(d.models))) rows.push([text(d.date), model, ...usageCells(u)]);
  }
  if (rows.length === 0) return `${title}\n\nNo usage in this range.`;
  rows.push(['total', '', ...usageCells(r.totals)]);
  return `${title}\n\n${formatTable(['DATE', 'MODEL', ...U_HEADERS], rows, numericColumns(2))}`;
}

export function formatAllUsage(report: unknown): string {
  const r = record(report);
  const title = `Usage of every key, ${text(r.from)} to ${text(r.to)} (UTC days)`;
  const keys = Array.isArray(r.keys) ? (r.keys as unknown[]) : [];
  if (keys.length === 0) return `${title}\n\nNo usage in this range.`;
  const rows = keys.map((key) => {
    const k = record(key);
    return [text(k.keyId), text(k.parentId), ...usageCells(k.totals)];
  });
  rows.push(['total', '', ...usageCells(r.totals)]);
  const note = keys.some((key) => typeof record(key).parentId === 'string')
    ? '\n\nA child key\'s usage is also inside its parent\'s row; the total adds up keys without a parent.'
    : '';
  return `${title}\n\n${formatTable(['KEY', 'PARENT', ...U_HEADERS], rows, numericColumns(2))}${note}`;
}
