import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZERO_USAGE } from '../../src/usage/types.js';
import { ADMIN_TOKEN, chatBody, eventually, postJson, startHarness, UPSTREAM_KEY, type Harness } from '../helpers/harness.js';
import { buildDashboard, launchChromium, openPage, ROOT, type Browser } from './helpers/chromium.js';

// The admin dashboard in headless Chromium, in front of the fake xAI on Redis. Sign in,
// create a key, read its secret once, call chat with it from the test, see the usage on the key's page,
// revoke it in the UI, see the next call refused. The screenshots in docs/screenshots come from this run.

// Screenshots are always taken (so the step is tested); they replace the README's copies in docs/screenshots
// only with UPDATE_SCREENSHOTS=1, so an ordinary test run leaves the work tree clean.
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs/screenshots') : join(tmpdir(), 'xgw-screenshots');
const YAML = `
plans:
  free:
    models: ["grok-3-mini", "grok-4-fast-*"]
    endpoints: ["chat.completions", "models"]
    limits: { requestsPerMinute: 20, tokensPerDay: 200000 }
  pro:
    models: ["*"]
    endpoints: ["*"]
    limits: { requestsPerMinute: 600 }
`;

let h: Harness;
let browser: Browser;
let page: Page;
/** Console errors (a CSP violation shows here) and uncaught page errors: there must be none. */
let pageProblems: string[] = [];
/** Every response the page received, for the secret checks at the end. */
const bodies: { url: string; body: string }[] = [];

let secret = '';
let rotated = '';
let keyId = '';
let minting = { key: '', id: '' };

function chat(key: string): Promise<Response> {
  return postJson(`${h.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}` });
}

async function screenshot(name: string, fullPage = true): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, name), fullPage });
  // A full-page capture leaves the page's scroll position out of step with what the browser hit-tests: a
  // click right after it landed beside its target. Scrolling once, and letting two frames pass, resyncs them.
  await page.evaluate('window.scrollTo(0, 0); new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
}

/** Waits until the element's text matches: the page fills it in after its API calls answer. */
async function waitText(locator: Locator, pattern: RegExp): Promise<void> {
  await locator.filter({ hasText: pattern }).first().waitFor();
}

/** Within the single-page app: a reload would sign out, which is the point of keeping the token in memory. */
async function go(hash: string): Promise<void> {
  await page.evaluate(`window.location.hash = ${JSON.stringify(hash)}`);
}

/**
 * Past days of usage for the key, written through the limiter (the gateway's own settlement path), so the
 * chart and its screenshot show more than today; about as many tokens a day as the fake's answer has.
 */
async function seedPastUsage(id: string): Promise<void> {
  const day = 86_400_000;
  for (let back = 9; back >= 1; back -= 1) {
    for (const [model, tokens] of [['grok-4', 14 + ((back * 7) % 30)], ['grok-3-mini', 6 + ((back * 5) % 14)]] as const) {
      if (model === 'grok-3-mini' && back % 3 === 0) continue;
      const nowMs = Date.now() - back * day;
      const admitted = await h.limiter.admit({ requestId: `seed-${id}-${back}-${model}`, subjects: [{ keyId: id, limits: {} }], familyId: id, estimatedTokens: tokens, estimatedCostTicks: 0, nowMs, leaseMs: 60_000 });
      if (!admitted.admitted) throw new Error('seed usage refused');
      const usage = { ...ZERO_USAGE, promptTokens: Math.round(tokens * 0.3), completionTokens: tokens - Math.round(tokens * 0.3), totalTokens: tokens, costTicks: tokens * 60_000 };
      await h.limiter.settle({ reservation: admitted.reservation, usage, model, nowMs });
    }
  }
}

beforeAll(async () => {
  await buildDashboard();
  h = await startHarness({ store: 'redis', name: 'e2e-dashboard', yaml: YAML });
  browser = await launchChromium();
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.url });
  const opened = await openPage(browser);
  page = opened.page;
  pageProblems = opened.problems;
  page.on('response', (response) => {
    void response.text().then(
      (body) => bodies.push({ url: response.url(), body }),
      () => undefined,
    );
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
}, 60_000);

