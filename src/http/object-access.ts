import type { FastifyRequest } from 'fastify';
import { errors, type GatewayError } from '../errors.js';
import type { AdmissionResult, Reservation } from '../limits/types.js';
import { createdObjectId, mayReach, objectExpiresAtMs, OBJECT_ID_RE } from '../ownership/access.js';
import type { ObjectRef } from '../ownership/body-refs.js';
import type { ObjectKind, ObjectOwner, OwnershipStore } from '../ownership/types.js';
import type { RouteMatch } from '../policy/routes.js';
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
}): Promise<AdmissionResult> {
  const { refs, keyId } = input;
  // An id of another shape cannot be one the gateway recorded: no read for it.
  const lookups = refs.filter((ref) => OBJECT_ID_RE.test(ref.id));
  const [admission, owners] = await Promise.allSettled([input.admitting, storeCall(() => input.ownership.getMany(lookups.map((ref) => ref.id)))]);
  if (admission.status === 'rejected') throw admission.reason;
  if (!admission.value.admitted) return admission.value;
  const denied = owners.status === 'fulfilled' ? firstUnreachable(refs, lookups, owners.value, keyId) : null;
  if (owners.status === 'fulfilled' && denied === null) return admission.value;
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
