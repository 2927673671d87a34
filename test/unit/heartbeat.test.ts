import { describe, expect, it } from 'vitest';
import { withHeartbeats } from '../../src/limits/heartbeat.js';
import { createMemoryLimiter } from '../../src/limits/memory-limiter.js';
import type { AdmissionRequest, Reservation } from '../../src/limits/types.js';

// The heartbeat wrapper over the real in-process limiter; time is passed in, the timer is driven by beat().
const T0 = Date.UTC(2030, 0, 15, 12);

function request(id: string, nowMs: number): AdmissionRequest {
  return { requestId: id, subjects: [{ keyId: 'key_hb', limits: { concurrency: 2 } }], familyId: 'key_hb', estimatedTokens: 10, estimatedCostTicks: 0, nowMs, leaseMs: 900_000 };
}

describe('withHeartbeats', () => {
  it('admits with the short lease, renews what is in flight, and stops renewing what was settled', async () => {
    let now = T0;
    const inner = createMemoryLimiter();
    const limiter = withHeartbeats(inner, { intervalMs: 60_000, leaseMs: 20_000, now: () => now });
    const subject = { keyId: 'key_hb', familyId: 'key_hb', limits: { concurrency: 2 } };
    const admitted = await limiter.admit(request('long', T0));
    const short = await limiter.admit(request('short', T0));
    if (!admitted.admitted || !short.admitted) throw new Error('expected both admitted');
    expect(limiter.inFlight()).toBe(2);
    await limiter.settle({ reservation: short.reservation, usage: null, model: 'm', nowMs: T0 + 1 });
    expect(limiter.inFlight()).toBe(1);
    // A request running for a minute keeps its slot as long as the beats go on...
    for (now = T0 + 5_000; now <= T0 + 60_000; now += 5_000) await limiter.beat();
    expect(await inner.remaining(subject, T0 + 60_000)).toEqual({ concurrency: 1 });
    // ...and loses it one lease after they stop (its instance died).
    expect(await inner.remaining(subject, T0 + 60_000 + 19_999)).toEqual({ concurrency: 1 });
    expect(await inner.remaining(subject, T0 + 60_000 + 20_000)).toEqual({ concurrency: 2 });
    limiter.stop();
  });

  it('without beats, the lease is the short one, whatever the caller asked for', async () => {
    const inner = createMemoryLimiter();
    const limiter = withHeartbeats(inner, { intervalMs: 60_000, leaseMs: 20_000, now: () => T0 });
    const result = await limiter.admit(request('r', T0));
    expect(result.admitted).toBe(true);
    expect(await inner.remaining({ keyId: 'key_hb', familyId: 'key_hb', limits: { concurrency: 2 } }, T0 + 20_000)).toEqual({ concurrency: 2 });
    limiter.stop();
  });

  it('a failed renewal is reported, not thrown', async () => {
    const errors: unknown[] = [];
    const inner = createMemoryLimiter();
    const failing = { ...inner, renew: (): Promise<number> => Promise.reject(new Error('Command timed out')) };
    const limiter = withHeartbeats(failing, { intervalMs: 60_000, leaseMs: 20_000, now: () => T0, onError: (e) => errors.push(e) });
    const held: Reservation | null = await limiter.admit(request('x', T0)).then((r) => (r.admitted ? r.reservation : null));
    expect(held).not.toBeNull();
    await limiter.beat();
    expect(errors).toHaveLength(1);
    limiter.stop();
  });
});
