import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withSettlementRetry } from '../../src/limits/settlement-retry.js';
import type { AdmissionRequest, AdmissionResult, Limiter, SettleInput } from '../../src/limits/types.js';
import { openSettlementJournal } from '../../src/journal/settlement-journal.js';
import { ZERO_USAGE } from '../../src/usage/types.js';

/** A limiter whose settle fails while `down` is true and records what it settled. */
function flakyLimiter(): Limiter & { down: boolean; settled: string[]; admitted: string[] } {
  const state = {
    down: true,
    settled: [] as string[],
    admitted: [] as string[],
    admit(request: AdmissionRequest): Promise<AdmissionResult> {
      // Like a command that timed out at the client but ran in Redis: the reservation exists, the caller sees a failure.
      state.admitted.push(request.requestId);
      return Promise.reject(new Error('Command timed out'));
    },
    remaining: () => Promise.resolve({}),
    renew: () => Promise.resolve(0),
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
    expect(limiter.pending()).toEqual({ queued: 2, journaled: 0 });
    expect(inner.settled).toEqual([]);

    timers.runNext();
    await Promise.resolve();
    expect(limiter.pending()).toEqual({ queued: 2, journaled: 0 });

    inner.down = false;
    expect(await limiter.flush()).toEqual({ queued: 0, journaled: 0 });
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
    expect(limiter.pending()).toEqual({ queued: 2, journaled: 0 });
  });

  it('passes a healthy settlement straight through', async () => {
    const inner = flakyLimiter();
    inner.down = false;
    const limiter = withSettlementRetry(inner, { schedule: manualTimers().schedule });
    expect(await limiter.settle(input('x'))).toBe(true);
    expect(await limiter.settle(input('x'))).toBe(false);
    expect(limiter.pending()).toEqual({ queued: 0, journaled: 0 });
  });
});

describe('withSettlementRetry with a journal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xgw-journal-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a failed settlement to disk, and a new instance on the same journal replays it exactly once', async () => {
    const path = join(dir, 'a', 'settlements.jsonl');
    const first = withSettlementRetry(flakyLimiter(), { schedule: manualTimers().schedule, journal: openSettlementJournal(path) });
    await first.settle(input('r1'));
    await first.settle(input('r2'));
    expect(first.pending()).toEqual({ queued: 0, journaled: 2 });
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2);
    first.stop();

    // "The next start": a new journal object on the same file, with the store back.
    const inner = flakyLimiter();
    inner.down = false;
    const second = withSettlementRetry(inner, { schedule: manualTimers().schedule, journal: openSettlementJournal(path) });
    expect(second.pending()).toEqual({ queued: 0, journaled: 2 });
    expect(await second.flush()).toEqual({ queued: 0, journaled: 0 });
    expect(inner.settled).toEqual(['r1', 'r2']);
    // Replayed again (a crash before the clean-up, say): nothing is settled twice.
    expect(await second.settle(input('r1'))).toBe(false);
    expect(inner.settled).toEqual(['r1', 'r2']);
  });

  it('a replay cut short by the store failing again keeps every line not yet taken, and the next one finishes', async () => {
    const path = join(dir, 'b', 'settlements.jsonl');
    const journal = openSettlementJournal(path);
    const inner = flakyLimiter();
    const limiter = withSettlementRetry(inner, { schedule: manualTimers().schedule, journal });
    for (const id of ['r1', 'r2', 'r3']) await limiter.settle(input(id));
    // Redis answers one settlement, then fails again.
    inner.down = false;
    let calls = 0;
    const settleOnce = inner.settle.bind(inner);
    inner.settle = (entry) => (++calls === 2 ? Promise.reject(new Error('Command timed out')) : settleOnce(entry));
    expect((await limiter.flush()).journaled).toBe(3);
    inner.settle = settleOnce;
    // A settlement failing meanwhile lands in the fresh file, beside the one being replayed.
    inner.down = true;
    await limiter.settle(input('r4'));
    inner.down = false;
    expect(await limiter.flush()).toEqual({ queued: 0, journaled: 0 });
    expect([...inner.settled].sort()).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('an admission that failed (it may have run in Redis) is released once the store answers', async () => {
    const path = join(dir, 'c', 'settlements.jsonl');
    const inner = flakyLimiter();
    const limiter = withSettlementRetry(inner, { schedule: manualTimers().schedule, journal: openSettlementJournal(path) });
    const request: AdmissionRequest = { requestId: 'adm-1', subjects: [{ keyId: 'key_a', limits: { concurrency: 1 } }], familyId: 'key_a', estimatedTokens: 5, estimatedCostTicks: 0, nowMs: 1, leaseMs: 1000 };
    await expect(limiter.admit(request)).rejects.toThrow('Command timed out');
    expect(limiter.pending().journaled).toBe(1);
    inner.down = false;
    await limiter.flush();
    expect(inner.settled).toEqual(['adm-1']);
  });

  it('an admission refused for a reason that never reaches the store is not released', async () => {
    const inner = flakyLimiter();
    const limiter = withSettlementRetry(inner, { schedule: manualTimers().schedule, mayHaveRun: () => false });
    const request: AdmissionRequest = { requestId: 'adm-2', subjects: [{ keyId: 'key_a', limits: {} }], familyId: 'key_a', estimatedTokens: 5, estimatedCostTicks: 0, nowMs: 1, leaseMs: 1000 };
    await expect(limiter.admit(request)).rejects.toThrow();
    expect(limiter.pending()).toEqual({ queued: 0, journaled: 0 });
  });

  it('keeps a settlement in memory when the journal cannot be written, and says so', async () => {
    const events: string[] = [];
    const broken = { path: '/nonexistent', append: () => { throw new Error('EACCES'); }, pending: () => 0, replay: () => Promise.resolve(0) };
    const limiter = withSettlementRetry(flakyLimiter(), { schedule: manualTimers().schedule, journal: broken, onEvent: (e) => events.push(e.kind) });
    await limiter.settle(input('r1'));
    expect(limiter.pending()).toEqual({ queued: 1, journaled: 0 });
    expect(events).toEqual(['queued']);
  });
});
