import type { DeclaredKeyConfig } from '../config/types.js';
import type { KeyRecord } from './types.js';

/**
 * Keys declared by operators in the YAML (docs/configuration.md `keys:`), as records indexed by their secret hash.
 * They live in memory only — the YAML is their source of truth, so a reload applies at once — and are
 * read-only through the admin API.
 */
export function declaredKeyRecords(keys: readonly DeclaredKeyConfig[], loadedAt: Date): Map<string, KeyRecord> {
  const out = new Map<string, KeyRecord>();
  const at = loadedAt.toISOString();
  for (const k of keys) {
    out.set(k.secretSha256, {
      id: k.id,
      name: k.name,
      plan: k.plan ?? null,
      models: k.models ?? null,
      endpoints: k.endpoints ?? null,
      collections: k.collections ?? null,
      limits: k.limits ?? {},
      allowedOrigins: k.allowedOrigins ?? null,
      allowedIps: k.allowedIps ?? null,
      expiresAt: k.expiresAt === undefined ? null : new Date(k.expiresAt).toISOString(),
      revokedAt: null,
      createdAt: at,
      updatedAt: at,
      metadata: k.metadata ?? {},
      parentId: null,
      mint: k.mint ?? null,
      source: 'config',
    });
  }
  return out;
}
