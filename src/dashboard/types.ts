/** The admin API's answers (SPEC §6), as far as the dashboard reads them. */

export interface Usage {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  totalTokens: number;
  costUsd: number;
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
  mint: { maxTtlSeconds: number } | null;
  source: 'api' | 'config';
  state: ServerKeyState;
}

export interface KeyWithUsage extends KeyRecord {
  usage: { today: Usage };
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
