import { describe, expect, it } from 'vitest';
import { matchesGlob } from '../../src/policy/glob.js';
import { resolveRoute } from '../../src/policy/routes.js';
import { effectivePolicy, endpointAllowed, keyState, modelAllowed } from '../../src/policy/scopes.js';
import type { KeyRecord } from '../../src/keys/types.js';

describe('matchesGlob', () => {
  it.each([
    ['*', 'grok-4', true],
    ['grok-4', 'grok-4', true],
    ['grok-4', 'grok-4-0709', false],
    ['grok-4-fast-*', 'grok-4-fast-reasoning', true],
    ['grok-4-fast-*', 'grok-4-fast-', true],
    ['grok-4-fast-*', 'grok-4-fas', false],
    ['grok-*-mini', 'grok-3-mini', true],
    ['grok-*-mini', 'grok-3-mini-fast', false],
    ['*-mini', 'grok-3-mini', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['ab*ba', 'aba', false],
    ['grok-3-mini', 'grok-*', false],
  ])('%s vs %s → %s', (pattern, value, expected) => {
    expect(matchesGlob(pattern, value)).toBe(expected);
  });

  it('treats the requested model literally: a "*" in a model name grants nothing', () => {
    expect(matchesGlob('grok-3-mini', '*')).toBe(false);
    expect(matchesGlob('grok-4-fast-*', 'grok-4-fast-*')).toBe(true);
    expect(matchesGlob('grok-4-fast-*', '*')).toBe(false);
  });
});

describe('resolveRoute', () => {
  it.each([
    ['POST', '/v1/chat/completions', 'chat.completions', '/v1/chat/completions'],
    ['GET', '/v1/models', 'models', '/v1/models'],
    ['GET', '/v1/models/grok-4', 'models', '/v1/models/grok-4'],
    ['GET', '/v1/api-key', 'api-key', '/v1/api-key'],
    ['GET', '/v1/files?limit=3&order=desc', 'files', '/v1/files?limit=3&order=desc'],
    ['POST', '/v1/batches/batch_123:cancel', 'batches', '/v1/batches/batch_123:cancel'],
    ['GET', '/v1/batches/batch_123', 'batches', '/v1/batches/batch_123'],
    ['GET', '/v1/chat/deferred-completion/f15c114e-f47d-40ca-8d5c-8c23d656eeb6', 'deferred', '/v1/chat/deferred-completion/f15c114e-f47d-40ca-8d5c-8c23d656eeb6'],
  ])('%s %s → %s', (method, url, endpoint, upstreamPath) => {
    const found = resolveRoute(method, url);
    expect(found.kind).toBe('match');
    if (found.kind !== 'match') return;
    expect(found.match.route.endpoint).toBe(endpoint);
    expect(found.match.upstreamPath).toBe(upstreamPath);
  });

  it.each([
    '/v1/admin/keys',
    '/v1/../admin/keys',
    '/v1/%2e%2e/admin/keys',
    '/v1/chat/%2e%2e/%2e%2e/admin',
    '/v1/chat/completions/',
    '/v1//chat/completions',
    '/v1/chat/./completions',
    '/v1/files/..',
    '/v1/files/%2Fadmin',
    '/v1/files/a%2fb',
    '/v1\\..\\admin',
    '/v1/files/.hidden',
    '/v1/nope',
    '/v2/chat/completions',
    '/admin/keys',
    '/v1/batches/abc:cancel:cancel',
  ])('never matches %s', (url) => {
    const found = resolveRoute(url.includes('cancel') ? 'POST' : 'GET', url);
    expect(found.kind).not.toBe('match');
  });

  it('distinguishes a wrong method from an unknown path', () => {
    expect(resolveRoute('GET', '/v1/chat/completions').kind).toBe('method_not_allowed');
    expect(resolveRoute('PUT', '/v1/files/abc').kind).toBe('method_not_allowed');
  });
});

const baseKey: KeyRecord = {
  id: 'key_a', name: 'a', plan: null, models: null, endpoints: null, collections: null, limits: {},
  allowedOrigins: null, allowedIps: null, expiresAt: null, revokedAt: null,
  createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
  metadata: {}, parentId: null, mint: null, source: 'api',
};

describe('effectivePolicy', () => {
  const plans = { free: { models: ['grok-3-mini'], endpoints: ['chat.completions'], limits: { requestsPerMinute: 5, concurrency: 2 } } };

  it('denies everything without key scopes or plan', () => {
    const p = effectivePolicy(baseKey, plans);
    expect(endpointAllowed(p, 'chat.completions')).toBe(false);
    expect(modelAllowed(p, 'grok-3-mini')).toBe(false);
  });

  it('inherits the plan and lets the key override field by field and limit by limit', () => {
    const p = effectivePolicy({ ...baseKey, plan: 'free', models: ['grok-4'], limits: { requestsPerMinute: 9 } }, plans);
    expect(p.models).toEqual(['grok-4']);
    expect(p.endpoints).toEqual(['chat.completions']);
    expect(p.limits).toEqual({ requestsPerMinute: 9, concurrency: 2 });
  });

  it('grants all endpoints with "*"', () => {
    const p = effectivePolicy({ ...baseKey, endpoints: ['*'] }, plans);
    expect(endpointAllowed(p, 'files')).toBe(true);
  });
});

describe('keyState', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  it.each([
    [{ expiresAt: null, revokedAt: null }, 'active'],
    [{ expiresAt: '2026-06-01T00:00:01Z', revokedAt: null }, 'active'],
    [{ expiresAt: '2026-06-01T00:00:00Z', revokedAt: null }, 'expired'],
    [{ expiresAt: '2026-05-01T00:00:00Z', revokedAt: '2026-04-01T00:00:00Z' }, 'revoked'],
    [{ expiresAt: null, revokedAt: '2026-07-01T00:00:00Z' }, 'active'],
  ] as const)('%j → %s', (key, expected) => {
    expect(keyState(key, now)).toBe(expected);
  });
});
