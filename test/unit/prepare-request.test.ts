import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { clientSecretExpiry, prepareRequest, withTopLevelFields, type PrepareInput } from '../../src/policy/prepare-request.js';
import { resolveRoute, type RouteSpec } from '../../src/policy/routes.js';
import type { EffectivePolicy } from '../../src/policy/scopes.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function route(method: string, path: string): RouteSpec {
  const found = resolveRoute(method, path);
  if (found.kind !== 'match') throw new Error(`no route ${method} ${path}`);
  return found.match.route;
}

const ALL: EffectivePolicy = { models: ['*'], endpoints: ['*'], collections: ['*'], limits: {} };
const MINI: EffectivePolicy = { models: ['grok-3-mini', 'grok-4-fast-*'], endpoints: ['*'], collections: ['c'], limits: {} };

type Overrides = Partial<PrepareInput> & { body?: unknown; path?: string; method?: string };

function input(overrides: Overrides): PrepareInput {
  const { body, path = '/v1/chat/completions', method = 'POST', ...rest } = overrides;
  return {
    route: route(method, path),
    contentType: 'application/json',
    rawBody: body === undefined ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    policies: [ALL],
    limits: [],
    defaultOutputTokens: 4096,
    keyExpiresAtMs: null,
    nowMs: NOW,
    ...rest,
  };
}

