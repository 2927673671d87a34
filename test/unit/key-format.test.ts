import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_KEY_PREFIX,
  generateClientKey,
  generateKeyId,
  hashClientKey,
  isWellFormedClientKey,
  redactClientKey,
} from '../../src/keys/key-format.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('generateClientKey', () => {
  it('is xgw_ + 40 random + 6 checksum base62 characters', () => {
    const key = generateClientKey();
    expect(CLIENT_KEY_PREFIX).toBe('xgw_');
    expect(key).toMatch(/^xgw_[0-9A-Za-z]{46}$/);
    expect(key).toHaveLength(50);
  });

  it('produces 1000 distinct, well-formed keys', () => {
    const keys = Array.from({ length: 1000 }, () => generateClientKey());
    expect(new Set(keys).size).toBe(1000);
    expect(keys.filter((key) => !isWellFormedClientKey(key))).toEqual([]);
  });
});

describe('isWellFormedClientKey', () => {
  const sample = generateClientKey();

  it('accepts a generated key', () => {
    expect(isWellFormedClientKey(sample)).toBe(true);
  });

  it('rejects every single-character substitution of a sample key', () => {
    const accepted: string[] = [];
    for (let i = 0; i < sample.length; i += 1) {
      for (const replacement of BASE62 + '_-') {
        if (replacement === sample[i]) continue;
        const mutated = sample.slice(0, i) + replacement + sample.slice(i + 1);
        if (isWellFormedClientKey(mutated)) accepted.push(mutated);
      }
    }
    expect(accepted).toEqual([]);
  });

  it.each([
    ['empty', ''],
    ['prefix only', 'xgw_'],
    ['one character short', sample.slice(0, -1)],
    ['one character long', `${sample}0`],
    ['wrong prefix', `sk-_${sample.slice(4)}`],
    ['upper-case prefix', `XGW_${sample.slice(4)}`],
    ['non-base62 character', `${sample.slice(0, 10)}!${sample.slice(11)}`],
    ['non-ASCII character', `${sample.slice(0, 10)}é${sample.slice(11)}`],
    ['surrounding whitespace', ` ${sample.slice(1)}`],
  ])('rejects %s', (_label, candidate) => {
    expect(isWellFormedClientKey(candidate)).toBe(false);
  });

  it('rejects every transposition of two different adjacent characters', () => {
    const accepted: string[] = [];
    let tried = 0;
    for (let i = CLIENT_KEY_PREFIX.length; i < sample.length - 1; i += 1) {
      if (sample[i] === sample[i + 1]) continue;
      tried += 1;
      const swapped = sample.slice(0, i) + (sample[i + 1] ?? '') + (sample[i] ?? '') + sample.slice(i + 2);
      if (isWellFormedClientKey(swapped)) accepted.push(swapped);
    }
    expect(tried).toBeGreaterThan(30);
    expect(accepted).toEqual([]);
  });

  it.each([[undefined], [null], [42], [{}], [['xgw_']]])('returns false, never throws, for the non-string %j', (value) => {
    expect(isWellFormedClientKey(value as unknown as string)).toBe(false);
  });
});

describe('hashClientKey', () => {
  it('is the SHA-256 hex of the full secret, prefix included', () => {
    const key = generateClientKey();
    expect(hashClientKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashClientKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashClientKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    // Any string is hashed as UTF-8, as createHash().update(s, 'utf8') did.
    for (const text of ['', 'xgw_é', 'ключ', '\u{1F511}', 'a\u0000b']) {
      expect(hashClientKey(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    }
  });
});

describe('generateKeyId', () => {
  it('is key_ + 20 base62 characters, distinct each time', () => {
    const ids = Array.from({ length: 100 }, () => generateKeyId());
    for (const id of ids) expect(id).toMatch(/^key_[0-9A-Za-z]{20}$/);
    expect(new Set(ids).size).toBe(100);
  });
});

describe('redactClientKey', () => {
  it.each([
    ['xgw_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ', 'xgw_…GHIJ'],
    ['xgw_short', 'xgw_…'],
    ['', 'xgw_…'],
  ])('redacts %s to %s', (secret, expected) => {
    expect(redactClientKey(secret)).toBe(expected);
  });

  it('never shows more than the last 4 characters of a real key', () => {
    const key = generateClientKey();
    const shown = redactClientKey(key);
    expect(shown).toBe(`xgw_…${key.slice(-4)}`);
    expect(shown).not.toContain(key.slice(4, 12));
  });
});
