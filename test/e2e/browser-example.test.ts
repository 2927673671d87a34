import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, eventually, startHarness, UPSTREAM_KEY, type Harness } from '../helpers/harness.js';
import { launchChromium, ROOT, type Browser } from './helpers/chromium.js';
import { recordResponses, type ResponseRecorder } from './helpers/response-recorder.js';
import { startNodeProcess } from '../helpers/node-process.js';

// The browser pattern of examples/browser, proven in a real browser. Its backend
// (`node examples/browser/server.js`, its own process) holds a minting key; the page fetches /session for a
// ten-minute child key bound to its origin and streams a chat completion from the gateway (in front of the
// fake xAI, on Redis). Every response the page received is checked: none holds the upstream key or the
// minting key; and the page's storage holds no gateway key at all.

const SERVER = join(ROOT, 'examples/browser/server.js');
const MODEL = 'grok-3-mini';

interface Backend {
  /** The page's origin, e.g. http://localhost:41234 (the origin the session keys are bound to). */
  origin: string;
  output: () => string;
  stop(): Promise<void>;
}

interface Seen {
  url: string;
  method: string;
  status: number;
  headers: string;
  body: string | null;
}

let h: Harness;
let minting: { key: string; id: string };
let backend: Backend;
let browser: Browser;
let page: Page;
/** page.on('response'): every response the page received, with headers and (where Playwright can read it) body. */
const responses: Promise<Seen>[] = [];
let recorder: ResponseRecorder;
/** The Authorization header of every request the page sent, by URL. */
const authorizations: { url: string; value: string }[] = [];
const pageProblems: string[] = [];

async function startBackend(env: Record<string, string>): Promise<Backend> {
  const started = await startNodeProcess({
    script: SERVER,
    name: 'example backend',
    ready: /open (http:\/\/[^/\s]+)\//,
    env: { HOST: '127.0.0.1', PORT: '0', ...env },
  });
  return { origin: started.ready, output: started.output, stop: () => started.stop() };
}

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'e2e-browser-example' });
  minting = await h.createKey({
    name: 'browser-example-backend',
    models: [MODEL, 'grok-4'],
    endpoints: ['chat.completions', 'models'],
    mint: { maxTtlSeconds: 600 },
  });
  backend = await startBackend({ GATEWAY_URL: h.url, MINTING_KEY: minting.key, MODEL });
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.setDefaultTimeout(30_000);
  recorder = await recordResponses(page);
  page.on('request', (request) => {
    const value = request.headers()['authorization'];
    if (value !== undefined) authorizations.push({ url: request.url(), value });
  });
  page.on('response', (response) => {
    responses.push(
      (async (): Promise<Seen> => {
        const headers = Object.entries(await response.allHeaders())
          .map(([name, value]) => `${name}: ${value}`)
          .join('\n');
        // A redirect has no body to read; everything else is read to its end (a stream: once it ended).
        // Playwright cannot read a stream the page cancelled (the recorder below has those bytes).
        const body = await response.text().catch(() => null);
        return { url: response.url(), method: response.request().method(), status: response.status(), headers, body };
      })(),
    );
  });
  page.on('console', (message) => {
    if (message.type() === 'error') pageProblems.push(message.text());
  });
  page.on('pageerror', (error) => pageProblems.push(error.message));
}, 120_000);

afterAll(async () => {
  await recorder?.close().catch(() => undefined);
  await browser?.close();
  await backend?.stop();
  await h?.close();
}, 60_000);

