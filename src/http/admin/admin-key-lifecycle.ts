import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig } from '../../config/types.js';
import { errors } from '../../errors.js';
import { applyKeyPatch } from '../../keys/apply-key-patch.js';
import { generateClientKey, hashClientKey } from '../../keys/key-format.js';
import { parseKeyPatch } from '../../keys/key-patch-input.js';
import type { KeyPatch, KeyRecord, KeyStore } from '../../keys/types.js';
import { childProblems } from '../../policy/narrow-scopes.js';
import { effectivePolicy, keyState } from '../../policy/scopes.js';
import { afterKeyChange, type KeyChangeDeps } from './key-change-effects.js';
import { keyView } from '../../keys/key-view.js';

/**
 * PATCH, revoke and rotate (docs/api.md). Each stores the change, then announces and audits it
 * (src/http/admin/key-change-effects.ts). Keys declared in the YAML are read-only here (409): the file is their
 * source of truth.
 */
export interface LifecycleDeps extends KeyChangeDeps {
  config: () => GatewayConfig;
  store: KeyStore;
  declaredKeys: () => readonly KeyRecord[];
  now: () => number;
}

export interface Caller {
  /** The admin token's fingerprint (src/keys/admin-auth.ts). */
  actor: string;
  log: FastifyBaseLogger;
}

/** Longest rotation grace: a week is ample to roll a secret out, and keeps the grace-end timer well in range. */
export const MAX_GRACE_SECONDS = 604_800;
/** The grace-end announcement waits this much past the bound, so Redis (its own clock) has dropped the hash. */
const GRACE_END_SLACK_MS = 50;
/** A parent may have many short-lived children: their revocations are written a batch at a time. */
const CHILD_WRITES_AT_ONCE = 50;

async function mutableKey(deps: LifecycleDeps, id: string): Promise<KeyRecord> {
  if (deps.declaredKeys().some((k) => k.id === id)) {
    throw errors.invalidRequest(`Key "${id}" is declared in the YAML config and is read-only through the API; change it in the config file.`, 409);
  }
  const key = await deps.store.get(id);
  if (key === null) throw errors.notFound(`No key with id "${id}".`);
  return key;
}

async function parentOf(deps: LifecycleDeps, child: KeyRecord): Promise<KeyRecord | null> {
  if (child.parentId === null) return null;
  return deps.declaredKeys().find((k) => k.id === child.parentId) ?? (await deps.store.get(child.parentId));
}

/** A child stays within its parent after a PATCH too (docs/api.md); only the fields the patch touches are judged. */
async function assertChildStaysNarrow(deps: LifecycleDeps, current: KeyRecord, patch: KeyPatch, nowMs: number): Promise<void> {
  const parent = await parentOf(deps, current);
  if (parent === null) return;
  const next = applyKeyPatch(current, patch, new Date(nowMs));
  const byField = childProblems({ parent: { record: parent, policy: effectivePolicy(parent, deps.config().plans) }, child: next, nowMs });
  const problems = Object.entries(byField)
    .filter(([field]) => Object.hasOwn(patch, field))
    .flatMap(([field, list]) => list.map((p) => `${field}: ${p}`));
  if (problems.length > 0) throw errors.invalidRequest(`A child key can only narrow its parent: ${problems.join('; ')}`);
}

export async function patchKey(deps: LifecycleDeps, id: string, body: unknown, caller: Caller): Promise<Record<string, unknown>> {
  const nowMs = deps.now();
  const parsed = parseKeyPatch(body, { plans: deps.config().plans, nowMs });
  if (!parsed.ok) throw errors.invalidRequest(`Invalid change: ${parsed.problems.join('; ')}`);
  const current = await mutableKey(deps, id);
  await assertChildStaysNarrow(deps, current, parsed.patch, nowMs);
  const next = await deps.store.update(id, parsed.patch, new Date(nowMs));
  if (next === null) throw errors.notFound(`No key with id "${id}".`);
  const changes: Record<string, unknown> = {};
  for (const field of Object.keys(parsed.patch) as (keyof KeyPatch)[]) changes[field] = { from: current[field], to: next[field] };
  await afterKeyChange(deps, { at: next.updatedAt, actor: caller.actor, action: 'patch', keyId: id, changes }, caller.log);
  return keyView(next, nowMs);
}

