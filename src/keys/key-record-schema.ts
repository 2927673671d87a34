import { z } from 'zod';
import { LIMIT_NAMES } from '../config/types.js';
import type { KeyRecord } from './types.js';

/**
 * Validation of a stored KeyRecord. A store validates what it reads back, so a corrupt or foreign value
 * is "no such key" (fail closed: authentication refuses it) instead of a half-typed object reaching policy.
 * Timestamps must parse: an unparsable `expiresAt` must never be read as "never expires".
 */
const isoTimestamp = z.string().refine((value) => Number.isFinite(Date.parse(value)), 'not an ISO 8601 timestamp');
const stringList = z.array(z.string());

const keyRecordSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  plan: z.string().nullable(),
  models: stringList.nullable(),
  endpoints: stringList.nullable(),
  // Records stored before the collections scope have none: null, the plan's (docs/api.md default: none).
  collections: stringList.nullable().default(null),
  limits: z.partialRecord(z.enum(LIMIT_NAMES), z.number().nonnegative()),
  allowedOrigins: stringList.nullable(),
  allowedIps: stringList.nullable(),
  expiresAt: isoTimestamp.nullable(),
  revokedAt: isoTimestamp.nullable(),
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
  metadata: z.record(z.string(), z.string()),
  parentId: z.string().min(1).nullable(),
  mint: z.object({ maxTtlSeconds: z.number().positive(), maxActiveChildren: z.number().int().positive().exactOptional() }).nullable(),
  source: z.enum(['api', 'config']),
});

/** The record if `value` is a valid KeyRecord (unknown fields dropped), else null. Never throws. */
export function parseKeyRecord(value: unknown): KeyRecord | null {
  const result = keyRecordSchema.safeParse(value);
  return result.success ? result.data : null;
}

/** Like parseKeyRecord, from stored JSON text; null for null, broken JSON or an invalid record. Never throws. */
export function parseKeyRecordJson(text: string | null): KeyRecord | null {
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return parseKeyRecord(value);
}

/** Throws a TypeError naming the first invalid field (never a value) if `record` would not read back. */
export function assertValidKeyRecord(record: KeyRecord): void {
  const result = keyRecordSchema.safeParse(record);
  if (!result.success) {
    const path = result.error.issues[0]?.path.join('.') ?? '';
    throw new TypeError(`Invalid key record: field "${path}" is invalid.`);
  }
}
