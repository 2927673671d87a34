/**
 * Key-change notifications between gateway instances (docs/api.md: a revocation or any change reaches every
 * instance within 1 second). Whoever changes a key publishes its id; every instance listens and drops what
 * it cached about that key (and its children). In-process here; on Redis over pub/sub
 * (src/keys/redis-key-changes.ts). The short cache TTL of src/keys/key-resolver.ts stays as the fallback
 * when a message is lost (a subscriber reconnecting).
 */
export type KeyChangeListener = (keyId: string | null) => void;

export interface KeyChanges {
  /**
   * Tell every instance (this one included) that key `keyId` changed. Rejects if the message could not be
   * sent; the change itself is already stored, and caches still expire within their TTL.
   */
  publish(keyId: string): Promise<void>;
  /**
   * `listener(id)` for each change; `listener(null)` when changes may have been missed (a reconnect), so
   * the listener should drop or reload everything. Returns the unsubscribe function.
   */
  subscribe(listener: KeyChangeListener): () => void;
}

/** Delivers to a set of listeners; a throwing listener does not stop the others. */
export function createListenerSet(): { add(listener: KeyChangeListener): () => void; emit(keyId: string | null): void } {
  const listeners = new Set<KeyChangeListener>();
  return {
    add(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    emit(keyId) {
      for (const listener of [...listeners]) {
        try {
          listener(keyId);
        } catch {
          // A listener's failure is its own (it logs); delivery to the others must go on.
        }
      }
    },
  };
}

/** The in-process store's notifications: one instance, so delivery is a direct call. */
export function createMemoryKeyChanges(): KeyChanges {
  const listeners = createListenerSet();
  return {
    publish(keyId) {
      listeners.emit(keyId);
      return Promise.resolve();
    },
    subscribe: (listener) => listeners.add(listener),
  };
}
