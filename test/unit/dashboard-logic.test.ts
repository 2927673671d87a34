import { describe, expect, it } from 'vitest';
import { ENDPOINT_NAMES, LIMIT_NAMES } from '../../src/config/types.js';
import { describeChanges } from '../../src/dashboard/audit-format.js';
import { chartModel, niceCeil } from '../../src/dashboard/chart-model.js';
import * as dashboard from '../../src/dashboard/constants.js';
import { formatDateTime, formatUsd, lastDays } from '../../src/dashboard/format.js';
import { buildCreateBody, buildPatchBody, formValuesOf, splitList, type CreateFormValues, type EditableKey } from '../../src/dashboard/key-form.js';
import { displayState, matchesFilter } from '../../src/dashboard/key-state.js';
import type { Usage } from '../../src/dashboard/types.js';

// The dashboard's pure parts, without a browser: key states, filters, the create form's body, the
// chart's geometry, audit lines and formats.

const NOW = Date.parse('2026-11-26T12:00:00Z');
const DAY = 86_400_000;

describe('constants copied into the front-end', () => {
  it('equal the server’s limit and endpoint names (docs/configuration.md)', () => {
    expect([...dashboard.LIMIT_NAMES]).toEqual([...LIMIT_NAMES]);
    expect([...dashboard.ENDPOINT_NAMES]).toEqual([...ENDPOINT_NAMES]);
    expect(Object.keys(dashboard.LIMIT_LABELS).sort()).toEqual([...LIMIT_NAMES].sort());
  });
});

describe('displayState', () => {
  const iso = (ms: number): string => new Date(ms).toISOString();
  it.each([
    ['no expiry', { expiresAt: null, revokedAt: null }, 'active'],
    ['expires in 30 days', { expiresAt: iso(NOW + 30 * DAY), revokedAt: null }, 'active'],
    ['expires in 7 days and a second', { expiresAt: iso(NOW + 7 * DAY + 1000), revokedAt: null }, 'active'],
    ['expires in exactly 7 days', { expiresAt: iso(NOW + 7 * DAY), revokedAt: null }, 'expiring'],
    ['expires in ten minutes', { expiresAt: iso(NOW + 600_000), revokedAt: null }, 'expiring'],
    ['expired now', { expiresAt: iso(NOW), revokedAt: null }, 'expired'],
    ['expired yesterday', { expiresAt: iso(NOW - DAY), revokedAt: null }, 'expired'],
    ['revoked', { expiresAt: null, revokedAt: iso(NOW - 1000) }, 'revoked'],
    ['revoked and expired', { expiresAt: iso(NOW - DAY), revokedAt: iso(NOW - 2 * DAY) }, 'revoked'],
  ] as const)('%s → %s', (_name, key, state) => {
    expect(displayState(key, NOW)).toBe(state);
  });
});

describe('matchesFilter', () => {
  const key = { id: 'key_AbC123', name: 'Mobile App', expiresAt: null, revokedAt: null };
  it.each([
    [{ state: 'all', search: '' }, true],
    [{ state: 'active', search: '' }, true],
    [{ state: 'revoked', search: '' }, false],
    [{ state: 'all', search: 'mobile' }, true],
    [{ state: 'all', search: '  APP ' }, true],
    [{ state: 'all', search: 'abc1' }, true],
    [{ state: 'all', search: 'web' }, false],
    [{ state: 'expiring', search: 'mobile' }, false],
  ] as const)('%j → %s', (filter, expected) => {
    expect(matchesFilter(key, filter, NOW)).toBe(expected);
  });
});

