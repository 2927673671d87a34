import type { LimitName, LimitSet } from '../config/types.js';
import type { Usage } from '../usage/types.js';

/**
 * The quota / rate-limit engine's contract (docs/api.md). Implemented on Redis (src/limits/redis-limiter.ts: admissions
 * and settlements are items of one Lua script, batched per key family) and in process (src/limits/memory-limiter.ts); both
 * pass test/integration/limiter.contract.test.ts. The exact semantics are documented in
 * src/limits/semantics.ts and in the doc of src/limits/lua/admit-script.ts.
 */

/** A key whose limits apply to a request. `limits` are the effective ones (plan merged with the key's own). */
export interface AdmissionSubject {
  keyId: string;
  limits: LimitSet;
}

export interface AdmissionRequest {
  /** Unique per request (generate it; never a client-supplied id): it names the reservation and the slots. */
  requestId: string;
  /** The key, then its parent if it is a child key: ALL must have room (docs/api.md). */
  subjects: readonly AdmissionSubject[];
  /** Root key id: every Redis key touched carries the hash tag {familyId} (one Cluster slot, docs/operations.md). */
  familyId: string;
  /** Estimated prompt tokens + output cap (docs/api.md). Non-negative integer. */
  estimatedTokens: number;
  /** Cost of that estimate in ticks (1 USD = 1e10). Non-negative integer. */
  estimatedCostTicks: number;
  nowMs: number;
  /** How long a reservation / concurrency slot may live before it expires (crashed instance). */
  leaseMs: number;
}

/** For x-ratelimit-* headers (docs/api.md): the TIGHTEST applicable limit. */
export interface WindowState {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export interface RateState {
  requests: WindowState | null;
  tokens: WindowState | null;
}

export type AdmissionResult =
  | {
      admitted: true;
      reservation: Reservation;
      rate: RateState;
      /** How many more requests like this one every limit would still admit (Infinity: none bounds them). */
      headroom?: number;
    }
  | {
      admitted: false;
      code: 'rate_limit_exceeded' | 'quota_exceeded';
      limit: LimitName;
      keyId: string;
      retryAfterSeconds: number | null;
      rate: RateState;
    };

export interface Reservation {
  requestId: string;
  familyId: string;
  keyIds: readonly string[];
  tokens: number;
  costTicks: number;
  admittedAtMs: number;
}

export interface SettleInput {
  reservation: Reservation;
  /** null = never sent upstream: release only, record no usage. */
  usage: Usage | null;
  model: string;
  nowMs: number;
  /**
   * The usage corrects a charge an earlier request of the same keys was settled with (a deferred result fetched
   * after its creation was charged its reservation): its fields may be negative, a refund of what was charged
   * above xAI's usage. Counters are adjusted by it like by any usage.
   */
  correction?: boolean;
  /**
   * The reservation was leased ahead of time and never used (src/limits/capacity-leases.ts): with usage null, it
   * gives back everything it counted — also its place in the requestsPerDay count and, for each key (keyIds
   * order) marked true, in that key's requestsPerMinute window (mark the keys whose limits had requestsPerMinute
   * at admission). Without it a release keeps counting toward both (every admitted request does).
   */
  giveBack?: { requestsPerMinute: readonly boolean[] };
}

/** Summed usage: one Usage per request counted, plus how many requests. */
export type UsageTotals = Omit<Usage, 'costFromUpstream'> & { requests: number };

export interface UsageReport {
  keyId: string;
  from: string;
  to: string;
  totals: UsageTotals;
  /** Only days with usage, ascending by date. */
  days: { date: string; models: Record<string, UsageTotals> }[];
}

export interface Limiter {
  admit(request: AdmissionRequest): Promise<AdmissionResult>;
  /** Exactly once per reservation: a second call for the same requestId is a no-op (returns false). */
  settle(input: SettleInput): Promise<boolean>;
  /** What is left now for each limit in `limits` (for GET /v1/api-key). */
  remaining(subject: AdmissionSubject & { familyId: string }, nowMs: number): Promise<Partial<Record<LimitName, number>>>;
  /** Usage by UTC day and model; from/to 'YYYY-MM-DD' inclusive. */
  usageReport(keyId: string, familyId: string, range: { from: string; to: string }): Promise<UsageReport>;
  /**
   * Heartbeat: extends the lease of each reservation still pending to nowMs + leaseMs, so that only an instance
   * that stopped renewing (it died) has its reservations reaped — charged as reserved and out of flight
   * (semantics.ts). Resolves with how many were renewed.
   */
  renew(reservations: readonly Reservation[], nowMs: number, leaseMs: number): Promise<number>;
  /** Writes whatever the limiter holds back to batch (settlements waiting for company); for shutdown. */
  drain?(): Promise<void>;
}
