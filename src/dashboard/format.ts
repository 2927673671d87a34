/** Display formats of the dashboard; pure, so the same numbers read the same on every page. */

const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return INTEGER.format(n);
}

/** USD with enough digits for sub-cent costs: a single cheap request costs fractions of a cent. */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`;
  // Three significant digits, written out in full (never 1.2e-7).
  return `$${Number(usd.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 12 })}`;
}

/** ISO 8601 → "2026-11-26 14:03 UTC": admin data is in UTC days (docs/api.md), so times are shown in UTC too. */
export function formatDateTime(iso: string | null): string {
  if (iso === null) return '—';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The UTC dates from `days - 1` days before `nowMs` up to that day, oldest first. */
export function lastDays(nowMs: number, days: number): string[] {
  const today = Date.parse(`${utcDate(nowMs)}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => utcDate(today - (days - 1 - i) * 86_400_000));
}

export function listOrDash(list: readonly string[] | null): string {
  return list === null ? '— (from the plan)' : list.length === 0 ? 'none' : list.join(', ');
}
