import * as z from 'zod';
import { limitSetSchema, metadataSchema, mintSchema } from '../config/schema.js';
import { ENDPOINT_NAMES, type PlanConfig } from '../config/types.js';
import { isIpOrCidr, isOrigin } from '../config/value-checks.js';
import type { KeyRecord } from './types.js';

/**
 * The body of `POST /admin/keys` and `POST /gateway/keys` (docs/api.md), validated the same way the YAML's
 * declared keys are (shared checks from src/config). Produces the record to store, minus id and secret.
 */
const bodySchema = z.strictObject({
  name: z.string({ error: 'is required (a non-empty string)' }).min(1, { error: 'must be a non-empty string' }).max(200, { error: 'must be at most 200 characters' }),
  plan: z.string({ error: 'must be a plan name' }).nullable().exactOptional(),
  models: z.array(z.string().min(1, { error: 'must be non-empty model names or glob patterns' }).max(256)).max(256).nullable().exactOptional(),
  endpoints: z.array(z.enum([...ENDPOINT_NAMES, '*'], { error: `must be "*" or one of: ${ENDPOINT_NAMES.join(', ')}` })).nullable().exactOptional(),
  collections: z.array(z.string().min(1, { error: 'must be non-empty collection ids or glob patterns' }).max(256)).max(256).nullable().exactOptional(),
  limits: limitSetSchema.exactOptional(),
  allowedOrigins: z
    .array(z.string().refine(isOrigin, { error: 'must be origins like https://app.example.com (no path, no trailing slash)' }))
    .max(100)
    .nullable()
    .exactOptional(),
  allowedIps: z
    .array(z.string().refine(isIpOrCidr, { error: 'must be IPv4/IPv6 addresses or CIDRs (e.g. 10.0.0.0/8)' }))
    .max(100)
    .nullable()
    .exactOptional(),
  expiresAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-01-31T00:00:00Z' }).nullable().exactOptional(),
  ttlSeconds: z.int({ error: 'must be a positive integer' }).min(1, { error: 'must be a positive integer' }).max(10 * 365 * 86_400).exactOptional(),
  metadata: metadataSchema.exactOptional(),
  mint: mintSchema.nullable().exactOptional(),
});

export type KeyInput = z.output<typeof bodySchema>;

export type KeyInputResult = { ok: true; fields: Omit<KeyRecord, 'id' | 'createdAt' | 'updatedAt' | 'revokedAt' | 'parentId' | 'source'> } | { ok: false; problems: string[] };

export function parseKeyInput(body: unknown, options: { plans: Readonly<Record<string, PlanConfig>>; nowMs: number }): KeyInputResult {
  const parsed = bodySchema.safeParse(body ?? undefined);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`) };
  }
  const input = parsed.data;
  const problems: string[] = [];
  if (input.plan !== undefined && input.plan !== null && !Object.hasOwn(options.plans, input.plan)) {
    problems.push(`plan: no plan named "${input.plan}" is configured`);
  }
  if (input.expiresAt !== undefined && input.expiresAt !== null && input.ttlSeconds !== undefined) {
    problems.push('expiresAt: give either expiresAt or ttlSeconds, not both');
  }
  let expiresAt: string | null = null;
  if (input.ttlSeconds !== undefined) expiresAt = new Date(options.nowMs + input.ttlSeconds * 1000).toISOString();
  else if (input.expiresAt !== undefined && input.expiresAt !== null) {
    const at = Date.parse(input.expiresAt);
    if (at <= options.nowMs) problems.push('expiresAt: must be in the future');
    expiresAt = new Date(at).toISOString();
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    fields: {
      name: input.name,
      plan: input.plan ?? null,
      models: input.models ?? null,
      endpoints: input.endpoints ?? null,
      collections: input.collections ?? null,
      limits: input.limits ?? {},
      allowedOrigins: input.allowedOrigins ?? null,
      allowedIps: input.allowedIps ?? null,
      expiresAt,
      metadata: input.metadata ?? {},
      mint: input.mint ?? null,
    },
  };
}
