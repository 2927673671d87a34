import { parseLimits, parseList, parsePairs, parseWhole, UsageError } from './flag-values.js';
import type { OptionName, Values } from './options.js';

/**
 * Key flags → the body of `POST /admin/keys` / `PATCH /admin/keys/:id` (docs/api.md). Only flags that were given
 * become fields, so a PATCH leaves everything else unchanged; `--clear` sends what clears a field.
 */
/** Create and update bodies (docs/api.md field names) from the key flags that were given. */
export function keyBody(values: Values): Record<string, unknown> {
  if (values.ttl !== undefined && values['expires-at'] !== undefined) throw new UsageError('give either --ttl or --expires-at, not both');
  const body: Record<string, unknown> = {};
  if (values.name !== undefined) body.name = values.name;
  if (values.plan !== undefined) body.plan = values.plan;
  if (values.models !== undefined) body.models = parseList('models', values.models);
  if (values.endpoints !== undefined) body.endpoints = parseList('endpoints', values.endpoints);
  if (values.collections !== undefined) body.collections = parseList('collections', values.collections);
  if (values.limit !== undefined) body.limits = parseLimits(values.limit);
  if (values.origins !== undefined) body.allowedOrigins = parseList('origins', values.origins);
  if (values.ips !== undefined) body.allowedIps = parseList('ips', values.ips);
  if (values.ttl !== undefined) body.ttlSeconds = parseWhole('ttl', values.ttl, 1);
  if (values['expires-at'] !== undefined) body.expiresAt = values['expires-at'];
  if (values.metadata !== undefined) body.metadata = parsePairs('metadata', values.metadata);
  if (values['mint-max-ttl'] !== undefined) body.mint = { maxTtlSeconds: parseWhole('mint-max-ttl', values['mint-max-ttl'], 1) };
  return body;
}

/** `--clear <field>`: the PATCH value that clears it (docs/api.md: null clears; limits and metadata are replaced whole). */
const CLEARABLE: Readonly<Record<string, { field: string; value: null | Record<string, never>; flags: readonly OptionName[] }>> = {
  plan: { field: 'plan', value: null, flags: ['plan'] },
  models: { field: 'models', value: null, flags: ['models'] },
  endpoints: { field: 'endpoints', value: null, flags: ['endpoints'] },
  collections: { field: 'collections', value: null, flags: ['collections'] },
  origins: { field: 'allowedOrigins', value: null, flags: ['origins'] },
  ips: { field: 'allowedIps', value: null, flags: ['ips'] },
  expiry: { field: 'expiresAt', value: null, flags: ['ttl', 'expires-at'] },
  mint: { field: 'mint', value: null, flags: ['mint-max-ttl'] },
  limits: { field: 'limits', value: {}, flags: ['limit'] },
  metadata: { field: 'metadata', value: {}, flags: ['metadata'] },
};

export function clearedFields(values: Values): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const what of values.clear ?? []) {
    const clear = Object.hasOwn(CLEARABLE, what) ? CLEARABLE[what] : undefined;
    if (clear === undefined) throw new UsageError(`--clear ${what}: can clear ${Object.keys(CLEARABLE).join(', ')}`);
    const conflict = clear.flags.find((flag) => values[flag] !== undefined);
    if (conflict !== undefined) throw new UsageError(`--clear ${what} and --${conflict} contradict each other`);
    body[clear.field] = clear.value;
  }
  return body;
}
