/**
 * Tenant isolation (docs/isolation.md): every client key shares the operator's one xAI team, so the gateway
 * itself records which client key created each stateful object and lets only that key (and the key that
 * minted it) reach the object again.
 */

/** The stateful objects xAI keeps for a team, by the route family that creates and addresses them. */
export type ObjectKind = 'file' | 'response' | 'batch' | 'deferred' | 'video';

export const OBJECT_KINDS: readonly ObjectKind[] = ['file', 'response', 'batch', 'deferred', 'video'];

/** Who created one object, recorded from xAI's creation answer before that answer reaches the client. */
export interface ObjectOwner {
  /** xAI's id of the object, as xAI sent it (`file_…`, `batch_…`, a uuid). */
  id: string;
  kind: ObjectKind;
  /** The client key that created it. A rotation keeps the key id, so the object stays reachable. */
  ownerId: string;
  /** The key that minted the owner (a child key's parent), which may reach it too; null for a root key. */
  ownerParentId: string | null;
  createdAtMs: number;
  /** When the record lapses with its object (epoch ms), or null while the object has no known end. */
  expiresAtMs: number | null;
  /**
   * What the creation was charged up front for a result xAI reports later (a video, a deferred completion), or
   * null for other objects. When the result is fetched, the charge is corrected to xAI's usage (docs/isolation.md).
   */
  upFront: UpFrontCharge | null;
}

/** A creation's up-front charge: its admission's reservation, charged when xAI accepted the request. */
export interface UpFrontCharge {
  /** The model the creation named: the correction is recorded under it, so the two add up in one usage row. */
  model: string | null;
  promptTokens: number;
  completionTokens: number;
  costTicks: number;
}

/** Where a filtered list resumes (see src/http/v1/object-list.ts): a page of xAI's list, and how much of it was used. */
export interface ListCursor {
  /** Only the key that was given the cursor may use it. */
  keyId: string;
  kind: ObjectKind;
  /** xAI's pagination token of the page to fetch again, or null for the first page. */
  upstreamToken: string | null;
  /** Items of that page already walked. */
  skip: number;
  /**
   * The item of that page right before where to resume. Resuming skips up to it when the page still holds it, so
   * objects created meanwhile (which shift a newest-first first page) are neither repeated nor skipped; `skip`
   * otherwise. Kept in the store only: a client never sees it.
   */
  afterId: string | null;
  /** The list's own query (order, sort_by, …) without limit and pagination_token. */
  query: string;
}

/**
 * Storage of ownership records and list cursors. Implemented in process (memory-ownership-store.ts) and on
 * Redis (redis-ownership-store.ts); both pass test/integration/ownership-store.contract.test.ts.
 *
 * Contract:
 * - `record` writes (or replaces) the record of `owner.id`; it is readable on every instance once the promise
 *   resolves. A record whose `expiresAtMs` has passed reads as null.
 * - `getMany` answers one entry per id, in order (null = no record): one store read per id, nothing else.
 * - `claimSettlement` answers true exactly once per id, on every instance at once.
 * - `forget` removes the record (an object deleted through the gateway); unknown ids are fine.
 * - `saveCursor` stores a cursor for `ttlMs` and returns an opaque token that names nothing of xAI's;
 *   `loadCursor` returns it while it lives, else null.
 * - Every method rejects (never hangs forever) when the backing store is unreachable.
 */
export interface OwnershipStore {
  record(owner: ObjectOwner): Promise<void>;
  getMany(ids: readonly string[]): Promise<(ObjectOwner | null)[]>;
  forget(id: string): Promise<void>;
  /**
   * True the first time it is called for `id`, false ever after (while the record lives): the one read of a
   * deferred completion or video that is charged, however often its result is read again.
   */
  claimSettlement(id: string, expiresAtMs: number | null): Promise<boolean>;
  saveCursor(cursor: ListCursor, ttlMs: number): Promise<string>;
  loadCursor(token: string): Promise<ListCursor | null>;
}
