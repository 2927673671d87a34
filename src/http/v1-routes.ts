import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig, LimitSet } from '../config/types.js';
import { errors, GatewayError } from '../errors.js';
import type { KeyResolver } from '../keys/key-resolver.js';
import type { AdmissionResult, Limiter, Reservation } from '../limits/types.js';
import { resolveRoute, type RouteMatch } from '../policy/routes.js';
import type { ModelCatalog } from '../upstream/model-catalog.js';
import type { UpstreamClient } from '../upstream/client.js';
import { costTicksFor } from '../usage/cost.js';
import { authenticateClient, type AuthenticatedClient } from './client-auth.js';
import { forwardRequest } from './forward.js';
import { answerApiKey, answerModels } from './gateway-answers.js';
import { prepareRequest, type PreparedRequest } from './prepare-request.js';
import { rateLimitHeaders } from './rate-headers.js';
import { settlementUsage } from './settlement-usage.js';
import { logRequest } from './request-log.js';

export interface V1Deps {
  config: () => GatewayConfig;
  resolver: KeyResolver;
  limiter: Limiter;
  upstream: UpstreamClient;
  models: ModelCatalog;
  now: () => number;
}

const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD'] as const;

/**
 * The client API (SPEC §4). One wildcard route whose handler resolves the path against the route table, so
 * every `/v1` request — offered or not — goes through the same checks, and anything not offered is 404
 * without ever being forwarded. Bodies arrive as raw bytes (JSON) or as the untouched request stream
 * (multipart), so what the client sent is what xAI receives unless the gateway must add a field.
 */
export function registerV1Routes(app: FastifyInstance, deps: V1Deps): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('multipart/form-data', (_request, payload, done) => done(null, payload));
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.route({ method: [...METHODS], url: '/v1/*', handler: (request, reply) => handleV1(request, reply, deps) });
  });
}

async function handleV1(request: FastifyRequest, reply: FastifyReply, deps: V1Deps): Promise<FastifyReply> {
  const lookup = resolveRoute(request.method, request.url);
  if (lookup.kind !== 'match') throw errors.notFound(`No such route: ${request.method} ${request.url.split('?')[0] ?? ''}`);
  const { route } = lookup.match;
  request.gw.endpoint = route.endpoint;

  const client = await storeCall(() =>
    authenticateClient(
      {
        authorization: header(request, 'authorization'),
        apiKeyHeader: header(request, 'x-api-key'),
        origin: header(request, 'origin'),
        ip: request.ip,
      },
      { resolver: deps.resolver, plans: () => deps.config().plans, now: deps.now },
    ),
  );
  request.gw.keyId = client.key.id;
  const config = deps.config();
  const limits = subjectsOf(client).map((s) => s.limits);
  const prepared = prepareRequest({
    route,
    contentType: header(request, 'content-type'),
    rawBody: Buffer.isBuffer(request.body) ? request.body : null,
    policies: client.parentPolicy === null ? [client.policy] : [client.policy, client.parentPolicy],
    limits,
    defaultOutputTokens: config.quotas.defaultOutputTokens,
  });
  request.gw.model = prepared.model;

  const admission = await admit(deps, client, route.handling === 'forward' && route.usage !== 'none' ? prepared : null);
  reply.headers(rateLimitHeaders(admission.rate));
  if (!admission.admitted) throw refusal(admission);

  request.gw.deferLog = true;
  const settle = once(async (result: { usage: Parameters<Limiter['settle']>[0]['usage']; model: string | null }) => {
    request.gw.usage = result.usage;
    await settleReservation(deps, admission.reservation, result.usage, result.model ?? prepared.model);
  });
  try {
    return await dispatch(request, reply, deps, { match: lookup.match, client, prepared, settle });
  } catch (err) {
    // Refused or failed before anything was relayed: release the reservation, count no usage.
    void settle({ usage: null, model: null }).finally(() => logRequest(request, reply));
    throw err;
  }
}

