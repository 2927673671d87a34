import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeXai, type FakeXai } from '../../src/fake/xai-server.js';
import { chatBody, eventually, postJson, startHarness, UPSTREAM_KEY, type Harness } from '../helpers/harness.js';

// The operator's view (docs/operator-view.md, docs/alerts.md): requests in flight across instances,
// refused and failed counts, the request log, the overview, CSV export and signed webhooks — on a real Redis,
// with two gateway instances sharing one prefix.

const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local webhook receiver: records every POST; answers 500 to the first `failFirst` deliveries of each event id. */
function startReceiver(failFirst: number): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const tries = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = (JSON.parse(body) as { id: string }).id;
      const n = (tries.get(id) ?? 0) + 1;
      tries.set(id, n);
      if (n <= failFirst) {
        res.writeHead(500).end();
        return;
      }
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received }));
  });
}

let fake: FakeXai;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let a: Harness;
let b: Harness;

beforeAll(async () => {
  fake = await startFakeXai({ apiKeys: [UPSTREAM_KEY] });
  // Every event is refused once, so each delivery is a retry too.
  receiver = await startReceiver(1);
  const yaml = `
pricing:
  grok-4: { input: 3.0, output: 15.0 }
  grok-3-mini: { input: 0.3, output: 0.5 }
plans:
  starter:
    models: ["grok-4"]
    endpoints: ["chat.completions"]
    limits: { requestsPerMinute: 100, tokensPerDay: 500000 }
alerts:
  webhooks:
    - { url: "${receiver.url}?token=receiver-query-token", secret: "${WEBHOOK_SECRET}" }
  budgetThresholds: [0.5, 0.8, 1.0]
  expiringWithinDays: 7
`;
  a = await startHarness({ store: 'redis', name: 'operator-view', yaml, fake, alertRetryDelaysMs: [100, 100, 100, 100, 100] });
  b = await startHarness({ store: 'redis', name: 'operator-view', yaml, fake, prefix: a.prefix, alertRetryDelaysMs: [100, 100, 100, 100, 100] });
});

afterAll(async () => {
  await b.close();
  await a.close();
  await fake.close();
  await new Promise((resolve) => receiver.server.close(resolve));
});

