import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, type ConfigProblem } from '../../src/config/load-config.js';
import type { GatewayConfig } from '../../src/config/types.js';

type Env = Record<string, string | undefined>;

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const ADMIN_TOKEN = 'admin-token-0123456789';

function parse(text: string, env: Env = {}): GatewayConfig {
  return parseConfig(text, { env, file: 'test.yaml' });
}

function failure(text: string, env: Env = {}): ConfigError {
  try {
    parse(text, env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function problems(text: string, env: Env = {}): readonly ConfigProblem[] {
  return failure(text, env).problems;
}

const DEFAULTS: GatewayConfig = {
  server: { host: '0.0.0.0', port: 8080, trustProxy: false, bodyLimitBytes: 10485760, authFailuresPerMinute: 30, requestTimeoutMs: 60_000, maxConnectionsPerIp: 256 },
  upstream: {
    baseUrl: 'https://api.x.ai',
    apiKeys: [],
    connectTimeoutMs: 10000,
    headersTimeoutMs: 600000,
    bodyIdleTimeoutMs: 300000,
  },
  store: { redisUrl: '', clusterNodes: [], keyPrefix: 'xgw:', journalPath: './data/settlements.jsonl' },
  quotas: { defaultOutputTokens: 4096, onClientDisconnect: 'drain', disconnectDrainMs: 60_000 },
  admin: { tokens: [] },
  cors: { origins: [] },
  pricing: {},
  plans: {},
  keys: [],
  alerts: { webhooks: [], budgetThresholds: [0.5, 0.8, 1], expiringWithinDays: 7 },
  logLevel: 'info',
};

describe('defaults', () => {
  it.each(['', '# only a comment\n', '{}', 'server:\nkeys:\n'])('%j yields the documented defaults', (text) => {
    expect(parse(text)).toEqual(DEFAULTS);
  });

  it('fills missing fields inside a present section', () => {
    const config = parse('server: { port: 9000 }\nupstream: { connectTimeoutMs: 5 }');
    expect(config.server).toEqual({ ...DEFAULTS.server, port: 9000 });
    expect(config.upstream).toEqual({ ...DEFAULTS.upstream, connectTimeoutMs: 5 });
  });
});

describe('substitution through parseConfig', () => {
  it.each([
    ['default used', 'server: { host: "${H:-127.0.0.1}" }', {}, '127.0.0.1'],
    ['variable wins over default', 'server: { host: "${H:-127.0.0.1}" }', { H: '::1' }, '::1'],
    ['empty variable takes the default', 'server: { host: "${H:-127.0.0.1}" }', { H: '' }, '127.0.0.1'],
    ['plain scalar form', 'server:\n  host: ${H:-localhost}', {}, 'localhost'],
    ['embedded', 'server: { host: "gw-${N}.internal" }', { N: '3' }, 'gw-3.internal'],
    ['escape', 'server: { host: "$${H}" }', { H: 'x' }, '${H}'],
    ['numeric-looking value in a string field stays a string', 'server: { host: "${H}" }', { H: '123' }, '123'],
  ])('%s', (_name, text, env, host) => {
    expect(parse(text, env).server.host).toBe(host);
  });

  it('an unset variable in a list becomes "" and is dropped from apiKeys/admin tokens', () => {
    const config = parse('upstream: { apiKeys: ["${K1}", "${K2}"] }\nadmin: { tokens: ["${T1}"] }', { K2: 'xai-key-two' });
    expect(config.upstream.apiKeys).toEqual(['xai-key-two']);
    expect(config.admin.tokens).toEqual([]);
  });

  it('secrets with YAML-special characters are substituted verbatim (after parsing)', () => {
    // Header secrets allow any visible ASCII (no spaces); the `: ` case is covered by NOTE below.
    const token = `s3cr3t#x:y'"[]{}&*!|>%@\`-#:`;
    const note = 'a # b: c - [d] {e}';
    const config = parse(
      [
        'admin:',
        '  tokens: ["${T}"]',
        'upstream:',
        '  apiKeys:',
        '    - ${K}',
        'plans: { p: {} }',
        'keys:',
        `  - { id: key_a, name: "\${NOTE}", plan: p, secretSha256: "${HASH_A}", metadata: { note: "\${NOTE}" } }`,
      ].join('\n'),
      { T: token, K: token, NOTE: note },
    );
    expect(config.admin.tokens).toEqual([token]);
    expect(config.upstream.apiKeys).toEqual([token]);
    expect(config.keys[0]?.name).toBe(note);
    expect(config.keys[0]?.metadata).toEqual({ note });
  });

  it('a malformed reference is reported with its path', () => {
    expect(problems('server: { host: "${HOST" }')).toEqual([
      { path: 'server.host', message: expect.stringMatching(/invalid \$\{…\} reference/) as unknown },
    ]);
  });
});

describe('numeric/boolean coercion of sole references', () => {
  it.each([
    ['port default', 'server: { port: "${P:-8080}" }', {}, (c: GatewayConfig) => c.server.port, 8080],
    ['port from variable', 'server:\n  port: ${P:-8080}', { P: '9090' }, (c: GatewayConfig) => c.server.port, 9090],
    ['boolean', 'server: { trustProxy: "${TP}" }', { TP: 'true' }, (c: GatewayConfig) => c.server.trustProxy, true],
    ['boolean false', 'server: { trustProxy: "${TP:-false}" }', {}, (c: GatewayConfig) => c.server.trustProxy, false],
    [
      'integer limit',
      'plans: { p: { limits: { requestsPerMinute: "${RPM}" } } }',
      { RPM: '20' },
      (c: GatewayConfig) => c.plans.p?.limits?.requestsPerMinute,
      20,
    ],
    [
      'decimal USD limit',
      'plans: { p: { limits: { costPerMonthUsd: "${C}" } } }',
      { C: '2.5' },
      (c: GatewayConfig) => c.plans.p?.limits?.costPerMonthUsd,
      2.5,
    ],
    ['price', 'pricing: { m: { input: "${I}", output: 1 } }', { I: '0.3' }, (c: GatewayConfig) => c.pricing.m?.input, 0.3],
  ])('%s', (_name, text, env, pick, expected) => {
    expect(pick(parse(text, env))).toBe(expected);
  });

  it.each([
    ['garbage', 'server: { port: "${P}" }', { P: '8080abc' }, 'server.port'],
    ['padded', 'server: { port: "${P}" }', { P: ' 8080' }, 'server.port'],
    ['hex', 'server: { port: "${P}" }', { P: '0x1F' }, 'server.port'],
    ['exponent', 'server: { port: "${P}" }', { P: '1e3' }, 'server.port'],
    ['unset', 'server: { port: "${P}" }', {}, 'server.port'],
    ['not a sole reference', 'server: { port: "80${P}" }', { P: '80' }, 'server.port'],
    ['quoted literal is not coerced', 'server: { port: "8080" }', {}, 'server.port'],
    ['yes is not a boolean', 'server: { trustProxy: "${TP}" }', { TP: 'yes' }, 'server.trustProxy'],
    ['decimal in an integer field', 'server: { port: "${P}" }', { P: '80.5' }, 'server.port'],
  ])('refuses %s', (_name, text, env, path) => {
    expect(problems(text, env).map((p) => p.path)).toEqual([path]);
  });
});

const validKey = (extra: string) => `plans: { free: {} }\nkeys:\n  - { id: key_a, name: a, secretSha256: "${HASH_A}", ${extra} }`;

describe('validation rules report the exact path', () => {
  it.each([
    ['port too high', 'server: { port: 70000 }', 'server.port', /0 to 65535/],
    ['port negative', 'server: { port: -1 }', 'server.port', /0 to 65535/],
    ['port fractional', 'server: { port: 1.5 }', 'server.port', /integer/],
    ['host empty', 'server: { host: "" }', 'server.host', /non-empty/],
    ['trustProxy string', 'server: { trustProxy: "yes" }', 'server.trustProxy', /true or false/],
    ['bodyLimitBytes zero', 'server: { bodyLimitBytes: 0 }', 'server.bodyLimitBytes', /positive integer/],
    ['authFailuresPerMinute fractional', 'server: { authFailuresPerMinute: 2.5 }', 'server.authFailuresPerMinute', /integer/],
    ['baseUrl scheme', 'upstream: { baseUrl: "ftp://x.example" }', 'upstream.baseUrl', /http\(s\) URL/],
    ['baseUrl garbage', 'upstream: { baseUrl: "not a url" }', 'upstream.baseUrl', /http\(s\) URL/],
    ['apiKeys not a list', 'upstream: { apiKeys: "k" }', 'upstream.apiKeys', /expected array/],
    ['apiKey with space', 'upstream: { apiKeys: ["xai-a b-long"] }', 'upstream.apiKeys[0]', /visible ASCII/],
    ['apiKey of one character', 'upstream: { apiKeys: ["a"] }', 'upstream.apiKeys[0]', /at least 8 characters/],
    ['keyPrefix with braces', 'store: { keyPrefix: "x{a}:" }', 'store.keyPrefix', /must not contain \{ or \}/],
    ['connectTimeoutMs zero', 'upstream: { connectTimeoutMs: 0 }', 'upstream.connectTimeoutMs', /positive integer/],
    ['headersTimeoutMs negative', 'upstream: { headersTimeoutMs: -5 }', 'upstream.headersTimeoutMs', /positive integer/],
    ['bodyIdleTimeoutMs fractional', 'upstream: { bodyIdleTimeoutMs: 0.5 }', 'upstream.bodyIdleTimeoutMs', /positive integer/],
    ['redisUrl scheme', 'store: { redisUrl: "http://r:6379" }', 'store.redisUrl', /redis:\/\/ or rediss:\/\//],
    ['clusterNodes scheme', 'store: { clusterNodes: ["redis://a:1", "tcp://b:2"] }', 'store.clusterNodes[1]', /redis:\/\//],
    ['redisUrl and clusterNodes', 'store: { redisUrl: "redis://a:1", clusterNodes: ["redis://b:2"] }', 'store', /not both/],
    ['defaultOutputTokens zero', 'quotas: { defaultOutputTokens: 0 }', 'quotas.defaultOutputTokens', /positive integer/],
    ['admin token short', 'admin: { tokens: ["short-token"] }', 'admin.tokens[0]', /at least 16 characters/],
    ['admin token with space', 'admin: { tokens: ["0123456789 abcdef"] }', 'admin.tokens[0]', /visible ASCII/],
    ['cors origin with path', 'cors: { origins: ["https://a.example/app"] }', 'cors.origins[0]', /origin like/],
    ['cors origin trailing slash', 'cors: { origins: ["https://a.example/"] }', 'cors.origins[0]', /origin like/],
    ['cors origin without scheme', 'cors: { origins: ["a.example"] }', 'cors.origins[0]', /origin like/],
    ['cors origin uppercase', 'cors: { origins: ["https://A.example"] }', 'cors.origins[0]', /origin like/],
    ['cors origin default port', 'cors: { origins: ["https://a.example:443"] }', 'cors.origins[0]', /origin like/],
    ['cors wildcard', 'cors: { origins: ["*"] }', 'cors.origins[0]', /origin like/],
    ['pricing negative', 'pricing: { grok-4: { input: -1, output: 1 } }', 'pricing.grok-4.input', />= 0/],
    ['pricing missing output', 'pricing: { grok-4: { input: 1 } }', 'pricing.grok-4', /needs input and output/],
    ['pricing dotted model name', 'pricing: { "grok-4.20": { input: 1, output: "x" } }', 'pricing["grok-4.20"].output', />= 0/],
    ['plan name invalid', 'plans: { "bad name": {} }', 'plans["bad name"]', /plan names must match/],
    ['plan name reserved', 'plans: { constructor: {} }', 'plans.constructor', /reserved/],
    ['limit negative', 'plans: { free: { limits: { requestsPerMinute: -1 } } }', 'plans.free.limits.requestsPerMinute', /integer >= 0/],
    ['limit fractional', 'plans: { free: { limits: { tokensPerDay: 1.5 } } }', 'plans.free.limits.tokensPerDay', /integer >= 0/],
    ['limit string', 'plans: { free: { limits: { concurrency: "many" } } }', 'plans.free.limits.concurrency', /integer >= 0/],
    ['USD limit negative', 'plans: { free: { limits: { costPerDayUsd: -0.5 } } }', 'plans.free.limits.costPerDayUsd', /number >= 0/],
    ['endpoint unknown', 'plans: { free: { endpoints: ["chat"] } }', 'plans.free.endpoints[0]', /one of: chat\.completions/],
    ['model empty', 'plans: { free: { models: ["ok", ""] } }', 'plans.free.models[1]', /non-empty/],
    ['models not a list', 'plans: { free: { models: "*" } }', 'plans.free.models', /expected array/],
    ['logLevel', 'logLevel: verbose', 'logLevel', /fatal, error, warn, info, debug, trace, silent/],
    ['keys not a list', 'keys: { id: key_a }', 'keys', /expected array/],
    ['key id', `keys: [{ id: bad, name: a, secretSha256: "${HASH_A}" }]`, 'keys[0].id', /key_/],
    ['key id too long', `keys: [{ id: key_${'x'.repeat(65)}, name: a, secretSha256: "${HASH_A}" }]`, 'keys[0].id', /key_/],
    ['key name missing', `keys: [{ id: key_a, secretSha256: "${HASH_A}" }]`, 'keys[0].name', /required/],
    ['secret hash missing', 'keys: [{ id: key_a, name: a }]', 'keys[0].secretSha256', /required/],
    ['secret hash uppercase', `keys: [{ id: key_a, name: a, secretSha256: "${'A'.repeat(64)}" }]`, 'keys[0].secretSha256', /lowercase hex/],
    ['secret hash short', `keys: [{ id: key_a, name: a, secretSha256: "${'a'.repeat(63)}" }]`, 'keys[0].secretSha256', /64/],
    ['unknown plan', validKey('plan: gold'), 'keys[0].plan', /defined: free/],
    ['key endpoint', validKey('endpoints: ["models", "nope"]'), 'keys[0].endpoints[1]', /one of/],
    ['key limit', validKey('limits: { totalCostUsd: -1 }'), 'keys[0].limits.totalCostUsd', />= 0/],
    ['IPv4 prefix too long', validKey('allowedIps: ["10.0.0.0/33"]'), 'keys[0].allowedIps[0]', /CIDR/],
    ['IPv6 prefix too long', validKey('allowedIps: ["::1", "2001:db8::/129"]'), 'keys[0].allowedIps[1]', /CIDR/],
    ['IPv4 octet', validKey('allowedIps: ["300.1.1.1"]'), 'keys[0].allowedIps[0]', /CIDR/],
    ['prefix with leading zero', validKey('allowedIps: ["10.0.0.0/08"]'), 'keys[0].allowedIps[0]', /CIDR/],
    ['host name is not an IP', validKey('allowedIps: ["example.com"]'), 'keys[0].allowedIps[0]', /CIDR/],
    ['allowed origin', validKey('allowedOrigins: ["https://ok.example", "https://x.example/path"]'), 'keys[0].allowedOrigins[1]', /origin like/],
    ['expiresAt words', validKey('expiresAt: tomorrow'), 'keys[0].expiresAt', /ISO 8601/],
    ['expiresAt date only', validKey('expiresAt: "2026-01-01"'), 'keys[0].expiresAt', /ISO 8601/],
    ['expiresAt without zone', validKey('expiresAt: "2026-01-01T00:00:00"'), 'keys[0].expiresAt', /time zone/],
    ['mint zero', validKey('mint: { maxTtlSeconds: 0 }'), 'keys[0].mint.maxTtlSeconds', /1 to 2592000/],
    ['mint above 30 days', validKey('mint: { maxTtlSeconds: 2592001 }'), 'keys[0].mint.maxTtlSeconds', /1 to 2592000/],
    ['metadata non-string', validKey('metadata: { team: 5 }'), 'keys[0].metadata.team', /strings/],
    ['root is a list', '- a\n- b', '(root)', /mapping/],
    ['root is a scalar', 'hello', '(root)', /mapping/],
    ['section of the wrong type', 'server: 5', 'server', /expected object/],
  ])('%s', (_name, text, path, message) => {
    const found = problems(text);
    expect(found.map((p) => p.path)).toEqual([path]);
    expect(found[0]?.message).toMatch(message);
  });

  it.each([
    ['duplicate key id', 'keys[1].id', /duplicate key id \(also keys\[0\]\.id\)/, [HASH_A, HASH_B], ['key_a', 'key_a']],
    ['duplicate secret hash', 'keys[1].secretSha256', /duplicate secret hash/, [HASH_A, HASH_A], ['key_a', 'key_b']],
  ])('%s', (_name, path, message, hashes, ids) => {
    const text = `keys:\n  - { id: ${ids[0]}, name: a, secretSha256: "${hashes[0]}" }\n  - { id: ${ids[1]}, name: b, secretSha256: "${hashes[1]}" }`;
    expect(problems(text)).toEqual([{ path, message: expect.stringMatching(message) as unknown }]);
  });

  it('accepts a fully specified valid key and keeps every field', () => {
    const config = parse(
      validKey(
        [
          'plan: free',
          'models: ["grok-4*"]',
          'endpoints: ["*"]',
          'limits: { requestsPerDay: 0, costPerDayUsd: 0.25 }',
          'allowedOrigins: ["https://app.example.com", "http://localhost:5173"]',
          'allowedIps: ["10.0.0.0/8", "1.2.3.4", "::1", "2001:db8::/32", "0.0.0.0/0", "::/0"]',
          'expiresAt: 2027-01-01T00:00:00Z',
          'metadata: { team: web }',
          'mint: { maxTtlSeconds: 2592000 }',
        ].join(', '),
      ),
    );
    expect(config.keys).toEqual([
      {
        id: 'key_a',
        name: 'a',
        secretSha256: HASH_A,
        plan: 'free',
        models: ['grok-4*'],
        endpoints: ['*'],
        limits: { requestsPerDay: 0, costPerDayUsd: 0.25 },
        allowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
        allowedIps: ['10.0.0.0/8', '1.2.3.4', '::1', '2001:db8::/32', '0.0.0.0/0', '::/0'],
        expiresAt: '2027-01-01T00:00:00Z',
        metadata: { team: 'web' },
        mint: { maxTtlSeconds: 2592000 },
      },
    ]);
    expect(Object.keys(config.keys[0] ?? {})).not.toContain('revokedAt');
  });

  it('strips a trailing slash from upstream.baseUrl', () => {
    expect(parse('upstream: { baseUrl: "http://127.0.0.1:9999/" }').upstream.baseUrl).toBe('http://127.0.0.1:9999');
  });
});

describe('unknown keys are errors with their path', () => {
  it.each([
    ['top level', 'serverr: {}', 'serverr', /did you mean "server"/],
    ['section', 'server: { prot: 1 }', 'server.prot', /did you mean "port"/],
    ['limits', 'plans: { free: { limits: { requestsPerMinut: 5 } } }', 'plans.free.limits.requestsPerMinut', /did you mean "requestsPerMinute"/],
    ['plan', 'plans: { free: { model: ["*"] } }', 'plans.free.model', /did you mean "models"/],
    ['key', `keys: [{ id: key_a, name: a, secretSha256: "${HASH_A}", secretsha256: "x" }]`, 'keys[0].secretsha256', /did you mean "secretSha256"/],
    ['mint', `keys: [{ id: key_a, name: a, secretSha256: "${HASH_A}", mint: { maxTtlSeconds: 5, ttl: 1 } }]`, 'keys[0].mint.ttl', /unknown key/],
    ['price', 'pricing: { grok-4: { input: 1, output: 1, outputt: 2 } }', 'pricing.grok-4.outputt', /did you mean "output"/],
    ['far from any', 'quotas: { zzzzzzzzzz: 1 }', 'quotas.zzzzzzzzzz', /allowed keys: defaultOutputTokens/],
  ])('%s', (_name, text, path, message) => {
    const found = problems(text);
    expect(found.map((p) => p.path)).toEqual([path]);
    expect(found[0]?.message).toMatch(message);
  });
});

describe('media prices', () => {
  it('a media model may be priced per image or per second of video alone', () => {
    const config = parse('pricing: { grok-imagine-image: { perImage: 0.02 }, grok-imagine-video: { perVideoSecond: 0.05 } }');
    expect(config.pricing['grok-imagine-image']).toEqual({ input: 0, output: 0, perImage: 0.02 });
    expect(config.pricing['grok-imagine-video']).toEqual({ input: 0, output: 0, perVideoSecond: 0.05 });
  });
});

describe('collections (the documents search scope)', () => {
  it('a plan and a declared key may list collection ids or patterns', () => {
    const config = parse(['plans: { docs: { endpoints: [documents], collections: [collection_a, "collection_b-*"] } }'].join('\n'));
    expect(config.plans['docs']?.collections).toEqual(['collection_a', 'collection_b-*']);
  });

  it('an empty id or a non-list is reported with its path', () => {
    const error = failure('plans: { docs: { collections: [""] }, more: { collections: collection_a } }');
    expect(error.problems.map((p) => p.path).sort()).toEqual(['plans.docs.collections[0]', 'plans.more.collections']);
  });
});

describe('every problem is reported at once', () => {
  it('lists all problems with paths, in the error and its message', () => {
    const error = failure(
      [
        'server: { port: 99999, bogus: 1 }',
        'plans: { free: { limits: { requestsPerMinute: -1, requestsPerMinut: 2 } } }',
        `keys: [{ id: nope, name: a, plan: gold, secretSha256: "${HASH_A}" }]`,
        'logLevel: loud',
      ].join('\n'),
    );
    const paths = error.problems.map((p) => p.path).sort();
    expect(paths).toEqual(
      [
        'server.port',
        'server.bogus',
        'plans.free.limits.requestsPerMinute',
        'plans.free.limits.requestsPerMinut',
        'keys[0].id',
        'keys[0].plan',
        'logLevel',
      ].sort(),
    );
    expect(error.file).toBe('test.yaml');
    expect(error.message).toMatch(/^Invalid configuration in test\.yaml \(7 problems\):/);
    for (const problem of error.problems) expect(error.message).toContain(`\n  ${problem.path}: ${problem.message}`);
  });

  it('YAML syntax errors carry line and column', () => {
    const error = failure('server:\n  port: 8080\n  host: [unclosed\nlogLevel: info\n');
    expect(error.problems[0]?.path).toBe('(root)');
    expect(error.message).toMatch(/YAML syntax error at line \d+, column \d+/);
  });

  it('duplicate YAML keys are syntax errors', () => {
    expect(failure('server: { port: 1 }\nserver: { port: 2 }').message).toMatch(/line 2, column 1/);
  });
});

describe('environment overrides', () => {
  const file = [
    'upstream: { baseUrl: "http://file.example", apiKeys: ["file-key"] }',
    'store: { redisUrl: "redis://file:6379", keyPrefix: "f:" }',
    `admin: { tokens: ["${ADMIN_TOKEN}"] }`,
    'server: { host: file-host, port: 1000 }',
    'logLevel: warn',
  ].join('\n');

  it.each([
    ['XAI_API_KEY list replaces the file list', { XAI_API_KEY: ' xai-key-1, xai-key-2,, ' }, (c: GatewayConfig) => c.upstream.apiKeys, ['xai-key-1', 'xai-key-2']],
    ['XAI_BASE_URL', { XAI_BASE_URL: 'http://127.0.0.1:4010' }, (c: GatewayConfig) => c.upstream.baseUrl, 'http://127.0.0.1:4010'],
    ['REDIS_URL', { REDIS_URL: 'rediss://env:6380' }, (c: GatewayConfig) => c.store.redisUrl, 'rediss://env:6380'],
    [
      'GATEWAY_ADMIN_TOKEN list',
      { GATEWAY_ADMIN_TOKEN: 'aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb' },
      (c: GatewayConfig) => c.admin.tokens,
      ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'],
    ],
    ['HOST', { HOST: '127.0.0.1' }, (c: GatewayConfig) => c.server.host, '127.0.0.1'],
    ['PORT is coerced', { PORT: '9000' }, (c: GatewayConfig) => c.server.port, 9000],
    ['LOG_LEVEL', { LOG_LEVEL: 'debug' }, (c: GatewayConfig) => c.logLevel, 'debug'],
    ['empty variable counts as unset', { PORT: '', REDIS_URL: '' }, (c: GatewayConfig) => [c.server.port, c.store.redisUrl], [1000, 'redis://file:6379']],
    ['file values kept without env', {}, (c: GatewayConfig) => [c.upstream.apiKeys, c.logLevel, c.store.keyPrefix], [['file-key'], 'warn', 'f:']],
  ])('%s', (_name, env, pick, expected) => {
    expect(pick(parse(file, env))).toEqual(expected);
  });

  it('REDIS_CLUSTER_NODES replaces the file redisUrl', () => {
    const config = parse(file, { REDIS_CLUSTER_NODES: 'redis://a:7000, redis://b:7001' });
    expect(config.store).toEqual({ redisUrl: '', clusterNodes: ['redis://a:7000', 'redis://b:7001'], keyPrefix: 'f:', journalPath: './data/settlements.jsonl' });
  });

  it('REDIS_URL replaces the file clusterNodes', () => {
    const config = parse('store: { clusterNodes: ["redis://a:7000"] }', { REDIS_URL: 'redis://single:6379' });
    expect(config.store).toEqual({ redisUrl: 'redis://single:6379', clusterNodes: [], keyPrefix: 'xgw:', journalPath: './data/settlements.jsonl' });
  });

  it('overrides apply with no file sections at all', () => {
    const config = parse('', { XAI_API_KEY: 'xai-key-1', PORT: '0', GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN });
    expect([config.upstream.apiKeys, config.server.port, config.admin.tokens]).toEqual([['xai-key-1'], 0, [ADMIN_TOKEN]]);
  });

  it.each([
    ['bad PORT', { PORT: 'abc' }, 'PORT (env)', /0 to 65535 \(overrides server\.port\)/],
    ['PORT out of range', { PORT: '65536' }, 'PORT (env)', /0 to 65535/],
    ['bad LOG_LEVEL', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL (env)', /overrides logLevel/],
    ['bad XAI_BASE_URL', { XAI_BASE_URL: 'api.x.ai' }, 'XAI_BASE_URL (env)', /http\(s\) URL/],
    ['bad REDIS_URL', { REDIS_URL: 'localhost:6379' }, 'REDIS_URL (env)', /redis:\/\//],
    ['bad cluster node', { REDIS_CLUSTER_NODES: 'redis://a:1,b:2' }, 'REDIS_CLUSTER_NODES (env)', /item 2 of the comma-separated list/],
    ['short admin token', { GATEWAY_ADMIN_TOKEN: 'tooShortTok' }, 'GATEWAY_ADMIN_TOKEN (env)', /item 1 .*at least 16 characters/],
    ['both Redis variables', { REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'redis://b:2' }, 'REDIS_URL (env)', /both set/],
  ])('%s is reported against the variable', (_name, env, path, message) => {
    const found = problems(file, env);
    expect(found.map((p) => p.path)).toEqual([path]);
    expect(found[0]?.message).toMatch(message);
  });
});

describe('secrets never appear in error messages', () => {
  const upstreamSecret = 'xai-SECRET upstream';
  const adminSecret = 'admSECRET7';
  const redisPassword = 'redisSECRETpw';

  it.each([
    ['invalid upstream key from the file', `upstream: { apiKeys: ["${upstreamSecret}"] }`, {}],
    ['invalid upstream key from env', '', { XAI_API_KEY: upstreamSecret }],
    ['short admin token from the file', `admin: { tokens: ["${adminSecret}"] }`, {}],
    ['short admin token via substitution', 'admin: { tokens: ["${T}"] }', { T: adminSecret }],
    ['short admin token from env', '', { GATEWAY_ADMIN_TOKEN: adminSecret }],
    ['redis URL with password and wrong scheme', '', { REDIS_URL: `http://:${redisPassword}@r:6379` }],
    ['YAML error on a line holding a secret', `admin:\n  tokens: ["${adminSecret}"\nupstream: { apiKeys: [${upstreamSecret}] ]`, {}],
    ['secret in an unknown key value', `server: { apiKey: "${upstreamSecret}" }`, {}],
  ])('%s', (_name, text, env) => {
    const error = failure(text, env);
    for (const secret of [upstreamSecret, 'xai-SECRET', adminSecret, redisPassword]) {
      expect(error.message).not.toContain(secret);
      expect(JSON.stringify(error.problems)).not.toContain(secret);
    }
  });
});

describe('result is deep-frozen', () => {
  it('freezes every level', () => {
    const config = parse('plans: { free: { models: ["*"], limits: { concurrency: 1 } } }', { XAI_API_KEY: 'xai-key-1' });
    for (const part of [config, config.server, config.upstream.apiKeys, config.plans, config.plans.free, config.plans.free?.limits]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.upstream.apiKeys as string[]).push('x');
    }).toThrow(TypeError);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xgw-config-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'config'));
  mkdirSync(join(dir, 'empty'));
  writeFileSync(join(dir, 'config', 'gateway.yaml'), 'server: { port: 1111 }\n');
  writeFileSync(join(dir, 'other.yaml'), 'server: { port: 2222 }\n');
  writeFileSync(join(dir, 'bad.yaml'), 'server: { port: -1 }\n');

  it('reads config/gateway.yaml relative to cwd by default', () => {
    const result = loadConfig({ env: {}, cwd: dir });
    expect(result.file).toBe(join(dir, 'config', 'gateway.yaml'));
    expect(result.config.server.port).toBe(1111);
  });

  it('GATEWAY_CONFIG names the file (relative to cwd); the path option wins over it', () => {
    expect(loadConfig({ env: { GATEWAY_CONFIG: 'other.yaml' }, cwd: dir }).config.server.port).toBe(2222);
    expect(loadConfig({ env: { GATEWAY_CONFIG: 'other.yaml' }, cwd: dir, path: 'config/gateway.yaml' }).config.server.port).toBe(1111);
    expect(loadConfig({ env: { GATEWAY_CONFIG: join(dir, 'other.yaml') }, cwd: '/' }).file).toBe(join(dir, 'other.yaml'));
  });

  it('a missing default file means defaults plus environment, file null', () => {
    const result = loadConfig({ env: { PORT: '3333' }, cwd: join(dir, 'empty') });
    expect(result).toEqual({ config: { ...DEFAULTS, server: { ...DEFAULTS.server, port: 3333 } }, file: null });
    expect(Object.isFrozen(result.config)).toBe(true);
  });

  it.each([
    ['GATEWAY_CONFIG', { env: { GATEWAY_CONFIG: 'missing.yaml' }, cwd: dir }, /GATEWAY_CONFIG/],
    ['path option', { env: {}, cwd: dir, path: 'missing.yaml' }, /path option/],
  ])('an explicitly named missing file (%s) is an error', (_name, options, message) => {
    expect(() => loadConfig(options)).toThrow(ConfigError);
    expect(() => loadConfig(options)).toThrow(message);
  });

  it('a directory is reported as unreadable', () => {
    expect(() => loadConfig({ env: {}, cwd: dir, path: 'empty' })).toThrow(/cannot read file \(EISDIR\)/);
  });

  it('names the file in validation errors', () => {
    const options = { env: {}, cwd: dir, path: 'bad.yaml' };
    expect(() => loadConfig(options)).toThrow(`Invalid configuration in ${join(dir, 'bad.yaml')}`);
  });
});

describe('shipped config/gateway.yaml', () => {
  it('loads with an empty environment', () => {
    const { config, file } = loadConfig({ env: {}, cwd: REPO_ROOT });
    expect(file).toBe(join(REPO_ROOT, 'config', 'gateway.yaml'));
    expect(config.upstream).toEqual(DEFAULTS.upstream);
    expect(config.admin.tokens).toEqual([]);
    expect(config.store).toEqual(DEFAULTS.store);
    expect(config.server).toEqual(DEFAULTS.server);
    expect(config.logLevel).toBe('info');
    expect(config.cors.origins).toEqual(['http://localhost:5173']);
    expect(config.keys).toEqual([]);
    expect(Object.keys(config.plans).sort()).toEqual(['free', 'pro']);
    expect(config.plans.free).toEqual({
      models: ['grok-3-mini', 'grok-4-fast-*'],
      endpoints: ['chat.completions', 'responses', 'models'],
      limits: {
        requestsPerMinute: 20,
        tokensPerMinute: 20000,
        tokensPerDay: 200000,
        costPerMonthUsd: 5,
        concurrency: 4,
        maxOutputTokens: 2048,
      },
    });
    expect(config.plans.pro?.models).toEqual(['*']);
    expect(config.plans.pro?.endpoints).toEqual(['*']);
    expect(Object.keys(config.pricing).sort()).toEqual(
      ['grok-3', 'grok-3-mini', 'grok-4', 'grok-4-fast-non-reasoning', 'grok-4-fast-reasoning', 'grok-code-fast-1', 'grok-imagine-image', 'grok-imagine-video'].sort(),
    );
    expect(config.pricing['grok-3-mini']).toEqual({ input: 0.3, cachedInput: 0.075, output: 0.5 });
  });

  it('takes the upstream key, admin token, base URL, Redis and log level from the environment', () => {
    const { config } = loadConfig({
      env: {
        XAI_API_KEY: 'xai-test-key',
        GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN,
        XAI_BASE_URL: 'http://127.0.0.1:4010',
        REDIS_URL: 'redis://127.0.0.1:6379',
        LOG_LEVEL: 'debug',
      },
      cwd: REPO_ROOT,
    });
    expect(config.upstream.apiKeys).toEqual(['xai-test-key']);
    expect(config.upstream.baseUrl).toBe('http://127.0.0.1:4010');
    expect(config.admin.tokens).toEqual([ADMIN_TOKEN]);
    expect(config.store.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.logLevel).toBe('debug');
  });
});

describe('alerts', () => {
  it('takes webhooks with their events, thresholds and the expiry window', () => {
    const config = parse('alerts:\n  webhooks:\n    - { url: "https://ops.example/hook?t=1", secret: "0123456789abcdef", events: ["key.revoked"] }\n  budgetThresholds: [0.9]\n  expiringWithinDays: 3\n');
    expect(config.alerts).toEqual({ webhooks: [{ url: 'https://ops.example/hook?t=1', secret: '0123456789abcdef', events: ['key.revoked'] }], budgetThresholds: [0.9], expiringWithinDays: 3 });
    expect(parse('alerts:\n  webhooks:\n    - { url: "http://127.0.0.1:9/x", secret: "0123456789abcdef" }\n').alerts.webhooks[0]?.events).toEqual(['budget.threshold', 'key.expiring', 'key.revoked']);
  });

  it.each([
    ['alerts:\n  webhooks:\n    - { url: "ftp://x", secret: "0123456789abcdef" }\n', 'alerts.webhooks[0].url', /http\(s\) URL/],
    ['alerts:\n  webhooks:\n    - { url: "https://user:pw@x.example", secret: "0123456789abcdef" }\n', 'alerts.webhooks[0].url', /without credentials/],
    ['alerts:\n  webhooks:\n    - { url: "https://x.example", secret: "short" }\n', 'alerts.webhooks[0].secret', /at least 16/],
    ['alerts:\n  webhooks:\n    - { url: "https://x.example", secret: "0123456789abcdef", events: ["key.deleted"] }\n', 'alerts.webhooks[0].events[0]', /one of/],
    ['alerts:\n  budgetThresholds: [1.5]\n', 'alerts.budgetThresholds[0]', /at most 1/],
    ['alerts:\n  expiringWithinDays: 0\n', 'alerts.expiringWithinDays', /positive integer/],
    ['alerts:\n  webhook: []\n', 'alerts.webhook', /webhooks/],
  ])('refuses %j at %s', (text, path, message) => {
    const found = problems(text);
    expect(found.map((p) => p.path)).toEqual([path]);
    expect(found[0]?.message).toMatch(message);
  });
});
