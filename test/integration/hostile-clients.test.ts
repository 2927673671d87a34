import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, chatBody, postJson, startHarness, type Harness } from '../helpers/harness.js';

// The regression record of the hostile-client findings (docs/threat-model.md): each test is named after what it
// prevents, and drives the gateway over raw sockets where a well-behaved client library would hide the attack.
const run = promisify(execFile);
let h: Harness;
let key: string;

const YAML = `
pricing:
  grok-4: { input: 3.00, cachedInput: 0.75, output: 15.00 }
  grok-imagine-image: { perImage: 0.02 }
  grok-imagine-video: { perVideoSecond: 0.05 }
server:
  requestTimeoutMs: 1500
  maxConnectionsPerIp: 20
  bodyLimitBytes: 65536
  authFailuresPerMinute: 30
`;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'hostile-clients', yaml: YAML });
  ({ key } = await h.createKey({ name: 'client', models: ['*'], endpoints: ['*'] }));
});

afterAll(async () => {
  await h.close();
});

interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  received: () => string;
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
}

async function open(base = h.url): Promise<RawConnection> {
  const url = new URL(base);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  let data = '';
  socket.on('data', (chunk: Buffer) => {
    data += chunk.toString('utf8');
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed };
}

function headers(lines: Record<string, string | number>, method = 'POST', path = '/v1/chat/completions'): string {
  return `${method} ${path} HTTP/1.1\r\nHost: gateway\r\n${Object.entries(lines)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('no key needed to take the gateway down: prevented', () => {
  it('a request without a valid key is answered 401 from its headers alone; its body is never awaited', async () => {
    for (const authorization of ['', 'Bearer xgw_notavalidkey', `Bearer ${ADMIN_TOKEN}`]) {
      const conn = await open();
      conn.socket.write(headers({ ...(authorization === '' ? {} : { authorization }), 'content-type': 'application/json', 'content-length': 9_000_000 }));
      // No body byte is ever sent: the answer and the close come anyway.
      await until(() => conn.received().includes('\r\n\r\n{'), 1_000);
      expect(conn.received()).toMatch(/^HTTP\/1\.1 401/);
      expect(conn.received()).toMatch(/connection: close/i);
      await conn.closed;
    }
  });

  it('POST /gateway/keys without a valid key: 401 before its body is read', async () => {
    const conn = await open();
    conn.socket.write(headers({ authorization: 'Bearer xgw_nope', 'content-type': 'application/json', 'content-length': 50_000_000 }, 'POST', '/gateway/keys'));
    await until(() => conn.received().includes('\r\n\r\n{'), 1_000);
    expect(conn.received()).toMatch(/^HTTP\/1\.1 401/);
    await conn.closed;
  });

  it('a client whose request does not arrive within requestTimeoutMs gets 408 request_timeout and is closed, while another is served at once', async () => {
    const slow = await open();
    slow.socket.write(headers({ authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': 1000 }));
    slow.socket.write('{"model":');
    const silent = await open();
    const started = Date.now();
    const served = await postJson(`${h.url}/v1/chat/completions`, chatBody({ model: 'grok-3-mini' }), { authorization: `Bearer ${key}` });
    expect(served.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_000);
    await slow.closed;
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(slow.received().split('\r\n\r\n')[1] ?? '{}')).toMatchObject({ error: { code: 'request_timeout' } });
    // A connection that never sends a byte is closed by the same bound.
    await silent.closed;
    expect(h.fake.requests.some((r) => r.body.toString('utf8').startsWith('{"model":') && r.body.length < 20)).toBe(false);
  });

  it('one address holds at most maxConnectionsPerIp connections; more are closed at once, and freed ones come back', async () => {
    // A gateway of its own, reached only by these raw connections (a fetch pool would hold connections too).
    const capped = await startHarness({ store: 'memory', name: 'hostile-cap', yaml: 'server: { maxConnectionsPerIp: 5 }', fake: h.fake });
    const held: RawConnection[] = [];
    try {
      const healthy = async (conn: RawConnection): Promise<void> => {
        conn.socket.write(headers({}, 'GET', '/healthz'));
        await until(() => conn.received().includes('\r\n\r\n'), 1_000);
        expect(conn.received()).toMatch(/^HTTP\/1\.1 200/);
      };
      for (let i = 0; i < 5; i += 1) held.push(await open(capped.url));
      for (const conn of held) await healthy(conn);
      const extra = await open(capped.url);
      await extra.closed;
      expect(extra.received()).toBe('');
      (held.shift() as RawConnection).socket.destroy();
      // The freed place comes back as soon as the gateway has seen that connection close.
      let again: RawConnection | null = null;
      await until(() => again !== null, 2_000).catch(() => undefined);
      for (let tries = 0; again === null && tries < 100; tries += 1) {
        const attempt = await open(capped.url);
        const outcome = await Promise.race([attempt.closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('open'), 50))]);
        if (outcome === 'open') again = attempt;
      }
      expect(again).not.toBeNull();
      held.push(again as unknown as RawConnection);
      await healthy(again as unknown as RawConnection);
    } finally {
      for (const conn of held) conn.socket.destroy();
      await capped.close();
    }
  });
});

describe('a key holder cannot fill the gateway\'s memory with slow bodies', () => {
  it('one key family has at most 2 × bodyLimitBytes of bodies arriving at once; the next is 429 and kept nowhere; another family is served', async () => {
    const { key: hog } = await h.createKey({ name: 'hog', models: ['*'], endpoints: ['*'] });
    const held: RawConnection[] = [];
    try {
      // Three bodies of 60 KB announced (limit 64 KB), 50 KB of each sent: 100 KB fit the 128 KB budget, 150 KB not.
      for (let i = 0; i < 3; i += 1) {
        const conn = await open();
        held.push(conn);
        conn.socket.write(headers({ authorization: `Bearer ${hog}`, 'content-type': 'application/json', 'content-length': 60_000 }));
        conn.socket.write(`{"model":"grok-3-mini","pad":"${'x'.repeat(50_000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await until(() => held[2]?.received().includes('\r\n\r\n{') === true, 2_000);
      expect(held[2]?.received()).toMatch(/^HTTP\/1\.1 429/);
      expect(held[0]?.received()).toBe('');
      // Another key's request is not held back by this family's bodies.
      const other = await postJson(`${h.url}/v1/chat/completions`, chatBody({ model: 'grok-3-mini' }), { authorization: `Bearer ${key}` });
      expect(other.status).toBe(200);
    } finally {
      for (const conn of held) conn.socket.destroy();
    }
  });
});

