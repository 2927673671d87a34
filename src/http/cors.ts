import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * CORS for the client API only (SPEC §8): a browser gets an answer — preflight and response headers — only
 * for an `Origin` that `allows` accepts (the configured `cors.origins` and active keys' `allowedOrigins`),
 * and the answer names that one origin, never `*`. Every other path (admin, /gateway/keys, health) gets
 * none, so a browser page can never read them. No credentials mode: clients authenticate with a header,
 * not cookies. Whether the key may be used from that origin is still checked per request (client-auth).
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
];

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
];

/** Browsers may cache a preflight this long (seconds); a key change is still checked on the real request. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function registerCors(app: FastifyInstance, options: { allows: (origin: string) => boolean }): void {
  void app.register(cors, {
    delegator: (request: FastifyRequest, callback) => {
      const origin = request.headers.origin;
      const path = request.url;
      const eligible = (path === '/v1' || path.startsWith('/v1/') || path.startsWith('/v1?')) && typeof origin === 'string' && options.allows(origin);
      callback(null, {
        // The one allowed origin echoed back, or false: no CORS headers and no preflight answer (404).
        origin: eligible ? origin : false,
        methods: ['GET', 'POST', 'DELETE'],
        allowedHeaders: ALLOWED_HEADERS,
        exposedHeaders: EXPOSED_HEADERS,
        credentials: false,
        maxAge: PREFLIGHT_MAX_AGE_SECONDS,
      });
    },
  });
}
