/**
 * The soak, against the gateway, with the fake xAI in this process so what reached the
 * upstream can be counted exactly (fake.requests) next to what it reported (fake.reported). Two identical
 * halves, each: N plain chats at 32 connections while S streams are open at once, a seeded random share of
 * them aborted by the client (on a timer — often before the response headers — or after a random number of chunks).
 * Before them, warm-up halves of the same load on another key (not counted), so the halves compared run on a
 * heap V8 has already sized to this load. The live heap after a full GC (inspector.ts) is read before and after
 * each half: that is what a leak raises.
 * Streams carry their own x-request-id, so each can be traced to the fake (did it arrive) and to the gateway's
 * per-request log line (was usage recorded).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { FakeXai } from '../../src/fake/xai-server.js';
// The tests' seeded PRNG: a run's random aborts can be replayed from the printed seed.
import { prng } from '../../test/helpers/prng.js';
import { delay, rssMb } from './children.js';
import { liveHeapMb } from './inspector.js';
import { CHAT_PATH, drive, MODEL, type Target } from './load.js';
import { keyUsage, remainingConcurrency, type UsageTotalsView } from './targets.js';

export interface SoakOptions {
  requestsPerHalf: number;
  streamsPerHalf: number;
  /** Probability that a stream is aborted by the client. */
  abortShare: number;
  /** Timer aborts happen at a uniform random time in [0, abortWindowMs) after the request starts. */
  abortWindowMs: number;
  seed: number;
  /** Halves of the same load run first on another key and not counted. */
  warmupHalves: number;
}

export interface StreamOutcomes {
  completed: number;
  abortedBeforeHeaders: number;
  abortedMidStream: number;
  failed: number;
}

export interface SoakResult {
  options: SoakOptions;
  /** VmRSS before the soak, once the first half has settled, and once the second has. */
  rssBeforeMb: number;
  rssHalfMb: number;
  rssAfterMb: number;
  /**
   * Highest VmRSS sampled (every 100 ms) while each half ran and settled. A single reading lands anywhere on
   * V8's heap sawtooth; the peak under the same load is what a leak would raise from one half to the next.
   */
  rssPeakFirstHalfMb: number;
  rssPeakSecondHalfMb: number;
  /** The file-backed part of VmRSS at the end (RssFile: mostly the node binary's code), the same in any process. */
  rssFileAfterMb: number;
  /** Used JS heap after a full GC (MB): before the first half, after it, after the second. */
  liveHeapBeforeMb: number;
  liveHeapHalfMb: number;
  liveHeapAfterMb: number;
  plainOk: number;
  plainFailed: number;
  streams: StreamOutcomes;
  /** Chat requests that reached the fake, and how many of those the client side closed before the end. */
  upstreamReceived: number;
  upstreamClosedByClient: number;
  /** Usage the fake sent (bodies and stream usage chunks). */
  upstreamReported: { requests: number; totalTokens: number; costUsd: number };
  gatewayUsage: UsageTotalsView;
  /** Per stream (by x-request-id): did it reach the fake, did the gateway record usage for it. */
  streamReconciliation: StreamReconciliation;
  /** Error-level lines the gateway logged during the soak, by message (and code). */
  gatewayErrorLines: [string, number][];
  /** Keys and bytes (MEMORY USAGE) Redis holds for the soak key's family afterwards (filled in by bench/run.ts). */
  familyRedis?: { keys: number; bytes: number };
  /**
   * GET /v1/api-key remaining.concurrency once every reservation was released (or the wait ran out), and the
   * key's limit. That GET holds one slot itself while it answers, so `limit - 1` means none is left.
   */
  concurrencyRemaining: number;
  concurrencyLimit: number;
  /** Reservations still held after the soak (`limit - 1 - remaining`): 0 unless one was never settled. */
  reservationsLeft: number;
  /** How long the poll for released reservations (started once the usage stopped changing) waited. */
  reservationsWaitMs: number;
  durationS: number;
}

export interface StreamReconciliation {
  reachedAndRecorded: number;
  reachedNotRecorded: number;
  notReachedButRecorded: number;
  neitherReachedNorRecorded: number;
}

function reconcile(ids: readonly string[], reached: ReadonlySet<string>, recorded: ReadonlySet<string>): StreamReconciliation {
  const out: StreamReconciliation = { reachedAndRecorded: 0, reachedNotRecorded: 0, notReachedButRecorded: 0, neitherReachedNorRecorded: 0 };
  for (const id of ids) {
    const r = reached.has(id);
    const g = recorded.has(id);
    if (r && g) out.reachedAndRecorded += 1;
    else if (r) out.reachedNotRecorded += 1;
    else if (g) out.notReachedButRecorded += 1;
    else out.neitherReachedNorRecorded += 1;
  }
  return out;
}

