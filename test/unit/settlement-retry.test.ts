import { describe, expect, it } from 'vitest';
import { withSettlementRetry } from '../../src/limits/settlement-retry.js';
import type { Limiter, SettleInput } from '../../src/limits/types.js';
import { ZERO_USAGE } from '../../src/usage/types.js';

/** A limiter whose settle fails while `down` is true and records what it settled. */
function flakyLimiter(): Limiter & { down: boolean; settled: string[] } {
  const state = {
    down: true,
    settled: [] as string[],
    admit: () => Promise.reject(new Error('unused')),
    remaining: () => Promise.resolve({}),
    usageReport: () => Promise.reject(new Error('unused')),
    settle(input: SettleInput): Promise<boolean> {
      if (state.down) return Promise.reject(new Error('store down'));
      if (state.settled.includes(input.reservation.requestId)) return Promise.resolve(false);
      state.settled.push(input.reservation.requestId);
      return Promise.resolve(true);
    },
  };
  return state;
}

function input(id: string): SettleInput {
  return {
    reservation: { requestId: id, familyId: 'key_a', keyIds: ['key_a'], tokens: 10, costTicks: 0, admittedAtMs: 0 },
    usage: ZERO_USAGE,
    model: 'grok-4',
    nowMs: 0,
  };
}

/** A manual clock: scheduled callbacks run only when the test says so. */
function manualTimers(): { schedule: (fn: () => void, ms: number) => { cancel(): void }; delays: number[]; runNext(): void } {
  const queue: (() => void)[] = [];
  const delays: number[] = [];
  return {
    schedule(fn, ms) {
      queue.push(fn);
      delays.push(ms);
      return { cancel: () => queue.splice(queue.indexOf(fn), 1) };
    },
    delays,
    runNext() {
      queue.shift()?.();
    },
  };
}

describe('withSettlementRetry', () => {
  it('queues a settlement that fails, and writes it once the store is back, in order', async () => {
    const inner = flakyLimiter();
    const timers = manualTimers();
    const events: string[] = [];
    const limiter = withSettlementRetry(inner, { schedule: timers.schedule, onEvent: (e) => events.push(`${e.kind}:${e.requestId}`) });
    expect(await limiter.settle(input('r1'))).toBe(true);
    expect(await limiter.settle(input('r2'))).toBe(true);
    expect(limiter.pending()).toBe(2);
    expect(inner.settled).toEqual([]);

    timers.runNext();
    await Promise.resolve();
    expect(limiter.pending()).toBe(2);

    inner.down = false;
    expect(await limiter.flush()).toBe(0);
    expect(inner.settled).toEqual(['r1', 'r2']);
    expect(events).toEqual(['queued:r1', 'queued:r2', 'recovered:r1', 'recovered:r2']);
  });

  it('backs off between failed attempts, up to the maximum', async () => {
    const inner = flakyLimiter();
    const timers = manualTimers();
    const limiter = withSettlementRetry(inner, { schedule: timers.schedule, initialDelayMs: 100, maxDelayMs: 400 });
    await limiter.settle(input('r1'));
    for (let i = 0; i < 4; i += 1) {
      timers.runNext();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(timers.delays).toEqual([100, 200, 400, 400, 400]);
    limiter.stop();
  });

  it('drops the oldest past the bound and says so', async () => {
    const inner = flakyLimiter();
    const dropped: string[] = [];
    const limiter = withSettlementRetry(inner, { schedule: manualTimers().schedule, maxQueued: 2, onEvent: (e) => e.kind === 'dropped' && dropped.push(e.requestId) });
    await limiter.settle(input('a'));
    await limiter.settle(input('b'));
    await limiter.settle(input('c'));
    expect(dropped).toEqual(['a']);
    expect(limiter.pending()).toBe(2);
  });

  it('passes a healthy settlement straight through', async () => {
    const inner = flakyLimiter();
    inner.down = false;
    const limiter = withSettlementRetry(inner, { schedule: manualTimers().schedule });
    expect(await limiter.settle(input('x'))).toBe(true);
    expect(await limiter.settle(input('x'))).toBe(false);
    expect(limiter.pending()).toBe(0);
  });
});
