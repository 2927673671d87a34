import { request } from 'undici';
import type { PostWebhook } from './dispatcher.js';

/** A receiver gets this long to answer; a slow one counts as a failed try and is retried later. */
const WEBHOOK_TIMEOUT_MS = 10_000;

/** POSTs with undici (its own connections, apart from the upstream pool); the receiver's body is discarded. */
export const postWebhook: PostWebhook = async (url, body, headers) => {
  const response = await request(url, { method: 'POST', body, headers, headersTimeout: WEBHOOK_TIMEOUT_MS, bodyTimeout: WEBHOOK_TIMEOUT_MS });
  await response.body.dump();
  return response.statusCode;
};
