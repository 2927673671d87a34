import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, rawRequest, startHarness, UPSTREAM_KEY, type Harness } from '../helpers/harness.js';

// Every route family of docs/api.md through the gateway to the fake xAI, with its endpoint scope; path
// parameters; model rules; multipart bodies byte for byte; the model lists; realtime client secrets.
let h: Harness;
let all: string;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'endpoints' });
  ({ key: all } = await h.createKey({ name: 'all', models: ['*'], endpoints: ['*'] }));
});

afterAll(async () => {
  await h.close();
});

interface CallOptions {
  json?: unknown;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

function call(key: string, method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...options.headers };
  let body: Buffer | string | undefined = options.body;
  if (options.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  }
  return fetch(`${h.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const lastSeen = (): (typeof h.fake.requests)[number] | undefined => h.fake.requests.at(-1);

function multipart(parts: { name: string; filename?: string; type?: string; data: Buffer | string }[]): { body: Buffer; contentType: string } {
  const boundary = `----xgw${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.type === undefined ? '' : `Content-Type: ${part.type}\r\n`}\r\n`;
    chunks.push(Buffer.from(head), Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A body sent with Transfer-Encoding: chunked (no Content-Length), in pieces; resolves with the answer. */
function chunkedUpload(path: string, key: string, contentType: string, body: Buffer, pieceBytes = 64 * 1024): Promise<{ status: number; text: string }> {
  const target = new URL(h.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: target.hostname, port: target.port, method: 'POST', path, headers: { authorization: `Bearer ${key}`, 'content-type': contentType, 'transfer-encoding': 'chunked' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    // The gateway may answer (413) and close before every piece is written: that is not a failure here.
    req.on('error', () => undefined);
    for (let at = 0; at < body.length; at += pieceBytes) req.write(body.subarray(at, at + pieceBytes));
    req.end();
  });
}

describe('every route family is forwarded under its endpoint scope', () => {
  const families: [string, string, string, CallOptions, string, number, string?][] = [
    ['chat', 'POST', '/v1/chat/completions', { json: { model: 'grok-3-mini', messages: [{ role: 'user', content: 'hi' }] } }, 'chat.completions', 200],
    ['legacy completions', 'POST', '/v1/completions', { json: { model: 'grok-3', prompt: 'count: 1, 2,', max_tokens: 3 } }, 'completions', 200],
    ['responses', 'POST', '/v1/responses', { json: { model: 'grok-4-fast-reasoning', input: 'hi' } }, 'responses', 200],
    ['responses compact', 'POST', '/v1/responses/compact', { json: { model: 'grok-4-fast-reasoning', input: 'hi' } }, 'responses', 200],
    ['messages (removed upstream: 410 passed through)', 'POST', '/v1/messages', { json: { model: 'grok-3', max_tokens: 5, messages: [] } }, 'messages', 410],
    ['embeddings', 'POST', '/v1/embeddings', { json: { model: 'v1', input: ['a', 'bb'] } }, 'embeddings', 200],
    ['image generations', 'POST', '/v1/images/generations', { json: { model: 'grok-imagine-image', prompt: 'a cat', n: 2 } }, 'images', 200],
    ['image edits', 'POST', '/v1/images/edits', { json: { model: 'grok-imagine-image', prompt: 'a hat', image: { url: 'https://example.com/cat.jpg' } } }, 'images', 200],
    ['video generations', 'POST', '/v1/videos/generations', { json: { model: 'grok-imagine-video', prompt: 'waves', duration: 2 } }, 'videos', 200],
    ['video edits', 'POST', '/v1/videos/edits', { json: { model: 'grok-imagine-video', prompt: 'slower' } }, 'videos', 200],
    ['video extensions', 'POST', '/v1/videos/extensions', { json: { model: 'grok-imagine-video', prompt: 'longer' } }, 'videos', 200],
    ['tokenize', 'POST', '/v1/tokenize-text', { json: { model: 'grok-3', text: 'Hello world!' } }, 'tokenize', 200],
    ['documents search', 'POST', '/v1/documents/search', { json: { query: 'fees', source: { collection_ids: ['collection_1'] } } }, 'documents', 200],
    // Lists are walked a full xAI page at a time and filtered to the caller's objects (see isolation tests).
    ['files list', 'GET', '/v1/files?limit=5&order=desc', {}, 'files', 200, '/v1/files?order=desc&limit=100'],
    ['batches create', 'POST', '/v1/batches', { json: { name: 'nightly' } }, 'batches', 200],
    ['batches list', 'GET', '/v1/batches', {}, 'batches', 200, '/v1/batches?limit=100'],
    ['text to speech', 'POST', '/v1/tts', { json: { text: 'hello', voice_id: 'ara' } }, 'tts', 200],
    ['realtime client secrets', 'POST', '/v1/realtime/client_secrets', { json: { expires_after: { seconds: 60 } } }, 'realtime', 200],
  ];

  it.each(families)('%s: %s %s with [%s]', async (_name, method, path, options, endpoint, status, upstreamPath) => {
    const { key } = await h.createKey({ name: `only-${endpoint}`, models: ['*'], endpoints: [endpoint], collections: ['*'] });
    h.fake.reset();
    const response = await call(key, method, path, options);
    expect(response.status).toBe(status);
    await response.arrayBuffer();
    expect(h.fake.requests).toHaveLength(1);
    expect(lastSeen()?.path).toBe(upstreamPath ?? path);
    expect(lastSeen()?.method).toBe(method);
    expect(lastSeen()?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    if (options.json !== undefined) expect(lastSeen()?.body.toString('utf8')).toBe(JSON.stringify(options.json));

    const { key: other } = await h.createKey({ name: `not-${endpoint}`, models: ['*'], endpoints: ['models'] });
    h.fake.reset();
    const refused = await call(other, method, path, options);
    expect(refused.status).toBe(403);
    expect(await errorCode(refused)).toBe('endpoint_not_allowed');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('text to speech: the audio bytes and their headers are relayed untouched', async () => {
    const response = await call(all, 'POST', '/v1/tts', { json: { text: 'hello', voice_id: 'ara' } });
    expect(response.headers.get('content-type')).toBe('audio/mpeg');
    expect(response.headers.get('x-trace-id')).toMatch(/^[0-9a-f-]{36}$/);
    const audio = Buffer.from(await response.arrayBuffer());
    expect(audio.subarray(0, 4)).toEqual(Buffer.from([0xff, 0xfb, 0x90, 0x64]));
    expect(audio.length).toBe(416);
  });

  it('responses: create, read and delete a stored response by id', async () => {
    const created = (await (await call(all, 'POST', '/v1/responses', { json: { model: 'grok-4-fast-reasoning', input: 'hi' } })).json()) as { id: string };
    const read = await call(all, 'GET', `/v1/responses/${created.id}`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { id: string }).id).toBe(created.id);
    const deleted = await call(all, 'DELETE', `/v1/responses/${created.id}`);
    expect(await deleted.json()).toEqual({ id: created.id, object: 'response', deleted: true });
    // Deleted through the gateway, so forgotten: the gateway's own 404, and xAI is not asked.
    h.fake.reset();
    const gone = await call(all, 'GET', `/v1/responses/${created.id}`);
    expect(gone.status).toBe(404);
    expect(await errorCode(gone)).toBe('not_found');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('an object xAI no longer has answers with xAI\'s own 404 to its owner', async () => {
    const created = (await (await call(all, 'POST', '/v1/responses', { json: { model: 'grok-4-fast-reasoning', input: 'hi' } })).json()) as { id: string };
    await fetch(`${h.fake.url}/v1/responses/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${UPSTREAM_KEY}` } });
    const gone = await call(all, 'GET', `/v1/responses/${created.id}`);
    expect(gone.status).toBe(404);
    // xAI's own 404 body, flat {code, error} (docs/upstream.md §6.2), not the gateway's.
    expect(((await gone.json()) as { code: string }).code).toBe('not-found');
  });

  it('batches: add requests, list them, results, and :cancel without a body', async () => {
    const batch = (await (await call(all, 'POST', '/v1/batches', { json: { name: 'b' } })).json()) as { id: string };
    const add = await call(all, 'POST', `/v1/batches/${batch.id}/requests`, {
      json: { batch_requests: [{ chat_get_completion: { model: 'grok-3-mini', messages: [{ role: 'user', content: 'x' }] } }] },
    });
    expect(add.status).toBe(200);
    expect(((await (await call(all, 'GET', `/v1/batches/${batch.id}/requests`)).json()) as { batch_request_metadata: unknown[] }).batch_request_metadata).toHaveLength(1);
    expect(((await (await call(all, 'GET', `/v1/batches/${batch.id}/results?limit=100`)).json()) as { results: unknown[] }).results).toHaveLength(1);
    h.fake.reset();
    const cancel = await call(all, 'POST', `/v1/batches/${batch.id}:cancel`);
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as { status: string }).status).toBe('cancelled');
    expect(lastSeen()?.path).toBe(`/v1/batches/${batch.id}:cancel`);
    expect(lastSeen()?.body.length).toBe(0);
    expect(((await (await call(all, 'GET', `/v1/batches/${batch.id}`)).json()) as { status: string }).status).toBe('cancelled');
  });

  it('batch requests may not smuggle a model outside the key', async () => {
    const { key } = await h.createKey({ name: 'batch-mini', models: ['grok-3-mini'], endpoints: ['batches'] });
    const batch = (await (await call(key, 'POST', '/v1/batches', { json: { name: 'b' } })).json()) as { id: string };
    h.fake.reset();
    const refused = await call(key, 'POST', `/v1/batches/${batch.id}/requests`, {
      json: { batch_requests: [{ chat_get_completion: { model: 'grok-4', messages: [{ role: 'user', content: 'x' }] } }] },
    });
    expect(refused.status).toBe(403);
    expect(await errorCode(refused)).toBe('model_not_allowed');
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe('path parameters', () => {
  it.each([
    ['GET', '/v1/files/file_1/../../admin/keys'],
    ['GET', '/v1/files/..%2F..%2Fadmin'],
    ['GET', '/v1/files/a:b'],
    ['GET', `/v1/videos/${'a'.repeat(201)}`],
    ['GET', '/v1/responses/%00'],
    ['GET', '/v1/files/file_1/content/extra'],
    ['GET', '/v1/chat/deferred-completion/-leading-dash'],
    ['POST', '/v1/batches/abc:cancel:cancel'],
    ['POST', '/v1/batches/abc:stop'],
    ['DELETE', '/v1/videos/abc'],
  ])('%s %s → 404, never forwarded', async (method, path) => {
    h.fake.reset();
    const response = await rawRequest(h.url, { method, path, headers: { authorization: `Bearer ${all}` } });
    expect(response.status).toBe(404);
    expect((JSON.parse(response.body) as { error: { code: string } }).error.code).toBe('not_found');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('ids with xAI\'s shapes pass: uuids with a region suffix, file_ and batch_ ids, query strings kept', async () => {
    const { key, id: keyId } = await h.createKey({ name: 'id-shapes', models: ['*'], endpoints: ['*'] });
    const id = 'da8e02b5-c40e-2b4b-33ec-f867d1ba3d3e_us-east-1';
    const fileId = 'file_a128090d-f0c9-4873-bd84-e499777e7417';
    // Objects made outside the gateway reach no key: these are recorded as the key's, as their creation would.
    for (const [kind, objectId] of [['response', id], ['file', fileId]] as const) {
      await h.store.ownership.record({ id: objectId, kind, ownerId: keyId, ownerParentId: null, createdAtMs: Date.now(), expiresAtMs: null, upFront: null });
    }
    h.fake.reset();
    expect((await call(key, 'GET', `/v1/responses/${id}`)).status).toBe(404);
    expect((await call(key, 'GET', `/v1/files/${fileId}/content?format=text`)).status).toBe(404);
    expect(h.fake.requests.map((r) => r.path)).toEqual([`/v1/responses/${id}`, `/v1/files/${fileId}/content?format=text`]);
  });
});

describe('model rules', () => {
  it('an optional model may be omitted only by a key allowed "*"; the upstream default then applies', async () => {
    const { key: limited } = await h.createKey({ name: 'mini', models: ['grok-3-mini'], endpoints: ['responses', 'images'] });
    h.fake.reset();
    const refused = await call(limited, 'POST', '/v1/responses', { json: { input: 'hi' } });
    expect(refused.status).toBe(400);
    expect(await errorCode(refused)).toBe('invalid_request');
    const refusedImage = await call(limited, 'POST', '/v1/images/generations', { json: { prompt: 'a cat' } });
    expect(refusedImage.status).toBe(400);
    expect(h.fake.requests).toHaveLength(0);
    const allowed = await call(all, 'POST', '/v1/responses', { json: { input: 'hi' } });
    expect(allowed.status).toBe(200);
    expect(((await allowed.json()) as { model: string }).model).toBe('grok-4-fast-reasoning');
  });

  it.each([
    ['/v1/embeddings', { model: 'v1', input: 'x' }],
    ['/v1/images/generations', { model: 'grok-imagine-image', prompt: 'x' }],
    ['/v1/videos/generations', { model: 'grok-imagine-video', prompt: 'x' }],
    ['/v1/tokenize-text', { model: 'grok-3', text: 'x' }],
    ['/v1/responses', { model: 'grok-4', input: 'x' }],
  ])('%s checks its model against the key', async (path, json) => {
    const { key } = await h.createKey({ name: 'mini-all', models: ['grok-3-mini'], endpoints: ['*'] });
    h.fake.reset();
    const response = await call(key, 'POST', path, { json });
    expect(response.status).toBe(403);
    expect(await errorCode(response)).toBe('model_not_allowed');
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe('multipart bodies pass through byte for byte', () => {
  it('a 3 MiB random upload: the upstream receives exactly the bytes sent, with the boundary and length', async () => {
    const file = randomBytes(3 * 1024 * 1024 + 17);
    const { body, contentType } = multipart([
      { name: 'expires_after', data: '3600' },
      { name: 'purpose', data: 'assistants' },
      { name: 'file', filename: 'blob.bin', type: 'application/octet-stream', data: file },
    ]);
    h.fake.reset();
    const response = await call(all, 'POST', '/v1/files', { body, headers: { 'content-type': contentType } });
    expect(response.status).toBe(200);
    const meta = (await response.json()) as { id: string; bytes: number; filename: string };
    expect(meta.bytes).toBe(file.length);
    const seen = lastSeen();
    expect(sha256(seen?.body ?? Buffer.alloc(0))).toBe(sha256(body));
    expect(seen?.headers['content-type']).toBe(contentType);
    expect(seen?.headers['content-length']).toBe(String(body.length));

    const content = await call(all, 'GET', `/v1/files/${meta.id}/content`);
    expect(content.headers.get('content-type')).toBe('application/octet-stream');
    expect(sha256(Buffer.from(await content.arrayBuffer()))).toBe(sha256(file));
    expect(((await (await call(all, 'GET', `/v1/files/${meta.id}`)).json()) as { id: string }).id).toBe(meta.id);
    expect((await call(all, 'DELETE', `/v1/files/${meta.id}`)).status).toBe(200);
    expect((await call(all, 'GET', `/v1/files/${meta.id}`)).status).toBe(404);
  });

  it('a chunked upload (no Content-Length) arrives whole too', async () => {
    const file = randomBytes(1024 * 1024 + 3);
    const { body, contentType } = multipart([{ name: 'file', filename: 'c.bin', data: file }]);
    h.fake.reset();
    const response = await chunkedUpload('/v1/files', all, contentType, body);
    expect(response.status).toBe(200);
    expect((JSON.parse(response.text) as { bytes: number }).bytes).toBe(file.length);
    expect(sha256(lastSeen()?.body ?? Buffer.alloc(0))).toBe(sha256(body));
    expect(lastSeen()?.headers['content-length']).toBeUndefined();
  });

  it('speech to text: multipart with the file last, forwarded under [stt]', async () => {
    const audio = randomBytes(32_000);
    const { body, contentType } = multipart([
      { name: 'language', data: 'en' },
      { name: 'file', filename: 'a.wav', type: 'audio/wav', data: audio },
    ]);
    const { key } = await h.createKey({ name: 'stt', models: ['*'], endpoints: ['stt'] });
    h.fake.reset();
    const response = await call(key, 'POST', '/v1/stt', { body, headers: { 'content-type': contentType } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { duration: number }).duration).toBe(2);
    expect(sha256(lastSeen()?.body ?? Buffer.alloc(0))).toBe(sha256(body));
    const { key: noStt } = await h.createKey({ name: 'no-stt', models: ['*'], endpoints: ['files'] });
    const refused = await call(noStt, 'POST', '/v1/stt', { body, headers: { 'content-type': contentType } });
    expect(refused.status).toBe(403);
  });
});

describe('the body limit holds for streamed multipart bodies too', () => {
  let small: Harness;
  const LIMIT = 64 * 1024;

  beforeAll(async () => {
    small = await startHarness({ store: 'redis', name: 'endpoints-limit', fake: h.fake, yaml: `server: { bodyLimitBytes: ${LIMIT} }\n` });
  });
  afterAll(async () => {
    await small.close();
  });

  async function usageRequests(id: string): Promise<number> {
    return ((await (await small.admin('GET', `/admin/keys/${id}/usage`)).json()) as { totals: { requests: number } }).totals.requests;
  }

  it('a declared length over the limit: 413 request_too_large before anything is read or sent', async () => {
    const { key } = await small.createKey({ name: 'big', models: ['*'], endpoints: ['*'] });
    const { body, contentType } = multipart([{ name: 'file', filename: 'big.bin', data: randomBytes(LIMIT + 1) }]);
    h.fake.reset();
    const response = await fetch(`${small.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': contentType }, body });
    expect(response.status).toBe(413);
    expect(await errorCode(response)).toBe('request_too_large');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('an undeclared (chunked) length: counted while piping, upstream aborted, 413, slot freed, nothing counted', async () => {
    const { key, id } = await small.createKey({ name: 'big-chunked', models: ['*'], endpoints: ['*'], limits: { concurrency: 1 } });
    const { body, contentType } = multipart([{ name: 'file', filename: 'big.bin', data: randomBytes(4 * LIMIT) }]);
    h.fake.reset();
    const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const target = new URL(small.url);
      const req = httpRequest(
        { host: target.hostname, port: target.port, method: 'POST', path: '/v1/files', headers: { authorization: `Bearer ${key}`, 'content-type': contentType, 'transfer-encoding': 'chunked' } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', (err) => (err.message.includes('EPIPE') || err.message.includes('ECONNRESET') ? undefined : reject(err)));
      // Under the limit first, until the upload is under way upstream; then past it, and the upload left open:
      // the gateway must not need the whole upload to refuse it.
      req.write(body.subarray(0, LIMIT / 2));
      eventually(() => h.fake.requests.length === 1).then(
        () => req.write(body.subarray(LIMIT / 2, 2 * LIMIT)),
        reject,
      );
    });
    expect(response.status).toBe(413);
    expect((JSON.parse(response.text) as { error: { code: string } }).error.code).toBe('request_too_large');
    // The upstream saw the request begin and then be aborted: it never received a whole (truncated) body.
    expect(h.fake.requests).toHaveLength(1);
    await expectEventually(() => h.fake.requests[0]?.closedByClientAtMs !== null);
    expect(h.fake.requests[0]?.body.length).toBe(0);
    // The reservation was released (the concurrency slot is free) and the failed request is not usage.
    const next = await fetch(`${small.url}/v1/files`, { headers: { authorization: `Bearer ${key}` } });
    expect(next.status).toBe(200);
    await eventually(async () => (await usageRequests(id)) >= 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await usageRequests(id)).toBe(1);
  });

  it('a JSON body over the limit is 413 as well; a small upload passes', async () => {
    const { key } = await small.createKey({ name: 'json-big', models: ['*'], endpoints: ['*'] });
    const tooBig = await fetch(`${small.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'v1', input: 'x'.repeat(LIMIT) }),
    });
    expect(tooBig.status).toBe(413);
    const { body, contentType } = multipart([{ name: 'file', filename: 's.bin', data: randomBytes(LIMIT / 2) }]);
    const ok = await fetch(`${small.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': contentType }, body });
    expect(ok.status).toBe(200);
  });
});

async function expectEventually(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('model lists answered by the gateway, filtered to the key', () => {
  let limited: string;
  beforeAll(async () => {
    ({ key: limited } = await h.createKey({ name: 'lists', models: ['grok-3-mini', 'grok-imagine-image', 'v1'], endpoints: ['models'] }));
  });

  it.each([
    ['/v1/language-models', ['grok-3-mini']],
    ['/v1/image-generation-models', ['grok-imagine-image']],
    ['/v1/video-generation-models', []],
    ['/v1/embedding-models', ['v1']],
  ])('%s lists only %j', async (path, ids) => {
    const response = await call(limited, 'GET', path);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { models: { id: string }[] };
    expect(body.models.map((m) => m.id)).toEqual(ids);
    const full = (await (await call(all, 'GET', path)).json()) as { models: { id: string }[] };
    expect(full.models.length).toBeGreaterThanOrEqual(ids.length);
  });

  it.each([
    ['/v1/language-models/grok-3-mini', 200],
    ['/v1/language-models/grok-3-mini-latest', 200],
    ['/v1/language-models/grok-4', 404],
    ['/v1/image-generation-models/grok-imagine-image', 200],
    ['/v1/video-generation-models/grok-imagine-video', 404],
    ['/v1/embedding-models/v1', 200],
    ['/v1/embedding-models/nope', 404],
  ])('%s → %i', async (path, status) => {
    const response = await call(limited, 'GET', path);
    expect(response.status).toBe(status);
    if (status === 200) expect(((await response.json()) as { id: string }).id).toBe(path.split('/').at(-1)?.replace('-latest', ''));
  });

  it('a key without the models endpoint is refused', async () => {
    const { key } = await h.createKey({ name: 'no-models', models: ['*'], endpoints: ['chat.completions'] });
    const response = await call(key, 'GET', '/v1/language-models');
    expect(response.status).toBe(403);
  });
});

describe('realtime client secrets never outlive the client key', () => {
  it('a key expiring in 100 s asking 300 s: xAI is asked for at most 100 s', async () => {
    const { key } = await h.createKey({ name: 'rt', models: ['*'], endpoints: ['realtime'], ttlSeconds: 100 });
    h.fake.reset();
    const response = await call(key, 'POST', '/v1/realtime/client_secrets', { json: { expires_after: { seconds: 300 } } });
    expect(response.status).toBe(200);
    const secret = (await response.json()) as { value: string; expires_at: number };
    expect(secret.value).toMatch(/^xai-eph-/);
    const sent = JSON.parse(lastSeen()?.body.toString('utf8') ?? '{}') as { expires_after: { seconds: number } };
    expect(sent.expires_after.seconds).toBeLessThanOrEqual(100);
    expect(sent.expires_after.seconds).toBeGreaterThanOrEqual(95);
    expect(secret.expires_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 100);
  });

  it('no expires_after: set to the key\'s remaining lifetime; a key without expiry sends the body unchanged', async () => {
    const { key } = await h.createKey({ name: 'rt2', models: ['*'], endpoints: ['realtime'], ttlSeconds: 100 });
    h.fake.reset();
    await (await call(key, 'POST', '/v1/realtime/client_secrets', { json: {} })).arrayBuffer();
    const sent = JSON.parse(lastSeen()?.body.toString('utf8') ?? '{}') as { expires_after: { seconds: number } };
    expect(sent.expires_after.seconds).toBeGreaterThanOrEqual(95);
    expect(sent.expires_after.seconds).toBeLessThanOrEqual(100);

    h.fake.reset();
    await (await call(all, 'POST', '/v1/realtime/client_secrets', { json: { expires_after: { seconds: 300 } } })).arrayBuffer();
    expect(lastSeen()?.body.toString('utf8')).toBe('{"expires_after":{"seconds":300}}');
  });
});
