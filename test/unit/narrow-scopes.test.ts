import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidrRange } from '../../src/policy/cidr-range.js';
import {
  childProblems,
  endpointCovered,
  ipCovered,
  limitProblems,
  modelPatternCovered,
  narrowChild,
  originCovered,
  type ChildRequest,
  type ParentScope,
} from '../../src/policy/narrow-scopes.js';
import type { KeyRecord } from '../../src/keys/types.js';
import { effectivePolicy } from '../../src/policy/scopes.js';

// A child key only ever narrows its parent (docs/api.md). Pure rules, table-driven.

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

function parentRecord(overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: 'key_parent',
    name: 'backend',
    plan: null,
    models: ['grok-4', 'grok-4-fast-*'],
    endpoints: ['chat.completions', 'models'],
    collections: null,
    limits: { requestsPerMinute: 60, tokensPerDay: 100_000 },
    allowedOrigins: ['https://app.example.com', 'https://admin.example.com'],
    allowedIps: ['10.0.0.0/8', '2001:db8::/32'],
    expiresAt: null,
    revokedAt: null,
    createdAt: iso(NOW - 1000),
    updatedAt: iso(NOW - 1000),
    metadata: {},
    parentId: null,
    mint: { maxTtlSeconds: 600 },
    source: 'api',
    ...overrides,
  };
}

const PLANS = { free: { models: ['grok-3-mini'], endpoints: ['chat.completions'], limits: { requestsPerMinute: 20 } } };

function scope(overrides: Partial<KeyRecord> = {}): ParentScope {
  const record = parentRecord(overrides);
  return { record, policy: effectivePolicy(record, PLANS) };
}

function mint(request: Omit<ChildRequest, 'name'>, parent: ParentScope = scope()): ReturnType<typeof narrowChild> {
  return narrowChild({ parent, request: { name: 'child', ...request }, nowMs: NOW });
}

describe('modelPatternCovered', () => {
  it.each([
    [['*'], 'anything', true],
    [['*'], 'grok-*', true],
    [['grok-4'], 'grok-4', true],
    [['grok-4'], 'grok-4-fast', false],
    [['grok-4-fast-*'], 'grok-4-fast-reasoning', true],
    [['grok-4-fast-*'], 'grok-4-fast-*', true],
    [['grok-4-fast-*'], 'grok-4-fast-r*', true],
    [['grok-*'], 'grok-4-*', true],
    [['grok-4-fast-*'], 'grok-4-*', false],
    [['grok-4-fast-*'], 'grok*', false],
    [['grok-4'], 'grok-4*', false],
    [['grok-4'], '*', false],
    [['grok-*-mini'], 'grok-3-*', false],
    [['grok-*-mini'], 'grok-3-mini', true],
    [['grok-*-mini'], 'grok-*-mini', true],
    [[], 'grok-4', false],
  ] as const)('parent %j covers %s: %s', (parent, child, expected) => {
    expect(modelPatternCovered(parent, child)).toBe(expected);
  });
});

describe('endpointCovered and originCovered', () => {
  it.each([
    [['*'], 'chat.completions', true],
    [['*'], '*', true],
    [['chat.completions'], 'chat.completions', true],
    [['chat.completions'], 'responses', false],
    [['chat.completions'], '*', false],
  ] as const)('endpoints %j cover %s: %s', (parent, child, expected) => {
    expect(endpointCovered(parent, child)).toBe(expected);
  });

  it.each([
    [['https://app.example.com'], 'https://app.example.com', true],
    [['https://app.example.com'], 'https://APP.example.com', true],
    [['https://app.example.com'], 'https://evil.example.com', false],
    [['https://app.example.com'], 'http://app.example.com', false],
    [['https://app.example.com'], 'https://app.example.com:8443', false],
  ] as const)('origins %j cover %s: %s', (parent, child, expected) => {
    expect(originCovered(parent, child)).toBe(expected);
  });
});