describe('buildCreateBody', () => {
  const blank: CreateFormValues = { name: 'app', plan: '', models: '', endpoints: [], collections: '', limits: {}, expiry: { kind: 'never' }, origins: '', ips: '', mintMaxTtlSeconds: '', metadata: '' };

  it('sends only what was filled in (the rest comes from the plan)', () => {
    expect(buildCreateBody({ ...blank, name: '  app  ' })).toEqual({ ok: true, body: { name: 'app' } });
  });

  it('maps every field', () => {
    const result = buildCreateBody({
      name: 'web',
      plan: 'free',
      models: 'grok-4,\n grok-3-mini\n\n',
      endpoints: ['chat.completions', 'models'],
      collections: 'collection_docs\ncollection_faq-*',
      limits: { requestsPerMinute: '60', costPerMonthUsd: '2.5', tokensPerDay: '' },
      expiry: { kind: 'ttl', hours: '1.5' },
      origins: 'https://a.example\nhttps://b.example',
      ips: '10.0.0.0/8, ::1',
      mintMaxTtlSeconds: '600',
      metadata: 'team=web\n owner = ana \n',
    });
    expect(result).toEqual({
      ok: true,
      body: {
        name: 'web',
        plan: 'free',
        models: ['grok-4', 'grok-3-mini'],
        endpoints: ['chat.completions', 'models'],
        collections: ['collection_docs', 'collection_faq-*'],
        limits: { requestsPerMinute: 60, costPerMonthUsd: 2.5 },
        ttlSeconds: 5400,
        allowedOrigins: ['https://a.example', 'https://b.example'],
        allowedIps: ['10.0.0.0/8', '::1'],
        mint: { maxTtlSeconds: 600 },
        metadata: { team: 'web', owner: 'ana' },
      },
    });
  });

  it('"*" among the endpoints means all', () => {
    expect(buildCreateBody({ ...blank, endpoints: ['*', 'models'] })).toEqual({ ok: true, body: { name: 'app', endpoints: ['*'] } });
  });

  it('an expiry date is sent as UTC ISO 8601', () => {
    expect(buildCreateBody({ ...blank, expiry: { kind: 'at', local: '2030-01-02T03:04:00Z' } })).toEqual({ ok: true, body: { name: 'app', expiresAt: '2030-01-02T03:04:00.000Z' } });
  });

  it.each([
    [{ name: ' ' }, 'Name: required.'],
    [{ limits: { requestsPerMinute: '1.5' } }, 'Requests per minute: must be a whole number, 0 or more.'],
    [{ limits: { tokensPerDay: 'lots' } }, 'Tokens per day: must be a whole number, 0 or more.'],
    [{ limits: { costPerDayUsd: '-1' } }, 'Cost per day (USD): must be a non-negative amount.'],
    [{ expiry: { kind: 'ttl', hours: '0' } }, 'Expiry: the number of hours must be more than 0.'],
    [{ expiry: { kind: 'ttl', hours: '' } }, 'Expiry: the number of hours must be more than 0.'],
    [{ expiry: { kind: 'at', local: '' } }, 'Expiry: pick a date and time.'],
    [{ mintMaxTtlSeconds: '0' }, 'Child keys: the longest lifetime must be a whole number of seconds, 1 or more.'],
    [{ metadata: 'no-equals-sign' }, 'Metadata: "no-equals-sign" is not name=value.'],
  ] as const)('refuses %j', (change, problem) => {
    expect(buildCreateBody({ ...blank, ...change })).toEqual({ ok: false, problems: [problem] });
  });

  it('splitList drops blanks', () => {
    expect(splitList('')).toEqual([]);
    expect(splitList(' a ,, b\n\nc ')).toEqual(['a', 'b', 'c']);
  });
});

describe('buildPatchBody', () => {
  const key: EditableKey = {
    name: 'web',
    plan: 'free',
    models: ['grok-4'],
    endpoints: null,
    collections: null,
    limits: { requestsPerMinute: 60 },
    allowedOrigins: ['https://a.example'],
    allowedIps: null,
    expiresAt: '2030-01-01T00:00:00.000Z',
    metadata: { team: 'web' },
    mint: { maxTtlSeconds: 600, maxActiveChildren: 5 },
  };

  it('sends nothing when nothing changed', () => {
    expect(buildPatchBody(formValuesOf(key), key)).toEqual({ ok: true, body: {} });
  });

  it('sends only the changed fields; emptied ones as null, limits and metadata whole', () => {
    const values = { ...formValuesOf(key), name: 'web-2', plan: '', origins: '', limits: { requestsPerMinute: '60', tokensPerDay: '1000' }, metadata: '', mintMaxTtlSeconds: '900' };
    expect(buildPatchBody(values, key)).toEqual({
      ok: true,
      body: { name: 'web-2', plan: null, allowedOrigins: null, limits: { requestsPerMinute: 60, tokensPerDay: 1000 }, metadata: {}, mint: { maxTtlSeconds: 900, maxActiveChildren: 5 } },
    });
  });

  it('expiry: keep sends nothing, never clears it, hours set a new one', () => {
    expect(buildPatchBody({ ...formValuesOf(key), expiry: { kind: 'never' } }, key)).toEqual({ ok: true, body: { expiresAt: null } });
    expect(buildPatchBody({ ...formValuesOf(key), expiry: { kind: 'ttl', hours: '2' } }, key)).toEqual({ ok: true, body: { ttlSeconds: 7200 } });
  });

  it('is checked like the create form', () => {
    expect(buildPatchBody({ ...formValuesOf(key), name: '' }, key)).toEqual({ ok: false, problems: ['Name: required.'] });
  });
});

