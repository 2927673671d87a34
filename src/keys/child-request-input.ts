import type { PlanConfig } from '../config/types.js';
import { parseKeyInput } from './key-input.js';
import { PATCH_FIELDS } from './key-patch-input.js';
import type { ChildRequest } from '../policy/narrow-scopes.js';

export type ChildRequestResult = { ok: true; request: ChildRequest } | { ok: false; problems: string[] };

/**
 * A `POST /gateway/keys` body: the create body (same validation), keeping which fields were given so the
 * mint rules can tell "inherit the parent's" (absent) from "none" (null).
 */
export function parseChildRequest(body: unknown, options: { plans: Readonly<Record<string, PlanConfig>>; nowMs: number }): ChildRequestResult {
  const parsed = parseKeyInput(body, options);
  if (!parsed.ok) return parsed;
  const given = body as Record<string, unknown>;
  const request: Record<string, unknown> = { name: parsed.fields.name };
  for (const field of PATCH_FIELDS) if (field !== 'name' && Object.hasOwn(given, field)) request[field] = parsed.fields[field];
  if (Object.hasOwn(given, 'expiresAt') || Object.hasOwn(given, 'ttlSeconds')) request.expiresAt = parsed.fields.expiresAt;
  return { ok: true, request: request as unknown as ChildRequest };
}
