import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig, LimitSet } from '../../config/types.js';
import { errors } from '../../errors.js';
import type { KeyResolver } from '../../keys/key-resolver.js';
import type { AdmissionResult, Limiter, Reservation } from '../../limits/types.js';
import { resolveRoute, type RouteMatch } from '../../policy/routes.js';
import { RESERVATION_LEASE_MS } from '../../limits/semantics.js';
import type { GatewayMetrics } from '../../metrics/gateway-metrics.js';
import type { ModelCatalog } from '../../upstream/model-catalog.js';
import type { UpstreamClient } from '../../upstream/client.js';
import { requestTooLarge } from '../../upstream/limited-body.js';
import { costTicksFor } from '../../usage/cost.js';
import { usdToTicks, ZERO_USAGE, type Usage } from '../../usage/types.js';
import type { ObjectOwner, OwnershipStore, UpFrontCharge } from '../../ownership/types.js';
import { addressedObjects, admitReaching, chargedUpFront, chargeFetchedOnce, forgetDeleted, recordOwner } from './object-access.js';
import { answerObjectList } from './object-list.js';
import { admissionRefusal as refusal } from '../../limits/admission-refusal.js';
import type { AuthenticatedClient } from '../../keys/client-auth.js';
import { clientAuthHook } from '../hooks/client-auth-hook.js';
import { createBodyReader } from './body-budget.js';
import { forwardRequest } from './forward.js';
import { answerApiKey, answerModels } from '../../policy/gateway-answers.js';
import { prepareRequest, type PreparedRequest } from '../../policy/prepare-request.js';
import { rateLimitHeaders } from '../../limits/rate-headers.js';
import { settlementUsage } from '../../usage/settlement-usage.js';
import type { RequestFinished } from '../hooks/request-finished.js';
import type { ActivityRecorder } from '../../activity/recorder.js';
import type { AlertMonitor, SettledKey } from '../../alerts/monitor.js';

export interface V1Deps {
  config: () => GatewayConfig;
  resolver: KeyResolver;
  limiter: Limiter;
  upstream: UpstreamClient;
  models: ModelCatalog;
  now: () => number;
  metrics: GatewayMetrics;
  /** Who created which object (docs/isolation.md). */
  ownership: OwnershipStore;
  /** The request's log line and activity record, written once it is over (request-finished.ts). */
  finished: RequestFinished;
  /** Counts requests in flight (live.inFlight). */
  activity: Pick<ActivityRecorder, 'started' | 'ended'>;
  /** Hears each settlement, for budget and expiry alerts (src/alerts). */
  alerts: Pick<AlertMonitor, 'settled'>;
}

const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD'] as const;

/**
 * The client API (docs/api.md). One wildcard route whose handler resolves the path against the route table, so
 * every `/v1` request — offered or not — goes through the same checks, and anything not offered is 404
 * without ever being forwarded. Bodies arrive as raw bytes (JSON) or as the untouched request stream
 * (multipart), so what the client sent is what xAI receives unless the gateway must add a field.
 */
export function registerV1Routes(app: FastifyInstance, deps: V1Deps): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Multipart bodies (files, stt) stay a stream, piped upstream byte for byte; their length is checked here when
    // declared, and counted while piping otherwise (forward.ts), against the same limit as JSON bodies (docs/configuration.md).
    scope.addContentTypeParser('multipart/form-data', (request, payload, done) => {
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared > deps.config().server.bodyLimitBytes) done(requestTooLarge(), undefined);
      else done(null, payload);
    });
    // JSON bodies: buffered whole, within a per-family budget of bytes in flight (src/http/v1/body-budget.ts).
    scope.addContentTypeParser('*', createBodyReader(() => deps.config().server.bodyLimitBytes));
    scope.route({
      method: [...METHODS],
      url: '/v1/*',
      onRequest: clientAuthHook({ resolver: deps.resolver, plans: () => deps.config().plans, now: deps.now }),
      handler: (request, reply) => handleV1(request, reply, deps),
    });
  });
}

/** A `%` not followed by two hex digits: no server decodes it the same way, so it is refused, not passed on. */
const MALFORMED_PERCENT = /%(?![0-9A-Fa-f]{2})/;

