import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCors } from '../../src/http/hooks/cors.js';
import { registerErrorHandling } from '../../src/http/hooks/error-handler.js';

// CORS answers (docs/threat-model.md) without a server or a store: only /v1 paths, only allowed origins, the one origin
// echoed, preflights answered before any route, Vary: Origin on everything.

const ALLOWED = 'https://app.example';
let app: FastifyInstance;
const asked: string[] = [];

beforeAll(async () => {
  app = Fastify();
  registerErrorHandling(app);
  registerCors(app, {
    allows: (origin) => {
      asked.push(origin);
      return origin === ALLOWED;
    },
  });
  app.post('/v1/chat/completions', async () => ({ ok: true }));
  app.get('/v1', async () => ({ ok: true }));
  app.get('/admin/keys', async () => ({ ok: true }));
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

const preflight = (url: string, origin: string, extra: Record<string, string> = {}) =>
  app.inject({ method: 'OPTIONS', url, headers: { origin, 'access-control-request-method': 'POST', ...extra } });

describe('CORS', () => {
  it('a request without Origin gets only Vary, and the origin check is not consulted', async () => {
    asked.length = 0;
    const response = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: {} });
    expect(response.statusCode).toBe(200);
    expect(response.headers.vary).toBe('Origin');
    expect(Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    expect(asked).toEqual([]);
  });

  it('an allowed origin on /v1 gets that origin and the exposed headers, no credentials', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { origin: ALLOWED }, payload: {} });
    expect(response.statusCode).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(response.headers['access-control-expose-headers']).toBe(
      'x-request-id, x-upstream-request-id, retry-after, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, ' +
        'x-ratelimit-reset-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens',
    );
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
    expect(response.headers['access-control-allow-methods']).toBeUndefined();
    expect(response.headers.vary).toBe('Origin');
  });

  it('answers an allowed preflight with 204 before any route, and its limits', async () => {
    for (const url of ['/v1/chat/completions', '/v1', '/v1?x=1', '/v1/anything/unrouted']) {
      const response = await preflight(url, ALLOWED, { 'access-control-request-headers': 'authorization' });
      expect(response.statusCode, url).toBe(204);
      expect(response.body).toBe('');
      expect(response.headers['content-length']).toBe('0');
      expect(response.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(response.headers['access-control-allow-methods']).toBe('GET, POST, DELETE');
      expect(String(response.headers['access-control-allow-headers']).split(', ')).toContain('x-stainless-helper-method');
      expect(response.headers['access-control-max-age']).toBe('600');
      expect(response.headers.vary).toBe('Origin');
    }
  });

  it('a preflight without Access-Control-Request-Method is a 400', async () => {
    for (const method of [undefined, '']) {
      const headers: Record<string, string> = { origin: ALLOWED, ...(method === undefined ? {} : { 'access-control-request-method': method }) };
      const response = await app.inject({ method: 'OPTIONS', url: '/v1/chat/completions', headers });
      expect(response.statusCode).toBe(400);
      expect(response.body).toBe('Invalid Preflight Request');
    }
  });

  it('other origins, other paths and origin-less OPTIONS get no CORS answer: 404', async () => {
    const cases: [string, string | undefined][] = [
      ['/v1/chat/completions', 'https://evil.example'],
      ['/v1/chat/completions', undefined],
      ['/admin/keys', ALLOWED],
      ['/v1x', ALLOWED],
      ['/v10/chat', ALLOWED],
      ['/', ALLOWED],
    ];
    for (const [url, origin] of cases) {
      const response = await app.inject({ method: 'OPTIONS', url, headers: origin === undefined ? {} : { origin, 'access-control-request-method': 'POST' } });
      expect(response.statusCode, `${url} ${origin}`).toBe(404);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
      expect(response.headers.vary).toBe('Origin');
    }
    const admin = await app.inject({ method: 'GET', url: '/admin/keys', headers: { origin: ALLOWED } });
    expect(admin.statusCode).toBe(200);
    expect(admin.headers['access-control-allow-origin']).toBeUndefined();
  });
});
