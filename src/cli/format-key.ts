import { field, isPresent, record, text } from './json-read.js';
import { formatCount, formatPairs, formatTable, formatUsd, printable } from './text-table.js';

/**
 * Key records (docs/api.md, as the admin API answers them: the record plus `state`) as text: `label: value`
 * lines for one key, an aligned table for a list. What null means is spelled out (docs/configuration.md: null scopes
 * inherit the plan's; with no plan a key may call nothing), so the text cannot be misread.
 */
export function formatKey(key: unknown): string {
  const k = record(key);
  const plan = typeof k.plan === 'string' ? k.plan : null;
  const pairs: [string, string][] = [
    ['id', text(k.id)],
    ['name', text(k.name)],
    ['state', text(k.state)],
    ['plan', plan ?? '-'],
    ['models', scopeList(k.models, plan)],
    ['endpoints', scopeList(k.endpoints, plan)],
    ['collections', scopeList(k.collections ?? null, plan)],
    ['limits', limitList(k.limits, plan)],
    ['allowedOrigins', listOr(k.allowedOrigins, 'any origin (no Origin check)')],
    ['allowedIps', listOr(k.allowedIps, 'any address')],
    ['expiresAt', isPresent(k.expiresAt) ? text(k.expiresAt) : 'never'],
  ];
  if (isPresent(k.revokedAt)) pairs.push(['revokedAt', text(k.revokedAt)]);
  if (isPresent(k.parentId)) pairs.push(['parentId', text(k.parentId)]);
  if (isPresent(k.mint)) pairs.push(['mint', `may mint child keys living up to ${text(field(k.mint, 'maxTtlSeconds'))} s`]);
  const metadata = Object.entries(record(k.metadata));
  if (metadata.length > 0) pairs.push(['metadata', metadata.map(([name, value]) => `${name}=${text(value)}`).join(', ')]);
  pairs.push(['createdAt', text(k.createdAt)], ['updatedAt', text(k.updatedAt)]);
  if (k.source === 'config') pairs.push(['source', 'declared in the YAML config (read-only through the API)']);
  if (isPresent(k.usage)) {
    const today = record(record(k.usage).today);
    pairs.push([
      'usage today',
      `${formatCount(numberOr0(today.requests))} requests, ${formatCount(numberOr0(today.totalTokens))} tokens, ${formatUsd(numberOr0(today.costUsd))}`,
    ]);
  }
  return formatPairs(pairs);
}

export function formatKeyList(page: unknown, hint: string): string {
  const p = record(page);
  const keys = Array.isArray(p.data) ? (p.data as unknown[]) : [];
  const lines: string[] = [];
  if (keys.length === 0) lines.push('No keys.');
  else {
    const rows = keys.map((key) => {
      const k = record(key);
      return [text(k.id), text(k.name), text(k.state), text(k.plan), isPresent(k.expiresAt) ? text(k.expiresAt) : 'never', text(k.parentId), text(k.createdAt)];
    });
    lines.push(formatTable(['ID', 'NAME', 'STATE', 'PLAN', 'EXPIRES', 'PARENT', 'CREATED'], rows));
    lines.push('', `${keys.length} ${keys.length === 1 ? 'key' : 'keys'}`);
  }
  if (typeof p.nextCursor === 'string') lines.push(printable(`More: ${hint} --cursor ${p.nextCursor}   (or --all for every page)`));
  return lines.join('\n');
}

function scopeList(value: unknown, plan: string | null): string {
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map((item) => text(item)).join(', ');
  return plan === null ? 'none (no own list and no plan: nothing is allowed)' : `from plan ${plan}`;
}

function limitList(value: unknown, plan: string | null): string {
  const entries = Object.entries(record(value));
  const fromPlan = plan === null ? '' : `from plan ${plan}`;
  if (entries.length === 0) return plan === null ? 'none (unlimited)' : fromPlan;
  const own = entries.map(([name, limit]) => `${name}=${text(limit)}`).join(', ');
  return plan === null ? own : `${own} (others ${fromPlan})`;
}

function listOr(value: unknown, otherwise: string): string {
  return Array.isArray(value) ? value.map((item) => text(item)).join(', ') : otherwise;
}

function numberOr0(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}