/**
 * Revocation keeps the record (docs/api.md). The key's active children are revoked with it: they would be
 * refused anyway (authentication checks the parent), but their records then say so too.
 */
export async function revokeKey(deps: LifecycleDeps, id: string, caller: Caller): Promise<Record<string, unknown>> {
  const nowMs = deps.now();
  const current = await mutableKey(deps, id);
  if (current.revokedAt !== null) return keyView(current, nowMs);
  const at = new Date(nowMs);
  const next = await deps.store.update(id, { revokedAt: at.toISOString() }, at);
  if (next === null) throw errors.notFound(`No key with id "${id}".`);
  const children = (await deps.store.listChildren(id)).filter((child) => keyState(child, nowMs) === 'active');
  for (let i = 0; i < children.length; i += CHILD_WRITES_AT_ONCE) {
    await Promise.all(children.slice(i, i + CHILD_WRITES_AT_ONCE).map((child) => deps.store.update(child.id, { revokedAt: at.toISOString() }, at)));
  }
  await afterKeyChange(
    deps,
    { at: at.toISOString(), actor: caller.actor, action: 'revoke', keyId: id, changes: { revokedAt: at.toISOString(), childrenRevoked: children.map((c) => c.id) } },
    caller.log,
  );
  return keyView(next, nowMs);
}

function parseGraceSeconds(body: unknown): number {
  if (body === undefined || body === null) return 0;
  if (typeof body !== 'object' || Array.isArray(body)) throw errors.invalidRequest('The body must be a JSON object like {"graceSeconds": 3600}.');
  const { graceSeconds, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw errors.invalidRequest(`Unknown field(s): ${unknown.join(', ')}; only graceSeconds is accepted.`);
  if (graceSeconds === undefined) return 0;
  if (typeof graceSeconds !== 'number' || !Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
    throw errors.invalidRequest(`graceSeconds must be an integer from 0 to ${MAX_GRACE_SECONDS}.`);
  }
  return graceSeconds;
}

/**
 * A new secret, answered once (docs/api.md). Every older secret of the key keeps working `graceSeconds` longer
 * (never longer than an earlier grace allowed), or stops at once when there is none. `scheduleChange`
 * announces the key again when the grace ends so every instance drops the old secret from its cache then.
 */
export async function rotateKey(
  deps: LifecycleDeps,
  input: { id: string; body: unknown; caller: Caller; scheduleChange: (keyId: string, delayMs: number) => void },
): Promise<Record<string, unknown>> {
  const { id, caller } = input;
  const graceSeconds = parseGraceSeconds(input.body);
  const nowMs = deps.now();
  const current = await mutableKey(deps, id);
  if (keyState(current, nowMs) === 'revoked') throw errors.invalidRequest(`Key "${id}" is revoked; a revoked key cannot be rotated.`, 409);
  const secret = generateClientKey();
  const secretHash = hashClientKey(secret);
  await deps.store.addSecretHash(id, secretHash, null);
  const graceEndsAtMs = nowMs + graceSeconds * 1000;
  if (graceSeconds > 0) await deps.store.expireSecretHashes(id, { except: [secretHash], expiresAtMs: graceEndsAtMs });
  else await deps.store.removeSecretHashes(id, [secretHash]);
  const next = (await deps.store.update(id, {}, new Date(nowMs))) ?? current;
  const previousKeyValidUntil = new Date(graceEndsAtMs).toISOString();
  await afterKeyChange(
    deps,
    { at: new Date(nowMs).toISOString(), actor: caller.actor, action: 'rotate', keyId: id, changes: { graceSeconds, previousKeyValidUntil } },
    caller.log,
  );
  if (graceSeconds > 0) input.scheduleChange(id, graceSeconds * 1000 + GRACE_END_SLACK_MS);
  // The secret is in this one response and nowhere else: only its hash was stored.
  return { ...keyView(next, nowMs), key: secret, previousKeyValidUntil };
}
