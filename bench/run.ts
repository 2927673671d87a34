/**
 * `npm run bench`: the gateway against going direct to a fake xAI and against a bare passthrough
 * (the floor), on loopback, bounded in time; then a soak. Prints a table and writes BENCHMARKS.md.
 *
 * Environment (optional): BENCH_DURATION_S (seconds per throughput point, default 9), BENCH_WARMUP_S
 * (default 2), BENCH_QUICK=1 (short smoke run; does not overwrite BENCHMARKS.md unless BENCH_WRITE=1),
 * BENCH_GATEWAY_NODE_ARGS (Node flags for the gateway after those of `npm start`, e.g. "--max-semi-space-size=4"; named in BENCHMARKS.md),
 * BENCH_ONLY=soak (only the soak; prints its figures and leaves BENCHMARKS.md alone — for memory work).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { startFakeXai } from '../src/fake/xai-server.js';
import { delay, rssMb, type Child } from './lib/children.js';
import { chatLatencies, streamFirstByteTimes, type ProbeOptions } from './lib/http-probe.js';
import { drive, loadGenerator, type Target } from './lib/load.js';
import { describeMachine } from './lib/machine.js';
import { deleteOwnKeys, ensureRedis, startMonitor, type BenchRedis } from './lib/redis.js';
import { renderMarkdown, renderTable, type BenchResult, type PhaseResult, type RedisResult, type TargetName } from './lib/report.js';
import { measureScale, type ScaleResult } from './lib/scale.js';
import { measurePoint } from './lib/throughput.js';
import { readGatewayLog, runSoak, type SoakResult } from './lib/soak.js';
import { summarize } from './lib/stats.js';
import {
  ALL_LIMITS,
  createKey,
  freePort,
  gatewayNodeArgs,
  startFake,
  ensureNginx,
  startFloor,
  startNginx,
  startGateway,
  UPSTREAM_KEY,
  writeGatewayConfig,
  type CreatedKey,
  type Paths,
} from './lib/targets.js';

const quick = process.env.BENCH_QUICK === '1';
const soakOnly = process.env.BENCH_ONLY === 'soak';
// 9 s: three slices of whole seconds (wrk takes whole seconds).
const POINT_S = Number(process.env.BENCH_DURATION_S ?? (quick ? 2 : 9));
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? (quick ? 1 : 2));
/** Each point's measured seconds per target are split into this many interleaved slices. */
const SLICES = quick ? 2 : 3;
const STREAM_CHUNKS = 10;
const CHUNK_DELAY_MS = 1;
const PROBE: ProbeOptions = quick ? { block: 50, rounds: 2, warmup: 50 } : { block: 250, rounds: 8, warmup: 300 };
const PROBE_SLOW: ProbeOptions = quick ? { block: 20, rounds: 2, warmup: 10 } : { block: 50, rounds: 6, warmup: 20 };
const TTFB: ProbeOptions = quick ? { block: 20, rounds: 2, warmup: 10 } : { block: 50, rounds: 4, warmup: 20 };
const MONITOR_REQUESTS = quick ? 500 : 3000;
const SOAK = quick
  ? { requestsPerHalf: 1000, streamsPerHalf: 100, abortShare: 0.5, abortWindowMs: 300, seed: 7, warmupHalves: 1 }
  : { requestsPerHalf: 5000, streamsPerHalf: 500, abortShare: 0.5, abortWindowMs: 300, seed: 7, warmupHalves: 1 };
/** The soak's streams: 20 chunks 10 ms apart, so a stream lasts ~200 ms and the abort window covers all of it. */
const SOAK_CHUNKS = 20;
const SOAK_CHUNK_DELAY_MS = 10;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const runDir = mkdtempSync(join(tmpdir(), 'xgw-bench-'));
const paths: Paths = { root, runDir };
const keyPrefix = `xgwbench:${randomBytes(6).toString('hex')}:`;
const children = new Set<Child>();

