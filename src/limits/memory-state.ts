import type { NormalizedLimits } from './enforced-limits.js';
import type { SubjectState } from './evaluate-admission.js';
import { nextUtcDayStartMs, nextUtcMonthStartMs, type Periods } from './periods.js';
import { PERIOD_KEY_GRACE_MS, REAP_BATCH, REAPED_RETENTION_MS } from './semantics.js';
import {
  rpmBucketMs,
  tpmOldestSecond,
  tpmReleaseSecond,
  tpmSecondOf,
  tpmWindowStartSecond,
  type TpmBucket,
} from './window-math.js';

/**
 * In-process counterpart of the Redis data (src/limits/redis-keys.ts), with the same operations as the Lua
 * library (src/limits/lua/common-lua.ts): readState, adjustCounters, reap. Period counters "expire" at their
 * period end + PERIOD_KEY_GRACE_MS of nowMs, as their Redis keys do.
 */

export interface PeriodCounters {
  requests: number;
  tokens: number;
  costTicks: number;
  /** Like the Redis key's TTL: gone (never recreated by adjustments) from this nowMs on. */
  expiresAtMs: number;
}

export interface KeyData {
  /** requestsPerMinute log: admission ms, ascending. */
  /** requestsPerMinute: requests admitted per second (the window's buckets, as tpm's). */
  rpm: Map<number, number>;
  /** tokensPerMinute buckets: second → tokens. */
  tpm: Map<number, number>;
  /** Reservations in flight (neither settled nor reaped): what concurrency counts. */
  inFlight: Set<string>;
  days: Map<string, PeriodCounters>;
  months: Map<string, PeriodCounters>;
  total: { tokens: number; costTicks: number };
  /** UTC day → usage field ('<model>|<metric>') → value (usage-totals.ts). */
  usage: Map<string, Map<string, number>>;
}

export interface ReservationData {
  status: 'pending' | 'reaped';
  admittedAtMs: number;
  expiresAtMs: number;
  reapedAtMs: number;
  tokens: number;
  costTicks: number;
  dayId: string;
  monthId: string;
  keyIds: readonly string[];
  /** Per key id: whether admission added to its tokensPerMinute bucket (only then is the bucket corrected). */
  wroteTpmBucket: readonly boolean[];
}

export interface FamilyData {
  keys: Map<string, KeyData>;
  reservations: Map<string, ReservationData>;
}

export function newKeyData(): KeyData {
  return { rpm: new Map(), tpm: new Map(), inFlight: new Set(), days: new Map(), months: new Map(), total: { tokens: 0, costTicks: 0 }, usage: new Map() };
}

export function keyDataOf(family: FamilyData, keyId: string): KeyData {
  let data = family.keys.get(keyId);
  if (data === undefined) {
    data = newKeyData();
    family.keys.set(keyId, data);
  }
  return data;
}

/** A live period counter (undefined once expired, which also drops it). */
export function liveCounters(map: Map<string, PeriodCounters>, id: string, nowMs: number): PeriodCounters | undefined {
  const counters = map.get(id);
  if (counters !== undefined && counters.expiresAtMs <= nowMs) {
    map.delete(id);
    return undefined;
  }
  return counters;
}

/** Counters of the current day/month, created on admission (as HINCRBY creates the hash). */
export function currentCounters(input: { key: KeyData; periods: Periods; nowMs: number; kind: 'day' | 'month' }): PeriodCounters {
  const { key, periods, nowMs, kind } = input;
  const map = kind === 'day' ? key.days : key.months;
  const id = kind === 'day' ? periods.dayId : periods.monthId;
  const endMs = kind === 'day' ? nextUtcDayStartMs(nowMs) : nextUtcMonthStartMs(nowMs);
  for (const [otherId, other] of [...map]) if (other.expiresAtMs <= nowMs) map.delete(otherId); // bounded memory
  const counters = map.get(id) ?? { requests: 0, tokens: 0, costTicks: 0, expiresAtMs: 0 };
  counters.expiresAtMs = Math.max(endMs, nowMs) + PERIOD_KEY_GRACE_MS;
  map.set(id, counters);
  return counters;
}

function sortedBuckets(tpm: ReadonlyMap<number, number>): TpmBucket[] {
  return [...tpm.entries()].map(([second, tokens]) => ({ second, tokens })).sort((a, b) => a.second - b.second);
}

