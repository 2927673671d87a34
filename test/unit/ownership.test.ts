import { describe, expect, it } from 'vitest';
import { createdObjectId, decodeOwner, encodeOwner, mayReach, objectExpiresAtMs } from '../../src/ownership/access.js';
import { collectObjectRefs, MAX_OBJECT_REFS, mayReferenceObjects } from '../../src/ownership/body-refs.js';
import { listItemId, readListPage, walkOwnedList, type ListPage, type WalkPosition, type WalkResult } from '../../src/ownership/list-walk.js';
import type { ObjectOwner } from '../../src/ownership/types.js';

const owner = (id: string, overrides: Partial<ObjectOwner> = {}): ObjectOwner => ({
  id,
  kind: 'file',
  ownerId: 'key_owner',
  ownerParentId: 'key_parent',
  createdAtMs: 0,
  expiresAtMs: null,
  upFront: null,
  ...overrides,
});

describe('mayReach: the owner and the key that minted it, nobody else', () => {
  it.each([
    ['the owner', owner('f'), 'file', 'key_owner', true],
    ['the owner\'s parent', owner('f'), 'file', 'key_parent', true],
    ['a sibling or stranger', owner('f'), 'file', 'key_sibling', false],
    ['a root owner\'s child (a child never reaches its parent\'s)', owner('f', { ownerId: 'key_parent', ownerParentId: null }), 'file', 'key_owner', false],
    ['the owner, naming it as another kind', owner('f'), 'response', 'key_owner', false],
    ['anyone, without a record', null, 'file', 'key_owner', false],
  ] as const)('%s → %s', (_name, record, kind, keyId, expected) => {
    expect(mayReach(record, kind, keyId)).toBe(expected);
  });
});

describe('createdObjectId: the id a creation answer gives', () => {
  it.each([
    ['file', { id: 'file_1', object: 'file' }, 'file_1'],
    ['response', { id: 'da8e02b5-c40e_us-east-1', object: 'response' }, 'da8e02b5-c40e_us-east-1'],
    ['batch', { batch_id: 'batch_1', id: 'batch_other' }, 'batch_1'],
    ['batch', { id: 'batch_2' }, 'batch_2'],
    ['deferred', { request_id: 'f15c114e-f47d' }, 'f15c114e-f47d'],
    ['video', { request_id: 'a3d1008e' }, 'a3d1008e'],
    ['deferred', { id: 'chatcmpl-1' }, null],
    ['file', { id: '../../admin' }, null],
    ['file', { id: 42 }, null],
    ['file', ['file_1'], null],
  ] as const)('%s %j → %s', (kind, answer, expected) => {
    expect(createdObjectId(kind, answer)).toBe(expected);
  });
});

describe('objectExpiresAtMs: a record lapses with its object', () => {
  const now = 1_765_000_000_000;
  it.each([
    ['a file with expires_at', 'file', { expires_at: 1_765_003_600 }, 1_765_003_600_000],
    ['a file without', 'file', { expires_at: null }, null],
    ['a response: 30 days from created_at', 'response', { created_at: 1_765_000_000 }, 1_765_000_000_000 + 30 * 86_400_000],
    ['a deferred completion: 24 hours', 'deferred', {}, now + 86_400_000],
    ['a batch: no documented end', 'batch', { id: 'batch_1' }, null],
  ] as const)('%s', (_name, kind, answer, expected) => {
    expect(objectExpiresAtMs(kind, answer, now)).toBe(expected);
  });
});