const STREAM_BODY = JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'Tell me a story.' }] });

/** How a stream ends on the client side: read to the end, aborted by a timer, or aborted after its k-th body chunk. */
type AbortPlan = { kind: 'none' } | { kind: 'timer'; ms: number } | { kind: 'after-chunks'; chunks: number };

function planAbort(random: () => number, options: SoakOptions): AbortPlan {
  if (random() >= options.abortShare) return { kind: 'none' };
  // Half of the aborts on a timer (often before the response headers while 500 streams queue), half surely mid-stream.
  return random() < 0.5 ? { kind: 'timer', ms: Math.floor(random() * options.abortWindowMs) } : { kind: 'after-chunks', chunks: 1 + Math.floor(random() * 8) };
}

async function oneStream(input: { agent: Agent; target: Target; requestId: string; plan: AbortPlan; outcomes: StreamOutcomes }): Promise<void> {
  const { plan, outcomes } = input;
  const controller = new AbortController();
  const timer = plan.kind === 'timer' ? setTimeout(() => controller.abort(), plan.ms) : null;
  let gotHeaders = false;
  try {
    const response = await request(`${input.target.origin}${CHAT_PATH}`, {
      method: 'POST',
      dispatcher: input.agent,
      headers: { authorization: input.target.authorization, 'content-type': 'application/json', 'x-request-id': input.requestId },
      body: STREAM_BODY,
      signal: controller.signal,
    });
    gotHeaders = true;
    let text = '';
    let chunks = 0;
    for await (const chunk of response.body) {
      text += (chunk as Buffer).toString('utf8');
      chunks += 1;
      if (plan.kind === 'after-chunks' && chunks >= plan.chunks) controller.abort();
    }
    if (response.statusCode === 200 && text.includes('data: [DONE]')) outcomes.completed += 1;
    else outcomes.failed += 1;
  } catch (err) {
    if (controller.signal.aborted) {
      if (gotHeaders) outcomes.abortedMidStream += 1;
      else outcomes.abortedBeforeHeaders += 1;
    } else {
      outcomes.failed += 1;
      if (outcomes.failed <= 3) process.stderr.write(`soak stream failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/**
 * Waits until the gateway's recorded requests stop changing (settlement runs after the response ends). Releases
 * (requests that never reached xAI) do not change them: `released` waits for those.
 */
async function settled(origin: string, keyId: string, day: { from: string; to: () => string }): Promise<UsageTotalsView> {
  let last = await keyUsage(origin, keyId, day.from, day.to());
  for (let stableFor = 0; stableFor < 4; ) {
    await delay(250);
    const now = await keyUsage(origin, keyId, day.from, day.to());
    stableFor = now.requests === last.requests ? stableFor + 1 : 0;
    last = now;
  }
  return last;
}

/** Polls GET /v1/api-key until every reservation of the key is released, or `timeoutMs` has passed. */
async function released(origin: string, clientKey: string, limit: number, timeoutMs: number): Promise<{ remaining: number; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const remaining = await remainingConcurrency(origin, clientKey);
    // limit - 1: the GET's own slot.
    if (remaining >= limit - 1 || Date.now() - started >= timeoutMs) return { remaining, waitedMs: Date.now() - started };
    await delay(100);
  }
}

/** VmRSS (MB) sampled every 100 ms until stopped; `stop` returns the highest reading. */
function sampleRssPeak(pid: number): { stop: () => number } {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMb(pid));
    },
  };
}

function rssFileMb(pid: number): number {
  const match = /^RssFile:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) / 1024;
}

export async function runSoak(input: {
  fake: FakeXai;
  target: Target;
  /** Another key's target, for the warm-up halves. */
  warmTarget: Target;
  /** The gateway's inspector port (node --inspect=127.0.0.1:PORT), for the live heap. */
  inspectorPort: number;
  keyId: string;
  gatewayPid: number;
  options: SoakOptions;
  concurrencyLimit: number;
  clientKey: string;
  /** The gateway's log so far (per-request lines at LOG_LEVEL=info). */
  readLog: () => GatewayLogSummary;
}): Promise<SoakResult> {
  const { fake, target, options } = input;
  const random = prng(options.seed);
  const agent = new Agent({ connections: options.streamsPerHalf + 64, keepAliveTimeout: 10_000 });
  const streams: StreamOutcomes = { completed: 0, abortedBeforeHeaders: 0, abortedMidStream: 0, failed: 0 };
  const day = { from: new Date().toISOString().slice(0, 10), to: () => new Date().toISOString().slice(0, 10) };
  const started = Date.now();
  let plainOk = 0;
  let plainFailed = 0;
  let halves = 0;
  const streamIds: string[] = [];
  // Unique per run: a gateway log that already holds another run's lines cannot match these ids.
  const runTag = randomBytes(4).toString('hex');

  const half = async (on: Target, counted: boolean): Promise<void> => {
    halves += 1;
    const outcomes: StreamOutcomes = counted ? streams : { completed: 0, abortedBeforeHeaders: 0, abortedMidStream: 0, failed: 0 };
    const streaming = Array.from({ length: options.streamsPerHalf }, (_, i) => {
      const requestId = `xgwbench-soak-${runTag}-${halves}-${i}`;
      if (counted) streamIds.push(requestId);
      return oneStream({ agent, target: on, requestId, plan: planAbort(random, options), outcomes });
    });
    const plain = await drive(on, { connections: 32, amount: options.requestsPerHalf });
    await Promise.all(streaming);
    if (!counted) return;
    plainOk += plain.ok;
    plainFailed += plain.non2xx + plain.errors;
  };

  try {
    for (let i = 0; i < options.warmupHalves; i += 1) await half(input.warmTarget, false);
    // Every warm-up request has reached the fake or never will (the client side is done): start counting afresh.
    await delay(1_000);
    fake.reset();
    const rssBeforeMb = rssMb(input.gatewayPid);
    // Read after RSS: the full GC it forces gives memory back.
    const liveHeapBeforeMb = await liveHeapMb(input.inspectorPort);
    const first = sampleRssPeak(input.gatewayPid);
    await half(target, true);
    await settled(target.origin, input.keyId, day);
    const rssPeakFirstHalfMb = first.stop();
    const rssHalfMb = rssMb(input.gatewayPid);
    const liveHeapHalfMb = await liveHeapMb(input.inspectorPort);
    const second = sampleRssPeak(input.gatewayPid);
    await half(target, true);
    const gatewayUsage = await settled(target.origin, input.keyId, day);
    const rssPeakSecondHalfMb = second.stop();
    const rssAfterMb = rssMb(input.gatewayPid);
    const rssFileAfterMb = rssFileMb(input.gatewayPid);
    const liveHeapAfterMb = await liveHeapMb(input.inspectorPort);
    const concurrency = await released(target.origin, input.clientKey, input.concurrencyLimit, 10_000);
    const chats = fake.requests.filter((r) => r.method === 'POST' && r.path.startsWith(CHAT_PATH));
    const reachedUpstream = new Set(chats.map((r) => r.headers['x-request-id']).filter((id): id is string => typeof id === 'string'));
    const gatewayLog = input.readLog();
    return {
      options,
      rssBeforeMb,
      rssHalfMb,
      rssAfterMb,
      rssPeakFirstHalfMb,
      rssPeakSecondHalfMb,
      rssFileAfterMb,
      liveHeapBeforeMb,
      liveHeapHalfMb,
      liveHeapAfterMb,
      plainOk,
      plainFailed,
      streams,
      upstreamReceived: chats.length,
      upstreamClosedByClient: chats.filter((r) => r.closedByClientAtMs !== null).length,
      upstreamReported: { requests: fake.reported.requests, totalTokens: fake.reported.totalTokens, costUsd: fake.reported.costTicks / 1e10 },
      gatewayUsage,
      streamReconciliation: reconcile(streamIds, reachedUpstream, gatewayLog.recorded),
      gatewayErrorLines: [...gatewayLog.errors],
      concurrencyRemaining: concurrency.remaining,
      concurrencyLimit: input.concurrencyLimit,
      reservationsLeft: input.concurrencyLimit - 1 - concurrency.remaining,
      reservationsWaitMs: concurrency.waitedMs,
      durationS: (Date.now() - started) / 1000,
    };
  } finally {
    await agent.close();
  }
}

export interface GatewayLogSummary {
  /** Request ids of per-request lines (`msg: "request"`) that carry usage: settled with usage recorded. */
  recorded: Set<string>;
  /** Lines at level error or above, counted by `msg (err.code or code)`. */
  errors: Map<string, number>;
}

/** Reads the gateway's pino log (LOG_LEVEL=info): which requests were recorded, and what it logged as errors. */
export function readGatewayLog(logPath: string): GatewayLogSummary {
  const recorded = new Set<string>();
  const errors = new Map<string, number>();
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { level?: unknown; msg?: unknown; reqId?: unknown; usage?: unknown; code?: unknown; err?: { code?: unknown; type?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // a partial line at the end of the file
    }
    if (entry.msg === 'request' && typeof entry.reqId === 'string' && entry.usage !== undefined) recorded.add(entry.reqId);
    if (typeof entry.level === 'number' && entry.level >= 50) {
      const detail = [entry.code, entry.err?.code ?? entry.err?.type].filter((v) => typeof v === 'string' || typeof v === 'number').join(', ');
      const key = `${String(entry.msg)}${detail === '' ? '' : ` (${detail})`}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
  }
  return { recorded, errors };
}
