import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { GatewayConfig } from './config/types.js';
import { createKeyOriginIndex } from './keys/origin-index.js';
import { declaredKeyRecords } from './keys/declared-keys.js';
import { createKeyResolver, type KeyResolver } from './keys/key-resolver.js';
import type { KeyRecord } from './keys/types.js';
import type { Store } from './store.js';
import { createUpstreamClient, type UpstreamClient } from './upstream/client.js';
import { createModelCatalog, type ModelCatalog } from './upstream/model-catalog.js';
import { createGatewayMetrics, instrument } from './metrics/gateway-metrics.js';
import { randomUUID } from 'node:crypto';
import { createActivityRecorder, type ActivityRecorder } from './activity/recorder.js';
import { createAlertDispatcher, type PostWebhook } from './alerts/dispatcher.js';
import { createAlertMonitor, type AlertMonitor } from './alerts/monitor.js';
import { postWebhook } from './alerts/post.js';

/** Key records are cached this long; it bounds how late another instance sees a revocation (docs/api.md: < 1 s). */
export const KEY_CACHE_TTL_MS = 500;
/** xAI's model lists change rarely; one upstream call a minute serves every client listing models. */
const MODEL_LIST_TTL_MS = 60_000;

export interface Gateway {
  app: FastifyInstance;
  resolver: KeyResolver;
  upstream: UpstreamClient;
  /** Request logs, outcome counts and requests in flight (src/activity); close() flushes it. */
  activity: ActivityRecorder;
  /** Budget, expiry and revocation alerts (src/alerts). */
  alerts: AlertMonitor;
  /** Apply a reloaded configuration (plans, pricing, declared keys) to the next requests. */
  applyConfig(config: GatewayConfig): void;
  /** Close the HTTP server (draining in-flight requests) and the upstream pool; the store is the caller's. */
  close(): Promise<void>;
}

/**
 * Everything between a loaded config + an open store and a listening server, shared by main.ts, the demo
 * and the integration tests so they all run the gateway wired the same way.
 */
export function createGateway(options: {
  config: GatewayConfig;
  logger: Logger;
  store: Store;
  now?: () => number;
  /** Tests only: retry waits of alert deliveries, and the webhook POST. */
  alertRetryDelaysMs?: readonly number[];
  postWebhook?: PostWebhook;
  /** Tests only: a longer TTL shows that key-change announcements, not expiry, carry a change. */
  keyCacheTtlMs?: number;
}): Gateway {
  let current = options.config;
  // Filled in once the catalog exists (it needs the upstream client); models xAI lists or the config prices are labels.
  let catalog: ModelCatalog | null = null;
  const knownModel = (model: string): boolean =>
    Object.hasOwn(current.pricing, model) ||
    Object.values(current.plans).some((plan) => plan.models?.includes(model) === true) ||
    (catalog?.knows(model) ?? false);
  const metrics = createGatewayMetrics({ isKnownModel: knownModel });
  // One warning per kind of failure: during an outage every batch fails alike.
  let lastActivityError = '';
  const activity = createActivityRecorder({
    store: options.store.activity,
    instanceId: randomUUID(),
    now: options.now ?? Date.now,
    onError: (err) => {
      const message = err instanceof Error ? err.message : String(err);
      if (message !== lastActivityError) options.logger.warn({ err: { message } }, 'request log write failed; kept for the next batch');
      lastActivityError = message;
    },
  });
  // Every store call is timed (xgw_store_duration_seconds), whichever store is behind.
  const keyStore = instrument(options.store.keyStore, 'keys', metrics);
  const limiter = instrument(options.store.limiter, 'limits', metrics);
  const ownership = instrument(options.store.ownership, 'ownership', metrics);
  let declared: ReadonlyMap<string, KeyRecord> = declaredKeyRecords(current.keys, new Date());
  const resolver = createKeyResolver({ store: keyStore, declared, cacheTtlMs: options.keyCacheTtlMs ?? KEY_CACHE_TTL_MS });
  const keyOrigins = createKeyOriginIndex({
    store: options.store.keyStore,
    declared: () => [...declared.values()],
    now: options.now ?? Date.now,
    onError: (message, err) => options.logger.warn(err instanceof Error ? { err: { message: err.message } } : {}, message),
  });
  // Every instance hears every key change (docs/api.md): drop the cached key, refresh its CORS origins.
  // `null` = changes may have been missed (pub/sub reconnected): drop and reload everything.
  const unsubscribe = options.store.keyChanges.subscribe((keyId) => {
    resolver.invalidate(keyId ?? undefined);
    void keyOrigins.refresh(keyId);
  });
  void keyOrigins.refresh(null);
  const alertLog = (message: string) => (err: unknown) =>
    options.logger.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, message);
  const dispatcher = createAlertDispatcher({
    store: options.store.alerts,
    webhooks: () => current.alerts.webhooks,
    post: options.postWebhook ?? postWebhook,
    now: options.now ?? Date.now,
    ...(options.alertRetryDelaysMs === undefined ? {} : { retryDelaysMs: options.alertRetryDelaysMs }),
    onError: alertLog('alert delivery bookkeeping failed'),
  });
  const alerts = createAlertMonitor({
    config: () => current.alerts,
    limiter,
    dispatcher,
    now: options.now ?? Date.now,
    onError: alertLog('budget threshold check failed'),
  });
  const upstream = createUpstreamClient(current.upstream);
  const app = buildApp({
    config: () => current,
    logger: options.logger,
    keyStore,
    resolver,
    declaredKeys: () => [...declared.values()],
    limiter,
    keyChanges: options.store.keyChanges,
    keyOrigins,
    audit: options.store.audit,
    ownership,
    upstream,
    models: (catalog = createModelCatalog({ upstream, ttlMs: MODEL_LIST_TTL_MS })),
    ping: options.store.ping,
    metrics,
    rateLimitRedis: options.store.rateLimitRedis,
    rateLimitNameSpace: `${options.store.keyPrefix}v1:authfail:`,
    activity: { recorder: activity, store: options.store.activity },
    alerts: { monitor: alerts, store: options.store.alerts },
    knownModel,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  return {
    app,
    resolver,
    upstream,
    activity,
    alerts,
    applyConfig(config) {
      current = config;
      declared = declaredKeyRecords(config.keys, new Date());
      resolver.setDeclared(declared);
    },
    async close() {
      unsubscribe();
      await app.close();
      await upstream.close();
      await activity.close();
      alerts.close();
    },
  };
}
