import type { Cluster, Redis } from 'ioredis';
import { dayNumberOf } from '../limits/periods.js';
import { limiterKeyBase } from '../limits/redis-keys.js';
import { LIVE_FRESH_MS, REQUEST_LOG_LENGTH, type ActivityEntry, type ActivityStore, type LiveCounts, type OutcomeCounts, type OutcomeDays, type RequestRecord } from './types.js';

/** A key's log lives this long after its last request (a child key's ends with its short life). */
const LOG_TTL_MS = 30 * 86_400_000;
/** Outcome counts are kept as long as a usage report can reach back (366 days) and a little more. */
const OUTCOME_TTL_S = 400 * 86_400;
/** A dead instance's published counts are deleted with it. */
const LIVE_TTL_MS = LIVE_FRESH_MS + 1_000;

const REFUSED_SUFFIX = '|refused';
const FAILED_SUFFIX = '|failed';

/**
 * The activity store on Redis. Per key, under the family's hash tag (one Cluster slot per family, docs/operations.md):
 *   `<prefix>v2:{family}:<keyId>:rlog`        ZSET JSON log line → its end time (ms), trimmed to the newest
 *                                             REQUEST_LOG_LENGTH; scored by time, not by arrival, because each
 *                                             instance writes its batches on its own schedule
 *   `<prefix>v2:{family}:<keyId>:o:<day>`     HASH `<model>|refused`, `<model>|failed` → count
 *   `<prefix>v2:{family}:<keyId>:odays`       ZSET day → day number (days with outcomes, for reports)
 * Per instance (read by everyone):
 *   `<prefix>v2:live:<instanceId>`           HASH keyId → requests in flight, `*` → the instance's total
 *   `<prefix>v2:live`                         ZSET instanceId → when it last published (ms)
 */
export function createRedisActivityStore(options: { redis: Redis | Cluster; prefix: string }): ActivityStore {
  const { redis, prefix } = options;
  const liveIndex = `${prefix}v2:live`;
  const liveKey = (instanceId: string): string => `${prefix}v2:live:${instanceId}`;
  const keyBase = (familyId: string, keyId: string): string => `${limiterKeyBase(prefix, familyId)}${keyId}:`;

  return {
    async append(entries: readonly ActivityEntry[]) {
      const byFamily = new Map<string, ActivityEntry[]>();
      for (const entry of entries) {
        const list = byFamily.get(entry.familyId) ?? [];
        list.push(entry);
        byFamily.set(entry.familyId, list);
      }
      // One pipeline per family: its keys share a slot, so a Cluster takes each as one batch.
      await Promise.all(
        [...byFamily].map(async ([familyId, family]) => {
          const lines = new Map<string, (string | number)[]>();
          const counts = new Map<string, Map<string, number>>();
          for (const entry of family) {
            const line = JSON.stringify(entry.record);
            const atMs = Date.parse(entry.record.at);
            for (const keyId of entry.keyIds) {
              const list = lines.get(keyId) ?? [];
              list.push(atMs, line);
              lines.set(keyId, list);
              if (entry.outcome === null) continue;
              const hashKey = `${keyId}\n${entry.day}`;
              const fields = counts.get(hashKey) ?? new Map<string, number>();
              const field = entry.model + (entry.outcome === 'refused' ? REFUSED_SUFFIX : FAILED_SUFFIX);
              fields.set(field, (fields.get(field) ?? 0) + 1);
              counts.set(hashKey, fields);
            }
          }
          const pipeline = redis.pipeline();
          for (const [keyId, list] of lines) {
            const key = `${keyBase(familyId, keyId)}rlog`;
            pipeline.zadd(key, ...list);
            pipeline.zremrangebyrank(key, 0, -(REQUEST_LOG_LENGTH + 1));
            pipeline.pexpire(key, LOG_TTL_MS);
          }
          for (const [hashKey, fields] of counts) {
            const [keyId = '', day = ''] = hashKey.split('\n');
            const key = `${keyBase(familyId, keyId)}o:${day}`;
            for (const [field, by] of fields) pipeline.hincrby(key, field, by);
            pipeline.expire(key, OUTCOME_TTL_S);
            pipeline.zadd(`${keyBase(familyId, keyId)}odays`, dayNumberOf(day), day);
          }
          const results = (await pipeline.exec()) ?? [];
          for (const [error] of results) if (error) throw error;
        }),
      );
    },

    async recent(keyId, familyId, limit) {
      const lines = await redis.zrevrange(`${keyBase(familyId, keyId)}rlog`, 0, limit - 1);
      const records: RequestRecord[] = [];
      for (const line of lines) {
        try {
          records.push(JSON.parse(line) as RequestRecord);
        } catch {
          // Not one of ours: skipped rather than failing the whole page.
        }
      }
      return records;
    },

    async outcomes(keyId, familyId, range) {
      const base = keyBase(familyId, keyId);
      const days = await redis.zrangebyscore(`${base}odays`, dayNumberOf(range.from), dayNumberOf(range.to));
      const result: OutcomeDays = new Map();
      if (days.length === 0) return result;
      const pipeline = redis.pipeline();
      for (const day of days) pipeline.hgetall(`${base}o:${day}`);
      const records = (await pipeline.exec()) ?? [];
      records.forEach(([error, record], index) => {
        if (error) throw error;
        const models = new Map<string, OutcomeCounts>();
        for (const [field, raw] of Object.entries(record as Record<string, string>)) {
          const refused = field.endsWith(REFUSED_SUFFIX);
          if (!refused && !field.endsWith(FAILED_SUFFIX)) continue;
          const model = field.slice(0, field.length - (refused ? REFUSED_SUFFIX.length : FAILED_SUFFIX.length));
          const counts = models.get(model) ?? { refused: 0, failed: 0 };
          counts[refused ? 'refused' : 'failed'] += Number(raw);
          models.set(model, counts);
        }
        if (models.size > 0) result.set(days[index] ?? '', models);
      });
      return result;
    },

    async publishLive(instanceId, byKey, total, nowMs) {
      const key = liveKey(instanceId);
      const fields: (string | number)[] = ['*', total];
      for (const [keyId, count] of byKey) if (count > 0) fields.push(keyId, count);
      // The hash and the index sit in different slots on a Cluster: separate commands, each atomic on its own.
      // A reader between the DEL and the HSET of a MULTI-less write would see this instance as idle for a moment;
      // MULTI on the one key avoids that.
      await redis.multi().del(key).hset(key, ...fields).pexpire(key, LIVE_TTL_MS).exec();
      await redis.zadd(liveIndex, nowMs, instanceId);
    },

    async live(nowMs): Promise<LiveCounts> {
      // Instances gone for a minute leave the index (their hashes expired long before).
      await redis.zremrangebyscore(liveIndex, '-inf', nowMs - 60_000);
      const instances = await redis.zrangebyscore(liveIndex, nowMs - LIVE_FRESH_MS, '+inf');
      const hashes = await Promise.all(instances.map((id) => redis.hgetall(liveKey(id))));
      const byKey = new Map<string, number>();
      let total = 0;
      for (const hash of hashes) {
        for (const [field, raw] of Object.entries(hash)) {
          if (field === '*') total += Number(raw);
          else byKey.set(field, (byKey.get(field) ?? 0) + Number(raw));
        }
      }
      return { total, byKey };
    },
  };
}
