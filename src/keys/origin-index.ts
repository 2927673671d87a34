import type { KeyRecord, KeyStore } from './types.js';
import { keyState } from '../policy/scopes.js';

/**
 * The origins of every active key's `allowedOrigins`, for CORS (docs/threat-model.md: CORS answers configured origins
 * and key origins, nothing else). Kept in memory: loaded from the store at start and after a missed-change
 * signal, and refreshed key by key on key-change events (src/keys/key-changes.ts), so a preflight costs no
 * store round trip. Bounded: at most `maxKeys` keys are indexed (a warning says when more exist).
 */
export interface KeyOriginIndex {
  /** True if some active key (not revoked, not expired at `nowMs`) lists `origin`. */
  allows(origin: string, nowMs: number): boolean;
  /** Re-read one key (and the children indexed under it) after a change; `null` = reload everything. */
  refresh(keyId: string | null): Promise<void>;
}

interface Entry {
  origins: readonly string[];
  parentId: string | null;
  expiresAtMs: number;
}

const LIST_PAGE = 1000;
/** Children of one parent indexed at most (as many as mint.maxActiveChildren allows by default). */
const MAX_CHILDREN_PER_PARENT = 1000;

/**
 * A short-lived browser key's origin is still answered for CORS this long after the key expired, so the page
 * can read the gateway's 401 key_expired (and fetch a new key) instead of seeing a failed preflight. CORS
 * only lets the page read the answer; the key itself is refused as before.
 */
export const EXPIRED_ORIGIN_GRACE_MS = 10 * 60_000;

export function createKeyOriginIndex(options: {
  store: KeyStore;
  /** Keys declared in the YAML (read per call: a reload applies at once). */
  declared: () => readonly KeyRecord[];
  now: () => number;
  onError: (message: string, err?: unknown) => void;
  maxKeys?: number;
}): KeyOriginIndex {
  const maxKeys = options.maxKeys ?? 100_000;
  let entries = new Map<string, Entry>();
  let byOrigin = new Map<string, Set<string>>();
  /** Indexed children by parent id, so a parent's change re-reads only its own children. */
  let childrenOf = new Map<string, Set<string>>();
  let warnedFull = false;
  /** Ids changed while a full reload was running: re-read once it has been installed. */
  let changedDuringReload: Set<string> | null = null;
  let reloading: Promise<void> | null = null;

  function entryOf(record: KeyRecord, nowMs: number): Entry | null {
    if (record.allowedOrigins === null || record.allowedOrigins.length === 0) return null;
    const state = keyState(record, nowMs);
    const expiresAtMs = record.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(record.expiresAt) + EXPIRED_ORIGIN_GRACE_MS;
    if (state === 'revoked' || (state === 'expired' && expiresAtMs <= nowMs)) return null;
    return { origins: record.allowedOrigins.map((o) => o.toLowerCase()), parentId: record.parentId, expiresAtMs };
  }

  function remove(id: string): void {
    const old = entries.get(id);
    if (old === undefined) return;
    entries.delete(id);
    for (const origin of old.origins) unlink(byOrigin, origin, id);
    if (old.parentId !== null) unlink(childrenOf, old.parentId, id);
  }

  function put(id: string, entry: Entry | null): void {
    remove(id);
    if (entry === null) return;
    if (entry.parentId !== null) {
      // A child within its parent's origins needs no entry: the parent's answers them, and a request with the child
      // is checked against the parent's origins anyway (so its own could never be used beyond them).
      const parent = entries.get(entry.parentId);
      if (parent !== undefined && entry.origins.every((origin) => parent.origins.includes(origin))) return;
      // Otherwise one parent indexes at most MAX_CHILDREN_PER_PARENT children: minting cannot fill the index.
      if ((childrenOf.get(entry.parentId)?.size ?? 0) >= MAX_CHILDREN_PER_PARENT) return;
    }
    if (entries.size >= maxKeys) pruneExpired(options.now());
    if (entries.size >= maxKeys) {
      if (!warnedFull) options.onError(`CORS origin index full (${maxKeys} keys); origins of further keys get no CORS answer`);
      warnedFull = true;
      return;
    }
    entries.set(id, entry);
    for (const origin of entry.origins) link(byOrigin, origin, id);
    if (entry.parentId !== null) link(childrenOf, entry.parentId, id);
  }

  function pruneExpired(nowMs: number): void {
    for (const [id, entry] of entries) if (entry.expiresAtMs <= nowMs) remove(id);
  }

  async function refreshOne(id: string): Promise<void> {
    changedDuringReload?.add(id);
    const record = await options.store.get(id);
    put(id, record === null ? null : entryOf(record, options.now()));
    // A parent's revocation or expiry ends its children too (docs/api.md).
    const children = [...(childrenOf.get(id) ?? [])];
    await Promise.all(
      children.map(async (childId) => {
        const child = await options.store.get(childId);
        put(childId, child === null || record === null || keyState(record, options.now()) !== 'active' ? null : entryOf(child, options.now()));
      }),
    );
  }

  async function reloadAll(): Promise<void> {
    changedDuringReload = new Set();
    const nextEntries: [string, KeyRecord][] = [];
    let cursor: string | undefined;
    do {
      const page = await options.store.list({ limit: LIST_PAGE, cursor });
      for (const record of page.data) nextEntries.push([record.id, record]);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    const nowMs = options.now();
    const parents = new Map(nextEntries);
    entries = new Map();
    byOrigin = new Map();
    childrenOf = new Map();
    warnedFull = false;
    for (const [id, record] of nextEntries) {
      const parent = record.parentId === null ? null : parents.get(record.parentId);
      const parentActive = parent === null || (parent !== undefined && keyState(parent, nowMs) === 'active');
      put(id, parentActive ? entryOf(record, nowMs) : null);
    }
    const missed = changedDuringReload;
    changedDuringReload = null;
    await Promise.all([...missed].map(refreshOne));
  }

  return {
    allows(origin, nowMs) {
      const lower = origin.toLowerCase();
      for (const declared of options.declared()) {
        if (declared.allowedOrigins?.some((o) => o.toLowerCase() === lower) === true && keyState(declared, nowMs) === 'active') return true;
      }
      const ids = byOrigin.get(lower);
      if (ids === undefined) return false;
      for (const id of ids) {
        const entry = entries.get(id);
        if (entry !== undefined && entry.expiresAtMs > nowMs) return true;
      }
      return false;
    },
    async refresh(keyId) {
      try {
        if (keyId !== null) return await refreshOne(keyId);
        reloading ??= reloadAll().finally(() => {
          reloading = null;
        });
        await reloading;
      } catch (err) {
        options.onError('CORS origin index refresh failed', err);
      }
    },
  };
}

function link(index: Map<string, Set<string>>, key: string, id: string): void {
  let ids = index.get(key);
  if (ids === undefined) index.set(key, (ids = new Set()));
  ids.add(id);
}

function unlink(index: Map<string, Set<string>>, key: string, id: string): void {
  const ids = index.get(key);
  ids?.delete(id);
  if (ids?.size === 0) index.delete(key);
}
