import { LIMIT_NAMES, type LimitSet, type MintConfig } from '../config/types.js';
import type { KeyRecord } from '../keys/types.js';
import { cidrContains, parseCidrRange } from './cidr-range.js';
import { matchesGlob } from './glob.js';
import type { EffectivePolicy } from './scopes.js';

/**
 * Child keys (docs/api.md): a key with `mint` may mint children that only ever narrow it. Pure rules, shared by
 * `POST /gateway/keys` (minting) and `PATCH /admin/keys/:id` on a child. Every check is conservative: a
 * child is accepted only when it is provably within its parent; anything else is refused (400), never
 * silently clamped.
 */

/** The stored fields of a key, minus what the store assigns. */
export type KeyFields = Omit<KeyRecord, 'id' | 'createdAt' | 'updatedAt' | 'revokedAt' | 'parentId' | 'source'>;

/** A mint request as given: `undefined` = not given (inherit the parent's), `null` = explicitly none. */
export interface ChildRequest {
  name: string;
  plan?: string | null;
  models?: readonly string[] | null;
  endpoints?: readonly string[] | null;
  collections?: readonly string[] | null;
  limits?: LimitSet;
  allowedOrigins?: readonly string[] | null;
  allowedIps?: readonly string[] | null;
  /** Already resolved from `ttlSeconds` when that was given. */
  expiresAt?: string | null;
  metadata?: Readonly<Record<string, string>>;
  mint?: MintConfig | null;
}

export interface ParentScope {
  record: KeyRecord;
  /** The parent's plan applied (src/policy/scopes.ts). */
  policy: EffectivePolicy;
}

export type NarrowResult = { ok: true; fields: KeyFields } | { ok: false; problems: string[] };

/**
 * A model (or collection) pattern of the child is covered when every name it matches is matched by a parent pattern:
 * - a literal name: some parent pattern matches it (`grok-4-fast-x` under `grok-4-fast-*`);
 * - a glob: an equal parent pattern, the parent `*`, or a parent `p*` (one trailing star) with the child
 *   starting with `p` (`grok-4-*` under `grok-*`). Other glob pairs might be covered too but are refused.
 */
export function modelPatternCovered(parentPatterns: readonly string[], child: string): boolean {
  if (!child.includes('*')) return parentPatterns.some((p) => matchesGlob(p, child));
  return parentPatterns.some((p) => {
    if (p === '*' || p === child) return true;
    const stem = p.slice(0, -1);
    return p.endsWith('*') && !stem.includes('*') && child.startsWith(stem);
  });
}

export function endpointCovered(parentEndpoints: readonly string[], child: string): boolean {
  return parentEndpoints.includes('*') || parentEndpoints.includes(child);
}

export function originCovered(parentOrigins: readonly string[], child: string): boolean {
  const lower = child.toLowerCase();
  return parentOrigins.some((o) => o.toLowerCase() === lower);
}

/** True if the address or CIDR `child` lies entirely within one of the parent's entries. */
export function ipCovered(parentIps: readonly string[], child: string): boolean {
  const inner = parseCidrRange(child);
  if (inner === null) return false;
  return parentIps.some((p) => {
    const outer = parseCidrRange(p);
    return outer !== null && cidrContains(outer, inner);
  });
}

/** A limit the parent has must not be larger in the child; one the parent lacks may be set freely. */
export function limitProblems(parentLimits: LimitSet, childLimits: LimitSet): string[] {
  const problems: string[] = [];
  for (const name of LIMIT_NAMES) {
    const parent = parentLimits[name];
    const child = childLimits[name];
    if (parent !== undefined && child !== undefined && child > parent) {
      problems.push(`limits.${name}: ${child} is above the parent's ${parent}`);
    }
  }
  return problems;
}

type Field = 'plan' | 'models' | 'endpoints' | 'collections' | 'limits' | 'allowedOrigins' | 'allowedIps' | 'expiresAt' | 'mint';

/**
 * What is wrong with a child's (complete) fields against its parent, by field, so a PATCH can report only
 * what it touches. `maxTtlSeconds` bounds the expiry from `nowMs` when the parent mints.
 */
