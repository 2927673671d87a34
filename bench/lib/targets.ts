/**
 * Starting the three processes under test — the fake xAI (dist/src/fake/main.js), the floor proxy and the
 * gateway (dist/src/main.js, configured by a YAML written for the run) — and creating client keys whose
 * limits are all set, so every request runs admission and settlement.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startChild, type Child } from './children.js';
import { MODEL } from './load.js';

export const UPSTREAM_KEY = 'xai-bench-upstream-key-0123456789';
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

/** Every limit of docs/configuration.md, far above what the run can spend, so none refuses but all are evaluated. */
export const ALL_LIMITS = {
  requestsPerMinute: 100_000_000,
  requestsPerDay: 1_000_000_000,
  tokensPerMinute: 10_000_000_000,
  tokensPerDay: 100_000_000_000,
  tokensPerMonth: 1_000_000_000_000,
  costPerDayUsd: 100_000,
  costPerMonthUsd: 200_000,
  totalTokens: 10_000_000_000_000,
  totalCostUsd: 500_000,
  concurrency: 10_000,
  maxOutputTokens: 4_096,
} as const;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Paths {
  /** Repository root (where dist/ is). */
  root: string;
  /** Temp dir of this run: config and logs. */
  runDir: string;
}

export function startFake(paths: Paths, options: { port: number; latencyMs: number; chunkDelayMs: number; chunks: number; tag: string }): Promise<Child> {
  return startChild({
    name: `fake-xai-${options.tag}`,
    command: process.execPath,
    args: [
      join(paths.root, 'dist/src/fake/main.js'),
      '--port', String(options.port),
      '--key', UPSTREAM_KEY,
      '--latency-ms', String(options.latencyMs),
      '--chunk-delay-ms', String(options.chunkDelayMs),
      '--chunks', String(options.chunks),
    ],
    logPath: join(paths.runDir, `fake-${options.tag}.log`),
    ready: /fake xAI listening on/,
  });
}

export function startFloor(paths: Paths, options: { port: number; upstream: string; clientKey: string; tag: string }): Promise<Child> {
  return startChild({
    name: `floor-${options.tag}`,
    command: process.execPath,
    args: [
      join(paths.root, 'dist/bench-build/bench/floor-proxy.js'),
      '--port', String(options.port),
      '--upstream', options.upstream,
      '--upstream-key', UPSTREAM_KEY,
      '--client-key', options.clientKey,
    ],
    logPath: join(paths.runDir, `floor-${options.tag}.log`),
    ready: /floor listening on/,
  });
}

/** Debian's nginx binary, installed with apt when missing and the bench may (root); null when it cannot be had. */
export function ensureNginx(log: (message: string) => void): string | null {
  const found = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx 2>/dev/null'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  if (found !== undefined && found !== '') return found;
  if (process.getuid?.() !== 0) return null;
  log('installing nginx (apt-get install -y nginx-light or nginx)');
  const installed = spawnSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y nginx >/dev/null 2>&1'], { stdio: 'ignore' });
  if (installed.status !== 0) return null;
  return existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null;
}

/**
 * nginx `proxy_pass` as the ceiling: one process (master_process off, one worker, as the gateway is one Node
 * process), keep-alive to the fake, the upstream key set server-side, responses unbuffered (streams relayed as
 * they come). It checks no client key: it is what a proxy costs with nothing to decide.
 */
export function startNginx(paths: Paths, options: { binary: string; port: number; upstream: string; tag: string }): Promise<Child> {
  const dir = join(paths.runDir, `nginx-${options.tag}`);
  mkdirSync(dir, { recursive: true });
  const upstream = new URL(options.upstream);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${join(dir, 'body')};`,
      `  proxy_temp_path ${join(dir, 'proxy')};`,
      `  fastcgi_temp_path ${join(dir, 'fastcgi')}; uwsgi_temp_path ${join(dir, 'uwsgi')}; scgi_temp_path ${join(dir, 'scgi')};`,
      `  upstream fake { server ${upstream.hostname}:${upstream.port}; keepalive 256; }`,
      '  server {',
      `    listen 127.0.0.1:${options.port};`,
      '    location / {',
      '      proxy_pass http://fake;',
      '      proxy_http_version 1.1;',
      '      proxy_set_header Connection "";',
      `      proxy_set_header Authorization "Bearer ${UPSTREAM_KEY}";`,
      '      proxy_buffering off;',
      '      proxy_request_buffering off;',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  return startChild({
    name: `nginx-${options.tag}`,
    command: options.binary,
    args: ['-c', conf, '-p', dir],
    logPath: join(dir, 'out.log'),
    ready: () => portAnswers(options.port),
  });
}

async function portAnswers(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`);
    return true;
  } catch {
    return false;
  }
}

