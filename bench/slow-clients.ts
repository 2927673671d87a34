/**
 * `npm run bench:slow-clients`: the gateway's memory while slow clients trickle request bodies (docs/threat-model.md).
 * 60 connections each announce a 9 MB JSON body and send it 64 KiB at a time, every 100 ms, for as long as the
 * gateway keeps them open; first without a key, then with a valid one. Prints the gateway's RSS before, at its
 * peak and after, how many connections the gateway ended, and how long one ordinary chat took meanwhile.
 * Bounded: each phase runs at most SLOW_PHASE_S seconds (default 20). Loopback only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssMb, type Child } from './lib/children.js';
import { deleteOwnKeys, ensureRedis } from './lib/redis.js';
import { createKey, freePort, startFake, startGateway, writeGatewayConfig, type Paths } from './lib/targets.js';
import { CHAT_BODY, CHAT_PATH } from './lib/load.js';

const CLIENTS = 60;
const BODY_BYTES = 9_000_000;
const PIECE_BYTES = 64 * 1024;
const PIECE_EVERY_MS = 100;
const PHASE_S = Number(process.env.SLOW_PHASE_S ?? 20);

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function log(message: string): void {
  process.stdout.write(`[slow-clients ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

interface PhaseResult {
  rssBeforeMb: number;
  rssPeakMb: number;
  rssAfterMb: number;
  endedByGateway: number;
  chatMs: number;
  /** The status lines the clients received, counted. */
  answers: string;
}

async function phase(port: number, gatewayPid: number, authorization: string | null, chatKey: string): Promise<PhaseResult> {
  const rssBeforeMb = rssMb(gatewayPid);
  let rssPeakMb = rssBeforeMb;
  let endedByGateway = 0;
  const sockets: Socket[] = [];
  const piece = Buffer.alloc(PIECE_BYTES, 0x20);
  const timers: NodeJS.Timeout[] = [];
  const answers = new Map<string, number>();
  for (let i = 0; i < CLIENTS; i += 1) {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      const line = chunk.toString('utf8').split('\r\n')[0] ?? '';
      answers.set(line, (answers.get(line) ?? 0) + 1);
    });
    socket.on('close', () => {
      endedByGateway += 1;
    });
    sockets.push(socket);
    socket.write(
      `POST ${CHAT_PATH} HTTP/1.1\r\nHost: gateway\r\n${authorization === null ? '' : `Authorization: ${authorization}\r\n`}` +
        `Content-Type: application/json\r\nContent-Length: ${BODY_BYTES}\r\n\r\n{"model":"x","messages":[{"role":"user","content":"`,
    );
    let sent = 0;
    timers.push(
      setInterval(() => {
        if (socket.destroyed || sent >= BODY_BYTES - 100) return;
        socket.write(piece);
        sent += PIECE_BYTES;
      }, PIECE_EVERY_MS),
    );
  }
  const until = Date.now() + PHASE_S * 1000;
  let chatMs = 0;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    rssPeakMb = Math.max(rssPeakMb, rssMb(gatewayPid));
    if (chatMs === 0 && Date.now() > until - PHASE_S * 500) {
      const started = performance.now();
      const response = await fetch(`http://127.0.0.1:${port}${CHAT_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${chatKey}`, 'content-type': 'application/json' }, body: CHAT_BODY });
      await response.arrayBuffer();
      chatMs = performance.now() - started;
    }
  }
  const ended = endedByGateway;
  for (const timer of timers) clearInterval(timer);
  for (const socket of sockets) socket.destroy();
  await new Promise((r) => setTimeout(r, 2_000));
  return { rssBeforeMb, rssPeakMb, rssAfterMb: rssMb(gatewayPid), endedByGateway: ended, chatMs, answers: [...answers].map(([line, n]) => `${n} × ${line}`).join(', ') || 'none' };
}

async function main(): Promise<void> {
  const { redis, url: redisUrl, started } = await ensureRedis({ host: '127.0.0.1', port: 6379, logDir: mkdtempSync(join(tmpdir(), 'xgw-slow-')) });
  const paths: Paths = { root, runDir: mkdtempSync(join(tmpdir(), 'xgw-slow-')) };
  const prefix = `xgwbench:${randomBytes(6).toString('hex')}:`;
  const children: Child[] = [];
  try {
    const fakePort = await freePort();
    children.push(await startFake(paths, { port: fakePort, latencyMs: 0, chunkDelayMs: 1, chunks: 10, tag: 'slow' }));
    const port = await freePort();
    const gateway = await startGateway(paths, { port, upstream: `http://127.0.0.1:${fakePort}`, redisUrl, configFile: writeGatewayConfig(paths, prefix), tag: 'slow' });
    children.push(gateway);
    const { key } = await createKey(`http://127.0.0.1:${port}`, 'slow');
    // The keyed phase first: the keyless one spends this address's failed-authentication budget (then 429s).
    for (const [name, authorization] of [['with a valid key', `Bearer ${key}`], ['without a key', null]] as const) {
      log(`${CLIENTS} clients trickling ${BODY_BYTES / 1e6} MB bodies ${name}, ${PHASE_S} s`);
      const result = await phase(port, gateway.pid, authorization, key);
      log(
        `${name}: gateway RSS ${result.rssBeforeMb.toFixed(1)} MB before, ${result.rssPeakMb.toFixed(1)} MB at peak, ${result.rssAfterMb.toFixed(1)} MB after; ` +
          `${result.endedByGateway} of ${CLIENTS} connections ended by the gateway within the phase; one ordinary chat meanwhile: ${result.chatMs.toFixed(1)} ms; answers: ${result.answers}`,
      );
    }
  } finally {
    for (const child of children.reverse()) await child.stop();
    await deleteOwnKeys(redis, prefix);
    await redis.quit();
    await started?.stop();
  }
}

await main();
