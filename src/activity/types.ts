/**
 * What the operator's view reads about requests (docs/operator-view.md): the request log, the refused and
 * failed counts beside usage, and the requests in flight on every instance. Metadata only: no field here can
 * hold any text of a prompt or an answer.
 */

/** One line of a key's request log, as `GET /admin/keys/:id/requests` answers it. */
export interface RequestRecord {
  /** ISO 8601 time the request ended. */
  at: string;
  requestId: string;
  /** The key that made the request (a child's id in its parent's log). */
  keyId: string;
  endpoint: string;
  model: string | null;
  status: number;
  /** The gateway's error code when the gateway answered with an error, else null. */
  code: string | null;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  costUsd: number;
  latencyMs: number;
  streamed: boolean;
}

/** refused: the gateway said no (400, 403, 413, 415, 429); failed: xAI or the way to it did. */
export type Outcome = 'refused' | 'failed' | null;

export interface OutcomeCounts {
  refused: number;
  failed: number;
}

/** One finished request, as the recorder hands it to the store. */
export interface ActivityEntry {
  /** Root key id: the family's hash tag (one Cluster slot). */
  familyId: string;
  /** The key, then its parent for a child: the request shows in both logs and both counts. */
  keyIds: readonly string[];
  /** UTC day of `record.at`, YYYY-MM-DD. */
  day: string;
  /** The model the outcome is counted under (bounded: a refused request may name anything). */
  model: string;
  outcome: Outcome;
  record: RequestRecord;
}

/** Outcome counts of one key: UTC day → model → counts. */
export type OutcomeDays = Map<string, Map<string, OutcomeCounts>>;

export interface LiveCounts {
  /** Requests in flight on every instance that published within the freshness window. */
  total: number;
  byKey: ReadonlyMap<string, number>;
}

export interface ActivityStore {
  /** Writes a batch of finished requests: log lines (each log capped) and outcome counts. */
  append(entries: readonly ActivityEntry[]): Promise<void>;
  /** A key's newest `limit` log lines, newest first. */
  recent(keyId: string, familyId: string, limit: number): Promise<RequestRecord[]>;
  /** A key's refused and failed counts for a range of UTC days (inclusive). */
  outcomes(keyId: string, familyId: string, range: { from: string; to: string }): Promise<OutcomeDays>;
  /** This instance's requests in flight, replacing what it published before. */
  publishLive(instanceId: string, byKey: ReadonlyMap<string, number>, total: number, nowMs: number): Promise<void>;
  /** Every fresh instance's requests in flight, summed. */
  live(nowMs: number): Promise<LiveCounts>;
}

/** At least this many requests per key stay in its log (docs/operator-view.md). */
export const REQUEST_LOG_LENGTH = 1000;
/** A published in-flight count older than this is not counted: the instance is gone or cut off. */
export const LIVE_FRESH_MS = 3_000;
/** How often an instance publishes its in-flight counts (so a reading is at most this plus a read old). */
export const LIVE_PUBLISH_MS = 1_000;
