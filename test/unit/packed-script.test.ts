import { Command } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { encodeCommand, PackedArg } from '../../src/limits/packed-script.js';
import { packDoubles, packedUsage, pendingRecord } from '../../src/limits/redis-args.js';

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

  it('writes packed arguments in place: the same bytes as their Buffer', () => {
    const packed = new PackedArg('3p', [1764190000123, 4112, 1.5e7, 0], '2026-11-26|2026-11|10|key_a|key_p|req-é|x');
    const expected = Buffer.concat([Buffer.from('3p', 'latin1'), doublesLE([1764190000123, 4112, 1.5e7, 0]), Buffer.from('2026-11-26|2026-11|10|key_a|key_p|req-é|x', 'utf8')]);
    expect(packed.toBuffer().equals(expected)).toBe(true);
    expect(packed.byteLength()).toBe(expected.length);
    const args = ['a', packed, packDoubles([1, 2, 3]), 'z'];
    const ours = encodeCommand('evalsha', 'b'.repeat(40), ['k'], args);
    expect(ours.equals(ioredisBytes('evalsha', ['b'.repeat(40), 1, 'k', 'a', expected, doublesLE([1, 2, 3]), 'z']))).toBe(true);
  });
});

function doublesLE(values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 8);
  values.forEach((value, index) => out.writeDoubleLE(value, index * 8));
  return out;
}

describe('redis-args', () => {
  it('pendingRecord: "3p", four doubles, then day|month|mask|keyIds…|requestId', () => {
    const record = pendingRecord({
      requestId: 'req|with|bars',
      admittedAtMs: 1764190000123,
      tokens: 4112,
      costTicks: 98765,
      dayId: '2026-11-26',
      monthId: '2026-11',
      keys: [
        { keyId: 'key_child', countsTpm: true },
        { keyId: 'key_parent', countsTpm: false },
      ],
    }).toBuffer();
    const expected = Buffer.concat([
      Buffer.from('3p', 'latin1'),
      doublesLE([1764190000123, 4112, 98765, 0]),
      Buffer.from('2026-11-26|2026-11|10|key_child|key_parent|req|with|bars', 'utf8'),
    ]);
    expect(record.equals(expected)).toBe(true);
  });

  it('packedUsage: the seven usage totals in USAGE_METRICS order, requests 1', () => {
    const usage = { promptTokens: 12, completionTokens: 11, reasoningTokens: 290, cachedTokens: 1, totalTokens: 303, costTicks: 1466250, costFromUpstream: true };
    expect(packedUsage(usage).toBuffer().equals(doublesLE([1, 12, 11, 290, 1, 303, 1466250]))).toBe(true);
  });
});
