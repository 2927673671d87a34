/**
 * Names the create form offers, copied from src/config/types.ts (docs/configuration.md): the front-end is compiled on its
 * own, for the browser, and cannot import server modules. test/unit/dashboard-logic.test.ts checks the
 * copies still equal the originals.
 */
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

/** Human labels for the limit inputs; the unit is part of the label so the number is never ambiguous. */
export const LIMIT_LABELS: Readonly<Record<LimitName, string>> = {
  requestsPerMinute: 'Requests per minute',
  requestsPerDay: 'Requests per day',
  tokensPerMinute: 'Tokens per minute',
  tokensPerDay: 'Tokens per day',
  tokensPerMonth: 'Tokens per month',
  costPerDayUsd: 'Cost per day (USD)',
  costPerMonthUsd: 'Cost per month (USD)',
  totalTokens: 'Total tokens',
  totalCostUsd: 'Total cost (USD)',
  concurrency: 'Concurrent requests',
  maxOutputTokens: 'Max output tokens per request',
};

/** A key expiring within this is shown as "expiring". */
export const EXPIRING_WITHIN_MS = 7 * 86_400_000;