/** The gateway's YAML for the run: its own key prefix, a plan allowing everything, the model's price. */
export function writeGatewayConfig(paths: Paths, keyPrefix: string): string {
  const file = join(paths.runDir, 'gateway.yaml');
  writeFileSync(
    file,
    [
      'server:',
      '  host: 127.0.0.1',
      'upstream:',
      '  baseUrl: ${XAI_BASE_URL}',
      '  apiKeys: ["${XAI_API_KEY}"]',
      'store:',
      '  redisUrl: "${REDIS_URL}"',
      `  keyPrefix: "${keyPrefix}"`,
      'admin:',
      '  tokens: ["${GATEWAY_ADMIN_TOKEN}"]',
      'pricing:',
      `  ${MODEL}: { input: 0.20, cachedInput: 0.05, output: 0.50 }`,
      'plans:',
      '  bench:',
      '    models: ["*"]',
      '    endpoints: ["*"]',
      'logLevel: warn',
      '',
    ].join('\n'),
  );
  return file;
}

/** BENCH_GATEWAY_NODE_ARGS: Node flags for every gateway the bench starts (space-separated), to measure e.g. heap caps. */
const EXTRA_NODE_ARGS: readonly string[] = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');

/** The Node flags of package.json's `start` script (`exec node <flags> dist/src/main.js`): the bench runs the gateway as `npm start` does. */
export function startScriptNodeArgs(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: { start?: unknown } };
  const start = pkg.scripts?.start;
  const words = (typeof start === 'string' ? start : '').split(' ').filter((word) => word !== '');
  // `exec node …` (the shell npm starts becomes node) or, in older checkouts compared against, `node …`.
  if (words[0] === 'exec') words.shift();
  if (words[0] !== 'node' || words.at(-1) !== 'dist/src/main.js') throw new Error(`package.json's start script is not "[exec] node [flags] dist/src/main.js": ${words.join(' ')}`);
  return words.slice(1, -1);
}

/** Every gateway's Node flags: npm start's, then BENCH_GATEWAY_NODE_ARGS (a later flag wins over an earlier one). */
export function gatewayNodeArgs(root: string): string[] {
  return [...startScriptNodeArgs(root), ...EXTRA_NODE_ARGS];
}

export function startGateway(
  paths: Paths,
  options: { port: number; upstream: string; redisUrl: string; configFile: string; tag: string; logLevel?: string; nodeArgs?: readonly string[] },
): Promise<Child> {
  const origin = `http://127.0.0.1:${options.port}`;
  return startChild({
    name: `gateway-${options.tag}`,
    command: process.execPath,
    args: [...gatewayNodeArgs(paths.root), ...(options.nodeArgs ?? []), join(paths.root, 'dist/src/main.js')],
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      REDIS_URL: options.redisUrl,
      XAI_API_KEY: UPSTREAM_KEY,
      XAI_BASE_URL: options.upstream,
      GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN,
      GATEWAY_CONFIG: options.configFile,
      HOST: '127.0.0.1',
      PORT: String(options.port),
      LOG_LEVEL: options.logLevel ?? 'warn',
    },
    logPath: join(paths.runDir, `gateway-${options.tag}.log`),
    ready: async () => (await fetch(`${origin}/readyz`)).status === 200,
    timeoutMs: 20_000,
  });
}

export interface CreatedKey {
  id: string;
  key: string;
}

export async function createKey(gatewayOrigin: string, name: string, limits: Record<string, number> = ALL_LIMITS): Promise<CreatedKey> {
  const response = await fetch(`${gatewayOrigin}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, plan: 'bench', limits }),
  });
  const body = (await response.json()) as { id?: unknown; key?: unknown };
  if (response.status !== 201 || typeof body.id !== 'string' || typeof body.key !== 'string') {
    throw new Error(`creating the bench key failed: ${response.status}`);
  }
  return { id: body.id, key: body.key };
}

export interface UsageTotalsView {
  requests: number;
  totalTokens: number;
  costUsd: number;
}

export async function keyUsage(gatewayOrigin: string, keyId: string, from: string, to: string): Promise<UsageTotalsView> {
  const response = await fetch(`${gatewayOrigin}/admin/keys/${keyId}/usage?from=${from}&to=${to}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  if (response.status !== 200) throw new Error(`usage report failed: ${response.status}`);
  const body = (await response.json()) as { totals: UsageTotalsView };
  return body.totals;
}

/** What GET /v1/api-key says is left of the key's concurrency (in-flight reservations not yet settled lower it). */
export async function remainingConcurrency(gatewayOrigin: string, clientKey: string): Promise<number> {
  const response = await fetch(`${gatewayOrigin}/v1/api-key`, { headers: { authorization: `Bearer ${clientKey}` } });
  const body = (await response.json()) as { remaining?: { concurrency?: number } };
  return body.remaining?.concurrency ?? Number.NaN;
}