describe('chartModel', () => {
  const u = (totalTokens: number, requests = 1): Usage => ({ requests, promptTokens: 0, completionTokens: totalTokens, reasoningTokens: 0, cachedTokens: 0, totalTokens, costUsd: totalTokens / 1e6, refused: 0, failed: 0 });

  it.each([
    [0, 1],
    [1, 1],
    [1.5, 2],
    [3, 5],
    [7, 10],
    [10, 10],
    [11, 20],
    [0.0003, 0.0005],
    [4500, 5000],
  ])('niceCeil(%s) = %s', (value, nice) => {
    expect(niceCeil(value)).toBeCloseTo(nice, 12);
  });

  it('stacks each day by model, largest model first, scaled to a round axis', () => {
    const dates = lastDays(NOW, 3);
    expect(dates).toEqual(['2026-11-24', '2026-11-25', '2026-11-26']);
    const model = chartModel({
      dates,
      days: [
        { date: '2026-11-24', models: { 'grok-4': u(30), 'grok-3-mini': u(10) } },
        { date: '2026-11-26', models: { 'grok-4': u(50) } },
      ],
      metric: 'totalTokens',
    });
    expect(model.models).toEqual(['grok-4', 'grok-3-mini']);
    expect(model.bars.map((b) => [b.date, b.total, b.segments.map((s) => s.model)])).toEqual([
      ['2026-11-24', 40, ['grok-4', 'grok-3-mini']],
      ['2026-11-25', 0, []],
      ['2026-11-26', 50, ['grok-4']],
    ]);
    // Step niceCeil(50 / 4) = 20, axis to 60: gridlines at 0, 20, 40, 60.
    expect(model.max).toBe(60);
    expect(model.ticks.map((t) => t.value)).toEqual([0, 20, 40, 60]);
    const bottom = model.plot.top + model.plot.height;
    const [first] = model.bars;
    // Segments sit on the axis and on each other, heights proportional to their values.
    expect(first?.segments[0]?.y).toBeCloseTo(bottom - (30 / 60) * model.plot.height);
    expect(first?.segments[1]?.y).toBeCloseTo(bottom - (40 / 60) * model.plot.height);
    expect(first?.segments[1]?.height).toBeCloseTo((10 / 60) * model.plot.height);
    // Bars stay inside the plot, left to right.
    for (const bar of model.bars) {
      expect(bar.x).toBeGreaterThanOrEqual(model.plot.left);
      expect(bar.x + bar.width).toBeLessThanOrEqual(model.plot.left + model.plot.width);
    }
    expect(model.xLabels.map((l) => l.date)).toEqual(dates);
  });

  it('labels at most about eight dates, always today', () => {
    const dates = lastDays(NOW, 30);
    const model = chartModel({ dates, days: [], metric: 'requests' });
    expect(model.xLabels.length).toBeLessThanOrEqual(8);
    expect(model.xLabels.at(-1)?.date).toBe('2026-11-26');
    expect(model.max).toBe(1);
    expect(model.models).toEqual([]);
  });
});

describe('audit lines and formats', () => {
  it('describeChanges: patches as from → to, defaults left out', () => {
    expect(describeChanges({ name: { from: 'a', to: 'b' }, plan: null, metadata: {}, models: ['grok-4'], childrenRevoked: [], mint: { maxTtlSeconds: 600 } })).toEqual([
      'name: "a" → "b"',
      'models: ["grok-4"]',
      'mint: {"maxTtlSeconds":600}',
    ]);
  });

  it.each([
    [0, '$0'],
    [12.345, '$12.35'],
    [0.000336, '$0.000336'],
    [0.0000001234, '$0.000000123'],
    [0.5, '$0.5'],
  ])('formatUsd(%s) = %s', (usd, text) => {
    expect(formatUsd(usd)).toBe(text);
  });

  it('formatDateTime shows UTC to the minute', () => {
    expect(formatDateTime('2026-11-26T17:50:51.504Z')).toBe('2026-11-26 17:50 UTC');
    expect(formatDateTime(null)).toBe('—');
  });
});
