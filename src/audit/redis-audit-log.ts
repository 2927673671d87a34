import type { Cluster, Redis } from 'ioredis';
import { errors, GatewayError } from '../errors.js';
import { assertAuditLimit, scrubAuditChanges } from './scrub-audit-changes.js';
import { DEFAULT_MAX_AUDIT_ENTRIES, MAX_AUDIT_PAGE, type AuditAction, type AuditEntry, type AuditLog } from './types.js';

/**
 * The audit log on Redis: one stream `P v1:audit`, each entry one field `e` = the entry as JSON, capped with
 * `XADD … MAXLEN ~ maxEntries` (trimmed in whole stream nodes, so a little above the cap at times). Listed
 * newest first with XREVRANGE; the cursor is the last returned stream id, and the next page starts strictly
 * before it (exclusive range, Redis >= 6.2). One key, so Cluster-safe.
 */
const ACTIONS: ReadonlySet<string> = new Set<AuditAction>(['create', 'patch', 'revoke', 'rotate', 'mint']);
const STREAM_ID_RE = /^\d{1,20}-\d{1,20}$/;

export function createRedisAuditLog(options: { redis: Redis | Cluster; prefix: string; maxEntries?: number }): AuditLog {
  const { redis } = options;
  const key = `${options.prefix}v1:audit`;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_AUDIT_ENTRIES;
  return {
    async append(entry) {
      const json = JSON.stringify({ ...entry, changes: scrubAuditChanges(entry.changes) });
      await guard(() => redis.xadd(key, 'MAXLEN', '~', String(maxEntries), '*', 'e', json));
    },
    async list(listOptions) {
      assertAuditLimit(listOptions.limit, MAX_AUDIT_PAGE);
      const end = listOptions.cursor === undefined ? '+' : `(${decodeCursor(listOptions.cursor)}`;
      const rows = await guard(() => redis.xrevrange(key, end, '-', 'COUNT', listOptions.limit + 1));
      const page = rows.slice(0, listOptions.limit);
      const lastId = page.at(-1)?.[0];
      return {
        data: page.map(([, fields]) => parseEntry(fields)).filter((e): e is AuditEntry => e !== null),
        nextCursor: rows.length > listOptions.limit && lastId !== undefined ? Buffer.from(lastId).toString('base64url') : null,
      };
    },
  };
}

async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw err instanceof GatewayError ? err : errors.storeUnavailable(err);
  }
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!STREAM_ID_RE.test(id)) throw errors.invalidRequest('Invalid cursor.');
  return id;
}

/** A stored entry read back; anything malformed is skipped rather than answered half-typed. */
function parseEntry(fields: string[]): AuditEntry | null {
  const json = fields[fields.indexOf('e') + 1];
  if (fields.indexOf('e') === -1 || json === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const e = value as Record<string, unknown>;
  if (typeof e.at !== 'string' || typeof e.actor !== 'string' || typeof e.keyId !== 'string' || typeof e.action !== 'string' || !ACTIONS.has(e.action)) return null;
  const changes = typeof e.changes === 'object' && e.changes !== null && !Array.isArray(e.changes) ? (e.changes as Record<string, unknown>) : {};
  return { at: e.at, actor: e.actor, action: e.action as AuditAction, keyId: e.keyId, changes };
}
