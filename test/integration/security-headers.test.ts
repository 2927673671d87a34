import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_HEADERS } from '../../src/http/hooks/security-headers.js';
import { rawRequest, startHarness, type Harness } from '../helpers/harness.js';

// The gateway as main.ts wires it: the fixed helmet set on every answer, and /dashboard's own stricter policy
// (set through @fastify/helmet route options, docs/threat-model.md) replacing it on the dashboard's routes only.

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ store: 'memory', name: 'security-headers' });
});

afterAll(async () => {
  await h.close();
});

function expectGlobalSet(headers: Record<string, string | string[] | undefined>): void {
  for (const [name, value] of SECURITY_HEADERS) expect(headers[name.toLowerCase()], name).toBe(value);
}

describe('security headers through the app', () => {
  it.each([
    ['GET', '/healthz'],
    ['GET', '/nope'],
    ['POST', '/v1/chat/completions'],
    ['GET', '/admin/keys'],
    ['OPTIONS', '/v1/chat/completions'],
  ])('%s %s carries the global set', async (method, path) => {
    const response = await rawRequest(h.url, { method, path });
    expectGlobalSet(response.headers);
  });

  it.each(['/dashboard', '/dashboard/', '/dashboard/nope.js'])('%s carries the dashboard policy instead', async (path) => {
    const response = await rawRequest(h.url, { method: 'GET', path });
    expect(String(response.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    expect(String(response.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });
});
