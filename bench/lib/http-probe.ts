/**
 * Sequential probes at one connection with microsecond timing (autocannon's histogram has 1 ms resolution,
 * too coarse for a 0.3 ms target): full-response latency of a plain chat, and time to the first body byte of
 * a streamed chat. Targets are interleaved in small blocks so drift on a shared machine (other processes, CPU
 * frequency, GC) falls on every target alike.
 */
import { Client } from 'undici';
import { CHAT_BODY, CHAT_PATH, requestHeaders, STREAM_BODY, type Target } from './load.js';

export interface ProbeOptions {
  /** Requests per target in each block. */
  block: number;
  /** Blocks per target (total per target = block × rounds). */
  rounds: number;
  /** Unmeasured requests per target first. */
  warmup: number;
}

type Measure = (client: Client, target: Target) => Promise<number>;

async function interleaved(targets: readonly Target[], options: ProbeOptions, measure: Measure): Promise<Map<Target['name'], number[]>> {
  const clients = new Map(targets.map((t) => [t.name, new Client(t.origin, { pipelining: 1, keepAliveTimeout: 60_000 })]));
  const samples = new Map<Target['name'], number[]>(targets.map((t) => [t.name, []]));
  try {
    for (const target of targets) {
      const client = clients.get(target.name) as Client;
      for (let i = 0; i < options.warmup; i += 1) await measure(client, target);
    }
    for (let round = 0; round < options.rounds; round += 1) {
      for (const target of targets) {
        const client = clients.get(target.name) as Client;
        const out = samples.get(target.name) as number[];
        for (let i = 0; i < options.block; i += 1) out.push(await measure(client, target));
      }
    }
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
  return samples;
}

function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Request written → last byte of a non-streamed chat read, in ms. */
export function chatLatencies(targets: readonly Target[], options: ProbeOptions): Promise<Map<Target['name'], number[]>> {
  return interleaved(targets, options, async (client, target) => {
    const start = process.hrtime.bigint();
    const response = await client.request({ method: 'POST', path: CHAT_PATH, headers: requestHeaders(target), body: CHAT_BODY });
    const body = await response.body.text();
    const ms = elapsedMs(start);
    if (response.statusCode !== 200) throw new Error(`${target.name}: status ${response.statusCode}: ${body.slice(0, 200)}`);
    return ms;
  });
}

/** Request written → first byte of the SSE body, in ms; the rest of the stream is read to its end. */
export function streamFirstByteTimes(targets: readonly Target[], options: ProbeOptions): Promise<Map<Target['name'], number[]>> {
  return interleaved(targets, options, async (client, target) => {
    const start = process.hrtime.bigint();
    const response = await client.request({ method: 'POST', path: CHAT_PATH, headers: requestHeaders(target), body: STREAM_BODY });
    let firstByteMs = -1;
    let text = '';
    for await (const chunk of response.body) {
      if (firstByteMs < 0) firstByteMs = elapsedMs(start);
      text += (chunk as Buffer).toString('utf8');
    }
    if (response.statusCode !== 200 || !text.includes('data: [DONE]')) {
      throw new Error(`${target.name}: streamed chat failed (status ${response.statusCode}): ${text.slice(0, 200)}`);
    }
    return firstByteMs;
  });
}
