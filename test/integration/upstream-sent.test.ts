import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageView as Totals } from '../../src/activity/usage-view.js';
import { chatBody, eventually, startHarness, type Harness } from '../helpers/harness.js';

// docs/api.md: "A request counts once it was sent upstream". A client that leaves while the gateway is still
// connecting to xAI (or waiting for a free connection) leaves a request xAI never received: its reservation is
// released and nothing is recorded. A client that leaves once xAI has the request is settled from an estimate
// (upstream-resilience.test.ts). The upstream here accepts TCP connections and never answers the TLS handshake,
// so the request stays unwritten for as long as the test likes.

let stall: Server;
const stalled: Socket[] = [];
let h: Harness;

beforeAll(async () => {
  stall = createServer((socket) => {
    stalled.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => stall.listen(0, '127.0.0.1', resolve));
  const { port } = stall.address() as AddressInfo;
  h = await startHarness({
    store: 'redis',
    name: 'upstream-sent',
    yaml: 'upstream: { connectTimeoutMs: 30000, headersTimeoutMs: 30000 }',
    env: { XAI_BASE_URL: `https://127.0.0.1:${port}` },
  });
});

afterAll(async () => {
  // First, so the gateway's pending connects fail and its upstream pool can close.
  for (const socket of stalled) socket.destroy();
  await h.close();
  await new Promise<void>((resolve) => stall.close(() => resolve()));
});

async function totals(id: string): Promise<Totals> {
  return ((await (await h.admin('GET', `/admin/keys/${id}/usage`)).json()) as { totals: Totals }).totals;
}

/** Bytes the stalled upstream has received so far (TLS ClientHellos; never an HTTP request). */
function bytesAtUpstream(): number {
  return stalled.reduce((sum, socket) => sum + socket.bytesRead, 0);
}

describe('a client that leaves before the request was written upstream', () => {
  it.each([
    ['POST /v1/chat/completions', 'POST', '/v1/chat/completions', JSON.stringify(chatBody())],
    ['a stream', 'POST', '/v1/chat/completions', JSON.stringify(chatBody({ stream: true }))],
    ['GET without a body', 'GET', '/v1/chat/deferred-completion/req-123', undefined],
  ])('%s: not counted, reservation released', async (name, method, path, body) => {
    const { key, id } = await h.createKey({ name: `unsent-${name}`, models: ['*'], endpoints: ['*'], limits: { concurrency: 1 } });
    // The deferred completion is this key's, as if it had made it through the gateway (docs/isolation.md).
    await h.store.ownership.record({ id: 'req-123', kind: 'deferred', ownerId: id, ownerParentId: null, createdAtMs: Date.now(), expiresAtMs: null, upFront: null });
    const auth = { authorization: `Bearer ${key}` };
    const requestId = `unsent-${name.replace(/\W+/g, '-')}`;
    const before = bytesAtUpstream();
    const controller = new AbortController();
    const pending = fetch(`${h.url}${path}`, {
      method,
      headers: { ...auth, 'x-request-id': requestId, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body }),
      signal: controller.signal,
    });
    void pending.catch(() => undefined);
    // The gateway is connecting to xAI for this request: its TLS handshake reached the upstream, and stalls there.
    await eventually(() => bytesAtUpstream() > before);
    // While it connects, the concurrency slot is held: the key's one slot is taken.
    expect((await fetch(`${h.url}/v1/api-key`, { headers: auth })).status).toBe(429);
    controller.abort();

    // The slot comes back (GET /v1/api-key holds it itself while it answers: 0 left, not refused).
    await eventually(async () => {
      const response = await fetch(`${h.url}/v1/api-key`, { headers: auth });
      if (response.status !== 200) return false;
      return ((await response.json()) as { remaining: { concurrency: number } }).remaining.concurrency === 0;
    });
    // The reservation has ended, so the usage is final: nothing recorded (GET /v1/api-key records no usage either).
    const t = await totals(id);
    expect(t.requests).toBe(0);
    expect(t.totalTokens).toBe(0);
    const line = h.logs.map((l) => JSON.parse(l) as { reqId?: string; msg?: string; status?: number; usage?: unknown }).find((l) => l.reqId === requestId && l.msg === 'request');
    expect(line?.status).toBe(499);
    expect(line?.usage).toBeUndefined();
  });
});
