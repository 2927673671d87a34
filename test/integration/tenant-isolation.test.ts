import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startHarness, UPSTREAM_KEY, type Harness } from '../helpers/harness.js';

// Tenant isolation (docs/isolation.md): every client key shares the operator's one xAI team, so the gateway keeps
// each key's files, stored responses, batches, deferred completions and videos to itself. Two gateway instances
// share one Redis: objects are created through the first and addressed through the second, so the owner record
// must be in the store (not in one instance's memory) before the creation answer reaches the client.
let h1: Harness;
let h2: Harness;

interface Key {
  key: string;
  id: string;
}
/** A root key that may mint; its two children (siblings); another root key. */
let parent: Key;
let child: Key;
let sibling: Key;
let stranger: Key;
/** Each key's own batch, to carry body references inside batch requests. */
const ownBatch = new Map<string, string>();

const ALL = { models: ['*'], endpoints: ['*'] };

beforeAll(async () => {
  h1 = await startHarness({ store: 'redis', name: 'tenant-isolation' });
  h2 = await startHarness({ store: 'redis', name: 'tenant-isolation', prefix: h1.prefix, fake: h1.fake });
  parent = await h1.createKey({ name: 'parent', ...ALL, mint: { maxTtlSeconds: 3600 } });
  stranger = await h1.createKey({ name: 'stranger', ...ALL });
  child = await mint(parent.key, 'child');
  sibling = await mint(parent.key, 'sibling');
  for (const k of [parent, child, sibling, stranger]) ownBatch.set(k.key, await create('batch', k.key));
});

afterAll(async () => {
  await h2.close();
  await h1.close();
});

async function mint(parentKey: string, name: string): Promise<Key> {
  const response = await postJson(`${h1.url}/gateway/keys`, { name, ttlSeconds: 3600 }, { authorization: `Bearer ${parentKey}` });
  expect(response.status).toBe(201);
  const body = (await response.json()) as { key: string; id: string };
  return { key: body.key, id: body.id };
}

function call(base: string, key: string, method: string, path: string, json?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
}