async function handleV1(request: FastifyRequest, reply: FastifyReply, deps: V1Deps): Promise<FastifyReply> {
  if (MALFORMED_PERCENT.test(request.url)) throw errors.invalidRequest('The URL contains a malformed percent-encoding.');
  const lookup = resolveRoute(request.method, request.url);
  if (lookup.kind !== 'match') throw errors.notFound(`No such route: ${request.method} ${request.url.split('?')[0] ?? ''}`);
  const { route } = lookup.match;
  request.gw.endpoint = route.endpoint;

  const client = request.gw.client;
  if (client === null) throw new Error('a /v1 request reached its handler unauthenticated');
  const config = deps.config();
  const subjects = subjectsOf(client);
  const limits = subjects.map((s) => s.limits);
  const prepared = prepareRequest({
    route,
    contentType: header(request, 'content-type'),
    contentEncoding: header(request, 'content-encoding'),
    rawBody: Buffer.isBuffer(request.body) ? request.body : null,
    policies: client.parentPolicy === null ? [client.policy] : [client.policy, client.parentPolicy],
    limits,
    defaultOutputTokens: config.quotas.defaultOutputTokens,
    keyExpiresAtMs: earliestExpiry(client),
    nowMs: deps.now(),
  });
  request.gw.model = prepared.model;

  const metered = route.handling === 'forward' && route.usage !== 'none';
  const price = priceFor(config, prepared.model);
  const addressed = addressedObjects(lookup.match, prepared);
  const estimate = estimateOf(metered ? prepared : null, price, mediaReserveTicks(config, route, prepared));
  const admitting = admit(deps, { client, subjects, estimate });
  const reached =
    addressed.length === 0
      ? { admission: await admitting, owners: [] }
      : await admitReaching({
          ownership: deps.ownership,
          admitting,
          refs: addressed,
          keyId: client.key.id,
          release: (reservation) => settleReservation(deps, reservation, null, null),
        });
  const admission = reached.admission;
  reply.headers(rateLimitHeaders(admission.rate));
  if (!admission.admitted) {
    request.gw.refusal = admission.limit;
    throw refusal(admission);
  }

  request.gw.deferLog = true;
  const servedKeys = admission.reservation.keyIds;
  deps.activity.started(servedKeys);
  const settle = once(async (result: SettleResult) => {
    request.gw.usage = result.usage;
    const observed = result.observed === undefined ? result.usage : result.observed;
    if (observed !== null) deps.metrics.usageRecorded(prepared.model ?? result.model, observed);
    try {
      // Usage is kept under the model the client asked for (what its scopes name); a GET that fetches a result
      // (deferred completion, video) names none, so its creation's is used, else xAI's.
      await settleReservation(deps, admission.reservation, result.usage, prepared.model ?? result.model, result.correction === true);
    } finally {
      deps.activity.ended(servedKeys);
    }
    if (result.usage !== null) deps.alerts.settled(() => alertKeysOf(client));
  });
  const state = { relaying: false };
  try {
    // A GET of a deferred completion or video names its object first: its owner record says what is charged.
    const fetched = route.method === 'GET' && (route.addresses === 'video' || route.addresses === 'deferred') ? (reached.owners[0] ?? null) : null;
    return await dispatch(request, reply, deps, { match: lookup.match, client, prepared, price, settle, state, estimate, fetched });
  } catch (err) {
    // Once a response is being relayed, its end settles it (with what xAI reported); an error after that point
    // (the client connection failing under the stream) must not release the reservation and lose that usage.
    if (state.relaying) throw err;
    // Refused or failed before anything was relayed: release the reservation, count no usage.
    void settle({ usage: null, model: null }).finally(() => deps.finished(request, reply));
    throw err;
  }
}

interface DispatchInput {
  match: RouteMatch;
  client: AuthenticatedClient;
  prepared: PreparedRequest;
  /** The model's price, for usage xAI reports without a cost. */
  price: GatewayConfig['pricing'][string] | undefined;
  settle: (result: SettleResult) => Promise<void>;
  /** Set once forwarding produced a result that `settle` will be called with. */
  state: { relaying: boolean };
  /** What the admission reserved: what the creation of a result xAI reports later is charged up front. */
  estimate: Estimate;
  /** The owner record of the deferred completion or video a GET fetches, else null. */
  fetched: ObjectOwner | null;
}

