import type { Limiter, SettleInput } from './types.js';

/**
 * Settlement that survives a short store outage (issue 6, SPEC §5 "no usage is lost"): a settle that fails
 * (Redis away) is queued and retried with backoff until it succeeds, instead of being dropped. Retrying is
 * safe because settlement is idempotent per reservation (a second settle of the same requestId is a no-op),
 * so a failure whose command did reach Redis cannot count twice. The queue is bounded; past the bound the
 * oldest entry is dropped and reported, so an endless outage cannot exhaust memory.
 */
export interface SettlementRetryOptions {
  /** Called for every settlement that could not be written and was queued, dropped or finally written. */
  onEvent?: (event: { kind: 'queued' | 'dropped' | 'recovered'; requestId: string; error?: unknown }) => void;
  maxQueued?: number;
  /** First retry delay; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Timer injection for tests. */
  schedule?: (fn: () => void, ms: number) => { cancel(): void };
}

export interface RetryingLimiter extends Limiter {
  /** Settlements waiting for the store. */
  pending(): number;
  /** Try every queued settlement now (e.g. at shutdown); resolves with how many are still pending. */
  flush(): Promise<number>;
  /** Stop retrying (the queue is kept for a final flush). */
  stop(): void;
}

const defaultSchedule = (fn: () => void, ms: number): { cancel(): void } => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
};

export function withSettlementRetry(inner: Limiter, options: SettlementRetryOptions = {}): RetryingLimiter {
  const maxQueued = options.maxQueued ?? 100_000;
  const initialDelayMs = options.initialDelayMs ?? 250;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const schedule = options.schedule ?? defaultSchedule;
  const emit = options.onEvent ?? (() => undefined);
  const queue: SettleInput[] = [];
  let timer: { cancel(): void } | null = null;
  let delayMs = initialDelayMs;
  let stopped = false;
  let draining: Promise<void> | null = null;

  function enqueue(input: SettleInput, error: unknown): void {
    if (queue.length >= maxQueued) {
      const dropped = queue.shift();
      if (dropped !== undefined) emit({ kind: 'dropped', requestId: dropped.reservation.requestId });
    }
    queue.push(input);
    emit({ kind: 'queued', requestId: input.reservation.requestId, error });
    arm();
  }

  function arm(): void {
    if (timer !== null || stopped || queue.length === 0) return;
    timer = schedule(() => {
      timer = null;
      void drain();
    }, delayMs);
  }

  async function drainOnce(): Promise<void> {
    while (queue.length > 0) {
      const next = queue[0];
      if (next === undefined) break;
      try {
        await inner.settle(next);
      } catch {
        delayMs = Math.min(delayMs * 2, maxDelayMs);
        return;
      }
      queue.shift();
      delayMs = initialDelayMs;
      emit({ kind: 'recovered', requestId: next.reservation.requestId });
    }
  }

  function drain(): Promise<void> {
    draining ??= drainOnce().finally(() => {
      draining = null;
      arm();
    });
    return draining;
  }

  return {
    admit: (request) => inner.admit(request),
    remaining: (subject, nowMs) => inner.remaining(subject, nowMs),
    usageReport: (keyId, familyId, range) => inner.usageReport(keyId, familyId, range),
    drain: () => inner.drain?.() ?? Promise.resolve(),
    async settle(input) {
      try {
        return await inner.settle(input);
      } catch (error) {
        enqueue(input, error);
        // Queued for retry: from the caller's side the settlement is accepted, not lost.
        return true;
      }
    },
    pending: () => queue.length,
    async flush() {
      // Settlements the inner limiter holds back to batch go out first; a failure among them lands in the queue.
      await inner.drain?.();
      // An attempt already under way may have started before the store came back: let it end, then try again.
      if (draining !== null) await draining;
      await drain();
      return queue.length;
    },
    stop() {
      stopped = true;
      timer?.cancel();
      timer = null;
    },
  };
}