describe('minting is bounded', () => {
  const mint = (parentKey: string, body: Record<string, unknown>): Promise<Response> =>
    postJson(`${h.url}/gateway/keys`, { name: 'child', ttlSeconds: 600, ...body }, { authorization: `Bearer ${parentKey}` });

  it('a mint is a request of the minting key: the 6th mint in a minute on a 5-per-minute parent is 429', async () => {
    const { key: parent } = await h.createKey({ name: 'five-a-minute', models: ['*'], endpoints: ['*'], limits: { requestsPerMinute: 5 }, mint: { maxTtlSeconds: 600 } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await mint(parent, {})).status);
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
  });

  // 12 at once: this file caps connections per address at 20.
  it('12 mints at once on a parent with maxActiveChildren 5: exactly 5 children, whatever the race', async () => {
    const { key: parent, id } = await h.createKey({ name: 'five-children', models: ['*'], endpoints: ['*'], mint: { maxTtlSeconds: 600, maxActiveChildren: 5 } });
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        mint(parent, {}).then(async (r) => ({ status: r.status, code: r.status === 201 ? null : ((await r.json()) as { error: { code: string } }).error.code })),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 429 && a.code === 'quota_exceeded')).toHaveLength(7);
    const children = (await (await h.admin('GET', `/admin/keys/${id}/children`)).json()) as { data: unknown[] };
    expect(children.data).toHaveLength(5);
  });

  it('metadata floods are refused on create, patch and mint: 32 entries, names of 64, values of 512 characters', async () => {
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    const long = { note: 'x'.repeat(513) };
    const longName = { ['n'.repeat(65)]: 'v' };
    for (const metadata of [many, long, longName]) {
      expect((await h.admin('POST', '/admin/keys', { name: 'flood', metadata })).status).toBe(400);
    }
    const { id, key: parent } = await h.createKey({ name: 'meta', models: ['*'], endpoints: ['*'], mint: { maxTtlSeconds: 600 }, metadata: { ok: 'x'.repeat(512) } });
    expect((await h.admin('PATCH', `/admin/keys/${id}`, { metadata: many })).status).toBe(400);
    expect((await mint(parent, { metadata: long })).status).toBe(400);
  });

  it('after a 1,000-mint flood: the 1,001st is 429, admin entries are still listed, and every legitimate origin is still answered', { timeout: 120_000 }, async () => {
    const legit = await h.createKey({ name: 'legit-web', models: ['*'], endpoints: ['*'], allowedOrigins: ['https://legit.example'] });
    // No origin restriction on the parent, so every child may name an origin of its own: 1,000 distinct ones.
    const flooder = await h.createKey({ name: 'flooder', models: ['*'], endpoints: ['*'], mint: { maxTtlSeconds: 600 } });
    for (let i = 0; i < 1000; i += 1) {
      const response = await mint(flooder.key, { allowedOrigins: [`https://c${i}.example`] });
      expect(response.status).toBe(201);
      await response.arrayBuffer();
    }
    const extra = await mint(flooder.key, {});
    expect(extra.status).toBe(429);
    expect(((await extra.json()) as { error: { code: string } }).error.code).toBe('quota_exceeded');
    const audit = (await (await h.admin('GET', '/admin/audit?limit=1000')).json()) as { data: { action: string; keyId: string }[]; nextCursor: string | null };
    let entries = audit.data;
    let cursor = audit.nextCursor;
    while (cursor !== null) {
      const page = (await (await h.admin('GET', `/admin/audit?limit=1000&cursor=${cursor}`)).json()) as typeof audit;
      entries = [...entries, ...page.data];
      cursor = page.nextCursor;
    }
    expect(entries.some((e) => e.action === 'create' && e.keyId === legit.id)).toBe(true);
    for (const origin of ['https://legit.example', 'https://c999.example']) {
      const preflight = await fetch(`${h.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    }
  });
});

describe('spend xAI reports later is reserved up front and charged once, to its creator', () => {
  async function costUsd(id: string): Promise<number> {
    const usage = (await (await h.admin('GET', `/admin/keys/${id}/usage`)).json()) as { totals: { costUsd: number; requests: number } };
    return usage.totals.costUsd;
  }

  it('10 concurrent image requests on a $0.10 budget: at most $0.10 recorded, the rest refused before xAI', async () => {
    const { key: budgeted, id } = await h.createKey({ name: 'ten-cents', models: ['*'], endpoints: ['images'], limits: { costPerDayUsd: 0.1 } });
    h.fake.reset();
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () =>
        postJson(`${h.url}/v1/images/generations`, { model: 'grok-imagine-image', prompt: 'a cat', n: 1 }, { authorization: `Bearer ${budgeted}` }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    expect(h.fake.requests).toHaveLength(5);
    await expect.poll(() => costUsd(id), { timeout: 10_000 }).toBeCloseTo(0.1, 6);
    expect(await costUsd(id)).toBeLessThanOrEqual(0.1);
  });

  it('a video is charged once, to the key that created it, however often it is read; never to the reader first', async () => {
    const { key: creator, id } = await h.createKey({ name: 'video-maker', models: ['*'], endpoints: ['videos'], limits: { costPerDayUsd: 10 } });
    h.fake.reset();
    const created = await postJson(`${h.url}/v1/videos/generations`, { model: 'grok-imagine-video', prompt: 'waves', duration: 3 }, { authorization: `Bearer ${creator}` });
    const { request_id: requestId } = (await created.json()) as { request_id: string };
    // Charged its reserved price at once: 3 s × $0.05.
    await expect.poll(() => costUsd(id), { timeout: 10_000 }).toBeCloseTo(0.15, 6);
    const reads: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const read = await fetch(`${h.url}/v1/videos/${requestId}`, { headers: { authorization: `Bearer ${creator}` } });
      await read.arrayBuffer();
      reads.push(read.status);
    }
    expect(reads).toEqual([202, 200, 200]);
    // xAI's own cost, once: what the fake reported for this video.
    // Every request settled (the creation and three reads), then the total: xAI's own cost, once.
    await expect.poll(async () => ((await (await h.admin('GET', `/admin/keys/${id}/usage`)).json()) as { totals: { requests: number } }).totals.requests, { timeout: 10_000 }).toBe(4);
    expect(await costUsd(id)).toBeCloseTo(h.fake.reported.costTicks / 1e10, 6);
    const another = await h.createKey({ name: 'video-snoop', models: ['*'], endpoints: ['videos'] });
    expect((await fetch(`${h.url}/v1/videos/${requestId}`, { headers: { authorization: `Bearer ${another.key}` } })).status).toBe(404);
    expect(await costUsd(another.id)).toBe(0);
  });

  it('10 concurrent deferred chats on a budget that holds 3 reservations: 3 reach xAI, the rest are refused', async () => {
    // Each reserves its prompt estimate plus max_tokens 1000 at $15/M output: just over $0.015.
    const { key: budgeted, id } = await h.createKey({ name: 'deferred-budget', models: ['*'], endpoints: ['chat.completions'], limits: { costPerDayUsd: 0.05 } });
    h.fake.reset();
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () =>
        postJson(`${h.url}/v1/chat/completions`, chatBody({ deferred: true, max_tokens: 1000 }), { authorization: `Bearer ${budgeted}` }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    expect(h.fake.requests).toHaveLength(3);
    // Nothing fetched yet, so xAI has reported nothing: the budget holds the three reservations.
    await expect.poll(async () => ((await (await h.admin('GET', `/admin/keys/${id}/usage`)).json()) as { totals: { requests: number } }).totals.requests, { timeout: 10_000 }).toBe(3);
    const cost = await costUsd(id);
    expect(cost).toBeGreaterThan(0.045);
    expect(cost).toBeLessThanOrEqual(0.05);
  });

  it('a deferred completion is charged its reservation, then exactly xAI\'s usage once fetched, to its creator alone', async () => {
    const { key: creator, id } = await h.createKey({ name: 'deferred-maker', models: ['*'], endpoints: ['chat.completions', 'deferred'], limits: { costPerDayUsd: 10 } });
    h.fake.reset();
    const created = await postJson(`${h.url}/v1/chat/completions`, chatBody({ deferred: true, max_tokens: 1000 }), { authorization: `Bearer ${creator}` });
    expect(created.status).toBe(200);
    const { request_id: requestId } = (await created.json()) as { request_id: string };
    // The reservation is charged at once: more than xAI will bill (the fake answers far below 1000 tokens).
    await expect.poll(() => costUsd(id), { timeout: 10_000 }).toBeGreaterThan(0.015);
    const snoop = await h.createKey({ name: 'deferred-snoop', models: ['*'], endpoints: ['deferred'] });
    expect((await fetch(`${h.url}/v1/chat/deferred-completion/${requestId}`, { headers: { authorization: `Bearer ${snoop.key}` } })).status).toBe(404);
    const reads: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const read = await fetch(`${h.url}/v1/chat/deferred-completion/${requestId}`, { headers: { authorization: `Bearer ${creator}` } });
      await read.arrayBuffer();
      reads.push(read.status);
    }
    expect(reads).toEqual([202, 200, 404]);
    await expect.poll(async () => ((await (await h.admin('GET', `/admin/keys/${id}/usage`)).json()) as { totals: { requests: number } }).totals.requests, { timeout: 10_000 }).toBe(4);
    const usage = (await (await h.admin('GET', `/admin/keys/${id}/usage`)).json()) as {
      totals: { costUsd: number; totalTokens: number };
      days: { models: Record<string, unknown> }[];
    };
    // The reservation was replaced by xAI's usage: the refund brought both totals down to what xAI reported.
    expect(h.fake.reported.requests).toBe(1);
    expect(usage.totals.totalTokens).toBe(h.fake.reported.totalTokens);
    expect(usage.totals.costUsd).toBeCloseTo(h.fake.reported.costTicks / 1e10, 9);
    // One usage row, under the model the creation named: the charge and its correction add up in it.
    expect(usage.days.flatMap((day) => Object.keys(day.models))).toEqual(['grok-4']);
    expect(await costUsd(snoop.id)).toBe(0);
  });

  it('a video request on a budget it does not fit is refused before xAI', async () => {
    const { key: small } = await h.createKey({ name: 'small-video', models: ['*'], endpoints: ['videos'], limits: { costPerDayUsd: 0.2 } });
    h.fake.reset();
    const refused = await postJson(`${h.url}/v1/videos/generations`, { model: 'grok-imagine-video', prompt: 'long', duration: 15 }, { authorization: `Bearer ${small}` });
    expect(refused.status).toBe(429);
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe('hanging up early does not dodge the charge', () => {
  async function usageTotals(id: string): Promise<{ requests: number; totalTokens: number; reasoningTokens: number; completionTokens: number }> {
    const usage = (await (await h.admin('GET', `/admin/keys/${id}/usage`)).json()) as { totals: { requests: number; totalTokens: number; reasoningTokens: number; completionTokens: number } };
    return usage.totals;
  }

  /** Streams a chat on a reasoning model, reads until `stop` says so, then hangs up. */
  async function hangUp(stop: (text: string) => boolean): Promise<string> {
    const { key: streamer, id } = await h.createKey({ name: `hang-up-${Math.random()}`, models: ['*'], endpoints: ['*'] });
    h.fake.reset();
    const response = await postJson(`${h.url}/v1/chat/completions`, chatBody({ model: 'grok-3-mini', stream: true, max_tokens: 50 }), {
      authorization: `Bearer ${streamer}`,
      'x-fake-chunk-delay-ms': '40',
      'x-fake-chunks': '4',
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!stop(text)) text += Buffer.from((await reader.read()).value ?? new Uint8Array()).toString('utf8');
    await reader.cancel();
    return id;
  }

  it.each([
    ['right after its first chunk', (text: string) => text.includes('\n\n')],
    ['right after its last answer chunk (before xAI\'s usage report)', (text: string) => text.includes('"finish_reason"')],
  ])('a stream cut %s is charged exactly xAI\'s usage, reasoning included', async (_name, stop) => {
    const id = await hangUp(stop);
    await expect.poll(async () => (await usageTotals(id)).requests, { timeout: 10_000 }).toBe(1);
    const totals = await usageTotals(id);
    expect(totals.totalTokens).toBe(h.fake.reported.totalTokens);
    expect(totals.reasoningTokens).toBeGreaterThan(0);
  });

  it('a drain that runs past disconnectDrainMs is aborted and charged its whole reservation, never less', async () => {
    const short = await startHarness({ store: 'memory', name: 'hostile-drain', yaml: 'quotas: { disconnectDrainMs: 300 }', fake: h.fake });
    try {
      const { key: streamer, id } = await short.createKey({ name: 'held', models: ['*'], endpoints: ['*'] });
      h.fake.reset();
      const response = await postJson(`${short.url}/v1/chat/completions`, chatBody({ model: 'grok-3-mini', stream: true, max_tokens: 50 }), {
        authorization: `Bearer ${streamer}`,
        'x-fake-scenario': 'hold',
      });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      await reader.cancel();
      // The upstream holds the rest: after 300 ms of draining the gateway gives up and closes it.
      await expect.poll(() => h.fake.requests[0]?.closedByClientAtMs ?? null, { timeout: 10_000 }).not.toBeNull();
      const completionTokens = async (): Promise<number> =>
        ((await (await short.admin('GET', `/admin/keys/${id}/usage`)).json()) as { totals: { completionTokens: number } }).totals.completionTokens;
      await expect.poll(completionTokens, { timeout: 10_000 }).toBe(50);
    } finally {
      h.fake.release();
      await short.close();
    }
  });
});

describe('small leaks', () => {
  it('xAI\'s error text reaches the client without the operator\'s team id', async () => {
    h.fake.reset();
    const response = await postJson(`${h.url}/v1/chat/completions`, chatBody({ model: 'grok-no-such-model' }), { authorization: `Bearer ${key}` });
    expect(response.status).toBe(404);
    const text = await response.text();
    expect(text).toContain('your team <team> does not have access');
    expect(text).not.toContain('fake-team');
  });

  it('a fragment in the target is never forwarded', async () => {
    const conn = await open();
    h.fake.reset();
    const body = JSON.stringify(chatBody({ model: 'grok-3-mini' }));
    conn.socket.write(headers({ authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, 'POST', '/v1/chat/completions?x=1#secret') + body);
    await until(() => /\r\n\r\n/.test(conn.received()) && h.fake.requests.length === 1, 2_000);
    expect(h.fake.requests[0]?.path).toBe('/v1/chat/completions?x=1');
    conn.socket.destroy();
  });

  it('plan names are looked up as own entries: "constructor" or "__proto__" is no plan', async () => {
    for (const plan of ['constructor', '__proto__', 'toString']) {
      const response = await h.admin('POST', '/admin/keys', { name: 'sneaky', plan });
      expect(response.status).toBe(400);
    }
  });
});

describe('the failed-auth throttle cannot be side-stepped', () => {
  it('40 wrong admin tokens across encoded and absolute-form spellings of the path: throttled after 30', async () => {
    // A gateway of its own: the failures of other tests from this address must not count here, nor this block them.
    const guarded = await startHarness({ store: 'redis', name: 'hostile-throttle', yaml: 'server: { authFailuresPerMinute: 30 }', fake: h.fake });
    try {
      const spellings = ['/admin/keys', '/%61dmin/keys', '/admin/%6beys', `${guarded.url}/admin/keys`, 'http://other.example/admin/keys'];
      const statuses: number[] = [];
      for (let i = 0; i < 40; i += 1) {
        const conn = await open(guarded.url);
        const path = spellings[i % spellings.length] ?? '/admin/keys';
        conn.socket.write(headers({ authorization: `Bearer wrong-admin-token-${i}`, connection: 'close' }, 'GET', path));
        await conn.closed;
        statuses.push(Number(/^HTTP\/1\.1 (\d{3})/.exec(conn.received())?.[1] ?? 0));
      }
      expect(statuses.join(" ")).toBe([...Array<number>(30).fill(401), ...Array<number>(10).fill(429)].join(" "));
      // The right token from the same address is throttled too until the window passes: guessing gains nothing.
      expect((await guarded.admin('GET', '/admin/keys')).status).toBe(429);
    } finally {
      await guarded.close();
    }
  });
});

describe('a body over the limit is answered 413 in a way clients receive', () => {
  const body = JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'x'.repeat(3_000_000) }] }));

  it.each([
    ['curl', []],
    ['curl with Expect: 100-continue', ['-H', 'Expect: 100-continue']],
  ])('%s', async (_name, extra) => {
    const file = join(mkdtempSync(join(tmpdir(), 'xgw-413-')), 'body.json');
    writeFileSync(file, body);
    const args = ['-sS', '--max-time', '20', '-o', '-', '-w', '\n%{http_code}', '-H', `authorization: Bearer ${key}`, '-H', 'content-type: application/json'];
    const { stdout } = await run('curl', [...args, ...extra, '--data-binary', `@${file}`, `${h.url}/v1/chat/completions`], { encoding: 'utf8' });
    const lines = stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('413');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ error: { code: 'request_too_large' } });
  });

  it('Node fetch', async () => {
    const response = await postJson(`${h.url}/v1/chat/completions`, JSON.parse(body), { authorization: `Bearer ${key}` });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
  });

  it('the openai SDK: an APIError 413, not a connection error after retries', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 2 });
    h.fake.reset();
    const error = await client.chat.completions.create({ model: 'grok-3-mini', messages: [{ role: 'user', content: 'x'.repeat(3_000_000) }] }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(413);
    expect(h.fake.requests).toHaveLength(0);
  });

  it('Expect: 100-continue with a declared length over the limit: 413 before any body is sent', async () => {
    const conn = await open();
    conn.socket.write(headers({ authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': 5_000_000, expect: '100-continue' }));
    await until(() => conn.received().includes('\r\n\r\n{'), 1_000);
    expect(conn.received()).toMatch(/^HTTP\/1\.1 413/);
    expect(conn.received()).not.toContain('100 Continue');
    conn.socket.destroy();
  });
});
