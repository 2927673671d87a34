import { ConfigError, loadConfig } from './config/load-config.js';
import type { GatewayConfig } from './config/types.js';
import { createGateway } from './gateway.js';
import { withSettlementRetry } from './limits/settlement-retry.js';
import { createLogger } from './logging.js';
import { openStore } from './store.js';

/**
 * The process: the only module that reads process.env, opens Redis and the upstream pool, listens, and
 * handles signals (DESIGN.md). Everything else receives what it needs as arguments.
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

async function main(): Promise<void> {
  const { config, file } = loadOrExit();
  const logger = createLogger({ level: config.logLevel, secrets: [...config.upstream.apiKeys, ...config.admin.tokens] });
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
  const limiter = withSettlementRetry(store.limiter, {
    onEvent: (event) => {
      if (event.kind === 'dropped') logger.error({ requestId: event.requestId }, 'settlement dropped: retry queue full');
      else if (event.kind === 'queued') logger.warn({ requestId: event.requestId }, 'settlement queued until the store is back');
      else logger.info({ requestId: event.requestId }, 'queued settlement written');
    },
  });
  const gateway = createGateway({ config, logger, store: { ...store, limiter } });

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
        const left = await limiter.flush();
        if (left > 0) logger.error({ pending: left }, 'settlements still pending at exit: the store is unreachable');
        limiter.stop();
      })
      .then(() => store.close())
      .then(() => {
        logger.info('stopped');
        process.exit(0);
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
