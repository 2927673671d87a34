import { LIVE_FRESH_MS, REQUEST_LOG_LENGTH, type ActivityEntry, type ActivityStore, type LiveCounts, type OutcomeCounts, type OutcomeDays, type RequestRecord } from './types.js';

/** The in-process activity store: one instance, nothing kept across restarts (like the rest of the memory store). */
export function createMemoryActivityStore(): ActivityStore {
  // Newest last; trimmed to REQUEST_LOG_LENGTH.
  const logs = new Map<string, RequestRecord[]>();
  const outcomes = new Map<string, OutcomeDays>();
  const published = new Map<string, { atMs: number; byKey: ReadonlyMap<string, number>; total: number }>();

  return {
    async append(entries: readonly ActivityEntry[]) {
      for (const entry of entries) {
        for (const keyId of entry.keyIds) {
          const log = logs.get(keyId) ?? [];
          log.push(entry.record);
          if (log.length > REQUEST_LOG_LENGTH) log.splice(0, log.length - REQUEST_LOG_LENGTH);
          logs.set(keyId, log);
          if (entry.outcome === null) continue;
          const days = outcomes.get(keyId) ?? new Map<string, Map<string, OutcomeCounts>>();
          const models = days.get(entry.day) ?? new Map<string, OutcomeCounts>();
          const counts = models.get(entry.model) ?? { refused: 0, failed: 0 };
          counts[entry.outcome] += 1;
          models.set(entry.model, counts);
          days.set(entry.day, models);
          outcomes.set(keyId, days);
        }
      }
    },
    async recent(keyId, _familyId, limit) {
      const log = logs.get(keyId) ?? [];
      return log.slice(Math.max(0, log.length - limit)).reverse();
    },
    async outcomes(keyId, _familyId, range) {
      const result: OutcomeDays = new Map();
      for (const [day, models] of outcomes.get(keyId) ?? []) {
        if (day < range.from || day > range.to) continue;
        result.set(day, new Map([...models].map(([model, counts]) => [model, { ...counts }])));
      }
      return result;
    },
    async publishLive(instanceId, byKey, total, nowMs) {
      published.set(instanceId, { atMs: nowMs, byKey: new Map(byKey), total });
    },
    async live(nowMs): Promise<LiveCounts> {
      const byKey = new Map<string, number>();
      let total = 0;
      for (const entry of published.values()) {
        if (nowMs - entry.atMs > LIVE_FRESH_MS) continue;
        total += entry.total;
        for (const [keyId, count] of entry.byKey) byKey.set(keyId, (byKey.get(keyId) ?? 0) + count);
      }
      return { total, byKey };
    },
  };
}
