import type { FastifyInstance } from 'fastify';
import type { GatewayConfig, LimitSet } from '../../config/types.js';
import { GatewayError, errors } from '../../errors.js';
import { parseChildRequest } from '../../keys/child-request-input.js';
import { generateClientKey, generateKeyId, hashClientKey } from '../../keys/key-format.js';
import type { KeyResolver } from '../../keys/key-resolver.js';
import type { KeyRecord, KeyStore } from '../../keys/types.js';
import { narrowChild } from '../../policy/narrow-scopes.js';
import { randomUUID } from 'node:crypto';
import { DEFAULT_MAX_ACTIVE_CHILDREN } from '../../config/schema.js';
import type { Limiter, Reservation } from '../../limits/types.js';
import { keyState } from '../../policy/scopes.js';
import { admissionRefusal } from '../../limits/admission-refusal.js';
import { clientAuthHook } from '../hooks/client-auth-hook.js';
import { afterKeyChange, type KeyChangeDeps } from '../admin/key-change-effects.js';
import { keyView } from '../../keys/key-view.js';

export interface GatewayKeysDeps extends KeyChangeDeps {
  config: () => GatewayConfig;
  store: KeyStore;
  /** A mint is a request of the minting key, against its own limits (docs/api.md). */
  limiter: Limiter;
  resolver: KeyResolver;
  now: () => number;
}

/**
 * `POST /gateway/keys` (docs/api.md): a client key whose record has `mint` mints a child key — same body
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
      const reservation = await admitMint(deps, { parent, limits: client.policy.limits, nowMs });
      try {
        await assertRoomForChild(deps, parent, nowMs);
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
      } finally {
        // Nothing reached xAI: the mint's reservation (and its hold on the parent's mint slot) is released.
        void deps.limiter.settle({ reservation, usage: null, model: '(none)', nowMs: deps.now() }).catch((err: unknown) => {
          request.log.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, 'mint reservation not released; it lapses with its lease');
        });
      }
    });
  });
}

/** Mints of one parent that wait for its mint slot, and for how long between tries. */
const MINT_SLOT_TRIES = 40;
const MINT_SLOT_WAIT_MS = 25;

/**
 * A mint is admitted as a request of the minting key, against its own limits (requestsPerMinute and the rest).
 * Its admission also takes the parent's one mint slot: a pseudo-subject `<parent id>.mint` with concurrency 1,
 * held until the child is written. So the count of active children that assertRoomForChild checks cannot change
 * under it, on any instance: mints of one parent run one at a time, and `mint.maxActiveChildren` is exact.
 * A mint that finds the slot taken waits for it (up to about a second), as a mint takes milliseconds.
 */
async function admitMint(deps: GatewayKeysDeps, input: { parent: KeyRecord; limits: LimitSet; nowMs: number }): Promise<Reservation> {
  const { parent } = input;
  const slot = `${parent.id}.mint`;
  for (let attempt = 1; ; attempt += 1) {
    const admission = await deps.limiter.admit({
      requestId: randomUUID(),
      subjects: [
        { keyId: parent.id, limits: input.limits },
        { keyId: slot, limits: MINT_SLOT_LIMITS },
      ],
      familyId: parent.parentId ?? parent.id,
      estimatedTokens: 0,
      estimatedCostTicks: 0,
      nowMs: attempt === 1 ? input.nowMs : deps.now(),
      leaseMs: 60_000,
    });
    if (admission.admitted) return admission.reservation;
    if (admission.keyId !== slot) throw admissionRefusal(admission);
    if (attempt >= MINT_SLOT_TRIES) {
      throw new GatewayError({ status: 429, code: 'rate_limit_exceeded', message: 'Too many mints of this key at once; retry shortly.', headers: { 'retry-after': '1' } });
    }
    await new Promise((resolve) => setTimeout(resolve, MINT_SLOT_WAIT_MS));
  }
}

const MINT_SLOT_LIMITS: LimitSet = Object.freeze({ concurrency: 1 });

/**
 * A minting key may have at most `mint.maxActiveChildren` (default 1000) children that are neither expired nor
 * revoked (docs/api.md); past that a mint is 429 quota_exceeded. Exact: the caller holds the parent's mint slot.
 */
async function assertRoomForChild(deps: GatewayKeysDeps, parent: KeyRecord, nowMs: number): Promise<void> {
  const max = parent.mint?.maxActiveChildren ?? DEFAULT_MAX_ACTIVE_CHILDREN;
  const children = await deps.store.listChildren(parent.id);
  const active = children.filter((child) => keyState(child, nowMs) === 'active').length;
  if (active >= max) {
    throw new GatewayError({ status: 429, code: 'quota_exceeded', message: `This key already has ${active} active child keys, its mint.maxActiveChildren.` });
  }
}
