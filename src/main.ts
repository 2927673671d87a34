import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, loadConfig } from './config/load-config.js';
import { GatewayError } from './errors.js';
import { openSettlementJournal, type SettlementJournal } from './journal/settlement-journal.js';
import type { GatewayConfig } from './config/types.js';
import { createGateway } from './gateway.js';
import { withCapacityLeases } from './limits/capacity-leases.js';
import { withSettlementRetry } from './limits/settlement-retry.js';
import { createLogger } from './logging.js';
import { openStore } from './store.js';

/**
 * The process: the only module that reads process.env, opens Redis and the upstream pool, listens, and
 * handles signals (docs/architecture.md). Everything else receives what it needs as arguments.
 */

/** How long SIGTERM waits for in-flight requests and streams before closing anyway. */
const DRAIN_TIMEOUT_MS = 30_000;

function loadOrExit(): { config: GatewayConfig; file: string | null } {
  try {
    return loadConfig({ env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** The journal must be writable from the start: finding out at the first outage would lose what it was for. */
function openJournalOrExit(path: string): SettlementJournal {
  try {
    const journal = openSettlementJournal(path);
    accessSync(dirname(path), constants.W_OK);
    return journal;
  } catch (err) {
    process.stderr.write(`store.journalPath ${path}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const { config, file } = loadOrExit();
  const logger = createLogger({ level: config.logLevel, secrets: [...config.upstream.apiKeys, ...config.admin.tokens, ...config.alerts.webhooks.map((webhook) => webhook.secret)] });
  logger.info({ configFile: file ?? '(none: defaults and environment)' }, 'configuration loaded');
  const store = openStore(config.store, logger);
  if (store.kind === 'memory') {
    logger.warn('no REDIS_URL: running on the in-process store (one instance only; counters and API-created keys are lost on restart)');
  }
  if (config.upstream.apiKeys.length === 0) logger.warn('no XAI_API_KEY: calls that need xAI will get 502 upstream_error');
  if (config.admin.tokens.length === 0) logger.warn('admin API off: set GATEWAY_ADMIN_TOKEN (16+ characters) to turn it on');

  await store.ready(5_000).catch((err: unknown) => {
    logger.error({ err: { message: err instanceof Error ? err.message : String(err) } }, 'starting without the store: /readyz and /v1 answer 503 until it is reachable');
  });
  const journal = store.kind === 'memory' ? null : openJournalOrExit(config.store.journalPath);
  if (journal !== null && journal.pending() > 0) {
    logger.warn({ journaled: journal.pending(), journal: journal.path }, 'settlements journaled before this start: replayed once the store answers');
  }
  const limiter = withSettlementRetry(store.limiter, {
    journal,
    // Only an admission that may have reached Redis can hold anything there, and so needs a release.
    mayHaveRun: (err) => err instanceof GatewayError && err.code === 'store_unavailable',
    onEvent: (event) => {
      if (event.kind === 'dropped') logger.error({ requestId: event.requestId }, 'settlement dropped: retry queue full');
      else if (event.kind === 'queued') logger.warn({ requestId: event.requestId }, 'settlement queued in memory until the store is back');
      else if (event.kind === 'journaled') logger.warn({ requestId: event.requestId }, 'settlement journaled until the store is back');
      else logger.info({ requestId: event.requestId }, 'queued settlement written');
    },
  });
  // On Redis, busy keys are admitted from capacity leased ahead of time (src/limits/capacity-leases.ts); the
  // in-process store admits locally anyway.
  const admitting =
    store.kind === 'memory'
      ? limiter
      : withCapacityLeases(limiter, {
          now: Date.now,
          onError: (err) => logger.debug({ err: { message: err instanceof Error ? err.message : String(err) } }, 'capacity lease refill or give-back failed'),
        });
  const gateway = createGateway({ config, logger, store: { ...store, limiter: admitting } });

  process.on('SIGHUP', () => {
    try {
      gateway.applyConfig(loadConfig({ env: process.env }).config);
      logger.info('configuration reloaded');
    } catch (err) {
      const detail = err instanceof ConfigError ? { problems: err.problems } : { err };
      logger.error(detail, 'configuration reload failed; keeping the running configuration');
    }
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    const force = setTimeout(() => {
      logger.warn('drain timeout reached; closing remaining connections');
      gateway.app.server.closeAllConnections();
    }, DRAIN_TIMEOUT_MS);
    force.unref();
    // Keep-alive connections that finish their last request during the drain would otherwise hold the
    // server open until the client lets go; close each as soon as it turns idle.
    const reapIdle = setInterval(() => gateway.app.server.closeIdleConnections(), 100);
    reapIdle.unref();
    void gateway
      .close()
      .then(async () => {
        // Unused leased capacity goes back first (through the retry layer: journaled if Redis is away).
        await admitting.drain?.();
        const left = await limiter.flush();
        limiter.stop();
        if (left.journaled > 0) logger.warn({ journaled: left.journaled, journal: journal?.path }, 'settlements journaled: replayed at the next start');
        // Exit non-zero only for what is neither in Redis nor on disk: that usage would be lost.
        if (left.queued > 0) logger.error({ lost: left.queued }, 'settlements could be neither written to the store nor journaled');
        return left.queued > 0 ? 1 : 0;
      })
      .then(async (code) => {
        await store.close();
        logger.info('stopped');
        process.exit(code);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const address = await gateway.app.listen({ host: config.server.host, port: config.server.port });
  logger.info({ address }, 'xai-gateway listening');
}

main().catch((err: unknown) => {
  process.stderr.write(`xai-gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
