/**
 * The audit log (docs/api.md): every admin change to a key (create, patch, revoke, rotate) and every mint, with
 * when, who — an admin token's fingerprint (`admin:<12 hex>`, src/keys/admin-auth.ts) or `key:<id>` for a
 * mint — and what changed. Never a secret: implementations pass `changes` through scrubAuditChanges.
 * Implemented in process (memory-audit-log.ts) and on Redis (redis-audit-log.ts, a capped stream); both
 * pass test/integration/audit-log.contract.test.ts.
 */
export type AuditAction = 'create' | 'patch' | 'revoke' | 'rotate' | 'mint';

export interface AuditEntry {
  /** ISO 8601 UTC. */
  at: string;
  actor: string;
  action: AuditAction;
  keyId: string;
  changes: Readonly<Record<string, unknown>>;
}

export interface AuditPage {
  /** Newest first. */
  data: AuditEntry[];
  nextCursor: string | null;
}

/**
 * Contract:
 * - `append` stores one entry after every earlier one; the oldest are dropped beyond the cap (about
 *   `maxEntries`, default DEFAULT_MAX_AUDIT_ENTRIES).
 * - `list` answers newest first, `limit` 1..1000, paging with an opaque cursor: no duplicates or gaps while
 *   entries are appended; a cursor this log did not produce is GatewayError invalid_request (400).
 * - Every method rejects (never hangs) when the backing store is unreachable (GatewayError store_unavailable).
 */
export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  list(options: { limit: number; cursor?: string | undefined }): Promise<AuditPage>;
}

export const DEFAULT_MAX_AUDIT_ENTRIES = 100_000;
export const MAX_AUDIT_PAGE = 1000;
