import type { RateState } from './types.js';

/**
 * x-ratelimit-* headers of docs/api.md for the tightest request and token limits; a key without such a limit
 * gets no such headers.
 */
export function rateLimitHeaders(rate: RateState): Record<string, string> {
  const headers: Record<string, string> = {};
  if (rate.requests !== null) {
    headers['x-ratelimit-limit-requests'] = String(rate.requests.limit);
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, rate.requests.remaining));
    headers['x-ratelimit-reset-requests'] = String(rate.requests.resetSeconds);
  }
  if (rate.tokens !== null) {
    headers['x-ratelimit-limit-tokens'] = String(rate.tokens.limit);
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, rate.tokens.remaining));
    headers['x-ratelimit-reset-tokens'] = String(rate.tokens.resetSeconds);
  }
  return headers;
}
