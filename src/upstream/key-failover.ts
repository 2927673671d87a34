import { Readable } from 'node:stream';
import { errors } from '../errors.js';
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from './client.js';
import { buildUpstreamHeaders, type HeaderMap } from './headers.js';
import { isUpstreamKeyFailure, mapUpstreamError } from './map-error.js';
import { readAll } from './read-all.js';

export interface KeyedRequest extends Omit<UpstreamRequest, 'headers'> {
  /** The client's headers (or the gateway's own); credentials are stripped and the upstream key set per attempt. */
  clientHeaders: HeaderMap;
  /** Set after the header rules, e.g. x-request-id or a known content-length of a streamed body. */
  extraHeaders?: Readonly<Record<string, string>>;
}

export interface KeyFailoverOptions {
  /** Told when xAI refused an upstream key, with the key's label (never the key). For the operator's log. */
  onKeyRefused?: (label: string, status: number) => void;
}

/**
 * One request to xAI with an upstream key. If xAI refuses the key itself (docs/api.md: 400 "Incorrect API key
 * provided", 401, 403), the key is set aside and — when the body can be sent again and another key is usable —
 * the request is retried once with that key: safe, since xAI did no work. Any other answer is final: retrying a
 * request that reached xAI could bill it twice (docs/architecture.md). When no key is left the caller gets 502
 * upstream_error; xAI's text, which quotes part of the key, never leaves this function.
 */
export async function requestWithKeyFailover(
  upstream: UpstreamClient,
  request: KeyedRequest,
  options: KeyFailoverOptions = {},
): Promise<UpstreamResponse> {
  const replayable = request.body === null || Buffer.isBuffer(request.body);
  for (let attempt = 0; ; attempt += 1) {
    const key = upstream.pickKey();
    if (key === null) throw errors.upstreamError('No upstream API key is available on this gateway.');
    const headers = { ...buildUpstreamHeaders(request.clientHeaders, key), ...request.extraHeaders };
    let response: UpstreamResponse;
    try {
      response = await upstream.request({
        method: request.method,
        path: request.path,
        headers,
        body: request.body,
        controller: request.controller,
        onRequestSent: request.onRequestSent,
      });
    } catch (err) {
      throw mapUpstreamError(err);
    }
    if (response.statusCode !== 400 && response.statusCode !== 401 && response.statusCode !== 403) return response;

    const bytes = await readAll(response.body).catch((err: unknown) => {
      throw mapUpstreamError(err);
    });
    if (!isUpstreamKeyFailure(response.statusCode, bytes.toString('utf8'))) {
      // xAI's own answer about the request: relayed unchanged, from the bytes already read.
      return { ...response, body: Readable.from([bytes]) };
    }
    upstream.setAside(key);
    options.onKeyRefused?.(upstream.keyLabel(key), response.statusCode);
    if (attempt === 0 && replayable && upstream.hasUsableKey()) continue;
    throw errors.upstreamError("The upstream API refused this gateway's credentials; the operator has been notified in the logs.");
  }
}
