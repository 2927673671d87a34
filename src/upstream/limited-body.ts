import { Transform, type Readable } from 'node:stream';
import { GatewayError } from '../errors.js';

export function requestTooLarge(): GatewayError {
  // Connection: close — the rest of an oversized upload is not read; the client must not reuse the connection.
  return new GatewayError({
    status: 413,
    code: 'request_too_large',
    message: 'The request body is larger than this gateway accepts.',
    headers: { connection: 'close' },
  });
}

/**
 * A streamed request body (multipart uploads) passed through byte for byte while its length is counted: past
 * `limitBytes` the returned stream fails with 413 request_too_large, which makes the HTTP client abort the
 * upstream request (docs/configuration.md bodyLimitBytes, §4). A client that breaks off its upload fails it too, so the
 * upstream never receives a truncated body as if it were whole. The source is never destroyed here: what is
 * left of it is drained, so the 413 can still reach the client. That is why this is `.pipe` and not
 * `stream.pipeline`, which destroys every stream of the chain on an error, the client's request (and with it
 * the socket the 413 must go out on) included.
 */
export function limitedBody(source: Readable, limitBytes: number): Readable {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > limitBytes) {
        callback(requestTooLarge());
        return;
      }
      callback(null, chunk);
    },
  });
  source.on('error', (err) => counter.destroy(err));
  source.on('aborted', () => counter.destroy(new Error('The client aborted its upload.')));
  counter.on('error', () => {
    source.unpipe(counter);
    source.resume();
  });
  source.pipe(counter);
  return counter;
}