function log(message: string): void {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function track(child: Promise<Child>): Promise<Child> {
  const c = await child;
  children.add(c);
  return c;
}

async function stop(child: Child | null): Promise<void> {
  if (child === null) return;
  await child.stop();
  children.delete(child);
}

interface Ports {
  fake: number;
  nginx: number;
  floor: number;
  gateway: number;
}

interface PhaseContext {
  ports: Ports;
  redis: Redis;
  redisUrl: string;
  configFile: string;
  floorKey: string;
  /** Created by the first phase's gateway, then reused (it lives in Redis). */
  benchKey: CreatedKey | null;
  /** nginx, the ceiling (bench/lib/targets.ts startNginx). */
  nginxBinary: string;
}

function targetsOf(ctx: PhaseContext, key: CreatedKey): Target[] {
  return [
    { name: 'direct', origin: `http://127.0.0.1:${ctx.ports.fake}`, authorization: `Bearer ${UPSTREAM_KEY}` },
    { name: 'nginx', origin: `http://127.0.0.1:${ctx.ports.nginx}`, authorization: `Bearer ${ctx.floorKey}` },
    { name: 'floor', origin: `http://127.0.0.1:${ctx.ports.floor}`, authorization: `Bearer ${ctx.floorKey}` },
    { name: 'gateway', origin: `http://127.0.0.1:${ctx.ports.gateway}`, authorization: `Bearer ${key.key}` },
  ];
}

function byName<T>(map: Map<TargetName, T>): Record<TargetName, T> {
  const get = (name: TargetName): T => {
    const value = map.get(name);
    if (value === undefined) throw new Error(`missing ${name}`);
    return value;
  };
  return { direct: get('direct'), nginx: get('nginx'), floor: get('floor'), gateway: get('gateway') };
}

async function runPhase(ctx: PhaseContext, latencyMs: number, redisOut: Partial<RedisResult>): Promise<PhaseResult> {
  const tag = `${latencyMs}ms`;
  const upstream = `http://127.0.0.1:${ctx.ports.fake}`;
  const fakeOptions = { port: ctx.ports.fake, latencyMs, chunkDelayMs: CHUNK_DELAY_MS, chunks: STREAM_CHUNKS, tag };
  let fake: Child = await track(startFake(paths, fakeOptions));
  // The fake keeps every request in memory: a fresh one before each measurement keeps it from slowing down.
  const freshFake = async (): Promise<void> => {
    await stop(fake);
    fake = await track(startFake(paths, fakeOptions));
  };
  const nginx = await track(startNginx(paths, { binary: ctx.nginxBinary, port: ctx.ports.nginx, upstream, tag }));
  const floor = await track(startFloor(paths, { port: ctx.ports.floor, upstream, clientKey: ctx.floorKey, tag }));
  const gateway = await track(startGateway(paths, { port: ctx.ports.gateway, upstream, redisUrl: ctx.redisUrl, configFile: ctx.configFile, tag }));
  try {
    ctx.benchKey ??= await createKey(`http://127.0.0.1:${ctx.ports.gateway}`, 'bench');
    const targets = targetsOf(ctx, ctx.benchKey);
    const gatewayRssBeforeMb = rssMb(gateway.pid);

    log(`${tag}: latency at 1 connection`);
    const latency = byName(new Map([...(await chatLatencies(targets, latencyMs === 0 ? PROBE : PROBE_SLOW))].map(([n, s]) => [n, summarize(s)])));
    await freshFake();
    log(`${tag}: time to first streamed byte`);
    const ttfb = byName(new Map([...(await streamFirstByteTimes(targets, TTFB))].map(([n, s]) => [n, summarize(s)])));

    const throughput: PhaseResult['throughput'] = [];
    for (const connections of latencyMs === 0 ? [1, 32, 128] : [32, 128]) {
      await freshFake();
      const commandStats = connections === 32 && latencyMs === 0;
      const { points, gatewayCommands } = await measurePoint({
        targets,
        connections,
        seconds: POINT_S,
        rounds: SLICES,
        warmupS: WARMUP_S,
        redis: ctx.redis,
        cpus: availableParallelism(),
        pids: { fake: fake.pid, nginx: nginx.pid, floor: floor.pid, gateway: gateway.pid },
        commandStats,
      });
      if (gatewayCommands !== null) {
        redisOut.statsRequests = gatewayCommands.requests;
        redisOut.statsByCommand = [...gatewayCommands.byCommand].map(([name, stat]) => [name, stat.calls]);
        const scripts = [...gatewayCommands.byCommand].filter(([name]) => name === 'evalsha' || name === 'eval').map(([, stat]) => stat);
        const scriptUsec = scripts.reduce((sum, st) => sum + st.usec, 0);
        redisOut.scriptUsecPerCall = scriptUsec / Math.max(1, scripts.reduce((sum, st) => sum + st.calls, 0));
        redisOut.scriptUsecPerRequest = scriptUsec / Math.max(1, gatewayCommands.requests);
      }
      for (const t of targets) {
        const p = points[t.name];
        log(`${tag}: ${t.name} at ${connections} connections: ${Math.round(p.rps)} req/s (${p.non2xx} non-2xx, ${p.errors} errors; other processes ${Math.round(p.foreignCpuShare * 100)}% CPU)`);
      }
      throughput.push({ connections, points });
    }

    if (latencyMs === 0) {
      const gatewayTarget = targets.find((t) => t.name === 'gateway') as Target;
      await freshFake();
      await drive(gatewayTarget, { connections: 32, durationS: 1 });
      await delay(300);
      const monitor = await startMonitor(ctx.redis, keyPrefix);
      const point = await drive(gatewayTarget, { connections: 32, amount: MONITOR_REQUESTS });
      await delay(300);
      const captured = await monitor.stop();
      redisOut.monitorRequests = point.ok + point.non2xx;
      redisOut.roundTripsByCommand = [...captured.topLevel];
      redisOut.insideScriptsByCommand = [...captured.insideScripts];
      redisOut.otherClientsCommands = captured.otherClients;
      log(`Redis: ${[...captured.topLevel].map(([n, c]) => `${n}=${c}`).join(' ')} over ${redisOut.monitorRequests} requests`);
    }
    return { upstreamLatencyMs: latencyMs, throughput, latency, ttfb, gatewayRssBeforeMb, gatewayRssAfterMb: rssMb(gateway.pid) };
  } finally {
    await stop(gateway);
    await stop(floor);
    await stop(nginx);
    await stop(fake);
  }
}

/** 1,000 keys and 3 instances on one family (bench/lib/scale.ts), on a fresh fake at 0 ms. */
async function scalePhase(ctx: PhaseContext): Promise<ScaleResult> {
  const fake = await track(startFake(paths, { port: ctx.ports.fake, latencyMs: 0, chunkDelayMs: CHUNK_DELAY_MS, chunks: STREAM_CHUNKS, tag: 'scale' }));
  const upstream = `http://127.0.0.1:${ctx.ports.fake}`;
  const gateways: Child[] = [];
  try {
    const ports = [ctx.ports.gateway, await freePort(), await freePort()];
    for (const [i, port] of ports.entries()) {
      gateways.push(await track(startGateway(paths, { port, upstream, redisUrl: ctx.redisUrl, configFile: ctx.configFile, tag: `scale-${i + 1}` })));
    }
    const origins = ports.map((port) => `http://127.0.0.1:${port}`);
    const benchKey = ctx.benchKey ?? (await createKey(origins[0] as string, 'bench'));
    return await measureScale({ origins, benchKey, redis: ctx.redis, seconds: POINT_S, rounds: SLICES, warmupS: WARMUP_S, log });
  } finally {
    for (const gateway of gateways) await stop(gateway);
    await stop(fake);
  }
}

/** Keys and bytes (MEMORY USAGE) Redis holds for one key family: every key carrying its hash tag. */
async function familyMemory(redis: Redis, familyId: string): Promise<{ keys: number; bytes: number }> {
  let keys = 0;
  let bytes = 0;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*{${familyId}}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) {
      keys += 1;
      bytes += (await redis.memory('USAGE', key)) ?? 0;
    }
  } while (cursor !== '0');
  return { keys, bytes };
}

