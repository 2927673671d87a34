import { execFile } from 'node:child_process';
import { accessSync, constants, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * The browser the browser tests drive with playwright-core, never downloaded at test time:
 * - `CHROMIUM_PATH` when set (it must then exist);
 * - else the system's Chromium at /usr/bin/chromium (Debian's package; `.ci/run` installs it, so CI tests the
 *   real browser);
 * - else the headless Chromium shipped inside the `@sparticuz/chromium` npm package (a dev dependency, so
 *   `npm install` brings it), unpacked to the temp directory on first use.
 * The tests never skip: a browser that cannot be found or started fails them, saying how to get one.
 */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/**
 * Headless and quiet: without the background-networking flags Chromium keeps trying Google's services, which a
 * closed network refuses, many connections at a time. --no-sandbox: the tests may run as root in a container.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Throws — so the browser tests fail, never skip — when a browser named explicitly is missing. */
export function assertChromiumInstalled(path: string): void {
  if (!isExecutable(path)) {
    throw new Error(
      `Chromium is not installed at ${path}. Set CHROMIUM_PATH to a Chromium, install Debian's ("apt-get install -y chromium", ` +
        `as .ci/run does), or run "npm install" so the @sparticuz/chromium package provides one; then run the tests again.`,
    );
  }
}

export interface ChromiumChoice {
  path: string;
  source: 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium';
}

/** Which browser the tests use here (see the top of this file). */
export async function findChromium(env: Readonly<Record<string, string | undefined>> = process.env): Promise<ChromiumChoice> {
  const configured = env.CHROMIUM_PATH;
  if (configured !== undefined && configured !== '') {
    assertChromiumInstalled(configured);
    return { path: configured, source: 'CHROMIUM_PATH' };
  }
  if (isExecutable(SYSTEM_CHROMIUM)) return { path: SYSTEM_CHROMIUM, source: 'system' };
  let packaged: { executablePath: () => Promise<string> };
  try {
    packaged = ((await import('@sparticuz/chromium')) as { default: { executablePath: () => Promise<string> } }).default;
  } catch (err) {
    throw new Error(
      `No Chromium: none at ${SYSTEM_CHROMIUM}, no CHROMIUM_PATH, and the @sparticuz/chromium package could not be loaded ` +
        `(${err instanceof Error ? err.message : String(err)}). Run "npm install", or install Debian's chromium.`,
    );
  }
  return { path: await packaged.executablePath(), source: '@sparticuz/chromium' };
}

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface Browser {
  context: BrowserContext;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

/** A fresh browser with a fresh, temporary profile (--user-data-dir), removed again by close(). */
export async function launchChromium(): Promise<Browser> {
  const { path } = await findChromium();
  const profile = mkdtempSync(join(tmpdir(), 'xgw-e2e-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: path,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 860 },
      locale: 'en-US',
      timezoneId: 'UTC',
      timeout: 60_000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Compiles the dashboard's front-end into dist/dashboard, as `npm run build` does, so the browser tests
 * also run right after a change to src/dashboard without a full build.
 */
export async function buildDashboard(): Promise<void> {
  await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'src/dashboard/tsconfig.json')], { cwd: ROOT });
  cpSync(join(ROOT, 'src/dashboard/public'), join(ROOT, 'dist/dashboard'), { recursive: true });
}

/**
 * A new page of the browser with a 30 s default timeout, whose console errors (a CSP violation shows there) and
 * uncaught errors are collected into `problems`: a test ends by asserting there were none.
 */
export async function openPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.setDefaultTimeout(30_000);
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, problems };
}
