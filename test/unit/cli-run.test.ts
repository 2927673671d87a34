import { describe, expect, it } from 'vitest';
import type { FetchLike } from '../../src/cli/admin-client.js';
import { runCli } from '../../src/cli/run-cli.js';

/** runCli with a scripted fetch (no sockets): exit codes, what is sent, what is printed. */
const TOKEN = 'admin-token-0123456789-abcdef';
const URL_ = 'http://127.0.0.1:9999';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
  redirect: RequestInit['redirect'];
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

async function cli(argv: string[], answers: ((call: Call) => Response | Promise<Response>)[] = [], env: Record<string, string> = { GATEWAY_ADMIN_TOKEN: TOKEN }) {
  const calls: Call[] = [];
  let out = '';
  let err = '';
  const fetch: FetchLike = async (url, init) => {
    const call: Call = {
      url,
      method: init.method ?? 'GET',
      headers: init.headers as Record<string, string>,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      redirect: init.redirect,
    };
    calls.push(call);
    const answer = answers[calls.length - 1];
    if (answer === undefined) throw new Error(`unexpected call ${calls.length}: ${url}`);
    return answer(call);
  };
  const code = await runCli({
    argv: [...argv, ...(argv.includes('--url') ? [] : ['--url', URL_])],
    env,
    fetch,
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    version: '9.9.9',
  });
  return { code, out, err, calls };
}

const KEY = { id: 'key_abc', name: 'web', plan: null, models: ['grok-4'], endpoints: ['*'], limits: {}, allowedOrigins: null, allowedIps: null, expiresAt: null, revokedAt: null, metadata: {}, parentId: null, mint: null, state: 'active', createdAt: 'c', updatedAt: 'u' };

