import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDashboardRoutes } from '../../src/http/admin/dashboard-routes.js';
import { registerErrorHandling } from '../../src/http/hooks/error-handler.js';
import { assertChromiumInstalled, findChromium, SYSTEM_CHROMIUM } from './helpers/chromium.js';

// How /dashboard is served, without a browser: its own strict CSP over helmet's global one (as
// app.ts registers helmet), only the built files, nothing else from the disk, off with the admin API.

let dir: string;
let tokens: string[] = ['admin-token-for-dashboard-serving'];

async function app(assetsDir: string): Promise<FastifyInstance> {
  const instance = Fastify();
  registerErrorHandling(instance);
  void instance.register(helmet, { crossOriginResourcePolicy: { policy: 'cross-origin' } });
  registerDashboardRoutes(instance, { adminTokens: () => tokens, assetsDir });
  instance.get('/other', async () => ({ ok: true }));
  await instance.ready();
  return instance;
}

let served: FastifyInstance;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xgw-dashboard-serving-'));
  const built = join(dir, 'dashboard');
  mkdirSync(built);
  writeFileSync(join(built, 'index.html'), '<!doctype html><script type="module" src="/dashboard/main.js"></script>');
  writeFileSync(join(built, 'main.js'), 'export {};');
  writeFileSync(join(built, 'dashboard.css'), 'body{}');
  writeFileSync(join(built, 'notes.txt'), 'not served');
  writeFileSync(join(dir, 'secret.json'), '{"outside":true}');
  served = await app(built);
});

afterAll(async () => {
  await served.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('/dashboard', () => {
  it.each([
    ['/dashboard', 'text/html; charset=utf-8', '<script type="module"'],
    ['/dashboard/', 'text/html; charset=utf-8', '<script type="module"'],
    ['/dashboard/main.js', 'text/javascript; charset=utf-8', 'export {};'],
    ['/dashboard/dashboard.css', 'text/css; charset=utf-8', 'body{}'],
  ])('%s is served with the strict policy', async (url, type, body) => {
    const response = await served.inject({ url });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(type);
    expect(response.body).toContain(body);
    const csp = String(response.headers['content-security-policy']);
    expect(csp.split(';').map((d) => d.trim()).sort()).toEqual(
      [
        "base-uri 'none'",
        "connect-src 'self'",
        "default-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "img-src 'self' data:",
        "object-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
      ].sort(),
    );
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['cache-control']).toBe('no-cache');
  });

  it('other routes keep the global helmet policy', async () => {
    const response = await served.inject({ url: '/other' });
    expect(String(response.headers['content-security-policy'])).toContain("frame-ancestors 'self'");
    expect(response.headers['cross-origin-resource-policy']).toBe('cross-origin');
  });

  it.each([
    '/dashboard/nope.js',
    '/dashboard/notes.txt',
    '/dashboard/..%2fsecret.json',
    '/dashboard/%2e%2e%2fsecret.json',
    '/dashboard/../secret.json',
    '/dashboard/main.js/x',
    '/dashboard/Main.js',
    '/dashboard/.hidden.js',
    '/dashboard/index.html.js',
  ])('%s is 404 and reads nothing else', async (url) => {
    const response = await served.inject({ url });
    expect(response.statusCode).toBe(404);
    expect(response.body).not.toContain('outside');
  });

  it('is off (404) while no admin token is configured, like the admin API', async () => {
    tokens = [];
    try {
      const response = await served.inject({ url: '/dashboard' });
      expect(response.statusCode).toBe(404);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('not_found');
    } finally {
      tokens = ['admin-token-for-dashboard-serving'];
    }
  });

  it('says so when the front-end is not built, and serves it once it is', async () => {
    const later = join(dir, 'later');
    const instance = await app(later);
    try {
      const missing = await instance.inject({ url: '/dashboard' });
      expect(missing.statusCode).toBe(503);
      expect(missing.body).toContain('npm run build');
      mkdirSync(later);
      writeFileSync(join(later, 'index.html'), '<!doctype html>built');
      const built = await instance.inject({ url: '/dashboard' });
      expect(built.statusCode).toBe(200);
      expect(built.body).toContain('built');
    } finally {
      await instance.close();
    }
  });
});

describe('the browser the browser tests use', () => {
  it('a CHROMIUM_PATH that does not exist fails with a message saying how to get one (they never skip)', async () => {
    await expect(findChromium({ CHROMIUM_PATH: '/nonexistent/chromium' })).rejects.toThrow(/not installed at \/nonexistent\/chromium.*apt-get install -y chromium.*@sparticuz\/chromium/s);
  });

  it('is the system Chromium when there is one, else the one from @sparticuz/chromium; either exists', async () => {
    const choice = await findChromium({});
    expect(choice.source).toBe(existsSync(SYSTEM_CHROMIUM) ? 'system' : '@sparticuz/chromium');
    expect(() => assertChromiumInstalled(choice.path)).not.toThrow();
  });
});
