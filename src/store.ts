import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { createMemoryActivityStore } from './activity/memory-activity-store.js';
import { createRedisActivityStore } from './activity/redis-activity-store.js';
import type { ActivityStore } from './activity/types.js';
import { createMemoryAlertStore } from './alerts/memory-alert-store.js';
import { createRedisAlertStore } from './alerts/redis-alert-store.js';
import type { AlertStore } from './alerts/types.js';
import { createMemoryAuditLog } from './audit/memory-audit-log.js';
import { createRedisAuditLog } from './audit/redis-audit-log.js';
import type { AuditLog } from './audit/types.js';
import type { GatewayConfig } from './config/types.js';
import { createMemoryKeyChanges, type KeyChanges } from './keys/key-changes.js';
import { createMemoryKeyStore } from './keys/memory-key-store.js';
import { createRedisKeyChanges } from './keys/redis-key-changes.js';
import { createRedisKeyStore } from './keys/redis-key-store.js';
import type { KeyStore } from './keys/types.js';
import { createMemoryLimiter } from './limits/memory-limiter.js';
import { createRedisLimiter } from './limits/redis-limiter.js';
import type { Limiter } from './limits/types.js';
import { withHeartbeats, type HeartbeatLimiter } from './limits/heartbeat.js';
import { HEARTBEAT_INTERVAL_MS, RESERVATION_LEASE_MS } from './limits/semantics.js';
import { createMemoryOwnershipStore } from './ownership/memory-ownership-store.js';
import { createRedisOwnershipStore } from './ownership/redis-ownership-store.js';
import type { OwnershipStore } from './ownership/types.js';
import { guardStore } from './store-errors.js';

/** The gateway's state: client keys and quota counters, on Redis (or a Cluster) or in process (docs/configuration.md, docs/operations.md). */
export interface Store {
  kind: 'memory' | 'redis' | 'cluster';
  /** The prefix of every Redis key this store writes. */
  keyPrefix: string;
  keyStore: KeyStore;
  limiter: Limiter;
  /** Key-change notifications between instances (docs/api.md: within 1 s); Redis pub/sub on its own connection. */
  keyChanges: KeyChanges;
  /** Admin changes and mints (docs/api.md). */
  audit: AuditLog;
  /** Who created which xAI object: tenant isolation (docs/isolation.md). */
  ownership: OwnershipStore;
  /** Request logs, refused/failed counts and requests in flight, for the operator's view (src/activity). */
  activity: ActivityStore;
  /** Alert claims (each event sent once across instances) and the deliveries list (docs/alerts.md). */
  alerts: AlertStore;
  /**
   * The Redis client for @fastify/rate-limit's shared counters (per-IP auth-failure throttling), or null for
   * the in-process store. Opaque on purpose: only store files and main know ioredis (docs/architecture.md).
   */
  rateLimitRedis: unknown;
  /** Resolves while the store answers (readiness). */
  ping: () => Promise<void>;
  /** Resolves once connected, or rejects after `timeoutMs` (the gateway then starts not ready, and recovers). */
  ready: (timeoutMs: number) => Promise<void>;
  close: () => Promise<void>;
}

/**
 * Fail fast while Redis is away (503 store_unavailable, docs/api.md) instead of queueing requests behind it,
 * and keep reconnecting in the background so service resumes by itself.
 */
const REDIS_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  commandTimeout: 2_000,
  connectTimeout: 2_000,
  retryStrategy: (times: number) => Math.min(times * 200, 2_000),
  // Commands issued in the same event-loop turn (key lookups, usage reads, probes) go out in one socket write:
  // on a busy gateway the write system calls, not Redis, dominate the cost. The limiter's batch script is sent
  // on its own, at once (src/limits/packed-script.ts): it already carries every request of its turn.
  enableAutoPipelining: true,
};

/**
 * Credentials and TLS of a Cluster come from its first seed URL (`rediss://user:pass@host:port`): ioredis's
 * Cluster takes them once, in redisOptions, for every node it discovers.
 */
