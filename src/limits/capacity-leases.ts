import { randomUUID } from 'node:crypto';
import { normalizeLimits } from './enforced-limits.js';
import { TPM_BUCKET_MS } from './semantics.js';
import type { AdmissionRequest, AdmissionResult, AdmissionSubject, Limiter, RateState, Reservation } from './types.js';

/**
 * Capacity leases (docs/decisions/0007-capacity-leases.md): admission served from capacity this instance took
 * from Redis ahead of time, so that on a busy key the request does not wait for Redis at all.
 *
 * For each busy admission signature (family, subject keys, limits), the instance keeps a small pool of
 * reservations admitted in advance through the inner limiter — real reservations, counted in Redis like any
 * other, each for an estimate at least as large as the largest one that signature asked for in the last second.
 * A request whose estimate fits takes one from the pool and is answered at once; the pool is refilled in the
 * background, n admissions in one script call. Everything else goes through Redis exactly as before:
 * - a signature below `minRatePerSecond` admissions a second gets no pool;
 * - a pool is refilled only while every limit still has room for `headroomSlices` slices after the last
 *   admission (the verdict's headroom), so near a limit admission is one request at a time through Redis;
 * - a request with a larger estimate than the pool's goes to Redis.
 *
 * Bounds (docs/api.md):
 * - requestsPerMinute, requestsPerDay and concurrency are never exceeded: every request served holds a
 *   reservation Redis admitted, used in the same second it was admitted (an entry left over when the second ends
 *   is given back, never used later), so its requestsPerMinute bucket is its own second's.
 * - token and cost limits: a pooled reservation reserves at least the request's estimate.
 * - unused leased capacity: given back (settle with giveBack: requestsPerDay, requestsPerMinute, tokens, cost
 *   and the concurrency slot) at the end of the second it was admitted in, so it can refuse another instance's
 *   request for at most about one second; a dying instance's pool is reaped with its other reservations within
 *   30 s (charged as reserved, like them).
 * - x-ratelimit-remaining-*: this instance's own unused entries are added back; other instances' are not, so
 *   the figure can be low by at most what they hold leased.
 * - revocation is unaffected: a key is checked before admission, and a pool only serves admissions.
 */

export interface CapacityLeaseOptions {
  now: () => number;
  /** Admissions per second of one signature from which it gets a pool. */
  minRatePerSecond?: number;
  /** Most reservations one refill takes. */
  maxSlice?: number;
  /** Lease only while every limit has room for this many slices beyond the last admission. */
  headroomSlices?: number;
  /** A refill or a give-back that failed (the retry layer below keeps failed settlements). */
  onError?: (error: unknown) => void;
  /** Ids of the reservations a refill takes (default random UUIDs; tests that compare two stores pass a sequence). */
  newId?: () => string;
  /**
   * Give back what a pool holds at the end of each second from a timer (default). Tests that drive time by hand
   * turn it off: entries of an ended second are then given back at the next admission of their signature, by
   * remaining() or by drain().
   */
  sweepTimer?: boolean;
}

export interface LeasingLimiter extends Limiter {
  /** Unused pooled reservations held now, over every pool. */
  leased(): number;
  /** Resolves once no refill or give-back is under way (tests: makes what the pools hold deterministic). */
  settled(): Promise<void>;
  drain(): Promise<void>;
}

const DEFAULT_MIN_RATE = 20;
const DEFAULT_MAX_SLICE = 32;
const DEFAULT_HEADROOM_SLICES = 4;
/** A slice covers about this much of a signature's traffic. */
const SLICE_HORIZON_SECONDS = 0.02;
/** No refill in the last part of a second: what it took would be given back almost at once. */
const LATE_IN_SECOND_MS = 950;

interface Entry {
  reservation: Reservation;
  second: number;
}

interface Pool {
  familyId: string;
  subjects: readonly AdmissionSubject[];
  limitsText: string;
  rpmMask: boolean[];
  leaseMs: number;
  idle: Entry[];
  refilling: boolean;
  retired: boolean;
  /** From the last admission of this signature that went to Redis (refill or direct). */
  headroom: number;
  rate: RateState | null;
  /** Tokens / cost each entry of the pool reserves. */
  entryTokens: number;
  entryCost: number;
  second: number;
  count: number;
  previousCount: number;
  maxTokens: number;
  maxCost: number;
  previousMaxTokens: number;
  previousMaxCost: number;
}

const secondOf = (ms: number): number => Math.floor(ms / TPM_BUCKET_MS);

function signatureOf(request: AdmissionRequest): string {
  let signature = request.familyId;
  for (const subject of request.subjects) signature += `\u0000${subject.keyId}`;
  return signature;
}

/** Limits of a key as a comparable string (a refreshed key record brings a new, equal, limits object). */
const limitsText = (subjects: readonly AdmissionSubject[]): string => JSON.stringify(subjects.map((subject) => normalizeLimits(subject.limits)));

