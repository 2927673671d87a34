import { describe, expect, it } from 'vitest';
import { formatAnswer } from '../../src/cli/format-answer.js';
import { formatCount, formatPairs, formatTable, formatUsd, printable } from '../../src/cli/text-table.js';

const SECRET = 'xgw_SECRETsecretSECRETsecretSECRETsecretSECRETse';

const record = {
  id: 'key_abc',
  name: 'web',
  plan: 'free',
  models: null,
  endpoints: ['chat.completions', 'responses'],
  limits: { requestsPerMinute: 20 },
  allowedOrigins: ['https://app.example.com'],
  allowedIps: null,
  expiresAt: null,
  revokedAt: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-02T00:00:00.000Z',
  metadata: { team: 'web' },
  parentId: null,
  mint: null,
  source: 'api',
  state: 'active',
};

const U = (requests: number, totalTokens: number, costUsd: number, refused = 0, failed = 0) => ({
  requests,
  promptTokens: totalTokens - 10,
  completionTokens: 10,
  reasoningTokens: 0,
  cachedTokens: 0,
  totalTokens,
  costUsd,
  refused,
  failed,
});

describe('text helpers', () => {
  it.each([
    ['plain', 'plain'],
    ['a\nb', 'a\\u000ab'],
    ['\u001b[31mred', '\\u001b[31mred'],
    ['tab\there', 'tab\\u0009here'],
    ['\u009b6n', '\\u009b6n'],
    ['line\u2028sep', 'line\\u2028sep'],
    ['ünïcode ok', 'ünïcode ok'],
  ])('printable(%j) = %j', (input, output) => {
    expect(printable(input)).toBe(output);
  });

  it.each([
    [0, '$0'],
    [0.0000000001, '$0.0000000001'],
    [1.5, '$1.5'],
    [0.1 + 0.2, '$0.3'],
    [12, '$12'],
  ])('formatUsd(%d) = %s', (amount, text) => {
    expect(formatUsd(amount)).toBe(text);
  });

  it.each([
    [0, '0'],
    [1234567, '1,234,567'],
  ])('formatCount(%d) = %s', (count, text) => {
    expect(formatCount(count)).toBe(text);
  });

  it('aligns table columns, numbers to the right', () => {
    expect(formatTable(['A', 'N'], [['x', '1'], ['longer', '100']], [1])).toBe(['A         N', 'x         1', 'longer  100'].join('\n'));
  });

  it('aligns label: value pairs and escapes values', () => {
    expect(formatPairs([['id', 'k'], ['longname', 'a\nb']])).toBe(['id:        k', 'longname:  a\\u000ab'].join('\n'));
  });
});

