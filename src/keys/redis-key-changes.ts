import type { Cluster, Redis } from 'ioredis';
import { createListenerSet, type KeyChanges } from './key-changes.js';

/**
 * Key-change notifications over Redis pub/sub (channel `P v1:key-changes`, the message is the key id).
 * `subscriber` must be a connection of its own: a subscribed connection can run nothing else. It
 * (re)subscribes each time it becomes ready and then announces `null` — messages published while it was
 * away are lost, so listeners reload everything. Cluster: PUBLISH reaches subscribers on every node.
 */
export function createRedisKeyChanges(options: { publisher: Redis | Cluster; subscriber: Redis | Cluster; prefix: string; onError?: (err: Error) => void }): KeyChanges {
  const channel = `${options.prefix}v1:key-changes`;
  const listeners = createListenerSet();
  const { subscriber } = options;
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(
      () => listeners.emit(null),
      (err: unknown) => options.onError?.(err instanceof Error ? err : new Error(String(err))),
    );
  });
  subscriber.on('message', (from: string, message: string) => {
    if (from === channel && message !== '') listeners.emit(message);
  });
  return {
    async publish(keyId) {
      await options.publisher.publish(channel, keyId);
    },
    subscribe: (listener) => listeners.add(listener),
  };
}
