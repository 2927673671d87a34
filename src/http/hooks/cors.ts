import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * CORS for the client API only (docs/threat-model.md): a browser gets an answer — preflight and response headers —
 * only for an `Origin` that `allows` accepts (the configured `cors.origins` and active keys' `allowedOrigins`),
 * and the answer names that one origin, never `*`. Every other path (admin, /gateway/keys, health) gets none, so
 * a browser page can never read them. No credentials mode: clients authenticate with a header, not cookies.
 * Whether the key may be used from that origin is still checked per request (client-auth).
 *
 * @fastify/cors with a per-request delegator (the allowed origins change with the keys). A hand-written hook
 * replaced it for a while; with admission off Redis's path its saving no longer showed above the noise, so it
 * went back to the library (docs/decisions/0003-cors-hook.md).
 */
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'x-api-key',
  'x-request-id',
  'x-grok-conv-id',
  // Sent by the official OpenAI SDKs (dangerouslyAllowBrowser), which must work unchanged (docs/api.md).
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

function isClientApiPath(url: string): boolean {
  return url.startsWith('/v1') && (url.length === 3 || url.charCodeAt(3) === 0x2f /* / */ || url.charCodeAt(3) === 0x3f /* ? */);
}

export function registerCors(app: FastifyInstance, options: { allows: (origin: string) => boolean }): void {
  void app.register(cors, {
    delegator: (request: FastifyRequest, callback) => {
      const origin = request.headers.origin;
      const eligible = isClientApiPath(request.url) && typeof origin === 'string' && options.allows(origin);
      callback(null, {
        origin: eligible ? origin : false,
        methods: ['GET', 'POST', 'DELETE'],
        allowedHeaders: ALLOWED_HEADERS,
        exposedHeaders: EXPOSED_HEADERS,
        credentials: false,
        maxAge: 600,
      });
    },
  });
}
