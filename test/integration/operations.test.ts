import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeXai, type FakeXai } from '../../src/fake/xai-server.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { ADMIN_TOKEN, chatBody, eventually, postJson, UPSTREAM_KEY } from '../helpers/harness.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';

const ROOT = resolve(import.meta.dirname, '../..');

// The process as operators run it — signals, reloads and a Redis outage.
let fake: FakeXai;
const started: GatewayProcess[] = [];

beforeAll(async () => {
  fake = await startFakeXai({ apiKeys: [UPSTREAM_KEY] });
});

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await fake.close();
});

async function gateway(env: Record<string, string> = {}, dir?: string): Promise<GatewayProcess> {
  const p = await startGatewayProcess({ XAI_BASE_URL: fake.url, GATEWAY_CONFIG: '/dev/null', ...env }, dir === undefined ? {} : { dir });
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

describe('npm start', () => {
  /** A process's descendants, from /proc (children of children: npm may run the script through a shell). */
  function descendants(pid: number): number[] {
    const out: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid) out.push(Number(entry), ...descendants(Number(entry)));
      } catch {
        // The process ended while it was read.
      }
    }
    return out;
  }

  it('passes a SIGTERM sent to npm on to the gateway, which shuts down instead of living on as an orphan', { timeout: 60_000 }, async () => {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), XAI_API_KEY: UPSTREAM_KEY, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN };
    Object.assign(env, { XAI_BASE_URL: fake.url, GATEWAY_CONFIG: '/dev/null', HOST: '127.0.0.1', PORT: '0' });
    delete env['REDIS_URL'];
    const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
    let family: number[] = [];
    try {
      await eventually(() => /"address":"http:\/\/127\.0\.0\.1:\d+"/.test(output), 30_000);
      family = descendants(npm.pid ?? -1);
      const url = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output)?.[1] ?? '';
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      npm.kill('SIGTERM');
      await exited;
      // The gateway itself heard the signal: it logged its shutdown, and no process of the family lives on.
      await eventually(() => family.every((pid) => !existsSync(`/proc/${pid}`)), 10_000);
      expect(output).toContain('shutting down');
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      for (const pid of [...family, npm.pid ?? -1]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
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
  let redis: PrivateRedis | undefined;

  afterAll(async () => {
    await redis?.destroy();
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
    await eventually(() => p.output().includes('settlement journaled until the store is back'));
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
  it('SIGTERM with Redis down journals the settlements; the next start replays them once Redis is back, counted once', async () => {
    const own = await startPrivateRedis();
    try {
      const p = await gateway({ REDIS_URL: own.url });
      const { key, id } = await createKey(p.url, { name: 'journal', models: ['*'], endpoints: ['*'] });
      fake.reset();
      // Ten streams admitted while Redis is up, ended while it is down: their settlements cannot be written.
      const held = await Promise.all(
        Array.from({ length: 10 }, () => postJson(`${p.url}/v1/chat/completions`, chatBody({ stream: true }), { authorization: `Bearer ${key}`, 'x-fake-scenario': 'hold' })),
      );
      expect(held.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
      await own.stop();
      await eventually(async () => (await fetch(`${p.url}/readyz`)).status === 503);
      fake.release();
      for (const response of held) expect(await response.text()).toContain('data: [DONE]');
      const reported = fake.reported.totalTokens;
      expect(fake.reported.requests).toBe(10);

      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect(p.output()).toContain('settlements journaled: replayed at the next start');
      // A replay tried at shutdown moved the lines to `.replaying`, where they wait for the next one.
      const journalLines = (): number =>
        ['settlements.jsonl', 'settlements.jsonl.replaying']
          .map((name) => join(p.dir, 'data', name))
          .filter((file) => existsSync(file))
          .reduce((sum, file) => sum + readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').length, 0);
      expect(journalLines()).toBe(10);

      await own.start();
      const next = await gateway({ REDIS_URL: own.url }, p.dir);
      const usage = async (): Promise<{ requests: number; totalTokens: number }> =>
        ((await (await fetch(`${next.url}/admin/keys/${id}/usage`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { totals: { requests: number; totalTokens: number } }).totals;
      await eventually(async () => (await usage()).requests === 10, 10_000);
      expect((await usage()).totalTokens).toBe(reported);
      expect(journalLines()).toBe(0);
      // Once more from the start: nothing is left to replay, and nothing is counted twice.
      await next.stop();
      const third = await gateway({ REDIS_URL: own.url }, p.dir);
      const again = (await (await fetch(`${third.url}/admin/keys/${id}/usage`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { totals: { requests: number } };
      expect(again.totals.requests).toBe(10);
    } finally {
      await own.destroy();
    }
  });

  it('after CLIENT PAUSE 3000, requests answered 503 meanwhile hold no slot or tokens 5 s later', async () => {
    const own = await startPrivateRedis();
    const admin = new Redis(own.url);
    try {
      const p = await gateway({ REDIS_URL: own.url });
      const { key } = await createKey(p.url, { name: 'stall', models: ['*'], endpoints: ['*'], limits: { concurrency: 2, tokensPerDay: 100_000 } });
      const apiKey = async (): Promise<{ concurrency?: number; tokensPerDay?: number }> =>
        ((await (await fetch(`${p.url}/v1/api-key`, { headers: { authorization: `Bearer ${key}` } })).json()) as { remaining: { concurrency?: number; tokensPerDay?: number } }).remaining;
      // The key is looked up once now, so that during the stall only the admissions wait on Redis.
      expect(await apiKey()).toMatchObject({ concurrency: 1, tokensPerDay: 100_000 });
      const pausedAt = Date.now();
      await admin.call('CLIENT', 'PAUSE', '3000');
      const stalled = await Promise.all(
        Array.from({ length: 2 }, () => postJson(`${p.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}` }).then((r) => r.status)),
      );
      expect(stalled).toEqual([503, 503]);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, pausedAt + 5_000 - Date.now())));
      // Both admissions ran when Redis resumed; their releases ran right after them.
      expect(await apiKey()).toMatchObject({ concurrency: 1, tokensPerDay: 100_000 });
      const served = await Promise.all(Array.from({ length: 2 }, () => postJson(`${p.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}` }).then((r) => r.status)));
      expect(served).toEqual([200, 200]);
    } finally {
      admin.disconnect();
      await own.destroy();
    }
  });

  it('after kill -9 of an instance, the key has its full concurrency back within 30 s on another, and the dead one\'s requests stay charged', async () => {
    const own = await startPrivateRedis();
    try {
      const [a, b] = await Promise.all([gateway({ REDIS_URL: own.url }), gateway({ REDIS_URL: own.url })]);
      const { key } = await createKey(a.url, { name: 'crash', models: ['*'], endpoints: ['*'], limits: { concurrency: 3, tokensPerDay: 1_000_000 } });
      const apiKey = async (url: string): Promise<{ status: number; remaining: { concurrency?: number; tokensPerDay?: number } }> => {
        const response = await fetch(`${url}/v1/api-key`, { headers: { authorization: `Bearer ${key}` } });
        return { status: response.status, remaining: ((await response.json()) as { remaining?: { concurrency?: number; tokensPerDay?: number } }).remaining ?? {} };
      };
      // Two streams held open on A; a third request (this one) sees what they hold.
      const held = await Promise.all(
        Array.from({ length: 2 }, () => postJson(`${a.url}/v1/chat/completions`, chatBody({ stream: true }), { authorization: `Bearer ${key}`, 'x-fake-scenario': 'hold' })),
      );
      expect(held.map((r) => r.status)).toEqual([200, 200]);
      const during = await apiKey(b.url);
      expect(during.remaining.concurrency).toBe(0);
      const charged = during.remaining.tokensPerDay ?? 0;
      expect(charged).toBeLessThan(1_000_000);

      a.child.kill('SIGKILL');
      await a.exited;
      const killedAt = Date.now();
      // B's own requests do the reaping, as any admission of the family would.
      let back: { concurrency?: number; tokensPerDay?: number } = {};
      for (;;) {
        back = (await apiKey(b.url)).remaining;
        if (back.concurrency === 2 || Date.now() - killedAt > 40_000) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const recoveredMs = Date.now() - killedAt;
      expect(back.concurrency).toBe(2);
      expect(recoveredMs).toBeLessThanOrEqual(30_000);
      // Charged as reserved: nothing of the two reservations came back to the budget.
      expect(back.tokensPerDay).toBe(charged);
      fake.release();
    } finally {
      await own.destroy();
    }
  }, 60_000);

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
