import { describe, expect, it } from 'vitest';
import { KEY_ID_PATTERN } from '../../src/config/schema.js';
import { adminTokenFrom } from '../../src/cli/admin-token.js';
import { KEY_ID_RE, parseCommand, type ApiRequest, type AnswerView } from '../../src/cli/parse-command.js';

const ID = 'key_abc123';
const NO_ENV = {};

function run(argv: string[], env: Record<string, string | undefined> = NO_ENV) {
  const parsed = parseCommand(argv, env);
  if (parsed.kind !== 'run') throw new Error(`expected a command, got ${JSON.stringify(parsed)}`);
  return parsed.command;
}

describe('parseCommand: argv → admin API request (docs/api.md)', () => {
  const cases: { argv: string[]; request: ApiRequest; view?: AnswerView; pageAll?: boolean }[] = [
    { argv: ['keys', 'create', '--name', 'web'], request: { method: 'POST', path: '/admin/keys', body: { name: 'web' } }, view: { kind: 'key-created' } },
    {
      argv: [
        'keys', 'create', '--name', 'web', '--plan', 'free', '--models', 'grok-4, grok-3-*', '--endpoints', 'chat.completions,responses',
        '--limit', 'requestsPerMinute=20', '--limit', 'costPerDayUsd=2.5', '--origins', 'https://a.example.com,https://b.example.com',
        '--ips', '10.0.0.0/8,2001:db8::/32', '--ttl', '600', '--metadata', 'team=web', '--metadata', 'note=a=b', '--mint-max-ttl', '300',
      ],
      request: {
        method: 'POST',
        path: '/admin/keys',
        body: {
          name: 'web',
          plan: 'free',
          models: ['grok-4', 'grok-3-*'],
          endpoints: ['chat.completions', 'responses'],
          limits: { requestsPerMinute: 20, costPerDayUsd: 2.5 },
          allowedOrigins: ['https://a.example.com', 'https://b.example.com'],
          allowedIps: ['10.0.0.0/8', '2001:db8::/32'],
          ttlSeconds: 600,
          metadata: { team: 'web', note: 'a=b' },
          mint: { maxTtlSeconds: 300 },
        },
      },
    },
    {
      argv: ['keys', 'create', '--name=x', '--expires-at', '2030-01-01T00:00:00Z', '--metadata', 'empty='],
      request: { method: 'POST', path: '/admin/keys', body: { name: 'x', expiresAt: '2030-01-01T00:00:00Z', metadata: { empty: '' } } },
    },
    { argv: ['keys', 'list'], request: { method: 'GET', path: '/admin/keys' }, view: { kind: 'key-list' }, pageAll: false },
    { argv: ['keys', 'list', '--limit', '5', '--cursor', 'a b&c'], request: { method: 'GET', path: '/admin/keys?limit=5&cursor=a+b%26c' } },
    { argv: ['keys', 'list', '--all'], request: { method: 'GET', path: '/admin/keys' }, pageAll: true },
    { argv: ['keys', 'show', ID], request: { method: 'GET', path: `/admin/keys/${ID}` }, view: { kind: 'key' } },
    {
      argv: ['keys', 'update', ID, '--limit', 'requestsPerMinute=5', '--origins', 'https://a.example.com'],
      request: { method: 'PATCH', path: `/admin/keys/${ID}`, body: { limits: { requestsPerMinute: 5 }, allowedOrigins: ['https://a.example.com'] } },
      view: { kind: 'key-updated' },
    },
    {
      argv: ['keys', 'update', ID, '--clear', 'expiry', '--clear', 'limits', '--clear', 'origins', '--clear', 'metadata', '--clear', 'mint', '--clear', 'plan'],
      request: { method: 'PATCH', path: `/admin/keys/${ID}`, body: { expiresAt: null, limits: {}, allowedOrigins: null, metadata: {}, mint: null, plan: null } },
    },
    { argv: ['keys', 'update', ID, '--name', 'renamed', '--ttl', '60'], request: { method: 'PATCH', path: `/admin/keys/${ID}`, body: { name: 'renamed', ttlSeconds: 60 } } },
    { argv: ['keys', 'revoke', ID], request: { method: 'DELETE', path: `/admin/keys/${ID}` }, view: { kind: 'key-revoked' } },
    { argv: ['keys', 'rotate', ID], request: { method: 'POST', path: `/admin/keys/${ID}/rotate`, body: {} }, view: { kind: 'key-rotated', graceSeconds: 0 } },
    {
      argv: ['keys', 'rotate', ID, '--grace', '3600'],
      request: { method: 'POST', path: `/admin/keys/${ID}/rotate`, body: { graceSeconds: 3600 } },
      view: { kind: 'key-rotated', graceSeconds: 3600 },
    },
    { argv: ['keys', 'usage', ID], request: { method: 'GET', path: `/admin/keys/${ID}/usage` }, view: { kind: 'key-usage' } },
    { argv: ['keys', 'usage', ID, '--from', '2026-01-01', '--to', '2026-01-31'], request: { method: 'GET', path: `/admin/keys/${ID}/usage?from=2026-01-01&to=2026-01-31` } },
    { argv: ['usage', '--from', '2026-01-01'], request: { method: 'GET', path: '/admin/usage?from=2026-01-01' }, view: { kind: 'all-usage' } },
    { argv: ['audit'], request: { method: 'GET', path: '/admin/audit' }, view: { kind: 'audit' }, pageAll: false },
    { argv: ['audit', '--limit', '10', '--all'], request: { method: 'GET', path: '/admin/audit?limit=10' }, pageAll: true },
    {
      argv: ['object', 'file_a128090d-f0c9-4873-bd84-e499777e7417'],
      request: { method: 'GET', path: '/admin/objects/file_a128090d-f0c9-4873-bd84-e499777e7417' },
      view: { kind: 'object' },
    },
    // Global flags may stand anywhere.
    { argv: ['--json', 'keys', 'show', ID], request: { method: 'GET', path: `/admin/keys/${ID}` } },
  ];

  it.each(cases)('$argv', ({ argv, request, view, pageAll }) => {
    const command = run(argv);
    expect(command.request).toEqual(request);
    if (view !== undefined) expect(command.view).toEqual(view);
    if (pageAll !== undefined) expect(command.pageAll).toBe(pageAll);
  });

  it('reads --json and leaves it off by default', () => {
    expect(run(['keys', 'list', '--json']).json).toBe(true);
    expect(run(['keys', 'list']).json).toBe(false);
  });

  it('never puts the admin token in the command', () => {
    const command = run(['keys', 'list'], { GATEWAY_ADMIN_TOKEN: 'admin-token-0123456789-abcdef' });
    expect(JSON.stringify(command)).not.toContain('admin-token');
  });
});