describe('formatAnswer', () => {
  it('object: its kind, its owner and who minted the owner, and its dates', () => {
    const out = formatAnswer({ kind: 'object' }, { id: 'file_1', kind: 'file', keyId: 'key_child', parentKeyId: 'key_app', createdAt: '2026-12-06T04:00:00.000Z', expiresAt: null });
    expect(out.split('\n')).toEqual([
      'object:     file_1',
      'kind:       file',
      'owner key:  key_child',
      'minted by:  key_app',
      'created:    2026-12-06T04:00:00.000Z',
      'expires:    no known end',
    ]);
  });

  it('create: the secret on its own line with the store-it-now warning, then the record', () => {
    const out = formatAnswer({ kind: 'key-created' }, { ...record, key: SECRET });
    expect(out).toContain('Created key key_abc (web).');
    expect(out).toContain('store it now, it will not be shown again');
    expect(out.split('\n')).toContain(`    ${SECRET}`);
    // Once only: not repeated among the record's fields.
    expect(out.split(SECRET)).toHaveLength(2);
    expect(out).toMatch(/^id: +key_abc$/m);
  });

  it('rotate with grace says until when the previous secret works; without, that it stopped', () => {
    const body = { ...record, key: SECRET, previousKeyValidUntil: '2026-01-02T01:00:00.000Z' };
    const graced = formatAnswer({ kind: 'key-rotated', graceSeconds: 3600 }, body);
    expect(graced).toContain(`    ${SECRET}`);
    expect(graced).toContain('store it now, it will not be shown again');
    expect(graced).toContain('keeps working until 2026-01-02T01:00:00.000Z (3600 s grace)');
    expect(formatAnswer({ kind: 'key-rotated', graceSeconds: 0 }, body)).toContain('The previous secret stopped working now.');
  });

  it('a create answer without a secret says so instead of printing nothing', () => {
    expect(formatAnswer({ kind: 'key-created' }, record)).toContain('The gateway sent no secret');
  });

  it('show: one label: value line per field, null spelled out', () => {
    const out = formatAnswer({ kind: 'key' }, { ...record, usage: { today: U(3, 450, 0.0012) } });
    const expected: [string, string][] = [
      ['id', 'key_abc'],
      ['state', 'active'],
      ['plan', 'free'],
      ['models', 'from plan free'],
      ['endpoints', 'chat.completions, responses'],
      ['limits', 'requestsPerMinute=20 \\(others from plan free\\)'],
      ['allowedOrigins', 'https://app.example.com'],
      ['allowedIps', 'any address'],
      ['expiresAt', 'never'],
      ['metadata', 'team=web'],
      ['usage today', '3 requests, 450 tokens, \\$0.0012'],
    ];
    for (const [label, value] of expected) expect(out).toMatch(new RegExp(`^${label}: +${value}$`, 'm'));
    expect(out).not.toMatch(/^revokedAt/m);
    expect(out).not.toMatch(/^parentId/m);
  });

  it('show: a key with neither scopes nor a plan says it may call nothing; a child shows its parent and revocation', () => {
    const out = formatAnswer({ kind: 'key' }, { ...record, plan: null, models: null, limits: {}, parentId: 'key_parent', revokedAt: '2026-01-03T00:00:00.000Z', mint: null });
    expect(out).toMatch(/^models: +none \(no own list and no plan: nothing is allowed\)$/m);
    expect(out).toMatch(/^limits: +none \(unlimited\)$/m);
    expect(out).toMatch(/^parentId: +key_parent$/m);
    expect(out).toMatch(/^revokedAt: +2026-01-03T00:00:00.000Z$/m);
  });

  it('show: mint and declared keys are explained', () => {
    const out = formatAnswer({ kind: 'key' }, { ...record, mint: { maxTtlSeconds: 600 }, source: 'config' });
    expect(out).toMatch(/^mint: +may mint child keys living up to 600 s$/m);
    expect(out).toMatch(/^source: +declared in the YAML config/m);
  });

  it('a hostile key name cannot reach the terminal raw', () => {
    const out = formatAnswer({ kind: 'key' }, { ...record, name: 'x\u001b]0;pwned\u0007\nstate:  active' });
    // eslint-disable-next-line no-control-regex -- asserting their absence
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(out.match(/^state:/gm)).toHaveLength(1);
  });

  it('update and revoke', () => {
    expect(formatAnswer({ kind: 'key-updated' }, record)).toMatch(/^Updated key key_abc\.\n\nid: +key_abc/);
    expect(formatAnswer({ kind: 'key-revoked' }, { ...record, revokedAt: '2026-01-03T00:00:00.000Z', state: 'revoked' })).toBe(
      'Revoked key key_abc (web) at 2026-01-03T00:00:00.000Z: it now answers 401 key_revoked, and so do its child keys.',
    );
  });

  it('list: an aligned table, a count, and how to get the next page', () => {
    const out = formatAnswer(
      { kind: 'key-list' },
      { data: [record, { ...record, id: 'key_child_long_id', name: 'c', plan: null, parentId: 'key_abc', expiresAt: '2026-02-01T00:00:00.000Z' }], nextCursor: 'CUR' },
    );
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +STATE +PLAN +EXPIRES +PARENT +CREATED$/);
    expect(lines[1]).toMatch(/^key_abc +web +active +free +never +- +2026-01-01T00:00:00.000Z$/);
    expect(lines[2]).toMatch(/^key_child_long_id +c +active +- +2026-02-01T00:00:00.000Z +key_abc/);
    // Aligned: every column starts at the same offset on each row.
    expect(lines[1]?.indexOf('web')).toBe(lines[0]?.indexOf('NAME'));
    expect(lines[2]?.indexOf('key_abc')).toBe(lines[0]?.indexOf('PARENT'));
    expect(out).toContain('2 keys');
    expect(out).toContain('xai-gateway keys list --cursor CUR');
    expect(formatAnswer({ kind: 'key-list' }, { data: [], nextCursor: null })).toBe('No keys.');
  });

  it('key usage: a row per day and model, then the totals', () => {
    const out = formatAnswer(
      { kind: 'key-usage' },
      {
        keyId: 'key_abc',
        from: '2026-01-01',
        to: '2026-01-02',
        totals: U(3, 1300, 0.5, 2, 1),
        days: [
          { date: '2026-01-01', models: { 'grok-4': U(1, 100, 0.25, 2, 1), 'grok-3-mini': U(1, 200, 0.125) } },
          { date: '2026-01-02', models: { 'grok-4': U(1, 1000, 0.125) } },
        ],
      },
    );
    const lines = out.split('\n');
    expect(lines[0]).toBe('Usage of key_abc, 2026-01-01 to 2026-01-02 (UTC days)');
    expect(lines[2]).toMatch(/^DATE +MODEL +REQUESTS +PROMPT +COMPLETION +REASONING +CACHED +TOTAL TOKENS +COST +REFUSED +FAILED$/);
    expect(lines[3]).toMatch(/^2026-01-01 +grok-4 +1 +90 +10 +0 +0 +100 +\$0\.25 +2 +1$/);
    expect(lines[4]).toMatch(/^2026-01-01 +grok-3-mini +1 +190 +10 +0 +0 +200 +\$0\.125 +0 +0$/);
    expect(lines[5]).toMatch(/^2026-01-02 +grok-4 +1 +990 +10 +0 +0 +1,000 +\$0\.125 +0 +0$/);
    expect(lines[6]).toMatch(/^total +3 +1,290 +10 +0 +0 +1,300 +\$0\.5 +2 +1$/);
    expect(formatAnswer({ kind: 'key-usage' }, { keyId: 'key_abc', from: 'a', to: 'b', totals: U(0, 0, 0), days: [] })).toContain('No usage in this range.');
  });

  it('all usage: a row per key, the parent shown, the overall total last', () => {
    const out = formatAnswer(
      { kind: 'all-usage' },
      {
        from: '2026-01-01',
        to: '2026-01-01',
        totals: U(2, 300, 0.3),
        keys: [
          { keyId: 'key_parent', parentId: null, totals: U(2, 300, 0.3), days: [] },
          { keyId: 'key_child', parentId: 'key_parent', totals: U(1, 100, 0.1), days: [] },
        ],
      },
    );
    const lines = out.split('\n');
    expect(lines[2]).toMatch(/^KEY +PARENT +REQUESTS/);
    expect(lines[3]).toMatch(/^key_parent +- +2 .* \$0\.3 +0 +0$/);
    expect(lines[4]).toMatch(/^key_child +key_parent +1 .* \$0\.1 +0 +0$/);
    expect(lines[5]).toMatch(/^total +2 .* \$0\.3 +0 +0$/);
    expect(out).toContain("A child key's usage is also inside its parent's row");
  });

  it('audit: newest first as given, long changes shortened with a pointer to --json', () => {
    const long = { name: { from: 'a'.repeat(80), to: 'b'.repeat(80) } };
    const out = formatAnswer(
      { kind: 'audit' },
      {
        data: [
          { at: '2026-01-02T00:00:00.000Z', actor: 'admin:0123456789ab', action: 'patch', keyId: 'key_abc', changes: long },
          { at: '2026-01-01T00:00:00.000Z', actor: 'key:key_abc', action: 'mint', keyId: 'key_child', changes: { ttl: 1 } },
        ],
        nextCursor: null,
      },
    );
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^AT +ACTOR +ACTION +KEY +CHANGES$/);
    expect(lines[1]).toMatch(/^2026-01-02T00:00:00.000Z +admin:0123456789ab +patch +key_abc +\{"name".*…$/);
    expect(lines[2]).toMatch(/^2026-01-01T00:00:00.000Z +key:key_abc +mint +key_child +\{"ttl":1\}$/);
    expect(out).toContain('2 entries, newest first (long changes shortened; --json has them whole)');
  });

  it('tolerates answers missing fields (another gateway version) without throwing', () => {
    for (const kind of ['key-created', 'key-updated', 'key', 'key-list', 'key-revoked', 'key-usage', 'all-usage', 'audit'] as const) {
      expect(() => formatAnswer({ kind }, null)).not.toThrow();
      expect(() => formatAnswer({ kind }, { data: 'x', days: 5, keys: {} })).not.toThrow();
    }
  });
});
