import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { classifyOutcome } from '../../src/activity/classify.js';
import { activityEntry } from '../../src/activity/entry.js';
import { nearLimits } from '../../src/activity/overview.js';
import { errorRate, withOutcomes, zeroActivity } from '../../src/activity/report.js';
import { budgetEvents, expiringEvent } from '../../src/alerts/budget-events.js';
import { listedUrl } from '../../src/alerts/dispatcher.js';
import { signBody } from '../../src/alerts/signature.js';
import { usageCsv, usageReportView } from '../../src/activity/usage-view.js';
import { zeroTotals } from '../../src/limits/usage-totals.js';

describe('classifyOutcome', () => {
  it.each([
    [{ status: 403, gatewayCode: 'model_not_allowed', forwarded: false, broken: false }, 'refused'],
    [{ status: 429, gatewayCode: 'quota_exceeded', forwarded: false, broken: false }, 'refused'],
    [{ status: 400, gatewayCode: 'invalid_request', forwarded: false, broken: false }, 'refused'],
    [{ status: 413, gatewayCode: 'request_too_large', forwarded: false, broken: false }, 'refused'],
    [{ status: 404, gatewayCode: 'not_found', forwarded: false, broken: false }, null],
    [{ status: 503, gatewayCode: 'store_unavailable', forwarded: false, broken: false }, null],
    [{ status: 502, gatewayCode: 'upstream_error', forwarded: true, broken: false }, 'failed'],
    [{ status: 504, gatewayCode: 'upstream_timeout', forwarded: true, broken: false }, 'failed'],
    [{ status: 500, gatewayCode: null, forwarded: true, broken: false }, 'failed'],
    [{ status: 429, gatewayCode: null, forwarded: true, broken: false }, 'failed'],
    [{ status: 200, gatewayCode: null, forwarded: true, broken: true }, 'failed'],
    [{ status: 200, gatewayCode: null, forwarded: true, broken: false }, null],
    [{ status: 499, gatewayCode: null, forwarded: true, broken: false }, null],
    [{ status: 200, gatewayCode: null, forwarded: false, broken: false }, null],
  ] as const)('%j → %s', (input, expected) => {
    expect(classifyOutcome(input)).toBe(expected);
  });
});

describe('activityEntry', () => {
  const base = { atMs: Date.parse('2026-12-06T10:00:00Z'), requestId: 'r1', keyId: 'key_c', parentId: 'key_p', endpoint: 'chat.completions', status: 403, gatewayCode: 'model_not_allowed', forwarded: false, streamed: false, broken: false, usage: null, latencyMs: 1.234 };
  it('counts a refusal under an unknown model as (other), and logs under both keys of the chain', () => {
    const entry = activityEntry({ ...base, model: 'x'.repeat(500) }, () => false);
    expect(entry.model).toBe('(other)');
    expect(entry.keyIds).toEqual(['key_c', 'key_p']);
    expect(entry.familyId).toBe('key_p');
    expect(entry.day).toBe('2026-12-06');
    expect(entry.record.model?.length).toBe(128);
    expect(entry.record.latencyMs).toBe(1.23);
  });
  it('keeps a known model', () => {
    expect(activityEntry({ ...base, model: 'grok-4' }, (m) => m === 'grok-4').model).toBe('grok-4');
  });
});

describe('withOutcomes', () => {
  it('merges counts into the usage days, adding days that only had refusals', () => {
    const usage = { ...zeroTotals(), requests: 2, totalTokens: 10, costTicks: 5 };
    const report = withOutcomes(
      { keyId: 'k', from: '2026-12-01', to: '2026-12-06', totals: usage, days: [{ date: '2026-12-05', models: { 'grok-4': usage } }] },
      new Map([
        ['2026-12-04', new Map([['(none)', { refused: 2, failed: 0 }]])],
        ['2026-12-05', new Map([['grok-4', { refused: 1, failed: 1 }]])],
        ['2026-11-30', new Map([['grok-4', { refused: 9, failed: 9 }]])],
      ]),
    );
    expect(report.days.map((d) => d.date)).toEqual(['2026-12-04', '2026-12-05']);
    expect(report.totals).toMatchObject({ requests: 2, refused: 3, failed: 1, totalTokens: 10 });
    expect(errorRate(report.totals)).toBeCloseTo(4 / 5, 9);
    expect(errorRate(zeroActivity())).toBe(0);
  });
});