describe('parseCommand: base URL', () => {
  const cases: { argv: string[]; env: Record<string, string | undefined>; url: string }[] = [
    { argv: [], env: {}, url: 'http://localhost:8080' },
    { argv: [], env: { XGW_URL: '' }, url: 'http://localhost:8080' },
    { argv: [], env: { XGW_URL: 'https://gw.example.com/' }, url: 'https://gw.example.com' },
    { argv: ['--url', 'http://127.0.0.1:9000'], env: { XGW_URL: 'https://gw.example.com' }, url: 'http://127.0.0.1:9000' },
    { argv: ['--url', 'https://proxy.example.com/gateway/'], env: {}, url: 'https://proxy.example.com/gateway' },
    // The PORT the gateway listens on, from the same environment, when nothing names a URL.
    { argv: [], env: { PORT: '9090' }, url: 'http://localhost:9090' },
    { argv: [], env: { PORT: '9090', XGW_URL: 'https://gw.example.com' }, url: 'https://gw.example.com' },
    { argv: [], env: { PORT: '0' }, url: 'http://localhost:8080' },
    { argv: [], env: { PORT: 'abc' }, url: 'http://localhost:8080' },
  ];
  it.each(cases)('$argv with $env → $url', ({ argv, env, url }) => {
    expect(run(['keys', 'list', ...argv], env).baseUrl).toBe(url);
  });
});

