import type { KeyRecord, KeyStore } from '../keys/types.js';
import { addTotals, zeroTotals } from '../limits/usage-totals.js';
import type { Limiter, UsageReport } from '../limits/types.js';
import { usageReportView, usageView } from './usage-view.js';

const LIST_PAGE = 1000;
/** Usage reads in flight at once: enough to be quick, few enough not to crowd out the hot path on Redis. */
const PARALLEL_READS = 16;

/**
 * `GET /admin/usage` (SPEC §6): every key's usage report for the range — keys with no usage in it are
 * left out — plus the overall totals. A child's usage is already inside its parent's report (SPEC §6), so
 * the overall totals add up root keys only; each entry carries `parentId` to make that visible.
 */
export async function allKeysUsage(
  deps: { store: KeyStore; limiter: Limiter; declaredKeys: () => readonly KeyRecord[] },
  range: { from: string; to: string },
): Promise<unknown> {
  const keys: KeyRecord[] = [...deps.declaredKeys()];
  let cursor: string | undefined;
  do {
    const page = await deps.store.list({ limit: LIST_PAGE, cursor });
    keys.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);

  const reports: { key: KeyRecord; report: UsageReport }[] = [];
  for (let i = 0; i < keys.length; i += PARALLEL_READS) {
    const batch = keys.slice(i, i + PARALLEL_READS);
    reports.push(...(await Promise.all(batch.map(async (key) => ({ key, report: await deps.limiter.usageReport(key.id, key.parentId ?? key.id, range) })))));
  }
  let totals = zeroTotals();
  for (const { key, report } of reports) if (key.parentId === null) totals = addTotals(totals, report.totals);
  const used = reports.filter(({ report }) => report.days.length > 0 || report.totals.requests > 0);
  return {
    from: range.from,
    to: range.to,
    totals: usageView(totals),
    keys: used.map(({ key, report }) => {
      const { keyId, totals: keyTotals, days } = usageReportView(report) as { keyId: string; totals: unknown; days: unknown };
      return { keyId, parentId: key.parentId, totals: keyTotals, days };
    }),
  };
}
