import type { Limiter, Reservation } from './types.js';

/**
 * Heartbeats (docs/operations.md "Crashes and stalls"): an instance renews the lease of every reservation it
 * holds in flight every `intervalMs`, so a lease can be short (`leaseMs`) without a long request ever losing its
 * concurrency slot. An instance that dies stops renewing: its reservations' leases run out within `leaseMs` of
 * its last heartbeat, and the next admission of their family reaps them — charged as reserved, slots free
 * (src/limits/semantics.ts). Renewals travel in the limiter's per-family batches, off every client's path.
 */
export interface HeartbeatOptions {
  intervalMs: number;
  leaseMs: number;
  now: () => number;
  /** A renewal that failed (Redis away): the leases then run on; a reaped reservation is still settled later. */
  onError?: (error: unknown) => void;
}

export interface HeartbeatLimiter extends Limiter {
  /** Reservations this instance holds in flight. */
  inFlight(): number;
  /** Renews every lease now (also what the timer does). */
  beat(): Promise<void>;
  /** Stops the timer. */
  stop(): void;
}

export function withHeartbeats(inner: Limiter, options: HeartbeatOptions): HeartbeatLimiter {
  const held = new Map<string, Reservation>();
  const beat = async (): Promise<void> => {
    if (held.size === 0) return;
    try {
      await inner.renew([...held.values()], options.now(), options.leaseMs);
    } catch (error) {
      options.onError?.(error);
    }
  };
  const timer = setInterval(() => void beat(), options.intervalMs);
  timer.unref();

  return {
    async admit(request) {
      const result = await inner.admit({ ...request, leaseMs: options.leaseMs });
      if (result.admitted) held.set(result.reservation.requestId, result.reservation);
      return result;
    },
    settle(input) {
      // Whatever the outcome: a settlement that fails is retried from outside, and needs no heartbeat meanwhile.
      held.delete(input.reservation.requestId);
      return inner.settle(input);
    },
    renew: (reservations, nowMs, leaseMs) => inner.renew(reservations, nowMs, leaseMs),
    remaining: (subject, nowMs) => inner.remaining(subject, nowMs),
    usageReport: (keyId, familyId, range) => inner.usageReport(keyId, familyId, range),
    drain: () => inner.drain?.() ?? Promise.resolve(),
    inFlight: () => held.size,
    beat,
    stop: () => clearInterval(timer),
  };
}
