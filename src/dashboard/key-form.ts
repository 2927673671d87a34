import { LIMIT_LABELS, LIMIT_NAMES, type LimitName } from './constants.js';

/**
 * The create form's raw values → the body of `POST /admin/keys` (SPEC §6). Pure, so the browser-free tests
 * can check it. Only obvious slips are caught here (a word in a number field); the server validates
 * everything and its answer names every problem, which the page shows as it is.
 */
export type ExpiryChoice = { kind: 'never' } | { kind: 'ttl'; hours: string } | { kind: 'at'; local: string };

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

  const mint = values.mintMaxTtlSeconds.trim();
  if (mint !== '') {
    const seconds = Number(mint);
    if (!Number.isInteger(seconds) || seconds < 1) problems.push('Child keys: the longest lifetime must be a whole number of seconds, 1 or more.');
    else body.mint = { maxTtlSeconds: seconds };
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, body };
}
