import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { OwnershipStore } from './ownership/types.js';
import type { AuditEntry, AuditLog } from './audit/types.js';
import type { GatewayConfig } from './config/types.js';
import type { KeyChanges } from './keys/key-changes.js';
import type { KeyOriginIndex } from './keys/origin-index.js';
import type { KeyResolver } from './keys/key-resolver.js';
import type { KeyRecord, KeyStore } from './keys/types.js';
import type { Limiter } from './limits/types.js';
import type { GatewayMetrics } from './metrics/gateway-metrics.js';
import type { UpstreamClient } from './upstream/client.js';
import type { ModelCatalog } from './upstream/model-catalog.js';
import helmet from '@fastify/helmet';
import { registerAdminChildrenRoute } from './http/admin/admin-children-route.js';
import { registerAdminRoutes } from './http/admin/admin-routes.js';
import { registerAuthThrottle } from './http/hooks/auth-throttle.js';
import { registerCors } from './http/hooks/cors.js';
import { registerDashboardRoutes } from './http/admin/dashboard-routes.js';
import { registerErrorHandling } from './http/hooks/error-handler.js';
import { registerGatewayKeysRoutes } from './http/v1/gateway-keys-routes.js';
import { registerHealthRoutes } from './http/ops/health-routes.js';
import { registerMetricsRoute } from './http/ops/metrics-route.js';
import { newRequestContext } from './http/hooks/request-context.js';
import { requestFinished } from './http/hooks/request-finished.js';
import type { ActivityRecorder } from './activity/recorder.js';
import type { ActivityStore } from './activity/types.js';
import type { AlertMonitor } from './alerts/monitor.js';
import type { AlertStore } from './alerts/types.js';
import { HELMET_OPTIONS, registerSecurityHeaders } from './http/hooks/security-headers.js';
import { registerV1Routes } from './http/v1/v1-routes.js';

export interface AppDeps {
  /** The current config (a getter, so a reload applies to the next request). */
  config: () => GatewayConfig;
  logger: Logger;
  keyStore: KeyStore;
  resolver: KeyResolver;
  declaredKeys: () => readonly KeyRecord[];
  limiter: Limiter;
  /** Announces key changes to every instance (docs/api.md). */
  keyChanges: KeyChanges;
  /** Origins of active keys, for CORS (docs/threat-model.md). */
  keyOrigins: KeyOriginIndex;
  audit: AuditLog;
  /** Who created which xAI object (docs/isolation.md). */
  ownership: OwnershipStore;
  upstream: UpstreamClient;
  models: ModelCatalog;
  /** Readiness: resolves while the store answers. */
  ping: () => Promise<void>;
  metrics: GatewayMetrics;
  /** ioredis client for shared auth-failure counters, or null (in-process store), and their key prefix. */
  rateLimitRedis: unknown;
  rateLimitNameSpace: string;
  /** The operator's view of requests (src/activity): written by the recorder, read by the admin API. */
  activity: { recorder: ActivityRecorder; store: ActivityStore };
  /** Alerts (src/alerts): the monitor hears settlements and key changes; the store lists deliveries. */
  alerts: { monitor: AlertMonitor; store: AlertStore };
  /** Models the config or xAI knows: the only names a refused request is counted under. */
  knownModel: (model: string) => boolean;
  now?: () => number;
}

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (bad request line, header overflow, broken
 * chunking) still get the documented JSON error shape, then the connection is closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const [status, reason] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : timedOut ? [408, 'Request Timeout'] : [400, 'Bad Request'];
  const error = timedOut
    ? { message: 'The request (headers and body) did not arrive in time.', type: 'invalid_request_error', code: 'request_timeout' }
    : { message: 'Malformed HTTP request.', type: 'invalid_request_error', code: 'invalid_request' };
  const body = JSON.stringify({ error });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * At most `max` open connections per client address (docs/threat-model.md, server.maxConnectionsPerIp); more are closed at
 * once, before a byte is read. Counted on the socket's address: behind a proxy, every client has the proxy's.
 */
function limitConnectionsPerIp(server: Server, max: number): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

/**
 * A client that sends `Expect: 100-continue` with a declared body over the limit gets its 413 before any body is
 * sent (RFC 9110 §10.1.1) instead of a `100 Continue` followed by a reset (docs/threat-model.md).
 */
function answerOversizedBeforeContinue(server: Server, bodyLimitBytes: () => number): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > bodyLimitBytes()) {
      const body = JSON.stringify({ error: { message: `The request body is over the limit of ${bodyLimitBytes()} bytes.`, type: 'invalid_request_error', code: 'request_too_large' } });
      res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
}