function chat(on: Harness, key: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Response> {
  return postJson(`${on.url}/v1/chat/completions`, chatBody(body), { authorization: `Bearer ${key}`, ...headers });
}

async function json<T>(response: Response): Promise<T> {
  expect(response.headers.get('content-type') ?? '').toContain('application/json');
  return (await response.json()) as T;
}

interface U {
  requests: number;
  totalTokens: number;
  costUsd: number;
  refused: number;
  failed: number;
}

describe('live.inFlight', () => {
  it('counts the open streams of a key and its children on both instances, then drops back to 0', async () => {
    const parent = await a.createKey({ name: 'live-parent', models: ['*'], endpoints: ['*'], mint: { maxTtlSeconds: 600 } });
    const minted = await postJson(`${a.url}/gateway/keys`, { name: 'live-child', ttlSeconds: 300 }, { authorization: `Bearer ${parent.key}` });
    expect(minted.status).toBe(201);
    const child = (await minted.json()) as { key: string; id: string };

    const hold = { 'x-fake-scenario': 'hold' };
    const streams = await Promise.all([
      chat(a, parent.key, { stream: true }, hold),
      chat(b, parent.key, { stream: true }, hold),
      chat(b, child.key, { stream: true }, hold),
    ]);
    for (const stream of streams) expect(stream.status).toBe(200);

    const inFlight = async (id: string): Promise<number> => (await json<{ live: { inFlight: number } }>(await a.admin('GET', `/admin/keys/${id}`))).live.inFlight;
    await eventually(async () => (await inFlight(parent.id)) === 3 && (await inFlight(child.id)) === 1, 5_000);
    const overview = await json<{ inFlight: number }>(await b.admin('GET', '/admin/overview'));
    expect(overview.inFlight).toBe(3);

    fake.release();
    for (const stream of streams) expect(await stream.text()).toContain('[DONE]');
    await eventually(async () => (await inFlight(parent.id)) === 0 && (await inFlight(child.id)) === 0, 5_000);
  });
});

describe('refused and failed', () => {
  it('are counted exactly per key, day and model, children in their parent', async () => {
    const key = await a.createKey({ name: 'outcomes', plan: 'starter' });
    const refusedCalls = [
      chat(a, key.key, { model: 'grok-3-mini' }), // 403 model_not_allowed, a model the config prices
      chat(b, key.key, { model: 'grok-3-mini' }),
      chat(a, key.key, { model: 'made-up-model-1' }), // 403, a name nobody knows: counted under (other)
      chat(b, key.key, { model: 'grok-4', max_tokens: 10_000_000 }), // 429: more than the day's tokens
      fetch(`${a.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' }, body: '{"model":' }), // 400
    ];
    const refusedStatuses = (await Promise.all(refusedCalls)).map((r) => r.status).sort();
    expect(refusedStatuses).toEqual([400, 403, 403, 403, 429]);

    const failedCalls = [
      chat(a, key.key, {}, { 'x-fake-scenario': 'status-500' }),
      chat(b, key.key, {}, { 'x-fake-scenario': 'status-503' }),
      chat(a, key.key, { stream: true }, { 'x-fake-scenario': 'midstream-error' }),
    ];
    for (const response of await Promise.all(failedCalls)) await response.text();
    const ok = await chat(b, key.key);
    expect(ok.status).toBe(200);
    await ok.text();

    let report: { totals: U; days: { date: string; models: Record<string, U> }[]; errorRate: number } | null = null;
    await eventually(async () => {
      report = await json(await a.admin('GET', `/admin/keys/${key.id}/usage`));
      return report !== null && report.totals.refused === 5 && report.totals.failed === 3;
    }, 5_000);
    const r = report as unknown as { totals: U; days: { date: string; models: Record<string, U> }[]; errorRate: number };
    // Sent upstream: the 3 failed and the 1 that succeeded.
    expect(r.totals.requests).toBe(4);
    const models = r.days[0]?.models ?? {};
    expect(models['grok-3-mini']?.refused).toBe(2);
    expect(models['(other)']?.refused).toBe(1);
    expect(models['grok-4']?.refused).toBe(1);
    expect(models['grok-4']?.failed).toBe(3);
    expect(r.errorRate).toBeCloseTo(8 / 9, 6);

    // The same counts in the key's summary and the all-keys report.
    const summary = await json<{ usage: { today: U } }>(await b.admin('GET', `/admin/keys/${key.id}`));
    expect(summary.usage.today.refused).toBe(5);
    expect(summary.usage.today.failed).toBe(3);
    const all = await json<{ keys: { keyId: string; totals: U }[] }>(await a.admin('GET', '/admin/usage'));
    expect(all.keys.find((k) => k.keyId === key.id)?.totals.failed).toBe(3);
  });
});

describe('request log', () => {
  it('lists a key’s requests newest first, children included, with no content of a prompt', async () => {
    const parent = await a.createKey({ name: 'log-parent', models: ['*'], endpoints: ['*'], mint: { maxTtlSeconds: 600 } });
    const minted = await postJson(`${b.url}/gateway/keys`, { name: 'log-child', ttlSeconds: 300 }, { authorization: `Bearer ${parent.key}` });
    const child = (await minted.json()) as { key: string; id: string };
    const secretPrompt = 'PURPLE-ELEPHANT-7781 tells the secret recipe';
    const ids = ['req-log-1', 'req-log-2', 'req-log-3'];
    await (await chat(a, parent.key, { messages: [{ role: 'user', content: secretPrompt }] }, { 'x-request-id': ids[0] as string })).text();
    await (await chat(b, child.key, { stream: true, messages: [{ role: 'user', content: secretPrompt }] }, { 'x-request-id': ids[1] as string })).text();
    await (await chat(a, parent.key, { model: 'not-a-model' }, { 'x-request-id': ids[2] as string })).text();

    let text = '';
    await eventually(async () => {
      text = await (await a.admin('GET', `/admin/keys/${parent.id}/requests?limit=10`)).text();
      // The three requests, and the mint before them (a mint counts as a request of the minting key).
      return (JSON.parse(text) as { data: unknown[] }).data.length === 4;
    }, 5_000);
    const log = (JSON.parse(text) as { data: { at: string; requestId: string; keyId: string; endpoint: string; status: number; code: string | null; streamed: boolean; promptTokens: number; costUsd: number }[] }).data;
    expect(log.map((line) => line.requestId).slice(0, 3)).toEqual([...ids].reverse());
    expect(log[3]).toMatchObject({ endpoint: 'mint', status: 201 });
    expect(log.map((line) => line.at)).toEqual([...log.map((line) => line.at)].sort().reverse());
    expect(log[1]?.keyId).toBe(child.id);
    expect(log[1]?.streamed).toBe(true);
    // xAI's 404 for a model it does not know, passed on: no gateway code.
    expect(log[0]).toMatchObject({ status: 404, code: null, model: 'not-a-model' });
    expect(log[2]?.promptTokens).toBeGreaterThan(0);
    expect(log[2]?.costUsd).toBeGreaterThan(0);
    expect(text).not.toContain('PURPLE-ELEPHANT');
    expect(text).not.toContain('recipe');

    // Nor anywhere in what the gateway stored for it.
    const redis = a.redis;
    if (redis === null) throw new Error('redis harness expected');
    const logKeys = await redis.keys(`${a.prefix}*:rlog`);
    expect(logKeys.length).toBeGreaterThan(0);
    for (const logKey of logKeys) expect((await redis.zrange(logKey, 0, -1)).join('\n')).not.toContain('PURPLE-ELEPHANT');

    const childLog = await json<{ data: { requestId: string }[] }>(await b.admin('GET', `/admin/keys/${child.id}/requests`));
    expect(childLog.data.map((line) => line.requestId)).toEqual([ids[1]]);
    expect((await a.admin('GET', `/admin/keys/${parent.id}/requests?limit=1001`)).status).toBe(400);
    expect((await a.admin('GET', `/admin/keys/${parent.id}/requests?limit=0`)).status).toBe(400);
    expect((await a.admin('GET', '/admin/keys/key_nope/requests')).status).toBe(404);
  });
});

describe('overview, plans and CSV', () => {
  it('names the day’s top spender', async () => {
    const big = await a.createKey({ name: 'big-spender', models: ['*'], endpoints: ['*'] });
    for (let i = 0; i < 6; i += 1) await (await chat(i % 2 === 0 ? a : b, big.key, { max_tokens: 2000 })).text();
    let overview: { topKeys: { keyId: string; name: string; costUsd: number; requests: number }[]; totals: { today: U; month: U } } | null = null;
    await eventually(async () => {
      overview = await json(await b.admin('GET', '/admin/overview'));
      return overview !== null && overview.topKeys[0]?.keyId === big.id && overview.topKeys[0].requests === 6;
    }, 5_000);
    const o = overview as unknown as { topKeys: { keyId: string; name: string; costUsd: number }[]; totals: { today: U; month: U } };
    expect(o.topKeys[0]?.name).toBe('big-spender');
    expect(o.topKeys.length).toBeLessThanOrEqual(10);
    expect(o.totals.month.costUsd).toBeGreaterThanOrEqual(o.totals.today.costUsd);
    expect(o.totals.today.requests).toBeGreaterThanOrEqual(6);
  });

  it('lists the configured plans', async () => {
    const plans = await json<{ data: { name: string; models: string[]; limits: Record<string, number> }[] }>(await a.admin('GET', '/admin/plans'));
    expect(plans.data).toEqual([{ name: 'starter', models: ['grok-4'], endpoints: ['chat.completions'], collections: [], limits: { requestsPerMinute: 100, tokensPerDay: 500000 } }]);
  });

  it('exports usage as CSV rows that agree with the JSON', async () => {
    const key = await a.createKey({ name: 'csv', models: ['*'], endpoints: ['*'] });
    await (await chat(a, key.key, { model: 'grok-4' })).text();
    await (await chat(b, key.key, { model: 'grok-3-mini' })).text();
    await (await chat(a, key.key, { model: 'grok-4' }, { 'x-fake-scenario': 'status-500' })).text();
    type Report = { days: { date: string; models: Record<string, Record<string, number>> }[] };
    let report: Report = { days: [] };
    await eventually(async () => {
      report = await json<Report>(await a.admin('GET', `/admin/keys/${key.id}/usage`));
      return report.days[0]?.models['grok-4']?.failed === 1;
    }, 5_000);
    const response = await a.admin('GET', `/admin/keys/${key.id}/usage?format=csv`);
    expect(response.headers.get('content-type')).toContain('text/csv');
    expect(response.headers.get('content-disposition')).toContain('attachment');
    const [header, ...rows] = (await response.text()).trim().split('\r\n');
    const columns = (header ?? '').split(',');
    expect(columns).toEqual(['keyId', 'date', 'model', 'requests', 'promptTokens', 'completionTokens', 'reasoningTokens', 'cachedTokens', 'totalTokens', 'costUsd', 'refused', 'failed']);
    const expected = report.days.flatMap((day) =>
      Object.entries(day.models).map(([model, u]) => [key.id, day.date, model, ...columns.slice(3).map((c) => String(u[c]))].join(',')),
    );
    expect(rows.sort()).toEqual(expected.sort());
    expect(rows.length).toBe(2);

    const all = await a.admin('GET', '/admin/usage?format=csv');
    expect(all.status).toBe(200);
    const allRows = (await all.text()).trim().split('\r\n');
    for (const row of expected) expect(allRows).toContain(row);
    expect((await a.admin('GET', '/admin/usage?format=xml')).status).toBe(400);
  });
});

describe('alerts', () => {
  type Event = { id: string; type: string; keyId: string; data: Record<string, unknown> };
  const eventsOf = (keyId: string): Event[] => receiver.received.map((r) => JSON.parse(r.body) as Event).filter((e) => e.keyId === keyId);

  it('sends each budget threshold once, signed, while two instances share the key', async () => {
    const key = await a.createKey({ name: 'budget', models: ['*'], endpoints: ['*'] });
    // One request tells how many tokens each costs; the limit is then set to four of them.
    await (await chat(a, key.key, { max_tokens: 20 })).text();
    let perRequest = 0;
    await eventually(async () => {
      perRequest = (await json<{ totals: U }>(await a.admin('GET', `/admin/keys/${key.id}/usage`))).totals.totalTokens;
      return perRequest > 0;
    });
    expect((await a.admin('PATCH', `/admin/keys/${key.id}`, { limits: { tokensPerDay: perRequest * 4 + 40 } })).status).toBe(200);
    // Three more on both instances at once: 4 requests' tokens = just under the limit + 40 → 0.5 and 0.8 reached.
    await Promise.all([chat(a, key.key, { max_tokens: 20 }), chat(b, key.key, { max_tokens: 20 }), chat(b, key.key, { max_tokens: 20 })].map(async (r) => (await r).text()));
    // A fourth, then a fifth: the day's budget is reached (1.0) — the fifth may be refused; both instances check.
    await (await chat(a, key.key, { max_tokens: 20 })).text();
    await (await chat(b, key.key, { max_tokens: 20 })).text();
    await Promise.all([a.gateway.alerts.flush(), b.gateway.alerts.flush()]);

    await eventually(() => eventsOf(key.id).filter((e) => e.type === 'budget.threshold').length >= 2, 5_000);
    // Give any duplicate time to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const events = eventsOf(key.id).filter((e) => e.type === 'budget.threshold');
    const thresholds = events.map((e) => e.data.threshold as number).sort();
    expect(new Set(thresholds).size).toBe(thresholds.length);
    expect(thresholds.slice(0, 2)).toEqual([0.5, 0.8]);
    for (const event of events) {
      expect(event.data.limit).toBe('tokensPerDay');
      expect(event.data.max).toBe(perRequest * 4 + 40);
      expect(event.data.used as number).toBeGreaterThanOrEqual((event.data.threshold as number) * (perRequest * 4 + 40));
    }
    for (const delivery of receiver.received.filter((r) => (JSON.parse(r.body) as Event).keyId === key.id)) {
      expect(delivery.headers['x-xgw-event']).toBe('budget.threshold');
      expect(delivery.headers['x-xgw-signature']).toBe(`sha256=${createHmac('sha256', WEBHOOK_SECRET).update(delivery.body).digest('hex')}`);
    }

    // Listed, with the URL's query left out, after a refused first try.
    const listed = await json<{ data: { eventId: string; url: string; status: string; tries: number }[] }>(await a.admin('GET', '/admin/alerts'));
    const mine = listed.data.filter((d) => events.some((e) => e.id === d.eventId));
    expect(mine.length).toBe(events.length);
    for (const delivery of mine) {
      expect(delivery.url).toBe(receiver.url);
      expect(delivery.status).toBe('delivered');
      expect(delivery.tries).toBe(2);
    }
    expect(JSON.stringify(listed)).not.toContain('receiver-query-token');
    expect(a.logs.join('\n')).not.toContain(WEBHOOK_SECRET);
  });

  it('sends key.expiring and key.revoked once each', async () => {
    const key = await a.createKey({ name: 'short-lived', models: ['*'], endpoints: ['*'], ttlSeconds: 86_400 });
    await (await chat(b, key.key)).text();
    await (await chat(a, key.key)).text();
    await Promise.all([a.gateway.alerts.flush(), b.gateway.alerts.flush()]);
    expect((await a.admin('DELETE', `/admin/keys/${key.id}`)).status).toBe(200);
    await eventually(() => eventsOf(key.id).some((e) => e.type === 'key.revoked'), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(eventsOf(key.id).map((e) => e.type).sort()).toEqual(['key.expiring', 'key.revoked']);
    expect(eventsOf(key.id).find((e) => e.type === 'key.expiring')?.data.expiresAt).toBe(key.record.expiresAt);
  });
});
