import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig, LimitSet, ModelPrice } from '../../config/types.js';
import { errors } from '../../errors.js';
import type { KeyResolver } from '../../keys/key-resolver.js';
import type { AdmissionResult, Limiter } from '../../limits/types.js';
import { resolveRoute, type RouteMatch } from '../../policy/routes.js';
import { RESERVATION_LEASE_MS } from '../../limits/semantics.js';
import type { GatewayMetrics } from '../../metrics/gateway-metrics.js';
import type { ModelCatalog } from '../../upstream/model-catalog.js';
import type { UpstreamClient } from '../../upstream/client.js';
import { requestTooLarge } from '../../upstream/limited-body.js';
import { ZERO_USAGE } from '../../usage/types.js';
import { mediaReserveTicks, NOTHING_RESERVED, priceFor, reservationEstimate, type ReservationEstimate } from '../../usage/reservation.js';
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
import type { AlertMonitor } from '../../alerts/monitor.js';
import { RELEASED, RequestSettlement, type SettleResult } from './request-settlement.js';

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
  const prepared = prepareRequest({
    route,
    contentType: header(request, 'content-type'),
    contentEncoding: header(request, 'content-encoding'),
    rawBody: Buffer.isBuffer(request.body) ? request.body : null,
    policies: client.parentPolicy === null ? [client.policy] : [client.policy, client.parentPolicy],
    limits: subjects.map((s) => s.limits),
    defaultOutputTokens: config.quotas.defaultOutputTokens,
    keyExpiresAtMs: earliestExpiry(client),
    nowMs: deps.now(),
  });
  request.gw.model = prepared.model;

  const price = priceFor(config.pricing, prepared.model);
  const metered = route.handling === 'forward' && route.usage !== 'none';
  const estimate = metered
    ? reservationEstimate({
        promptTokens: prepared.estimatedPromptTokens,
        outputCapTokens: prepared.outputCapTokens,
        price,
        mediaTicks: mediaReserveTicks(config.pricing, route.endpoint === 'images' ? 'images' : 'videos', prepared.model, prepared.mediaUnits),
      })
    : NOTHING_RESERVED;
  const addressed = addressedObjects(lookup.match, prepared);
  const admitting = admit(deps, { client, subjects, estimate });
  const reached =
    addressed.length === 0
      ? { admission: await admitting, owners: [] }
      : await admitReaching({
          ownership: deps.ownership,
          admitting,
          refs: addressed,
          keyId: client.key.id,
          // Not a settlement: the request is refused (404) as if never admitted, and the reservation undone.
          undo: (reservation) => deps.limiter.settle({ reservation, usage: null, model: '(none)', nowMs: deps.now(), correction: false }),
        });
  const admission = reached.admission;
  reply.headers(rateLimitHeaders(admission.rate));
  if (!admission.admitted) {
    request.gw.refusal = admission.limit;
    throw refusal(admission);
  }

  // From here the request is admitted, and this object alone ends it: once, with a release or with its outcome.
  const settlement = new RequestSettlement(deps, request, reply, { reservation: admission.reservation, client, model: prepared.model });
  let dispatched: Dispatched;
  try {
    // A GET of a deferred completion or video names its object first: its owner record says what is charged.
    const fetched = route.method === 'GET' && (route.addresses === 'video' || route.addresses === 'deferred') ? (reached.owners[0] ?? null) : null;
    dispatched = await dispatch(request, reply, deps, { match: lookup.match, client, prepared, price, estimate, fetched });
  } catch (err) {
    // dispatch throws only before anything was relayed: the request failed, its reservation is released.
    settlement.release();
    throw err;
  }
  settlement.settleWhen(dispatched.outcome);
  return reply;
}

interface DispatchInput {
  match: RouteMatch;
  client: AuthenticatedClient;
  prepared: PreparedRequest;
  /** The model's price, for usage xAI reports without a cost. */
  price: ModelPrice | undefined;
  /** What the admission reserved: what the creation of a result xAI reports later is charged up front. */
  estimate: ReservationEstimate;
  /** The owner record of the deferred completion or video a GET fetches, else null. */
  fetched: ObjectOwner | null;
}

