import type { Readable } from 'node:stream';
import type { UpstreamRequest } from './client.js';
import type { HeaderMap } from './headers.js';
import type { KeyedRequest } from './key-failover.js';
import { limitedBody } from './limited-body.js';

export interface ForwardedRequestInput {
  method: UpstreamRequest['method'];
  /** Path and query on xAI, from the route table. */
  path: string;
  /** The gateway's request id, sent to xAI so one id names the request on both sides. */
  requestId: string;
  clientHeaders: HeaderMap;
  /** The body to send: the prepared JSON bytes, the client's untouched multipart stream, or none. */
  body: Buffer | Readable | null;
  /** Applied to a streamed body while it is sent (docs/configuration.md `server.bodyLimitBytes`). */
  bodyLimitBytes: number;
}

/**
 * The request xAI receives for a client's request, before an upstream key is chosen (key-failover.ts adds it).
 * A streamed body is counted against the body limit as it passes, and keeps the client's declared length when it
 * had one (else it goes chunked); undici checks that the bytes match it. Content-Type, with a multipart boundary,
 * passes with the other headers.
 */
export function buildForwardedRequest(input: ForwardedRequestInput): Omit<KeyedRequest, 'controller' | 'onRequestSent'> {
  const extraHeaders: Record<string, string> = { 'x-request-id': input.requestId };
  let body: Buffer | Readable | null = input.body;
  if (body !== null && !Buffer.isBuffer(body)) {
    body = limitedBody(body, input.bodyLimitBytes);
    const length = input.clientHeaders['content-length'];
    if (typeof length === 'string' && /^\d{1,15}$/.test(length) && input.clientHeaders['transfer-encoding'] === undefined) {
      extraHeaders['content-length'] = length;
    }
  }
  return { method: input.method, path: input.path, clientHeaders: input.clientHeaders, extraHeaders, body };
}
