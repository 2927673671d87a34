import type { KeyRecord, KeyStore } from './types.js';

/**
 * Looks client keys up for the hot path: keys declared in the YAML first (in memory, by secret hash), then
 * the store, through a short-lived in-process cache so an authenticated request usually costs no store
 * round trip. Every key change is announced to every instance (src/keys/key-changes.ts), which calls
 * `invalidate`; the cache's TTL (under a second) is the fallback that bounds how long a lost announcement
 * can leave a revocation or change unnoticed (docs/api.md: within 1 second).
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

/** Past this fraction of its TTL, a cached record is still served but refreshed in the background. */
const REFRESH_AHEAD_FRACTION = 0.8;

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

  // One store read per key at a time: when a popular key's entry expires, the requests in flight share a
  // read instead of each sending their own. Cleared by invalidation, so nothing read before a change is
  // handed to a request that arrives after it.
  const inFlight = new Map<string, Promise<KeyRecord | null>>();

  function load(cache: Map<string, Entry>, k: string, read: () => Promise<KeyRecord | null>): Promise<KeyRecord | null> {
    const flightKey = `${cache === byHash ? 'h' : 'i'}:${k}`;
    const pending = inFlight.get(flightKey);
    if (pending !== undefined) return pending;
    const startedAt = generation;
    const promise = read()
      .then((record) => {
        if (record !== null && startedAt === generation) remember(cache, k, record);
        return record;
      })
      .finally(() => {
        if (inFlight.get(flightKey) === promise) inFlight.delete(flightKey);
      });
    inFlight.set(flightKey, promise);
    return promise;
  }

  function cachedOrLoad(cache: Map<string, Entry>, k: string, read: () => Promise<KeyRecord | null>): Promise<KeyRecord | null> {
    const entry = cache.get(k);
    const t = now();
    if (entry !== undefined && entry.expiresAtMs > t) {
      // Refresh ahead: the next request after 80 % of the TTL triggers a background read, so a busy key's
      // lookups stay off the request path while a change still lands within the TTL.
      if (entry.expiresAtMs - t < options.cacheTtlMs * (1 - REFRESH_AHEAD_FRACTION)) {
        void load(cache, k, read).catch(() => undefined);
      }
      return Promise.resolve(entry.record);
    }
    if (entry !== undefined) cache.delete(k);
    // Unknown keys are not cached: a key created a moment ago on another instance must work at once.
    return load(cache, k, read);
  }

  return {
    async bySecretHash(secretHash) {
      const declared = declaredByHash.get(secretHash);
      if (declared !== undefined) return declared;
      return cachedOrLoad(byHash, secretHash, () => options.store.findBySecretHash(secretHash));
    },
    async byId(id) {
      const declared = declaredById.get(id);
      if (declared !== undefined) return declared;
      return cachedOrLoad(byIdCache, id, () => options.store.get(id));
    },
    invalidate(id) {
      generation += 1;
      inFlight.clear();
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
