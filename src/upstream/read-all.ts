import type { Readable } from 'node:stream';
import { errors } from '../errors.js';

/** Error and JSON bodies are read whole (usage, error codes); this bounds memory against a hostile upstream. */
export const MAX_BUFFERED_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The whole body, or a 502 upstream_error when it is longer than `limit` bytes. */
export async function readAll(stream: Readable, limit = MAX_BUFFERED_RESPONSE_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > limit) {
      stream.destroy();
      throw errors.upstreamError('The upstream response was larger than this gateway relays.');
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