/** A safe client-supplied request id is echoed; anything else is replaced by a UUID (docs/api.md). */
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The Fastify application, wired from its dependencies; no I/O here (main.ts opens connections and listens).
 * Tests build it with real dependencies on an ephemeral port.
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const config = deps.config();
  const now = deps.now ?? Date.now;
  // Typed as Fastify's logger interface so the instance type is the plain FastifyInstance routes expect.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    // One line per request is ours (src/http/hooks/request-log.ts), written after settlement.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.server.trustProxy,
    bodyLimit: config.server.bodyLimitBytes,
    genReqId: (req) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID_RE.test(header) ? header : randomUUID();
    },
    // Receiving the request (headers and body) is bounded, so a slow or silent client holds nothing for long
    // (docs/threat-model.md); answering is not: a stream may run for minutes, bounded by the upstream timeouts instead.
    requestTimeout: config.server.requestTimeoutMs,
    // Node checks request deadlines every connectionsCheckingInterval (30 s by default, which would let a slow
    // client hold on up to 30 s past its deadline); Fastify does not pass that option, so the server is made here.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: config.server.requestTimeoutMs,
          headersTimeout: Math.min(60_000, config.server.requestTimeoutMs),
          connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(config.server.requestTimeoutMs / 4))),
        },
        handler,
      ),
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
  });

  limitConnectionsPerIp(app.server, config.server.maxConnectionsPerIp);
  answerOversizedBeforeContinue(app.server, () => deps.config().server.bodyLimitBytes);

  const finished = requestFinished({ activity: deps.activity.recorder, now, knownModel: deps.knownModel });
  app.decorateRequest('gw', null as never);
  // Hooks with a done callback, not async ones: an async hook costs every request a promise and a microtask hop.
  app.addHook('onRequest', (request, reply, done) => {
    request.gw = newRequestContext();
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const ctx = request.gw;
    deps.metrics.requestFinished(
      { endpoint: ctx.endpoint ?? 'gateway', model: ctx.model, status: reply.statusCode },
      Number(process.hrtime.bigint() - ctx.startedAtNs) / 1e9,
    );
    if (!ctx.deferLog) finished(request, reply);
    done();
  });

  registerErrorHandling(app, { onRefused: (reason) => deps.metrics.refused(reason) });
  // Security headers (docs/threat-model.md): helmet's set for HELMET_OPTIONS, fixed at start (src/http/hooks/security-headers.ts).
  void app.register(registerSecurityHeaders);
  void app.register(registerAuthThrottle, {
    maxFailuresPerMinute: () => deps.config().server.authFailuresPerMinute,
    redis: deps.rateLimitRedis,
    nameSpace: deps.rateLimitNameSpace,
  });
  registerHealthRoutes(app, { ping: deps.ping });
  registerMetricsRoute(app, { registry: deps.metrics.registry, adminTokens: () => deps.config().admin.tokens });
  // CORS answers configured origins and active keys' origins, read per request so a reload or a key change applies at once.
  registerCors(app, { allows: (origin) => deps.config().cors.origins.includes(origin) || deps.keyOrigins.allows(origin, now()) });
  const keyChangeDeps = {
    applyLocally: async (keyId: string) => {
      deps.resolver.invalidate(keyId);
      await deps.keyOrigins.refresh(keyId);
    },
    keyChanges: deps.keyChanges,
    audit: deps.audit,
    keyEvents: (entry: AuditEntry) => {
      if (entry.action !== 'create' && entry.action !== 'patch' && entry.action !== 'revoke') return;
      const expiresAt = entry.changes.expiresAt;
      deps.alerts.monitor.keyChanged({ keyId: entry.keyId, action: entry.action, expiresAt: typeof expiresAt === 'string' ? expiresAt : null, isChild: false });
    },
  };
  registerAdminRoutes(app, { ...keyChangeDeps, config: deps.config, store: deps.keyStore, limiter: deps.limiter, ownership: deps.ownership, activity: deps.activity.store, alerts: deps.alerts.store, declaredKeys: deps.declaredKeys, now });
  registerAdminChildrenRoute(app, { adminTokens: () => deps.config().admin.tokens, store: deps.keyStore, declaredKeys: deps.declaredKeys, now });
  // The admin web UI: static files with their own strict CSP; it calls the admin API above. Its routes
  // state that CSP as @fastify/helmet route options, so helmet is registered in a scope around them only: its
  // headers replace the global ones there, and no other request pays for helmet's per-request work.
  void app.register(async (scope) => {
    await scope.register(helmet, HELMET_OPTIONS);
    registerDashboardRoutes(scope, { adminTokens: () => deps.config().admin.tokens });
  });
  registerGatewayKeysRoutes(app, { ...keyChangeDeps, config: deps.config, store: deps.keyStore, limiter: deps.limiter, resolver: deps.resolver, now });
  registerV1Routes(app, { finished, activity: deps.activity.recorder, alerts: deps.alerts.monitor, config: deps.config, resolver: deps.resolver, limiter: deps.limiter, upstream: deps.upstream, models: deps.models, metrics: deps.metrics, ownership: deps.ownership, now });
  return app;
}
