import type { AlertsConfig, LimitSet } from '../config/types.js';
import type { Limiter } from '../limits/types.js';
import { budgetEvents, expiringEvent, hasBudgetLimits, hasTotalLimits, type BudgetUsage } from './budget-events.js';
import type { AlertDispatcher } from './dispatcher.js';

/** A key whose request was just settled. */
export interface SettledKey {
  keyId: string;
  familyId: string;
  limits: LimitSet;
  expiresAt: string | null;
  /** Child keys live briefly by design: they get no key.expiring alert. */
  isChild: boolean;
}

export interface AlertMonitor {
  /**
   * After a settlement: the keys of its chain (the key, then its parent), checked a moment later, off every path.
   * A function, so a gateway without webhooks builds nothing per request.
   */
  settled(keys: () => readonly SettledKey[]): void;
  /** A key was created or its expiry changed (root keys only), or it was revoked. */
  keyChanged(change: { keyId: string; action: 'create' | 'patch' | 'revoke'; expiresAt: string | null; isChild: boolean }): void;
  /** Checks everything waiting now (tests, shutdown). */
  flush(): Promise<void>;
  close(): void;
}

/**
 * Budget thresholds are checked where settlement happens, not by a timer scanning keys: a settled request marks its
 * keys, and each marked key's usage is read once per `coalesceMs` however many of its requests settle meanwhile.
 * Usage is the settled usage of the day and month (reservations in flight are not spent yet) and, for a total
 * limit, the lifetime counter.
 */
export function createAlertMonitor(options: {
  config: () => AlertsConfig;
  limiter: Pick<Limiter, 'usageReport' | 'remaining'>;
  dispatcher: AlertDispatcher;
  now: () => number;
  coalesceMs?: number;
  onError?: (err: unknown) => void;
}): AlertMonitor {
  const coalesceMs = options.coalesceMs ?? 500;
  const pending = new Map<string, SettledKey>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  const subscribed = (type: 'budget.threshold' | 'key.expiring' | 'key.revoked'): boolean =>
    options.config().webhooks.some((webhook) => webhook.events.includes(type));

  const usageOf = async (key: SettledKey, nowMs: number): Promise<BudgetUsage> => {
    const day = new Date(nowMs).toISOString().slice(0, 10);
    const month = day.slice(0, 7);
    const report = await options.limiter.usageReport(key.keyId, key.familyId, { from: `${month}-01`, to: day });
    let dayTokens = 0;
    let dayTicks = 0;
    for (const entry of report.days) {
      if (entry.date !== day) continue;
      for (const totals of Object.values(entry.models)) {
        dayTokens += totals.totalTokens;
        dayTicks += totals.costTicks;
      }
    }
    let total: BudgetUsage['total'] = null;
    if (hasTotalLimits(key.limits)) {
      const left = await options.limiter.remaining({ keyId: key.keyId, familyId: key.familyId, limits: key.limits }, nowMs);
      total = {
        tokens: key.limits.totalTokens === undefined ? 0 : key.limits.totalTokens - (left.totalTokens ?? key.limits.totalTokens),
        costUsd: key.limits.totalCostUsd === undefined ? 0 : key.limits.totalCostUsd - (left.totalCostUsd ?? key.limits.totalCostUsd),
      };
    }
    return { day: { id: day, tokens: dayTokens, costUsd: dayTicks / 1e10 }, month: { id: month, tokens: report.totals.totalTokens, costUsd: report.totals.costTicks / 1e10 }, total };
  };

  const check = async (): Promise<void> => {
    timer = null;
    const keys = [...pending.values()];
    pending.clear();
    const config = options.config();
    const nowMs = options.now();
    for (const key of keys) {
      try {
        if (!key.isChild) {
          const expiring = expiringEvent({ keyId: key.keyId, expiresAt: key.expiresAt, withinDays: config.expiringWithinDays, nowMs });
          if (expiring !== null) options.dispatcher.emit(expiring);
        }
        if (!hasBudgetLimits(key.limits) || config.budgetThresholds.length === 0 || !subscribed('budget.threshold')) continue;
        const usage = await usageOf(key, nowMs);
        for (const event of budgetEvents({ keyId: key.keyId, limits: key.limits, usage, thresholds: config.budgetThresholds, at: new Date(nowMs).toISOString() })) {
          options.dispatcher.emit(event);
        }
      } catch (err) {
        options.onError?.(err);
      }
    }
  };

  const schedule = (): void => {
    if (timer !== null) return;
    timer = setTimeout(() => {
      running = running.then(check);
    }, coalesceMs);
    timer.unref();
  };

  return {
    settled(keys) {
      if (options.config().webhooks.length === 0) return;
      for (const key of keys()) pending.set(key.keyId, key);
      schedule();
    },
    keyChanged(change) {
      if (options.config().webhooks.length === 0) return;
      const nowMs = options.now();
      if (change.action === 'revoke') {
        options.dispatcher.emit({
          // One revocation per key: a record, once revoked, stays revoked.
          id: `evt_revoked_${change.keyId}`,
          type: 'key.revoked',
          at: new Date(nowMs).toISOString(),
          keyId: change.keyId,
          data: {},
        });
        return;
      }
      if (change.isChild) return;
      const expiring = expiringEvent({ keyId: change.keyId, expiresAt: change.expiresAt, withinDays: options.config().expiringWithinDays, nowMs });
      if (expiring !== null) options.dispatcher.emit(expiring);
    },
    async flush() {
      if (timer !== null) {
        clearTimeout(timer);
        running = running.then(check);
      }
      await running;
      await options.dispatcher.idle();
    },
    close() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      pending.clear();
      options.dispatcher.close();
    },
  };
}
