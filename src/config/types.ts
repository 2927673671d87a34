/**
 * The validated, frozen configuration (docs/configuration.md). Produced only by src/config/load-config.ts; every other
 * module receives it (or a slice of it) as an argument and never reads process.env.
 */

/** Limit names of docs/configuration.md, in one list so validation, admission and the API share them. */
export const LIMIT_NAMES = [
  'requestsPerMinute',
  'requestsPerDay',
  'tokensPerMinute',
  'tokensPerDay',
  'tokensPerMonth',
  'costPerDayUsd',
  'costPerMonthUsd',
  'totalTokens',
  'totalCostUsd',
  'concurrency',
  'maxOutputTokens',
] as const;

export type LimitName = (typeof LIMIT_NAMES)[number];

/** Every limit is optional; absent = unlimited. Counts are non-negative integers, USD amounts non-negative numbers. */
export type LimitSet = Partial<Record<LimitName, number>>;

/** Endpoint names for scopes (docs/configuration.md). */
export const ENDPOINT_NAMES = [
  'chat.completions',
  'completions',
  'responses',
  'messages',
  'embeddings',
  'images',
  'videos',
  'tokenize',
  'models',
  'deferred',
  'files',
  'batches',
  'documents',
  'tts',
  'stt',
  'realtime',
  'api-key',
] as const;

export type EndpointName = (typeof ENDPOINT_NAMES)[number];

/** USD per 1M tokens; used only where xAI sends no cost_in_usd_ticks. */
export interface ModelPrice {
  input: number;
  cachedInput?: number;
  output: number;
  /** USD per generated image (reserved per image until xAI's cost arrives). */
  perImage?: number;
  /** USD per second of generated video (reserved at the request, replaced by xAI's cost when fetched). */
  perVideoSecond?: number;
}

export interface PlanConfig {
  /** Glob patterns; "*" = all. */
  models?: readonly string[];
  /** Endpoint names or "*". */
  endpoints?: readonly string[];
  /** xAI collection ids (or glob patterns; "*" = all) that `POST /v1/documents/search` may name. */
  collections?: readonly string[];
  limits?: LimitSet;
}

export interface MintConfig {
  maxTtlSeconds: number;
  /** Unexpired, unrevoked children it may have at once (default 1000). */
  maxActiveChildren?: number;
}

/** A client key declared by operators in the YAML (secret given only as its SHA-256 hex). */
export interface DeclaredKeyConfig {
  id: string;
  name: string;
  plan?: string;
  models?: readonly string[];
  endpoints?: readonly string[];
  collections?: readonly string[];
  limits?: LimitSet;
  allowedOrigins?: readonly string[];
  allowedIps?: readonly string[];
  expiresAt?: string;
  metadata?: Readonly<Record<string, string>>;
  mint?: MintConfig;
  secretSha256: string;
}

export interface GatewayConfig {
  server: {
    host: string;
    port: number;
    trustProxy: boolean;
    bodyLimitBytes: number;
    authFailuresPerMinute: number;
    /** Headers and body must arrive within this (ms), else 408 request_timeout and the connection is closed. */
    requestTimeoutMs: number;
    /** Open connections one client address may hold (0 = no cap); more are refused. */
    maxConnectionsPerIp: number;
  };
  upstream: {
    baseUrl: string;
    /** Empty entries (an unset ${XAI_API_KEY}) are removed; may be empty: calls needing xAI then get 502. */
    apiKeys: readonly string[];
    connectTimeoutMs: number;
    headersTimeoutMs: number;
    bodyIdleTimeoutMs: number;
  };
  store: {
    /** "" = in-process store. */
    redisUrl: string;
    clusterNodes: readonly string[];
    keyPrefix: string;
    /** The settlement journal's file (docs/operations.md); one per instance. */
    journalPath: string;
  };
  quotas: {
    defaultOutputTokens: number;
    /** A client that leaves mid-stream: `drain` reads xAI's stream on, unrelayed, until its usage; `abort` stops it. */
    onClientDisconnect: 'drain' | 'abort';
    /** How long a drain may last before the upstream request is aborted (then the whole reservation is charged). */
    disconnectDrainMs: number;
  };
  admin: {
    /** Empty entries removed; empty list = admin API off (404). */
    tokens: readonly string[];
  };
  cors: { origins: readonly string[] };
  pricing: Readonly<Record<string, ModelPrice>>;
  plans: Readonly<Record<string, PlanConfig>>;
  keys: readonly DeclaredKeyConfig[];
  /** Signed webhooks (docs/alerts.md). */
  alerts: AlertsConfig;
  logLevel: string;
}

export const ALERT_EVENTS = ['budget.threshold', 'key.expiring', 'key.revoked'] as const;
export type AlertEventType = (typeof ALERT_EVENTS)[number];

export interface WebhookConfig {
  url: string;
  /** HMAC-SHA256 key of the `x-xgw-signature` header. */
  secret: string;
  events: readonly AlertEventType[];
}

export interface AlertsConfig {
  webhooks: readonly WebhookConfig[];
  /** Shares (0 < t <= 1) of a day, month or total token or cost limit; each fires once per key, limit and period. */
  budgetThresholds: readonly number[];
  expiringWithinDays: number;
}
