import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';

/**
 * The deployment files (docs/configuration.md "docker compose up"). No Docker engine here, so the files are
 * parsed and their properties checked; CI also runs `docker-compose config -q` (.ci/run). The image's
 * HEALTHCHECK command is run for real against a local server.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(resolve(ROOT, file), 'utf8');
const run = promisify(execFile);

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | null;
  instructions: Instruction[];
}

/** Dockerfile → stages of instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s+(.*)$/.exec(line);
    if (match === null) throw new Error(`unparsable Dockerfile line: ${line}`);
    const keyword = (match[1] ?? '').toUpperCase();
    const args = (match[2] ?? '').replace(/\s+/g, ' ');
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: from?.[1] ?? '', name: from?.[2] ?? null, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (stage === undefined) throw new Error(`${keyword} before FROM`);
      stage.instructions.push({ keyword, args });
    }
  }
  return stages;
}

const argsOf = (stage: Stage, keyword: string): string[] =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

/** Exec form `["a", "b"]` → its argv (shell form is refused: signals would go to /bin/sh). */
function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  const argv: unknown[] = Array.isArray(parsed) ? parsed : [];
  if (argv.length === 0 || !argv.every((part): part is string => typeof part === 'string')) throw new Error(`not exec form: ${args}`);
  return argv;
}

/** `KEY=value` lines, comments and blanks skipped (the format compose's env_file reads). */
function parseEnvFile(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=');
      if (at <= 0) throw new Error(`not KEY=value: ${line}`);
      return [line.slice(0, at), line.slice(at + 1)] as const;
    });
  return Object.fromEntries(entries);
}

/** `${VAR:-default}` as compose resolves it with VAR unset. */
const composeDefault = (value: string): string => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

const durationSeconds = (value: string): number => {
  const match = /^(\d+)(s|m)$/.exec(value);
  if (match === null) throw new Error(`unexpected duration ${value}`);
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
};

const stages = parseDockerfile(read('Dockerfile'));
const final = stages.at(-1) as Stage;
const stageNamed = (name: string): Stage => {
  const stage = stages.find((s) => s.name === name);
  if (stage === undefined) throw new Error(`no stage ${name}`);
  return stage;
};
/** The stage a `COPY --from=<stage> <path> …` of the final stage takes `path` from. */
const copiedFrom = (path: string): Stage => {
  const copy = argsOf(final, 'COPY').find((args) => args.split(' ').includes(path) && args.includes('--from='));
  const name = /--from=(\S+)/.exec(copy ?? '')?.[1];
  if (name === undefined) throw new Error(`the final stage does not copy ${path} from another stage`);
  return stageNamed(name);
};

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  ports?: string[];
  env_file?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  stop_grace_period?: string;
}
const composeText = read('docker-compose.yml');
const compose = parseYaml(composeText) as { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`no service ${name}`);
  return found;
};