describe('CIDR ranges', () => {
  it.each([
    ['10.0.0.0/8', '10.1.2.0/24', true],
    ['10.0.0.0/8', '10.1.2.3', true],
    ['10.0.0.0/8', '10.0.0.0/8', true],
    ['10.0.0.0/8', '10.0.0.0/7', false],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.1.2.3', '10.1.2.3', true],
    ['10.1.2.3', '10.1.2.3/31', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['2001:db8::/32', '2001:db8:1::/48', true],
    ['2001:db8::/32', '2001:db8::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::/32', '2001::/16', false],
    ['::/0', '2001:db8::1', true],
    // IPv4-mapped IPv6 (RFC 4291 §2.5.5.2) is the same range as the IPv4 one, both ways.
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['::ffff:10.0.0.0/104', '10.9.9.9', true],
    ['::ffff:10.0.0.0/104', '11.0.0.1', false],
    ['10.0.0.0/8', '::ffff:0a01:0203', true],
    ['10.0.0.0/8', '::ffff:11.1.2.3', false],
  ] as const)('%s contains %s: %s', (outer, inner, expected) => {
    const o = parseCidrRange(outer);
    const i = parseCidrRange(inner);
    expect(o).not.toBeNull();
    expect(i).not.toBeNull();
    expect(cidrContains(o!, i!)).toBe(expected);
    expect(ipCovered([outer], inner)).toBe(expected);
  });

  it.each(['', 'not-an-ip', '10.0.0.0/33', '2001:db8::/129', '10.0.0.0/08', 'fe80::1%eth0', '1.2.3'])('refuses %j', (value) => {
    expect(parseCidrRange(value)).toBeNull();
    expect(ipCovered(['0.0.0.0/0', '::/0'], value)).toBe(false);
  });

  it('clears host bits: 10.1.2.3/8 is 10.0.0.0/8', () => {
    expect(parseCidrRange('10.1.2.3/8')).toEqual(parseCidrRange('10.0.0.0/8'));
  });
});

describe('limitProblems', () => {
  it.each([
    [{ requestsPerMinute: 60 }, { requestsPerMinute: 60 }, 0],
    [{ requestsPerMinute: 60 }, { requestsPerMinute: 10 }, 0],
    [{ requestsPerMinute: 60 }, { requestsPerMinute: 61 }, 1],
    [{ requestsPerMinute: 60 }, {}, 0],
    [{}, { requestsPerMinute: 1_000 }, 0],
    [{ costPerDayUsd: 1.5 }, { costPerDayUsd: 1.5000001 }, 1],
    [{ concurrency: 2, maxOutputTokens: 100 }, { concurrency: 3, maxOutputTokens: 200 }, 2],
  ] as const)('parent %j, child %j: %i problem(s)', (parent, child, count) => {
    expect(limitProblems(parent, child)).toHaveLength(count);
  });
});

describe('narrowChild: what a child inherits', () => {
  it('makes omitted scopes explicit copies of the parent\'s and expires maxTtlSeconds from now', () => {
    const result = mint({});
    expect(result).toEqual({
      ok: true,
      fields: {
        name: 'child',
        plan: null,
        models: ['grok-4', 'grok-4-fast-*'],
        endpoints: ['chat.completions', 'models'],
        collections: [],
        limits: {},
        allowedOrigins: ['https://app.example.com', 'https://admin.example.com'],
        allowedIps: ['10.0.0.0/8', '2001:db8::/32'],
        expiresAt: iso(NOW + 600_000),
        metadata: {},
        mint: null,
      },
    });
  });

  it('takes the plan\'s models and endpoints when the parent has no own ones', () => {
    const result = mint({}, scope({ plan: 'free', models: null, endpoints: null }));
    expect(result.ok && result.fields.plan).toBe('free');
    expect(result.ok && result.fields.models).toEqual(['grok-3-mini']);
    expect(result.ok && result.fields.endpoints).toEqual(['chat.completions']);
  });

  it('defaults the expiry to the parent\'s when that comes first', () => {
    const result = mint({}, scope({ expiresAt: iso(NOW + 60_000) }));
    expect(result.ok && result.fields.expiresAt).toBe(iso(NOW + 60_000));
  });

  it('accepts a narrower child in every dimension', () => {
    const result = mint({
      models: ['grok-4-fast-reasoning', 'grok-4-fast-r*'],
      endpoints: ['chat.completions'],
      limits: { requestsPerMinute: 5, tokensPerDay: 1_000, concurrency: 1 },
      allowedOrigins: ['https://app.example.com'],
      allowedIps: ['10.1.0.0/16', '2001:db8:5::/48'],
      expiresAt: iso(NOW + 300_000),
      metadata: { session: 's1' },
    });
    expect(result.ok).toBe(true);
  });

  it('leaves origins and IPs free when the parent has none', () => {
    const result = mint({ allowedOrigins: ['https://other.example'], allowedIps: ['192.0.2.0/24'] }, scope({ allowedOrigins: null, allowedIps: null }));
    expect(result.ok).toBe(true);
  });
});

describe('narrowChild: every widening is refused', () => {
  it.each<[string, Omit<ChildRequest, 'name'>, RegExp]>([
    ['a model outside the parent', { models: ['grok-3-mini'] }, /models: "grok-3-mini"/],
    ['a wider model glob', { models: ['grok-4*'] }, /models: "grok-4\*"/],
    ['every model', { models: ['*'] }, /models: "\*"/],
    ['models null (the plan\'s)', { models: null }, /models: must not be null/],
    ['an endpoint outside the parent', { endpoints: ['responses'] }, /endpoints: "responses"/],
    ['every endpoint', { endpoints: ['*'] }, /endpoints: "\*"/],
    ['endpoints null', { endpoints: null }, /endpoints: must not be null/],
    ['a larger limit', { limits: { requestsPerMinute: 61 } }, /limits\.requestsPerMinute: 61 is above the parent's 60/],
    ['a larger day budget', { limits: { tokensPerDay: 100_001 } }, /limits\.tokensPerDay/],
    ['a foreign origin', { allowedOrigins: ['https://evil.example'] }, /allowedOrigins: "https:\/\/evil\.example"/],
    ['no origin restriction', { allowedOrigins: null }, /allowedOrigins: must be a non-empty subset/],
    ['an empty origin list', { allowedOrigins: [] }, /allowedOrigins: must be a non-empty subset/],
    ['a wider IPv4 range', { allowedIps: ['10.0.0.0/7'] }, /allowedIps: "10\.0\.0\.0\/7"/],
    ['an address outside', { allowedIps: ['192.0.2.1'] }, /allowedIps: "192\.0\.2\.1"/],
    ['a wider IPv6 range', { allowedIps: ['2001:db8::/31'] }, /allowedIps: "2001:db8::\/31"/],
    ['no IP restriction', { allowedIps: null }, /allowedIps: must be a non-empty subset/],
    ['an expiry beyond maxTtlSeconds', { expiresAt: iso(NOW + 600_001) }, /expiresAt: must be at most 600 seconds away/],
    ['no expiry', { expiresAt: null }, /expiresAt: a child key must expire/],
    ['mint on a child', { mint: { maxTtlSeconds: 60 } }, /mint: a child key cannot mint keys/],
    ['another plan', { plan: 'free' }, /plan: must be the parent's plan \(none\)/],
  ])('%s', (_label, request, problem) => {
    const result = mint(request);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.problems.join('\n')).toMatch(problem);
  });

  it('an expiry after the parent\'s', () => {
    const result = mint({ expiresAt: iso(NOW + 120_000) }, scope({ expiresAt: iso(NOW + 60_000) }));
    expect(result.ok ? '' : result.problems.join('\n')).toMatch(/expiresAt: must not be after the parent's expiry/);
  });

  it('dropping the parent\'s plan', () => {
    const result = mint({ plan: null }, scope({ plan: 'free' }));
    expect(result.ok ? '' : result.problems.join('\n')).toMatch(/plan: must be the parent's plan \("free"\)/);
  });

  it('a parent without mint mints nothing', () => {
    expect(mint({}, scope({ mint: null }))).toEqual({ ok: false, problems: ['the parent key has no mint permission'] });
  });

  it('a child may narrow its parent\'s collections, never widen them', () => {
    const parent = scope({ collections: ['collection_a', 'collection_b-*'] });
    expect(mint({ collections: ['collection_a', 'collection_b-2'] }, parent).ok).toBe(true);
    expect(mint({}, parent)).toMatchObject({ ok: true, fields: { collections: ['collection_a', 'collection_b-*'] } });
    expect(mint({ collections: ['collection_c'] }, parent)).toEqual({ ok: false, problems: ['collections: "collection_c" is not within the parent\'s collections'] });
    expect(mint({ collections: ['*'] }, parent).ok).toBe(false);
  });

  it('reports every problem at once', () => {
    const result = mint({ models: ['*'], endpoints: ['*'], limits: { requestsPerMinute: 1_000 } });
    expect(result.ok ? [] : result.problems).toHaveLength(3);
  });
});

describe('childProblems (a PATCH on a child)', () => {
  it('groups problems by field, so a patch is judged only on what it touches', () => {
    const parent = scope({ expiresAt: iso(NOW + 60_000) });
    const child = { ...parentRecord(), models: ['*'], mint: null, expiresAt: iso(NOW + 120_000) };
    const problems = childProblems({ parent, child, nowMs: NOW });
    expect(Object.keys(problems).sort()).toEqual(['expiresAt', 'models']);
  });

  it('finds nothing wrong with a child equal to its parent but expiring in time', () => {
    const child = { ...parentRecord(), mint: null, expiresAt: iso(NOW + 1_000) };
    expect(childProblems({ parent: scope(), child, nowMs: NOW })).toEqual({});
  });
});
