import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeXai, type FakeXai } from '../../src/fake/xai-server.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { ADMIN_TOKEN, chatBody, eventually, postJson, UPSTREAM_KEY } from '../helpers/harness.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';

// Issue 6: the process as operators run it — signals, reloads and a Redis outage.
let fake: FakeXai;
const started: GatewayProcess[] = [];

beforeAll(async () => {
  fake = await startFakeXai({ apiKeys: [UPSTREAM_KEY] });
});

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await fake.close();
});

async function gateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const p = await startGatewayProcess({ XAI_BASE_URL: fake.url, GATEWAY_CONFIG: '/dev/null', ...env });
  started.push(p);
  return p;
}

async function createKey(url: string, body: Record<string, unknown>): Promise<{ key: string; id: string }> {
  const response = await postJson(`${url}/admin/keys`, body, { authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(response.status).toBe(201);
  return (await response.json()) as { key: string; id: string };
}

describe('SIGTERM', () => {
  it('lets a stream in flight finish, then exits 0', async () => {
    const p = await gateway();
    const { key } = await createKey(p.url, { name: 'drain', models: ['*'], endpoints: ['*'] });
    const response = await postJson(`${p.url}/v1/chat/completions`, chatBody({ stream: true }), {
      authorization: `Bearer ${key}`,
      'x-fake-chunks': '10',
      'x-fake-chunk-delay-ms': '100',
    });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(first?.done).toBe(false);
    p.child.kill('SIGTERM');
    let text = Buffer.from(first?.value ?? new Uint8Array()).toString('utf8');
    for (;;) {
      const next = await reader?.read();
      if (next === undefined || next.done) break;
      text += Buffer.from(next.value).toString('utf8');
    }
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('shutting down');
  });
});

describe('SIGHUP', () => {
  it('applies a changed plan at once and survives an invalid file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xgw-reload-'));
    const file = join(dir, 'gateway.yaml');
    const plan = (models: string): string => `plans:\n  team:\n    models: [${models}]\n    endpoints: ["chat.completions"]\n`;
    writeFileSync(file, plan('"grok-3-mini"'));
    const p = await gateway({ GATEWAY_CONFIG: file });
    const { key } = await createKey(p.url, { name: 'reload', plan: 'team' });
    const call = async (): Promise<number> =>
      (await postJson(`${p.url}/v1/chat/completions`, chatBody({ model: 'grok-4' }), { authorization: `Bearer ${key}` })).status;
    expect(await call()).toBe(403);

    writeFileSync(file, plan('"grok-3-mini", "grok-4"'));
    p.child.kill('SIGHUP');
    await eventually(async () => (await call()) === 200);

    writeFileSync(file, `${plan('"grok-4"')}    limits: { requestsPerMinut: 5 }\n`);
    p.child.kill('SIGHUP');
    await eventually(() => p.output().includes('configuration reload failed'));
    expect(p.output()).toContain('plans.team.limits.requestsPerMinut');
    expect(await call()).toBe(200);
    expect(p.child.exitCode).toBeNull();
  });
});

describe('Redis outage', () => {
  let redis: PrivateRedis;

  afterAll(async () => {
    await redis.destroy();
  });

  it('fails closed with 503 while Redis is down and recovers by itself when it returns', async () => {
    redis = await startPrivateRedis();
    const p = await gateway({ REDIS_URL: redis.url });
    const { key, id } = await createKey(p.url, { name: 'outage', models: ['*'], endpoints: ['*'], limits: { requestsPerDay: 1000 } });
    const call = (): Promise<Response> => postJson(`${p.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}` });
    expect((await call()).status).toBe(200);
    expect((await fetch(`${p.url}/readyz`)).status).toBe(200);

    // A stream admitted before the outage ends during it: its settlement must wait, not vanish.
    const held = await postJson(`${p.url}/v1/chat/completions`, chatBody({ stream: true }), {
      authorization: `Bearer ${key}`,
      'x-fake-scenario': 'hold',
    });
    expect(held.status).toBe(200);

    await redis.stop();
    await eventually(async () => (await fetch(`${p.url}/readyz`)).status === 503);
    fake.release();
    expect(await held.text()).toContain('data: [DONE]');
    await eventually(() => p.output().includes('settlement queued until the store is back'));
    fake.reset();
    const refused = await call();
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    expect(fake.requests).toHaveLength(0);
    expect((await fetch(`${p.url}/healthz`)).status).toBe(200);

    await redis.start();
    await eventually(async () => (await fetch(`${p.url}/readyz`)).status === 200, 10_000);
    await eventually(async () => (await call()).status === 200, 10_000);
    await eventually(() => p.output().includes('queued settlement written'), 10_000);
    const requestsRecorded = async (): Promise<number> => {
      const usage = await fetch(`${p.url}/admin/keys/${id}/usage`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return ((await usage.json()) as { totals: { requests: number } }).totals.requests;
    };
    // The first call, the stream settled after the outage, and the call that proved recovery.
    await eventually(async () => (await requestsRecorded()) === 3);
    expect(p.child.exitCode).toBeNull();
    expect(p.output()).not.toContain('Unhandled');
  });
  it('answers 503 store_unavailable on every admin route while Redis is down, and logs no stack for it', async () => {
    const own = await startPrivateRedis();
    try {
      const p = await gateway({ REDIS_URL: own.url });
      const { id } = await createKey(p.url, { name: 'admin-outage', models: ['*'], endpoints: ['*'] });
      await own.stop();
      await eventually(async () => (await fetch(`${p.url}/readyz`)).status === 503);
      const routes: [string, string, unknown?][] = [
        ['GET', '/admin/keys'],
        ['POST', '/admin/keys', { name: 'during-outage' }],
        ['GET', `/admin/keys/${id}`],
        ['PATCH', `/admin/keys/${id}`, { name: 'renamed' }],
        ['POST', `/admin/keys/${id}/rotate`, {}],
        ['DELETE', `/admin/keys/${id}`],
        ['GET', `/admin/keys/${id}/usage`],
        ['GET', `/admin/keys/${id}/children`],
        ['GET', '/admin/usage'],
        ['GET', '/admin/audit'],
        ['GET', '/admin/objects/file_abc'],
      ];
      for (const [method, path, body] of routes) {
        const response = await fetch(`${p.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        expect(response.status, `${method} ${path}`).toBe(503);
        expect(((await response.json()) as { error: { code: string } }).error.code, `${method} ${path}`).toBe('store_unavailable');
      }
      // An outage is not a bug: no 500, and no stack trace in the log.
      expect(p.output()).not.toContain('internal_error');
      expect(p.output()).not.toMatch(/"stack":/);
    } finally {
      await own.destroy();
    }
  });
});