function clusterAuth(seed: string): RedisOptions {
  let url: URL;
  try {
    url = new URL(seed);
  } catch {
    return {};
  }
  return {
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The limiter with heartbeats (src/limits/heartbeat.ts): short leases, renewed while a request runs. */
function heartbeats(limiter: Limiter, logger: Logger): HeartbeatLimiter {
  let lastError = '';
  return withHeartbeats(limiter, {
    intervalMs: HEARTBEAT_INTERVAL_MS,
    leaseMs: RESERVATION_LEASE_MS,
    now: Date.now,
    onError: (err) => {
      // Once per kind of failure: an outage fails every beat alike.
      const message = err instanceof Error ? err.message : String(err);
      if (message !== lastError) logger.warn({ err: { message } }, 'lease renewal failed; leases run on until the store answers');
      lastError = message;
    },
  });
}

export function openStore(config: Omit<GatewayConfig['store'], 'journalPath'>, logger: Logger): Store {
  const { redisUrl, clusterNodes, keyPrefix } = config;
  if (redisUrl === '' && clusterNodes.length === 0) {
    const keyStore = createMemoryKeyStore();
    const memoryLimiter = heartbeats(createMemoryLimiter(), logger);
    return {
      kind: 'memory',
      keyPrefix,
      keyStore,
      limiter: memoryLimiter,
      keyChanges: createMemoryKeyChanges(),
      audit: createMemoryAuditLog(),
      ownership: createMemoryOwnershipStore(),
      activity: createMemoryActivityStore(),
      alerts: createMemoryAlertStore(),
      rateLimitRedis: null,
      ping: () => keyStore.ping(),
      ready: async () => {},
      close: async () => {
        memoryLimiter.stop();
      },
    };
  }
  const redis =
    clusterNodes.length > 0
      ? new Cluster(
          clusterNodes.map((url) => {
            const u = new URL(url);
            return { host: u.hostname, port: Number(u.port || 6379) };
          }),
          { redisOptions: { ...REDIS_OPTIONS, ...clusterAuth(clusterNodes[0] ?? '') }, enableOfflineQueue: false },
        )
      : new Redis(redisUrl, REDIS_OPTIONS);
  let lastError = '';
  redis.on('error', (err: Error) => {
    // ioredis repeats the same error on every reconnect attempt; log each kind once per outage.
    if (err.message !== lastError) logger.error({ err: { message: err.message } }, 'redis error');
    lastError = err.message;
  });
  redis.on('ready', () => {
    lastError = '';
    logger.info('redis ready');
  });
  const keyStore = createRedisKeyStore({ redis, prefix: keyPrefix });
  // A subscribed connection can run no other command, so pub/sub gets a connection of its own.
  const subscriber = redis.duplicate();
  let lastSubscriberError = '';
  subscriber.on('error', (err: Error) => {
    if (err.message !== lastSubscriberError) logger.error({ err: { message: err.message } }, 'redis subscriber error');
    lastSubscriberError = err.message;
  });
  subscriber.on('ready', () => {
    lastSubscriberError = '';
  });
  const keyChanges = createRedisKeyChanges({
    publisher: redis,
    subscriber,
    prefix: keyPrefix,
    onError: (err) => logger.error({ err: { message: err.message } }, 'key-change subscription failed; caches fall back to their TTL'),
  });
  // Every store is wrapped once: a Redis failure is 503 store_unavailable wherever it surfaces, a bug is not.
  const guardedKeyStore = guardStore(keyStore);
  const limiter = heartbeats(guardStore(createRedisLimiter({ redis, prefix: keyPrefix })), logger);
  return {
    kind: clusterNodes.length > 0 ? 'cluster' : 'redis',
    keyPrefix,
    keyStore: guardedKeyStore,
    limiter,
    keyChanges: guardStore(keyChanges),
    audit: guardStore(createRedisAuditLog({ redis, prefix: keyPrefix })),
    ownership: guardStore(createRedisOwnershipStore({ redis, prefix: keyPrefix })),
    activity: guardStore(createRedisActivityStore({ redis, prefix: keyPrefix })),
    alerts: guardStore(createRedisAlertStore({ redis, prefix: keyPrefix })),
    rateLimitRedis: redis,
    ping: () => guardedKeyStore.ping(),
    ready: (timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        if (redis.status === 'ready') return resolve();
        const timer = setTimeout(() => reject(new Error(`redis not ready after ${timeoutMs} ms`)), timeoutMs);
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    close: async () => {
      limiter.stop();
      await Promise.all([redis.quit().catch(() => redis.disconnect()), subscriber.quit().catch(() => subscriber.disconnect())]);
    },
  };
}
