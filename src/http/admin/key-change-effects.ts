import type { FastifyBaseLogger } from 'fastify';
import type { AuditEntry, AuditLog } from '../../audit/types.js';
import type { KeyChanges } from '../../keys/key-changes.js';

export interface KeyChangeDeps {
  /** Apply a key change to this instance's own caches (resolver, CORS origins) before answering. */
  applyLocally: (keyId: string) => Promise<void>;
  keyChanges: KeyChanges;
  audit: AuditLog;
  /** Alerts that follow a change (key.revoked, key.expiring); never fails the change. */
  keyEvents?: (entry: AuditEntry) => void;
}

/**
 * What follows every stored key change (docs/api.md): this instance applies it before answering (so the
 * caller's next request sees it, whatever pub/sub's delivery time), every other
 * instance is told over pub/sub (a lost message still expires from their caches within the TTL, so a
 * failed publish is logged, not fatal), and the change is written to the audit log.
 */
export async function afterKeyChange(deps: KeyChangeDeps, entry: AuditEntry, log: FastifyBaseLogger): Promise<void> {
  await deps.applyLocally(entry.keyId);
  await deps.keyChanges.publish(entry.keyId).catch((err: unknown) => {
    log.warn({ err: { message: err instanceof Error ? err.message : String(err) }, keyId: entry.keyId }, 'key change not announced; other instances see it when their cache expires');
  });
  await deps.audit.append(entry);
  deps.keyEvents?.(entry);
}
