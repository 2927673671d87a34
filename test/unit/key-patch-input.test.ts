import { describe, expect, it } from 'vitest';
import { parseChildRequest } from '../../src/keys/child-request-input.js';
import { parseKeyPatch } from '../../src/keys/key-patch-input.js';

// PATCH /admin/keys/:id and POST /gateway/keys bodies, validated like POST /admin/keys.

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const OPTIONS = { plans: { free: {} }, nowMs: NOW };

describe('parseKeyPatch', () => {
  it.each<[string, unknown, unknown]>([
    ['a name', { name: 'renamed' }, { name: 'renamed' }],
    ['scopes', { models: ['grok-4'], endpoints: ['*'] }, { models: ['grok-4'], endpoints: ['*'] }],
    ['limits (replaced whole)', { limits: { requestsPerMinute: 5 } }, { limits: { requestsPerMinute: 5 } }],
    ['ttlSeconds, as an expiry from now', { ttlSeconds: 60 }, { expiresAt: '2026-03-01T12:01:00.000Z' }],
    ['expiresAt, normalised to UTC', { expiresAt: '2026-03-02T00:00:00+01:00' }, { expiresAt: '2026-03-01T23:00:00.000Z' }],
    ['expiresAt null: never expires', { expiresAt: null }, { expiresAt: null }],
    ['null clears a list', { allowedOrigins: null, allowedIps: null, models: null }, { allowedOrigins: null, allowedIps: null, models: null }],
    ['plan, metadata and mint', { plan: 'free', metadata: { team: 'a' }, mint: { maxTtlSeconds: 600 } }, { plan: 'free', metadata: { team: 'a' }, mint: { maxTtlSeconds: 600 } }],
  ])('%s', (_label, body, patch) => {
    expect(parseKeyPatch(body, OPTIONS)).toEqual({ ok: true, patch });
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', [1], /must be a JSON object/],
    ['no body', null, /must be a JSON object/],
    ['nothing to change', {}, /at least one field/],
    ['an unknown plan', { plan: 'gold' }, /plan: no plan named "gold"/],
    ['a bad model list', { models: 'grok-4' }, /models/],
    ['an unknown endpoint', { endpoints: ['everything'] }, /endpoints/],
    ['a negative limit', { limits: { requestsPerMinute: -1 } }, /limits\.requestsPerMinute/],
    ['an unknown limit', { limits: { requestsPerHour: 1 } }, /limits/],
    ['a bad origin', { allowedOrigins: ['https://app.example.com/'] }, /allowedOrigins/],
    ['a bad CIDR', { allowedIps: ['10.0.0.0/33'] }, /allowedIps/],
    ['a past expiry', { expiresAt: '2020-01-01T00:00:00Z' }, /expiresAt: must be in the future/],
    ['both expiry forms', { expiresAt: '2030-01-01T00:00:00Z', ttlSeconds: 5 }, /either expiresAt or ttlSeconds/],
    ['a zero ttl', { ttlSeconds: 0 }, /ttlSeconds/],
    ['a null name', { name: null }, /name/],
    ['null limits', { limits: null }, /limits/],
    ['revokedAt (use DELETE)', { revokedAt: '2030-01-01T00:00:00Z' }, /revokedAt|Unrecognized/i],
    ['an id', { id: 'key_other' }, /id|Unrecognized/i],
  ])('refuses %s', (_label, body, problem) => {
    const result = parseKeyPatch(body, OPTIONS);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.problems.join('\n')).toMatch(problem);
  });
});

describe('parseChildRequest', () => {
  it('keeps only what was given, so the mint rules can tell "inherit" from "none"', () => {
    expect(parseChildRequest({ name: 'tab', ttlSeconds: 30 }, OPTIONS)).toEqual({ ok: true, request: { name: 'tab', expiresAt: '2026-03-01T12:00:30.000Z' } });
    expect(parseChildRequest({ name: 'tab', allowedOrigins: null, mint: null }, OPTIONS)).toEqual({
      ok: true,
      request: { name: 'tab', allowedOrigins: null, mint: null },
    });
  });

  it('validates like a create body', () => {
    const result = parseChildRequest({ models: ['*'] }, OPTIONS);
    expect(result.ok ? '' : result.problems.join('\n')).toMatch(/name: is required/);
  });
});
