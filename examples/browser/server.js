/* global fetch, AbortSignal, URL -- Node 20 globals; the repository's ESLint config declares none for .js files */
/**
 * The app backend of the browser example (README "Browser apps: the pattern"), plain Node, no dependencies.
 *
 * It holds a MINTING client key (a gateway key whose record has `mint: { maxTtlSeconds }`) and never sends it
 * anywhere but to the gateway. Every page load asks `GET /session` and gets a child key that lives ten minutes,
 * works only from this page's origin, for one model and chat completions only (docs/api.md child keys) — a key the
 * browser may hold because a copy of it is worth little: it expires soon, a foreign site cannot use it from
 * its pages, and it can never do more than its parent.
 *
 *   MINTING_KEY=xgw_… GATEWAY_URL=http://localhost:8080 node examples/browser/server.js
 *
 * Environment:
 *   MINTING_KEY         the minting key (required; no allowedOrigins/allowedIps on it: children inherit them)
 *   GATEWAY_URL         where this backend reaches the gateway, default http://localhost:8080
 *   GATEWAY_PUBLIC_URL  where the browser reaches it, default GATEWAY_URL (e.g. https://ai.example.com)
 *   MODEL               the model the page may use, default grok-3-mini (must be within the minting key's)
 *   HOST, PORT          listen address, default 127.0.0.1:5173 (5173 is in the gateway's default cors.origins)
 *   PUBLIC_ORIGIN       the page's origin as the browser sends it, default http://localhost:<port>; child keys
 *                       are bound to it. While it is unset, a request for another host (e.g. 127.0.0.1:5173)
 *                       is redirected to http://localhost:<port>, so the page always runs on the bound origin.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import process from 'node:process';

const SESSION_TTL_SECONDS = 600;
// Each must be at most the minting key's own value where it has one, else minting is refused (400).
const SESSION_LIMITS = { requestsPerMinute: 10, maxOutputTokens: 1024 };
const MINT_TIMEOUT_MS = 10_000;

const env = process.env;
const mintingKey = env.MINTING_KEY ?? '';
if (!/^xgw_[0-9A-Za-z]+$/.test(mintingKey)) fail('MINTING_KEY must be set to a gateway client key (xgw_…) whose record has "mint".');
const gatewayUrl = originAndPath(env.GATEWAY_URL || 'http://localhost:8080', 'GATEWAY_URL');
const publicGatewayUrl = originAndPath(env.GATEWAY_PUBLIC_URL || gatewayUrl, 'GATEWAY_PUBLIC_URL');
const model = env.MODEL || 'grok-3-mini';
const host = env.HOST || '127.0.0.1';
const port = Number(env.PORT || 5173);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail('PORT must be a port number.');
// Written as a browser sends it (scheme://host[:port], no path): the gateway compares origins exactly.
const configuredOrigin = env.PUBLIC_ORIGIN ? new URL(originAndPath(env.PUBLIC_ORIGIN, 'PUBLIC_ORIGIN')).origin : '';

// The page may load its own files and talk to this backend and to the gateway, nothing else: no inline
// script or style, no CDN (the same policy the gateway's dashboard uses).
const CSP = [
  "default-src 'self'",
  `connect-src 'self' ${new URL(publicGatewayUrl).origin}`,
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const ASSETS = new Map([
  ['/', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/index.html', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/app.js', { file: 'app.js', type: 'text/javascript; charset=utf-8' }],
  ['/style.css', { file: 'style.css', type: 'text/css; charset=utf-8' }],
]);
const files = new Map();
for (const { file } of ASSETS.values()) files.set(file, await readFile(new URL(file, import.meta.url)));

let publicOrigin = '';
let redirectOtherHosts = false;

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    process.stderr.write(`browser example: ${err instanceof Error ? err.message : String(err)}\n`);
    if (!res.headersSent) send(res, 500, { error: { code: 'internal_error', message: 'Internal error.' } });
    else res.destroy();
  });
});

async function handle(req, res) {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, { error: { code: 'method_not_allowed', message: 'Only GET and HEAD.' } });
  }
  if (redirectOtherHosts && req.headers.host?.toLowerCase() !== new URL(publicOrigin).host) {
    // The child key works only from publicOrigin: serve the page there, not on an alias of this address.
    res.writeHead(307, { location: `${publicOrigin}${req.url ?? '/'}` });
    return res.end();
  }
  if (path === '/session') {
    if (req.method === 'GET') return session(req, res);
    res.setHeader('allow', 'GET');
    return send(res, 405, { error: { code: 'method_not_allowed', message: 'GET /session.' } });
  }
  if (path === '/favicon.ico') return res.writeHead(204).end();
  const asset = ASSETS.get(path);
  if (asset === undefined) return send(res, 404, { error: { code: 'not_found', message: 'Not found.' } });
  const body = files.get(asset.file);
  res.writeHead(200, { ...securityHeaders(), 'content-type': asset.type, 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** GET /session: mint a child key for this page load. */
