import type { Cluster, Redis } from 'ioredis';
import { limiterKeyBase } from './redis-keys.js';
import { addTotals, modelsOfDayRecord, modelsOfStoredDayRecord, packTotals, PACKED_USAGE_BYTES, zeroTotals } from './usage-totals.js';

/**
 * One-off upgrade of the limiter's Redis data from the v1 key names to v2 (docs/operations.md "Upgrading"). Run
 * it with every gateway instance stopped. The v2 scripts read one layout only; this converts what v1 could still
 * hold into it:
 * - `ctr` (packed counters), `udays`, `res`/`resexp` (reservations): renamed as they are (the rpm log's trim
 *   marker `rs` is dropped from `ctr`);
 * - `u:<day>`: renamed, and usage fields of the older decimal `<model>|<metric>` form folded into the packed
 *   per-model value;
 * - `tpm`: renamed if it has its summary field, else deleted (decimal buckets; they leave the window in a
 *   minute anyway);
 * - `rpm` (the exact requestsPerMinute log, replaced by per-second buckets) is deleted: a key may admit up to its
 *   requestsPerMinute again within the minute after the upgrade, unless the gateways stay stopped for a minute;
 * - the separate decimal counters of the oldest layout (`total`, `d:<day>`, `m:<month>`) become the key's
 *   `ctr` if it has none yet (lifetime totals, and the newest day and month), then are deleted, as is `conc`.
 * Every v1 limiter key is gone afterwards; a second run finds nothing to do.
 */
export interface MigrationReport {
  renamed: number;
  converted: number;
  deleted: number;
  /** v1 keys whose v2 name was taken already (a v2 gateway ran first): v2's data is kept, v1's dropped. */
  skipped: number;
}

const V1_PARTS = /^(?<prefix>.*)v1:\{(?<family>[^}]+)\}:(?<rest>.+)$/;

function nodesOf(redis: Redis | Cluster): (Redis | Cluster)[] {
  return 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis];
}

async function scanKeys(redis: Redis | Cluster, match: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of nodesOf(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await (node as Redis).scan(cursor, 'MATCH', match, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}

const packDoubles = (values: readonly number[]): Buffer => {
  const buffer = Buffer.alloc(values.length * 8);
  values.forEach((value, index) => buffer.writeDoubleLE(value, index * 8));
  return buffer;
};

export async function migrateLimiterV1(redis: Redis | Cluster, prefix: string): Promise<MigrationReport> {
  const report: MigrationReport = { renamed: 0, converted: 0, deleted: 0, skipped: 0 };
  // Never over v2 data: a gateway of the new version that ran first has newer counts than v1's.
  const rename = async (from: string, to: string): Promise<void> => {
    if ((await redis.renamenx(from, to)) === 1) {
      report.renamed += 1;
    } else {
      await redis.del(from);
      report.skipped += 1;
    }
  };
  // `v1:{` is the limiter's own: the key store's, the audit log's and the ownership records' v1 names are
  // `v1:key:…`, `v1:audit…`, `v1:obj…` and stay as they are.
  const keys = await scanKeys(redis, `${prefix.replace(/[*?[\]\\]/g, '\\$&')}v1:{*`);
  const oldest = new Map<string, { family: string; keyId: string; parts: Map<string, string> }>();
  for (const key of keys) {
    const match = V1_PARTS.exec(key);
    if (match?.groups === undefined || match.groups.prefix !== prefix) continue;
    const { family = '', rest = '' } = match.groups;
    const target = `${limiterKeyBase(prefix, family)}${rest}`;
    const separator = rest.indexOf(':');
    const part = separator < 0 ? rest : rest.slice(separator + 1);
    const keyId = separator < 0 ? '' : rest.slice(0, separator);
    if (separator < 0 || part === 'ctr' || part === 'udays') {
      if (part === 'ctr') await redis.hdel(key, 'rs');
      await rename(key, target);
    } else if (part.startsWith('u:')) {
      const record = await redis.hgetallBuffer(key);
      const decimal = Object.fromEntries(Object.entries(record).filter(([, value]) => value.length !== PACKED_USAGE_BYTES).map(([field, value]) => [field, value.toString('utf8')]));
      if (Object.keys(decimal).length > 0) {
        const models = modelsOfStoredDayRecord(record);
        for (const [model, totals] of Object.entries(modelsOfDayRecord(decimal))) models[model] = addTotals(models[model] ?? zeroTotals(), totals);
        await redis.hdel(key, ...Object.keys(decimal));
        for (const [model, totals] of Object.entries(models)) await redis.hset(key, model, packTotals(totals));
        report.converted += 1;
      }
      await rename(key, target);
    } else if (part === 'tpm') {
      if ((await redis.hexists(key, 'w')) === 1) {
        await rename(key, target);
      } else {
        await redis.del(key);
        report.deleted += 1;
      }
    } else if (part === 'total' || part.startsWith('d:') || part.startsWith('m:')) {
      const entry = oldest.get(`${family}\u0000${keyId}`) ?? { family, keyId, parts: new Map<string, string>() };
      entry.parts.set(part, key);
      oldest.set(`${family}\u0000${keyId}`, entry);
    } else {
      // rpm (the exact log), conc (the oldest layout's slots), anything else of v1.
      await redis.del(key);
      report.deleted += 1;
    }
  }
  for (const { family, keyId, parts } of oldest.values()) {
    const ctr = `${limiterKeyBase(prefix, family)}${keyId}:ctr`;
    const total = parts.get('total');
    if (total !== undefined && (await redis.exists(ctr)) === 0) {
      const [tok, cost] = await redis.hmget(total, 'tok', 'cost');
      const day = [...parts.keys()].filter((part) => part.startsWith('d:')).sort().at(-1);
      const month = [...parts.keys()].filter((part) => part.startsWith('m:')).sort().at(-1);
      const fields: (string | Buffer)[] = ['l', packDoubles([Number(tok ?? 0), Number(cost ?? 0), 0])];
      if (day !== undefined) {
        const [req, dtok, dcost] = await redis.hmget(parts.get(day) ?? '', 'req', 'tok', 'cost');
        fields.push(day, packDoubles([Number(req ?? 0), Number(dtok ?? 0), Number(dcost ?? 0)]), 'd', day.slice(2));
      }
      if (month !== undefined) {
        const [mtok, mcost] = await redis.hmget(parts.get(month) ?? '', 'tok', 'cost');
        fields.push(month, packDoubles([Number(mtok ?? 0), Number(mcost ?? 0)]), 'm', month.slice(2));
      }
      await redis.hset(ctr, ...fields);
      report.converted += 1;
    }
    for (const key of parts.values()) await redis.del(key);
    report.deleted += parts.size;
  }
  return report;
}
