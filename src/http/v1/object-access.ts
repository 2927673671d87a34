import type { FastifyRequest } from 'fastify';
import { errors, type GatewayError } from '../../errors.js';
import type { AdmissionResult, Reservation } from '../../limits/types.js';
import { createdObjectId, mayReach, objectExpiresAtMs, OBJECT_ID_RE } from '../../ownership/access.js';
import type { ObjectRef } from '../../ownership/body-refs.js';
import type { ObjectKind, ObjectOwner, OwnershipStore, UpFrontCharge } from '../../ownership/types.js';
import type { RouteMatch } from '../../policy/routes.js';
import { ZERO_USAGE, type Usage } from '../../usage/types.js';
import type { AuthenticatedClient } from '../../keys/client-auth.js';
import type { PreparedRequest } from '../../policy/prepare-request.js';

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
  /** Undoes an admission whose request is refused for an object out of reach. */
  undo: (reservation: Reservation) => Promise<unknown>;
}): Promise<{ admission: AdmissionResult; owners: readonly ObjectOwner[] }> {
  const { refs, keyId } = input;
  // An id of another shape cannot be one the gateway recorded: no read for it.
  const lookups = refs.filter((ref) => OBJECT_ID_RE.test(ref.id));
  const [admission, owners] = await Promise.allSettled([input.admitting, input.ownership.getMany(lookups.map((ref) => ref.id))]);
  if (admission.status === 'rejected') throw admission.reason;
  if (!admission.value.admitted) return { admission: admission.value, owners: [] };
  const denied = owners.status === 'fulfilled' ? firstUnreachable(refs, lookups, owners.value, keyId) : null;
  // Every ref reachable, so every one was looked up and has its record, in the order of `refs`.
  if (owners.status === 'fulfilled' && denied === null) return { admission: admission.value, owners: owners.value as ObjectOwner[] };
  await input.undo(admission.value.reservation).catch(() => undefined);
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
  /** What the creation is charged up front for a result xAI reports later (a video, a deferred completion). */
  upFront: UpFrontCharge | null;
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
      upFront: input.upFront,
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
 * The creation of a result xAI reports later — a video, a deferred completion — is charged its reservation at once
 * (docs/api.md): xAI reports the usage only when the result is fetched, and by then the budget must already hold it, so
 * a hundred creations in a row cannot all fit one budget. Never less than what xAI reported for the creation itself.
 */
export function chargedUpFront(usage: Usage, upFront: UpFrontCharge): Usage {
  const promptTokens = Math.max(usage.promptTokens, upFront.promptTokens);
  const completionTokens = Math.max(usage.completionTokens, upFront.completionTokens);
  return {
    promptTokens,
    completionTokens,
    reasoningTokens: usage.reasoningTokens,
    cachedTokens: usage.cachedTokens,
    totalTokens: promptTokens + completionTokens + usage.reasoningTokens,
    costTicks: Math.max(usage.costTicks, upFront.costTicks),
    costFromUpstream: false,
  };
}

/** What a fetch settles: the charge (signed when it corrects an up-front one), and the usage xAI reported, once. */
export interface FetchedCharge {
  usage: Usage | null;
  /** The usage corrects the creation's up-front charge: it may be negative (a refund). */
  correction: boolean;
  /** xAI's usage the first time the result is read, else null (so that metrics count it once). */
  observed: Usage | null;
  /** The creation's model, under which its usage row was started; null (none recorded) to use xAI's. */
  model: string | null;
}

/**
 * A fetched deferred completion or video is charged once, to the key family that fetched it — the creator or the
 * creator's parent, as no other key reaches it. Its creation was charged its reservation; the first fetch with
 * usage replaces that by xAI's usage: the difference is settled as a correction, so a reservation above xAI's bill
 * is refunded and one below it is topped up. A refund is made only within the creation's UTC day, as the day's
 * and month's counters it returns to are those of the fetch: across a day boundary the reservation stays charged
 * (never less than xAI's bill, as the top-up still applies). Every later read is charged nothing (it still counts
 * as a request).
 */
export async function chargeFetchedOnce(input: { ownership: OwnershipStore; owner: ObjectOwner; usage: Usage | null; nowMs: number }): Promise<FetchedCharge> {
  const { usage, owner } = input;
  // Every read — polls and re-reads too — is counted under the creation's model, beside its charge.
  const model = owner.upFront?.model ?? null;
  const plain: FetchedCharge = { usage, correction: false, observed: usage, model };
  if (usage === null || (usage.costTicks === 0 && usage.totalTokens === 0)) return plain;
  // A claim that cannot be made (the store failing right then) charges the result: a budget may be charged twice
  // for it, never not at all, and the request is settled either way.
  const first = await input.ownership.claimSettlement(owner.id, owner.expiresAtMs).catch(() => true);
  if (!first) return { usage: ZERO_USAGE, correction: false, observed: null, model };
  const upFront = owner.upFront;
  if (upFront === null) return plain;
  const refunds = utcDay(owner.createdAtMs) === utcDay(input.nowMs);
  const delta = (actual: number, charged: number): number => (refunds ? actual - charged : Math.max(0, actual - charged));
  const promptTokens = delta(usage.promptTokens, upFront.promptTokens);
  const completionTokens = delta(usage.completionTokens, upFront.completionTokens);
  return {
    usage: {
      promptTokens,
      completionTokens,
      reasoningTokens: usage.reasoningTokens,
      cachedTokens: usage.cachedTokens,
      totalTokens: delta(usage.totalTokens, upFront.promptTokens + upFront.completionTokens),
      costTicks: delta(usage.costTicks, upFront.costTicks),
      costFromUpstream: usage.costFromUpstream,
    },
    correction: true,
    observed: usage,
    model,
  };
}

const utcDay = (ms: number): number => Math.floor(ms / 86_400_000);
