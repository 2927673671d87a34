import { Cluster, Redis } from 'ioredis';
import { ConfigError, loadConfig } from './config/load-config.js';
import { migrateLimiterV1 } from './limits/redis-migrate-v1.js';

/**
 * `npm run migrate:limits` — the one-off upgrade of the limiter's Redis data to its v2 key names
 * (docs/operations.md "Upgrading"). Reads the same configuration as the gateway (REDIS_URL or
 * REDIS_CLUSTER_NODES, store.keyPrefix). Run it once, with every gateway instance stopped.
 */
async function run(): Promise<number> {
  const { config } = loadConfig({ env: process.env });
  const { redisUrl, clusterNodes, keyPrefix } = config.store;
  if (redisUrl === '' && clusterNodes.length === 0) {
    process.stderr.write('migrate:limits: no REDIS_URL or REDIS_CLUSTER_NODES: the in-process store has nothing to migrate\n');
    return 1;
  }
  const redis =
    clusterNodes.length > 0
      ? new Cluster(clusterNodes.map((url) => ({ host: new URL(url).hostname, port: Number(new URL(url).port || 6379) })))
      : new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const report = await migrateLimiterV1(redis, keyPrefix);
    process.stdout.write(`${JSON.stringify({ keyPrefix, ...report })}\n`);
    return 0;
  } finally {
    redis.disconnect();
  }
}

run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`migrate:limits failed: ${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
