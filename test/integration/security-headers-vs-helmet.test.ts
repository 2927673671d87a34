import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandling } from '../../src/http/hooks/error-handler.js';
import { HELMET_OPTIONS, registerSecurityHeaders, SECURITY_HEADERS } from '../../src/http/hooks/security-headers.js';

// The fixed security header set must be what @fastify/helmet sends for the gateway's options, on the wire:
// same names as spelled, same order, same values, on routes, 404s and errors alike. The options are the ones
// app.ts uses, so changing them without updating the fixed set fails here.

async function server(withHeaders: (app: FastifyInstance) => void): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify();
  registerErrorHandling(app);
  withHeaders(app);
  app.get('/ok', async (_request, reply) => reply.header('x-extra', '1').send({ ok: true }));
  app.get('/fails', async () => {
    throw new Error('boom');
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, port: (app.server.address() as AddressInfo).port };
}

/** Raw header lines as received (name spelling and order kept), without Date, which changes by the second. */
function rawHeaders(port: number, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        const lines: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          if (res.rawHeaders[i]?.toLowerCase() !== 'date') lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
        }
        resolve(lines);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

let withHelmet: { app: FastifyInstance; port: number };
let fixed: { app: FastifyInstance; port: number };

beforeAll(async () => {
  withHelmet = await server((app) => void app.register(helmet, HELMET_OPTIONS));
  fixed = await server((app) => void app.register(registerSecurityHeaders));
});

afterAll(async () => {
  await withHelmet.app.close();
  await fixed.app.close();
});

describe('security headers', () => {
  it.each(['/ok', '/missing', '/fails'])('%s: the same header lines as @fastify/helmet', async (path) => {
    const expected = await rawHeaders(withHelmet.port, path);
    expect(await rawHeaders(fixed.port, path)).toEqual(expected);
    // Not vacuous: helmet's set is there, starting the response as helmet's raw setHeader calls do.
    expect(expected.slice(0, SECURITY_HEADERS.length)).toEqual(SECURITY_HEADERS.map(([name, value]) => `${name}: ${value}`));
  });
});