async function session(req, res) {
  // Only this site's own page may ask (a browser sends Origin / Sec-Fetch-Site on such requests; a foreign
  // page could not read the answer anyway, as this backend answers no CORS).
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if ((origin !== undefined && origin !== publicOrigin) || site === 'cross-site' || site === 'same-site') {
    return send(res, 403, { error: { code: 'forbidden', message: 'Sessions are handed only to this site\'s own page.' } });
  }
  let response;
  try {
    response = await fetch(`${gatewayUrl}/gateway/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${mintingKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'browser-session',
        ttlSeconds: SESSION_TTL_SECONDS,
        allowedOrigins: [publicOrigin],
        models: [model],
        endpoints: ['chat.completions'],
        limits: SESSION_LIMITS,
        metadata: { session: randomUUID() },
      }),
      signal: AbortSignal.timeout(MINT_TIMEOUT_MS),
    });
  } catch {
    process.stderr.write(`browser example: the gateway at ${gatewayUrl} did not answer\n`);
    return send(res, 502, { error: { code: 'gateway_unreachable', message: 'The gateway did not answer; try again.' } });
  }
  const body = await response.json().catch(() => null);
  if (response.status !== 201 || typeof body?.key !== 'string') {
    const code = body?.error?.code ?? 'unknown';
    const detail = scrub(String(body?.error?.message ?? `HTTP ${response.status}`));
    process.stderr.write(`browser example: minting refused (${response.status} ${code}): ${detail}\n`);
    return send(res, 502, { error: { code: 'mint_failed', message: `The gateway refused to start a session (${code}).` } });
  }
  process.stdout.write(`browser example: session key ${body.id} for ${publicOrigin}, expires ${body.expiresAt}\n`);
  send(res, 200, { key: body.key, expiresAt: body.expiresAt, gatewayUrl: publicGatewayUrl, model });
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  // no-store: a session key must not sit in a browser or proxy cache.
  res.writeHead(status, { ...securityHeaders(), 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function securityHeaders() {
  return { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
}

/** Nothing shaped like a key goes to a log line, even if some upstream message ever echoed one. */
function scrub(text) {
  return text.replace(/\b(xgw|xai)[-_][0-9A-Za-z_-]+/g, '$1_…');
}

function originAndPath(value, name) {
  try {
    const url = new URL(value);
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return fail(`${name} must be a URL such as http://localhost:8080.`);
  }
}

function fail(message) {
  process.stderr.write(`browser example: ${message}\n`);
  process.exit(2);
}

server.listen(port, host, () => {
  const bound = server.address().port;
  redirectOtherHosts = configuredOrigin === '';
  publicOrigin = configuredOrigin || `http://localhost:${bound}`;
  process.stdout.write(`browser example: open ${publicOrigin}/ (gateway ${publicGatewayUrl}, model ${model})\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
