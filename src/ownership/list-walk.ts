import { mayReach, OBJECT_ID_RE } from './access.js';
import type { ObjectKind, ObjectOwner } from './types.js';

/**
 * Lists filtered to the caller's objects (docs/isolation.md): `GET /v1/files` and `GET /v1/batches` walk xAI's
 * pages, keep the items the caller may reach, in xAI's order, and hand out a cursor of the gateway's own instead
 * of xAI's pagination token (which names the last object of xAI's page: another tenant's, possibly).
 */

/** One page of an xAI list: files answer `{data, pagination_token}`, batches `{batches, pagination_token}`. */
export interface ListPage {
  /** The field holding the items. */
  field: string;
  items: readonly unknown[];
  nextToken: string | null;
  /** xAI's `object` field, when the page has one (e.g. "list"). */
  object: string | null;
}

/** The page in an xAI list answer, or null when the answer has no list in it. */
export function readListPage(answer: unknown): ListPage | null {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return null;
  const body = answer as Record<string, unknown>;
  const field = ['data', 'batches'].find((name) => Array.isArray(body[name]));
  if (field === undefined) return null;
  const token = body['pagination_token'];
  const object = body['object'];
  return {
    field,
    items: body[field] as unknown[],
    nextToken: typeof token === 'string' && token !== '' ? token : null,
    object: typeof object === 'string' ? object : null,
  };
}

/** An item's id: files and batches carry `id`; a batch may carry only `batch_id`. */
export function listItemId(item: unknown): string | null {
  if (typeof item !== 'object' || item === null) return null;
  const record = item as Record<string, unknown>;
  for (const candidate of [record['id'], record['batch_id']]) if (typeof candidate === 'string') return candidate;
  return null;
}

/** Where a walk starts: an xAI page (null = the first), and the part of it already handed out. */
export interface WalkPosition {
  upstreamToken: string | null;
  skip: number;
  afterId: string | null;
}

export interface WalkInput<Stop> {
  kind: ObjectKind;
  keyId: string;
  /** Items the caller asked for. */
  limit: number;
  start: WalkPosition;
  /** The page size asked of xAI: a page shorter than this is the last one. */
  pageSize: number;
  /** Pages fetched at most for one answer; the walk then answers what it has, with a cursor to go on. */
  maxPages: number;
  /** Fetch one of xAI's pages; `stop` ends the walk with that answer (e.g. xAI's own error, relayed). */
  fetchPage(upstreamToken: string | null): Promise<{ kind: 'page'; page: ListPage } | { kind: 'stop'; answer: Stop }>;
  owners(ids: readonly string[]): Promise<(ObjectOwner | null)[]>;
}

export type WalkResult<Stop> =
  | { kind: 'items'; items: unknown[]; next: WalkPosition | null; object: string | null; field: string }
  | { kind: 'stop'; answer: Stop };

/** Where to resume inside a page: after `afterId` when the page still holds it, else after `skip` items. */
function resumeIndex(page: ListPage, position: WalkPosition): number {
  if (position.afterId !== null) {
    const at = page.items.findIndex((item) => listItemId(item) === position.afterId);
    if (at !== -1) return at + 1;
  }
  return Math.min(position.skip, page.items.length);
}

/**
 * Walks xAI's pages from `start`, keeping the caller's objects until `limit` are found, then looks on for the
 * caller's next object, so that a position to go on from is returned exactly when more remain — no empty last
 * page. The look-ahead fetches only pages the next call would fetch anyway, within the same `maxPages`.
 */
export async function walkOwnedList<Stop>(input: WalkInput<Stop>): Promise<WalkResult<Stop>> {
  const items: unknown[] = [];
  let position = input.start;
  let last: ListPage | null = null;
  const done = (next: WalkPosition | null): WalkResult<Stop> => ({
    kind: 'items',
    items,
    next,
    object: last?.object ?? null,
    field: last?.field ?? 'data',
  });
  for (let fetched = 0; fetched < input.maxPages; fetched += 1) {
    const answer = await input.fetchPage(position.upstreamToken);
    if (answer.kind === 'stop') return answer;
    const page = answer.page;
    last = page;
    const from = resumeIndex(page, position);
    const ids = page.items.slice(from).map(listItemId);
    const lookups = ids.filter((id): id is string => id !== null && OBJECT_ID_RE.test(id));
    const found = await input.owners(lookups);
    const owners = new Map<string, ObjectOwner | null>(lookups.map((id, i) => [id, found[i] ?? null]));
    for (let i = 0; i < ids.length; i += 1) {
      const id = ids[i] ?? null;
      if (id === null || !mayReach(owners.get(id) ?? null, input.kind, input.keyId)) continue;
      // The page is full and this is the caller's next object: the next call starts right before it.
      if (items.length === input.limit) return done({ upstreamToken: position.upstreamToken, skip: from + i, afterId: from + i === 0 ? null : listItemId(page.items[from + i - 1]) });
      items.push(page.items[from + i]);
    }
    const atEnd = page.items.length < input.pageSize || page.nextToken === null || page.nextToken === position.upstreamToken;
    if (atEnd) return done(null);
    position = { upstreamToken: page.nextToken, skip: 0, afterId: null };
  }
  return done(position);
}
