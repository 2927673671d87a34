import { reservationOf } from './admission-result.js';
import type { AdmissionRequest, Limiter, SettleInput } from './types.js';

/**
 * Settlement that survives a store outage (docs/api.md "no usage is lost"; docs/operations.md):
 * - a settle that fails (Redis away or too slow) is kept — in the settlement journal when there is one
 *   (src/journal/settlement-journal.ts: on local disk, so it survives a restart), else in a bounded queue in
 *   memory — and retried with backoff until Redis takes it;
 * - an admission that fails the same way may still have run in Redis (a command that timed out at the client is
 *   executed once Redis resumes), so a release of its reservation is kept the same way: once Redis answers, the
 *   request holds nothing, whether or not the admission ran.
 * Retrying is safe because settlement is idempotent per reservation: a settlement of a reservation that was
 * already settled, or never made, changes nothing.
 */
export interface SettlementRetryOptions {
  /** Called for every settlement that could not be written and was kept, dropped or finally written. */
  onEvent?: (event: { kind: 'queued' | 'journaled' | 'dropped' | 'recovered'; requestId: string; error?: unknown }) => void;
  /** Where failed settlements go first; without one (or when it cannot be written) they wait in memory. */
  journal?: SettlementJournalLike | null;
  maxQueued?: number;
  /** First retry delay; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Timer injection for tests. */
  schedule?: (fn: () => void, ms: number) => { cancel(): void };
  /** Which admission failures may have reached the store (and so need a release); default: every failure. */
  mayHaveRun?: (error: unknown) => boolean;
}

/** What the retry needs of the journal (src/journal/settlement-journal.ts). */
export interface SettlementJournalLike {
  readonly path: string;
  append(entry: SettleInput): void;
  pending(): number;
  replay(settle: (entry: SettleInput) => Promise<unknown>): Promise<number>;
}

export interface RetryingLimiter extends Limiter {
  /** Settlements waiting for the store: in memory (`queued`) and in the journal (`journaled`). */
  pending(): { queued: number; journaled: number };
  /** Try every kept settlement now (e.g. at shutdown); resolves with what is still waiting. */
  flush(): Promise<{ queued: number; journaled: number }>;
  /** Stop retrying (what is kept stays kept, for a final flush or the next start). */
  stop(): void;
}

const defaultSchedule = (fn: () => void, ms: number): { cancel(): void } => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
};

/** The release of an admission whose outcome is unknown: it names the reservation the admission would have made. */
function releaseOf(request: AdmissionRequest): SettleInput {
  return {
    reservation: reservationOf(request),
    usage: null,
    model: '(none)',
    nowMs: request.nowMs,
  };
}

export function withSettlementRetry(inner: Limiter, options: SettlementRetryOptions = {}): RetryingLimiter {
  const maxQueued = options.maxQueued ?? 100_000;
  const initialDelayMs = options.initialDelayMs ?? 250;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const schedule = options.schedule ?? defaultSchedule;
  const emit = options.onEvent ?? (() => undefined);
  const journal = options.journal ?? null;
  const mayHaveRun = options.mayHaveRun ?? (() => true);
  const queue: SettleInput[] = [];
  let timer: { cancel(): void } | null = null;
  let delayMs = initialDelayMs;
  let stopped = false;
  let draining: Promise<void> | null = null;

  function keep(input: SettleInput, error: unknown): void {
    if (journal !== null) {
      try {
        journal.append(input);
        emit({ kind: 'journaled', requestId: input.reservation.requestId, error });
        arm();
        return;
      } catch (journalError) {
        // The disk refuses too: memory is the last place left, and shutdown reports it as lost if it stays there.
        emit({ kind: 'queued', requestId: input.reservation.requestId, error: journalError });
      }
    }
    if (queue.length >= maxQueued) {
      const dropped = queue.shift();
      if (dropped !== undefined) emit({ kind: 'dropped', requestId: dropped.reservation.requestId });
    }
    queue.push(input);
    if (journal === null) emit({ kind: 'queued', requestId: input.reservation.requestId, error });
    arm();
  }

  const waiting = (): boolean => queue.length > 0 || (journal !== null && journal.pending() > 0);

  function arm(): void {
    if (timer !== null || stopped || !waiting()) return;
    timer = schedule(() => {
      timer = null;
      void drain();
    }, delayMs);
  }

  async function drainOnce(): Promise<void> {
    try {
      if (journal !== null && journal.pending() > 0) {
        const replayed = await journal.replay((entry) => inner.settle(entry));
        if (replayed > 0) emit({ kind: 'recovered', requestId: `${replayed} journaled` });
      }
      while (queue.length > 0) {
        const next = queue[0];
        if (next === undefined) break;
        await inner.settle(next);
        queue.shift();
        emit({ kind: 'recovered', requestId: next.reservation.requestId });
      }
      delayMs = initialDelayMs;
    } catch {
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    }
  }

  function drain(): Promise<void> {
    draining ??= drainOnce().finally(() => {
      draining = null;
      arm();
    });
    return draining;
  }

  const counts = (): { queued: number; journaled: number } => ({ queued: queue.length, journaled: journal?.pending() ?? 0 });

  // Settlements journaled before a restart are replayed as soon as the store answers.
  arm();

  return {
    async admit(request) {
      try {
        return await inner.admit(request);
      } catch (error) {
        if (mayHaveRun(error)) keep(releaseOf(request), error);
        throw error;
      }
    },
    remaining: (subject, nowMs) => inner.remaining(subject, nowMs),
    renew: (reservations, nowMs, leaseMs) => inner.renew(reservations, nowMs, leaseMs),
    usageReport: (keyId, familyId, range) => inner.usageReport(keyId, familyId, range),
    drain: () => inner.drain?.() ?? Promise.resolve(),
    async settle(input) {
      try {
        return await inner.settle(input);
      } catch (error) {
        keep(input, error);
        // Kept for retry: from the caller's side the settlement is accepted, not lost.
        return true;
      }
    },
    pending: counts,
    async flush() {
      // Settlements the inner limiter holds back to batch go out first; a failure among them is kept.
      await inner.drain?.();
      // An attempt already under way may have started before the store came back: let it end, then try again.
      if (draining !== null) await draining;
      await drain();
      return counts();
    },
    stop() {
      stopped = true;
      timer?.cancel();
      timer = null;
    },
  };
}
