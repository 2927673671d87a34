import type { PlanConfig } from '../config/types.js';
import { parseKeyInput } from './key-input.js';
import type { KeyPatch } from './types.js';

/** Body fields of `PATCH /admin/keys/:id` (docs/api.md) that map one-to-one onto the record. */
export const PATCH_FIELDS = ['name', 'plan', 'models', 'endpoints', 'collections', 'limits', 'allowedOrigins', 'allowedIps', 'metadata', 'mint'] as const;

export type KeyPatchResult = { ok: true; patch: KeyPatch } | { ok: false; problems: string[] };

/** Placeholder name so a patch without `name` passes the create schema; it is never part of the patch. */
const NAME_PLACEHOLDER = 'patch';

/**
 * A PATCH body validated exactly like a create body (src/keys/key-input.ts), field by field: only the fields
 * present become the patch. `ttlSeconds` becomes `expiresAt` from now; `expiresAt: null` clears the expiry;
 * `null` clears the other nullable fields. Unknown fields (including `revokedAt`, `id`, `key`) are refused.
 */
export function parseKeyPatch(body: unknown, options: { plans: Readonly<Record<string, PlanConfig>>; nowMs: number }): KeyPatchResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, problems: ['(body): must be a JSON object'] };
  const given = body as Record<string, unknown>;
  const parsed = parseKeyInput({ name: NAME_PLACEHOLDER, ...given }, options);
  if (!parsed.ok) return parsed;
  const picked = Object.fromEntries(PATCH_FIELDS.filter((field) => Object.hasOwn(given, field)).map((field) => [field, parsed.fields[field]]));
  const expiryGiven = Object.hasOwn(given, 'expiresAt') || Object.hasOwn(given, 'ttlSeconds');
  const patch: KeyPatch = { ...picked, ...(expiryGiven ? { expiresAt: parsed.fields.expiresAt } : {}) };
  if (Object.keys(patch).length === 0) return { ok: false, problems: ['(body): give at least one field to change'] };
  return { ok: true, patch };
}
