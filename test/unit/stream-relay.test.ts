import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { relayStream } from '../../src/upstream/stream-relay.js';

/** Collects a readable until it ends or is destroyed. */
async function collect(stream: Readable): Promise<{ text: string; ended: boolean }> {
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve({ text: Buffer.concat(chunks).toString(), ended: true }));
    stream.once('close', () => resolve({ text: Buffer.concat(chunks).toString(), ended: stream.readableEnded }));
  });
}

describe('relayStream', () => {
  it('relays what passes the transform, in order, and ends the client stream with the source', async () => {
    const source = Readable.from(['a', 'b', 'c'].map((s) => Buffer.from(s)));
    const upper = new PassThrough({ transform: (chunk: Buffer, _e, cb) => cb(null, Buffer.from(chunk.toString().toUpperCase())) });
    const broken: unknown[] = [];
    const relay = relayStream(source, upper, (err) => broken.push(err));
    const got = await collect(relay.toClient);
    await relay.ended;
    expect(got).toEqual({ text: 'ABC', ended: true });
    expect(broken).toEqual([]);
  });

  it('after detach, reads the source to its end although the client stream is gone', async () => {
    const source = new PassThrough();
    const seen: string[] = [];
    const meter = new PassThrough({
      transform: (chunk: Buffer, _e, cb) => {
        seen.push(chunk.toString());
        cb(null, chunk);
      },
    });
    const relay = relayStream(source, meter, () => undefined);
    source.write('first');
    relay.toClient.destroy();
    relay.detach();
    // Far more than any buffer holds: nobody reads the client side, so only a relay that drops keeps reading.
    for (let i = 0; i < 1000; i += 1) source.write('x'.repeat(1024));
    source.end('last');
    await relay.ended;
    expect(seen[0]).toBe('first');
    expect(seen.at(-1)).toBe('last');
    expect(seen.join('').length).toBe(5 + 1000 * 1024 + 4);
  });

  it('a source that breaks off is reported first, then the client stream is destroyed, not ended', async () => {
    const source = new PassThrough();
    const order: string[] = [];
    const relay = relayStream(source, new PassThrough(), (err) => order.push(`broken: ${(err as Error).message}`));
    relay.toClient.once('close', () => order.push('client closed'));
    const got = collect(relay.toClient);
    source.write('partial');
    await new Promise((resolve) => setImmediate(resolve));
    source.destroy(new Error('socket hang up'));
    await relay.ended;
    expect((await got).ended).toBe(false);
    expect(order).toEqual(['broken: socket hang up', 'client closed']);
  });

  it('holds back the source while the client reads nothing: memory stays bounded by the buffers', async () => {
    let produced = 0;
    const source = new Readable({
      read() {
        produced += 1024;
        this.push(Buffer.alloc(1024, 120));
      },
    });
    const relay = relayStream(source, new PassThrough(), () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Three streams of 16 KiB high-water marks and the relay's one pending write: far below 1 MiB.
    expect(produced).toBeLessThan(256 * 1024);
    expect(produced).toBeGreaterThan(0);
    source.destroy();
    await relay.ended;
  });
});
