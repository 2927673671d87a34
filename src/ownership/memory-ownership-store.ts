import { randomBytes } from 'node:crypto';
import { decodeCursor, encodeCursor } from './access.js';
import type { ListCursor, ObjectOwner, OwnershipStore } from './types.js';

/** Expired entries are swept on writes once this many have been made since the last sweep. */
const SWEEP_EVERY_WRITES = 1000;

/**
 * OwnershipStore in process, for the single-instance store (docs/configuration.md). Expiry is checked on every read and
 * expired entries are swept every SWEEP_EVERY_WRITES writes, so memory follows the live objects.
 */
export function createMemoryOwnershipStore(now: () => number = Date.now): OwnershipStore {
  const owners = new Map<string, ObjectOwner>();
  const cursors = new Map<string, { text: string; expiresAtMs: number }>();
  const settled = new Map<string, number>();
  let writes = 0;

  const sweep = (): void => {
    writes += 1;
    if (writes < SWEEP_EVERY_WRITES) return;
    writes = 0;
    const nowMs = now();
    for (const [id, owner] of owners) if (owner.expiresAtMs !== null && owner.expiresAtMs <= nowMs) owners.delete(id);
    for (const [token, cursor] of cursors) if (cursor.expiresAtMs <= nowMs) cursors.delete(token);
    for (const [id, until] of settled) if (until <= nowMs) settled.delete(id);
  };

  const live = (id: string): ObjectOwner | null => {
    const owner = owners.get(id);
    if (owner === undefined) return null;
    if (owner.expiresAtMs !== null && owner.expiresAtMs <= now()) {
      owners.delete(id);
      return null;
    }
    return owner;
  };

  return {
    record(owner) {
      sweep();
      owners.set(owner.id, { ...owner });
      return Promise.resolve();
    },
    getMany(ids) {
      return Promise.resolve(ids.map((id) => {
        const owner = live(id);
        return owner === null ? null : { ...owner };
      }));
    },
    forget(id) {
      owners.delete(id);
      return Promise.resolve();
    },
    claimSettlement(id, expiresAtMs) {
      sweep();
      const until = settled.get(id);
      if (until !== undefined && until > now()) return Promise.resolve(false);
      settled.set(id, expiresAtMs ?? Number.POSITIVE_INFINITY);
      return Promise.resolve(true);
    },
    saveCursor(cursor: ListCursor, ttlMs: number) {
      sweep();
      const token = `xgwpage_${randomBytes(24).toString('base64url')}`;
      cursors.set(token, { text: encodeCursor(cursor), expiresAtMs: now() + ttlMs });
      return Promise.resolve(token);
    },
    loadCursor(token) {
      const entry = cursors.get(token);
      if (entry === undefined || entry.expiresAtMs <= now()) return Promise.resolve(null);
      return Promise.resolve(decodeCursor(entry.text));
    },
  };
}