async function soakPhase(ctx: PhaseContext): Promise<SoakResult> {
  const port = await freePort();
  const fake = await startFakeXai({ port, apiKeys: [UPSTREAM_KEY], streamChunks: SOAK_CHUNKS, chunkDelayMs: SOAK_CHUNK_DELAY_MS, latencyMs: 0 });
  let gateway: Child | null = null;
  const inspectorPort = await freePort();
  try {
    gateway = await track(
      // LOG_LEVEL=info: the per-request log lines say which streams were settled with usage. The inspector, on
      // loopback, lets the soak read the live heap after a full GC (bench/lib/inspector.ts).
      startGateway(paths, {
        port: ctx.ports.gateway,
        upstream: fake.url,
        redisUrl: ctx.redisUrl,
        configFile: ctx.configFile,
        tag: 'soak',
        logLevel: 'info',
        nodeArgs: [`--inspect=127.0.0.1:${inspectorPort}`],
      }),
    );
    const origin = `http://127.0.0.1:${ctx.ports.gateway}`;
    const key = await createKey(origin, 'bench-soak');
    const target: Target = { name: 'gateway', origin, authorization: `Bearer ${key.key}` };
    // Warm the fresh process with another key so the soak key's usage counts the soak alone (runSoak then runs
    // its warm-up halves on that key too).
    const warmKey = ctx.benchKey ?? (await createKey(origin, 'bench-warm'));
    const warmTarget: Target = { ...target, authorization: `Bearer ${warmKey.key}` };
    await drive(warmTarget, { connections: 32, amount: 2000 });
    await delay(500);
    fake.reset();
    const logPath = gateway.logPath;
    const soak = await runSoak({
      fake,
      target,
      warmTarget,
      inspectorPort,
      keyId: key.id,
      gatewayPid: gateway.pid,
      options: SOAK,
      concurrencyLimit: ALL_LIMITS.concurrency,
      clientKey: key.key,
      readLog: () => readGatewayLog(logPath),
    });
    return { ...soak, familyRedis: await familyMemory(ctx.redis, key.id) };
  } finally {
    await stop(gateway);
    await fake.close();
  }
}

