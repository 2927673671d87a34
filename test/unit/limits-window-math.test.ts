import { describe, expect, it } from 'vitest';
import { limiterRedisKey, limiterKeyBase, assertKeyPrefix } from '../../src/limits/redis-keys.js';
import {
  rpmBucketMs,
  tpmBucketLeavesAtMs,
  tpmOldestSecond,
  tpmReleaseSecond,
  tpmWindowStartSecond,
} from '../../src/limits/window-math.js';

describe('requestsPerMinute buckets', () => {
  it('speak in "log" ms: a bucket\'s plus the window is when it leaves', () => {
    expect(rpmBucketMs(940) + 60_000).toBe(tpmBucketLeavesAtMs(940));
    expect(rpmBucketMs(940)).toBe(941_000);
  });
});

describe('tokensPerMinute buckets', () => {
  it('counts the current second and the 60 before it', () => {
    expect(tpmWindowStartSecond(1_000_999)).toBe(1000 - 60);
    expect(tpmBucketLeavesAtMs(940)).toBe(1_001_000);
  });

  const buckets = [
    { second: 10, tokens: 0 },
    { second: 11, tokens: 30 },
    { second: 15, tokens: 50 },
    { second: 20, tokens: 20 },
  ];
  it.each([
    [0, null],
    [-5, null],
    [1, 11],
    [30, 11],
    [31, 15],
    [80, 15],
    [100, 20],
    [101, null],
  ])('need %i tokens: bucket %s must leave', (need, expected) => {
    expect(tpmReleaseSecond(buckets, need)).toBe(expected);
  });

  it('finds the oldest bucket holding tokens', () => {
    expect(tpmOldestSecond(buckets)).toBe(11);
    expect(tpmOldestSecond([{ second: 3, tokens: 0 }])).toBeNull();
  });
});

describe('Redis key names', () => {
  it('hash-tag every key with the family (one Cluster slot)', () => {
    expect(limiterKeyBase('xgw:', 'key_root')).toBe('xgw:v2:{key_root}:');
    expect(limiterRedisKey({ prefix: 'xgw:', familyId: 'key_root', keyId: 'key_child', part: 'rpmw' })).toBe('xgw:v2:{key_root}:key_child:rpmw');
    expect(limiterRedisKey({ prefix: 'xgw:', familyId: 'key_root', keyId: 'key_root', part: 'u:2030-01-15' })).toBe(
      'xgw:v2:{key_root}:key_root:u:2030-01-15',
    );
    expect(limiterRedisKey({ prefix: 'xgw:', familyId: 'key_root', part: 'res' })).toBe('xgw:v2:{key_root}:res');
  });

  it('refuses a prefix that would steal the hash tag', () => {
    expect(() => assertKeyPrefix('xgw:{a}:')).toThrow(RangeError);
    expect(() => assertKeyPrefix('xgw:')).not.toThrow();
  });
});
