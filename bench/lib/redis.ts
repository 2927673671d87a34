/**
 * Redis for the benchmark: make sure one answers (starting redis-server only when none does), read
 * INFO commandstats, attribute round trips with MONITOR, and delete only the benchmark's own keys
 * (SCAN MATCH prefix* + UNLINK; never FLUSHALL — the server is shared).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startChild, type Child } from './children.js';

export interface BenchRedis {
  redis: Redis;
  url: string;
  version: string;
  /** The redis-server this run started, or null when one was already answering. */
  started: Child | null;
}

async function connect(host: string, port: number): Promise<Redis | null> {
  const redis = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 1_000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch {
    redis.disconnect();
    return null;
  }
}

export async function ensureRedis(input: { host: string; port: number; logDir: string }): Promise<BenchRedis> {
  const url = `redis://${input.host}:${input.port}`;
  let redis = await connect(input.host, input.port);
  let started: Child | null = null;
  if (redis === null) {
    const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
    if (probe.error !== undefined) {
      throw new Error(
        `Redis is not answering on ${input.host}:${input.port} and redis-server is not installed.\n` +
          'Start a Redis there (or install redis-server, e.g. `apt-get install redis-server`) and run `npm run bench` again.',
      );
    }
    started = await startChild({
      name: 'redis-server',
      command: 'redis-server',
      args: ['--port', String(input.port), '--bind', input.host, '--save', '', '--appendonly', 'no'],
      logPath: join(input.logDir, 'redis.log'),
      ready: /Ready to accept connections/,
    });
    redis = await connect(input.host, input.port);
    if (redis === null) throw new Error(`redis-server started but ${url} does not answer`);
  }
  const server = await redis.info('server');
  const version = /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown';
  return { redis, url, version, started };
}

export interface CommandStat {
  calls: number;
  /** Microseconds Redis spent executing them. */
  usec: number;
}

/** cmdstat_<name>:calls=N,usec=M → name → {calls, usec}. */
export async function commandCalls(redis: Redis): Promise<Map<string, CommandStat>> {
  const text = await redis.info('commandstats');
  const stats = new Map<string, CommandStat>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (match[1] !== undefined) stats.set(match[1], { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

/** after − before per command, without the commands the benchmark driver itself sends (INFO). */
export function callsDelta(before: ReadonlyMap<string, CommandStat>, after: ReadonlyMap<string, CommandStat>): Map<string, CommandStat> {
  const delta = new Map<string, CommandStat>();
  for (const [name, stat] of after) {
    if (name === 'info') continue;
    const calls = stat.calls - (before.get(name)?.calls ?? 0);
    if (calls > 0) delta.set(name, { calls, usec: stat.usec - (before.get(name)?.usec ?? 0) });
  }
  return delta;
}

export interface MonitorCapture {
  /** Top-level commands sent by connections that touched the benchmark's keys, by name (round trips). */
  stop(): Promise<{ topLevel: Map<string, number>; insideScripts: Map<string, number>; otherClients: number }>;
}

/**
 * MONITOR on its own connection. A command is the gateway's when its connection (source address) ever
 * sent an argument starting with the benchmark's key prefix; commands run inside Lua scripts are reported
 * by MONITOR with source "lua" and counted apart. Other users of a shared Redis are counted, not attributed.
 */
export async function startMonitor(redis: Redis, prefix: string): Promise<MonitorCapture> {
  const monitor = await redis.monitor();
  const bySource = new Map<string, Map<string, number>>();
  const ours = new Set<string>();
  const insideScripts = new Map<string, number>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = (args[0] ?? '').toLowerCase();
    const touchesOurKeys = args.some((a) => a.startsWith(prefix));
    if (source === 'lua') {
      if (touchesOurKeys) bump(insideScripts, name);
      return;
    }
    if (touchesOurKeys) ours.add(source);
    const counts = bySource.get(source) ?? new Map<string, number>();
    bump(counts, name);
    bySource.set(source, counts);
  });
  return {
    async stop() {
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Lines of other clients' commands may still arrive after this; ioredis reports them as errors.
      monitor.on('error', () => undefined);
      monitor.disconnect();
      const topLevel = new Map<string, number>();
      let otherClients = 0;
      for (const [source, counts] of bySource) {
        for (const [name, n] of counts) {
          if (ours.has(source)) topLevel.set(name, (topLevel.get(name) ?? 0) + n);
          else otherClients += n;
        }
      }
      return { topLevel, insideScripts, otherClients };
    },
  };
}

function bump(map: Map<string, number>, name: string): void {
  map.set(name, (map.get(name) ?? 0) + 1);
}

/** Deletes every key under the benchmark's prefix and returns how many there were. */
export async function deleteOwnKeys(redis: Redis, prefix: string): Promise<number> {
  if (!/^xgwbench:[0-9a-f]+:$/.test(prefix)) throw new Error(`refusing to delete keys under an unexpected prefix: ${prefix}`);
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** CPU seconds (user + sys) the Redis server has used so far (INFO cpu; the whole server, whoever its clients are). */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const text = await redis.info('cpu');
  const value = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return value('used_cpu_user') + value('used_cpu_sys');
}
