import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config/load-config.js';
import type { GatewayConfig } from '../../src/config/types.js';
import { startFakeXai, type FakeXai } from '../../src/fake/xai-server.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import type { KeyStore } from '../../src/keys/types.js';
import type { Limiter } from '../../src/limits/types.js';
import { createLogger } from '../../src/logging.js';
import { openStore, type Store } from '../../src/store.js';

/**
 * One gateway on an ephemeral port, wired exactly as main.ts wires it (createGateway + openStore), in front
 * of the fake xAI server, on a real Redis (with this test file's own key prefix) or the in-process store.
 * Log lines are collected so tests can assert no secret reaches them.
 */
export const UPSTREAM_KEY = 'xai-UPSTREAMsecretKEY0123456789abcdef';
export const ADMIN_TOKEN = 'admin-token-0123456789-abcdef';
export const REDIS_URL = 'redis://127.0.0.1:6379';

export interface HarnessOptions {
  store: 'memory' | 'redis';
  /** Test-file name, used in the Redis key prefix. */
  name: string;
  /** Extra YAML merged into the config (plans, pricing, …). */
  yaml?: string;
  env?: Record<string, string>;
  upstreamKeys?: readonly string[];
  fake?: FakeXai;
  /** Share another harness's Redis prefix: a second gateway instance on the same state. */
  prefix?: string;
  /** Passed to createGateway (key cache TTL). */
  keyCacheTtlMs?: number;
  /** Passed to createGateway: waits between alert delivery tries. */
  alertRetryDelaysMs?: readonly number[];
}

export interface Harness {
  url: string;
  fake: FakeXai;
  config: GatewayConfig;
  prefix: string;
  logs: string[];
  app: FastifyInstance;
  gateway: Gateway;
  store: Store;
  keyStore: KeyStore;
  limiter: Limiter;
  redis: Redis | null;
  /** Create a client key through the admin API; returns the secret and id. */
  createKey(body: Record<string, unknown>): Promise<{ key: string; id: string; record: Record<string, unknown> }>;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const ownFake = options.fake === undefined;
  const fake = options.fake ?? (await startFakeXai({ apiKeys: [UPSTREAM_KEY] }));
  const prefix = options.prefix ?? `xgwtest:${options.name}:${randomBytes(4).toString('hex')}:`;
  const config = parseConfig(options.yaml ?? '', {
    file: 'test',
    env: {
      XAI_API_KEY: (options.upstreamKeys ?? [UPSTREAM_KEY]).join(','),
      XAI_BASE_URL: fake.url,
      GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      ...options.env,
    },
  });
  const logs: string[] = [];
  const logger = createLogger({
    level: config.logLevel,
    secrets: [...config.upstream.apiKeys, ...config.admin.tokens, ...config.alerts.webhooks.map((webhook) => webhook.secret)],
    destination: { write: (line: string) => logs.push(line) },
  });
  const store = openStore(
    { redisUrl: options.store === 'redis' ? REDIS_URL : '', clusterNodes: [], keyPrefix: prefix },
    logger,
  );
  await store.ready(5_000);
  const gateway = createGateway({
    config,
    logger,
    store,
    ...(options.keyCacheTtlMs === undefined ? {} : { keyCacheTtlMs: options.keyCacheTtlMs }),
    ...(options.alertRetryDelaysMs === undefined ? {} : { alertRetryDelaysMs: options.alertRetryDelaysMs }),
  });
  const { app } = gateway;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // A separate client for the test's own inspection and cleanup of its prefix.
  const redis = options.store === 'redis' ? new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }) : null;

  const admin = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  return {
    url,
    fake,
    config,
    prefix,
    logs,
    app,
    gateway,
    store,
    keyStore: store.keyStore,
    limiter: store.limiter,
    redis,
    admin,
    async createKey(body) {
      const response = await admin('POST', '/admin/keys', body);
      if (response.status !== 201) throw new Error(`createKey: HTTP ${response.status} ${await response.text()}`);
      const record = (await response.json()) as Record<string, unknown> & { key: string; id: string };
      return { key: record.key, id: record.id, record };
    },
    async close() {
      await gateway.close();
      await store.close();
      if (ownFake) await fake.close();
      if (redis !== null) {
        await deleteByPrefix(redis, prefix);
        await redis.quit();
      }
    },
  };
}

/** Removes this test's own keys only (never FLUSHALL: Redis is shared). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

export function chatBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'grok-4', messages: [{ role: 'user', content: 'Your prompt here' }], max_tokens: 150, ...overrides };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Waits until `check` passes or the time is up (for effects that land after a response, like settlement). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A request sent byte-for-byte with node:http: fetch normalises paths (dot segments, %2e, backslashes) and
 * refuses hop-by-hop headers such as Connection, which is exactly what some tests must send.
 */
export async function rawRequest(
  url: string,
  options: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const { request } = await import('node:http');
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      // A fresh connection per request: a test's malformed request must not poison the next one's socket.
      { agent: false, host: target.hostname, port: target.port, method: options.method, path: options.path, headers: options.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