describe('parseCommand: usage errors (exit 2) name the problem', () => {
  const cases: { argv: string[]; env?: Record<string, string>; message: RegExp; topic?: string }[] = [
    { argv: [], message: /no command given/, topic: 'main' },
    { argv: ['frobnicate'], message: /unknown command "frobnicate"/, topic: 'main' },
    { argv: ['keys'], message: /keys needs a command/, topic: 'keys' },
    { argv: ['keys', 'delete', ID], message: /unknown command "keys delete"/, topic: 'keys' },
    { argv: ['keys', 'list', '--bogus'], message: /unknown option --bogus/, topic: 'keys' },
    { argv: ['keys', 'create', '--nme', 'x'], message: /unknown option --nme \(did you mean --name\?\)/ },
    { argv: ['keys', 'create', '--admin-token', 'secret'], message: /unknown option --admin-token/ },
    { argv: ['keys', 'list', '--grace', '5'], message: /--grace is not an option of "keys list"/ },
    { argv: ['keys', 'show', ID, '--name', 'x'], message: /--name is not an option of "keys show"/ },
    { argv: ['usage', '--clear', 'plan'], message: /--clear is not an option of "usage"/, topic: 'usage' },
    { argv: ['keys', 'create'], message: /needs --name/ },
    { argv: ['keys', 'create', '--name', 'a', '--name', 'b'], message: /--name is given twice/ },
    { argv: ['keys', 'list', '--limit', '1', '--limit', '2'], message: /--limit is given twice/ },
    { argv: ['keys', 'show'], message: /keys show takes <id>/ },
    { argv: ['keys', 'show', ID, 'extra'], message: /not "extra"/ },
    { argv: ['keys', 'list', 'extra'], message: /keys list takes no arguments/ },
    { argv: ['keys', 'show', '../admin'], message: /is not a key id/ },
    { argv: ['keys', 'show', 'key_a/b'], message: /is not a key id/ },
    { argv: ['keys', 'create', '--name', 'x', '--limit', 'requestsPerMinute'], message: /--limit needs name=value/ },
    { argv: ['keys', 'create', '--name', 'x', '--limit', 'requestsPerHour=5'], message: /unknown limit "requestsPerHour"; limits are: requestsPerMinute/ },
    { argv: ['keys', 'create', '--name', 'x', '--limit', 'requestsPerMinute=-1'], message: /needs a number >= 0/ },
    { argv: ['keys', 'create', '--name', 'x', '--limit', 'requestsPerMinute=1e3'], message: /needs a number >= 0/ },
    { argv: ['keys', 'create', '--name', 'x', '--limit', 'requestsPerMinute=1', '--limit', 'requestsPerMinute=2'], message: /requestsPerMinute is given twice/ },
    { argv: ['keys', 'create', '--name', 'x', '--metadata', 'novalue'], message: /--metadata needs name=value/ },
    { argv: ['keys', 'create', '--name', 'x', '--metadata', '=v'], message: /--metadata needs name=value/ },
    { argv: ['keys', 'create', '--name', 'x', '--models', ' , '], message: /--models needs a comma-separated list/ },
    { argv: ['keys', 'create', '--name', 'x', '--ttl', '0'], message: /--ttl must be a whole number >= 1/ },
    { argv: ['keys', 'create', '--name', 'x', '--ttl', '1.5'], message: /--ttl must be a whole number/ },
    { argv: ['keys', 'create', '--name', 'x', '--ttl', '0x10'], message: /--ttl must be a whole number/ },
    { argv: ['keys', 'create', '--name', 'x', '--ttl', '60', '--expires-at', '2030-01-01T00:00:00Z'], message: /either --ttl or --expires-at/ },
    { argv: ['keys', 'create', '--name', 'x', '--mint-max-ttl', 'ten'], message: /--mint-max-ttl must be a whole number >= 1/ },
    { argv: ['keys', 'create', '--name', 'x', '--clear', 'plan'], message: /--clear is not an option of "keys create"/ },
    { argv: ['keys', 'update', ID], message: /needs at least one change/ },
    { argv: ['keys', 'update', ID, '--clear', 'name'], message: /--clear name: can clear plan, models/ },
    { argv: ['keys', 'update', ID, '--clear', '__proto__'], message: /--clear __proto__: can clear/ },
    { argv: ['keys', 'update', ID, '--clear', 'expiry', '--ttl', '5'], message: /--clear expiry and --ttl contradict/ },
    { argv: ['keys', 'update', ID, '--clear', 'limits', '--limit', 'concurrency=1'], message: /--clear limits and --limit contradict/ },
    { argv: ['keys', 'rotate', ID, '--grace', '-5'], message: /argument is ambiguous|--grace must be a whole number/ },
    { argv: ['keys', 'rotate', ID, '--grace', 'soon'], message: /--grace must be a whole number >= 0/ },
    { argv: ['keys', 'list', '--limit', '0'], message: /--limit must be a whole number >= 1/ },
    { argv: ['keys', 'list', '--cursor'], message: /argument missing/ },
    { argv: ['keys', 'list', '--json=yes'], message: /does not take an argument/ },
    { argv: ['keys', 'list', '--url', 'localhost:8080'], message: /--url must be an http:\/\/ or https:\/\/ URL/ },
    { argv: ['keys', 'list', '--url', 'not a url'], message: /--url is not a URL/ },
    { argv: ['keys', 'list', '--url', 'http://admin:pw@gw.example.com'], message: /must not hold credentials/ },
    { argv: ['keys', 'list', '--url', 'http://gw.example.com/?x=1'], message: /must not have a query/ },
    { argv: ['keys', 'list'], env: { XGW_URL: 'ftp://gw.example.com' }, message: /XGW_URL must be an http/ },
    { argv: ['object'], message: /object takes <objectId>/ },
    { argv: ['object', '../admin/keys'], message: /is not an xAI object id/ },
  ];

  it.each(cases)('$argv', ({ argv, env, message, topic }) => {
    const parsed = parseCommand(argv, env ?? NO_ENV);
    expect(parsed.kind).toBe('usage-error');
    if (parsed.kind !== 'usage-error') return;
    expect(parsed.message).toMatch(message);
    if (topic !== undefined) expect(parsed.topic).toBe(topic);
  });

  it.each(['http://admin:hunter2hunter2@gw.example.com', 'http://admin:hunter2hunter2@gw example.com'])('never echoes credentials given in the URL: %s', (url) => {
    const parsed = parseCommand(['keys', 'list', '--url', url], NO_ENV);
    expect(parsed.kind).toBe('usage-error');
    expect(JSON.stringify(parsed)).not.toContain('hunter2');
  });
});