interface DispatchInput {
  match: RouteMatch;
  client: AuthenticatedClient;
  prepared: PreparedRequest;
  settle: (result: { usage: Parameters<Limiter['settle']>[0]['usage']; model: string | null }) => Promise<void>;
}

async function dispatch(request: FastifyRequest, reply: FastifyReply, deps: V1Deps, input: DispatchInput): Promise<FastifyReply> {
  const { match, client, prepared, settle } = input;
  const finish = (): void => {
    void settle({ usage: null, model: null }).finally(() => logRequest(request, reply));
  };
  switch (match.route.handling) {
    case 'api-key': {
      const body = await storeCall(() => answerApiKey(client, deps.limiter, deps.now()));
      finish();
      return reply.send(body);
    }
    case 'models': {
      const body = await answerModels(match, client, deps.models);
      finish();
      return reply.send(body);
    }
    case 'forward': {
      const price = priceFor(deps.config(), prepared.model);
      const { done } = await forwardRequest(
        {
          request,
          reply,
          route: match.route,
          upstreamPath: match.upstreamPath,
          body: prepared.upstreamBody ?? (isStream(request.body) ? request.body : null),
          stripUsageChunk: prepared.stripUsageChunk,
          price,
        },
        deps.upstream,
      );
      void done
        .then((result) =>
          settle({ usage: settlementUsage(result, prepared.estimatedPromptTokens, price), model: result.upstreamModel }),
        )
        .catch((err: unknown) => request.log.error({ err }, 'settlement failed'))
        .finally(() => logRequest(request, reply));
      return reply;
    }
  }
}

function subjectsOf(client: AuthenticatedClient): { keyId: string; limits: LimitSet }[] {
  const subjects = [{ keyId: client.key.id, limits: client.policy.limits }];
  if (client.parent !== null && client.parentPolicy !== null) subjects.push({ keyId: client.parent.id, limits: client.parentPolicy.limits });
  return subjects;
}

async function admit(deps: V1Deps, client: AuthenticatedClient, metered: PreparedRequest | null): Promise<AdmissionResult> {
  const config = deps.config();
  const estimatedTokens = metered === null ? 0 : metered.estimatedPromptTokens + metered.outputCapTokens;
  const price = metered === null ? undefined : priceFor(config, metered.model);
  const estimatedCostTicks =
    metered === null
      ? 0
      : costTicksFor({ promptTokens: metered.estimatedPromptTokens, cachedTokens: 0, completionTokens: metered.outputCapTokens, reasoningTokens: 0 }, price);
  return storeCall(() =>
    deps.limiter.admit({
      requestId: randomUUID(),
      subjects: subjectsOf(client),
      familyId: client.parent?.id ?? client.key.id,
      estimatedTokens,
      estimatedCostTicks,
      nowMs: deps.now(),
      // A reservation outlives the longest wait for xAI's first byte; past it, a crashed instance's hold expires.
      leaseMs: config.upstream.headersTimeoutMs + 300_000,
    }),
  );
}

async function settleReservation(deps: V1Deps, reservation: Reservation, usage: Parameters<Limiter['settle']>[0]['usage'], model: string | null): Promise<void> {
  await deps.limiter.settle({ reservation, usage, model: model ?? '(none)', nowMs: deps.now() });
}

function refusal(admission: Extract<AdmissionResult, { admitted: false }>): GatewayError {
  const headers: Record<string, string> = admission.retryAfterSeconds === null ? {} : { 'retry-after': String(admission.retryAfterSeconds) };
  const message =
    admission.code === 'rate_limit_exceeded'
      ? `Rate limit reached (${admission.limit}); retry after the window frees up.`
      : `Quota exhausted (${admission.limit}).`;
  return new GatewayError({ status: 429, code: admission.code, message, headers });
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

/** Store failures (Redis down) fail closed as 503 store_unavailable (SPEC §4); our own errors pass. */
async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw errors.storeUnavailable(err);
  }
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
