import type { Readable } from 'node:stream';
import { errors } from '../errors.js';

/** Error and JSON bodies are read whole (usage, error codes); this bounds memory against a hostile upstream. */
export const MAX_BUFFERED_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * The whole body, or a 502 upstream_error when it is longer than `limit` bytes. Read with stream events, not
 * `for await`: every JSON answer passes here, and an async iterator costs an object, a promise per chunk and
 * a microtask hop each. A stream that closes before its end rejects with ERR_STREAM_PREMATURE_CLOSE, as the
 * iterator did; an error of the stream rejects with that error.
 */
export function readAll(stream: Readable, limit = MAX_BUFFERED_RESPONSE_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    stream.on('data', (chunk: Buffer | string) => {
      if (settled) return;
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buf.length;
      if (size > limit) {
        fail(errors.upstreamError('The upstream response was larger than this gateway relays.'));
        stream.destroy();
        return;
      }
      chunks.push(buf);
    });
    stream.once('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size));
    });
    stream.once('error', fail);
    // 'close' follows every 'end': the error (and its stack trace, the costly part) is built only when it is one.
    stream.once('close', () => {
      if (!settled) fail(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
  });
}
