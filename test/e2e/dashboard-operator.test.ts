import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, chatBody, eventually, postJson, startHarness, type Harness } from '../helpers/harness.js';
import { buildDashboard, launchChromium, openPage, ROOT, type Browser } from './helpers/chromium.js';

// The operator's pages of the dashboard in headless Chromium, on Redis in front of the fake xAI: the overview
// (landing page), a key's request log and a request's own page, the edit form (with its change in the audit
// log), the plan picker, the CSV download and the alerts page. Screenshots replace docs/screenshots only with
// UPDATE_SCREENSHOTS=1.

const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs/screenshots') : join(tmpdir(), 'xgw-screenshots');
const YAML = `
pricing:
  grok-4: { input: 3.0, output: 15.0 }
plans:
  free:
    models: ["grok-3-mini", "grok-4-fast-*"]
    endpoints: ["chat.completions", "models"]
    limits: { requestsPerMinute: 20, tokensPerDay: 200000 }
  pro:
    models: ["*"]
    endpoints: ["*"]
    limits: { requestsPerMinute: 600, costPerDayUsd: 50 }
`;

let h: Harness;
let browser: Browser;
let page: Page;
let pageProblems: string[] = [];
let spender = { key: '', id: '' };
let quiet = { key: '', id: '' };

async function screenshot(name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, name), fullPage: true });
  await page.evaluate('window.scrollTo(0, 0); new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
}

async function waitText(locator: Locator, pattern: RegExp): Promise<void> {
  await locator.filter({ hasText: pattern }).first().waitFor();
}

async function go(hash: string): Promise<void> {
  await page.evaluate(`window.location.hash = ${JSON.stringify(hash)}`);
}

