import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { readAll } from '../../src/upstream/read-all.js';

describe('readAll', () => {
  it('returns every chunk, in order, as one buffer', async () => {
    const body = await readAll(Readable.from([Buffer.from('{"a":'), Buffer.from('1,'), Buffer.from('"b":2}')]));
    expect(body.toString()).toBe('{"a":1,"b":2}');
  });

  it('returns an empty buffer for an empty body', async () => {
    expect((await readAll(Readable.from([]))).length).toBe(0);
  });

  it('refuses a body longer than the limit with upstream_error and stops reading it', async () => {
    const stream = new PassThrough();
    const reading = readAll(stream, 10);
    stream.write(Buffer.alloc(6));
    stream.write(Buffer.alloc(6));
    const error: unknown = await reading.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('upstream_error');
    expect(stream.destroyed).toBe(true);
  });

  it('rejects a body that closes before its end (the upstream connection broke)', async () => {
    const stream = new PassThrough();
    const reading = readAll(stream);
    stream.write('{"partial":');
    stream.destroy();
    await expect(reading).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  it('rejects with the stream’s own error', async () => {
    const stream = new PassThrough();
    const reading = readAll(stream);
    stream.destroy(Object.assign(new Error('socket hang up'), { code: 'UND_ERR_SOCKET' }));
    await expect(reading).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
  });
});
