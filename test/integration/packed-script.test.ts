import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedScript } from '../../src/limits/packed-script.js';

/**
 * A RESP server on a real socket that records each command and refuses EVALSHA with NOSCRIPT when told to, as a
 * Redis does after a restart or SCRIPT FLUSH (which the shared test Redis must not be put through).
 */
interface FakeRedis {
  server: Server;
  port: number;
  seen: string[][];
  refuseNextEvalsha: boolean;
  /** An error reply for the next script command, e.g. a script error. */
  failNext: string | null;
}

function parseCommands(buffer: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let at = 0;
  for (;;) {
    const start = at;
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd < 0 || buffer[at] !== 0x2a) return { commands, rest: buffer.subarray(start) };
    const count = Number(buffer.subarray(at + 1, lineEnd).toString('latin1'));
    at = lineEnd + 2;
    const parts: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const end = buffer.indexOf('\r\n', at);
      if (end < 0) return { commands, rest: buffer.subarray(start) };
      const length = Number(buffer.subarray(at + 1, end).toString('latin1'));
      if (end + 2 + length + 2 > buffer.length) return { commands, rest: buffer.subarray(start) };
      parts.push(buffer.subarray(end + 2, end + 2 + length).toString('utf8'));
      at = end + 2 + length + 2;
    }
    commands.push(parts);
  }
}

async function startFakeRedis(): Promise<FakeRedis> {
  const fake: FakeRedis = { server: createServer(), port: 0, seen: [], refuseNextEvalsha: false, failNext: null };
  fake.server.on('connection', (socket: Socket) => {
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const { commands, rest } = parseCommands(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const command of commands) {
        const name = (command[0] ?? '').toLowerCase();
        fake.seen.push([name, ...command.slice(1)]);
        if ((name === 'eval' || name === 'evalsha') && fake.failNext !== null) {
          socket.write(`-${fake.failNext}\r\n`);
          fake.failNext = null;
        } else if (name === 'evalsha' && fake.refuseNextEvalsha) {
          fake.refuseNextEvalsha = false;
          socket.write('-NOSCRIPT No matching script. Please use EVAL.\r\n');
        } else if (name === 'eval' || name === 'evalsha') {
          // Echoes the last argument, so each caller can tell its own reply.
          const last = command[command.length - 1] ?? '';
          socket.write(`*2\r\n$${name.length}\r\n${name}\r\n$${Buffer.byteLength(last)}\r\n${last}\r\n`);
        } else {
          socket.write('+OK\r\n');
        }
      }
    });
  });
  fake.server.listen(0, '127.0.0.1');
  await once(fake.server, 'listening');
  fake.port = (fake.server.address() as AddressInfo).port;
  return fake;
}

describe('packedScript', () => {
  let fake: FakeRedis;
  let redis: Redis;
  const lua = 'return {ARGV[1]} -- packed-script test';

  beforeAll(async () => {
    fake = await startFakeRedis();
    redis = new Redis({ host: '127.0.0.1', port: fake.port, enableReadyCheck: false, lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
  });

  afterAll(async () => {
    redis.disconnect();
    fake.server.close();
    await once(fake.server, 'close');
  });

  it('sends EVAL with the text first on a connection, then EVALSHA; after NOSCRIPT it sends EVAL again', async () => {
    const call = packedScript(redis, lua);
    const scripts = (): string[][] => fake.seen.filter((c) => c[0] === 'eval' || c[0] === 'evalsha');

    expect(await call(['k1', 'k2'], ['a', 7, Buffer.from('b')])).toEqual(['eval', 'b']);
    expect(await call(['k1', 'k2'], ['second'])).toEqual(['evalsha', 'second']);
    fake.refuseNextEvalsha = true;
    expect(await call(['k1', 'k2'], ['third'])).toEqual(['eval', 'third']);
    expect(await call(['k1', 'k2'], ['fourth'])).toEqual(['evalsha', 'fourth']);

    const sent = scripts();
    expect(sent.map((c) => c[0])).toEqual(['eval', 'evalsha', 'evalsha', 'eval', 'evalsha']);
    expect(sent[0]).toEqual(['eval', lua, '2', 'k1', 'k2', 'a', '7', 'b']);
    expect(sent[1]?.[1]).toMatch(/^[0-9a-f]{40}$/);
    expect(sent[1]?.slice(2)).toEqual(['2', 'k1', 'k2', 'second']);
  });

  it('passes other errors to the caller unchanged, without a retry', async () => {
    const call = packedScript(redis, lua);
    await call(['k'], ['load']);
    const before = fake.seen.length;
    fake.failNext = 'ERR Error running script: user_script:1: boom';
    await expect(call(['k'], ['x'])).rejects.toThrow('user_script:1: boom');
    expect(fake.seen.slice(before).map((c) => c[0])).toEqual(['evalsha']);
    expect(await call(['k'], ['after'])).toEqual(['evalsha', 'after']);
  });
});