function multipartFile(name: string, content: string, extra: Record<string, string> = {}): { body: Buffer; contentType: string } {
  const boundary = `----xgw${randomBytes(8).toString('hex')}`;
  const fields = Object.entries(extra).map(([field, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${field}"\r\n\r\n${value}\r\n`);
  const body = Buffer.from(
    `${fields.join('')}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n${content}\r\n--${boundary}--\r\n`,
  );
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

type Kind = 'file' | 'response' | 'batch' | 'deferred' | 'video';

/** Creates an object of `kind` as `key` through `base` (the first instance by default); returns its id. */
async function create(kind: Kind, key: string, base = h1.url): Promise<string> {
  let response: Response;
  switch (kind) {
    case 'file': {
      const { body, contentType } = multipartFile('notes.txt', `private notes ${randomBytes(4).toString('hex')}`);
      response = await fetch(`${base}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': contentType }, body });
      break;
    }
    case 'response':
      response = await call(base, key, 'POST', '/v1/responses', { model: 'grok-4-fast-reasoning', input: 'remember this' });
      break;
    case 'batch':
      response = await call(base, key, 'POST', '/v1/batches', { name: 'nightly' });
      break;
    case 'deferred':
      response = await call(base, key, 'POST', '/v1/chat/completions', { model: 'grok-3-mini', messages: [{ role: 'user', content: 'later' }], deferred: true });
      break;
    case 'video':
      response = await call(base, key, 'POST', '/v1/videos/generations', { model: 'grok-imagine-video', prompt: 'waves', duration: 1 });
      break;
  }
  expect(response.status).toBe(200);
  const answer = (await response.json()) as { id?: string; batch_id?: string; request_id?: string };
  const id = kind === 'deferred' || kind === 'video' ? answer.request_id : kind === 'batch' ? (answer.batch_id ?? answer.id) : answer.id;
  expect(typeof id).toBe('string');
  return id as string;
}

interface Addressing {
  name: string;
  method: string;
  path: (id: string, caller: string) => string;
  json?: (id: string) => unknown;
  /** Changes the object (delete, cancel): tried by foreign keys only; the owner's own success is shown elsewhere. */
  destructive?: boolean;
}

const chatWithFile = (fileId: string): unknown => ({
  model: 'grok-3-mini',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'summarise' }, { type: 'file', file: { file_id: fileId } }] }],
});

/** Every way a request can name an object of each kind: path ids, and references inside JSON bodies. */
const ADDRESSING: Record<Kind, Addressing[]> = {
  file: [
    { name: 'GET /v1/files/:id', method: 'GET', path: (id) => `/v1/files/${id}` },
    { name: 'GET /v1/files/:id/content', method: 'GET', path: (id) => `/v1/files/${id}/content` },
    { name: 'DELETE /v1/files/:id', method: 'DELETE', path: (id) => `/v1/files/${id}`, destructive: true },
    { name: 'a chat file part', method: 'POST', path: () => '/v1/chat/completions', json: chatWithFile },
    {
      name: 'a Responses input_file',
      method: 'POST',
      path: () => '/v1/responses',
      json: (id) => ({ model: 'grok-4-fast-reasoning', input: [{ role: 'user', content: [{ type: 'input_file', file_id: id }] }] }),
    },
    { name: 'an image edit', method: 'POST', path: () => '/v1/images/edits', json: (id) => ({ model: 'grok-imagine-image', prompt: 'a hat', image: { file_id: id } }) },
    { name: 'a file_ids list', method: 'POST', path: () => '/v1/responses', json: (id) => ({ model: 'grok-4-fast-reasoning', input: 'x', tools: [{ type: 'file_search', file_ids: [id] }] }) },
    {
      name: 'a file_id deep inside batch requests',
      method: 'POST',
      path: (_id, caller) => `/v1/batches/${ownBatch.get(caller) ?? ''}/requests`,
      json: (id) => ({ batch_requests: [{ chat_get_completion: chatWithFile(id) }] }),
    },
  ],
  response: [
    { name: 'GET /v1/responses/:id', method: 'GET', path: (id) => `/v1/responses/${id}` },
    { name: 'DELETE /v1/responses/:id', method: 'DELETE', path: (id) => `/v1/responses/${id}`, destructive: true },
    { name: 'previous_response_id', method: 'POST', path: () => '/v1/responses', json: (id) => ({ model: 'grok-4-fast-reasoning', input: 'and then?', previous_response_id: id }) },
    {
      name: 'previous_response_id inside batch requests',
      method: 'POST',
      path: (_id, caller) => `/v1/batches/${ownBatch.get(caller) ?? ''}/requests`,
      json: (id) => ({ batch_requests: [{ responses: { model: 'grok-4-fast-reasoning', input: 'x', previous_response_id: id } }] }),
    },
  ],
  batch: [
    { name: 'GET /v1/batches/:id', method: 'GET', path: (id) => `/v1/batches/${id}` },
    { name: 'GET /v1/batches/:id/requests', method: 'GET', path: (id) => `/v1/batches/${id}/requests` },
    { name: 'GET /v1/batches/:id/results', method: 'GET', path: (id) => `/v1/batches/${id}/results?limit=10` },
    {
      name: 'POST /v1/batches/:id/requests',
      method: 'POST',
      path: (id) => `/v1/batches/${id}/requests`,
      json: () => ({ batch_requests: [{ chat_get_completion: { model: 'grok-3-mini', messages: [{ role: 'user', content: 'x' }] } }] }),
    },
    { name: 'POST /v1/batches/:id:cancel', method: 'POST', path: (id) => `/v1/batches/${id}:cancel`, destructive: true },
  ],
  deferred: [{ name: 'GET /v1/chat/deferred-completion/:id', method: 'GET', path: (id) => `/v1/chat/deferred-completion/${id}` }],
  video: [{ name: 'GET /v1/videos/:id', method: 'GET', path: (id) => `/v1/videos/${id}` }],
};

async function expectRefused(base: string, key: Key, addressing: Addressing, id: string): Promise<void> {
  h1.fake.reset();
  const response = await call(base, key.key, addressing.method, addressing.path(id, key.key), addressing.json?.(id));
  const body = (await response.json()) as { error?: { code: string; message: string } };
  expect({ status: response.status, code: body.error?.code }).toEqual({ status: 404, code: 'not_found' });
  expect(h1.fake.requests).toHaveLength(0);
}

async function expectReached(base: string, key: Key, addressing: Addressing, id: string): Promise<void> {
  h1.fake.reset();
  const response = await call(base, key.key, addressing.method, addressing.path(id, key.key), addressing.json?.(id));
  await response.arrayBuffer();
  // 202: a deferred completion or video still being made, which is xAI's answer to its owner.
  expect([200, 202]).toContain(response.status);
  expect(h1.fake.requests.length).toBeGreaterThanOrEqual(1);
  expect(h1.fake.requests[0]?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
}

describe.each(Object.keys(ADDRESSING) as Kind[])('a %s', (kind) => {
  describe.each(ADDRESSING[kind].map((a) => [a.name, a] as const))('addressed by %s', (_name, addressing) => {
    it('made by a child: its sibling and another root key get 404 and nothing reaches xAI; the owner and its parent reach it', async () => {
      const id = await create(kind, child.key);
      await expectRefused(h2.url, sibling, addressing, id);
      await expectRefused(h2.url, stranger, addressing, id);
      if (addressing.destructive === true) return;
      await expectReached(h2.url, child, addressing, id);
      await expectReached(h2.url, parent, addressing, id);
    });

    it('made by a parent: its child gets 404 and nothing reaches xAI', async () => {
      const id = await create(kind, parent.key);
      await expectRefused(h2.url, child, addressing, id);
      if (addressing.destructive !== true) await expectReached(h2.url, parent, addressing, id);
    });
  });

  it('made outside the gateway (straight at xAI with the upstream key): no key reaches it', async () => {
    const id = await createAtUpstream(kind);
    for (const addressing of ADDRESSING[kind]) {
      for (const key of [parent, child, stranger]) await expectRefused(h2.url, key, addressing, id);
    }
  });

  it('an id that was never made is answered exactly like another key\'s object', async () => {
    const foreign = await create(kind, stranger.key);
    const addressing = ADDRESSING[kind][0] as Addressing;
    h1.fake.reset();
    const unknown = await call(h2.url, parent.key, addressing.method, addressing.path('file_0000unknown', parent.key));
    const other = await call(h2.url, parent.key, addressing.method, addressing.path(foreign, parent.key));
    const shape = async (r: Response): Promise<unknown> => {
      const body = (await r.json()) as { error: { type: string; code: string; message: string } };
      return { status: r.status, type: body.error.type, code: body.error.code, message: body.error.message.replace(/"[^"]*"/, '<id>') };
    };
    expect(await shape(other)).toEqual(await shape(unknown));
    expect(h1.fake.requests).toHaveLength(0);
  });
});

async function createAtUpstream(kind: Kind): Promise<string> {
  const headers = { authorization: `Bearer ${UPSTREAM_KEY}` };
  if (kind === 'file') {
    const { body, contentType } = multipartFile('outside.txt', 'made outside');
    const r = await fetch(`${h1.fake.url}/v1/files`, { method: 'POST', headers: { ...headers, 'content-type': contentType }, body });
    return ((await r.json()) as { id: string }).id;
  }
  const [path, json] = {
    response: ['/v1/responses', { model: 'grok-4-fast-reasoning', input: 'x' }],
    batch: ['/v1/batches', { name: 'outside' }],
    deferred: ['/v1/chat/completions', { model: 'grok-3-mini', messages: [{ role: 'user', content: 'x' }], deferred: true }],
    video: ['/v1/videos/generations', { model: 'grok-imagine-video', prompt: 'x', duration: 1 }],
  }[kind] as [string, unknown];
  const answer = (await (await postJson(`${h1.fake.url}${path}`, json, headers)).json()) as Record<string, string>;
  return answer['request_id'] ?? answer['batch_id'] ?? answer['id'] ?? '';
}

describe('the owner record', () => {
  it('is written before the creation answer is relayed: a streamed response\'s id is reachable the moment it arrives', async () => {
    const response = await call(h1.url, child.key, 'POST', '/v1/responses', { model: 'grok-4-fast-reasoning', input: 'stream it', stream: true }, { 'x-fake-scenario': 'hold' });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('\n\n')) text += Buffer.from((await reader.read()).value ?? new Uint8Array()).toString('utf8');
    expect(text).toContain('response.created');
    const id = /"id":"([^"]+)"/.exec(text)?.[1] ?? '';
    // The rest of the stream is still held by the fake: only the first event has reached the client.
    expect((await call(h2.url, child.key, 'GET', `/v1/responses/${id}`)).status).toBe(200);
    expect((await call(h2.url, parent.key, 'GET', `/v1/responses/${id}`)).status).toBe(200);
    expect((await call(h2.url, sibling.key, 'GET', `/v1/responses/${id}`)).status).toBe(404);
    h1.fake.release();
    while (!(await reader.read()).done);
  });

  it('is not written for a response sent with store: false (xAI keeps nothing to reach)', async () => {
    const response = await call(h1.url, parent.key, 'POST', '/v1/responses', { model: 'grok-4-fast-reasoning', input: 'x', store: false });
    const { id } = (await response.json()) as { id: string };
    expect(await h1.redis?.exists(`${h1.prefix}v1:obj:{${id}}`)).toBe(0);
    h1.fake.reset();
    expect((await call(h2.url, parent.key, 'GET', `/v1/responses/${id}`)).status).toBe(404);
    expect(h1.fake.requests).toHaveLength(0);
  });

  it('is hash-tagged by the object id and expires with its object', async () => {
    const { body, contentType } = multipartFile('short.txt', 'short-lived', { expires_after: '3600' });
    const upload = await fetch(`${h1.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${parent.key}`, 'content-type': contentType }, body });
    const file = (await upload.json()) as { id: string; expires_at: number };
    const fileTtl = await h1.redis?.pttl(`${h1.prefix}v1:obj:{${file.id}}`);
    expect(fileTtl).toBeGreaterThan(3_500_000);
    expect(fileTtl).toBeLessThanOrEqual(3_600_000);
    const responseId = await create('response', parent.key);
    const responseTtl = (await h1.redis?.pttl(`${h1.prefix}v1:obj:{${responseId}}`)) ?? 0;
    expect(Math.round(responseTtl / 86_400_000)).toBe(30);
    const deferredId = await create('deferred', parent.key);
    expect(Math.round(((await h1.redis?.pttl(`${h1.prefix}v1:obj:{${deferredId}}`)) ?? 0) / 3_600_000)).toBe(24);
  });

  it('is forgotten when its object is deleted through the gateway', async () => {
    for (const [kind, path] of [['file', '/v1/files/'], ['response', '/v1/responses/']] as const) {
      const id = await create(kind, child.key);
      const deleted = await call(h2.url, child.key, 'DELETE', `${path}${id}`);
      expect(deleted.status).toBe(200);
      await expect.poll(() => h1.redis?.exists(`${h1.prefix}v1:obj:{${id}}`), { timeout: 10_000 }).toBe(0);
      h1.fake.reset();
      expect((await call(h2.url, child.key, 'GET', `${path}${id}`)).status).toBe(404);
      expect(h1.fake.requests).toHaveLength(0);
    }
  });

  it('survives a rotation: the key keeps its id, so its new secret reaches what the old one made', async () => {
    const key = await h1.createKey({ name: 'rotating', ...ALL });
    const id = await create('file', key.key);
    const rotated = (await (await h1.admin('POST', `/admin/keys/${key.id}/rotate`, {})).json()) as { key: string };
    expect(rotated.key).not.toBe(key.key);
    expect((await call(h2.url, rotated.key, 'GET', `/v1/files/${id}`)).status).toBe(200);
    expect((await call(h2.url, stranger.key, 'GET', `/v1/files/${id}`)).status).toBe(404);
  });

  it('a body that spells file_id with \\u escapes is still checked', async () => {
    const id = await create('file', stranger.key);
    h1.fake.reset();
    const raw = `{"model":"grok-3-mini","messages":[{"role":"user","content":[{"type":"file","file":{"file\\u005fid":"${id}"}}]}]}`;
    const response = await fetch(`${h2.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${parent.key}`, 'content-type': 'application/json' },
      body: raw,
    });
    expect(response.status).toBe(404);
    expect(h1.fake.requests).toHaveLength(0);
  });

  it('a duplicate file_id key: xAI receives exactly the reference that was checked', async () => {
    const theirs = await create('file', stranger.key);
    const mine = await create('file', parent.key);
    const body = (first: string, last: string): string =>
      `{"model":"grok-3-mini","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"${first}","file_id":"${last}"}}]}]}`;
    const send = (raw: string): Promise<Response> =>
      fetch(`${h2.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${parent.key}`, 'content-type': 'application/json' }, body: raw });
    h1.fake.reset();
    expect((await send(body(mine, theirs))).status).toBe(404);
    expect(h1.fake.requests).toHaveLength(0);
    expect((await send(body(theirs, mine))).status).toBe(200);
    expect(h1.fake.requests[0]?.body.toString('utf8')).not.toContain(theirs);
  });

  it('a refusal releases its admission: a key with concurrency 1 is not left holding a slot', async () => {
    const key = await h1.createKey({ name: 'one-at-a-time', ...ALL, limits: { concurrency: 1 } });
    const foreign = await create('file', stranger.key);
    for (let i = 0; i < 3; i += 1) expect((await call(h2.url, key.key, 'GET', `/v1/files/${foreign}`)).status).toBe(404);
    expect((await call(h2.url, key.key, 'POST', '/v1/chat/completions', { model: 'grok-3-mini', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
  });
});

describe('GET /admin/objects/:id', () => {
  it('tells the operator which key owns an object, which key minted that key, and when it was made', async () => {
    const before = Date.now();
    const id = await create('video', child.key);
    const response = await h2.admin('GET', `/admin/objects/${id}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ id, kind: 'video', keyId: child.id, parentKeyId: parent.id });
    expect(Date.parse(String(body['createdAt']))).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(String(body['expiresAt']))).toBeGreaterThan(Date.now());
  });

  it('an object made outside the gateway, or an id of no object, is 404; a client key never opens it', async () => {
    const outside = await createAtUpstream('file');
    for (const id of [outside, 'not..an..id', 'file_never']) {
      const response = await h2.admin('GET', `/admin/objects/${encodeURIComponent(id)}`);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
    const mine = await create('file', parent.key);
    const asClient = await call(h2.url, parent.key, 'GET', `/admin/objects/${mine}`);
    expect(asClient.status).toBe(401);
  });
});

describe('lists show only what the caller may reach', () => {
  it('files: the walk crosses xAI pages full of other tenants\' objects; no foreign id appears anywhere, tokens included', async () => {
    const lister = await h1.createKey({ name: 'lister', ...ALL });
    const other = await h1.createKey({ name: 'other-lister', ...ALL });
    const mine: string[] = [];
    const foreign: string[] = [];
    // Newest first: one of mine on top, then 230 others (2+ xAI pages), mine in between and at the very end.
    mine.push(await create('file', lister.key));
    for (let i = 0; i < 230; i += 1) {
      foreign.push(i % 2 === 0 ? await createAtUpstream('file') : await create('file', other.key));
      if (i === 99) mine.push(await create('file', lister.key)); // the 101st: first on xAI's second page
      if (i === 150) mine.push(await create('file', lister.key));
    }
    mine.push(await create('file', lister.key));
    const expected = [...mine].reverse();

    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const query: string = token === null ? '?limit=2' : `?limit=2&pagination_token=${token}`;
      const response = await call(pages % 2 === 0 ? h2.url : h1.url, lister.key, 'GET', `/v1/files${query}`);
      expect(response.status).toBe(200);
      const text = await response.text();
      for (const id of foreign) expect(text).not.toContain(id);
      const page = JSON.parse(text) as { data: { id: string; object: string }[]; pagination_token: string | null };
      expect(Object.keys(page).sort()).toEqual(['data', 'pagination_token']);
      seen.push(...page.data.map((f) => f.id));
      token = page.pagination_token;
      if (token !== null) expect(token).toMatch(/^xgwpage_[A-Za-z0-9_-]{32}$/);
      pages += 1;
    } while (token !== null && pages < 10);
    expect(seen).toEqual(expected);
    expect(pages).toBe(2);
    expect(token).toBeNull();

    // The other tenant's list holds its own files only.
    const first = (await (await call(h2.url, other.key, 'GET', '/v1/files')).json()) as { data: { id: string }[]; pagination_token: string };
    const second = (await (await call(h2.url, other.key, 'GET', `/v1/files?pagination_token=${first.pagination_token}`)).json()) as {
      data: { id: string }[];
      pagination_token: string | null;
    };
    const theirs = [...first.data, ...second.data].map((f) => f.id);
    expect(theirs.some((id) => mine.includes(id))).toBe(false);
    expect([first.data.length, second.data.length, second.pagination_token]).toEqual([100, 115 - 100, null]);
  });

  it('a pagination token is the key\'s own: another key gets 400 and nothing of the list', async () => {
    const a = await h1.createKey({ name: 'token-a', ...ALL });
    const b = await h1.createKey({ name: 'token-b', ...ALL });
    for (let i = 0; i < 3; i += 1) await create('file', a.key);
    const first = (await (await call(h2.url, a.key, 'GET', '/v1/files?limit=1')).json()) as { pagination_token: string };
    expect(first.pagination_token).toMatch(/^xgwpage_/);
    const stolen = await call(h1.url, b.key, 'GET', `/v1/files?pagination_token=${first.pagination_token}`);
    expect(stolen.status).toBe(400);
    expect(((await stolen.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    const forged = await call(h1.url, a.key, 'GET', '/v1/files?pagination_token=file_anything');
    expect(forged.status).toBe(400);
  });

  it('batches: a parent sees its own and its children\'s, a child only its own', async () => {
    const root = await h1.createKey({ name: 'batch-root', ...ALL, mint: { maxTtlSeconds: 3600 } });
    const kid = await mint(root.key, 'batch-kid');
    const rootBatch = await create('batch', root.key);
    const kidBatch = await create('batch', kid.key);
    const foreignBatch = await create('batch', stranger.key);
    const ids = async (key: string): Promise<string[]> => {
      const list = (await (await call(h2.url, key, 'GET', '/v1/batches')).json()) as { batches: { id: string }[]; pagination_token: string | null };
      expect(list.pagination_token).toBeNull();
      return list.batches.map((b) => b.id);
    };
    expect(await ids(root.key)).toEqual([kidBatch, rootBatch]);
    expect(await ids(kid.key)).toEqual([kidBatch]);
    expect(await ids(root.key)).not.toContain(foreignBatch);
  });

  it('a limit outside 1..100 is 400 and goes nowhere', async () => {
    h1.fake.reset();
    for (const limit of ['0', '101', 'abc', '1.5']) {
      expect((await call(h2.url, parent.key, 'GET', `/v1/files?limit=${limit}`)).status).toBe(400);
    }
    expect(h1.fake.requests).toHaveLength(0);
  });
});
