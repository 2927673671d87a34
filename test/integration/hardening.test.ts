import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, chatBody, eventually, postJson, startHarness, type Harness } from '../helpers/harness.js';

// Security headers and per-IP throttling of failed authentications (client and admin API alike).
let h: Harness;
let second: Harness;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'hardening', yaml: 'server: { authFailuresPerMinute: 5 }\n' });
  // A second instance on the same Redis state: the failure count is shared.
  second = await startHarness({ store: 'redis', name: 'hardening', prefix: h.prefix, fake: h.fake, yaml: 'server: { authFailuresPerMinute: 5 }\n' });
});

afterAll(async () => {
  await second.close();
  await h.close();
});

describe('security headers', () => {
  it('sets helmet headers on API answers', async () => {
    const response = await fetch(`${h.url}/healthz`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('strict-transport-security')).toContain('max-age');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });
});

describe('failed authentications', () => {
  it('repeated failures from one address get 429 on every instance, valid keys included, until the window passes', async () => {
    const { key } = await h.createKey({ name: 'valid', models: ['*'], endpoints: ['*'] });
    const bad = { authorization: 'Bearer xgw_not-a-key' };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await postJson(`${h.url}/v1/chat/completions`, chatBody(), bad)).status);
    for (let i = 0; i < 2; i += 1) statuses.push((await fetch(`${second.url}/admin/keys`, { headers: { authorization: 'Bearer wrong-admin-token-0000' } })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);

    // The first instance learns of the failures counted by the second through Redis: a valid key, which adds no
    // failure, is throttled from the address once it does.
    await eventually(async () => (await postJson(`${h.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}` })).status === 429, 5_000);
    const throttled = await postJson(`${h.url}/v1/chat/completions`, chatBody(), bad);
    expect(throttled.status).toBe(429);
    expect(((await throttled.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await fetch(`${second.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(429);
    expect((await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(429);
    expect((await postJson(`${second.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}` })).status).toBe(429);
    // Health checks are never throttled.
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });
});