function refusal(run: () => unknown): { status: number; code: string; message: string } {
  try {
    run();
  } catch (err) {
    if (err instanceof GatewayError) return { status: err.status, code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

const sent = (prepared: { upstreamBody: Buffer | null }): Record<string, unknown> =>
  JSON.parse(prepared.upstreamBody?.toString('utf8') ?? 'null') as Record<string, unknown>;

const chat = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ model: 'grok-3-mini', messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('prepareRequest: which Content-Type is JSON', () => {
  it.each(['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"', ' application/json ', 'application/vnd.api+json'])(
    'accepts %j',
    (contentType) => {
      expect(prepareRequest(input({ contentType, body: chat() })).model).toBe('grok-3-mini');
    },
  );

  it.each(['application/json; charset=latin1', 'application/json; charset=utf-16', 'application/jsonp', 'text/json', 'application/json+xml', ''])('refuses %j with 415', (contentType) => {
    expect(refusal(() => prepareRequest(input({ contentType, body: chat() })))).toMatchObject({ status: 415, code: 'invalid_request' });
  });
});

describe('prepareRequest: scopes and validation refuse before anything is sent', () => {
  it.each<[string, Overrides, number, string]>([
    ['endpoint outside the key', { policies: [{ ...ALL, endpoints: ['models'] }], body: chat() }, 403, 'endpoint_not_allowed'],
    ['endpoint outside the parent', { policies: [ALL, { ...ALL, endpoints: ['responses'] }], body: chat() }, 403, 'endpoint_not_allowed'],
    ['GET route outside the key (scope checked without a body)', { method: 'GET', path: '/v1/videos/abc', policies: [{ ...ALL, endpoints: ['images'] }] }, 403, 'endpoint_not_allowed'],
    ['text/plain on a JSON endpoint', { contentType: 'text/plain', body: chat() }, 415, 'invalid_request'],
    ['no content type', { contentType: undefined, body: chat() }, 415, 'invalid_request'],
    ['multipart on a JSON endpoint', { contentType: 'multipart/form-data; boundary=x', body: chat() }, 415, 'invalid_request'],
    ['empty body', { body: '' }, 400, 'invalid_request'],
    ['malformed JSON', { body: '{"model":' }, 400, 'invalid_request'],
    ['a JSON array', { body: [1] }, 400, 'invalid_request'],
    ['no model where required', { body: { messages: [] } }, 400, 'invalid_request'],
    ['model not a string', { body: chat({ model: 4 }) }, 400, 'invalid_request'],
    ['model outside the key', { policies: [MINI], body: chat({ model: 'grok-4' }) }, 403, 'model_not_allowed'],
    ['model outside the parent', { policies: [ALL, MINI], body: chat({ model: 'grok-4' }) }, 403, 'model_not_allowed'],
    ['collection outside the key', { policies: [MINI], path: '/v1/documents/search', body: { query: 'x', source: { collection_ids: ['c', 'd'] } } }, 403, 'collection_not_allowed'],
    ['collection outside the parent', { policies: [ALL, MINI], path: '/v1/documents/search', body: { query: 'x', source: { collection_ids: ['d'] } } }, 403, 'collection_not_allowed'],
    ['a search naming no collection', { policies: [ALL], path: '/v1/documents/search', body: { query: 'x' } }, 400, 'invalid_request'],
    ['optional model absent, key not "*"', { policies: [MINI], path: '/v1/responses', body: { input: 'hi' } }, 400, 'invalid_request'],
    ['optional model absent on images, key not "*"', { policies: [MINI], path: '/v1/images/generations', body: { prompt: 'a cat' } }, 400, 'invalid_request'],
    ['embeddings model outside the key', { policies: [MINI], path: '/v1/embeddings', body: { model: 'v1', input: 'x' } }, 403, 'model_not_allowed'],
    ['stream not boolean', { body: chat({ stream: 'yes' }) }, 400, 'invalid_request'],
    ['stream on an endpoint that does not stream', { path: '/v1/embeddings', body: { model: 'v1', input: 'x', stream: true } }, 400, 'invalid_request'],
    ['stream_options not an object', { body: chat({ stream: true, stream_options: 'yes' }) }, 400, 'invalid_request'],
    ['cap not a positive integer', { body: chat({ max_tokens: 0 }) }, 400, 'invalid_request'],
    ['cap above maxOutputTokens', { limits: [{ maxOutputTokens: 64 }], body: chat({ max_completion_tokens: 65 }) }, 400, 'invalid_request'],
    ['cap above the parent\'s maxOutputTokens', { limits: [{ maxOutputTokens: 500 }, { maxOutputTokens: 64 }], body: chat({ max_tokens: 100 }) }, 400, 'invalid_request'],
    ['n not a positive integer', { body: chat({ n: 0 }) }, 400, 'invalid_request'],
    ['batch request with a model outside the key', { policies: [MINI], path: '/v1/batches/batch_1/requests', body: { batch_requests: [{ chat_get_completion: chat() }, { chat_get_completion: chat({ model: 'grok-4' }) }] } }, 403, 'model_not_allowed'],
    ['batch request relying on the default model, key not "*"', { policies: [MINI], path: '/v1/batches/batch_1/requests', body: { batch_requests: [{ responses: { input: 'hi' } }] } }, 400, 'invalid_request'],
    ['realtime expiry not a positive integer', { path: '/v1/realtime/client_secrets', body: { expires_after: { seconds: -5 } } }, 400, 'invalid_request'],
    ['realtime expires_after not an object', { path: '/v1/realtime/client_secrets', body: { expires_after: 300 } }, 400, 'invalid_request'],
  ])('%s → %i %s', (_name, overrides, status, code) => {
    const got = refusal(() => prepareRequest(input(overrides)));
    expect({ status: got.status, code: got.code }).toEqual({ status, code });
  });
});

describe('prepareRequest: what is reserved and what is sent', () => {
  it.each<[string, Overrides, { model: string | null; outputCapTokens: number; stripUsageChunk: boolean; added: Record<string, unknown> }]>([
    ['the request\'s own cap, body unchanged', { body: chat({ max_tokens: 150 }) }, { model: 'grok-3-mini', outputCapTokens: 150, stripUsageChunk: false, added: {} }],
    ['the smallest of several cap fields', { body: chat({ max_tokens: 150, max_completion_tokens: 90 }) }, { model: 'grok-3-mini', outputCapTokens: 90, stripUsageChunk: false, added: {} }],
    ['the configured default when nothing caps output', { body: chat() }, { model: 'grok-3-mini', outputCapTokens: 4096, stripUsageChunk: false, added: {} }],
    ['maxOutputTokens set on chat as max_completion_tokens', { limits: [{ maxOutputTokens: 64 }], body: chat() }, { model: 'grok-3-mini', outputCapTokens: 64, stripUsageChunk: false, added: { max_completion_tokens: 64 } }],
    ['the smallest maxOutputTokens of key and parent', { limits: [{ maxOutputTokens: 500 }, { maxOutputTokens: 64 }], body: chat() }, { model: 'grok-3-mini', outputCapTokens: 64, stripUsageChunk: false, added: { max_completion_tokens: 64 } }],
    ['maxOutputTokens set on completions as max_tokens', { path: '/v1/completions', limits: [{ maxOutputTokens: 32 }], body: { model: 'grok-3', prompt: 'x' } }, { model: 'grok-3', outputCapTokens: 32, stripUsageChunk: false, added: { max_tokens: 32 } }],
    ['maxOutputTokens set on responses as max_output_tokens', { path: '/v1/responses', limits: [{ maxOutputTokens: 100 }], body: { model: 'grok-4', input: 'x' } }, { model: 'grok-4', outputCapTokens: 100, stripUsageChunk: false, added: { max_output_tokens: 100 } }],
    ['n = 3 multiplies the reserved cap', { body: chat({ n: 3, max_tokens: 50 }) }, { model: 'grok-3-mini', outputCapTokens: 150, stripUsageChunk: false, added: {} }],
    ['n = 2 multiplies the injected cap too', { limits: [{ maxOutputTokens: 64 }], body: chat({ n: 2 }) }, { model: 'grok-3-mini', outputCapTokens: 128, stripUsageChunk: false, added: { max_completion_tokens: 64 } }],
    ['n on images is a count of images, not a token multiplier', { path: '/v1/images/generations', body: { model: 'grok-imagine-image', prompt: 'x', n: 4 } }, { model: 'grok-imagine-image', outputCapTokens: 0, stripUsageChunk: false, added: {} }],
    ['embeddings reserve no output', { path: '/v1/embeddings', body: { model: 'v1', input: 'x' } }, { model: 'v1', outputCapTokens: 0, stripUsageChunk: false, added: {} }],
    ['a "*" key may rely on the default model', { path: '/v1/responses', body: { input: 'x' } }, { model: null, outputCapTokens: 4096, stripUsageChunk: false, added: {} }],
    ['chat stream without usage: include_usage asked and stripped again', { body: chat({ stream: true }) }, { model: 'grok-3-mini', outputCapTokens: 4096, stripUsageChunk: true, added: { stream_options: { include_usage: true } } }],
    ['chat stream asking usage itself: nothing added, nothing stripped', { body: chat({ stream: true, stream_options: { include_usage: true } }) }, { model: 'grok-3-mini', outputCapTokens: 4096, stripUsageChunk: false, added: {} }],
    ['completions stream: include_usage asked too', { path: '/v1/completions', body: { model: 'grok-3', prompt: 'x', stream: true, max_tokens: 5 } }, { model: 'grok-3', outputCapTokens: 5, stripUsageChunk: true, added: { stream_options: { include_usage: true } } }],
    ['responses stream: usage comes in response.completed, nothing added', { path: '/v1/responses', body: { model: 'grok-4', input: 'x', stream: true, max_output_tokens: 10 } }, { model: 'grok-4', outputCapTokens: 10, stripUsageChunk: false, added: {} }],
    ['batch requests with allowed models', { policies: [MINI], path: '/v1/batches/batch_1/requests', body: { batch_requests: [{ r: chat() }, { r: chat({ model: 'grok-4-fast-reasoning' }) }], tools: [{ parameters: { properties: { model: { type: 'string' }, input: { type: 'string' } } } }] } }, { model: 'grok-3-mini', outputCapTokens: 4096, stripUsageChunk: false, added: {} }],
    ['documents search: no model rule', { policies: [MINI], path: '/v1/documents/search', body: { query: 'x', source: { collection_ids: ['c'] } } }, { model: null, outputCapTokens: 4096, stripUsageChunk: false, added: {} }],
  ])('%s', (_name, overrides, expected) => {
    const given = input(overrides);
    const prepared = prepareRequest(given);
    expect({ model: prepared.model, outputCapTokens: prepared.outputCapTokens, stripUsageChunk: prepared.stripUsageChunk }).toEqual({
      model: expected.model,
      outputCapTokens: expected.outputCapTokens,
      stripUsageChunk: expected.stripUsageChunk,
    });
    const original = JSON.parse(given.rawBody?.toString('utf8') ?? '{}') as Record<string, unknown>;
    expect(sent(prepared)).toEqual({ ...original, ...expected.added });
    if (Object.keys(expected.added).length === 0) expect(prepared.upstreamBody).toBe(given.rawBody);
  });

  it('estimates prompt tokens from the body', () => {
    const prepared = prepareRequest(input({ body: chat({ messages: [{ role: 'user', content: 'x'.repeat(400) }] }) }));
    expect(prepared.estimatedPromptTokens).toBeGreaterThanOrEqual(100);
  });

  it.each([
    ['multipart upload', 'POST', '/v1/files', 'file'],
    ['speech to text', 'POST', '/v1/stt', null],
    ['a GET', 'GET', '/v1/files/file_1', null],
    ['batch cancel without a body', 'POST', '/v1/batches/batch_1:cancel', null],
  ])('%s: passed on unparsed, nothing reserved', (_name, method, path, creates) => {
    const prepared = prepareRequest(input({ method, path, contentType: 'multipart/form-data; boundary=b' }));
    expect(prepared).toEqual({
      model: null,
      stream: false,
      stripUsageChunk: false,
      estimatedPromptTokens: 0,
      outputCapTokens: 0,
      upstreamBody: null,
      creates,
      objectRefs: [],
      mediaUnits: 0,
    });
  });
});

describe('object references in a body', () => {
  it('are collected, and the body is sent as the object that was checked: a duplicate key keeps the checked value', () => {
    const raw = '{"model":"grok-3-mini","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file_theirs","file_id":"file_mine"}}]}]}';
    const prepared = prepareRequest(input({ body: raw }));
    expect(prepared.objectRefs).toEqual([{ kind: 'file', id: 'file_mine' }]);
    const sent = prepared.upstreamBody?.toString('utf8') ?? '';
    expect(sent).not.toContain('file_theirs');
    expect(JSON.parse(sent)).toMatchObject({ messages: [{ content: [{ file: { file_id: 'file_mine' } }] }] });
  });

  it('a body that cannot name an object is sent as its own bytes', () => {
    const raw = '{"model":"grok-3-mini",  "messages":[{"role":"user","content":"hi"}],"max_tokens":5}';
    const prepared = prepareRequest(input({ body: raw }));
    expect(prepared.objectRefs).toEqual([]);
    expect(prepared.upstreamBody?.toString('utf8')).toBe(raw);
  });
});

describe('withTopLevelFields: splice when new, re-serialise when present', () => {
  it('splices new fields after the opening brace, keeping the client\'s bytes (spacing, key order, escapes)', () => {
    const raw = Buffer.from('  {"model" : "grok-4",\n "messages":[{"content":"caf\\u00e9"}]}');
    const out = withTopLevelFields(raw, JSON.parse(raw.toString()) as Record<string, unknown>, { max_completion_tokens: 64 });
    expect(out.toString()).toBe('  {"max_completion_tokens":64,"model" : "grok-4",\n "messages":[{"content":"caf\\u00e9"}]}');
  });

  it('splices into an empty object without a dangling comma', () => {
    const out = withTopLevelFields(Buffer.from('{}'), {}, { a: 1, b: { c: true } });
    expect(out.toString()).toBe('{"a":1,"b":{"c":true}}');
  });

  it('re-serialises when a field is already there, so no key is duplicated', () => {
    const raw = Buffer.from('{"stream":true, "stream_options":{"foo":1}}');
    const out = withTopLevelFields(raw, JSON.parse(raw.toString()) as Record<string, unknown>, { stream_options: { foo: 1, include_usage: true } });
    expect(out.toString()).toBe('{"stream":true,"stream_options":{"foo":1,"include_usage":true}}');
  });

  it('returns the very same buffer when nothing is added', () => {
    const raw = Buffer.from('{"a":1}');
    expect(withTopLevelFields(raw, { a: 1 }, {})).toBe(raw);
  });

  it('keeps the client\'s other stream_options when asking for usage (re-serialised)', () => {
    const prepared = prepareRequest(input({ body: chat({ stream: true, stream_options: { include_usage: false, x: 1 } }) }));
    expect(sent(prepared).stream_options).toEqual({ include_usage: true, x: 1 });
    expect(prepared.stripUsageChunk).toBe(true);
  });
});

describe('realtime client secrets: never outlive the client key (docs/api.md)', () => {
  it.each<[string, unknown, number | null, Record<string, unknown> | null]>([
    ['asks 300 s, key expires in 100 s → 100', { seconds: 300 }, NOW + 100_000, { seconds: 100 }],
    ['asks 60 s, key expires in 100 s → unchanged', { seconds: 60 }, NOW + 100_000, null],
    ['asks exactly the remaining lifetime → unchanged', { seconds: 100 }, NOW + 100_000, null],
    ['absent, key expires in 100.9 s → 100 (whole seconds, rounded down)', undefined, NOW + 100_900, { seconds: 100 }],
    ['other fields kept when capping', { seconds: 900, anchor: 'created_at' }, NOW + 100_000, { seconds: 100, anchor: 'created_at' }],
    ['key without expiry, absent → unchanged (xAI default)', undefined, null, null],
    ['key without expiry, asks 3600 → unchanged', { seconds: 3600 }, null, null],
    ['key expiring in under a second → at least 1', undefined, NOW + 400, { seconds: 1 }],
  ])('%s', (_name, requested, expiresAtMs, expected) => {
    expect(clientSecretExpiry(requested, expiresAtMs, NOW)).toEqual(expected);
  });

  it('the capped value is what goes upstream', () => {
    const prepared = prepareRequest(input({ path: '/v1/realtime/client_secrets', body: { expires_after: { seconds: 300 } }, keyExpiresAtMs: NOW + 100_000 }));
    expect(sent(prepared)).toEqual({ expires_after: { seconds: 100 } });
    const absent = prepareRequest(input({ path: '/v1/realtime/client_secrets', body: {}, keyExpiresAtMs: NOW + 100_000 }));
    expect(sent(absent)).toEqual({ expires_after: { seconds: 100 } });
    const untouched = prepareRequest(input({ path: '/v1/realtime/client_secrets', body: { expires_after: { seconds: 30 } }, keyExpiresAtMs: NOW + 100_000 }));
    expect(untouched.upstreamBody?.toString()).toBe('{"expires_after":{"seconds":30}}');
  });
});
