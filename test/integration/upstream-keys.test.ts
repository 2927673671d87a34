import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactKeyLikeXai, startFakeXai, type FakeXai } from '../../src/fake/xai-server.js';
import { chatBody, postJson, startHarness, type Harness } from '../helpers/harness.js';

// Several upstream keys (docs/configuration.md upstream.apiKeys / comma-separated XAI_API_KEY, §4): load spread round
// robin; a key xAI refuses (400 "Incorrect API key provided", 403 blocked) set aside and the request retried once
// on another key; with none left, 502 upstream_error without xAI's text; model lists fail over the same way.
const GOOD_A = 'xai-GOODkeyAAAA0123456789abcdefghij';
const GOOD_B = 'xai-GOODkeyBBBB0123456789abcdefghij';
const WRONG = 'xai-WRONGkeyCCC0123456789abcdefghij';
const WRONG_2 = 'xai-WRONGkeyDDD0123456789abcdefghij';
const BLOCKED = 'xai-BLOCKEDkeyE0123456789abcdefghij';

let fake: FakeXai;
const harnesses: Harness[] = [];

beforeAll(async () => {
  fake = await startFakeXai({ apiKeys: [GOOD_A, GOOD_B], blockedKeys: [BLOCKED] });
});

afterAll(async () => {
  for (const h of harnesses) await h.close();
  await fake.close();
});

async function gateway(name: string, upstreamKeys: string[]): Promise<{ h: Harness; auth: Record<string, string> }> {
  const h = await startHarness({ store: 'redis', name: `upstream-keys-${name}`, fake, upstreamKeys });
  harnesses.push(h);
  const { key } = await h.createKey({ name, models: ['*'], endpoints: ['*'] });
  return { h, auth: { authorization: `Bearer ${key}` } };
}

const keysSeen = (): string[] => fake.requests.map((r) => String(r.headers.authorization).replace(/^Bearer /, ''));
const count = (keys: string[], key: string): number => keys.filter((k) => k === key).length;

async function chatOk(h: Harness, auth: Record<string, string>): Promise<number> {
  const response = await postJson(`${h.url}/v1/chat/completions`, chatBody(), auth);
  await response.arrayBuffer();
  return response.status;
}

describe('several upstream keys', () => {
  it('spreads requests over the keys round robin', async () => {
    const { h, auth } = await gateway('spread', [GOOD_A, GOOD_B]);
    fake.reset();
    for (let i = 0; i < 6; i += 1) expect(await chatOk(h, auth)).toBe(200);
    expect(count(keysSeen(), GOOD_A)).toBe(3);
    expect(count(keysSeen(), GOOD_B)).toBe(3);
  });

  it.each([
    ['wrong (400 "Incorrect API key provided")', WRONG],
    ['blocked (403)', BLOCKED],
  ])('one %s key among two: every request served; the refused key set aside, not retried on every request', async (_name, bad) => {
    const { h, auth } = await gateway(`one-bad-${bad.slice(4, 9)}`, [bad, GOOD_A]);
    fake.reset();
    for (let i = 0; i < 8; i += 1) expect(await chatOk(h, auth)).toBe(200);
    const seen = keysSeen();
    expect(count(seen, bad)).toBe(1);
    expect(count(seen, GOOD_A)).toBe(8);
    // The operator learns which key, by its position only.
    const logs = h.logs.join('\n');
    expect(logs).toContain('"upstreamKey":"key#1"');
    expect(logs).not.toContain(bad);
    expect(logs).not.toContain(redactKeyLikeXai(bad));
  });

  it('no usable key left: 502 upstream_error, never xAI\'s key text; each request tries at most two keys; nothing counted', async () => {
    const { h } = await gateway('all-bad', [WRONG, WRONG_2]);
    const { key, id } = await h.createKey({ name: 'all-bad-client', models: ['*'], endpoints: ['*'] });
    fake.reset();
    for (let i = 0; i < 3; i += 1) {
      const before = fake.requests.length;
      const response = await postJson(`${h.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}` });
      expect(response.status).toBe(502);
      const text = await response.text();
      expect((JSON.parse(text) as { error: { code: string } }).error.code).toBe('upstream_error');
      for (const forbidden of [WRONG, WRONG_2, redactKeyLikeXai(WRONG), redactKeyLikeXai(WRONG_2), '***', 'Incorrect API key', 'console.x.ai']) {
        expect(text).not.toContain(forbidden);
      }
      expect(fake.requests.length - before).toBeLessThanOrEqual(2);
    }
    // First request: both keys tried once; later ones: one attempt each while both are set aside.
    expect(fake.requests).toHaveLength(4);
    const usage = (await (await h.admin('GET', `/admin/keys/${id}/usage`)).json()) as { totals: { requests: number } };
    expect(usage.totals.requests).toBe(0);
    expect(h.logs.join('\n')).not.toContain(WRONG);
  });

  it('an xAI 400 about the request itself is passed through, not retried, the key kept', async () => {
    const { h, auth } = await gateway('request-400', [GOOD_A, GOOD_B]);
    fake.reset();
    const response = await postJson(`${h.url}/v1/chat/completions`, chatBody(), { ...auth, 'x-fake-scenario': 'status-400' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain('at least one content element');
    expect(fake.requests).toHaveLength(1);
    // Both keys still in rotation.
    for (let i = 0; i < 4; i += 1) expect(await chatOk(h, auth)).toBe(200);
    expect(count(keysSeen(), GOOD_A)).toBeGreaterThanOrEqual(2);
    expect(count(keysSeen(), GOOD_B)).toBeGreaterThanOrEqual(2);
  });

  it("the gateway's own model-list fetch fails over the same way", async () => {
    const { h, auth } = await gateway('models', [WRONG, GOOD_B]);
    fake.reset();
    const response = await fetch(`${h.url}/v1/models`, { headers: auth });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
    expect(count(keysSeen(), WRONG)).toBe(1);
    // And the key set aside by the list fetch is skipped by the next forwarded request.
    expect(await chatOk(h, auth)).toBe(200);
    expect(count(keysSeen(), WRONG)).toBe(1);
  });

  it('a streamed (multipart) body cannot be sent twice: a refused key fails that upload with 502; the next one works', async () => {
    const { h, auth } = await gateway('multipart', [WRONG, GOOD_A]);
    const boundary = 'xgwboundary';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n`),
      randomBytes(1000),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const upload = (): Promise<Response> =>
      fetch(`${h.url}/v1/files`, { method: 'POST', headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
    const first = await upload();
    expect(first.status).toBe(502);
    expect(await first.text()).not.toContain(redactKeyLikeXai(WRONG));
    const second = await upload();
    expect(second.status).toBe(200);
    expect(((await second.json()) as { bytes: number }).bytes).toBe(1000);
  });
});
