/**
 * The zod schema of config/gateway.yaml (docs/configuration.md). Every object is strict: an unknown key is an
 * error, so a typo can never silently disable a quota. Every section is optional and filled with
 * the defaults of docs/configuration.md. Rules that span sections (plan references, duplicates, redisUrl vs
 * clusterNodes) live in cross-checks.ts so they are reported even when other fields are invalid.
 *
 * Messages never echo the offending value: several fields hold secrets.
 */
import * as z from 'zod';
import { ALERT_EVENTS, ENDPOINT_NAMES, LIMIT_NAMES, type GatewayConfig, type LimitName } from './types.js';
import { isHeaderSafeSecret, isHttpBaseUrl, isIpOrCidr, isOrigin, isRedisUrl } from './value-checks.js';

/** Prefix of the unrecognized-keys message; load-config.ts reads the allowed list back for "did you mean". */
export const ALLOWED_KEYS_PREFIX = 'allowed keys: ';

type Shape = Record<string, z.ZodType>;

/** z.strictObject whose unknown-key message lists the keys allowed at that place. */
function strict<S extends Shape>(shape: S) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `${ALLOWED_KEYS_PREFIX}${allowed}` : undefined),
  });
}

export const KEY_ID_PATTERN = /^key_[A-Za-z0-9_-]{1,64}$/;
export const PLAN_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const MAX_MINT_TTL_SECONDS = 2_592_000; // 30 days

const USD_LIMITS: ReadonlySet<LimitName> = new Set<LimitName>(['costPerDayUsd', 'costPerMonthUsd', 'totalCostUsd']);

const count = () => z.int({ error: 'must be an integer >= 0' }).min(0, { error: 'must be an integer >= 0' });
const positiveInt = () => z.int({ error: 'must be a positive integer' }).min(1, { error: 'must be a positive integer' });
const usd = () => z.number({ error: 'must be a number >= 0' }).min(0, { error: 'must be a number >= 0' });

const limitsShape = Object.fromEntries(
  LIMIT_NAMES.map((name) => [name, (USD_LIMITS.has(name) ? usd() : count()).exactOptional()]),
) as Record<LimitName, z.ZodExactOptional<z.ZodNumber>>;

export const limitSetSchema = strict(limitsShape);

const endpointSchema = z.enum([...ENDPOINT_NAMES, '*'], {
  error: `must be "*" or one of: ${ENDPOINT_NAMES.join(', ')}`,
});
const modelPatternSchema = z.string({ error: 'must be a model name or glob pattern' }).min(1, {
  error: 'must be a non-empty model name or glob pattern',
});

const collectionSchema = z.string({ error: 'must be a collection id or glob pattern' }).min(1, {
  error: 'must be a non-empty collection id or glob pattern',
});

const originSchema = z
  .string({ error: 'must be an origin string' })
  .refine(isOrigin, { error: 'must be an origin like https://app.example.com (http(s)://host[:port], lowercase, no path or trailing slash)' });

/**
 * A key's metadata (docs/api.md): at most 32 entries, names up to 64 characters, string values up to 512 — so no
 * key, created by an admin or minted by a client, can make its record (and the store) arbitrarily large.
 */
export const MAX_METADATA_ENTRIES = 32;
export const metadataSchema = z
  .record(
    z.string().min(1, { error: 'metadata names must be non-empty' }).max(64, { error: 'metadata names must be at most 64 characters' }),
    z.string({ error: 'metadata values must be strings' }).max(512, { error: 'metadata values must be at most 512 characters' }),
    { error: 'must be an object of strings' },
  )
  .refine((value) => Object.keys(value).length <= MAX_METADATA_ENTRIES, { error: `must have at most ${MAX_METADATA_ENTRIES} entries` });

/** Children a minting key may have at once, unexpired and unrevoked, unless its mint says otherwise (docs/api.md). */
export const DEFAULT_MAX_ACTIVE_CHILDREN = 1000;
export const mintSchema = strict({
  maxTtlSeconds: z
    .int({ error: `must be an integer from 1 to ${MAX_MINT_TTL_SECONDS}` })
    .min(1, { error: `must be an integer from 1 to ${MAX_MINT_TTL_SECONDS}` })
    .max(MAX_MINT_TTL_SECONDS, { error: `must be an integer from 1 to ${MAX_MINT_TTL_SECONDS} (30 days)` }),
  maxActiveChildren: z
    .int({ error: 'must be an integer from 1 to 1000000' })
    .min(1, { error: 'must be an integer from 1 to 1000000' })
    .max(1_000_000, { error: 'must be an integer from 1 to 1000000' })
    .exactOptional(),
});

