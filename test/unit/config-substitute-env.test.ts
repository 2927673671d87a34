import { describe, expect, it } from 'vitest';
import { coerceScalar, substituteEnv, substituteString } from '../../src/config/substitute-env.js';

describe('substituteString', () => {
  const env = { A: 'alpha', B: 'beta', EMPTY: '', NESTED: '${A}', URL: 'http://h:1' };
  it.each([
    ['plain text', 'plain text'],
    ['${A}', 'alpha'],
    ['pre-${A}-post', 'pre-alpha-post'],
    ['${A}${B}', 'alphabeta'],
    ['${MISSING}', ''],
    ['${EMPTY}', ''],
    ['${MISSING:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${A:-fallback}', 'alpha'],
    ['${MISSING:-}', ''],
    ['${MISSING:-http://x:1/a?b=c}', 'http://x:1/a?b=c'],
    ['$${A}', '${A}'],
    ['x$${A}y${B}', 'x${A}ybeta'],
    ['cost $5 and $$', 'cost $5 and $$'],
    ['${NESTED}', '${A}'],
    ['${URL}/v1', 'http://h:1/v1'],
  ])('%j → %j', (input, expected) => {
    expect(substituteString(input, env)).toEqual({ value: expected });
  });

  it.each(['${1BAD}', '${A', '${}', '${A-b}', 'x ${A B}'])('reports the malformed reference %j', (input) => {
    const result = substituteString(input, env);
    expect(result.error).toMatch(/invalid \$\{…\} reference/);
  });
});

describe('substituteEnv', () => {
  it('substitutes string scalars at every depth, leaves keys and other scalars alone, records sole references', () => {
    const tree = { '${A}': 1, list: ['${A}', 'x${B}', 3, true, null], deep: { v: '${N:-7}' } };
    const result = substituteEnv(tree, { A: 'alpha', B: 'beta' });
    expect(result.value).toEqual({ '${A}': 1, list: ['alpha', 'xbeta', 3, true, null], deep: { v: '7' } });
    expect(result.soleReferencePaths).toEqual([['list', 0], ['deep', 'v']]);
    expect(result.problems).toEqual([]);
    expect(tree.list[0]).toBe('${A}'); // input not mutated
  });

  it('reports malformed references with their path', () => {
    const result = substituteEnv({ a: { b: ['ok', '${oops'] } }, {});
    expect(result.problems).toEqual([{ path: ['a', 'b', 1], message: expect.stringMatching(/reference/) as unknown }]);
  });
});

describe('coerceScalar', () => {
  it.each([
    ['8080', 'number', 8080],
    ['0', 'number', 0],
    ['-3', 'number', -3],
    ['2.5', 'number', 2.5],
    ['true', 'boolean', true],
    ['false', 'boolean', false],
  ] as const)('%j as %s → %j', (text, expected, value) => {
    expect(coerceScalar(text, expected)).toBe(value);
  });

  it.each([
    ['', 'number'],
    [' 8080', 'number'],
    ['8080 ', 'number'],
    ['08080', 'number'],
    ['1e3', 'number'],
    ['0x1F', 'number'],
    ['Infinity', 'number'],
    ['NaN', 'number'],
    ['1.', 'number'],
    ['.5', 'number'],
    ['8080abc', 'number'],
    ['True', 'boolean'],
    ['yes', 'boolean'],
    ['1', 'boolean'],
    ['', 'boolean'],
  ] as const)('refuses %j as %s', (text, expected) => {
    expect(coerceScalar(text, expected)).toBeUndefined();
  });
});
