import type { EndpointName, LimitSet, PlanConfig } from '../config/types.js';
import type { KeyRecord } from '../keys/types.js';
import { matchesAnyGlob } from './glob.js';

/** What a key may do once its plan is applied: its own fields override the plan's, limit by limit (docs/configuration.md). */
export interface EffectivePolicy {
  models: readonly string[];
  endpoints: readonly string[];
  /** xAI collection ids (glob patterns) a documents search may name; default none (docs/api.md). */
  collections: readonly string[];
  limits: LimitSet;
}

/**
 * Policies already derived, per key record and plans object. Records are immutable values (the resolver
 * replaces a changed key's record, a reload replaces the plans), so the same pair always derives the same
 * policy, and the limiter can memoize what it derives from the policy's (then stable) limits object.
 */
const derived = new WeakMap<KeyRecord, { plans: Readonly<Record<string, PlanConfig>>; policy: EffectivePolicy }>();

export function effectivePolicy(key: KeyRecord, plans: Readonly<Record<string, PlanConfig>>): EffectivePolicy {
  const known = derived.get(key);
  if (known !== undefined && known.plans === plans) return known.policy;
  // Own entries only: a plan named "constructor" or "__proto__" must not find Object.prototype's (docs/threat-model.md).
  const plan = key.plan === null || !Object.hasOwn(plans, key.plan) ? undefined : plans[key.plan];
  // Default deny (docs/api.md): neither the key nor a plan grants anything → nothing.
  const policy: EffectivePolicy = Object.freeze({
    models: key.models ?? plan?.models ?? [],
    endpoints: key.endpoints ?? plan?.endpoints ?? [],
    collections: key.collections ?? plan?.collections ?? [],
    limits: Object.freeze({ ...(plan?.limits ?? {}), ...key.limits }),
  });
  derived.set(key, { plans, policy });
  return policy;
}

export function endpointAllowed(policy: EffectivePolicy, endpoint: EndpointName): boolean {
  return policy.endpoints.includes('*') || policy.endpoints.includes(endpoint);
}

export function modelAllowed(policy: EffectivePolicy, model: string): boolean {
  return matchesAnyGlob(policy.models, model);
}

export function collectionAllowed(policy: EffectivePolicy, collection: string): boolean {
  return matchesAnyGlob(policy.collections, collection);
}

/** Only a key allowed every model may rely on xAI's default model where `model` is optional (docs/api.md). */
export function mayUseDefaultModel(policy: EffectivePolicy): boolean {
  return policy.models.includes('*');
}

export type KeyState = 'active' | 'expired' | 'revoked';

export function keyState(key: Pick<KeyRecord, 'expiresAt' | 'revokedAt'>, nowMs: number): KeyState {
  if (key.revokedAt !== null && Date.parse(key.revokedAt) <= nowMs) return 'revoked';
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= nowMs) return 'expired';
  return 'active';
}
