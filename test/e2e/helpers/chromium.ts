import { execFile } from 'node:child_process';
import { accessSync, constants, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (issue 8): no browser download, ever. `.ci/run` installs the
 * `chromium` package when /usr/bin/chromium is missing; without it these tests fail (not skip) and say how
 * to get it.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Headless and quiet: without the background-networking flags Chromium keeps trying Google's services,
 * which this machine's closed network refuses (/work/.library/env/machines/node-svc.md). --no-sandbox: the
 * tests run as root in a container.
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

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Throws — so the browser tests fail, never skip — when the browser is missing, saying how to install it. */
export function assertChromiumInstalled(path: string = CHROMIUM_PATH): void {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium is not installed at ${path}. The browser tests drive Debian's chromium package with ` +
        `playwright-core and never download a browser: install it with "apt-get install -y chromium" ` +
        `(.ci/run does this), then run the tests again.`,
    );
  }
}

export interface Browser {
  context: BrowserContext;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

/** A fresh browser with a fresh, temporary profile (--user-data-dir), removed again by close(). */
export async function launchChromium(): Promise<Browser> {
  assertChromiumInstalled();
  const profile = mkdtempSync(join(tmpdir(), 'xgw-e2e-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
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