describe('parseCommand: help and version', () => {
  const cases: { argv: string[]; topic: string }[] = [
    { argv: ['--help'], topic: 'main' },
    { argv: ['-h'], topic: 'main' },
    { argv: ['help'], topic: 'main' },
    { argv: ['help', 'keys'], topic: 'keys' },
    { argv: ['keys', '--help'], topic: 'keys' },
    { argv: ['keys', 'create', '--help'], topic: 'keys' },
    { argv: ['keys', 'create', '--bogus', '--help'], topic: 'keys' },
    { argv: ['usage', '-h'], topic: 'usage' },
    { argv: ['audit', '--help'], topic: 'audit' },
  ];
  it.each(cases)('$argv → help for $topic', ({ argv, topic }) => {
    expect(parseCommand(argv, NO_ENV)).toEqual({ kind: 'help', topic });
  });

  it('--version', () => {
    expect(parseCommand(['--version'], NO_ENV)).toEqual({ kind: 'version' });
  });
});

describe('KEY_ID_RE', () => {
  it('is the config schema\'s key id rule', () => {
    expect(KEY_ID_RE.source).toBe(KEY_ID_PATTERN.source);
    expect(KEY_ID_RE.flags).toBe(KEY_ID_PATTERN.flags);
  });
});

describe('adminTokenFrom: environment only, value never echoed', () => {
  const secret = 'admin-token-0123456789-abcdef';
  const cases: { env: Record<string, string>; token?: string; source?: string; problem?: RegExp }[] = [
    { env: { GATEWAY_ADMIN_TOKEN: secret }, token: secret, source: 'GATEWAY_ADMIN_TOKEN' },
    { env: { XGW_ADMIN_TOKEN: secret }, token: secret, source: 'XGW_ADMIN_TOKEN' },
    { env: { XGW_ADMIN_TOKEN: secret, GATEWAY_ADMIN_TOKEN: 'other-token-0123456789' }, token: secret, source: 'XGW_ADMIN_TOKEN' },
    { env: { XGW_ADMIN_TOKEN: ' ', GATEWAY_ADMIN_TOKEN: secret }, token: secret, source: 'GATEWAY_ADMIN_TOKEN' },
    // The server's variable may list several tokens; the first one is used.
    { env: { GATEWAY_ADMIN_TOKEN: `${secret}, second-token-0123456789` }, token: secret },
    { env: { GATEWAY_ADMIN_TOKEN: `${secret}\n` }, token: secret },
    { env: {}, problem: /no admin token: set GATEWAY_ADMIN_TOKEN/ },
    { env: { GATEWAY_ADMIN_TOKEN: '' }, problem: /no admin token/ },
    { env: { GATEWAY_ADMIN_TOKEN: `${secret} x` }, problem: /GATEWAY_ADMIN_TOKEN holds characters/ },
    { env: { XGW_ADMIN_TOKEN: `${secret}é` }, problem: /XGW_ADMIN_TOKEN holds characters/ },
  ];
  it.each(cases)('$env', ({ env, token, source, problem }) => {
    const result = adminTokenFrom(env);
    if (problem !== undefined) {
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.problem).toMatch(problem);
        expect(result.problem).not.toContain(secret);
      }
      return;
    }
    expect(result).toMatchObject({ ok: true, token, ...(source === undefined ? {} : { source }) });
  });
});