describe('owner records: encoded and decoded', () => {
  it('round-trips', () => {
    const record = owner('file_x', { expiresAtMs: 5 });
    expect(decodeOwner('file_x', encodeOwner(record))).toEqual(record);
  });
  it('round-trips an up-front charge, with or without a model', () => {
    for (const model of ['grok-4', null]) {
      const record = owner('req_1', { kind: 'deferred', upFront: { model, promptTokens: 12, completionTokens: 1000, costTicks: 150_000_000 } });
      expect(decodeOwner('req_1', encodeOwner(record))).toEqual(record);
    }
  });
  it('reads a charge stored as a bare cost (records written before tokens were charged up front)', () => {
    expect(decodeOwner('v', '{"k":"video","o":"key_a","p":null,"c":1,"e":null,"r":7}')?.upFront).toEqual({ model: null, promptTokens: 0, completionTokens: 0, costTicks: 7 });
  });
  it.each([
    '',
    'null',
    '[]',
    '{"k":"tape","o":"key_a","p":null,"c":1,"e":null}',
    '{"k":"file","o":"","p":null,"c":1,"e":null}',
    '{"k":"file","o":"key_a","p":3,"c":1,"e":null}',
    '{"k":"video","o":"key_a","p":null,"c":1,"e":null,"r":[1,2]}',
    '{"k":"video","o":"key_a","p":null,"c":1,"e":null,"r":[1,2,-3]}',
    '{"k":"video","o":"key_a","p":null,"c":1,"e":null,"r":[1,2,3],"m":5}',
  ])(
    'malformed %j → null',
    (text) => {
      expect(decodeOwner('file_x', text)).toBeNull();
    },
  );
});

describe('body references', () => {
  it('finds file_id, file_ids and previous_response_id at any depth, once each; other value types are not references', () => {
    const body = {
      previous_response_id: 'resp_1',
      messages: [{ content: [{ type: 'file', file: { file_id: 'file_a' } }, { file_id: 'file_a' }] }],
      tools: [{ type: 'file_search', file_ids: ['file_b', 'file_c'] }, { parameters: { properties: { file_id: { type: 'string' } } } }],
      batch_requests: [{ responses: { previous_response_id: 'resp_2', input: [{ file_id: 'file_d' }] } }],
    };
    const refs = collectObjectRefs(body) ?? [];
    expect(refs.map((r) => `${r.kind}:${r.id}`).sort()).toEqual(['file:file_a', 'file:file_b', 'file:file_c', 'file:file_d', 'response:resp_1', 'response:resp_2']);
  });

  it('walks any depth without recursion', () => {
    let deep: unknown = { file_id: 'file_deep' };
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(collectObjectRefs({ x: deep })).toEqual([{ kind: 'file', id: 'file_deep' }]);
  });

  it(`more than ${MAX_OBJECT_REFS} distinct references → null (the request is refused)`, () => {
    const many = Array.from({ length: MAX_OBJECT_REFS + 1 }, (_, i) => ({ file_id: `file_${i}` }));
    expect(collectObjectRefs({ many })).toBeNull();
    expect(collectObjectRefs({ many: many.slice(0, MAX_OBJECT_REFS) })).toHaveLength(MAX_OBJECT_REFS);
  });

  it.each([
    ['{"model":"grok-4","messages":[{"role":"user","content":"hi"}]}', false],
    ['{"file_id":"f"}', true],
    ['{"previous_response_id":"r"}', true],
    ['{"file\\u005fid":"f"}', true],
    ['{"content":"caf\\u00e9"}', true],
  ])('pre-check %s → %s (a body that may name an object is walked)', (raw, expected) => {
    expect(mayReferenceObjects(Buffer.from(raw))).toBe(expected);
  });
});

describe('list pages', () => {
  it.each([
    [{ data: [{ id: 'file_1' }], pagination_token: 'file_1', object: 'list' }, { field: 'data', items: [{ id: 'file_1' }], nextToken: 'file_1', object: 'list' }],
    [{ batches: [], pagination_token: null }, { field: 'batches', items: [], nextToken: null, object: null }],
    [{ data: [], pagination_token: '' }, { field: 'data', items: [], nextToken: null, object: null }],
    [{ results: [] }, null],
    [[1, 2], null],
  ])('%j → %j', (answer, expected) => {
    expect(readListPage(answer)).toEqual(expected);
  });

  it('an item\'s id is `id`, else `batch_id`', () => {
    expect([listItemId({ id: 'a', batch_id: 'b' }), listItemId({ batch_id: 'b' }), listItemId({}), listItemId('x')]).toEqual(['a', 'b', null, null]);
  });
});