export function childProblems(input: { parent: ParentScope; child: Omit<KeyFields, 'name' | 'metadata'>; nowMs: number }): Partial<Record<Field, string[]>> {
  const { parent, child, nowMs } = input;
  const out: Partial<Record<Field, string[]>> = {};
  const add = (field: Field, problem: string): void => {
    (out[field] ??= []).push(problem);
  };
  if (child.plan !== parent.record.plan) add('plan', `must be the parent's plan (${parent.record.plan === null ? 'none' : `"${parent.record.plan}"`})`);
  if (child.mint !== null) add('mint', 'a child key cannot mint keys');
  if (child.models === null) add('models', 'must not be null for a child key (omit it to inherit the parent\'s)');
  else for (const m of child.models) if (!modelPatternCovered(parent.policy.models, m)) add('models', `"${m}" is not within the parent's models`);
  if (child.endpoints === null) add('endpoints', 'must not be null for a child key (omit it to inherit the parent\'s)');
  else for (const e of child.endpoints) if (!endpointCovered(parent.policy.endpoints, e)) add('endpoints', `"${e}" is not within the parent's endpoints`);
  // null (a child stored before this scope existed) takes its plan's — the parent's plan, and every request is
  // checked against the parent's collections too — so only a list can widen.
  for (const c of child.collections ?? []) if (!modelPatternCovered(parent.policy.collections, c)) add('collections', `"${c}" is not within the parent's collections`);
  for (const problem of limitProblems(parent.policy.limits, child.limits)) add('limits', problem);
  listProblems({ field: 'allowedOrigins', parent: parent.record.allowedOrigins, child: child.allowedOrigins, covered: originCovered, add });
  listProblems({ field: 'allowedIps', parent: parent.record.allowedIps, child: child.allowedIps, covered: ipCovered, add });
  for (const problem of expiryProblems({ parent: parent.record, expiresAt: child.expiresAt, nowMs })) add('expiresAt', problem);
  return out;
}

function listProblems(input: {
  field: 'allowedOrigins' | 'allowedIps';
  parent: readonly string[] | null;
  child: readonly string[] | null;
  covered: (parent: readonly string[], child: string) => boolean;
  add: (field: Field, problem: string) => void;
}): void {
  const { field, parent, child, covered, add } = input;
  if (parent === null) return;
  if (child === null || child.length === 0) {
    add(field, 'must be a non-empty subset of the parent\'s (the parent is restricted)');
    return;
  }
  for (const entry of child) if (!covered(parent, entry)) add(field, `"${entry}" is not within the parent's ${field}`);
}

function expiryProblems(input: { parent: KeyRecord; expiresAt: string | null; nowMs: number }): string[] {
  const { parent, expiresAt, nowMs } = input;
  if (expiresAt === null) return ['a child key must expire'];
  const at = Date.parse(expiresAt);
  const problems: string[] = [];
  if (parent.mint !== null && at > nowMs + parent.mint.maxTtlSeconds * 1000) {
    problems.push(`must be at most ${parent.mint.maxTtlSeconds} seconds away (the parent's mint.maxTtlSeconds)`);
  }
  if (parent.expiresAt !== null && at > Date.parse(parent.expiresAt)) problems.push(`must not be after the parent's expiry (${parent.expiresAt})`);
  return problems;
}

/**
 * The child to store for a mint request: what it omits is inherited from the parent, made explicit
 * (models, endpoints, origins, IPs, plan) so the record shows exactly what the child may do; the expiry
 * defaults to `maxTtlSeconds` from now, or the parent's expiry if sooner. Refused with every problem when
 * anything would widen the parent.
 */
export function narrowChild(input: { parent: ParentScope; request: ChildRequest; nowMs: number }): NarrowResult {
  const { parent, request, nowMs } = input;
  const mint = parent.record.mint;
  if (mint === null) return { ok: false, problems: ['the parent key has no mint permission'] };
  const fields: KeyFields = {
    name: request.name,
    plan: request.plan === undefined ? parent.record.plan : request.plan,
    models: request.models === undefined ? [...parent.policy.models] : request.models,
    endpoints: request.endpoints === undefined ? [...parent.policy.endpoints] : request.endpoints,
    collections: request.collections === undefined ? [...parent.policy.collections] : request.collections,
    limits: request.limits ?? {},
    allowedOrigins: request.allowedOrigins === undefined ? parent.record.allowedOrigins : request.allowedOrigins,
    allowedIps: request.allowedIps === undefined ? parent.record.allowedIps : request.allowedIps,
    expiresAt: request.expiresAt === undefined ? defaultExpiry(parent.record, mint, nowMs) : request.expiresAt,
    metadata: request.metadata ?? {},
    mint: request.mint ?? null,
  };
  const problems = Object.entries(childProblems({ parent, child: fields, nowMs })).flatMap(([field, list]) => list.map((p) => `${field}: ${p}`));
  return problems.length > 0 ? { ok: false, problems } : { ok: true, fields };
}

function defaultExpiry(parent: KeyRecord, mint: MintConfig, nowMs: number): string {
  const bound = nowMs + mint.maxTtlSeconds * 1000;
  const parentEnd = parent.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(parent.expiresAt);
  return new Date(Math.min(bound, parentEnd)).toISOString();
}