async function dispatch(request: FastifyRequest, reply: FastifyReply, deps: V1Deps, input: DispatchInput): Promise<FastifyReply> {
  const { match, client, prepared, price, settle, state, estimate, fetched } = input;
  const finish = (): void => {
    void settle({ usage: null, model: null }).finally(() => deps.finished(request, reply));
  };
  switch (match.route.handling) {
    case 'api-key': {
      const body = await answerApiKey(client, deps.limiter, deps.now());
      finish();
      return reply.send(body);
    }
    case 'models': {
      const body = await answerModels(match, client, deps.models);
      finish();
      return reply.send(body);
    }
    case 'list': {
      const kind = match.route.lists;
      if (kind === null) throw new Error(`route ${match.route.pattern.join('/')} is handled as a list but names no object kind`);
      request.gw.forwarded = true;
      const { sentUpstream } = await answerObjectList({
        request,
        reply,
        kind,
        upstreamPath: match.upstreamPath,
        keyId: client.key.id,
        ownership: deps.ownership,
        upstream: deps.upstream,
      });
      state.relaying = true;
      void settle({ usage: sentUpstream ? ZERO_USAGE : null, model: null }).finally(() => deps.finished(request, reply));
      return reply;
    }
    case 'forward': {
      const creates = prepared.creates;
      // A video or deferred completion is charged its reservation when xAI accepts it; the fetch corrects that.
      const upFront: UpFrontCharge | null =
        creates === 'video' || creates === 'deferred'
          ? { model: prepared.model, promptTokens: estimate.promptTokens, completionTokens: estimate.completionTokens, costTicks: estimate.costTicks }
          : null;
      request.gw.forwarded = true;
      const { done } = await forwardRequest(
        {
          request,
          reply,
          route: match.route,
          upstreamPath: match.upstreamPath,
          body: prepared.upstreamBody ?? (isStream(request.body) ? request.body : null),
          stripUsageChunk: prepared.stripUsageChunk,
          price,
          bodyLimitBytes: deps.config().server.bodyLimitBytes,
          onClientDisconnect: { mode: deps.config().quotas.onClientDisconnect, drainMs: deps.config().quotas.disconnectDrainMs },
          recordCreated:
            creates === null
              ? null
              : (created) =>
                  recordOwner({
                    request,
                    ownership: deps.ownership,
                    nowMs: deps.now(),
                    kind: creates,
                    created,
                    client,
                    upFront,
                  }),
          observe: {
            upstreamResponded: (seconds) => deps.metrics.upstreamResponded(match.route.endpoint, seconds),
            streamStarted: () => deps.metrics.streamStarted(),
            streamEnded: () => deps.metrics.streamEnded(),
          },
        },
        deps.upstream,
      );
      state.relaying = true;
      void done
        .then(async (result) => {
          request.gw.streamed = String(reply.getHeader('content-type') ?? '').startsWith('text/event-stream');
          request.gw.broken = result.cutShort && !result.clientAborted;
          forgetDeleted({ request, ownership: deps.ownership, match, status: result.status });
          const usage = settlementUsage(result, { promptTokens: prepared.estimatedPromptTokens, outputCapTokens: prepared.outputCapTokens }, price);
          if (upFront !== null && result.status >= 200 && result.status < 300 && usage !== null) {
            return settle({ usage: chargedUpFront(usage, upFront), observed: usage, model: result.upstreamModel });
          }
          if (fetched === null) return settle({ usage, model: result.upstreamModel });
          const charge = await chargeFetchedOnce({ ownership: deps.ownership, owner: fetched, usage, nowMs: deps.now() });
          return settle({ usage: charge.usage, observed: charge.observed, correction: charge.correction, model: charge.model ?? result.upstreamModel });
        })
        .catch((err: unknown) => request.log.error({ err }, 'settlement failed'))
        .finally(() => deps.finished(request, reply));
      return reply;
    }
  }
}

/** When the key — or its parent, which bounds a child key — stops being valid (epoch ms), or null for never. */
function earliestExpiry(client: AuthenticatedClient): number | null {
  let earliest: number | null = null;
  for (const record of client.parent === null ? [client.key] : [client.key, client.parent]) {
    const at = record.expiresAt === null ? Number.NaN : Date.parse(record.expiresAt);
    if (!Number.isNaN(at) && (earliest === null || at < earliest)) earliest = at;
  }
  return earliest;
}

/** The keys whose budgets a settled request of this client spends: the key, and its parent for a child. */
function alertKeysOf(client: AuthenticatedClient): SettledKey[] {
  const familyId = client.parent?.id ?? client.key.id;
  const keys: SettledKey[] = [{ keyId: client.key.id, familyId, limits: client.policy.limits, expiresAt: client.key.expiresAt, isChild: client.parent !== null }];
  if (client.parent !== null && client.parentPolicy !== null) {
    keys.push({ keyId: client.parent.id, familyId, limits: client.parentPolicy.limits, expiresAt: client.parent.expiresAt, isChild: false });
  }
  return keys;
}

