import { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/load-config.js';
import type { GatewayConfig } from './config/types.js';
import { declaredKeyRecords } from './keys/declared-keys.js';
import { createKeyResolver } from './keys/key-resolver.js';
import { createMemoryKeyStore } from './keys/memory-key-store.js';
import { createRedisKeyStore } from './keys/redis-key-store.js';
import type { KeyStore } from './keys/types.js';
import { createMemoryLimiter } from './limits/memory-limiter.js';
import { createRedisLimiter } from './limits/redis-limiter.js';
import type { Limiter } from './limits/types.js';
import { createLogger } from './logging.js';
import { createUpstreamClient } from './upstream/client.js';
import { createModelCatalog } from './upstream/model-catalog.js';

/**
 * The process: the only module that reads process.env, opens Redis and the upstream pool, listens, and
 * handles signals (DESIGN.md). Everything else receives what it needs as arguments.
 */

/** How long SIGTERM waits for in-flight requests and streams before closing anyway. */
const DRAIN_TIMEOUT_MS = 30_000;
/** Key records are cached this long; bounds how late another instance sees a revocation (SPEC §3: < 1 s). */
const KEY_CACHE_TTL_MS = 500;

interface Store {
  keyStore: KeyStore;
  limiter: Limiter;
  ping: () => Promise<void>;
  close: () => Promise<void>;
}

function openStore(config: GatewayConfig, logger: Logger): Store {
  const { redisUrl, clusterNodes, keyPrefix } = config.store;
  if (redisUrl === '' && clusterNodes.length === 0) {
    logger.warn('no REDIS_URL: running on the in-process store (one instance only; counters and API-created keys are lost on restart)');
    const keyStore = createMemoryKeyStore();
    return { keyStore, limiter: createMemoryLimiter(), ping: () => keyStore.ping(), close: async () => {} };
  }
  // Fail fast while Redis is away (503 store_unavailable, SPEC §4) instead of queueing requests behind it,
  // and keep reconnecting in the background so service resumes by itself.
  const options = {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: 2_000,
    connectTimeout: 2_000,
    retryStrategy: (times: number) => Math.min(times * 200, 2_000),
  };
  const redis =
    clusterNodes.length > 0
      ? new Cluster(
          clusterNodes.map((url) => {
            const u = new URL(url);
            return { host: u.hostname, port: Number(u.port || 6379) };
          }),
          { redisOptions: options, enableOfflineQueue: false },
        )
      : new Redis(redisUrl, options);
  let lastError = '';
  redis.on('error', (err: Error) => {
    // ioredis repeats the same error on every reconnect attempt; log each kind once.
    if (err.message !== lastError) logger.error({ err: { message: err.message } }, 'redis error');
    lastError = err.message;
  });
  redis.on('ready', () => {
    lastError = '';
    logger.info('redis ready');
  });
  const keyStore = createRedisKeyStore({ redis, prefix: keyPrefix });
  return {
    keyStore,
    limiter: createRedisLimiter({ redis, prefix: keyPrefix }),
    ping: () => keyStore.ping(),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

async function main(): Promise<void> {
  let current: GatewayConfig;
  let configFile: string | null;
  try {
    ({ config: current, file: configFile } = loadConfig({ env: process.env }));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: current.logLevel, secrets: [...current.upstream.apiKeys, ...current.admin.tokens] });
  logger.info({ configFile: configFile ?? '(none: defaults and environment)' }, 'configuration loaded');
  if (current.upstream.apiKeys.length === 0) logger.warn('no XAI_API_KEY: calls that need xAI will get 502 upstream_error');
  if (current.admin.tokens.length === 0) logger.warn('admin API off: set GATEWAY_ADMIN_TOKEN (16+ characters) to turn it on');

  const store = openStore(current, logger);
  let declared = declaredKeyRecords(current.keys, new Date());
  const resolver = createKeyResolver({ store: store.keyStore, declared, cacheTtlMs: KEY_CACHE_TTL_MS });
  const upstream = createUpstreamClient(current.upstream);
  const app = buildApp({
    config: () => current,
    logger,
    keyStore: store.keyStore,
    resolver,
    declaredKeys: () => [...declared.values()],
    limiter: store.limiter,
    upstream,
    models: createModelCatalog({ upstream, ttlMs: 60_000 }),
    ping: store.ping,
  });

  process.on('SIGHUP', () => {
    try {
      const reloaded = loadConfig({ env: process.env }).config;
      current = reloaded;
      declared = declaredKeyRecords(reloaded.keys, new Date());
      resolver.setDeclared(declared);
      logger.info('configuration reloaded');
    } catch (err) {
      logger.error({ problems: err instanceof ConfigError ? err.problems : undefined, err: err instanceof ConfigError ? undefined : err }, 'configuration reload failed; keeping the running configuration');
    }
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    const force = setTimeout(() => {
      logger.warn('drain timeout reached; closing remaining connections');
      app.server.closeAllConnections();
    }, DRAIN_TIMEOUT_MS);
    force.unref();
    void app
      .close()
      .then(() => Promise.allSettled([upstream.close(), store.close()]))
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const address = await app.listen({ host: current.server.host, port: current.server.port });
  logger.info({ address }, 'xai-gateway listening');
}

main().catch((err: unknown) => {
  process.stderr.write(`xai-gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
