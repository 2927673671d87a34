import { describe, expect, it } from 'vitest';
import {
  dayIdOfNumber,
  dayNumberOf,
  nextUtcDayStartMs,
  nextUtcMonthStartMs,
  periodsAt,
  retrySecondsUntil,
  secondsUntil,
  utcDayId,
  utcMonthId,
} from '../../src/limits/periods.js';

describe('UTC periods', () => {
  it.each([
    [0, '1970-01-01', '1970-01'],
    [Date.UTC(2030, 0, 15, 23, 59, 59, 999), '2030-01-15', '2030-01'],
    [Date.UTC(2030, 0, 16), '2030-01-16', '2030-01'],
    [Date.UTC(2028, 1, 29, 12), '2028-02-29', '2028-02'],
    [Date.UTC(2030, 11, 31, 23, 59, 59, 999), '2030-12-31', '2030-12'],
  ])('%i is day %s of month %s', (nowMs, day, month) => {
    expect(utcDayId(nowMs)).toBe(day);
    expect(utcMonthId(nowMs)).toBe(month);
  });

  it.each([
    [Date.UTC(2030, 0, 15, 12), Date.UTC(2030, 0, 16)],
    [Date.UTC(2030, 0, 15), Date.UTC(2030, 0, 16)], // exactly midnight: the NEXT one
    [Date.UTC(2030, 0, 15, 23, 59, 59, 999), Date.UTC(2030, 0, 16)],
  ])('next UTC midnight after %i is %i', (nowMs, expected) => {
    expect(nextUtcDayStartMs(nowMs)).toBe(expected);
  });

  it.each([
    [Date.UTC(2030, 0, 31, 23), Date.UTC(2030, 1, 1)],
    [Date.UTC(2030, 1, 1), Date.UTC(2030, 2, 1)],
    [Date.UTC(2030, 11, 15), Date.UTC(2031, 0, 1)],
    [Date.UTC(2028, 1, 29), Date.UTC(2028, 2, 1)],
  ])('next UTC month after %i is %i', (nowMs, expected) => {
    expect(nextUtcMonthStartMs(nowMs)).toBe(expected);
  });

  it.each([
    [1, 1, 1],
    [999, 1, 1],
    [1000, 1, 1],
    [1001, 2, 2],
    [0, 0, 1],
    [-5000, 0, 1],
  ])('%i ms ahead: reset %i s, retry %i s (rounded up, retry at least 1)', (deltaMs, reset, retry) => {
    expect(secondsUntil(10_000 + deltaMs, 10_000)).toBe(reset);
    expect(retrySecondsUntil(10_000 + deltaMs, 10_000)).toBe(retry);
  });

  it.each([
    ['1970-01-01', 0],
    ['1970-01-02', 1],
    ['2030-01-15', Date.UTC(2030, 0, 15) / 86_400_000],
    ['2028-02-29', Date.UTC(2028, 1, 29) / 86_400_000],
  ])('day %s is day number %i and back', (dayId, number) => {
    expect(dayNumberOf(dayId)).toBe(number);
    expect(dayIdOfNumber(number)).toBe(dayId);
  });

  it.each(['2030-02-30', '2029-02-29', '2030-1-5', '2030-01-5', '20300115', 'today', '', '2030-13-01'])(
    'rejects %j as a day',
    (dayId) => {
      expect(() => dayNumberOf(dayId)).toThrow(RangeError);
    },
  );

  it('bundles the periods of an instant', () => {
    const nowMs = Date.UTC(2030, 0, 31, 18, 30);
    expect(periodsAt(nowMs)).toEqual({
      dayId: '2030-01-31',
      monthId: '2030-01',
      dayNumber: Date.UTC(2030, 0, 31) / 86_400_000,
      dayEndMs: Date.UTC(2030, 1, 1),
      monthEndMs: Date.UTC(2030, 1, 1),
    });
  });
});
