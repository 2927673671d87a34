import { LIVE_PUBLISH_MS, type ActivityEntry, type ActivityStore } from './types.js';

export interface ActivityRecorderOptions {
  store: ActivityStore;
  /** This process's id in the published in-flight counts. */
  instanceId: string;
  now: () => number;
  /** A finished request reaches the store within this (ms): writes are batched, off every client's path. */
  flushDelayMs?: number;
  publishEveryMs?: number;
  /** Entries held while the store is away; the oldest are dropped beyond it (the log is best effort). */
  maxBuffered?: number;
  onError?: (err: unknown) => void;
}

export interface ActivityRecorder {
  /** A finished request: buffered, written with the next batch. */
  record(entry: ActivityEntry): void;
  /** An admitted request starts being served, for these keys (the key, then its parent). */
  started(keyIds: readonly string[]): void;
  /** It ended (settled): always once per started. */
  ended(keyIds: readonly string[]): void;
  /** Writes what is buffered now. */
  flush(): Promise<void>;
  /** Publishes this instance's in-flight counts now (the timer does it every publishEveryMs). */
  publish(): Promise<void>;
  /** Last flush and a final, empty publication; stops the timers. */
  close(): Promise<void>;
}

/**
 * Collects what the operator's view shows about requests without adding a store round trip to any request:
 * finished requests are buffered and written in one batch per family a moment later, and the counts of
 * requests in flight are kept in process and published once a second for every instance to sum.
 */
export function createActivityRecorder(options: ActivityRecorderOptions): ActivityRecorder {
  const flushDelayMs = options.flushDelayMs ?? 200;
  const maxBuffered = options.maxBuffered ?? 20_000;
  let buffer: ActivityEntry[] = [];
  let flushTimer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();
  const inFlight = new Map<string, number>();
  let total = 0;
  let closed = false;

  const flush = (): Promise<void> => {
    if (flushTimer !== null) {
      clearTimeout(flushTimer);
      flushTimer = null;
    }
    const batch = buffer;
    buffer = [];
    // Batches are written one after another, so a key's log keeps the order its requests ended in.
    writing = writing.then(async () => {
      if (batch.length === 0) return;
      try {
        await options.store.append(batch);
      } catch (err) {
        options.onError?.(err);
        // Kept for the next batch while there is room: a short outage loses nothing.
        buffer = [...batch, ...buffer].slice(-maxBuffered);
        if (!closed) schedule();
      }
    });
    return writing;
  };

  function schedule(): void {
    if (flushTimer !== null || closed) return;
    flushTimer = setTimeout(() => void flush(), flushDelayMs);
    flushTimer.unref();
  }

  const publish = async (): Promise<void> => {
    try {
      await options.store.publishLive(options.instanceId, new Map(inFlight), total, options.now());
    } catch (err) {
      options.onError?.(err);
    }
  };
  const publishTimer = setInterval(() => void publish(), options.publishEveryMs ?? LIVE_PUBLISH_MS);
  publishTimer.unref();

  return {
    record(entry) {
      buffer.push(entry);
      if (buffer.length > maxBuffered) buffer.splice(0, buffer.length - maxBuffered);
      schedule();
    },
    started(keyIds) {
      total += 1;
      for (const keyId of keyIds) inFlight.set(keyId, (inFlight.get(keyId) ?? 0) + 1);
    },
    ended(keyIds) {
      total -= 1;
      for (const keyId of keyIds) {
        const left = (inFlight.get(keyId) ?? 1) - 1;
        if (left > 0) inFlight.set(keyId, left);
        else inFlight.delete(keyId);
      }
    },
    flush,
    publish,
    async close() {
      closed = true;
      clearInterval(publishTimer);
      await flush();
      inFlight.clear();
      total = 0;
      await publish();
    },
  };
}
