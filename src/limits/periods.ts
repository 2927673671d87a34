/**
 * UTC calendar periods (docs/configuration.md: "Days and months are UTC calendar periods") from an epoch-ms `now`.
 * Pure: time is always an argument, so tests need no clocks or sleeps.
 */

export const MS_PER_SECOND = 1000;
export const MS_PER_DAY = 86_400_000;

const DAY_ID_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** 'YYYY-MM-DD' of the UTC day containing nowMs. */
export function utcDayId(nowMs: number): string {
  const date = new Date(nowMs);
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`;
}

/** 'YYYY-MM' of the UTC month containing nowMs. */
export function utcMonthId(nowMs: number): string {
  const date = new Date(nowMs);
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}`;
}

/** Epoch ms of the next UTC midnight strictly after nowMs. */
export function nextUtcDayStartMs(nowMs: number): number {
  return (Math.floor(nowMs / MS_PER_DAY) + 1) * MS_PER_DAY;
}

/** Epoch ms of the first instant of the next UTC month. */
export function nextUtcMonthStartMs(nowMs: number): number {
  const date = new Date(nowMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}

/** Whole seconds from nowMs until targetMs, rounded up; 0 if already past (x-ratelimit-reset-*). */
export function secondsUntil(targetMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((targetMs - nowMs) / MS_PER_SECOND));
}

/** Like secondsUntil but at least 1: a Retry-After of 0 would invite an immediate, refused retry. */
export function retrySecondsUntil(targetMs: number, nowMs: number): number {
  return Math.max(1, secondsUntil(targetMs, nowMs));
}

/** Days since 1970-01-01 of a strict 'YYYY-MM-DD' (a real calendar date); throws RangeError otherwise. */
export function dayNumberOf(dayId: string): number {
  const match = DAY_ID_PATTERN.exec(dayId);
  if (match === null) throw new RangeError(`not a YYYY-MM-DD date: ${JSON.stringify(dayId)}`);
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (utcDayId(ms) !== dayId) throw new RangeError(`not a calendar date: ${dayId}`);
  return ms / MS_PER_DAY;
}

/** Inverse of dayNumberOf. */
export function dayIdOfNumber(dayNumber: number): string {
  return utcDayId(dayNumber * MS_PER_DAY);
}

export interface Periods {
  dayId: string;
  monthId: string;
  /** Days since the epoch of dayId: the score of a day in sorted sets. */
  dayNumber: number;
  /** Next UTC midnight: when the day's counters reset. */
  dayEndMs: number;
  /** First instant of the next UTC month: when the month's counters reset. */
  monthEndMs: number;
}

/** The last day's periods: every field depends only on the UTC day, and most calls fall on the same one. */
let lastPeriods: Periods | null = null;

export function periodsAt(nowMs: number): Periods {
  const dayNumber = Math.floor(nowMs / MS_PER_DAY);
  if (lastPeriods !== null && lastPeriods.dayNumber === dayNumber) return lastPeriods;
  lastPeriods = Object.freeze({
    dayId: utcDayId(nowMs),
    monthId: utcMonthId(nowMs),
    dayNumber,
    dayEndMs: nextUtcDayStartMs(nowMs),
    monthEndMs: nextUtcMonthStartMs(nowMs),
  });
  return lastPeriods;
}