describe('walkOwnedList: the caller\'s objects, in xAI\'s order, across pages', () => {
  /** An xAI-like list of ids paged by "after this id"; `mine` are the caller's. */
  function world(ids: readonly string[], pageSize: number) {
    const fetched: (string | null)[] = [];
    const fetchPage = (token: string | null): Promise<{ kind: 'page'; page: ListPage }> => {
      fetched.push(token);
      const from = token === null ? 0 : ids.indexOf(token) + 1;
      const items = ids.slice(from, from + pageSize).map((id) => ({ id }));
      return Promise.resolve({ kind: 'page', page: { field: 'data', items, nextToken: items.at(-1)?.id ?? null, object: null } });
    };
    return { fetched, fetchPage };
  }
  const owners = (mine: ReadonlySet<string>) => (ids: readonly string[]) =>
    Promise.resolve(ids.map((id) => (mine.has(id) ? owner(id, { ownerId: 'key_me' }) : owner(id, { ownerId: 'key_other' }))));

  async function walkAll(ids: string[], mine: Set<string>, limit: number, pageSize: number, maxPages = 50) {
    const { fetched, fetchPage } = world(ids, pageSize);
    const pages: string[][] = [];
    let start: WalkPosition | null = { upstreamToken: null, skip: 0, afterId: null };
    while (start !== null && pages.length < 100) {
      const result: WalkResult<never> = await walkOwnedList({ kind: 'file', keyId: 'key_me', limit, start, pageSize, maxPages, fetchPage, owners: owners(mine) });
      if (result.kind !== 'items') throw new Error('stopped');
      pages.push(result.items.map((item: unknown) => (item as { id: string }).id));
      start = result.next;
    }
    return { pages, fetched };
  }

  it('finds every one of mine among pages of others, in order, in pages of `limit`', async () => {
    const ids = Array.from({ length: 57 }, (_, i) => `file_${i}`);
    const mine = new Set(['file_0', 'file_13', 'file_14', 'file_40', 'file_56']);
    const { pages } = await walkAll(ids, mine, 2, 10);
    expect(pages).toEqual([['file_0', 'file_13'], ['file_14', 'file_40'], ['file_56']]);
  });

  it('ends without an extra empty page when the last of mine fills the page', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `file_${i}`);
    const { pages } = await walkAll(ids, new Set(['file_3', 'file_5']), 2, 10);
    expect(pages).toEqual([['file_3', 'file_5']]);
  });

  it('a walk stops after maxPages with a position to go on from, and loses nothing', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `file_${i}`);
    const { pages } = await walkAll(ids, new Set(['file_99']), 5, 10, 3);
    expect(pages.flat()).toEqual(['file_99']);
    expect(pages.length).toBe(4);
  });

  it('resumes after the last item handed out even when new objects were added on top meanwhile', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `file_${i}`);
    const mine = new Set(['file_1', 'file_2', 'file_3']);
    const first = world(ids, 10);
    const page1 = await walkOwnedList({ kind: 'file', keyId: 'key_me', limit: 2, start: { upstreamToken: null, skip: 0, afterId: null }, pageSize: 10, maxPages: 5, fetchPage: first.fetchPage, owners: owners(mine) });
    if (page1.kind !== 'items' || page1.next === null) throw new Error('expected a next position');
    // Two newer objects now come first on xAI's first page.
    const later = world(['file_new1', 'file_new2', ...ids], 10);
    const page2 = await walkOwnedList({ kind: 'file', keyId: 'key_me', limit: 2, start: page1.next, pageSize: 10, maxPages: 5, fetchPage: later.fetchPage, owners: owners(mine) });
    expect(page2.kind === 'items' ? page2.items : null).toEqual([{ id: 'file_3' }]);
  });

  it('a stop answer (xAI\'s own error) ends the walk with it', async () => {
    const result = await walkOwnedList({
      kind: 'file',
      keyId: 'key_me',
      limit: 5,
      start: { upstreamToken: null, skip: 0, afterId: null },
      pageSize: 10,
      maxPages: 5,
      fetchPage: () => Promise.resolve({ kind: 'stop', answer: 'xAI said no' }),
      owners: owners(new Set()),
    });
    expect(result).toEqual({ kind: 'stop', answer: 'xAI said no' });
  });
});
