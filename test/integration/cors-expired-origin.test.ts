import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, eventually, postJson, startHarness, type Harness } from '../helpers/harness.js';

// A page whose short-lived key just expired must be able to read the gateway's 401
// key_expired (to fetch a new key) rather than see a failed CORS preflight.
let h: Harness;

beforeAll(async () => {
  // No cors.origins: only keys' allowedOrigins are answered.
  h = await startHarness({ store: 'redis', name: 'cors-expired-origin', yaml: 'cors: { origins: [] }\n' });
});

afterAll(async () => {
  await h.close();
});

function preflight(origin: string): Promise<Response> {
  return fetch(`${h.url}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
}

describe('CORS for the origin of an expired key', () => {
  it('keeps answering a recently expired key\'s origin, so the page reads 401 key_expired', async () => {
    const origin = 'http://expiring.example.test';
    const { key } = await h.createKey({ name: 'short', models: ['*'], endpoints: ['*'], allowedOrigins: [origin], ttlSeconds: 1 });
    expect((await preflight(origin)).headers.get('access-control-allow-origin')).toBe(origin);
    await eventually(async () => (await postJson(`${h.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}`, origin })).status === 401, 5_000);
    const expired = await postJson(`${h.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}`, origin });
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('key_expired');
    expect(expired.headers.get('access-control-allow-origin')).toBe(origin);
    const answered = await preflight(origin);
    expect(answered.status).toBe(204);
    expect(answered.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('stops answering a revoked key\'s origin, and never answers an unknown one', async () => {
    const origin = 'http://revoked.example.test';
    const { id } = await h.createKey({ name: 'revoked', models: ['*'], endpoints: ['*'], allowedOrigins: [origin] });
    expect((await preflight(origin)).headers.get('access-control-allow-origin')).toBe(origin);
    expect((await h.admin('DELETE', `/admin/keys/${id}`)).status).toBe(200);
    await eventually(async () => (await preflight(origin)).headers.get('access-control-allow-origin') === null);
    expect((await preflight('http://never.example.test')).headers.get('access-control-allow-origin')).toBeNull();
  });
});
