import type { ScriptArg } from './packed-script.js';

/**
 * Coalesces the limiter's script calls per key family (src/limits/lua/batch-script.ts): what concurrent
 * requests of one family ask of Redis in the same event-loop turn goes out as ONE script call, run in the
 * order it was asked. Admissions are on the client's path, so they go out at the end of the current turn
 * (setImmediate: every request read in this turn's I/O joins). Settlements are off it. On a busy family (a
 * call in flight or items queued) one waits up to `settleDelayMs` for company — usually the next admission,
 * which carries it at no extra cost — so that a busy gateway makes one round trip per request in all, not
 * two. On an idle family it goes at the end of this turn instead: Redis then runs it while the client reads
 * its answer, where riding with the next admission would make that request wait for it (measured at one
 * connection: 796 → 1,141 requests/s, and no change at 32, where families are rarely idle).
 *
 * Each caller gets its own item's reply (or the call's error: the batch failed as a whole). Items of
 * different families never share a call: in a Redis Cluster each family is one slot.
 */

/** 'a' admission, 's' settlement, 'r' lease renewal (heartbeat; off the client's path, like settlements). */
export type ItemKind = 'a' | 's' | 'r';

export interface ScriptBatcherOptions {
  /** Runs one batch: the family's KEYS and the flat item list; resolves with one reply per item. */
  run(familyId: string, items: ScriptArg[]): Promise<unknown>;
  /** How long a settlement of a busy family waits for an admission to ride with before it goes alone. */
  settleDelayMs: number;
  /** Items per script call at most (bounds how long one call holds Redis). */
  maxItems: number;
}

export interface ScriptBatcher {
  /** Queues one item; resolves with its reply. */
  call(familyId: string, kind: ItemKind, args: readonly ScriptArg[]): Promise<unknown>;
  /** Sends what a family has queued now; resolves once it was answered (errors go to the items' callers). */
  flushFamily(familyId: string): Promise<void>;
  /** flushFamily for every family (shutdown). */
  flushAll(): Promise<void>;
}

/** The reply an item gets when its requestId already had a reservation (ADMIT's duplicate check). */
export const DUPLICATE_REPLY = -1;

interface Item {
  kind: ItemKind;
  args: readonly ScriptArg[];
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

interface Family {
  items: Item[];
  timer: ReturnType<typeof setTimeout> | null;
  immediate: ReturnType<typeof setImmediate> | null;
  /** Calls sent and not yet answered, so a flush can wait for them. */
  inFlight: Set<Promise<void>>;
}

export function createScriptBatcher(options: ScriptBatcherOptions): ScriptBatcher {
  const families = new Map<string, Family>();

  const familyOf = (familyId: string): Family => {
    let family = families.get(familyId);
    if (family === undefined) {
      family = { items: [], timer: null, immediate: null, inFlight: new Set() };
      families.set(familyId, family);
    }
    return family;
  };

  const cancelTimers = (family: Family): void => {
    if (family.timer !== null) clearTimeout(family.timer);
    if (family.immediate !== null) clearImmediate(family.immediate);
    family.timer = null;
    family.immediate = null;
  };

  const sendNow = (familyId: string, family: Family): void => {
    if (family.immediate !== null) return;
    if (family.timer !== null) clearTimeout(family.timer);
    family.timer = null;
    family.immediate = setImmediate(() => {
      family.immediate = null;
      send(familyId, family);
    });
  };

  function send(familyId: string, family: Family): void {
    cancelTimers(family);
    while (family.items.length > 0) {
      const batch = family.items.splice(0, options.maxItems);
      const flat: ScriptArg[] = [];
      for (const item of batch) flat.push(item.kind, String(item.args.length), ...item.args);
      const sent = options.run(familyId, flat).then(
        (reply) => {
          if (!Array.isArray(reply) || reply.length !== batch.length) {
            const error = new Error('limiter: unexpected batch reply');
            for (const item of batch) item.reject(error);
            return;
          }
          batch.forEach((item, index) => item.resolve(reply[index]));
        },
        (error: unknown) => {
          for (const item of batch) item.reject(error);
        },
      );
      family.inFlight.add(sent);
      void sent.finally(() => {
        family.inFlight.delete(sent);
        if (family.items.length === 0 && family.inFlight.size === 0 && family.timer === null && family.immediate === null) {
          families.delete(familyId);
        }
      });
    }
  }

  async function flushFamily(familyId: string): Promise<void> {
    const family = families.get(familyId);
    if (family === undefined) return;
    send(familyId, family);
    await Promise.all([...family.inFlight]);
  }

  return {
    call(familyId, kind, args) {
      return new Promise((resolve, reject) => {
        const family = familyOf(familyId);
        family.items.push({ kind, args, resolve, reject });
        const idle = family.items.length === 1 && family.inFlight.size === 0;
        if (kind === 'a' || idle || family.items.length >= options.maxItems) sendNow(familyId, family);
        else if (family.timer === null && family.immediate === null) {
          family.timer = setTimeout(() => {
            family.timer = null;
            send(familyId, family);
          }, options.settleDelayMs);
        }
      });
    },
    flushFamily,
    async flushAll() {
      await Promise.all([...families.keys()].map((familyId) => flushFamily(familyId)));
    },
  };
}
