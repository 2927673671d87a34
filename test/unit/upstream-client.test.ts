import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { createUpstreamClient, type UpstreamClient } from '../../src/upstream/client.js';
import { buildClientHeaders } from '../../src/upstream/headers.js';
import { limitedBody } from '../../src/upstream/limited-body.js';
import { isUpstreamKeyFailure, mapUpstreamError } from '../../src/upstream/map-error.js';

const CONFIG = { baseUrl: 'http://127.0.0.1:9', apiKeys: ['k-one', 'k-two', 'k-three'], connectTimeoutMs: 1000, headersTimeoutMs: 1000, bodyIdleTimeoutMs: 1000 };

let client: UpstreamClient | null = null;
afterEach(async () => {
  await client?.close();
  client = null;
});

describe('upstream keys: round robin, set aside for a while (no request is made here)', () => {
  it('cycles through the keys, skips one set aside until its time is up, then uses it again', () => {
    let now = 1_000_000;
    client = createUpstreamClient(CONFIG, { setAsideMs: 60_000, now: () => now });
    expect([client.pickKey(), client.pickKey(), client.pickKey(), client.pickKey()]).toEqual(['k-one', 'k-two', 'k-three', 'k-one']);
    client.setAside('k-two');
    expect([client.pickKey(), client.pickKey(), client.pickKey()]).toEqual(['k-three', 'k-one', 'k-three']);
    expect(client.hasUsableKey()).toBe(true);
    now += 60_000;
    expect([client.pickKey(), client.pickKey(), client.pickKey()]).toEqual(['k-one', 'k-two', 'k-three']);
  });

  it('with every key set aside, keeps trying them in turn (a key may recover) and says none is usable', () => {
    client = createUpstreamClient({ ...CONFIG, apiKeys: ['a', 'b'] }, { now: () => 0 });
    client.setAside('a');
    client.setAside('b');
    expect(client.hasUsableKey()).toBe(false);
    expect([client.pickKey(), client.pickKey(), client.pickKey()]).toEqual(['a', 'b', 'a']);
  });

  it('no key configured → null; labels name a key by position, never by value', () => {
    client = createUpstreamClient({ ...CONFIG, apiKeys: [] });
    expect(client.pickKey()).toBeNull();
    expect(client.hasUsableKey()).toBe(false);
    const other = createUpstreamClient(CONFIG);
    expect(other.keyLabel('k-two')).toBe('key#2');
    void other.close();
  });
});

describe('which xAI answers are about the upstream key (docs/api.md)', () => {
  it.each<[number, string, boolean]>([
    [400, '{"code":"invalid-argument","error":"Incorrect API key provided: xa***ef. You can obtain an API key from https://console.x.ai."}', true],
    [400, '{"code":"Client specified an invalid argument","error":"Bad request ... invalid API key"}', true],
    [400, '{"code":"invalid-argument","error":"Invalid request content: Each message must have at least one content element."}', false],
    [401, '{"code":"unauthenticated:no-credentials","error":"No credentials presented."}', true],
    [403, '{"code":"The caller does not have permission to execute the specified operation","error":"Your team has used all available credits"}', true],
    [404, '{"code":"not-found","error":"Incorrect API key provided"}', false],
    [429, '{"code":"Some resource has been exhausted","error":"capacity"}', false],
  ])('%i %s → %s', (status, body, expected) => {
    expect(isUpstreamKeyFailure(status, body)).toBe(expected);
  });
});

describe('transport failures map to the gateway\'s errors', () => {
  it.each([
    ['UND_ERR_HEADERS_TIMEOUT', 504, 'upstream_timeout'],
    ['UND_ERR_BODY_TIMEOUT', 504, 'upstream_timeout'],
    ['UND_ERR_CONNECT_TIMEOUT', 504, 'upstream_timeout'],
    ['ECONNREFUSED', 502, 'upstream_error'],
    ['ECONNRESET', 502, 'upstream_error'],
    ['UND_ERR_SOCKET', 502, 'upstream_error'],
  ])('%s → %i %s, without the cause in the message', (code, status, gatewayCode) => {
    const mapped = mapUpstreamError(Object.assign(new Error(`connect ${code} 10.0.0.1:443 secret-host`), { code }));
    expect({ status: mapped.status, code: mapped.code }).toEqual({ status, code: gatewayCode });
    expect(mapped.message).not.toContain('secret-host');
  });

  it('a GatewayError (e.g. 413 from a counted body) passes unchanged', () => {
    const own = new GatewayError({ status: 413, code: 'request_too_large', message: 'too large' });
    expect(mapUpstreamError(own)).toBe(own);
  });
});

describe('response headers relayed to the client', () => {
  it('drops cookies, hop-by-hop and xAI\'s rate-limit headers; keeps the rest; xAI\'s request id renamed', () => {
    const out = buildClientHeaders({
      'content-type': 'application/json',
      'set-cookie': ['a=b'],
      connection: 'keep-alive, x-hop',
      'x-hop': '1',
      'transfer-encoding': 'chunked',
      'x-ratelimit-limit-requests': '1000',
      'x-ratelimit-remaining-tokens': '5',
      'retry-after': '3',
      'x-zero-data-retention': 'false',
      'x-request-id': 'xai-req-1',
      'x-trace-id': 't-1',
    });
    expect(out).toEqual({
      'content-type': 'application/json',
      'retry-after': '3',
      'x-zero-data-retention': 'false',
      'x-upstream-request-id': 'xai-req-1',
      'x-trace-id': 't-1',
    });
  });
});

describe('limitedBody: a streamed request body counted against the body limit', () => {
  it('passes a body within the limit through byte for byte', async () => {
    const chunks = [Buffer.from('abc'), Buffer.from('defg'), Buffer.from('h')];
    expect(await text(limitedBody(Readable.from(chunks), 8))).toBe('abcdefgh');
  });

  it('fails with 413 request_too_large (Connection: close) once past the limit, and drains the source', async () => {
    const source = Readable.from([Buffer.alloc(5), Buffer.alloc(5), Buffer.alloc(5)]);
    // Drained (read to its end and discarded), not destroyed: the client's 413 can still be written.
    const drained = new Promise((resolve) => source.once('end', resolve));
    const error = await text(limitedBody(source, 8)).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(413);
    expect((error as GatewayError).code).toBe('request_too_large');
    expect((error as GatewayError).headers).toEqual({ connection: 'close' });
    await drained;
    expect(source.readableEnded).toBe(true);
  });

  it('fails when the client breaks off its upload, so no truncated body is taken for a whole one', async () => {
    const source = new Readable({ read() {} });
    const body = limitedBody(source, 100);
    const result = text(body).then(
      () => 'ended',
      () => 'failed',
    );
    source.push(Buffer.from('partial'));
    source.destroy(new Error('aborted'));
    expect(await result).toBe('failed');
  });
});