describe('usageCsv', () => {
  it('writes a header and one row per key, day and model, quoting and defusing text', () => {
    const u = { ...zeroActivity(), requests: 1, costTicks: 2_500_000, refused: 2 };
    const view = usageReportView({ keyId: 'key_a', from: '2026-12-06', to: '2026-12-06', totals: u, days: [{ date: '2026-12-06', models: { 'a,"b"': u, '=cmd': u } }] });
    const lines = usageCsv([view]).split('\r\n');
    expect(lines[0]).toBe('keyId,date,model,requests,promptTokens,completionTokens,reasoningTokens,cachedTokens,totalTokens,costUsd,refused,failed');
    expect(lines[1]).toBe('key_a,2026-12-06,"a,""b""",1,0,0,0,0,0,0.00025,2,0');
    expect(lines[2]).toBe("key_a,2026-12-06,'=cmd,1,0,0,0,0,0,0.00025,2,0");
    expect(lines[3]).toBe('');
  });
});

describe('nearLimits', () => {
  it('lists budgets at or above 80 %, closest first', () => {
    const day = { ...zeroActivity(), totalTokens: 900, costTicks: 0.5e10, requests: 10 };
    const month = { ...zeroActivity(), totalTokens: 900, costTicks: 4e10 };
    const found = nearLimits({ tokensPerDay: 1000, costPerDayUsd: 1, costPerMonthUsd: 4.5, requestsPerDay: 100, requestsPerMinute: 1 }, { day, month });
    expect(found.map((f) => [f.limit, f.period])).toEqual([['tokensPerDay', 'day'], ['costPerMonthUsd', 'month']]);
    expect(found[0]?.share).toBeCloseTo(0.9, 9);
  });
});

describe('budget events', () => {
  const usage = { day: { id: '2026-12-06', tokens: 850, costUsd: 0.2 }, month: { id: '2026-12', tokens: 850, costUsd: 0.2 }, total: null };
  it('names every threshold reached, with ids equal on every instance', () => {
    const events = budgetEvents({ keyId: 'key_a', limits: { tokensPerDay: 1000, costPerMonthUsd: 1 }, usage, thresholds: [0.5, 0.8, 1], at: 'now' });
    expect(events.map((e) => [e.data.limit, e.data.threshold, e.data.period])).toEqual([
      ['tokensPerDay', 0.5, '2026-12-06'],
      ['tokensPerDay', 0.8, '2026-12-06'],
    ]);
    const again = budgetEvents({ keyId: 'key_a', limits: { tokensPerDay: 1000 }, usage, thresholds: [0.5, 0.8, 1], at: 'later' });
    expect(again.map((e) => e.id)).toEqual(events.map((e) => e.id));
    const tomorrow = budgetEvents({ keyId: 'key_a', limits: { tokensPerDay: 1000 }, usage: { ...usage, day: { ...usage.day, id: '2026-12-07' } }, thresholds: [0.5], at: 'x' });
    expect(tomorrow[0]?.id).not.toBe(events[0]?.id);
  });
  it('key.expiring only inside the window, once per expiry', () => {
    const nowMs = Date.parse('2026-12-06T00:00:00Z');
    expect(expiringEvent({ keyId: 'k', expiresAt: '2026-12-20T00:00:00Z', withinDays: 7, nowMs })).toBeNull();
    expect(expiringEvent({ keyId: 'k', expiresAt: '2026-12-01T00:00:00Z', withinDays: 7, nowMs })).toBeNull();
    const event = expiringEvent({ keyId: 'k', expiresAt: '2026-12-10T00:00:00Z', withinDays: 7, nowMs });
    expect(event?.data).toEqual({ expiresAt: '2026-12-10T00:00:00Z' });
    expect(expiringEvent({ keyId: 'k', expiresAt: '2026-12-11T00:00:00Z', withinDays: 7, nowMs })?.id).not.toBe(event?.id);
  });
});

describe('webhook signing and listing', () => {
  it('signs the raw body with HMAC-SHA256', () => {
    expect(signBody('{"a":1}', 'secret-secret-secret')).toBe(`sha256=${createHmac('sha256', 'secret-secret-secret').update('{"a":1}').digest('hex')}`);
  });
  it('lists a URL without its query or fragment', () => {
    expect(listedUrl('https://ops.example/hook?token=abc#x')).toBe('https://ops.example/hook');
  });
});
