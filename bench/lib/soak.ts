/**
 * The soak of issue 7 item 3, against the gateway, with the fake xAI in this process so what reached the
 * upstream can be counted exactly (fake.requests) next to what it reported (fake.reported). Two identical
 * halves, each: N plain chats at 32 connections while S streams are open at once, a seeded random share of
 * them aborted by the client (on a timer — often before the response headers — or after a random number of chunks).
 * Streams carry their own x-request-id, so each can be traced to the fake (did it arrive) and to the gateway's
 * per-request log line (was usage recorded).
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { FakeXai } from '../../src/fake/xai-server.js';
import { delay, rssMb } from './children.js';
import { CHAT_PATH, drive, MODEL, type Target } from './load.js';
import { seededRandom } from './stats.js';
import { keyUsage, remainingConcurrency, type UsageTotalsView } from './targets.js';

export interface SoakOptions {
  requestsPerHalf: number;
  streamsPerHalf: number;
  /** Probability that a stream is aborted by the client. */
  abortShare: number;
  /** Timer aborts happen at a uniform random time in [0, abortWindowMs) after the request starts. */
  abortWindowMs: number;
  seed: number;
}

export interface StreamOutcomes {
  completed: number;
  abortedBeforeHeaders: number;
  abortedMidStream: number;
  failed: number;
}

export interface SoakResult {
  options: SoakOptions;
  rssBeforeMb: number;
  rssHalfMb: number;
  rssAfterMb: number;
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
  /** GET /v1/api-key remaining.concurrency after the soak, and the key's limit. */
  concurrencyRemaining: number;
  concurrencyLimit: number;
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

/** Waits until the gateway's recorded requests stop changing (settlement runs after the response ends). */
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

export async function runSoak(input: {
  fake: FakeXai;
  target: Target;
  keyId: string;
  gatewayPid: number;
  options: SoakOptions;
  concurrencyLimit: number;
  clientKey: string;
  /** The gateway's log so far (per-request lines at LOG_LEVEL=info). */
  readLog: () => GatewayLogSummary;
}): Promise<SoakResult> {
  const { fake, target, options } = input;
  const random = seededRandom(options.seed);
  const agent = new Agent({ connections: options.streamsPerHalf + 64, keepAliveTimeout: 10_000 });
  const streams: StreamOutcomes = { completed: 0, abortedBeforeHeaders: 0, abortedMidStream: 0, failed: 0 };
  const day = { from: new Date().toISOString().slice(0, 10), to: () => new Date().toISOString().slice(0, 10) };
  const started = Date.now();
  let plainOk = 0;
  let plainFailed = 0;
  let halves = 0;
  const streamIds: string[] = [];

  const half = async (): Promise<void> => {
    halves += 1;
    const streaming = Array.from({ length: options.streamsPerHalf }, (_, i) => {
      const requestId = `xgwbench-soak-${halves}-${i}`;
      streamIds.push(requestId);
      return oneStream({ agent, target, requestId, plan: planAbort(random, options), outcomes: streams });
    });
    const plain = await drive(target, { connections: 32, amount: options.requestsPerHalf });
    await Promise.all(streaming);
    plainOk += plain.ok;
    plainFailed += plain.non2xx + plain.errors;
  };

  const rssBeforeMb = rssMb(input.gatewayPid);
  try {
    await half();
    await settled(target.origin, input.keyId, day);
    const rssHalfMb = rssMb(input.gatewayPid);
    await half();
    const gatewayUsage = await settled(target.origin, input.keyId, day);
    const rssAfterMb = rssMb(input.gatewayPid);
    const chats = fake.requests.filter((r) => r.method === 'POST' && r.path.startsWith(CHAT_PATH));
    const reachedUpstream = new Set(chats.map((r) => r.headers['x-request-id']).filter((id): id is string => typeof id === 'string'));
    const gatewayLog = input.readLog();
    return {
      options,
      rssBeforeMb,
      rssHalfMb,
      rssAfterMb,
      plainOk,
      plainFailed,
      streams,
      upstreamReceived: chats.length,
      upstreamClosedByClient: chats.filter((r) => r.closedByClientAtMs !== null).length,
      upstreamReported: { requests: fake.reported.requests, totalTokens: fake.reported.totalTokens, costUsd: fake.reported.costTicks / 1e10 },
      gatewayUsage,
      streamReconciliation: reconcile(streamIds, reachedUpstream, gatewayLog.recorded),
      gatewayErrorLines: [...gatewayLog.errors],
      concurrencyRemaining: await remainingConcurrency(target.origin, input.clientKey),
      concurrencyLimit: input.concurrencyLimit,
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