export const planSchema = strict({
  models: z.array(modelPatternSchema).exactOptional(),
  endpoints: z.array(endpointSchema).exactOptional(),
  collections: z.array(collectionSchema).exactOptional(),
  limits: limitSetSchema.exactOptional(),
});

export const declaredKeySchema = strict({
  id: z.string({ error: 'is required (key_…)' }).regex(KEY_ID_PATTERN, {
    error: 'must match key_[A-Za-z0-9_-]{1,64}',
  }),
  name: z.string({ error: 'is required (a non-empty string)' }).min(1, { error: 'must be a non-empty string' }),
  plan: z.string({ error: 'must be a plan name' }).exactOptional(),
  models: z.array(modelPatternSchema).exactOptional(),
  endpoints: z.array(endpointSchema).exactOptional(),
  collections: z.array(collectionSchema).exactOptional(),
  limits: limitSetSchema.exactOptional(),
  allowedOrigins: z.array(originSchema).exactOptional(),
  allowedIps: z
    .array(z.string({ error: 'must be a string' }).refine(isIpOrCidr, { error: 'must be an IPv4/IPv6 address or CIDR (e.g. 10.0.0.0/8)' }))
    .exactOptional(),
  expiresAt: z
    .iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-01-31T00:00:00Z' })
    .exactOptional(),
  metadata: metadataSchema.exactOptional(),
  mint: mintSchema.exactOptional(),
  secretSha256: z.string({ error: 'is required (64 lowercase hex characters)' }).regex(/^[0-9a-f]{64}$/, {
    error: 'must be 64 lowercase hex characters (SHA-256 of the client key secret)',
  }),
});

/**
 * A model's price: per 1M tokens (`input`, `output`, optional `cachedInput`) for language models; `perImage` or
 * `perVideoSecond` (USD) for media models, reserved up front and replaced by xAI's cost (docs/api.md). A token price
 * needs both `input` and `output`: a missing one must never silently make a model free.
 */
const modelPriceSchema = strict({
  input: usd().exactOptional(),
  cachedInput: usd().exactOptional(),
  output: usd().exactOptional(),
  perImage: usd().exactOptional(),
  perVideoSecond: usd().exactOptional(),
})
  .refine((price) => (price.input !== undefined && price.output !== undefined) || price.perImage !== undefined || price.perVideoSecond !== undefined, {
    error: 'needs input and output (USD per 1M tokens), or perImage / perVideoSecond (USD) for a media model',
  })
  .transform((price) => ({ ...price, input: price.input ?? 0, output: price.output ?? 0 }));

const serverSchema = strict({
  host: z.string({ error: 'must be a host name or address' }).min(1, { error: 'must be a non-empty host name or address' }).default('0.0.0.0'),
  port: z
    .int({ error: 'must be an integer from 0 to 65535' })
    .min(0, { error: 'must be an integer from 0 to 65535' })
    .max(65535, { error: 'must be an integer from 0 to 65535' })
    .default(8080),
  trustProxy: z.boolean({ error: 'must be true or false' }).default(false),
  bodyLimitBytes: positiveInt().default(10_485_760),
  authFailuresPerMinute: positiveInt().default(30),
  // Headers and body must arrive within this, else 408 and close (a slow client holds nothing for longer).
  requestTimeoutMs: positiveInt().default(60_000),
  // Open connections one address may hold; 0 = no cap (behind a proxy every client has the proxy's address).
  maxConnectionsPerIp: z.int({ error: 'must be a whole number, 0 (no cap) or more' }).min(0, { error: 'must be a whole number, 0 (no cap) or more' }).default(256),
});

/** Upstream keys and admin tokens: "" allowed here (an unset ${VAR}) and dropped after validation. */
// The log scrubber redacts every occurrence of each upstream key: a key of a letter or two would redact that
// text everywhere (and is no xAI key anyway).
export const MIN_UPSTREAM_KEY_LENGTH = 8;

const upstreamKeySchema = z
  .string({ error: 'must be a string' })
  .refine((key) => key === '' || key.length >= MIN_UPSTREAM_KEY_LENGTH, { error: `must be at least ${MIN_UPSTREAM_KEY_LENGTH} characters` })
  .refine((key) => key === '' || isHeaderSafeSecret(key), { error: 'must contain only visible ASCII characters (no spaces)' });

const adminTokenSchema = z
  .string({ error: 'must be a string' })
  .refine((token) => token === '' || token.length >= 16, { error: 'must be at least 16 characters' })
  .refine((token) => token === '' || isHeaderSafeSecret(token), { error: 'must contain only visible ASCII characters (no spaces)' });