function sameLimits(pool: Pool, subjects: readonly AdmissionSubject[]): boolean {
  if (pool.subjects.length === subjects.length && pool.subjects.every((subject, index) => subject.limits === subjects[index]?.limits)) return true;
  if (limitsText(subjects) !== pool.limitsText) return false;
  pool.subjects = subjects;
  return true;
}

/** The pool's own unused entries count as used in Redis; they are this instance's, so they are added back. */
function rateWithIdle(rate: RateState | null, idle: number, entryTokens: number): RateState {
  if (rate === null) return { requests: null, tokens: null };
  return {
    requests: rate.requests === null ? null : { ...rate.requests, remaining: Math.min(rate.requests.limit, rate.requests.remaining + idle) },
    tokens: rate.tokens === null ? null : { ...rate.tokens, remaining: Math.min(rate.tokens.limit, rate.tokens.remaining + idle * entryTokens) },
  };
}

export function withCapacityLeases<L extends Limiter>(inner: L, options: CapacityLeaseOptions): L & LeasingLimiter {
  const minRate = options.minRatePerSecond ?? DEFAULT_MIN_RATE;
  const maxSlice = options.maxSlice ?? DEFAULT_MAX_SLICE;
  const headroomSlices = options.headroomSlices ?? DEFAULT_HEADROOM_SLICES;
  const newId = options.newId ?? randomUUID;
  const sweepTimers = options.sweepTimer ?? true;
  const pools = new Map<string, Pool>();
  let sweepTimer: ReturnType<typeof setTimeout> | null = null;
  const background = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    background.add(work);
    const done = (): void => {
      background.delete(work);
    };
    work.then(done, done);
    return work;
  };

  const giveBack = (pool: Pool, entries: readonly Entry[]): Promise<unknown> =>
    entries.length === 0 ? Promise.resolve() : track(Promise.all(
      entries.map((entry) =>
        inner
          .settle({ reservation: entry.reservation, usage: null, model: '(none)', nowMs: options.now(), giveBack: { requestsPerMinute: pool.rpmMask } })
          .catch((error: unknown) => options.onError?.(error)),
      ),
    ));

  /** Entries of an ended second are given back, never used: a request must use its own second's bucket. */
  const dropStale = (pool: Pool, second: number): Promise<unknown> | null => {
    const stale = pool.idle.filter((entry) => entry.second !== second);
    if (stale.length === 0) return null;
    pool.idle = pool.idle.filter((entry) => entry.second === second);
    return giveBack(pool, stale);
  };

  const scheduleSweep = (): void => {
    if (sweepTimer !== null || !sweepTimers) return;
    const nowMs = options.now();
    sweepTimer = setTimeout(sweep, TPM_BUCKET_MS - (nowMs % TPM_BUCKET_MS) + 1);
    sweepTimer.unref();
  };

  function sweep(): void {
    sweepTimer = null;
    const second = secondOf(options.now());
    let held = false;
    for (const [signature, pool] of pools) {
      void dropStale(pool, second);
      roll(pool, second);
      if (pool.idle.length > 0 || pool.refilling) held = true;
      else if (pool.count === 0 && pool.previousCount === 0) pools.delete(signature);
    }
    if (held || pools.size > 0) scheduleSweep();
  }

  function roll(pool: Pool, second: number): void {
    if (second === pool.second) return;
    const consecutive = second === pool.second + 1;
    pool.previousCount = consecutive ? pool.count : 0;
    pool.previousMaxTokens = consecutive ? pool.maxTokens : 0;
    pool.previousMaxCost = consecutive ? pool.maxCost : 0;
    pool.second = second;
    pool.count = 0;
    pool.maxTokens = 0;
    pool.maxCost = 0;
  }

  function poolOf(request: AdmissionRequest): Pool {
    const signature = signatureOf(request);
    const existing = pools.get(signature);
    if (existing !== undefined && sameLimits(existing, request.subjects)) return existing;
    if (existing !== undefined) {
      // The key's limits changed: what was leased under the old ones goes back.
      existing.retired = true;
      void giveBack(existing, existing.idle.splice(0));
    }
    const pool: Pool = {
      familyId: request.familyId,
      subjects: request.subjects,
      limitsText: limitsText(request.subjects),
      rpmMask: request.subjects.map((subject) => normalizeLimits(subject.limits).requestsPerMinute !== undefined),
      leaseMs: request.leaseMs,
      idle: [],
      refilling: false,
      retired: false,
      headroom: 0,
      rate: null,
      entryTokens: 0,
      entryCost: 0,
      second: secondOf(request.nowMs),
      count: 0,
      previousCount: 0,
      maxTokens: 0,
      maxCost: 0,
      previousMaxTokens: 0,
      previousMaxCost: 0,
    };
    pools.set(signature, pool);
    scheduleSweep();
    return pool;
  }

  function refill(pool: Pool): void {
    if (pool.refilling || pool.retired) return;
    const nowMs = options.now();
    if (nowMs % TPM_BUCKET_MS >= LATE_IN_SECOND_MS) return;
    const rate = Math.max(pool.count, pool.previousCount);
    if (rate < minRate) return;
    const slice = Math.max(2, Math.min(maxSlice, Math.ceil(rate * SLICE_HORIZON_SECONDS)));
    if (pool.headroom < headroomSlices * slice || pool.idle.length > slice / 2) return;
    const tokens = Math.max(pool.maxTokens, pool.previousMaxTokens);
    const cost = Math.max(pool.maxCost, pool.previousMaxCost);
    const count = slice - pool.idle.length;
    pool.refilling = true;
    const second = secondOf(nowMs);
    const admissions = Array.from({ length: count }, () =>
      inner.admit({
        requestId: newId(),
        subjects: pool.subjects,
        familyId: pool.familyId,
        estimatedTokens: tokens,
        estimatedCostTicks: cost,
        nowMs,
        leaseMs: pool.leaseMs,
      }),
    );
    void track(Promise.allSettled(admissions).then((results) => {
      pool.refilling = false;
      const taken: Entry[] = [];
      let refused = false;
      for (const result of results) {
        if (result.status === 'rejected') {
          options.onError?.(result.reason);
          refused = true;
        } else if (result.value.admitted) {
          taken.push({ reservation: result.value.reservation, second });
          pool.headroom = result.value.headroom ?? 0;
          pool.rate = result.value.rate;
        } else {
          refused = true;
        }
      }
      if (refused) pool.headroom = 0;
      if (pool.retired || secondOf(options.now()) !== second) {
        void giveBack(pool, taken);
        return;
      }
      // Entries still idle were admitted for the previous estimate: the pool's estimate is the new entries' only
      // when all are alike, so it is the smaller of the two while both are held.
      pool.entryTokens = pool.idle.length === 0 ? tokens : Math.min(pool.entryTokens, tokens);
      pool.entryCost = pool.idle.length === 0 ? cost : Math.min(pool.entryCost, cost);
      pool.idle.push(...taken);
      scheduleSweep();
    }));
  }

  function take(pool: Pool, request: AdmissionRequest): AdmissionResult | null {
    void dropStale(pool, secondOf(request.nowMs));
    const index = pool.idle.findIndex(
      (entry) => entry.reservation.tokens >= request.estimatedTokens && entry.reservation.costTicks >= request.estimatedCostTicks,
    );
    if (index < 0) return null;
    const [entry] = pool.idle.splice(index, 1);
    if (entry === undefined) return null;
    return { admitted: true, reservation: entry.reservation, rate: rateWithIdle(pool.rate, pool.idle.length, pool.entryTokens), headroom: pool.headroom };
  }

  async function giveBackKey(keyId: string): Promise<void> {
    const returns: Promise<unknown>[] = [];
    for (const pool of pools.values()) {
      if (pool.subjects.some((subject) => subject.keyId === keyId)) returns.push(giveBack(pool, pool.idle.splice(0)));
    }
    await Promise.all(returns);
  }

  const leasing: LeasingLimiter = {
    async admit(request) {
      const pool = poolOf(request);
      roll(pool, secondOf(request.nowMs));
      pool.count += 1;
      pool.maxTokens = Math.max(pool.maxTokens, request.estimatedTokens);
      pool.maxCost = Math.max(pool.maxCost, request.estimatedCostTicks);
      const pooled = take(pool, request);
      if (pooled !== null) {
        refill(pool);
        return pooled;
      }
      const result = await inner.admit(request);
      pool.headroom = result.admitted ? (result.headroom ?? 0) : 0;
      if (result.admitted && pool.idle.length === 0) pool.rate = result.rate;
      refill(pool);
      return result;
    },
    settle: (input) => inner.settle(input),
    renew: (reservations, nowMs, leaseMs) => inner.renew(reservations, nowMs, leaseMs),
    async remaining(subject, nowMs) {
      // What is left is read exact: this instance's unused leases go back first, those of a refill under way too.
      // Only the work under way now is awaited (one snapshot): on a busy gateway new refills never stop coming.
      await Promise.allSettled([...background]);
      await giveBackKey(subject.keyId);
      return inner.remaining(subject, nowMs);
    },
    usageReport: (keyId, familyId, range) => inner.usageReport(keyId, familyId, range),
    leased: () => [...pools.values()].reduce((sum, pool) => sum + pool.idle.length, 0),
    async settled() {
      while (background.size > 0) await Promise.allSettled([...background]);
    },
    async drain() {
      for (const pool of pools.values()) pool.retired = true;
      await Promise.all([...pools.values()].map((pool) => giveBack(pool, pool.idle.splice(0))));
      // A refill still under way lands in a retired pool and gives its entries back: that must reach the store
      // before it closes, or they would wait to be reaped (charged as reserved).
      await leasing.settled();
      pools.clear();
      if (sweepTimer !== null) clearTimeout(sweepTimer);
      sweepTimer = null;
      await inner.drain?.();
    },
  };
  // The inner limiter's own extras (pending, flush, stop of the retry layer: closures, no `this`) stay callable.
  return { ...inner, ...leasing };
}