/** An answer on its way: `outcome` resolves, once it has ended, with what the request is settled with. */
interface Dispatched {
  outcome: Promise<SettleResult>;
}

/** Answers an admitted request. Throws only before anything was relayed. */
async function dispatch(request: FastifyRequest, reply: FastifyReply, deps: V1Deps, input: DispatchInput): Promise<Dispatched> {
  const { match, client } = input;
  switch (match.route.handling) {
    case 'api-key': {
      void reply.send(await answerApiKey(client, deps.limiter, deps.now()));
      return { outcome: Promise.resolve(RELEASED) };
    }
    case 'models': {
      void reply.send(await answerModels(match, client, deps.models));
      return { outcome: Promise.resolve(RELEASED) };
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
      return { outcome: Promise.resolve(sentUpstream ? { usage: ZERO_USAGE, model: null } : RELEASED) };
    }
    case 'forward':
      return forward(request, reply, deps, input);
  }
}

async function forward(request: FastifyRequest, reply: FastifyReply, deps: V1Deps, input: DispatchInput): Promise<Dispatched> {
  const { match, client, prepared, price, estimate, fetched } = input;
  const creates = prepared.creates;
  // A video or deferred completion is charged its reservation when xAI accepts it; the fetch corrects that.
  const upFront: UpFrontCharge | null =
    creates === 'video' || creates === 'deferred'
      ? { model: prepared.model, promptTokens: estimate.promptTokens, completionTokens: estimate.completionTokens, costTicks: estimate.costTicks }
      : null;
  const config = deps.config();
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
      bodyLimitBytes: config.server.bodyLimitBytes,
      onClientDisconnect: { mode: config.quotas.onClientDisconnect, drainMs: config.quotas.disconnectDrainMs },
      recordCreated:
        creates === null
          ? null
          : (created) => recordOwner({ request, ownership: deps.ownership, nowMs: deps.now(), kind: creates, created, client, upFront }),
      observe: {
        upstreamResponded: (seconds) => deps.metrics.upstreamResponded(match.route.endpoint, seconds),
        streamStarted: () => deps.metrics.streamStarted(),
        streamEnded: () => deps.metrics.streamEnded(),
      },
    },
    deps.upstream,
  );
  const outcome = done.then(async (result): Promise<SettleResult> => {
    request.gw.streamed = String(reply.getHeader('content-type') ?? '').startsWith('text/event-stream');
    request.gw.broken = result.cutShort && !result.clientAborted;
    forgetDeleted({ request, ownership: deps.ownership, match, status: result.status });
    const usage = settlementUsage(result, { promptTokens: prepared.estimatedPromptTokens, outputCapTokens: prepared.outputCapTokens }, price);
    if (upFront !== null && result.status >= 200 && result.status < 300 && usage !== null) {
      return { usage: chargedUpFront(usage, upFront), observed: usage, model: result.upstreamModel };
    }
    if (fetched === null) return { usage, model: result.upstreamModel };
    const charge = await chargeFetchedOnce({ ownership: deps.ownership, owner: fetched, usage, nowMs: deps.now() });
    return { usage: charge.usage, observed: charge.observed, correction: charge.correction, model: charge.model ?? result.upstreamModel };
  });
  return { outcome };
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

function subjectsOf(client: AuthenticatedClient): { keyId: string; limits: LimitSet }[] {
  const subjects = [{ keyId: client.key.id, limits: client.policy.limits }];
  if (client.parent !== null && client.parentPolicy !== null) subjects.push({ keyId: client.parent.id, limits: client.parentPolicy.limits });
  return subjects;
}

async function admit(
  deps: V1Deps,
  input: { client: AuthenticatedClient; subjects: { keyId: string; limits: LimitSet }[]; estimate: ReservationEstimate },
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

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isStream(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && typeof (body as { pipe?: unknown }).pipe === 'function';
}
