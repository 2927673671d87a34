import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_AUDIT_PAGE } from '../../audit/types.js';
import { errors, GatewayError } from '../../errors.js';
import { generateClientKey, generateKeyId, hashClientKey } from '../../keys/key-format.js';
import { parseKeyInput } from '../../keys/key-input.js';
import type { KeyRecord } from '../../keys/types.js';
import type { Limiter } from '../../limits/types.js';
import { adminTokenFingerprint, matchAdminToken } from '../../keys/admin-auth.js';
import { patchKey, revokeKey, rotateKey, type Caller, type LifecycleDeps } from './admin-key-lifecycle.js';
import { allKeysUsage, keyActivity, overview } from '../../activity/usage-reports.js';
import { REQUEST_LOG_LENGTH as MAX_REQUEST_PAGE, type ActivityStore } from '../../activity/types.js';
import { MAX_DELIVERIES, type AlertStore } from '../../alerts/types.js';
import { plansView } from '../../config/plans-view.js';
import { afterKeyChange } from './key-change-effects.js';
import { keyView as view } from '../../keys/key-view.js';
import { usageCsv, usageReportView, usageView } from '../../activity/usage-view.js';
import { OBJECT_ID_RE } from '../../ownership/access.js';
import type { OwnershipStore } from '../../ownership/types.js';

export interface AdminDeps extends LifecycleDeps {
  limiter: Limiter;
  /** Who created which xAI object (docs/isolation.md). */
  ownership: OwnershipStore;
  /** Request logs, outcome counts, requests in flight (src/activity). */
  activity: ActivityStore;
  /** Alert deliveries (src/alerts). */
  alerts: AlertStore;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The admin API (docs/api.md). Off (404) while no admin token is configured; every route requires one of the
 * configured tokens, compared in constant time; a client key never opens it.
 */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  void app.register(async (scope) => {
    // Who made each change, for the audit log: the matched token's fingerprint, never the token (docs/api.md).
    const actors = new WeakMap<FastifyRequest, string>();
    const caller = (request: FastifyRequest): Caller => ({ actor: actors.get(request) ?? 'admin:unknown', log: request.log });
    // Grace ends are announced again so every instance drops a rotated-out secret from its cache on time.
    const graceTimers = new Set<NodeJS.Timeout>();
    const scheduleChange = (keyId: string, delayMs: number): void => {
      const timer = setTimeout(() => {
        graceTimers.delete(timer);
        void deps.applyLocally(keyId);
        deps.keyChanges.publish(keyId).catch(() => {
          // Lost: other instances' caches still expire within their TTL.
        });
      }, delayMs);
      timer.unref();
      graceTimers.add(timer);
    };
    scope.addHook('onClose', async () => {
      for (const timer of graceTimers) clearTimeout(timer);
      graceTimers.clear();
    });

    scope.addHook('onRequest', async (request: FastifyRequest) => {
      const tokens = deps.config().admin.tokens;
      if (tokens.length === 0) throw errors.notFound('The admin API is off: set GATEWAY_ADMIN_TOKEN to turn it on.');
      const header = request.headers.authorization;
      const token = matchAdminToken(typeof header === 'string' ? header : undefined, tokens);
      if (token === null) throw errors.invalidAdminToken();
      actors.set(request, adminTokenFingerprint(token));
    });

    scope.post('/admin/keys', async (request, reply) => created(reply, await createKey(deps, request.body, caller(request))));

    scope.patch('/admin/keys/:id', async (request) => patchKey(deps, idParam(request), request.body, caller(request)));

    scope.delete('/admin/keys/:id', async (request) => revokeKey(deps, idParam(request), caller(request)));

    scope.post('/admin/keys/:id/rotate', async (request) =>
      rotateKey(deps, { id: idParam(request), body: request.body, caller: caller(request), scheduleChange }),
    );

    scope.get('/admin/usage', async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const format = formatParam(query);
      const report = await allKeysUsage(deps, dateRange(query, deps.now()));
      if (format === 'csv') return csv(reply, 'usage', report.from, report.to, usageCsv(report.keys));
      return report;
    });

    scope.get('/admin/overview', async () => overview(deps, deps.now()));

    scope.get('/admin/plans', async () => plansView(deps.config().plans));

    scope.get('/admin/alerts', async (request) => {
      const query = request.query as Record<string, string | undefined>;
      const limit = query.limit === undefined ? 100 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DELIVERIES) throw errors.invalidRequest(`limit must be an integer from 1 to ${MAX_DELIVERIES}.`);
      return { data: await deps.alerts.listDeliveries(limit) };
    });

