import type { KeyPatch, KeyRecord } from './types.js';

/** Fields a patch may change (docs/api.md); anything else in a patch (id, createdAt, parentId, source…) is ignored. */
const PATCHABLE_FIELDS = [
  'name',
  'plan',
  'models',
  'endpoints',
  'collections',
  'limits',
  'allowedOrigins',
  'allowedIps',
  'expiresAt',
  'metadata',
  'mint',
  'revokedAt',
] as const satisfies readonly (keyof KeyPatch)[];

/** Fields that cannot be cleared: a `null` for them is ignored rather than producing an unreadable record. */
const NON_NULLABLE_FIELDS: ReadonlySet<string> = new Set(['name', 'limits', 'metadata']);

/**
 * The record with `patch` applied and `updatedAt` set to `now`. Patch semantics: an absent (or undefined)
 * field is unchanged, `null` clears a nullable field, any other value replaces the field whole (no deep
 * merge of `limits` or `metadata`: the admin API sends the new value). Pure: neither input is mutated and
 * the result shares no arrays or objects with the patch.
 */
export function applyKeyPatch(record: KeyRecord, patch: KeyPatch, now: Date): KeyRecord {
  const changes: Record<string, unknown> = {};
  for (const field of PATCHABLE_FIELDS) {
    if (!Object.hasOwn(patch, field)) continue;
    const value: unknown = patch[field];
    if (value === undefined || (value === null && NON_NULLABLE_FIELDS.has(field))) continue;
    changes[field] = structuredClone(value);
  }
  return { ...record, ...changes, updatedAt: now.toISOString() };
}