describe('dashboard (headless Chromium)', { timeout: 90_000 }, () => {
  it('is served with a strict CSP: no inline script or style, never framed', async () => {
    const response = await page.goto(`${h.url}/dashboard`);
    expect(response?.status()).toBe(200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
  });

  it('refuses a wrong admin token, then signs in with the right one', async () => {
    await page.getByLabel('Admin token').fill('not-the-admin-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitText(page.getByRole('alert'), /not accepted/);

    // Keys of every state for the list: one from a plan, one expiring in two days, one revoked.
    const { key: freeSecret } = await h.createKey({ name: 'mobile-app', plan: 'free' });
    await h.createKey({ name: 'partner-trial', plan: 'free', ttlSeconds: 2 * 86_400 });
    const revoked = await h.createKey({ name: 'old-integration', plan: 'pro' });
    await h.admin('DELETE', `/admin/keys/${revoked.id}`);
    minting = await h.createKey({ name: 'web-backend (mints)', plan: 'pro', mint: { maxTtlSeconds: 600 } });
    expect((await postJson(`${h.url}/v1/chat/completions`, chatBody({ model: 'grok-3-mini' }), { authorization: `Bearer ${freeSecret}` })).status).toBe(200);

    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signing in lands on the overview; the keys list is one click away.
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByRole('navigation').getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('heading', { name: 'Keys', level: 1 }).waitFor();
    await waitText(page.getByTestId('keys-count'), /Showing 4 of 4 keys/);
  });

  it('creates a key and shows its secret once, with a copy button', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Create key' }).click();
    await page.getByRole('heading', { name: 'Create a key' }).waitFor();
    // Every control has a label, and every group of them a legend.
    const unlabelled = await page.evaluate<string[]>(
      `[...document.querySelectorAll('main input, main select, main textarea')].filter((c) => c.labels.length === 0).map((c) => c.id || c.name)`,
    );
    expect(unlabelled).toEqual([]);
    await expect(page.locator('main fieldset:not(:has(> legend))').count()).resolves.toBe(0);
    await page.getByLabel('Name', { exact: true }).fill('e2e-dashboard-key');
    await page.getByLabel('Models', { exact: true }).fill('grok-4, grok-3-mini');
    await page.getByLabel('All endpoints (*)').check();
    await page.getByLabel('Requests per minute').fill('60');
    await page.getByLabel('Cost per month (USD)').fill('25');
    await page.getByLabel('Expires after').check();
    await page.getByLabel('Hours from now').fill('720');
    await screenshot('create-key-form.png');
    await page.getByRole('button', { name: 'Create key' }).click();

    const field = page.getByTestId('secret');
    await field.waitFor();
    secret = await field.inputValue();
    expect(secret).toMatch(/^xgw_[A-Za-z0-9]{38,}$/);
    keyId = (await page.getByTestId('created-id').textContent()) ?? '';
    expect(keyId).toMatch(/^key_/);
    await waitText(page.locator('#status'), /Key e2e-dashboard-key created\. Copy its secret now/);

    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Secret copied to the clipboard.').waitFor();
    await expect(page.evaluate('navigator.clipboard.readText()')).resolves.toBe(secret);
    await screenshot('create-key-secret.png');

    // The record the admin API holds is the one the form described; the secret is not in it.
    const record = (await (await h.admin('GET', `/admin/keys/${keyId}`)).json()) as Record<string, unknown>;
    expect(record).toMatchObject({ name: 'e2e-dashboard-key', models: ['grok-4', 'grok-3-mini'], endpoints: ['*'], limits: { requestsPerMinute: 60, costPerMonthUsd: 25 } });
    expect(Date.parse(String(record.expiresAt)) - Date.now()).toBeGreaterThan(719 * 3600_000);
    expect(JSON.stringify(record)).not.toContain(secret);
  });

  it('shows the usage of a chat call made with the key on its page', async () => {
    await seedPastUsage(keyId);
    await page.getByRole('navigation').getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('link', { name: 'e2e-dashboard-key' }).click();
    await page.getByRole('heading', { name: 'e2e-dashboard-key', level: 1 }).waitFor();
    await waitText(page.getByTestId('usage-today-requests'), /^0$/);
    // Shown once: leaving the create page dropped the secret, and no later page has it.
    expect(await page.content()).not.toContain(secret);

    const response = await chat(secret);
    expect(response.status).toBe(200);
    await eventually(async () => {
      const key = (await (await h.admin('GET', `/admin/keys/${keyId}`)).json()) as { usage: { today: { requests: number } } };
      return key.usage.today.requests === 1;
    }, 15_000);

    await go('#/keys');
    await page.getByRole('link', { name: 'e2e-dashboard-key' }).click();
    await waitText(page.getByTestId('usage-today-requests'), /^1$/);
    const chart = page.getByTestId('usage-chart');
    await chart.waitFor();
    const today = new Date().toISOString().slice(0, 10);
    await expect(page.locator(`[data-date="${today}"] rect`).count()).resolves.toBe(1);
    await expect(page.locator(`[data-date="${today}"] rect title`).textContent()).resolves.toContain('grok-4');
    await expect(page.locator('svg.chart rect').count()).resolves.toBeGreaterThan(9);
    await expect(page.locator('.legend li').allTextContents()).resolves.toEqual(['grok-4', 'grok-3-mini']);
    await screenshot('key-page-usage.png');
  });

  it('rotates the secret with a grace period: the new one is shown once, the old one keeps working', async () => {
    await page.getByLabel('Grace period (seconds)').fill('3600');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const field = page.getByTestId('secret');
    await field.waitFor();
    rotated = await field.inputValue();
    expect(rotated).toMatch(/^xgw_/);
    expect(rotated).not.toBe(secret);
    await page.getByText(/The previous secret keeps working until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/).waitFor();
    expect((await chat(rotated)).status).toBe(200);
    expect((await chat(secret)).status).toBe(200);
  });

  it('revokes the key after a confirmation; the next call is refused with 401 key_revoked', async () => {
    await page.getByRole('button', { name: 'Revoke…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    // Cancel first: nothing happens.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await chat(secret)).status).toBe(200);

    await page.getByRole('button', { name: 'Revoke…' }).click();
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText('Key e2e-dashboard-key revoked.').waitFor();
    await page.locator('.page-head .badge[data-state="revoked"]').waitFor();

    for (const revoked of [secret, rotated]) {
      const refused = await chat(revoked);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('key_revoked');
    }
    // A revoked key offers no more actions.
    await expect(page.getByRole('button', { name: 'Revoke…' }).count()).resolves.toBe(0);
  });

  it("lists a minting key's child keys on its page", async () => {
    const minted = await postJson(`${h.url}/gateway/keys`, { name: 'session-1', ttlSeconds: 600, allowedOrigins: ['https://app.example.com'] }, { authorization: `Bearer ${minting.key}` });
    expect(minted.status).toBe(201);
    const child = (await minted.json()) as { id: string };
    await page.getByRole('navigation').getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('link', { name: 'web-backend (mints)' }).click();
    const table = page.getByTestId('children-table');
    await table.waitFor();
    await expect(table.locator('tbody tr').count()).resolves.toBe(1);
    await expect(table.locator('tbody tr').textContent()).resolves.toContain(child.id);
    await expect(table.locator('tbody tr').textContent()).resolves.toContain('https://app.example.com');
  });

  it('lists keys by state, filters and searches', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Keys' }).click();
    await waitText(page.getByTestId('keys-count'), /Showing 6 of 6 keys/);
    const stateOf = async (name: string): Promise<string | null> =>
      page.locator('tr', { has: page.getByRole('link', { name, exact: true }) }).locator('.badge').getAttribute('data-state');
    await expect(stateOf('e2e-dashboard-key')).resolves.toBe('revoked');
    await expect(stateOf('partner-trial')).resolves.toBe('expiring');
    await expect(stateOf('mobile-app')).resolves.toBe('active');
    await expect(stateOf('session-1')).resolves.toBe('expiring'); // a ten-minute child key
    await screenshot('keys-list.png');

    await page.getByLabel('State').selectOption('revoked');
    await waitText(page.getByTestId('keys-count'), /Showing 2 of 6 keys/);
    await page.getByLabel('Search by name or id').fill(keyId);
    await waitText(page.getByTestId('keys-count'), /Showing 1 of 6 keys/);
    await page.getByLabel('State').selectOption('all');
    await page.getByLabel('Search by name or id').fill('');
  });

  it('shows the audit log, newest first, with the create, the rotation and the revoke', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Audit log' }).click();
    const table = page.getByTestId('audit-table');
    await table.locator('tbody tr').first().waitFor();
    const rows = table.locator('tbody tr', { has: page.getByRole('link', { name: keyId }) });
    const actions: (string | null)[] = [];
    for (let i = 0; i < (await rows.count()); i += 1) actions.push(await rows.nth(i).getAttribute('data-action'));
    expect(actions).toEqual(['revoke', 'rotate', 'create']);
    await expect(rows.first().textContent()).resolves.toMatch(/admin:[0-9a-f]{12}/);
    // Everything fits on the first page: no button for older entries.
    await expect(page.getByRole('button', { name: 'Load older entries' }).isVisible()).resolves.toBe(false);
    await screenshot('audit-log.png');
  });

  it('keeps the admin token in memory only: no storage, no cookie, and a reload signs out', async () => {
    const storage = await page.evaluate<string>('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie })');
    expect(storage).toBe(JSON.stringify({ local: {}, session: {}, cookie: '' }));
    expect(await browser.context.cookies()).toEqual([]);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expect(page.getByRole('navigation').isVisible()).resolves.toBe(false);

    // Keyboard only: the token field has focus, Enter signs in; Sign out forgets the token again.
    await expect(page.evaluate<string | undefined>('document.activeElement?.id')).resolves.toBe('admin-token');
    await page.keyboard.type(ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    // The page (#/audit) survived the reload; the token did not.
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expect(page.getByLabel('Admin token').inputValue()).resolves.toBe('');
  });

  it('saw no CSP violation or script error, and no response carried the upstream key or a key secret', async () => {
    expect(pageProblems.filter((p) => !p.includes('401'))).toEqual([]);
    expect(bodies.length).toBeGreaterThan(10);
    for (const { url, body } of bodies) {
      expect(body, url).not.toContain(UPSTREAM_KEY);
      expect(body, url).not.toContain(ADMIN_TOKEN);
    }
    // Each secret was in exactly one response: the create answer, and the rotate answer.
    expect(bodies.filter(({ body }) => body.includes(secret)).map(({ url }) => new URL(url).pathname)).toEqual(['/admin/keys']);
    expect(bodies.filter(({ body }) => body.includes(rotated)).map(({ url }) => new URL(url).pathname)).toEqual([`/admin/keys/${keyId}/rotate`]);
  });
});
