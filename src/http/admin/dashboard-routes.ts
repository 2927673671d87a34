import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {} from '@fastify/helmet';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errors } from '../../errors.js';

/**
 * `/dashboard`: the admin web UI. Static files only — the page talks to the admin API (docs/api.md)
 * with the admin token the operator types in, same-origin, so no CORS is involved. The front-end is
 * compiled at build time (src/dashboard/tsconfig.json) into dist/dashboard together with its HTML and CSS;
 * nothing comes from a CDN.
 */

/**
 * The page's own policy (docs/threat-model.md: helmet headers, no inline script): every script, style and fetch from
 * this origin only, no inline code or style attributes, never framed (the page holds an admin token).
 */
export const DASHBOARD_CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'connect-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Asset names the page may ask for: flat, no dot segments or separators, a known type. */
const ASSET_NAME_RE = /^[a-z0-9][a-z0-9-]*\.(?:js|css|svg)$/;

export interface DashboardDeps {
  /** The dashboard is off (404) with the admin API, i.e. while no admin token is configured. */
  adminTokens: () => readonly string[];
  /** Folder of the built dashboard; default: dist/dashboard of this package. */
  assetsDir?: string;
}

/**
 * dist/dashboard, found from this module whether it runs compiled (dist/src/http/admin) or from source under
 * vitest (src/http/admin), where the build output sits beside it in dist/.
 */
export function defaultDashboardDir(): string {
  const compiled = fileURLToPath(new URL('../../../dashboard/', import.meta.url));
  if (existsSync(join(compiled, 'index.html'))) return compiled;
  return fileURLToPath(new URL('../../../dist/dashboard/', import.meta.url));
}

type Assets = ReadonlyMap<string, { body: Buffer; type: string }>;

async function loadAssets(dir: string): Promise<Assets | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  if (!names.includes('index.html')) return null;
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const name of names) {
    const type = CONTENT_TYPES[extname(name)];
    if (type === undefined || (name !== 'index.html' && !ASSET_NAME_RE.test(name))) continue;
    assets.set(name, { body: await readFile(join(dir, name)), type });
  }
  return assets;
}

export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  const dir = deps.assetsDir ?? defaultDashboardDir();
  // Read once, on first use, and kept: the files are small and only change with a new build. A failed load
  // (not built yet) is retried on the next request.
  let loading: Promise<Assets | null> | null = null;
  const assets = async (): Promise<Assets | null> => {
    loading ??= loadAssets(dir);
    const loaded = await loading;
    if (loaded === null) loading = null;
    return loaded;
  };

  const helmet = {
    contentSecurityPolicy: { useDefaults: false, directives: DASHBOARD_CSP_DIRECTIVES as Record<string, string[]> },
    crossOriginResourcePolicy: { policy: 'same-origin' as const },
    frameguard: { action: 'deny' as const },
  };

  const send = async (reply: FastifyReply, name: string): Promise<FastifyReply> => {
    if (deps.adminTokens().length === 0) throw errors.notFound('The dashboard is off with the admin API: set GATEWAY_ADMIN_TOKEN to turn it on.');
    const loaded = await assets();
    if (loaded === null) {
      reply.log.warn('dashboard requested but not built (dist/dashboard missing): run npm run build');
      return reply.code(503).type('text/plain; charset=utf-8').send('The dashboard is not built: run `npm run build`.');
    }
    const asset = loaded.get(name);
    if (asset === undefined) throw errors.notFound('No such dashboard file.');
    // Small files that must follow a new build at once: refetched rather than cached.
    return reply.header('cache-control', 'no-cache').type(asset.type).send(asset.body);
  };

  // Inside a plugin so the routes are added after helmet has loaded: its onRoute hook is what applies the
  // route-level `helmet` options (routes added directly during buildApp would get the global policy).
  void app.register(async (scope) => {
    scope.get('/dashboard', { helmet }, async (_request, reply) => send(reply, 'index.html'));
    scope.get('/dashboard/', { helmet }, async (_request, reply) => send(reply, 'index.html'));
    scope.get('/dashboard/:file', { helmet }, async (request, reply) => {
      const { file } = request.params as { file: string };
      if (!ASSET_NAME_RE.test(file)) throw errors.notFound('No such dashboard file.');
      return send(reply, file);
    });
  });
}
