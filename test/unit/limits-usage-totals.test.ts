import { describe, expect, it } from 'vitest';
import {
  buildUsageReport,
  modelsOfDayRecord,
  parseUsageRange,
  recordedModelName,
  usageFieldIncrements,
  zeroTotals,
} from '../../src/limits/usage-totals.js';
import { ZERO_USAGE } from '../../src/usage/types.js';

describe('usage records', () => {
  it('turns one request into field increments (requests 1 even with zero usage)', () => {
    expect(usageFieldIncrements('grok-4', ZERO_USAGE)).toEqual([
      ['grok-4|req', 1], ['grok-4|pt', 0], ['grok-4|ct', 0], ['grok-4|rt', 0], ['grok-4|cached', 0], ['grok-4|tt', 0], ['grok-4|cost', 0],
    ]);
  });

  it('reads fields back per model, splitting at the last "|" and ignoring unknown fields', () => {
    expect(modelsOfDayRecord({ 'a|b|req': '2', 'a|b|tt': '40', 'grok-4|cost': 7, 'grok-4|bogus': 1, nobar: 3 })).toEqual({
      'a|b': { ...zeroTotals(), requests: 2, totalTokens: 40 },
      'grok-4': { ...zeroTotals(), costTicks: 7 },
    });
  });

  it.each([
    ['grok-4', 'grok-4'],
    ['', 'unknown'],
    ['x'.repeat(500), 'x'.repeat(200)],
  ])('records model %j as %j', (model, expected) => {
    expect(recordedModelName(model)).toBe(expected);
  });

  it.each([
    [{ from: '2030-01-01', to: '2030-01-01' }, true],
    [{ from: '2030-01-01', to: '2030-12-31' }, true],
    [{ from: '2030-01-02', to: '2030-01-01' }, false],
    [{ from: '2030-02-31', to: '2030-03-01' }, false],
    [{ from: 'yesterday', to: '2030-03-01' }, false],
  ])('range %j valid: %s', (range, valid) => {
    if (valid) expect(() => parseUsageRange(range)).not.toThrow();
    else expect(() => parseUsageRange(range)).toThrow(RangeError);
  });

  it('builds a report: days ascending, empty days dropped, totals summed', () => {
    const report = buildUsageReport({
      keyId: 'key_a',
      from: '2030-01-01',
      to: '2030-01-31',
      days: [
        { date: '2030-01-20', models: { m: { ...zeroTotals(), requests: 1, costTicks: 5 } } },
        { date: '2030-01-19', models: {} },
        { date: '2030-01-02', models: { m: { ...zeroTotals(), requests: 2 }, n: { ...zeroTotals(), requests: 1, totalTokens: 9 } } },
      ],
    });
    expect(report.days.map((day) => day.date)).toEqual(['2030-01-02', '2030-01-20']);
    expect(report.totals).toEqual({ ...zeroTotals(), requests: 4, totalTokens: 9, costTicks: 5 });
  });
});
