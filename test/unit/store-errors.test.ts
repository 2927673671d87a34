import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { guardStore, isStoreFailure } from '../../src/store-errors.js';

const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });

describe('isStoreFailure', () => {
  it.each([
    ['a command timeout', new Error('Command timed out')],
    ['the offline queue refusing', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['a closed connection', new Error('Connection is closed.')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })],
    ['retries spent', named('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 1).')],
    ['a Cluster that lost every node', named('ClusterAllFailedError', 'Failed to refresh slots cache.')],
    ['Redis loading its data', named('ReplyError', 'LOADING Redis is loading the dataset in memory')],
    ['a script running too long', named('ReplyError', 'BUSY Redis is busy running a script.')],
    ['a replica after failover', named('ReplyError', "READONLY You can't write against a read only replica.")],
  ])('%s is a store failure', (_what, err) => {
    expect(isStoreFailure(err)).toBe(true);
  });

  it.each([
    ['a TypeError in the code around a call', new TypeError('Cannot read properties of undefined')],
    ['a RangeError from input checks', new RangeError('leaseMs must be positive')],
    ['a Lua runtime error', named('ReplyError', 'ERR user_script:12: attempt to compare nil with number')],
    ['a wrong type in a key', named('ReplyError', 'WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['an invariant the code checks', new Error('limiter: script and evaluation disagree')],
    ['a gateway error', new GatewayError({ status: 404, code: 'not_found', message: 'x' })],
    ['not an error at all', 'Command timed out'],
  ])('%s is not', (_what, err) => {
    expect(isStoreFailure(err)).toBe(false);
  });
});

describe('guardStore', () => {
  const store = {
    down: (): Promise<number> => Promise.reject(new Error('Command timed out')),
    buggy: (): Promise<number> => Promise.reject(new TypeError('x is not a function')),
    throwsAtOnce: (): number => {
      throw new Error('Connection is closed.');
    },
    fine: (n: number): Promise<number> => Promise.resolve(n + 1),
    constant: 7,
  };
  const guarded = guardStore(store);

  it('maps a store failure to 503 store_unavailable, whether it rejects or throws', async () => {
    await expect(guarded.down()).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
    expect(() => guarded.throwsAtOnce()).toThrow(GatewayError);
  });

  it('passes a bug through unchanged, and leaves answers and other properties alone', async () => {
    await expect(guarded.buggy()).rejects.toBeInstanceOf(TypeError);
    expect(await guarded.fine(1)).toBe(2);
    expect(guarded.constant).toBe(7);
  });
});
