/** The admin API's answers (docs/api.md), as far as the dashboard reads them. */

export interface Usage {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  totalTokens: number;
  costUsd: number;
  /** Requests the gateway refused (400, 403, 413, 429). */
  refused: number;
  /** Forwarded requests that ended in an error from xAI, a 502/504, or a broken stream. */
  failed: number;
}

export type ServerKeyState = 'active' | 'expired' | 'revoked';

export interface KeyRecord {
  id: string;
  name: string;
  plan: string | null;
  models: readonly string[] | null;
  endpoints: readonly string[] | null;
  collections?: readonly string[] | null;
  limits: Readonly<Record<string, number>>;
  allowedOrigins: readonly string[] | null;
  allowedIps: readonly string[] | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  updatedAt: string;
  metadata: Readonly<Record<string, string>>;
  parentId: string | null;
  mint: { maxTtlSeconds: number; maxActiveChildren?: number } | null;
  source: 'api' | 'config';
  state: ServerKeyState;
}

export interface KeyWithUsage extends KeyRecord {
  usage: { today: Usage };
  /** Its requests being served now on every instance, its children's included. */
  live: { inFlight: number };
}

/** One line of a key's request log (metadata only). */
export interface RequestLine {
  at: string;
  requestId: string;
  keyId: string;
  endpoint: string;
  model: string | null;
  status: number;
  code: string | null;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  costUsd: number;
  latencyMs: number;
  streamed: boolean;
}

export interface Overview {
  date: string;
  month: string;
  totals: { today: Usage; month: Usage };
  errorRate: { today: number; month: number };
  inFlight: number;
  topKeys: readonly { keyId: string; name: string; costUsd: number; requests: number }[];
  nearLimit: readonly { keyId: string; name: string; limit: string; period: string; used: number; max: number; share: number }[];
}

export interface Plan {
  name: string;
  models: readonly string[];
  endpoints: readonly string[];
  collections: readonly string[];
  limits: Readonly<Record<string, number>>;
}

export interface Delivery {
  id: string;
  eventId: string;
  type: string;
  keyId: string;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  tries: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A create or rotate answer: the record plus the secret, shown this once. */
export interface KeyWithSecret extends KeyRecord {
  key: string;
  previousKeyValidUntil?: string;
}

export interface UsageDay {
  date: string;
  models: Readonly<Record<string, Usage>>;
}

export interface UsageReport {
  keyId: string;
  from: string;
  to: string;
  totals: Usage;
  days: readonly UsageDay[];
}

export interface AllUsageReport {
  from: string;
  to: string;
  totals: Usage;
  keys: readonly { keyId: string; parentId: string | null; totals: Usage; days: readonly UsageDay[] }[];
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  keyId: string;
  changes: Readonly<Record<string, unknown>>;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}
