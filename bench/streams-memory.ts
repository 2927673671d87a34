/**
 * `npm run bench:streams-memory -- [<other checkout>]`: the gateway's memory while it relays 200 long streams at
 * once. Each stream is a chat completion of STREAM_CHUNKS events, one every STREAM_CHUNK_MS (default 400 × 25 ms,
 * 10 s), read as it arrives. Prints the gateway's RSS before, at its peak and after, for this build and, when
 * given, another checkout's build (built with `npm ci`), side by side on the same fake xAI and Redis.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssMb, type Child } from './lib/children.js';
import { CHAT_BODY, CHAT_PATH } from './lib/load.js';
import { deleteOwnKeys, ensureRedis } from './lib/redis.js';
import { createKey, freePort, startFake, startGateway, writeGatewayConfig, type Paths } from './lib/targets.js';

const STREAMS = Number(process.env.STREAMS ?? 200);
const CHUNKS = Number(process.env.STREAM_CHUNKS ?? 400);
const CHUNK_MS = Number(process.env.STREAM_CHUNK_MS ?? 25);

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const other = process.argv[2] === undefined ? null : resolve(process.argv[2]);
if (other !== null && !existsSync(join(other, 'dist/src/main.js'))) {
  process.stderr.write('usage: npm run bench:streams-memory -- [<path of another checkout, built (npm ci)>]\n');
  process.exit(2);
}

function log(message: string): void {
  process.stdout.write(`[streams-memory ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function measure(origin: string, pid: number, authorization: string): Promise<{ before: number; peak: number; after: number; completed: number; seconds: number }> {
  const startedAt = Date.now();
  const before = rssMb(pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 100);
  // The fake caps an answer at the request's output cap, so the cap is raised to the number of events wanted.
  const body = JSON.stringify({ ...(JSON.parse(CHAT_BODY) as Record<string, unknown>), stream: true, max_completion_tokens: CHUNKS });
  const headers = { authorization, 'content-type': 'application/json', 'x-fake-chunks': String(CHUNKS), 'x-fake-chunk-delay-ms': String(CHUNK_MS) };
  const results = await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      const response = await fetch(`${origin}${CHAT_PATH}`, { method: 'POST', headers, body });
      const text = await response.text();
      return response.status === 200 && text.includes('[DONE]');
    }),
  );
  clearInterval(sampler);
  await new Promise((done) => setTimeout(done, 1_000));
  const seconds = (Date.now() - startedAt) / 1000 - 1;
  return { before, peak: Math.max(peak, rssMb(pid)), after: rssMb(pid), completed: results.filter(Boolean).length, seconds };
}

async function main(): Promise<void> {
  const children: Child[] = [];
  const { redis, url: redisUrl, started } = await ensureRedis({ host: '127.0.0.1', port: 6379, logDir: mkdtempSync(join(tmpdir(), 'xgw-streams-')) });
  const prefixes: string[] = [];
  try {
    const fakePort = await freePort();
    children.push(await startFake({ root, runDir: mkdtempSync(join(tmpdir(), 'xgw-streams-')) }, { port: fakePort, latencyMs: 0, chunkDelayMs: CHUNK_MS, chunks: CHUNKS, tag: 'fake' }));
    log(`${STREAMS} streams of ${CHUNKS} events, one every ${CHUNK_MS} ms`);
    for (const [label, checkout] of [['this', root], ...(other === null ? [] : [['other', other]])] as const) {
      const paths: Paths = { root: checkout, runDir: mkdtempSync(join(tmpdir(), `xgw-streams-${label}-`)) };
      const prefix = `xgwbench:${randomBytes(6).toString('hex')}:`;
      prefixes.push(prefix);
      const port = await freePort();
      const gateway = await startGateway(paths, { port, upstream: `http://127.0.0.1:${fakePort}`, redisUrl, configFile: writeGatewayConfig(paths, prefix), tag: label });
      children.push(gateway);
      const origin = `http://127.0.0.1:${port}`;
      const key = await createKey(origin, `streams-${label}`);
      const result = await measure(origin, gateway.pid, `Bearer ${key.key}`);
      log(`${label} (${checkout}): RSS before ${result.before.toFixed(1)} MB, peak ${result.peak.toFixed(1)} MB, after ${result.after.toFixed(1)} MB; ${result.completed}/${STREAMS} streams complete in ${result.seconds.toFixed(1)} s`);
    }
  } finally {
    for (const child of children.reverse()) await child.stop();
    for (const prefix of prefixes) await deleteOwnKeys(redis, prefix);
    await redis.quit();
    if (started !== null) await started.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`streams-memory failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