describe('Dockerfile', () => {
  it('is multi-stage on a Node LTS (even major >= 20) slim image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      const major = Number(/^node:(\d+)-/.exec(stage.from)?.[1]);
      expect(major).toBeGreaterThanOrEqual(20);
      expect(major % 2).toBe(0);
      expect(stage.from).toMatch(/-slim$/);
    }
  });

  it('builds in an earlier stage: npm ci, then npm run build, without running the prepare script early', () => {
    const build = copiedFrom('/app/dist');
    expect(build).not.toBe(final);
    const runs = argsOf(build, 'RUN');
    const ci = runs.findIndex((r) => /\bnpm ci\b/.test(r));
    const compile = runs.findIndex((r) => /\bnpm run build\b/.test(r));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(compile).toBeGreaterThan(ci);
    // `prepare` builds, and src/ is copied only after the install layer.
    expect(runs[ci]).toContain('--ignore-scripts');
    // The fake xAI server and the demo stay out of the dist/ the runtime stage copies.
    expect(runs[compile]).toMatch(/rm -rf dist\/src\/fake dist\/src\/demo\.js/);
  });

  it('ships only production dependencies, dist, package.json and config in the final stage', () => {
    const deps = copiedFrom('/app/node_modules');
    const install = argsOf(deps, 'RUN').filter((r) => /\bnpm (ci|install|prune)\b/.test(r));
    expect(install.length).toBeGreaterThan(0);
    // The last npm step that shapes node_modules must drop dev dependencies and must not run `prepare`.
    expect(install.at(-1)).toMatch(/--omit=dev/);
    expect(install.filter((r) => /\bnpm (ci|install)\b/.test(r)).every((r) => r.includes('--ignore-scripts'))).toBe(true);
    expect(argsOf(final, 'RUN').filter((r) => /\bnpm\b/.test(r))).toEqual([]);
    const sources = argsOf(final, 'COPY').map((args) => args.split(' ').filter((part) => !part.startsWith('--')).slice(0, -1));
    expect(sources.flat().sort()).toEqual(['/app/dist', '/app/node_modules', 'config', 'package.json']);
  });

  it('runs as the non-root node user with NODE_ENV=production, exposing 8080', () => {
    const users = argsOf(final, 'USER');
    expect(users.at(-1)).toBe('node');
    expect(argsOf(final, 'ENV').join(' ')).toMatch(/\bNODE_ENV=production\b/);
    expect(argsOf(final, 'EXPOSE')).toEqual(['8080']);
    expect(argsOf(final, 'WORKDIR').at(-1)).toBe('/app');
  });

  it('starts node directly on the built entry point (no npm, no shell), the same as npm start', () => {
    const cmd = execForm(argsOf(final, 'CMD').at(-1) ?? '');
    // The V8 heap flags keep RSS under the benchmark's RSS target at no measured CPU cost (README "Memory").
    expect(cmd).toEqual(['node', '--max-semi-space-size=8', '--heap-growing-percent=50', 'dist/src/main.js']);
    expect(argsOf(final, 'ENTRYPOINT')).toEqual([]);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; main: string };
    // `exec`: the shell npm runs the script in becomes node, so a signal npm passes on reaches the gateway.
    expect(pkg.scripts.start).toBe(`exec ${cmd.join(' ')}`);
    expect(pkg.main).toBe(cmd.at(-1));
  });

  it('has a HEALTHCHECK run by node (no curl in slim images) against /healthz', () => {
    const [healthcheck] = argsOf(final, 'HEALTHCHECK');
    expect(healthcheck).toBeDefined();
    const argv = execForm(/CMD (\[.*\])$/.exec(healthcheck ?? '')?.[1] ?? '');
    expect(argv[0]).toBe('node');
    expect(argv.join(' ')).toContain('http://127.0.0.1:');
    expect(argv.join(' ')).toContain('/healthz');
    expect(argv.join(' ')).not.toMatch(/\b(curl|wget)\b/);
  });

  it('leaves node_modules, dist, .git, test artefacts and .env out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', 'dist', '.git', 'coverage', 'test-results', '.env']) expect(ignored).toContain(entry);
  });
});

describe('the image HEALTHCHECK command, run for real', () => {
  let server: Server;
  let status = 200;
  let port = 0;
  const argv = execForm(/CMD (\[.*\])$/.exec(argsOf(final, 'HEALTHCHECK')[0] ?? '')?.[1] ?? '[]');
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.statusCode = req.url === '/healthz' ? status : 404;
      res.end();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });

  /** Exit code of the HEALTHCHECK command with PORT pointing at `target` (the image's default is 8080). */
  async function exitCode(target: number): Promise<number> {
    const [command, ...args] = argv;
    try {
      await run(command === 'node' ? process.execPath : String(command), args, { env: { ...process.env, PORT: String(target) }, timeout: 10_000 });
      return 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  }

  it('exits 0 on 200 from /healthz, 1 on 503 and 1 when nothing listens', async () => {
    status = 200;
    expect(await exitCode(port)).toBe(0);
    expect(seen).toContain('/healthz');
    status = 503;
    expect(await exitCode(port)).toBe(1);
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    expect(await exitCode(closedPort)).toBe(1);
  });
});