    scope.get('/admin/keys/:id/requests', async (request) => {
      const key = await findKey(deps, idParam(request));
      const query = request.query as Record<string, string | undefined>;
      const limit = query.limit === undefined ? 50 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REQUEST_PAGE) throw errors.invalidRequest(`limit must be an integer from 1 to ${MAX_REQUEST_PAGE}.`);
      return { data: await deps.activity.recent(key.id, familyOf(key), limit) };
    });

    scope.get('/admin/audit', async (request) => {
      const query = request.query as Record<string, string | undefined>;
      const limit = query.limit === undefined ? 100 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) throw errors.invalidRequest(`limit must be an integer from 1 to ${MAX_AUDIT_PAGE}.`);
      return deps.audit.list({ limit, cursor: query.cursor });
    });

    scope.get('/admin/keys', async (request) => {
      const query = request.query as Record<string, string | undefined>;
      const limit = query.limit === undefined ? 100 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw errors.invalidRequest('limit must be an integer from 1 to 1000.');
      let page;
      try {
        page = await deps.store.list({ limit, cursor: query.cursor });
      } catch (err) {
        if (query.cursor !== undefined && !(err instanceof GatewayError)) throw errors.invalidRequest('Invalid cursor.');
        throw err;
      }
      const declared = query.cursor === undefined ? deps.declaredKeys() : [];
      return { data: [...declared, ...page.data].map((k) => view(k, deps.now())), nextCursor: page.nextCursor };
    });

    scope.get('/admin/keys/:id', async (request) => {
      const key = await findKey(deps, (request.params as { id: string }).id);
      const today = utcDate(deps.now());
      const [report, live] = await Promise.all([keyActivity(deps, key, { from: today, to: today }), deps.activity.live(deps.now())]);
      // Children's requests are in their parent's count: each request is published under every key of its chain.
      return { ...view(key, deps.now()), usage: { today: usageView(report.totals) }, live: { inFlight: live.byKey.get(key.id) ?? 0 } };
    });

    // Which client key owns an xAI object, and when it was made (docs/isolation.md).
    scope.get('/admin/objects/:id', async (request) => {
      const id = idParam(request);
      const [owner] = OBJECT_ID_RE.test(id) ? await deps.ownership.getMany([id]) : [null];
      if (owner === undefined || owner === null) throw errors.notFound(`No object with id ${JSON.stringify(id.slice(0, 200))} was made through this gateway.`);
      return {
        id: owner.id,
        kind: owner.kind,
        keyId: owner.ownerId,
        parentKeyId: owner.ownerParentId,
        createdAt: new Date(owner.createdAtMs).toISOString(),
        expiresAt: owner.expiresAtMs === null ? null : new Date(owner.expiresAtMs).toISOString(),
      };
    });

    scope.get('/admin/keys/:id/usage', async (request, reply) => {
      const key = await findKey(deps, (request.params as { id: string }).id);
      const query = request.query as Record<string, string | undefined>;
      const format = formatParam(query);
      const range = dateRange(query, deps.now());
      const report = usageReportView(await keyActivity(deps, key, range));
      if (format === 'csv') return csv(reply, key.id, range.from, range.to, usageCsv([report]));
      return report;
    });
  });
}

function formatParam(query: Record<string, string | undefined>): 'json' | 'csv' {
  const format = query.format ?? 'json';
  if (format !== 'json' && format !== 'csv') throw errors.invalidRequest('format must be json or csv.');
  return format;
}

function csv(reply: FastifyReply, name: string, from: string, to: string, body: string): FastifyReply {
  // The name is a key id or "usage": word characters only, so it is safe in the header as is.
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name.replace(/[^\w-]/g, '_')}-${from}-${to}.csv"`)
    .send(body);
}

function idParam(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}

async function createKey(deps: AdminDeps, body: unknown, caller: Caller): Promise<unknown> {
  const nowMs = deps.now();
  const input = parseKeyInput(body, { plans: deps.config().plans, nowMs });
  if (!input.ok) throw errors.invalidRequest(`Invalid key: ${input.problems.join('; ')}`);
  const secret = generateClientKey();
  const at = new Date(nowMs).toISOString();
  const record: KeyRecord = { ...input.fields, id: generateKeyId(), createdAt: at, updatedAt: at, revokedAt: null, parentId: null, source: 'api' };
  await deps.store.create(record, hashClientKey(secret));
  await afterKeyChange(deps, { at, actor: caller.actor, action: 'create', keyId: record.id, changes: { ...input.fields } }, caller.log);
  // The secret is in this one response and nowhere else: only its hash was stored.
  return { ...view(record, nowMs), key: secret };
}

async function findKey(deps: AdminDeps, id: string): Promise<KeyRecord> {
  const key = deps.declaredKeys().find((k) => k.id === id) ?? (await deps.store.get(id));
  if (key === null) throw errors.notFound(`No key with id "${id}".`);
  return key;
}

function familyOf(key: KeyRecord): string {
  return key.parentId ?? key.id;
}

function created(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.code(201).send(body);
}

function utcDate(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

export function dateRange(query: Record<string, string | undefined>, nowMs: number): { from: string; to: string } {
  const today = utcDate(nowMs);
  const from = query.from ?? today;
  const to = query.to ?? today;
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (!DATE_RE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)) || new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) {
      throw errors.invalidRequest(`${name} must be a date YYYY-MM-DD.`);
    }
  }
  if (from > to) throw errors.invalidRequest('from must not be after to.');
  if ((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 > 366) {
    throw errors.invalidRequest('A usage range may span at most 366 days.');
  }
  return { from, to };
}