describe('runCli', () => {
  it('sends the admin token as a bearer header, the body as JSON, and never follows redirects', async () => {
    const r = await cli(['keys', 'create', '--name', 'web', '--limit', 'requestsPerMinute=20'], [() => json(201, { ...KEY, key: 'xgw_secret' })]);
    expect(r.code).toBe(0);
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]).toMatchObject({
      url: `${URL_}/admin/keys`,
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: { name: 'web', limits: { requestsPerMinute: 20 } },
      redirect: 'manual',
    });
    expect(r.out).toContain('    xgw_secret');
    expect(r.err).toBe('');
  });

  it('--json prints the answer as JSON', async () => {
    const r = await cli(['keys', 'show', 'key_abc', '--json'], [() => json(200, KEY)]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(KEY);
  });

  it('an API error exits 1 with the gateway\'s code and message on stderr, nothing on stdout', async () => {
    const r = await cli(['keys', 'show', 'key_nope'], [() => json(404, { error: { message: 'No key with id "key_nope".', type: 'invalid_request_error', code: 'not_found' } })]);
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toBe('xai-gateway: not_found: No key with id "key_nope". (HTTP 404)\n');
  });

  it('an answer that is not the error shape still exits 1 and says what came back', async () => {
    const r = await cli(['keys', 'list'], [() => new Response('<html>Bad Gateway</html>', { status: 502 })]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('HTTP 502, not a JSON answer: <html>Bad Gateway</html>');
  });

  it('a redirect is reported, not followed (the token would go along)', async () => {
    const r = await cli(['keys', 'list'], [() => new Response(null, { status: 301, headers: { location: 'https://gw.example.com/admin/keys' } })]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('redirect to https://gw.example.com/admin/keys; give the final address with --url');
    expect(r.calls).toHaveLength(1);
  });

  it('an unreachable gateway exits 1 naming the address and the cause', async () => {
    const refused = (): Response => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9999'), { code: 'ECONNREFUSED' }) });
    };
    const r = await cli(['keys', 'list'], [refused]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`xai-gateway: cannot reach the gateway at ${URL_}: ECONNREFUSED\n`);
  });

  it('--all follows nextCursor (pages of 1000 unless --limit) and answers every item once', async () => {
    const r = await cli(
      ['keys', 'list', '--all', '--json'],
      [
        () => json(200, { data: [{ id: 'key_1' }, { id: 'key_2' }], nextCursor: 'c1' }),
        () => json(200, { data: [{ id: 'key_3' }], nextCursor: 'c 2' }),
        () => json(200, { data: [], nextCursor: null }),
      ],
    );
    expect(r.code).toBe(0);
    expect(r.calls.map((call) => call.url)).toEqual([`${URL_}/admin/keys?limit=1000`, `${URL_}/admin/keys?limit=1000&cursor=c1`, `${URL_}/admin/keys?limit=1000&cursor=c+2`]);
    expect(JSON.parse(r.out)).toEqual({ data: [{ id: 'key_1' }, { id: 'key_2' }, { id: 'key_3' }], nextCursor: null });
  });

  it('--all stops on an error page and on a repeated cursor', async () => {
    const failing = await cli(['audit', '--all', '--limit', '2'], [() => json(200, { data: [{}], nextCursor: 'c1' }), () => json(503, { error: { message: 'down', code: 'store_unavailable' } })]);
    expect(failing.calls[0]?.url).toBe(`${URL_}/admin/audit?limit=2`);
    expect(failing).toMatchObject({ code: 1, out: '' });
    expect(failing.err).toContain('store_unavailable: down (HTTP 503)');
    const looping = await cli(['audit', '--all'], [() => json(200, { data: [], nextCursor: 'same' }), () => json(200, { data: [], nextCursor: 'same' })]);
    expect(looping.code).toBe(1);
    expect(looping.err).toContain('repeated a page cursor');
  });

  it('a usage error exits 2 with the help and the problem on stderr; nothing is sent', async () => {
    const r = await cli(['keys', 'create', '--bogus']);
    expect(r).toMatchObject({ code: 2, out: '', calls: [] });
    expect(r.err).toContain('Usage: xai-gateway keys <command>');
    expect(r.err.trimEnd().split('\n').at(-1)).toBe('xai-gateway: unknown option --bogus');
  });

  it('--help exits 0 on stdout without an admin token', async () => {
    const r = await cli(['keys', '--help'], [], {});
    expect(r).toMatchObject({ code: 0, err: '', calls: [] });
    expect(r.out).toContain('Usage: xai-gateway keys <command>');
    expect((await cli(['--version'], [], {})).out).toBe('9.9.9\n');
  });

  it('without an admin token: exit 2, nothing sent', async () => {
    const r = await cli(['keys', 'list'], [], {});
    expect(r).toMatchObject({ code: 2, calls: [] });
    expect(r.err).toContain('no admin token: set GATEWAY_ADMIN_TOKEN');
  });

  it('never prints the admin token, even when the gateway echoes it', async () => {
    const echo = (): Response => json(400, { error: { message: `bad token ${TOKEN}`, code: 'invalid_request' } });
    const r = await cli(['keys', 'list'], [echo]);
    expect(r.err).not.toContain(TOKEN);
    expect(r.err).toContain('[admin token]');
    const shown = await cli(['keys', 'show', 'key_abc', '--json'], [() => json(200, { ...KEY, name: TOKEN })]);
    expect(shown.out).not.toContain(TOKEN);
  });

  it('warns when the token would travel over plain http to another host, not for loopback or https', async () => {
    const remote = await cli(['keys', 'list', '--url', 'http://gw.example.com'], [() => json(200, { data: [], nextCursor: null })]);
    expect(remote.err).toContain('warning: the admin token travels unencrypted to http://gw.example.com');
    for (const url of ['http://localhost:8080', 'http://127.0.0.1:8080', 'http://[::1]:8080', 'https://gw.example.com']) {
      const quiet = await cli(['keys', 'list', '--url', url], [() => json(200, { data: [], nextCursor: null })]);
      expect(quiet.err).toBe('');
    }
  });

  it('control characters in an error message are escaped', async () => {
    const r = await cli(['keys', 'list'], [() => json(400, { error: { message: 'bad\u001b[2Jthing\nline', code: 'invalid_request' } })]);
    expect(r.err).toBe('xai-gateway: invalid_request: bad\\u001b[2Jthing\\u000aline (HTTP 400)\n');
  });
});
