import { createHash } from 'node:crypto';
import { Command, type Cluster, type Redis } from 'ioredis';

/**
 * An argument written straight into the command's buffer: an ASCII head, little-endian doubles, a UTF-8 tail
 * — the limiter's packed numbers and reservation records (redis-args.ts), without a Buffer of their own.
 */
export class PackedArg {
  constructor(
    readonly head: string,
    readonly doubles: readonly number[],
    readonly tail: string,
  ) {}

  byteLength(): number {
    return this.head.length + 8 * this.doubles.length + (this.tail === '' ? 0 : Buffer.byteLength(this.tail));
  }

  /** The bytes as one Buffer (what encodeCommand writes in place). */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.byteLength());
    this.writeTo(out, 0);
    return out;
  }

  /** Writes the bytes at `at`; returns the offset after them. */
  writeTo(out: Buffer, at: number): number {
    let pos = at + out.write(this.head, at, 'latin1');
    for (const value of this.doubles) pos = out.writeDoubleLE(value, pos);
    return pos + out.write(this.tail, pos, 'utf8');
  }
}

export type ScriptArg = string | number | Buffer | PackedArg;

/** Runs the script with these KEYS and ARGV; resolves with its reply. */
export type PackedScriptCall = (keys: readonly string[], args: readonly ScriptArg[]) => Promise<unknown>;

/**
 * A Lua script called with its whole request encoded in one Buffer, for the limiter's batch call: its dozens of
 * arguments include packed doubles, and given any Buffer argument ioredis encodes a command piece by piece
 * (a string and a Buffer per argument, then a copy into the result) — about 20 µs of the gateway's CPU per
 * request on the bench machine. Here the RESP bytes are written straight into one buffer, sized first.
 *
 * Loading works as ioredis's own scripts do (ioredis/built/Script.js): the first call on a connection sends
 * EVAL with the script's text, later ones EVALSHA; a NOSCRIPT answer (Redis restarted or flushed its scripts)
 * forgets the connection and sends the call again, as EVAL. The command is sent with sendCommand, outside
 * ioredis's auto-pipelining: the caller batches, and the write goes out in this event-loop turn. Its `args`
 * hold the sha and the KEYS, so a Cluster routes it by its keys' slot (they share one hash tag).
 */
export function packedScript(redis: Redis | Cluster, lua: string): PackedScriptCall {
  const sha = createHash('sha1').update(lua).digest('hex');
  const loaded = new WeakSet<object>();

  class PackedScriptCommand extends Command {
    constructor(
      private readonly scriptKeys: readonly string[],
      private readonly scriptArgs: readonly ScriptArg[],
    ) {
      super('evalsha', [sha, scriptKeys.length, ...scriptKeys], { replyEncoding: 'utf8' });
    }

    override toWritable(socket: object): Buffer {
      const reject = this.reject;
      this.reject = (err: Error): void => {
        if (err.message.includes('NOSCRIPT')) loaded.delete(socket);
        reject.call(this, err);
      };
      if (loaded.has(socket)) return encodeCommand('evalsha', sha, this.scriptKeys, this.scriptArgs);
      loaded.add(socket);
      return encodeCommand('eval', lua, this.scriptKeys, this.scriptArgs);
    }
  }

  return (keys, args) => {
    const command = new PackedScriptCommand(keys, args);
    redis.sendCommand(command);
    return command.promise.then(undefined, (err: unknown) => {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      // The connection has been forgotten (toWritable above): this one goes out as EVAL.
      const again = new PackedScriptCommand(keys, args);
      redis.sendCommand(again);
      return again.promise as Promise<unknown>;
    });
  };
}

/** `name script numkeys keys… args…` as one RESP array of bulk strings. */
export function encodeCommand(name: string, script: string, keys: readonly string[], args: readonly ScriptArg[]): Buffer {
  const count = 3 + keys.length + args.length;
  const parts: (string | Buffer | PackedArg)[] = new Array<string | Buffer | PackedArg>(count);
  parts[0] = name;
  parts[1] = script;
  parts[2] = String(keys.length);
  let index = 3;
  for (const key of keys) parts[index++] = key;
  for (const arg of args) parts[index++] = typeof arg === 'number' ? String(arg) : arg;

  const lengths = new Array<number>(count);
  let total = 3 + String(count).length;
  for (let i = 0; i < count; i += 1) {
    const part = parts[i] as string | Buffer | PackedArg;
    const length = typeof part === 'string' ? Buffer.byteLength(part) : part instanceof PackedArg ? part.byteLength() : part.length;
    lengths[i] = length;
    total += 5 + String(length).length + length;
  }

  const out = Buffer.allocUnsafe(total);
  let at = out.write(`*${count}\r\n`, 0, 'latin1');
  for (let i = 0; i < count; i += 1) {
    const part = parts[i] as string | Buffer | PackedArg;
    at += out.write(`$${lengths[i] as number}\r\n`, at, 'latin1');
    if (typeof part === 'string') at += out.write(part, at, 'utf8');
    else if (part instanceof PackedArg) at = part.writeTo(out, at);
    else at += part.copy(out, at);
    out[at++] = 13;
    out[at++] = 10;
  }
  return out;
}
