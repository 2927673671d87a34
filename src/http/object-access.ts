import type { FastifyRequest } from 'fastify';
import { errors, type GatewayError } from '../errors.js';
import type { AdmissionResult, Reservation } from '../limits/types.js';
import { createdObjectId, mayReach, objectExpiresAtMs, OBJECT_ID_RE } from '../ownership/access.js';
import type { ObjectRef } from '../ownership/body-refs.js';
import type { ObjectKind, ObjectOwner, OwnershipStore } from '../ownership/types.js';
import type { RouteMatch } from '../policy/routes.js';
import { ZERO_USAGE, type Usage } from '../usage/types.js';
import type { AuthenticatedClient } from './client-auth.js';
import type { PreparedRequest } from './prepare-request.js';
import { storeCall } from './store-call.js';

/**
 * Tenant isolation on the request path (docs/isolation.md): which objects a request names, the owner check that
 * runs beside its admission, the owner record of an object it creates, and forgetting an object it deletes.
 */

/** The objects a request names — its path's `:id` and its body's references — each the caller's to reach. */
export function addressedObjects(match: RouteMatch, prepared: PreparedRequest): readonly ObjectRef[] {
  const kind = match.route.addresses;
  const id = match.params['id'];
  if (kind === null || id === undefined) return prepared.objectRefs;
  return prepared.objectRefs.length === 0 ? [{ kind, id }] : [{ kind, id }, ...prepared.objectRefs];
}

/**
 * Admission for a request that names objects: the owner records are read while the admission runs, so the check
 * adds no round trip. An object the caller may not reach — another key's, one created outside the gateway, an
 * unknown id — is 404 not_found, the same answer as a missing object, and the admission is released: nothing is
 * sent upstream. A refused admission is answered as such, whatever the objects.
 */
export async function admitReaching(input: {
  ownership: OwnershipStore;
  admitting: Promise<AdmissionResult>;
  refs: readonly ObjectRef[];
  keyId: string;
  release: (reservation: Reservation) => Promise<void>;
}): Promise<{ admission: AdmissionResult; owners: readonly ObjectOwner[] }> {
  const { refs, keyId } = input;
  // An id of another shape cannot be one the gateway recorded: no read for it.
  const lookups = refs.filter((ref) => OBJECT_ID_RE.test(ref.id));
  const [admission, owners] = await Promise.allSettled([input.admitting, storeCall(() => input.ownership.getMany(lookups.map((ref) => ref.id)))]);
  if (admission.status === 'rejected') throw admission.reason;
  if (!admission.value.admitted) return { admission: admission.value, owners: [] };
  const denied = owners.status === 'fulfilled' ? firstUnreachable(refs, lookups, owners.value, keyId) : null;
  // Every ref reachable, so every one was looked up and has its record, in the order of `refs`.
  if (owners.status === 'fulfilled' && denied === null) return { admission: admission.value, owners: owners.value as ObjectOwner[] };
  await input.release(admission.value.reservation).catch(() => undefined);
  if (owners.status === 'rejected') throw owners.reason;
  throw objectNotFound(denied ?? (refs[0] as ObjectRef));
}

function firstUnreachable(refs: readonly ObjectRef[], lookups: readonly ObjectRef[], owners: readonly (ObjectOwner | null)[], keyId: string): ObjectRef | null {
  for (const ref of refs) {
    const at = lookups.indexOf(ref);
    if (at === -1 || !mayReach(owners[at] ?? null, ref.kind, keyId)) return ref;
  }
  return null;
}

const OBJECT_NOUN: Record<ObjectKind, string> = {
  file: 'file',
  response: 'response',
  batch: 'batch',
  deferred: 'deferred completion',
  video: 'video',
};

function objectNotFound(ref: ObjectRef): GatewayError {
  return errors.notFound(`No ${OBJECT_NOUN[ref.kind]} with id ${JSON.stringify(ref.id.slice(0, 200))} was found.`);
}

/**
 * Records the caller as the owner of the object a successful answer created, before the answer is relayed. A
 * record that cannot be written (Redis failing right then) is logged: the answer still goes out, since xAI made
 * the object and billed for it, but the object can then be reached by no key — never by another key.
 */
export async function recordOwner(input: {
  request: FastifyRequest;
  ownership: OwnershipStore;
  nowMs: number;
  kind: ObjectKind;
  created: Record<string, unknown>;
  client: AuthenticatedClient;
  /** What the creation was charged up front for a result xAI reports later (a video's price). */
  reservedCostTicks: number;
}): Promise<void> {
  const { kind, nowMs } = input;
  const id = createdObjectId(kind, input.created);
  if (id === null) return;
  try {
    await input.ownership.record({
      id,
      kind,
      ownerId: input.client.key.id,
      ownerParentId: input.client.parent?.id ?? null,
      createdAtMs: nowMs,
      expiresAtMs: objectExpiresAtMs(kind, input.created, nowMs),
      reservedCostTicks: input.reservedCostTicks,
    });
  } catch (err) {
    input.request.log.error(
      { err: { message: err instanceof Error ? err.message : String(err) }, objectKind: kind },
      'owner of a created object not recorded: it cannot be reached through the gateway',
    );
  }
}

/** An object deleted through the gateway is forgotten: its record is of no more use. */
export function forgetDeleted(input: { request: FastifyRequest; ownership: OwnershipStore; match: RouteMatch; status: number }): void {
  const { match, status } = input;
  const id = match.params['id'];
  if (match.route.method !== 'DELETE' || match.route.addresses === null || id === undefined || status < 200 || status >= 300) return;
  input.ownership.forget(id).catch((err: unknown) => {
    input.request.log.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, 'record of a deleted object not removed; it lapses with its expiry');
  });
}

/**
 * A video's creation is charged its reserved price at once (SPEC §5): xAI reports the cost only when the result is
 * fetched, and by then the budget must already hold it — a hundred requests in a row must not all fit one budget.
 * A creation that is never fetched stays charged as reserved.
 */
export function chargedUpFront(usage: Usage, reservedCostTicks: number): Usage {
  return { ...usage, costTicks: Math.max(usage.costTicks, reservedCostTicks), costFromUpstream: false };
}

/**
 * A fetched deferred completion or video is charged once, to the key family that fetched it — the creator or the
 * creator's parent, as no other key reaches it — and only with what its creation was not charged already: xAI's
 * cost above the up-front reservation, and its tokens. Every later read of the same result is charged nothing
 * (it still counts as a request).
 */
export async function chargeFetchedOnce(input: { ownership: OwnershipStore; owner: ObjectOwner; usage: Usage | null }): Promise<Usage | null> {
  const { usage, owner } = input;
  if (usage === null || (usage.costTicks === 0 && usage.totalTokens === 0)) return usage;
  // A claim that cannot be made (the store failing right then) charges the result: a budget may be charged twice
  // for it, never not at all, and the request is settled either way.
  const first = await input.ownership.claimSettlement(owner.id, owner.expiresAtMs).catch(() => true);
  if (!first) return ZERO_USAGE;
  return { ...usage, costTicks: Math.max(0, usage.costTicks - owner.reservedCostTicks) };
}
