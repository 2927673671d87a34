import type { Cluster, Redis } from 'ioredis';
import { errors } from '../errors.js';
import { assertAuditLimit, scrubAuditChanges } from './scrub-audit-changes.js';
import { DEFAULT_MAX_AUDIT_ENTRIES, MAX_AUDIT_PAGE, type AuditAction, type AuditEntry, type AuditLog } from './types.js';

/**
 * The audit log on Redis: two streams, `P v1:audit` for admin actions and `P v1:audit:mint` for mints, so no
 * volume of minting can evict an admin entry (docs/api.md). Each entry is one field `e` = the entry as JSON; each
 * stream is capped with `XADD … MAXLEN ~ maxEntries` (trimmed in whole stream nodes, so a little above the cap at
 * times). Listed newest first, both streams merged by stream id (its time first); the cursor holds the last id
 * returned from each, and the next page starts strictly before them (exclusive ranges, Redis >= 6.2). Each call
 * touches one key per stream, so it is Cluster-safe.
 */
const ACTIONS: ReadonlySet<string> = new Set<AuditAction>(['create', 'patch', 'revoke', 'rotate', 'mint']);
const STREAM_ID_RE = /^\d{1,20}-\d{1,20}$/;

export function createRedisAuditLog(options: { redis: Redis | Cluster; prefix: string; maxEntries?: number }): AuditLog {
  const { redis } = options;
  const adminKey = `${options.prefix}v1:audit`;
  const mintKey = `${options.prefix}v1:audit:mint`;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_AUDIT_ENTRIES;
  return {
    async append(entry) {
      const json = JSON.stringify({ ...entry, changes: scrubAuditChanges(entry.changes) });
      await redis.xadd(entry.action === 'mint' ? mintKey : adminKey, 'MAXLEN', '~', String(maxEntries), '*', 'e', json);
    },
    async list(listOptions) {
      assertAuditLimit(listOptions.limit, MAX_AUDIT_PAGE);
      const from = listOptions.cursor === undefined ? { admin: null, mint: null } : decodeCursor(listOptions.cursor);
      const range = (key: string, before: string | null): Promise<[string, string[]][]> =>
        redis.xrevrange(key, before === null ? '+' : `(${before}`, '-', 'COUNT', listOptions.limit + 1);
      const [adminRows, mintRows] = await Promise.all([range(adminKey, from.admin), range(mintKey, from.mint)]);
      const merged = [...adminRows.map((row) => ({ row, admin: true })), ...mintRows.map((row) => ({ row, admin: false }))].sort((a, b) =>
        compareStreamIds(b.row[0], a.row[0]),
      );
      const page = merged.slice(0, listOptions.limit);
      const next = { admin: from.admin, mint: from.mint };
      for (const { row, admin } of page) {
        if (admin) next.admin = row[0];
        else next.mint = row[0];
      }
      return {
        data: page.map(({ row }) => parseEntry(row[1])).filter((e): e is AuditEntry => e !== null),
        nextCursor: merged.length > listOptions.limit ? Buffer.from(JSON.stringify(next)).toString('base64url') : null,
      };
    },
  };
}

/** Stream ids `<ms>-<seq>` in time order (newer is greater). */
function compareStreamIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt);
  return aMs === bMs ? (aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1) : aMs < bMs ? -1 : 1;
}

function decodeCursor(cursor: string): { admin: string | null; mint: string | null } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw errors.invalidRequest('Invalid cursor.');
  }
  const position = (id: unknown): string | null => {
    if (id === null) return null;
    if (typeof id !== 'string' || !STREAM_ID_RE.test(id)) throw errors.invalidRequest('Invalid cursor.');
    return id;
  };
  if (typeof value !== 'object' || value === null) throw errors.invalidRequest('Invalid cursor.');
  const { admin, mint } = value as Record<string, unknown>;
  return { admin: position(admin), mint: position(mint) };
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
