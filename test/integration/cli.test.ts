import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, chatBody, eventually, postJson, startHarness, type Harness } from '../helpers/harness.js';

/**
 * The BUILT `xai-gateway` CLI (dist/src/cli/main.js, the package's "bin"; `npm test` builds
 * first) run as a child process against a real gateway over a real socket, and the gateway then shown to
 * behave as the CLI's changes say. Child processes are asynchronous: the gateway runs in this process.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const YAML = `
plans:
  free:
    models: ["grok-4"]
    endpoints: ["chat.completions"]
    limits: { requestsPerMinute: 100 }
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let h: Harness;
/** Everything the CLI printed in this file: the admin token must appear in none of it. */
const printed: string[] = [];

function exec(file: string, args: readonly string[], env: Record<string, string>, timeoutMs = 15_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    // A clean environment: only PATH (to find node/npm) and what the test gives; no token leaks in from the shell.
    execFile(file, [...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(new Error(`could not run ${file}: ${error.message}`));
        return;
      }
      printed.push(stdout, stderr);
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

function cli(args: readonly string[], env: Record<string, string> = { GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN }): Promise<Run> {
  return exec(process.execPath, [CLI, ...args, '--url', h.url], env);
}

function secretIn(stdout: string): string {
  const match = /^ {4}(xgw_\S+)$/m.exec(stdout);
  if (match?.[1] === undefined) throw new Error(`no secret line in:\n${stdout}`);
  return match[1];
}

function idIn(stdout: string): string {
  const match = /^id: +(key_\S+)$/m.exec(stdout);
  if (match?.[1] === undefined) throw new Error(`no id line in:\n${stdout}`);
  return match[1];
}

function chat(key: string, headers: Record<string, string> = {}): Promise<Response> {
  return postJson(`${h.url}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${key}`, ...headers });
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

/** A port nothing listens on: one the OS just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  h = await startHarness({ store: 'memory', name: 'cli', yaml: YAML });
});

afterAll(async () => {
  await h.close();
});

describe('xai-gateway CLI against a running gateway', () => {
  let id = '';
  let secret = '';
  let jsonId = '';

  it('keys create prints the secret once with the warning; the secret works on /v1', async () => {
    const run = await cli(['keys', 'create', '--name', 'web app', '--plan', 'free', '--limit', 'requestsPerMinute=20', '--metadata', 'team=web']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('store it now, it will not be shown again');
    secret = secretIn(run.stdout);
    id = idIn(run.stdout);
    expect(run.stdout.split(secret)).toHaveLength(2);
    expect(run.stdout).toMatch(/^limits: +requestsPerMinute=20 \(others from plan free\)$/m);
    expect(run.stdout).toMatch(/^metadata: +team=web$/m);
    expect((await chat(secret)).status).toBe(200);
  });

  it('keys create --json prints the API answer, secret included', async () => {
    const run = await cli(['keys', 'create', '--name', 'ci', '--models', 'grok-4', '--endpoints', 'chat.completions', '--ttl', '3600', '--json']);
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout) as { id: string; key: string; name: string; expiresAt: string; models: string[] };
    jsonId = body.id;
    expect(body).toMatchObject({ name: 'ci', models: ['grok-4'] });
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(3500_000);
    expect((await chat(body.key)).status).toBe(200);
  });

  it('keys list shows both in an aligned table; --all --json has every record and no secret', async () => {
    const run = await cli(['keys', 'list']);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +STATE +PLAN +EXPIRES +PARENT +CREATED$/);
    const row = lines.find((line) => line.startsWith(id));
    expect(row).toMatch(new RegExp(`^${id} +web app +active +free +never +- +\\d{4}-`));
    expect(row?.indexOf('web app')).toBe(lines[0]?.indexOf('NAME'));
    expect(run.stdout).toContain(jsonId);
    expect(run.stdout).toContain('2 keys');

    const all = await cli(['keys', 'list', '--all', '--limit', '1', '--json']);
    expect(all.code).toBe(0);
    const page = JSON.parse(all.stdout) as { data: { id: string }[]; nextCursor: null };
    expect(page.data.map((k) => k.id)).toEqual([id, jsonId]);
    expect(page.nextCursor).toBeNull();
    expect(all.stdout).not.toContain(secret);
  });

  it('keys show prints key: value lines with today\'s usage', async () => {
    const run = await cli(['keys', 'show', id]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^id: +${id}$`, 'm'));
    expect(run.stdout).toMatch(/^name: +web app$/m);
    expect(run.stdout).toMatch(/^state: +active$/m);
    expect(run.stdout).toMatch(/^usage today: +1 requests, [\d,]+ tokens, \$[\d.]+$/m);
  });

  it('keys update changes limits and origins, and the gateway enforces them', async () => {
    const run = await cli(['keys', 'update', id, '--limit', 'requestsPerMinute=2', '--origins', 'https://app.example.com']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^limits: +requestsPerMinute=2 \(others from plan free\)$/m);
    expect(run.stdout).toMatch(/^allowedOrigins: +https:\/\/app\.example\.com$/m);
    const record = (await (await h.admin('GET', `/admin/keys/${id}`)).json()) as Record<string, unknown>;
    expect(record).toMatchObject({ limits: { requestsPerMinute: 2 }, allowedOrigins: ['https://app.example.com'] });

    const foreign = await chat(secret, { origin: 'https://evil.example.com' });
    expect(foreign.status).toBe(403);
    expect(await errorCode(foreign)).toBe('origin_not_allowed');
    // One request was made before the update, in this minute: one more fits under 2/minute, the next does not.
    expect((await chat(secret, { origin: 'https://app.example.com' })).status).toBe(200);
    const over = await chat(secret, { origin: 'https://app.example.com' });
    expect(over.status).toBe(429);
    expect(await errorCode(over)).toBe('rate_limit_exceeded');

    const cleared = await cli(['keys', 'update', id, '--clear', 'limits', '--clear', 'origins', '--json']);
    expect(cleared.code).toBe(0);
    expect(JSON.parse(cleared.stdout)).toMatchObject({ limits: {}, allowedOrigins: null });
    expect((await chat(secret)).status).toBe(200);
  });

  it('keys rotate --grace: a new secret printed once; old and new both work; rotate without grace ends the old one', async () => {
    const run = await cli(['keys', 'rotate', id, '--grace', '60']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('store it now, it will not be shown again');
    expect(run.stdout).toMatch(/previous secret keeps working until \d{4}-\d\d-\d\dT[\d:.]+Z \(60 s grace\)/);
    const rotated = secretIn(run.stdout);
    expect(rotated).not.toBe(secret);
    expect((await chat(secret)).status).toBe(200);
    expect((await chat(rotated)).status).toBe(200);

    const again = await cli(['keys', 'rotate', id]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('The previous secret stopped working now.');
    const latest = secretIn(again.stdout);
    for (const old of [secret, rotated]) {
      const refused = await chat(old);
      expect(refused.status).toBe(401);
      expect(await errorCode(refused)).toBe('invalid_api_key');
    }
    expect((await chat(latest)).status).toBe(200);
    secret = latest;
  });

  it('keys usage and usage report what the gateway counted', async () => {
    // The key made 6 successful calls (1 at create, 2 around the update, 3 around the rotations); the JSON
    // key 1. Settlement lands just after each response.
    let report: { totals: { requests: number }; days: { models: Record<string, { requests: number }> }[] } | undefined;
    await eventually(async () => {
      const run = await cli(['keys', 'usage', id, '--json']);
      report = JSON.parse(run.stdout) as typeof report;
      return report?.totals.requests === 6;
    });
    expect(report?.days[0]?.models['grok-4']?.requests).toBe(6);

    const text = await cli(['keys', 'usage', id]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^Usage of ${id}, \\d{4}-\\d\\d-\\d\\d to \\d{4}-\\d\\d-\\d\\d \\(UTC days\\)$`, 'm'));
    expect(text.stdout).toMatch(/^\d{4}-\d\d-\d\d +grok-4 +6 /m);
    expect(text.stdout).toMatch(/^total +6 /m);

    const all = await cli(['usage']);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^${id} +- +6 `, 'm'));
    expect(all.stdout).toMatch(new RegExp(`^${jsonId} +- +1 `, 'm'));
    expect(all.stdout).toMatch(/^total +7 /m);

    const bad = await cli(['usage', '--from', '2026-13-01']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid_request: from must be a date YYYY-MM-DD.');
  });

  it('keys requests, overview and alerts show the operator\'s view', async () => {
    let lines: { requestId: string; status: number }[] = [];
    await eventually(async () => {
      const run = await cli(['keys', 'requests', id, '--limit', '3', '--json']);
      lines = (JSON.parse(run.stdout) as { data: typeof lines }).data;
      return lines.length === 3;
    });
    const text = await cli(['keys', 'requests', id, '--limit', '3']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^AT +REQUEST ID +KEY +ENDPOINT +MODEL +STATUS/m);
    expect(text.stdout).toContain(lines[0]?.requestId ?? 'missing');
    expect(text.stdout).toMatch(/^3 requests, newest first/m);
    expect((await cli(['keys', 'requests', id, '--limit', '0'])).code).toBe(2);

    const overview = await cli(['overview']);
    expect(overview.code).toBe(0);
    expect(overview.stdout).toMatch(/^requests in flight: +\d+$/m);
    expect(overview.stdout).toContain('Top keys by cost today:');
    expect(overview.stdout).toMatch(new RegExp(`^${id} +web app +6 `, 'm'));

    const alerts = await cli(['alerts']);
    expect(alerts.code).toBe(0);
    expect(alerts.stdout).toContain('No alert deliveries yet');
  });

  it('keys revoke: the gateway refuses the key from then on', async () => {
    const run = await cli(['keys', 'revoke', id]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Revoked key ${id} \\(web app\\) at \\d{4}-`));
    const refused = await chat(secret);
    expect(refused.status).toBe(401);
    expect(await errorCode(refused)).toBe('key_revoked');
    const shown = await cli(['keys', 'show', id]);
    expect(shown.stdout).toMatch(/^state: +revoked$/m);
    const rotate = await cli(['keys', 'rotate', id]);
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toMatch(/invalid_request: .*revoked.* \(HTTP 409\)/);
  });

  it('audit lists every change, newest first, with the admin token\'s fingerprint only', async () => {
    const run = await cli(['audit', '--all']);
    expect(run.code).toBe(0);
    const actions = run.stdout
      .split('\n')
      .filter((line) => line.includes(id))
      .map((line) => line.split(/ {2,}/)[2]);
    expect(actions).toEqual(['revoke', 'rotate', 'rotate', 'patch', 'patch', 'create']);
    expect(run.stdout).toMatch(/ admin:[0-9a-f]{12} /);
  });

  it('an unknown key id is exit 1 with not_found', async () => {
    const run = await cli(['keys', 'show', 'key_doesnotexist']);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe('xai-gateway: not_found: No key with id "key_doesnotexist". (HTTP 404)\n');
  });

  it('a wrong admin token is exit 1 with invalid_admin_token', async () => {
    const run = await cli(['keys', 'list'], { GATEWAY_ADMIN_TOKEN: 'wrong-token-0123456789-abcdef' });
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toMatch(/^xai-gateway: invalid_admin_token: .* \(HTTP 401\)\n$/);
    expect(run.stderr).not.toContain('wrong-token');
  });

  it('no admin token, a bad flag or an unknown command is exit 2 with the help', async () => {
    const none = await cli(['keys', 'list'], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no admin token: set GATEWAY_ADMIN_TOKEN');
    const flag = await cli(['keys', 'create', '--name', 'x', '--bogus']);
    expect(flag).toMatchObject({ code: 2, stdout: '' });
    expect(flag.stderr).toContain('Usage: xai-gateway keys <command>');
    expect(flag.stderr).toContain('xai-gateway: unknown option --bogus');
    const command = await cli(['keys', 'destroy', id]);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "keys destroy"');
    // Nothing was created by the refused create.
    const list = (await (await h.admin('GET', '/admin/keys')).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(2);
  });

  it('--help and keys --help print the usage, exit 0, with no token needed', async () => {
    const main = await cli(['--help'], {});
    expect(main).toMatchObject({ code: 0, stderr: '' });
    expect(main.stdout).toContain('xai-gateway keys <command>');
    const keys = await cli(['keys', '--help'], {});
    expect(keys.code).toBe(0);
    expect(keys.stdout).toContain('--limit <name>=<value>');
  });

  it('reads XGW_URL and XGW_ADMIN_TOKEN from the environment', async () => {
    const run = await exec(process.execPath, [CLI, 'keys', 'show', jsonId], { XGW_URL: h.url, XGW_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^name: +ci$/m);
  });

  it('an unreachable gateway is exit 1 naming the address', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await exec(process.execPath, [CLI, 'keys', 'list', '--url', url], { GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`xai-gateway: cannot reach the gateway at ${url}: ECONNREFUSED\n`);
  });

  // The first npx run in a checkout installs the checkout into npm's npx cache, running its `prepare` build:
  // about 18 s on a slow machine. Killed half-way, it would leave a broken cache entry that fails every later run
  // in that checkout, so it gets all the time it needs.
  it('`npx xai-gateway` in the repository runs this package\'s own bin (as the README says)', { timeout: 150_000 }, async () => {
    // A private npm cache: npx installs the checkout into its cache (running its build), and an entry left broken by
    // a run killed half-way would fail every later run; the user's own cache is neither read nor written.
    const cache = mkdtempSync(join(tmpdir(), 'xgw-npx-cache-'));
    try {
      const env = { GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN, HOME: process.env.HOME ?? ROOT, npm_config_cache: cache };
      const run = await exec('npx', ['--no-install', 'xai-gateway', 'keys', 'list', '--url', h.url], env, 140_000);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(jsonId);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('object <id> names the key that owns an xAI object; an object made elsewhere is exit 1 with not_found', async () => {
    const { key, id } = await h.createKey({ name: 'owner-of-things', models: ['grok-4'], endpoints: ['chat.completions'] });
    const deferred = await postJson(`${h.url}/v1/chat/completions`, chatBody({ deferred: true }), { authorization: `Bearer ${key}` });
    const { request_id: requestId } = (await deferred.json()) as { request_id: string };
    const shown = await cli(['object', requestId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^kind: +deferred$`, 'm'));
    expect(shown.stdout).toMatch(new RegExp(`^owner key: +${id}$`, 'm'));
    const missing = await cli(['object', 'file_made-elsewhere']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not_found');
  });

  it('never printed the admin token', () => {
    expect(printed.length).toBeGreaterThan(20);
    for (const text of printed) expect(text).not.toContain(ADMIN_TOKEN);
  });
});
