import { LIMIT_LABELS, LIMIT_NAMES, type LimitName } from './constants.js';
import type { KeyRecord } from './types.js';

/**
 * The create form's raw values → the body of `POST /admin/keys` (docs/api.md). Pure, so the browser-free tests
 * can check it. Only obvious slips are caught here (a word in a number field); the server validates
 * everything and its answer names every problem, which the page shows as it is.
 */
export type ExpiryChoice = { kind: 'keep' } | { kind: 'never' } | { kind: 'ttl'; hours: string } | { kind: 'at'; local: string };

export interface CreateFormValues {
  name: string;
  plan: string;
  /** Model names or glob patterns, one per line or comma-separated; empty = the plan's. */
  models: string;
  /** Checked endpoint names ("*" = all); none = the plan's. */
  endpoints: readonly string[];
  /** xAI collection ids (or patterns) documents search may name, one per line or comma-separated; empty = the plan's. */
  collections: string;
  limits: Readonly<Partial<Record<LimitName, string>>>;
  expiry: ExpiryChoice;
  origins: string;
  ips: string;
  /** Empty = the key cannot mint child keys. */
  mintMaxTtlSeconds: string;
  /** `name=value`, one per line; empty = none. */
  metadata: string;
}

export type FormResult = { ok: true; body: Record<string, unknown> } | { ok: false; problems: string[] };

/** Splits a list typed one per line or comma-separated. */
export function splitList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

const USD_LIMITS: ReadonlySet<LimitName> = new Set(['costPerDayUsd', 'costPerMonthUsd', 'totalCostUsd']);

export function buildCreateBody(values: CreateFormValues): FormResult {
  const problems: string[] = [];
  const body: Record<string, unknown> = {};
  const name = values.name.trim();
  if (name === '') problems.push('Name: required.');
  body.name = name;
  if (values.plan.trim() !== '') body.plan = values.plan.trim();

  const models = splitList(values.models);
  if (models.length > 0) body.models = models;
  if (values.endpoints.length > 0) body.endpoints = values.endpoints.includes('*') ? ['*'] : [...values.endpoints];
  const collections = splitList(values.collections);
  if (collections.length > 0) body.collections = collections;

  const limits: Record<string, number> = {};
  for (const limit of LIMIT_NAMES) {
    const raw = values.limits[limit]?.trim() ?? '';
    if (raw === '') continue;
    const value = Number(raw);
    const valid = Number.isFinite(value) && value >= 0 && (USD_LIMITS.has(limit) || Number.isInteger(value));
    if (!valid) problems.push(`${LIMIT_LABELS[limit]}: must be ${USD_LIMITS.has(limit) ? 'a non-negative amount' : 'a whole number, 0 or more'}.`);
    else limits[limit] = value;
  }
  if (Object.keys(limits).length > 0) body.limits = limits;

  const expiry = values.expiry;
  if (expiry.kind === 'ttl') {
    const hours = Number(expiry.hours.trim());
    if (expiry.hours.trim() === '' || !Number.isFinite(hours) || hours <= 0) problems.push('Expiry: the number of hours must be more than 0.');
    else body.ttlSeconds = Math.max(1, Math.round(hours * 3600));
  } else if (expiry.kind === 'at') {
    // A datetime-local value carries no zone: it is the operator's local time, sent as UTC.
    const ms = Date.parse(expiry.local);
    if (expiry.local === '' || Number.isNaN(ms)) problems.push('Expiry: pick a date and time.');
    else body.expiresAt = new Date(ms).toISOString();
  }

  const origins = splitList(values.origins);
  if (origins.length > 0) body.allowedOrigins = origins;
  const ips = splitList(values.ips);
  if (ips.length > 0) body.allowedIps = ips;

  const metadata: Record<string, string> = {};
  for (const line of values.metadata.split('\n').map((l) => l.trim()).filter((l) => l !== '')) {
    const at = line.indexOf('=');
    if (at <= 0) problems.push(`Metadata: "${line}" is not name=value.`);
    else metadata[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  if (Object.keys(metadata).length > 0) body.metadata = metadata;

  const mint = values.mintMaxTtlSeconds.trim();
  if (mint !== '') {
    const seconds = Number(mint);
    if (!Number.isInteger(seconds) || seconds < 1) problems.push('Child keys: the longest lifetime must be a whole number of seconds, 1 or more.');
    else body.mint = { maxTtlSeconds: seconds };
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, body };
}

/** What the edit form starts from: the fields of the key, as the admin API answered it, that PATCH can change. */
export type EditableKey = Pick<KeyRecord, 'name' | 'plan' | 'models' | 'endpoints' | 'collections' | 'limits' | 'allowedOrigins' | 'allowedIps' | 'expiresAt' | 'metadata' | 'mint'>;

/** The form's values for an existing key (expiry: kept as it is unless the operator picks another). */
export function formValuesOf(key: EditableKey): CreateFormValues {
  return {
    name: key.name,
    plan: key.plan ?? '',
    models: (key.models ?? []).join('\n'),
    endpoints: [...(key.endpoints ?? [])],
    collections: (key.collections ?? []).join('\n'),
    limits: Object.fromEntries(Object.entries(key.limits).map(([name, value]) => [name, String(value)])),
    expiry: { kind: 'keep' },
    origins: (key.allowedOrigins ?? []).join('\n'),
    ips: (key.allowedIps ?? []).join('\n'),
    mintMaxTtlSeconds: key.mint === null ? '' : String(key.mint.maxTtlSeconds),
    metadata: Object.entries(key.metadata).map(([name, value]) => `${name}=${value}`).join('\n'),
  };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The edit form's values → a `PATCH /admin/keys/:id` body holding only what changed (so the audit log shows
 * exactly the change). Checked like the create form; an emptied field is sent as null (cleared), limits and
 * metadata as a whole.
 */
export function buildPatchBody(values: CreateFormValues, original: EditableKey): FormResult {
  const built = buildCreateBody(values);
  if (!built.ok) return built;
  const next = built.body;
  const body: Record<string, unknown> = {};
  const compare = (field: string, value: unknown, before: unknown): void => {
    if (!same(value, before)) body[field] = value;
  };
  compare('name', next.name, original.name);
  compare('plan', next.plan ?? null, original.plan);
  compare('models', next.models ?? null, original.models);
  compare('endpoints', next.endpoints ?? null, original.endpoints);
  compare('collections', next.collections ?? null, original.collections ?? null);
  compare('limits', next.limits ?? {}, original.limits);
  compare('allowedOrigins', next.allowedOrigins ?? null, original.allowedOrigins);
  compare('allowedIps', next.allowedIps ?? null, original.allowedIps);
  compare('metadata', next.metadata ?? {}, original.metadata);
  const mint = next.mint as { maxTtlSeconds: number } | undefined;
  if ((mint?.maxTtlSeconds ?? null) !== (original.mint?.maxTtlSeconds ?? null)) {
    // The other mint settings (maxActiveChildren) stay as they were.
    body.mint = mint === undefined ? null : { ...(original.mint ?? {}), maxTtlSeconds: mint.maxTtlSeconds };
  }
  if (values.expiry.kind === 'never' && original.expiresAt !== null) body.expiresAt = null;
  if (next.ttlSeconds !== undefined) body.ttlSeconds = next.ttlSeconds;
  if (next.expiresAt !== undefined) body.expiresAt = next.expiresAt;
  return { ok: true, body };
}
