import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from '../config/types.js';
import { GatewayError, errors } from '../errors.js';
import { parseChildRequest } from '../keys/child-request-input.js';
import { generateClientKey, generateKeyId, hashClientKey } from '../keys/key-format.js';
import type { KeyResolver } from '../keys/key-resolver.js';
import type { KeyRecord, KeyStore } from '../keys/types.js';
import { narrowChild } from '../policy/narrow-scopes.js';
import { clientAuthHook } from './client-auth-hook.js';
import { afterKeyChange, type KeyChangeDeps } from './key-change-effects.js';
import { keyView } from './key-view.js';

export interface GatewayKeysDeps extends KeyChangeDeps {
  config: () => GatewayConfig;
  store: KeyStore;
  resolver: KeyResolver;
  now: () => number;
}

/**
 * `POST /gateway/keys` (SPEC §3, §6): a client key whose record has `mint` mints a child key — same body
 * as `POST /admin/keys` — that can only narrow it (src/policy/narrow-scopes.ts). The caller is authenticated like
 * any /v1 call (expiry, revocation, origin, IP). A key without `mint` gets 403 endpoint_not_allowed; any
 * widening is 400 with every problem named. Answers 201 with the child and its secret, shown this once.
 */
export function registerGatewayKeysRoutes(app: FastifyInstance, deps: GatewayKeysDeps): void {
  void app.register(async (scope) => {
    const onRequest = clientAuthHook({ resolver: deps.resolver, plans: () => deps.config().plans, now: deps.now });
    scope.post('/gateway/keys', { onRequest }, async (request, reply) => {
      const client = request.gw.client;
      if (client === null) throw new Error('a mint reached its handler unauthenticated');
      const parent = client.key;
      if (parent.mint === null) {
        throw new GatewayError({ status: 403, code: 'endpoint_not_allowed', message: 'This API key may not mint child keys (its record has no "mint").' });
      }
      const nowMs = deps.now();
      const parsed = parseChildRequest(request.body, { plans: deps.config().plans, nowMs });
      if (!parsed.ok) throw errors.invalidRequest(`Invalid key: ${parsed.problems.join('; ')}`);
      const narrowed = narrowChild({ parent: { record: parent, policy: client.policy }, request: parsed.request, nowMs });
      if (!narrowed.ok) throw errors.invalidRequest(`A child key can only narrow its parent: ${narrowed.problems.join('; ')}`);

      const secret = generateClientKey();
      const at = new Date(nowMs).toISOString();
      const child: KeyRecord = { ...narrowed.fields, id: generateKeyId(), createdAt: at, updatedAt: at, revokedAt: null, parentId: parent.id, source: 'api' };
      await deps.store.create(child, hashClientKey(secret));
      await afterKeyChange(deps, { at, actor: `key:${parent.id}`, action: 'mint', keyId: child.id, changes: { ...narrowed.fields, parentId: parent.id } }, request.log);
      // The secret is in this one response and nowhere else: only its hash was stored.
      return reply.code(201).send({ ...keyView(child, nowMs), key: secret });
    });
  });
}