describe('docker-compose.yml', () => {
  it('runs the official redis:7 with AOF on a named volume and a redis-cli ping health check', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7(\b|$)/);
    expect(redis.command?.join(' ')).toMatch(/--appendonly yes/);
    const data = redis.volumes?.find((v) => v.split(':')[1] === '/data');
    const volumeName = data?.split(':')[0] ?? '';
    expect(volumeName).toMatch(/^[a-z][a-z0-9_-]*$/); // a name, not a host path
    expect(Object.keys(compose.volumes ?? {})).toContain(volumeName);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('builds the gateway here, publishes 8080 and starts it only once Redis is healthy', () => {
    const gateway = service('gateway');
    expect(gateway.build).toBe('.');
    expect(gateway.ports).toContain('8080:8080');
    expect(gateway.depends_on?.redis?.condition).toBe('service_healthy');
    expect(gateway.restart).toBe('unless-stopped');
    expect(gateway.environment?.REDIS_URL).toBe('redis://redis:6379');
  });

  it("mounts ./config read-only at the image's /app/config", () => {
    const workdir = argsOf(final, 'WORKDIR').at(-1);
    expect(service('gateway').volumes).toContain(`./config:${workdir}/config:ro`);
  });

  it('keeps the settlement journal on a named volume at the directory the default journalPath names', () => {
    const workdir = argsOf(final, 'WORKDIR').at(-1) ?? '';
    const journalDir = `${workdir}/${dirname(loadConfig({ env: { GATEWAY_CONFIG: '/dev/null' } }).config.store.journalPath)}`.replace('/./', '/');
    const mount = service('gateway').volumes?.find((v) => v.split(':')[1] === journalDir);
    const volumeName = mount?.split(':')[0] ?? '';
    expect(volumeName).toMatch(/^[a-z][a-z0-9_-]*$/);
    expect(Object.keys(compose.volumes ?? {})).toContain(volumeName);
    // The image makes the directory and gives it to the user the gateway runs as, so the volume starts writable.
    expect(argsOf(final, 'RUN').join('\n')).toContain(`chown node:node ${journalDir}`);
  });

  it('gives the gateway more than its 30 s drain before SIGKILL', () => {
    expect(durationSeconds(service('gateway').stop_grace_period ?? '0s')).toBeGreaterThan(30);
    expect(durationSeconds(service('gateway').stop_grace_period ?? '0s')).toBeLessThanOrEqual(60);
  });

  it('takes secrets from .env only: none in the compose file', () => {
    const gateway = service('gateway');
    expect(gateway.env_file?.map(composeDefault)).toEqual(['.env']);
    for (const name of ['XAI_API_KEY', 'GATEWAY_ADMIN_TOKEN']) {
      expect(Object.keys(gateway.environment ?? {})).not.toContain(name);
      expect(composeText).not.toMatch(new RegExp(`${name}\\s*[:=]`));
    }
    expect(composeText).not.toMatch(/xai-[A-Za-z0-9]{8,}|xgw_[A-Za-z0-9]{8,}|[0-9a-f]{32,}|password/i);
  });
});

describe('.env.example with docker-compose.yml and the shipped config', () => {
  const example = parseEnvFile(read('.env.example'));
  /** What the container's environment is: env_file, then compose's `environment` on top. */
  const containerEnv = (overrides: Record<string, string>): Record<string, string> => ({
    ...example,
    ...overrides,
    ...service('gateway').environment,
  });

  it('names every variable the gateway needs, says how to generate the admin token, and is ignored by git', () => {
    expect(Object.keys(example).sort()).toEqual(['GATEWAY_ADMIN_TOKEN', 'LOG_LEVEL', 'XAI_API_KEY']);
    expect(read('.env.example')).toContain('openssl rand -hex 32');
    expect(read('.gitignore').split('\n')).toContain('.env');
  });

  it('refuses to start on the placeholder admin token (no known token can turn the admin API on)', () => {
    let error: unknown;
    try {
      loadConfig({ env: containerEnv({}), cwd: ROOT });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/GATEWAY_ADMIN_TOKEN.*at least 16 characters/);
    expect(message).not.toContain(`=${example.GATEWAY_ADMIN_TOKEN ?? ''}`);
  });

  it('with a generated token, loads config/gateway.yaml on the compose Redis', () => {
    const token = randomBytes(32).toString('hex');
    const { config } = loadConfig({ env: containerEnv({ GATEWAY_ADMIN_TOKEN: token }), cwd: ROOT });
    expect(config.store.redisUrl).toBe('redis://redis:6379');
    expect(config.store.clusterNodes).toEqual([]);
    expect(config.admin.tokens).toEqual([token]);
    expect(config.server.port).toBe(8080);
    expect(config.logLevel).toBe('info');
  });
});
