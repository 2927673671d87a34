import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * The gateway's helmet options (docs/threat-model.md): responses are meant to be read cross-origin by the browsers CORS
 * admits. app.ts gives them to @fastify/helmet around the dashboard, whose route options are merged over them.
 */
export const HELMET_OPTIONS = { crossOriginResourcePolicy: { policy: 'cross-origin' } } as const;

/**
 * The security headers of docs/threat-model.md on every answer: exactly what helmet 8 (@fastify/helmet 13) emits for
 * HELMET_OPTIONS — same names (spelling included), same order, same values.
 *
 * Why not @fastify/helmet itself: it builds helmet's middleware chain (re-parsing the CSP directives) on every
 * request, about 3.6 % of the gateway's CPU under load, for a header set that never changes. Here the set is
 * fixed at start and applied with one hook. test/integration/security-headers-vs-helmet.test.ts pins it to what @fastify/helmet
 * sends, byte for byte, so a helmet upgrade that changes its defaults shows up there.
 *
 * The dashboard (src/http/admin/dashboard-routes.ts) still gets its stricter policy from @fastify/helmet's route
 * options; app.ts registers helmet only around those routes, and its headers replace these ones.
 * helmet also removes `X-Powered-By`; nothing sets it before onRequest (Node and Fastify never do), so there is
 * nothing to remove here.
 */
export const SECURITY_HEADERS: readonly (readonly [name: string, value: string])[] = Object.freeze(
  (
    [
      [
        'Content-Security-Policy',
        "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';" +
          "img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';" +
          'upgrade-insecure-requests',
      ],
      ['Cross-Origin-Opener-Policy', 'same-origin'],
      ['Cross-Origin-Resource-Policy', 'cross-origin'],
      ['Origin-Agent-Cluster', '?1'],
      ['Referrer-Policy', 'no-referrer'],
      ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
      ['X-Content-Type-Options', 'nosniff'],
      ['X-DNS-Prefetch-Control', 'off'],
      ['X-Download-Options', 'noopen'],
      ['X-Frame-Options', 'SAMEORIGIN'],
      ['X-Permitted-Cross-Domain-Policies', 'none'],
      ['X-XSS-Protection', '0'],
    ] as const
  ).map((pair) => Object.freeze(pair)),
);

/**
 * Registered with fastify-plugin, at the place helmet was registered, so the hook runs at the same point of the
 * onRequest chain (after the request context, before the auth throttle and CORS: a 429 or a preflight answer
 * carries the headers too). Set on the raw response, as helmet does, so the wire bytes are unchanged.
 */
export const registerSecurityHeaders = fp(
  async (app: FastifyInstance) => {
    app.addHook('onRequest', (_request, reply, done) => {
      const raw = reply.raw;
      for (const [name, value] of SECURITY_HEADERS) raw.setHeader(name, value);
      done();
    });
  },
  { name: 'xgw-security-headers' },
);
