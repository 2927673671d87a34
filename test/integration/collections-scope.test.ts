import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startHarness, type Harness } from '../helpers/harness.js';

// The `collections` scope (docs/api.md): every key with `documents` shares the operator's one xAI team and so every
// collection in it; a key (or its plan) lists the collection ids its documents searches may name. Default: none.
let h: Harness;

const YAML = `
plans:
  docs:
    models: ["*"]
    endpoints: ["documents"]
    collections: ["collection_handbook", "collection_faq-*"]
`;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'collections-scope', yaml: YAML });
});

afterAll(async () => {
  await h.close();
});

function search(key: string, collectionIds: unknown): Promise<Response> {
  return postJson(`${h.url}/v1/documents/search`, { query: 'refund policy', source: { collection_ids: collectionIds } }, { authorization: `Bearer ${key}` });
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

describe('documents search names only the key\'s collections', () => {
  it('a key\'s own list: its collections pass, another is 403 collection_not_allowed and goes nowhere', async () => {
    const { key } = await h.createKey({ name: 'own', models: ['*'], endpoints: ['documents'], collections: ['collection_a'] });
    h.fake.reset();
    expect((await search(key, ['collection_a'])).status).toBe(200);
    expect(h.fake.requests).toHaveLength(1);
    h.fake.reset();
    for (const ids of [['collection_b'], ['collection_a', 'collection_b']]) {
      const refused = await search(key, ids);
      expect(refused.status).toBe(403);
      expect(await errorCode(refused)).toBe('collection_not_allowed');
    }
    expect(h.fake.requests).toHaveLength(0);
  });

  it('a plan\'s list, glob patterns included, applies to keys without their own', async () => {
    const { key } = await h.createKey({ name: 'planned', plan: 'docs' });
    expect((await search(key, ['collection_handbook', 'collection_faq-2026'])).status).toBe(200);
    expect(await errorCode(await search(key, ['collection_payroll']))).toBe('collection_not_allowed');
  });

  it('default none: a key with `documents` but no collections may search nothing; ["*"] may search all', async () => {
    const { key: none } = await h.createKey({ name: 'none', models: ['*'], endpoints: ['documents'] });
    expect(await errorCode(await search(none, ['collection_a']))).toBe('collection_not_allowed');
    const { key: all } = await h.createKey({ name: 'all', models: ['*'], endpoints: ['documents'], collections: ['*'] });
    expect((await search(all, ['collection_anything'])).status).toBe(200);
  });

  it('a search that names no collection is 400: what xAI would search then is not documented', async () => {
    const { key } = await h.createKey({ name: 'all-2', models: ['*'], endpoints: ['documents'], collections: ['*'] });
    h.fake.reset();
    for (const ids of [undefined, [], 'collection_a', [42]]) {
      const response = await search(key, ids);
      expect(response.status).toBe(400);
      expect(await errorCode(response)).toBe('invalid_request');
    }
    expect(h.fake.requests).toHaveLength(0);
  });

  it('a child inherits its parent\'s collections, may narrow them, never widen; a narrowed parent bounds its children', async () => {
    const parent = await h.createKey({ name: 'parent', models: ['*'], endpoints: ['documents'], collections: ['collection_a', 'collection_b'], mint: { maxTtlSeconds: 600 } });
    const mint = (body: Record<string, unknown>): Promise<Response> => postJson(`${h.url}/gateway/keys`, { name: 'child', ...body }, { authorization: `Bearer ${parent.key}` });
    const inherited = (await (await mint({})).json()) as { key: string; collections: string[] };
    expect(inherited.collections).toEqual(['collection_a', 'collection_b']);
    const narrowed = (await (await mint({ collections: ['collection_a'] })).json()) as { key: string };
    expect(await errorCode(await search(narrowed.key, ['collection_b']))).toBe('collection_not_allowed');
    const widened = await mint({ collections: ['collection_c'] });
    expect(widened.status).toBe(400);
    expect(JSON.stringify(await widened.json())).toContain('collections');

    expect((await h.admin('PATCH', `/admin/keys/${parent.id}`, { collections: ['collection_b'] })).status).toBe(200);
    await expect.poll(async () => (await search(inherited.key, ['collection_a'])).status, { timeout: 10_000 }).toBe(403);
    expect((await search(inherited.key, ['collection_b'])).status).toBe(200);
  });

  it('GET /v1/api-key and the admin record show the key\'s collections', async () => {
    const { key, id } = await h.createKey({ name: 'shown', models: ['*'], endpoints: ['documents', 'api-key'], collections: ['collection_x'] });
    const own = (await (await fetch(`${h.url}/v1/api-key`, { headers: { authorization: `Bearer ${key}` } })).json()) as { collections: string[] };
    expect(own.collections).toEqual(['collection_x']);
    const record = (await (await h.admin('GET', `/admin/keys/${id}`)).json()) as { collections: string[] };
    expect(record.collections).toEqual(['collection_x']);
  });
});
