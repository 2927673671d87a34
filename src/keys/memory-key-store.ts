import { errors } from '../errors.js';
import { applyKeyPatch } from './apply-key-patch.js';
import { assertValidKeyRecord } from './key-record-schema.js';
import {
  assertListLimit,
  compareListPositions,
  decodeListCursor,
  encodeListCursor,
  listPositionOf,
} from './key-list-cursor.js';
import { KeyStoreConflictError } from './types.js';
import type { KeyPage, KeyPatch, KeyRecord, KeyStore } from './types.js';

/** Runs synchronous store logic as a promise, so a throw becomes a rejection as with the Redis store. */
function settle<T>(operation: () => T): Promise<T> {
  try {
    return Promise.resolve(operation());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

interface SecretEntry {
  id: string;
  /** Epoch ms after which the hash no longer authenticates; null = no bound. */
  expiresAtMs: number | null;
}

/**
 * In-process KeyStore (no Redis configured: single instance, docs/configuration.md `store.redisUrl: ""`). Same contract
 * as the Redis store, checked by the same suite. `now` is the clock for secret-hash grace expiry, injected
 * so tests pass time instead of sleeping. Records are copied in and out: callers never share state with it.
 */
export function createMemoryKeyStore(options: { now?: () => number } = {}): KeyStore {
  const now = options.now ?? Date.now;
  const records = new Map<string, KeyRecord>();
  const secrets = new Map<string, SecretEntry>();

  function liveSecret(secretHash: string): SecretEntry | undefined {
    const entry = secrets.get(secretHash);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs !== null && now() >= entry.expiresAtMs) {
      secrets.delete(secretHash);
      return undefined;
    }
    return entry;
  }

  function hashesOf(id: string): string[] {
    return [...secrets.entries()].filter(([, entry]) => entry.id === id).map(([hash]) => hash);
  }

  function byListOrder(a: KeyRecord, b: KeyRecord): number {
    return compareListPositions(listPositionOf(a), listPositionOf(b));
  }

  return {
    create(record: KeyRecord, secretHash: string): Promise<void> {
      return settle(() => {
        assertValidKeyRecord(record);
        if (records.has(record.id)) throw new KeyStoreConflictError(`A key with id "${record.id}" already exists.`);
        if (liveSecret(secretHash) !== undefined) throw new KeyStoreConflictError('The secret hash is already in use.');
        records.set(record.id, structuredClone(record));
        secrets.set(secretHash, { id: record.id, expiresAtMs: null });
      });
    },

    get(id: string): Promise<KeyRecord | null> {
      return settle(() => {
        const record = records.get(id);
        return record === undefined ? null : structuredClone(record);
      });
    },

    findBySecretHash(secretHash: string): Promise<KeyRecord | null> {
      return settle(() => {
        const entry = liveSecret(secretHash);
        const record = entry === undefined ? undefined : records.get(entry.id);
        return record === undefined ? null : structuredClone(record);
      });
    },

    list(listOptions: { limit: number; cursor?: string | undefined }): Promise<KeyPage> {
      return settle(() => {
        assertListLimit(listOptions.limit);
        const after = listOptions.cursor === undefined ? null : decodeListCursor(listOptions.cursor);
        const following = [...records.values()]
          .filter((record) => after === null || compareListPositions(listPositionOf(record), after) > 0)
          .sort(byListOrder);
        const data = following.slice(0, listOptions.limit);
        const last = data.at(-1);
        const nextCursor = following.length > listOptions.limit && last !== undefined ? encodeListCursor(listPositionOf(last)) : null;
        return { data: data.map((record) => structuredClone(record)), nextCursor };
      });
    },

    listChildren(parentId: string): Promise<KeyRecord[]> {
      return settle(() => {
        return [...records.values()]
          .filter((record) => record.parentId === parentId)
          .sort(byListOrder)
          .map((record) => structuredClone(record));
      });
    },

    update(id: string, patch: KeyPatch, at: Date): Promise<KeyRecord | null> {
      return settle(() => {
        const record = records.get(id);
        if (record === undefined) return null;
        const next = applyKeyPatch(record, patch, at);
        assertValidKeyRecord(next);
        records.set(id, next);
        return structuredClone(next);
      });
    },

    addSecretHash(id: string, secretHash: string, expiresAtMs: number | null): Promise<void> {
      return settle(() => {
        if (!records.has(id)) throw errors.notFound('No such key.');
        const entry = liveSecret(secretHash);
        if (entry !== undefined && entry.id !== id) throw new KeyStoreConflictError('The secret hash is already in use.');
        secrets.set(secretHash, { id, expiresAtMs });
      });
    },

    removeSecretHashes(id: string, keep: readonly string[]): Promise<void> {
      return settle(() => {
        for (const hash of hashesOf(id)) if (!keep.includes(hash)) secrets.delete(hash);
      });
    },

    expireSecretHashes(id: string, bound: { except: readonly string[]; expiresAtMs: number }): Promise<void> {
      return settle(() => {
        if (!records.has(id)) throw errors.notFound('No such key.');
        for (const hash of hashesOf(id)) {
          const entry = secrets.get(hash);
          if (entry === undefined || bound.except.includes(hash)) continue;
          const expiresAtMs = entry.expiresAtMs === null ? bound.expiresAtMs : Math.min(entry.expiresAtMs, bound.expiresAtMs);
          secrets.set(hash, { id, expiresAtMs });
        }
      });
    },

    ping(): Promise<void> {
      return Promise.resolve();
    },
  };
}
