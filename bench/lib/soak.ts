/**
 * The soak of issue 7 item 3, against the gateway, with the fake xAI in this process so what reached the
 * upstream can be counted exactly (fake.requests) next to what it reported (fake.reported). Two identical
 * halves, each: N plain chats at 32 connections while S streams are open at once, a seeded random share of
 * them aborted by the client at a random moment (before the headers, mid-stream, or after the end).
 */
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
  /** Aborts happen at a uniform random time in [0, abortWindowMs). */
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
  /** GET /v1/api-key remaining.concurrency after the soak, and the key's limit. */
  concurrencyRemaining: number;
  concurrencyLimit: number;
  durationS: number;
}

const STREAM_BODY = JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'Tell me a story.' }] });

async function oneStream(agent: Agent, target: Target, abortAtMs: number | null, outcomes: StreamOutcomes): Promise<void> {
  const controller = new AbortController();
  const timer = abortAtMs === null ? null : setTimeout(() => controller.abort(), abortAtMs);
  let gotHeaders = false;
  try {
    const response = await request(`${target.origin}${CHAT_PATH}`, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: target.authorization, 'content-type': 'application/json' },
      body: STREAM_BODY,
      signal: controller.signal,
    });
    gotHeaders = true;
    let text = '';
    for await (const chunk of response.body) text += (chunk as Buffer).toString('utf8');
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
}): Promise<SoakResult> {
  const { fake, target, options } = input;
  const random = seededRandom(options.seed);
  const agent = new Agent({ connections: options.streamsPerHalf + 64, keepAliveTimeout: 10_000 });
  const streams: StreamOutcomes = { completed: 0, abortedBeforeHeaders: 0, abortedMidStream: 0, failed: 0 };
  const day = { from: new Date().toISOString().slice(0, 10), to: () => new Date().toISOString().slice(0, 10) };
  const started = Date.now();
  let plainOk = 0;
  let plainFailed = 0;

  const half = async (): Promise<void> => {
    const streaming = Array.from({ length: options.streamsPerHalf }, () => {
      const abortAtMs = random() < options.abortShare ? Math.floor(random() * options.abortWindowMs) : null;
      return oneStream(agent, target, abortAtMs, streams);
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
      concurrencyRemaining: await remainingConcurrency(target.origin, input.clientKey),
      concurrencyLimit: input.concurrencyLimit,
      durationS: (Date.now() - started) / 1000,
    };
  } finally {
    await agent.close();
  }
}
