import type { KeyRecord, KeyStore } from './types.js';

/**
 * Looks client keys up for the hot path: keys declared in the YAML first (in memory, by secret hash), then
 * the store, through a short-lived in-process cache so an authenticated request usually costs no store
 * round trip. Every key change is announced to every instance (src/keys/key-changes.ts), which calls
 * `invalidate`; the cache's TTL (under a second) is the fallback that bounds how long a lost announcement
 * can leave a revocation or change unnoticed (SPEC §3: within 1 second).
 */
export interface KeyResolver {
  bySecretHash(secretHash: string): Promise<KeyRecord | null>;
  byId(id: string): Promise<KeyRecord | null>;
  /** Drop cached entries for this key id (all of its secret hashes), or everything. */
  invalidate(id?: string): void;
  /** Replace the declared keys (config reload). */
  setDeclared(declared: ReadonlyMap<string, KeyRecord>): void;
}

export interface KeyResolverOptions {
  store: KeyStore;
  /** Declared keys by secret hash. */
  declared: ReadonlyMap<string, KeyRecord>;
  cacheTtlMs: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  record: KeyRecord;
  expiresAtMs: number;
}

export function createKeyResolver(options: KeyResolverOptions): KeyResolver {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  let declaredByHash = options.declared;
  let declaredById = indexById(declaredByHash);
  const byHash = new Map<string, Entry>();
  const byIdCache = new Map<string, Entry>();
  // Bumped by every invalidation: a store read that began before one must not cache what it read (it may
  // predate the change being announced).
  let generation = 0;

  function remember(cache: Map<string, Entry>, k: string, record: KeyRecord): void {
    if (cache.size >= maxEntries) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(k, { record, expiresAtMs: now() + options.cacheTtlMs });
  }

  function fresh(cache: Map<string, Entry>, k: string): KeyRecord | undefined {
    const entry = cache.get(k);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= now()) {
      cache.delete(k);
      return undefined;
    }
    return entry.record;
  }

  return {
    async bySecretHash(secretHash) {
      const declared = declaredByHash.get(secretHash);
      if (declared !== undefined) return declared;
      const cached = fresh(byHash, secretHash);
      if (cached !== undefined) return cached;
      const startedAt = generation;
      const record = await options.store.findBySecretHash(secretHash);
      // Unknown hashes are not cached: a key created a moment ago on another instance must work at once.
      if (record !== null && startedAt === generation) remember(byHash, secretHash, record);
      return record;
    },
    async byId(id) {
      const declared = declaredById.get(id);
      if (declared !== undefined) return declared;
      const cached = fresh(byIdCache, id);
      if (cached !== undefined) return cached;
      const startedAt = generation;
      const record = await options.store.get(id);
      if (record !== null && startedAt === generation) remember(byIdCache, id, record);
      return record;
    },
    invalidate(id) {
      generation += 1;
      if (id === undefined) {
        byHash.clear();
        byIdCache.clear();
        return;
      }
      byIdCache.delete(id);
      for (const [hash, entry] of byHash) if (entry.record.id === id || entry.record.parentId === id) byHash.delete(hash);
    },
    setDeclared(declared) {
      declaredByHash = declared;
      declaredById = indexById(declared);
    },
  };
}

function indexById(byHash: ReadonlyMap<string, KeyRecord>): Map<string, KeyRecord> {
  const out = new Map<string, KeyRecord>();
  for (const record of byHash.values()) out.set(record.id, record);
  return out;
}
