/**
 * `npm run bench:compare -- <path of another checkout>`: this build's gateway against another build's, side by
 * side in one run, for "did this change cost anything on the request path". Both gateways run as `npm start`
 * runs them, against one fake xAI (0 ms) and one Redis (each with its own key prefix), and are driven with the
 * bench's non-streamed chat in alternating slices (the order flipping each round), so load from outside falls
 * on both alike. Prints req/s and the gateway's CPU per request, per round and as medians, with the ratios; then,
 * at one connection, a plain chat's latency and a streamed chat's time to first byte (p50, p99) for each.
 *
 * The other checkout must be built (`npm ci` builds it). Environment (optional): COMPARE_ROUNDS (default 8),
 * COMPARE_SLICE_S (seconds per target per round, default 4), COMPARE_CONNECTIONS (default "1,32").
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, type Child } from './lib/children.js';
import { chatLatencies, streamFirstByteTimes } from './lib/http-probe.js';
import { drive, type Target } from './lib/load.js';
import { summarize } from './lib/stats.js';
import { deleteOwnKeys, ensureRedis } from './lib/redis.js';
import { createKey, freePort, startFake, startGateway, writeGatewayConfig, type Paths } from './lib/targets.js';

const ROUNDS = Number(process.env.COMPARE_ROUNDS ?? 8);
const SLICE_S = Number(process.env.COMPARE_SLICE_S ?? 4);
const CONNECTIONS = (process.env.COMPARE_CONNECTIONS ?? '1,32').split(',').map(Number);

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const baseRoot = resolve(process.argv[2] ?? '');
if (process.argv[2] === undefined || !existsSync(join(baseRoot, 'dist/src/main.js'))) {
  process.stderr.write('usage: npm run bench:compare -- <path of another checkout, built (npm ci)>\n');
  process.exit(2);
}

function log(message: string): void {
  process.stdout.write(`[compare ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

interface Side {
  label: 'this' | 'base';
  child: Child;
  target: Target;
  prefix: string;
}

async function main(): Promise<void> {
  const children: Child[] = [];
  const { redis, url: redisUrl, started } = await ensureRedis({ host: '127.0.0.1', port: 6379, logDir: mkdtempSync(join(tmpdir(), 'xgw-compare-')) });
  const sides: Side[] = [];
  try {
    const fakePort = await freePort();
    const fakePaths: Paths = { root, runDir: mkdtempSync(join(tmpdir(), 'xgw-compare-')) };
    children.push(await startFake(fakePaths, { port: fakePort, latencyMs: 0, chunkDelayMs: 1, chunks: 10, tag: 'compare' }));
    for (const [label, checkout] of [['this', root], ['base', baseRoot]] as const) {
      const paths: Paths = { root: checkout, runDir: mkdtempSync(join(tmpdir(), `xgw-compare-${label}-`)) };
      const prefix = `xgwbench:${randomBytes(6).toString('hex')}:`;
      const port = await freePort();
      const child = await startGateway(paths, { port, upstream: `http://127.0.0.1:${fakePort}`, redisUrl, configFile: writeGatewayConfig(paths, prefix), tag: label });
      children.push(child);
      const key = await createKey(`http://127.0.0.1:${port}`, `compare-${label}`);
      sides.push({ label, child, prefix, target: { name: 'gateway', origin: `http://127.0.0.1:${port}`, authorization: `Bearer ${key.key}` } });
    }
    log(`this = ${root}, base = ${baseRoot}; ${ROUNDS} rounds of ${SLICE_S} s per gateway`);
    for (const connections of CONNECTIONS) {
      for (const side of sides) await drive(side.target, { connections, durationS: 2 });
      const rps: Record<Side['label'], number[]> = { this: [], base: [] };
      const cpuMs: Record<Side['label'], number[]> = { this: [], base: [] };
      for (let round = 0; round < ROUNDS; round += 1) {
        const order = round % 2 === 0 ? sides : [...sides].reverse();
        for (const side of order) {
          const before = cpuSeconds(side.child.pid);
          const point = await drive(side.target, { connections, durationS: SLICE_S });
          const spent = cpuSeconds(side.child.pid) - before;
          if (point.non2xx > 0 || point.errors > 0) throw new Error(`${side.label}: ${point.non2xx} non-2xx, ${point.errors} errors`);
          rps[side.label].push(point.rps);
          cpuMs[side.label].push((spent * 1000) / Math.max(1, point.ok));
        }
        const at = rps.this.length - 1;
        log(
          `${connections} conn, round ${round + 1}: this ${Math.round(rps.this[at] ?? 0)} req/s ${(cpuMs.this[at] ?? 0).toFixed(3)} ms CPU/req; ` +
            `base ${Math.round(rps.base[at] ?? 0)} req/s ${(cpuMs.base[at] ?? 0).toFixed(3)} ms; ratio ${((rps.this[at] ?? 0) / (rps.base[at] ?? 1)).toFixed(3)}`,
        );
      }
      const ratios = rps.this.map((value, i) => value / (rps.base[i] ?? 1));
      process.stdout.write(
        `\n${connections} connection(s), medians of ${ROUNDS} rounds:\n` +
          `  req/s            this ${Math.round(median(rps.this))}  base ${Math.round(median(rps.base))}  this/base ${(median(rps.this) / median(rps.base)).toFixed(3)}\n` +
          `  CPU ms/request   this ${median(cpuMs.this).toFixed(3)}  base ${median(cpuMs.base).toFixed(3)}  this/base ${(median(cpuMs.this) / median(cpuMs.base)).toFixed(3)}\n` +
          `  per-round req/s ratios: min ${Math.min(...ratios).toFixed(3)}, median ${median(ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}\n\n`,
      );
    }
    await compareProbes(sides);
  } finally {
    for (const child of children.reverse()) await child.stop();
    for (const side of sides) await deleteOwnKeys(redis, side.prefix);
    await redis.quit();
    await started?.stop();
  }
}

/**
 * Sequential probes at one connection, in blocks alternating between the two gateways: a plain chat's full
 * latency and a streamed chat's time to its first byte, as p50 and p99 per side with their ratios.
 */
async function compareProbes(sides: readonly Side[]): Promise<void> {
  const probes = [
    ['latency of a plain chat', chatLatencies],
    ['time to first streamed byte', streamFirstByteTimes],
  ] as const;
  for (const [name, probe] of probes) {
    const samples: Record<Side['label'], number[]> = { this: [], base: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const got = await probe([side.target], { block: 50, rounds: 1, warmup: 5 });
        samples[side.label].push(...(got.get('gateway') ?? []));
      }
    }
    const a = summarize(samples.this);
    const b = summarize(samples.base);
    process.stdout.write(
      `${name}, 1 connection, ${a.count} requests per side:\n` +
        `  p50 ms   this ${a.p50.toFixed(3)}  base ${b.p50.toFixed(3)}  this/base ${(a.p50 / b.p50).toFixed(3)}\n` +
        `  p99 ms   this ${a.p99.toFixed(3)}  base ${b.p99.toFixed(3)}  this/base ${(a.p99 / b.p99).toFixed(3)}\n\n`,
    );
  }
}

await main();
