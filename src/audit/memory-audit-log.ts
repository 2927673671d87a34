import { errors } from '../errors.js';
import { assertAuditLimit, scrubAuditChanges } from './scrub-audit-changes.js';
import { DEFAULT_MAX_AUDIT_ENTRIES, MAX_AUDIT_PAGE, type AuditEntry, type AuditLog } from './types.js';

/**
 * The in-process store's audit log: two capped arrays, admin actions and mints apart (so no volume of minting can
 * evict an admin entry, docs/api.md), listed together by one sequence; the cursor is the sequence number of the last
 * entry returned.
 */
export function createMemoryAuditLog(options: { maxEntries?: number } = {}): AuditLog {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_AUDIT_ENTRIES;
  const admin: { seq: number; entry: AuditEntry }[] = [];
  const mints: { seq: number; entry: AuditEntry }[] = [];
  let nextSeq = 1;
  return {
    append(entry) {
      const entries = entry.action === 'mint' ? mints : admin;
      entries.push({ seq: nextSeq, entry: structuredClone({ ...entry, changes: scrubAuditChanges(entry.changes) }) });
      nextSeq += 1;
      if (entries.length > maxEntries) entries.splice(0, entries.length - maxEntries);
      return Promise.resolve();
    },
    list(listOptions) {
      try {
        assertAuditLimit(listOptions.limit, MAX_AUDIT_PAGE);
        const before = listOptions.cursor === undefined ? Number.POSITIVE_INFINITY : decodeSeq(listOptions.cursor);
        const older = [...admin, ...mints].filter((e) => e.seq < before).sort((a, b) => b.seq - a.seq);
        const page = older.slice(0, listOptions.limit);
        const last = page.at(-1);
        return Promise.resolve({
          data: page.map((e) => structuredClone(e.entry)),
          nextCursor: older.length > listOptions.limit && last !== undefined ? Buffer.from(String(last.seq)).toString('base64url') : null,
        });
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
  };
}

function decodeSeq(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9]\d{0,15}$/.test(text)) throw errors.invalidRequest('Invalid cursor.');
  return Number(text);
}