describe('examples/browser in headless Chromium', { timeout: 90_000 }, () => {
  it('gets a session key and streams a chat completion through the gateway', async () => {
    await page.goto(`${backend.origin}/`);
    await page.locator('#status').filter({ hasText: /Session ready/ }).waitFor();

    await page.getByRole('button', { name: 'Send' }).click();
    // Done: an answer, no longer busy, the button enabled again. (Locators, not waitForFunction: a string
    // predicate is evaluated with eval, which the page's CSP rightly refuses.)
    await page.locator('#answer[aria-busy="false"]').filter({ hasText: /\S/ }).waitFor();
    await page.locator('#send:enabled').waitFor();
    await expect(page.locator('#error').isHidden()).resolves.toBe(true);
    const answer = (await page.locator('#answer').textContent()) ?? '';
    expect(answer.length).toBeGreaterThan(0);
    // Into docs/screenshots only with UPDATE_SCREENSHOTS=1 (see dashboard.test.ts).
    const shots = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs/screenshots') : join(tmpdir(), 'xgw-screenshots');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'browser-example.png') });

    // The page's stream came from the gateway, as server-sent events, and its text is the answer shown.
    const seen = await Promise.all(responses);
    const chat = seen.find((r) => r.url === `${h.url}/v1/chat/completions` && r.method === 'POST');
    expect(chat?.status).toBe(200);
    expect(chat?.headers).toMatch(/content-type: text\/event-stream/);
    expect(chat?.headers).toContain(`access-control-allow-origin: ${backend.origin}`);
    const chatBytes = (await recorder.responses()).find((r) => r.url === `${h.url}/v1/chat/completions` && r.status === 200);
    expect(chatBytes?.body).toMatch(/data: \[DONE\]/);
    const streamed = (chatBytes?.body ?? '')
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => (JSON.parse(line.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '')
      .join('');
    expect(streamed).toBe(answer);

    // Upstream, the fake xAI saw the operator's key, added by the gateway — never anything the page sent.
    const upstream = h.fake.requests.filter((r) => r.path.startsWith('/v1/chat/completions'));
    expect(upstream).toHaveLength(1);
    expect(upstream[0]?.headers['authorization']).toBe(`Bearer ${UPSTREAM_KEY}`);
  });

  it('used a ten-minute child key bound to the page origin, whose usage counts under the minting key', async () => {
    const session = (await recorder.responses()).find((r) => new URL(r.url).pathname === '/session');
    const { key: childKey } = JSON.parse(session?.body ?? '{}') as { key?: string };
    expect(childKey).toMatch(/^xgw_/);
    expect(childKey).not.toBe(minting.key);
    // The page authenticated to the gateway with the child key only.
    expect(authorizations.map((a) => a.value)).toEqual([`Bearer ${childKey}`]);

    const children = (await (await h.admin('GET', `/admin/keys/${minting.id}/children`)).json()) as { data: { id: string; allowedOrigins: string[]; expiresAt: string; createdAt: string }[] };
    expect(children.data).toHaveLength(1);
    const child = children.data[0];
    expect(child?.allowedOrigins).toEqual([backend.origin]);
    expect(Date.parse(child?.expiresAt ?? '') - Date.parse(child?.createdAt ?? '')).toBe(600_000);
    await eventually(async () => {
      const parent = (await (await h.admin('GET', `/admin/keys/${minting.id}`)).json()) as { usage: { today: { requests: number } } };
      return parent.usage.today.requests === 1;
    }, 15_000);
  });

  it('no response the page received contains the upstream key or the minting key', async () => {
    const seen = await Promise.all(responses);
    const paths = seen.map((r) => `${r.method} ${new URL(r.url).pathname}`);
    for (const expected of ['GET /', 'GET /app.js', 'GET /style.css', 'GET /session', 'POST /v1/chat/completions']) expect(paths).toContain(expected);
    // Every byte: the recorder's bodies cover what Playwright could not read; no 200 goes unread.
    const recorded = await recorder.responses();
    expect(recorded.filter((r) => r.status === 200 && r.body === null).map((r) => r.url)).toEqual([]);
    for (const { url } of seen) expect(recorded.map((r) => r.url), url).toContain(url);
    const texts = [
      ...seen.map((r) => ({ url: r.url, text: `${r.headers}\n\n${r.body ?? ''}` })),
      ...recorded.map((r) => ({ url: r.url, text: `${JSON.stringify(r.headers)}\n\n${r.body ?? ''}` })),
    ];
    // A control: the scan reads real bodies — the session key the page was handed is in /session's answer.
    const sessionKey = /"key":"(xgw_[0-9A-Za-z]+)"/.exec(recorded.find((r) => new URL(r.url).pathname === '/session')?.body ?? '')?.[1];
    expect(sessionKey).toBeDefined();
    expect(texts.filter(({ text }) => text.includes(sessionKey ?? '-')).length).toBeGreaterThan(0);
    for (const { url, text } of texts) {
      expect(text, url).not.toContain(UPSTREAM_KEY);
      expect(text, url).not.toContain(minting.key);
      expect(text, url).not.toContain(ADMIN_TOKEN);
    }
    expect(authorizations.some((a) => a.value.includes(minting.key))).toBe(false);
  });

  it('the page keeps no secret in storage: no gateway key in localStorage, sessionStorage, cookies, IndexedDB or caches', async () => {
    const stored = await page.evaluate<string>(`(async () => JSON.stringify({
      local: { ...localStorage },
      session: { ...sessionStorage },
      cookie: document.cookie,
      indexedDB: (await indexedDB.databases()).map((db) => db.name),
      caches: await caches.keys().catch(() => []),
    }))()`);
    expect(stored).not.toMatch(/xgw_/);
    expect(stored).not.toContain(minting.key);
    expect(JSON.parse(stored)).toEqual({ local: {}, session: {}, cookie: '', indexedDB: [], caches: [] });
    const cookies = await browser.context.cookies();
    expect(JSON.stringify(cookies)).not.toMatch(/xgw_/);
    expect(cookies).toEqual([]);
    expect(pageProblems).toEqual([]);
  });
});