/** The commit measured, and how many files under src/ differed from it (the build compiles the working tree). */
function sourceState(): { commit: string; uncommittedSrcFiles: number } {
  const git = (...args: string[]): string => spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--', 'src');
  return { commit, uncommittedSrcFiles: dirty === '' ? 0 : dirty.split('\n').length };
}

let activeRedis: BenchRedis | null = null;

async function main(): Promise<void> {
  const started = Date.now();
  log(`run directory (config, logs): ${runDir}`);
  const benchRedis = await ensureRedis({ host: '127.0.0.1', port: 6379, logDir: runDir });
  activeRedis = benchRedis;
  const machine = describeMachine(benchRedis.version);
  if (benchRedis.started !== null) children.add(benchRedis.started);
  log(`Redis ${benchRedis.version} at ${benchRedis.url}${benchRedis.started === null ? '' : ' (started by the bench)'}; key prefix ${keyPrefix}`);
  const nginxBinary = ensureNginx(log);
  if (nginxBinary === null) throw new Error('nginx is not installed and could not be installed (apt-get install -y nginx): the bench compares against it');
  const ctx: PhaseContext = {
    nginxBinary,
    ports: { fake: await freePort(), nginx: await freePort(), floor: await freePort(), gateway: await freePort() },
    redis: benchRedis.redis,
    redisUrl: benchRedis.url,
    configFile: writeGatewayConfig(paths, keyPrefix),
    floorKey: `xgw_floor${randomBytes(16).toString('hex')}`,
    benchKey: null,
  };
  try {
    if (soakOnly) {
      const soak = await soakPhase(ctx);
      process.stdout.write(`${JSON.stringify({ ...soak, gatewayErrorLines: soak.gatewayErrorLines.length }, null, 2)}\n`);
      return;
    }
    const redisOut: Partial<RedisResult> = {};
    const phases: PhaseResult[] = [];
    for (const latencyMs of [0, 20]) phases.push(await runPhase(ctx, latencyMs, redisOut));
    log('scale: 1,000 keys, and 3 instances on one key family');
    const scale = await scalePhase(ctx);
    log(`soak: ${SOAK.requestsPerHalf * 2} requests + ${SOAK.streamsPerHalf * 2} streams (${SOAK.streamsPerHalf} open at once per half)`);
    const soak = await soakPhase(ctx);
    const result: BenchResult = {
      startedAt: new Date(started).toISOString(),
      source: sourceState(),
      durationS: (Date.now() - started) / 1000,
      settings: {
        pointDurationS: POINT_S,
        warmupS: WARMUP_S,
        probeCount: PROBE.block * PROBE.rounds,
        ttfbCount: TTFB.block * TTFB.rounds,
        slices: SLICES,
        streamChunks: STREAM_CHUNKS,
        chunkDelayMs: CHUNK_DELAY_MS,
        soakChunks: SOAK_CHUNKS,
        soakChunkDelayMs: SOAK_CHUNK_DELAY_MS,
        gatewayNodeArgs: gatewayNodeArgs(root),
        loadGenerator: loadGenerator(),
      },
      machine,
      phases,
      redis: redisOut as RedisResult,
      scale,
      soak,
    };
    writeFileSync(join(runDir, 'results.json'), JSON.stringify(result, null, 2));
    process.stdout.write(`\n${renderTable(result)}\n\n`);
    if (!quick || process.env.BENCH_WRITE === '1') {
      writeFileSync(join(root, 'BENCHMARKS.md'), renderMarkdown(result));
      log(`wrote BENCHMARKS.md; raw results in ${join(runDir, 'results.json')}`);
    }
  } finally {
    await cleanup(benchRedis);
  }
}

let cleaning: Promise<void> | null = null;

/** Stops every process this run started and deletes its Redis keys; once, from finally or a signal. */
function cleanup(benchRedis: BenchRedis | null): Promise<void> {
  cleaning ??= (async () => {
    for (const child of [...children].reverse()) if (child !== benchRedis?.started) await stop(child);
    if (benchRedis === null) return;
    const deleted = await deleteOwnKeys(benchRedis.redis, keyPrefix).catch((err: unknown) => {
      log(`could not delete the bench keys under ${keyPrefix}: ${err instanceof Error ? err.message : String(err)}`);
      return 0;
    });
    log(`deleted ${deleted} Redis keys under ${keyPrefix}`);
    benchRedis.redis.disconnect();
    await stop(benchRedis.started);
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the processes started by the bench`);
    void cleanup(activeRedis).finally(() => process.exit(130));
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
