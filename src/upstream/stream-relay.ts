import { PassThrough, Writable, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** xAI's stream passed through a transform to the client, for a client that may leave before the end. */
export interface StreamRelay {
  /** What the client is sent. Ends when xAI's stream ends whole; destroyed when it broke off (see `onBroken`). */
  readonly toClient: Readable;
  /** Resolves once xAI's stream has been read through the transform to its end, or broke off (see `onBroken`). */
  readonly ended: Promise<void>;
  /** The client is gone: relaying stops, and reading goes on, unrelayed, to the end of xAI's stream. */
  detach(): void;
}

/**
 * `source → transform → relay` run as one `stream.pipeline`, so an error anywhere ends the whole chain and is seen
 * once, by `onBroken`. The client's stream is not part of the pipeline: Fastify destroys the stream it is given
 * when the client leaves, and that must not stop the reading when the gateway drains xAI's stream for its usage
 * report (docs/api.md, `quotas.onClientDisconnect`). The relay at the pipeline's end writes into the client's
 * stream with its backpressure, and drops what it gets once the client is gone.
 */
export function relayStream(source: Readable, transform: Transform, onBroken: (err: unknown) => void): StreamRelay {
  const toClient = new PassThrough();
  let detached = false;
  let waiting: (() => void) | null = null;
  const release = (): void => {
    const callback = waiting;
    waiting = null;
    callback?.();
  };
  toClient.on('drain', release);
  toClient.once('close', release);
  const relay = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (detached || toClient.destroyed) callback();
      else if (toClient.write(chunk)) callback();
      else waiting = callback;
    },
    final(callback) {
      if (!detached) toClient.end();
      callback();
    },
  });
  const ended = pipeline(source, transform, relay).catch((err: unknown) => {
    // Told first, so that the close of the client's response that follows is known not to be the client leaving.
    onBroken(err);
    // A stream that broke off ends the client's response too: a client must not take a cut stream for a whole one.
    toClient.destroy();
  });
  return {
    toClient,
    ended,
    detach: () => {
      detached = true;
      release();
    },
  };
}
