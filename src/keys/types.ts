import type { LimitSet, MintConfig } from '../config/types.js';

/**
 * A client key's record (docs/api.md). Never holds the secret; the store keeps only SHA-256 hashes of it.
 * `models`/`endpoints` null = inherit from the plan (and with no plan: nothing, default deny).
 */
export interface KeyRecord {
  id: string;
  name: string;
  plan: string | null;
  models: readonly string[] | null;
  endpoints: readonly string[] | null;
  /** xAI collection ids (glob patterns) `POST /v1/documents/search` may name; null = the plan's (none without one). */
  collections: readonly string[] | null;
  limits: LimitSet;
  allowedOrigins: readonly string[] | null;
  allowedIps: readonly string[] | null;
  /** ISO 8601 UTC, or null = never. */
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  updatedAt: string;
  metadata: Readonly<Record<string, string>>;
  parentId: string | null;
  mint: MintConfig | null;
  /** 'config' = declared in the YAML (read-only through the API); 'api' = created through the admin API. */
  source: 'api' | 'config';
}

export interface KeyPage {
  data: KeyRecord[];
  nextCursor: string | null;
}

/** Fields a PATCH may change (docs/api.md). `null` clears a nullable field. */
export type KeyPatch = Partial<
  Pick<KeyRecord, 'name' | 'plan' | 'models' | 'endpoints' | 'collections' | 'limits' | 'allowedOrigins' | 'allowedIps' | 'expiresAt' | 'metadata' | 'mint' | 'revokedAt'>
>;

/**
 * Storage of client-key records. Implemented in process (src/keys/memory-key-store.ts) and on Redis
 * (src/keys/redis-key-store.ts); both pass test/integration/key-store.contract.test.ts.
 *
 * Contract:
 * - `create` fails with KeyStoreConflictError if the id or the secret hash already exists.
 * - `findBySecretHash` returns the record for a current secret hash, or for an old one still within its
 *   grace period (see `addSecretHash`), else null. It does not check expiry or revocation: policy does.
 * - `list` orders by createdAt ascending then id, pages with an opaque cursor; `limit` 1..1000.
 * - `update` applies a patch and bumps updatedAt; returns null for an unknown id.
 * - `addSecretHash` adds another hash for the same key; `expiresAtMs` (epoch ms) bounds its life — used for
 *   rotation grace. `removeSecretHashes` drops every hash of the key except `keep`.
 *   Adding a hash the key already has replaces its bound; a hash of another key is a KeyStoreConflictError;
 *   an unknown id is GatewayError not_found.
 * - `expireSecretHashes` bounds every hash of the key except `except` to `expiresAtMs`, never extending an
 *   earlier bound: rotation with `graceSeconds` (docs/api.md), where the caller does not know the old hashes.
 * - Every method rejects (never hangs forever) when the backing store is unreachable.
 */
export interface KeyStore {
  create(record: KeyRecord, secretHash: string): Promise<void>;
  get(id: string): Promise<KeyRecord | null>;
  findBySecretHash(secretHash: string): Promise<KeyRecord | null>;
  list(options: { limit: number; cursor?: string | undefined }): Promise<KeyPage>;
  listChildren(parentId: string): Promise<KeyRecord[]>;
  update(id: string, patch: KeyPatch, now: Date): Promise<KeyRecord | null>;
  addSecretHash(id: string, secretHash: string, expiresAtMs: number | null): Promise<void>;
  removeSecretHashes(id: string, keep: readonly string[]): Promise<void>;
  expireSecretHashes(id: string, options: { except: readonly string[]; expiresAtMs: number }): Promise<void>;
  /** Resolves when the store answers (readiness). */
  ping(): Promise<void>;
}

export class KeyStoreConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreConflictError';
  }
}
