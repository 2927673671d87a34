import { Command } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../src/limits/packed-script.js';

/** ioredis's own encoding of the same command: the oracle (it is what Redis received before). */
function ioredisBytes(name: string, args: (string | number | Buffer)[]): Buffer {
  const writable = new Command(name, args).toWritable({});
  return Buffer.isBuffer(writable) ? writable : Buffer.from(writable, 'utf8');
}

describe('encodeCommand', () => {
  it('writes the same RESP bytes as ioredis for strings, numbers, Buffers and multi-byte text', () => {
    const keys = ['xgw:{key_a}:res', 'xgw:{key_a}:resexp'];
    const doubles = Buffer.alloc(24);
    doubles.writeDoubleLE(1764190000123, 0);
    doubles.writeDoubleLE(4096.5, 8);
    doubles.writeDoubleLE(-1, 16);
    const args = ['a', '9', 'xgw:{key_a}:', '0f1e2d3c-uuid', doubles, 1764190000123, '', 'grok-4 ✓ ünïcødé', Buffer.alloc(0), Buffer.from([13, 10, 0, 255])];
    const ours = encodeCommand('evalsha', 'f'.repeat(40), keys, args);
    expect(ours.equals(ioredisBytes('evalsha', ['f'.repeat(40), 2, ...keys, ...args]))).toBe(true);
    expect(ours.toString('latin1').startsWith(`*${3 + keys.length + args.length}\r\n$7\r\nevalsha\r\n$40\r\n`)).toBe(true);
  });

  it('encodes EVAL with the script text and no arguments', () => {
    const lua = "return redis.call('GET', KEYS[1]) -- é";
    const ours = encodeCommand('eval', lua, ['k'], []);
    expect(ours.equals(ioredisBytes('eval', [lua, 1, 'k']))).toBe(true);
    expect(ours.toString('utf8')).toBe(`*4\r\n$4\r\neval\r\n$${Buffer.byteLength(lua)}\r\n${lua}\r\n$1\r\n1\r\n$1\r\nk\r\n`);
  });

  it('fills the buffer exactly (no stale bytes from an unsafe allocation)', () => {
    for (let n = 0; n < 40; n += 1) {
      const args = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? Buffer.alloc(i, 7) : i % 3 === 1 ? 'x'.repeat(i * 13) : i * 1000.5));
      const ours = encodeCommand('evalsha', 'a'.repeat(40), ['k1', 'k2'], args);
      expect(ours.equals(ioredisBytes('evalsha', ['a'.repeat(40), 2, 'k1', 'k2', ...args]))).toBe(true);
    }
  });
});
