import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/**
 * CORS for the client API only (SPEC §8): a browser gets an answer — preflight and response headers — only
 * for an `Origin` that `allows` accepts (the configured `cors.origins` and active keys' `allowedOrigins`),
 * and the answer names that one origin, never `*`. Every other path (admin, /gateway/keys, health) gets
 * none, so a browser page can never read them. No credentials mode: clients authenticate with a header,
 * not cookies. Whether the key may be used from that origin is still checked per request (client-auth).
 *
 * One onRequest hook of our own rather than @fastify/cors: that plugin, driven by a per-request delegator,
 * normalised a fresh options object on every request (about 2.6 % of the gateway's CPU under load), although
 * server-to-server traffic carries no Origin at all. The answers are the ones @fastify/cors 11 gave with the
 * options this module used to pass it (dynamic origin, these methods and headers, max-age, strict preflight):
 * - every response carries `Vary: Origin` (the answer depends on it, whatever the path);
 * - an allowed origin on /v1 gets `Access-Control-Allow-Origin: <origin>` and `Access-Control-Expose-Headers`;
 * - its preflight (OPTIONS) is answered in the hook — before authentication, as a browser sends no key with
 *   it — with 204, the allowed methods and headers and `Access-Control-Max-Age`, or with 400 when it lacks
 *   `Access-Control-Request-Method`;
 * - any other OPTIONS request reaches the catch-all OPTIONS route, which answers 404.
 */
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'x-api-key',
  'x-request-id',
  'x-grok-conv-id',
  // Sent by the official OpenAI SDKs (dangerouslyAllowBrowser), which must work unchanged (SPEC §4).
  'x-stainless-arch',
  'x-stainless-lang',
  'x-stainless-os',
  'x-stainless-package-version',
  'x-stainless-runtime',
  'x-stainless-runtime-version',
  'x-stainless-retry-count',
  'x-stainless-timeout',
  'x-stainless-helper-method',
  // The openai SDK's polling helpers (files, batches, runs) and async helpers.
  'x-stainless-poll-helper',
  'x-stainless-custom-poll-interval',
  'x-stainless-async',
  // The Vercel AI SDK sets User-Agent itself (browsers allow it now), which makes it part of the preflight.
  'user-agent',
].join(', ');

const EXPOSED_HEADERS = [
  'x-request-id',
  'x-upstream-request-id',
  'retry-after',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
].join(', ');

const ALLOWED_METHODS = ['GET', 'POST', 'DELETE'].join(', ');

/** Browsers may cache a preflight this long (seconds); a key change is still checked on the real request. */
const PREFLIGHT_MAX_AGE = String(600);

function isClientApiPath(url: string): boolean {
  return url.startsWith('/v1') && (url.length === 3 || url.charCodeAt(3) === 0x2f /* / */ || url.charCodeAt(3) === 0x3f /* ? */);
}

/**
 * Adds `Origin` to `Vary`, keeping what is there, by the rules @fastify/cors applied (`*` absorbs every name,
 * a name already listed in any case is not repeated). Nothing sets Vary before this hook today, so the first
 * branch is the one taken.
 */
function varyOnOrigin(reply: FastifyReply): void {
  const current = reply.getHeader('vary');
  if (current === undefined || current === null || current === '' || current === 0) {
    reply.header('vary', 'Origin');
    return;
  }
  if (current === '*') return;
  const text = Array.isArray(current) ? current.join(', ') : String(current);
  const names = text.split(',').map((name) => name.trim().toLowerCase());
  if (names.includes('*')) reply.header('vary', '*');
  else if (!names.includes('origin')) reply.header('vary', `${text}, Origin`);
}

export function registerCors(app: FastifyInstance, options: { allows: (origin: string) => boolean }): void {
  // A plugin (not a bare addHook) so the hook lands where @fastify/cors's did: after the security headers and the
  // auth throttle in the onRequest chain, whose plugins are registered before this one.
  void app.register(
    fp(
      async (instance: FastifyInstance) => {
        instance.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
          varyOnOrigin(reply);
          const origin = request.headers.origin;
          // Server-to-server calls send no Origin: for them the hook ends here. (An empty Origin is never allowed:
          // configured and key origins are validated URLs.)
          if (origin === undefined || origin === '' || !isClientApiPath(request.url) || !options.allows(origin)) {
            done();
            return;
          }
          reply.header('access-control-allow-origin', origin);
          reply.header('access-control-expose-headers', EXPOSED_HEADERS);
          if (request.raw.method !== 'OPTIONS') {
            done();
            return;
          }
          const requestedMethod = request.headers['access-control-request-method'];
          if (requestedMethod === undefined || requestedMethod === '') {
            void reply.status(400).type('text/plain').send('Invalid Preflight Request');
            return;
          }
          reply.header('access-control-allow-methods', ALLOWED_METHODS);
          reply.header('access-control-allow-headers', ALLOWED_HEADERS);
          reply.header('access-control-max-age', PREFLIGHT_MAX_AGE);
          // Safari waits for a body on a 204 without Content-Length.
          void reply.code(204).header('content-length', '0').send();
        });
        // Lets Fastify route a preflight at all; one the hook did not answer is not ours to answer.
        instance.options('*', (_request, reply) => {
          reply.callNotFound();
        });
      },
      { name: 'xgw-cors' },
    ),
  );
}