function chat(key: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Response> {
  return postJson(`${h.url}/v1/chat/completions`, chatBody(body), { authorization: `Bearer ${key}`, ...headers });
}

beforeAll(async () => {
  await buildDashboard();
  h = await startHarness({ store: 'redis', name: 'e2e-operator', yaml: YAML });
  browser = await launchChromium();
  const opened = await openPage(browser);
  page = opened.page;
  pageProblems = opened.problems;

  spender = await h.createKey({ name: 'checkout-assistant', plan: 'pro' });
  quiet = await h.createKey({ name: 'docs-search', plan: 'free', limits: { tokensPerDay: 300 } });
  for (let i = 0; i < 5; i += 1) await (await chat(spender.key, { max_tokens: 1500 }, { 'x-request-id': `checkout-${i}` })).text();
  await (await chat(spender.key, { model: 'grok-4' }, { 'x-fake-scenario': 'status-500', 'x-request-id': 'checkout-failed' })).text();
  await (await chat(quiet.key, { model: 'grok-3-mini' })).text();
  // A model outside the free plan: refused, and shown as such.
  await (await chat(quiet.key, { model: 'grok-4' }, { 'x-request-id': 'docs-refused' })).text();
  for (let i = 0; i < 12; i += 1) await (await chat(quiet.key, { model: 'grok-3-mini', max_tokens: 5 })).text();
  await eventually(async () => {
    const log = (await (await h.admin('GET', `/admin/keys/${quiet.id}/requests`)).json()) as { data: unknown[] };
    return log.data.length === 14;
  }, 5_000);
  // In-flight counts are published once a second: one taken while the last request ran may still be the latest.
  await eventually(async () => ((await (await h.admin('GET', '/admin/overview')).json()) as { inFlight: number }).inFlight === 0, 5_000);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
}, 60_000);

describe('dashboard: the operator’s pages (headless Chromium)', { timeout: 90_000 }, () => {
  it('lands on the overview: totals, in flight, error rate, the day’s top spender, keys near a limit', async () => {
    await page.goto(`${h.url}/dashboard`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    const top = page.getByTestId('top-keys').locator('tbody tr');
    await waitText(top.first(), /checkout-assistant/);
    await expect(top.first().locator('td').nth(1).textContent()).resolves.toBe('6');
    await expect(page.getByTestId('overview-inflight').textContent()).resolves.toBe('0');
    await expect(page.getByTestId('overview-error-rate').textContent()).resolves.toMatch(/^\d+\.\d %$/);
    await waitText(page.getByTestId('near-limit'), /docs-search/);
    await expect(page.getByTestId('near-limit').textContent()).resolves.toContain('tokensPerDay');
    await screenshot('overview.png');
  });

  it('shows a key’s request log, newest first, and each request on a page of its own', async () => {
    await page.getByRole('link', { name: 'checkout-assistant' }).first().click();
    await page.getByRole('heading', { name: 'checkout-assistant', level: 1 }).waitFor();
    const rows = page.getByTestId('requests-table').locator('tbody tr');
    await waitText(rows.first(), /checkout-failed/);
    await expect(rows.count()).resolves.toBe(6);
    await expect(rows.first().locator('td').nth(5).textContent()).resolves.toBe('500');
    await expect(rows.nth(1).textContent()).resolves.toContain('checkout-4');
    await expect(page.getByTestId('error-rate').textContent()).resolves.toBe('16.7 %');
    await screenshot('request-log.png');

    await page.getByRole('link', { name: 'checkout-3' }).click();
    await page.getByRole('heading', { name: 'Request checkout-3' }).waitFor();
    await expect(page.getByTestId('request-id').textContent()).resolves.toBe('checkout-3');
    await expect(page.locator('dl.details').textContent()).resolves.toContain('chat.completions');
  });

  it('downloads the usage as CSV', async () => {
    await go(`#/keys/${quiet.id}`);
    await page.getByRole('heading', { name: 'docs-search', level: 1 }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv-download').click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^${quiet.id}-\\d{4}-\\d\\d-\\d\\d-\\d{4}-\\d\\d-\\d\\d\\.csv$`));
    const path = await download.path();
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(path, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe('keyId,date,model,requests,promptTokens,completionTokens,reasoningTokens,cachedTokens,totalTokens,costUsd,refused,failed');
    expect(lines.some((line) => line.startsWith(`${quiet.id},`) && line.includes(',grok-4,') && line.endsWith(',1,0'))).toBe(true);
  });

  it('edits a key with the form, sends only the change, and the audit log shows it', async () => {
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit “docs-search”' }).waitFor();
    // Pre-filled with the key as it is; every control labelled.
    await expect(page.getByLabel('Name', { exact: true }).inputValue()).resolves.toBe('docs-search');
    await expect(page.getByLabel('Tokens per day').inputValue()).resolves.toBe('300');
    const unlabelled = await page.evaluate<string[]>(`[...document.querySelectorAll('main input, main select, main textarea')].filter((c) => c.labels.length === 0).map((c) => c.id || c.name)`);
    expect(unlabelled).toEqual([]);

    // A slip is caught like on the create form.
    await page.getByLabel('Requests per minute').fill('1.5');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await waitText(page.getByRole('alert'), /Requests per minute: must be a whole number/);

    await page.getByLabel('Requests per minute').fill('');
    await page.getByLabel('Name', { exact: true }).fill('docs-search-v2');
    await page.getByLabel('Tokens per day').fill('5000');
    await screenshot('edit-key-form.png');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'docs-search-v2', level: 1 }).waitFor();
    const record = (await (await h.admin('GET', `/admin/keys/${quiet.id}`)).json()) as { name: string; limits: Record<string, number>; plan: string };
    expect(record).toMatchObject({ name: 'docs-search-v2', plan: 'free', limits: { tokensPerDay: 5000 } });

    const audit = (await (await h.admin('GET', '/admin/audit?limit=5')).json()) as { data: { action: string; keyId: string; changes: Record<string, unknown> }[] };
    const patch = audit.data.find((entry) => entry.action === 'patch' && entry.keyId === quiet.id);
    // Only what the form changed, nothing it merely showed.
    expect(Object.keys(patch?.changes ?? {}).sort()).toEqual(['limits', 'name']);
    expect(JSON.stringify(patch?.changes)).toContain('docs-search-v2');
    await go('#/audit');
    await waitText(page.locator('main'), /docs-search-v2/);
  });

  it('picks a plan from the configured ones and shows what it grants', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Create key' }).click();
    await page.getByRole('heading', { name: 'Create a key' }).waitFor();
    const options = await page.getByLabel('Plan', { exact: true }).locator('option').allTextContents();
    expect(options).toEqual(['(no plan)', 'free', 'pro']);
    await expect(page.getByTestId('plan-grants').textContent()).resolves.toContain('No plan');
    await page.getByLabel('Plan', { exact: true }).selectOption('free');
    await waitText(page.getByTestId('plan-grants'), /grok-3-mini, grok-4-fast-\*/);
    await expect(page.getByTestId('plan-grants').textContent()).resolves.toContain('requestsPerMinute: 20');
    await page.getByLabel('Plan', { exact: true }).selectOption('pro');
    await waitText(page.getByTestId('plan-grants'), /costPerDayUsd: 50/);
    await page.getByLabel('Name', { exact: true }).fill('from-the-picker');
    await page.getByRole('button', { name: 'Create key' }).click();
    const id = (await page.getByTestId('created-id').textContent()) ?? '';
    const record = (await (await h.admin('GET', `/admin/keys/${id}`)).json()) as { plan: string };
    expect(record.plan).toBe('pro');
  });

  it('lists alert deliveries (none configured here) and had no console errors', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    await waitText(page.getByTestId('alerts-table'), /No deliveries yet/);
    expect(pageProblems).toEqual([]);
  });
});
