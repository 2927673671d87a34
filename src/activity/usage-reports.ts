import { effectivePolicy } from '../policy/scopes.js';
import type { ActivityStore } from './types.js';
import { addActivity, errorRate, withOutcomes, zeroActivity, type ActivityReport } from './report.js';
import { nearLimits, type NearLimit } from './overview.js';
import type { GatewayConfig } from '../config/types.js';
import type { KeyRecord, KeyStore } from '../keys/types.js';
import type { Limiter } from '../limits/types.js';
import { usageReportView, usageView, type UsageReportView } from './usage-view.js';

const LIST_PAGE = 1000;
/** Usage reads in flight at once: enough to be quick, few enough not to crowd out the hot path on Redis. */
const PARALLEL_READS = 16;
/** Entries of the overview's lists. */
const TOP_KEYS = 10;
const NEAR_LIMIT_KEYS = 20;

export interface UsageDeps {
  store: KeyStore;
  limiter: Limiter;
  activity: ActivityStore;
  declaredKeys: () => readonly KeyRecord[];
}

/** One key's usage with its refused and failed counts (docs/api.md `U`). */
export async function keyActivity(deps: Pick<UsageDeps, 'limiter' | 'activity'>, key: KeyRecord, range: { from: string; to: string }): Promise<ActivityReport> {
  const familyId = key.parentId ?? key.id;
  const [report, outcomes] = await Promise.all([deps.limiter.usageReport(key.id, familyId, range), deps.activity.outcomes(key.id, familyId, range)]);
  return withOutcomes(report, outcomes);
}

async function allKeys(deps: UsageDeps): Promise<KeyRecord[]> {
  const keys: KeyRecord[] = [...deps.declaredKeys()];
  let cursor: string | undefined;
  do {
    const page = await deps.store.list({ limit: LIST_PAGE, cursor });
    keys.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return keys;
}

async function reportsOf(deps: UsageDeps, keys: readonly KeyRecord[], range: { from: string; to: string }): Promise<{ key: KeyRecord; report: ActivityReport }[]> {
  const reports: { key: KeyRecord; report: ActivityReport }[] = [];
  for (let i = 0; i < keys.length; i += PARALLEL_READS) {
    const batch = keys.slice(i, i + PARALLEL_READS);
    reports.push(...(await Promise.all(batch.map(async (key) => ({ key, report: await keyActivity(deps, key, range) })))));
  }
  return reports;
}

function hasActivity(report: ActivityReport): boolean {
  return report.days.length > 0;
}

export interface AllKeysUsage {
  from: string;
  to: string;
  totals: UsageReportView['totals'];
  errorRate: number;
  keys: (UsageReportView & { parentId: string | null })[];
}

/**
 * `GET /admin/usage` (docs/api.md): every key's usage report for the range — keys with no usage in it are
 * left out — plus the overall totals. A child's usage is already inside its parent's report (docs/api.md), so
 * the overall totals add up root keys only; each entry carries `parentId` to make that visible.
 */
export async function allKeysUsage(deps: UsageDeps, range: { from: string; to: string }): Promise<AllKeysUsage> {
  const reports = await reportsOf(deps, await allKeys(deps), range);
  let totals = zeroActivity();
  for (const { key, report } of reports) if (key.parentId === null) totals = addActivity(totals, report.totals);
  return {
    from: range.from,
    to: range.to,
    totals: usageView(totals),
    errorRate: errorRate(totals),
    keys: reports.filter(({ report }) => hasActivity(report)).map(({ key, report }) => ({ ...usageReportView(report), parentId: key.parentId })),
  };
}

export interface Overview {
  date: string;
  month: string;
  totals: { today: UsageReportView['totals']; month: UsageReportView['totals'] };
  errorRate: { today: number; month: number };
  inFlight: number;
  topKeys: { keyId: string; name: string; costUsd: number; requests: number }[];
  nearLimit: ({ keyId: string; name: string } & NearLimit)[];
}

/**
 * `GET /admin/overview`: today's and this month's totals over root keys (a child's usage is inside its
 * parent's), requests in flight on every instance, the error rate, the top root keys by cost today, and the
 * keys whose day or month budgets are nearly spent.
 */
export async function overview(deps: UsageDeps & { config: () => GatewayConfig }, nowMs: number): Promise<Overview> {
  const date = new Date(nowMs).toISOString().slice(0, 10);
  const month = date.slice(0, 7);
  const keys = await allKeys(deps);
  const [reports, live] = await Promise.all([reportsOf(deps, keys, { from: `${month}-01`, to: date }), deps.activity.live(nowMs)]);
  let todayTotals = zeroActivity();
  let monthTotals = zeroActivity();
  const byKey: { key: KeyRecord; today: ReturnType<typeof zeroActivity>; month: ReturnType<typeof zeroActivity> }[] = [];
  for (const { key, report } of reports) {
    let today = zeroActivity();
    for (const day of report.days) if (day.date === date) for (const totals of Object.values(day.models)) today = addActivity(today, totals);
    byKey.push({ key, today, month: report.totals });
    if (key.parentId !== null) continue;
    todayTotals = addActivity(todayTotals, today);
    monthTotals = addActivity(monthTotals, report.totals);
  }
  const plans = deps.config().plans;
  const topKeys = byKey
    .filter(({ key, today }) => key.parentId === null && today.requests > 0)
    .sort((a, b) => b.today.costTicks - a.today.costTicks || b.today.requests - a.today.requests)
    .slice(0, TOP_KEYS)
    .map(({ key, today }) => ({ keyId: key.id, name: key.name, costUsd: today.costTicks / 1e10, requests: today.requests }));
  const nearLimit = byKey
    .filter(({ key }) => key.revokedAt === null)
    .flatMap(({ key, today, month: monthly }) =>
      nearLimits(effectivePolicy(key, plans).limits, { day: today, month: monthly }).map((near) => ({ keyId: key.id, name: key.name, ...near })),
    )
    .sort((a, b) => b.share - a.share)
    .slice(0, NEAR_LIMIT_KEYS);
  return {
    date,
    month,
    totals: { today: usageView(todayTotals), month: usageView(monthTotals) },
    errorRate: { today: errorRate(todayTotals), month: errorRate(monthTotals) },
    inFlight: live.total,
    topKeys,
    nearLimit,
  };
}