/** Mirrors Lua readState: trims what left the windows, then reads the subject's state before this request. */
export function readState(input: { key: KeyData; limits: NormalizedLimits; nowMs: number; periods: Periods; estimatedTokens: number }): SubjectState {
  const { key, limits, nowMs, periods, estimatedTokens } = input;
  const state: SubjectState = {
    rpmCount: 0, rpmOldestMs: null, rpmReleaseMs: null, tpmTokens: 0, tpmOldestSecond: null, tpmReleaseSecond: null,
    concurrent: 0, dayRequests: 0, dayTokens: 0, dayCostTicks: 0, monthTokens: 0, monthCostTicks: 0,
    totalTokens: key.total.tokens, totalCostTicks: key.total.costTicks,
  };
  if (limits.requestsPerMinute !== undefined) {
    const start = tpmWindowStartSecond(nowMs);
    for (const second of [...key.rpm.keys()]) if (second < start) key.rpm.delete(second);
    const buckets = sortedBuckets(key.rpm);
    state.rpmCount = buckets.reduce((sum, bucket) => sum + bucket.tokens, 0);
    const oldest = tpmOldestSecond(buckets);
    state.rpmOldestMs = oldest === null ? null : rpmBucketMs(oldest);
    // A limit of 0 never has room: no bucket's leaving opens it.
    const release = limits.requestsPerMinute > 0 ? tpmReleaseSecond(buckets, state.rpmCount + 1 - limits.requestsPerMinute) : null;
    state.rpmReleaseMs = release === null ? null : rpmBucketMs(release);
  }
  if (limits.tokensPerMinute !== undefined) {
    const start = tpmWindowStartSecond(nowMs);
    for (const second of [...key.tpm.keys()]) if (second < start) key.tpm.delete(second);
    const buckets = sortedBuckets(key.tpm);
    state.tpmTokens = buckets.reduce((sum, bucket) => sum + bucket.tokens, 0);
    state.tpmOldestSecond = tpmOldestSecond(buckets);
    state.tpmReleaseSecond = tpmReleaseSecond(buckets, state.tpmTokens + estimatedTokens - limits.tokensPerMinute);
  }
  state.concurrent = key.inFlight.size;
  const day = liveCounters(key.days, periods.dayId, nowMs);
  const month = liveCounters(key.months, periods.monthId, nowMs);
  if (day !== undefined) Object.assign(state, { dayRequests: day.requests, dayTokens: day.tokens, dayCostTicks: day.costTicks });
  if (month !== undefined) Object.assign(state, { monthTokens: month.tokens, monthCostTicks: month.costTicks });
  return state;
}

/**
 * Mirrors Lua adjustKey: only counters that still exist are changed, and the tokensPerMinute bucket only if
 * admission wrote to it and it is still inside the window at nowMs.
 */
export function adjustCounters(input: {
  key: KeyData;
  reservation: ReservationData;
  keyIndex: number;
  tokens: number;
  costTicks: number;
  nowMs: number;
}): void {
  const { key, reservation, keyIndex, tokens, costTicks, nowMs } = input;
  for (const counters of [liveCounters(key.days, reservation.dayId, nowMs), liveCounters(key.months, reservation.monthId, nowMs), key.total]) {
    if (counters === undefined) continue;
    counters.tokens += tokens;
    counters.costTicks += costTicks;
  }
  const second = tpmSecondOf(reservation.admittedAtMs);
  const bucket = key.tpm.get(second);
  if (reservation.wroteTpmBucket[keyIndex] === true && second >= tpmWindowStartSecond(nowMs) && bucket !== undefined) {
    key.tpm.set(second, bucket + tokens);
  }
}

/**
 * Mirrors the give-back half of Lua SETTLE (leased capacity returned unused): the request leaves its admission
 * day's request count and, where admission counted it there, its requestsPerMinute bucket if still in the window.
 */
export function giveBackRequest(input: { key: KeyData; reservation: ReservationData; countedRpm: boolean; nowMs: number }): void {
  const { key, reservation, countedRpm, nowMs } = input;
  const day = liveCounters(key.days, reservation.dayId, nowMs);
  if (day !== undefined) day.requests = Math.max(0, day.requests - 1);
  const second = tpmSecondOf(reservation.admittedAtMs);
  const bucket = key.rpm.get(second);
  if (!countedRpm || second < tpmWindowStartSecond(nowMs) || bucket === undefined) return;
  if (bucket - 1 > 0) key.rpm.set(second, bucket - 1);
  else key.rpm.delete(second);
}

/** When a reservation is next handled by reap: its lease expiry, or the end of its reaped mark's retention. */
export function dueAtMs(reservation: ReservationData): number {
  return reservation.status === 'pending' ? reservation.expiresAtMs : reservation.reapedAtMs + REAPED_RETENTION_MS;
}

/** A reaped mark past its retention: nothing is left to settle. */
export function isStaleMark(reservation: ReservationData, nowMs: number): boolean {
  return reservation.status === 'reaped' && reservation.reapedAtMs <= nowMs - REAPED_RETENTION_MS;
}

/**
 * Mirrors Lua reap: handles at most REAP_BATCH due reservations, oldest due first (ties by requestId, as a
 * Redis sorted set orders them): an expired pending one stays charged as reserved, leaves flight and is kept as
 * a mark (a late settle replaces the charge); a mark past its retention is dropped.
 */
export function reap(family: FamilyData, nowMs: number): void {
  const due = [...family.reservations.entries()]
    .filter(([, reservation]) => dueAtMs(reservation) <= nowMs)
    .sort(([idA, a], [idB, b]) => dueAtMs(a) - dueAtMs(b) || (idA < idB ? -1 : idA > idB ? 1 : 0))
    .slice(0, REAP_BATCH);
  for (const [requestId, reservation] of due) {
    if (reservation.status === 'reaped') {
      family.reservations.delete(requestId);
      continue;
    }
    for (const keyId of reservation.keyIds) keyDataOf(family, keyId).inFlight.delete(requestId);
    family.reservations.set(requestId, { ...reservation, status: 'reaped', reapedAtMs: nowMs });
  }
}