function subjectsOf(client: AuthenticatedClient): { keyId: string; limits: LimitSet }[] {
  const subjects = [{ keyId: client.key.id, limits: client.policy.limits }];
  if (client.parent !== null && client.parentPolicy !== null) subjects.push({ keyId: client.parent.id, limits: client.parentPolicy.limits });
  return subjects;
}

/** What an admission reserves (docs/api.md): prompt estimate plus output cap, and their cost plus a media price. */
interface Estimate {
  promptTokens: number;
  completionTokens: number;
  costTicks: number;
}

function estimateOf(metered: PreparedRequest | null, price: GatewayConfig['pricing'][string] | undefined, mediaTicks: number): Estimate {
  if (metered === null) return { promptTokens: 0, completionTokens: 0, costTicks: 0 };
  const promptTokens = metered.estimatedPromptTokens;
  const completionTokens = metered.outputCapTokens;
  const tokenTicks = costTicksFor({ promptTokens, cachedTokens: 0, completionTokens, reasoningTokens: 0 }, price);
  return { promptTokens, completionTokens, costTicks: tokenTicks + mediaTicks };
}

async function admit(
  deps: V1Deps,
  input: { client: AuthenticatedClient; subjects: { keyId: string; limits: LimitSet }[]; estimate: Estimate },
): Promise<AdmissionResult> {
  const { client, estimate } = input;
  return deps.limiter.admit({
    requestId: randomUUID(),
    subjects: input.subjects,
    familyId: client.parent?.id ?? client.key.id,
    estimatedTokens: estimate.promptTokens + estimate.completionTokens,
    estimatedCostTicks: estimate.costTicks,
    nowMs: deps.now(),
    // Renewed by the heartbeat while the request runs (src/limits/heartbeat.ts); it runs out only if this
    // instance dies.
    leaseMs: RESERVATION_LEASE_MS,
  });
}

/** What a request is settled with; `observed` (default: usage) is what metrics count, `correction` see SettleInput. */
interface SettleResult {
  usage: Usage | null;
  model: string | null;
  observed?: Usage | null;
  correction?: boolean;
}

async function settleReservation(deps: V1Deps, reservation: Reservation, usage: Usage | null, model: string | null, correction = false): Promise<void> {
  await deps.limiter.settle({ reservation, usage, model: model ?? '(none)', nowMs: deps.now(), correction });
}


/**
 * A media request's price before xAI reports it (docs/api.md): `n` × the model's `pricing.<model>.perImage`, or the
 * video's seconds × `perVideoSecond`; for a model without its own, the dearest configured, so that a cost budget
 * is never overrun by models missing from `pricing`. Looked up as own entries only.
 */
function mediaReserveTicks(config: GatewayConfig, route: RouteMatch['route'], prepared: PreparedRequest): number {
  if (prepared.mediaUnits === 0) return 0;
  const field = route.endpoint === 'images' ? 'perImage' : 'perVideoSecond';
  const own = prepared.model !== null && Object.hasOwn(config.pricing, prepared.model) ? config.pricing[prepared.model]?.[field] : undefined;
  const perUnit = own ?? Math.max(0, ...Object.values(config.pricing).map((p) => p[field] ?? 0));
  return usdToTicks(perUnit * prepared.mediaUnits);
}

/**
 * The price used when xAI sends no cost: the model's own, else the dearest configured one, so that cost
 * budgets are reserved conservatively for models missing from `pricing`.
 */
function priceFor(config: GatewayConfig, model: string | null): GatewayConfig['pricing'][string] | undefined {
  if (model !== null) {
    const own = config.pricing[model];
    if (own !== undefined) return own;
  }
  let dearest: GatewayConfig['pricing'][string] | undefined;
  for (const price of Object.values(config.pricing)) if (dearest === undefined || price.output > dearest.output) dearest = price;
  return dearest;
}

function once<A>(fn: (arg: A) => Promise<void>): (arg: A) => Promise<void> {
  let called: Promise<void> | null = null;
  return (arg) => {
    called ??= fn(arg);
    return called;
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isStream(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && typeof (body as { pipe?: unknown }).pipe === 'function';
}