const upstreamSchema = strict({
  baseUrl: z
    .string({ error: 'must be an http(s) URL' })
    .refine(isHttpBaseUrl, { error: 'must be an http(s) URL without credentials, query or fragment' })
    // Routes append "/v1/…"; a trailing slash would double it.
    .transform((url) => url.replace(/\/+$/, ''))
    .default('https://api.x.ai'),
  apiKeys: z.array(upstreamKeySchema).default([]),
  connectTimeoutMs: positiveInt().default(10_000),
  headersTimeoutMs: positiveInt().default(600_000),
  bodyIdleTimeoutMs: positiveInt().default(300_000),
});

const redisUrlSchema = z
  .string({ error: 'must be a redis:// or rediss:// URL' })
  .refine(isRedisUrl, { error: 'must be a redis:// or rediss:// URL' });

const storeSchema = strict({
  redisUrl: z
    .string({ error: 'must be a string' })
    .refine((url) => url === '' || isRedisUrl(url), { error: 'must be empty (in-process store) or a redis:// or rediss:// URL' })
    .default(''),
  clusterNodes: z.array(redisUrlSchema).default([]),
  // Braces would change which part of every key name Redis Cluster hashes (the hash tags the stores rely on).
  keyPrefix: z
    .string({ error: 'must be a string' })
    .refine((prefix) => !/[{}]/.test(prefix), { error: 'must not contain { or } (they would change the Redis Cluster hash tags)' })
    .default('xgw:'),
  // Settlements that could not reach Redis wait here (one instance per file) until Redis takes them.
  journalPath: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).default('./data/settlements.jsonl'),
});

/** A webhook secret signs every delivery; a short one would be guessable, and it must fit in no header at all. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

const webhookSchema = strict({
  // Query strings are allowed (some receivers authenticate by them); deliveries list the URL without its query.
  url: z
    .string({ error: 'must be an http(s) URL' })
    .refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.hostname !== '';
      } catch {
        return false;
      }
    }, { error: 'must be an http(s) URL without credentials' }),
  secret: z
    .string({ error: 'is required (a shared secret of 16+ characters)' })
    .min(MIN_WEBHOOK_SECRET_LENGTH, { error: `must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters` }),
  events: z
    .array(z.enum(ALERT_EVENTS, { error: `must be one of: ${ALERT_EVENTS.join(', ')}` }))
    .min(1, { error: 'must name at least one event' })
    .default([...ALERT_EVENTS]),
});

const alertsSchema = strict({
  webhooks: z.array(webhookSchema).default([]),
  budgetThresholds: z
    .array(
      z
        .number({ error: 'must be numbers above 0 and at most 1' })
        .gt(0, { error: 'must be numbers above 0 and at most 1' })
        .max(1, { error: 'must be numbers above 0 and at most 1' }),
    )
    .max(10, { error: 'at most 10 thresholds' })
    .default([0.5, 0.8, 1]),
  expiringWithinDays: positiveInt().default(7),
});

export const configSchema = strict({
  server: serverSchema.prefault({}),
  upstream: upstreamSchema.prefault({}),
  store: storeSchema.prefault({}),
  quotas: strict({
    defaultOutputTokens: positiveInt().default(4096),
    // A client that leaves mid-stream: keep reading xAI's stream until its usage (drain), or stop it at once (abort).
    onClientDisconnect: z.enum(['drain', 'abort'], { error: 'must be "drain" or "abort"' }).default('drain'),
    disconnectDrainMs: positiveInt().default(60_000),
  }).prefault({}),
  admin: strict({ tokens: z.array(adminTokenSchema).default([]) }).prefault({}),
  cors: strict({ origins: z.array(originSchema).default([]) }).prefault({}),
  pricing: z
    .record(z.string().regex(/^\S+$/, { error: 'model names must be non-empty without spaces' }), modelPriceSchema)
    .default({}),
  plans: z
    .record(
      z
        .string()
        .regex(PLAN_NAME_PATTERN, { error: 'plan names must match [A-Za-z0-9_-]{1,64}' })
        // Names an object already has by inheritance are refused outright: they invite a look-up that finds
        // Object.prototype's (plans are also looked up as own entries only).
        .refine((name) => !['__proto__', 'constructor', 'prototype'].includes(name), { error: 'this plan name is reserved' }),
      planSchema,
    )
    .default({}),
  keys: z.array(declaredKeySchema).default([]),
  alerts: alertsSchema.prefault({}),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of: ${LOG_LEVELS.join(', ')}` }).default('info'),
});

export type ParsedConfig = z.output<typeof configSchema>;

// Compile-time proof that the schema produces exactly the shared GatewayConfig shape.
const _assignable = (parsed: ParsedConfig): GatewayConfig => parsed;
void _assignable;
