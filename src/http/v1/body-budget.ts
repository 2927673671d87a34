import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../../errors.js';
import { requestTooLarge } from '../../upstream/limited-body.js';

/** A key family may have this many times `bodyLimitBytes` of JSON bodies being received at once, per instance. */
export const FAMILY_BODY_BUDGET_FACTOR = 2;

type Done = (err: Error | null, body?: Buffer) => void;

/**
 * The JSON body reader of `/v1` (docs/threat-model.md). A body is buffered whole before it is parsed, so slow
 * clients that trickle bodies hold memory for as long as the request timeout lets them. Without a key they hold
 * nothing (they are refused from their headers); with one, the bytes a key family may have in flight on this
 * instance are bounded: FAMILY_BODY_BUDGET_FACTOR × bodyLimitBytes. Past it the request is 429 and the rest of its
 * body is read and discarded, never kept. A body over bodyLimitBytes is 413, from its declared length when it has
 * one, else when it gets there.
 */
export function createBodyReader(bodyLimitBytes: () => number): (request: FastifyRequest, payload: NodeJS.ReadableStream, done: Done) => void {
  const inFlight = new Map<string, number>();
  const release = (family: string, bytes: number): void => {
    const left = (inFlight.get(family) ?? 0) - bytes;
    if (left > 0) inFlight.set(family, left);
    else inFlight.delete(family);
  };
  return (request, payload, done) => {
    const limit = bodyLimitBytes();
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      payload.resume();
      done(requestTooLarge());
      return;
    }
    const client = request.gw.client;
    const family = client === null ? '' : (client.parent?.id ?? client.key.id);
    const budget = FAMILY_BODY_BUDGET_FACTOR * limit;
    const chunks: Buffer[] = [];
    let received = 0;
    let finished = false;
    const finish = (err: Error | null): void => {
      if (finished) return;
      finished = true;
      release(family, received);
      payload.removeListener('data', onData);
      if (err !== null) {
        // Drained, not kept: the client can send the rest and read the answer.
        payload.resume();
        done(err);
      } else {
        done(null, Buffer.concat(chunks, received));
      }
    };
    const onData = (chunk: Buffer): void => {
      if (received + chunk.length > limit) return finish(requestTooLarge());
      const held = inFlight.get(family) ?? 0;
      if (held + chunk.length > budget) {
        return finish(
          new GatewayError({
            status: 429,
            code: 'rate_limit_exceeded',
            message: 'Too many request bodies of this key are arriving at once; send them when earlier ones are done.',
            headers: { 'retry-after': '1' },
          }),
        );
      }
      inFlight.set(family, held + chunk.length);
      received += chunk.length;
      chunks.push(chunk);
    };
    payload.on('data', onData);
    payload.once('end', () => finish(null));
    payload.once('error', (err: Error) => finish(err));
    // 'close' follows 'end' on every request: the error (and its stack, costly to capture) is built only when the
    // body really ended early.
    payload.once('close', () => {
      if (!finished) finish(new Error('The request body ended early.'));
    });
  };
}
