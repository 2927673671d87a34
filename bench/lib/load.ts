/**
 * Load generation, and the request every target receives: timed points with wrk where it is installed
 * (bench/lib/wrk.ts), else — and for points of a fixed number of requests — with autocannon's programmatic API
 * in the driver process. Either way the load generator runs on the same 2 cores as everything else.
 */
import autocannon from 'autocannon';
import { runWrk, wrkBinary } from './wrk.js';

export interface Target {
  name: 'direct' | 'nginx' | 'floor' | 'gateway';
  /** e.g. http://127.0.0.1:PORT */
  origin: string;
  /** The Authorization header value for this target. */
  authorization: string;
}

export const CHAT_PATH = '/v1/chat/completions';
export const MODEL = 'grok-4-fast-non-reasoning';

/**
 * A small non-streamed chat. It names its own output cap (within the key's maxOutputTokens), so the gateway
 * forwards the client's bytes unchanged — what most SDK calls look like.
 */
export const CHAT_BODY = JSON.stringify({
  model: MODEL,
  messages: [
    { role: 'system', content: 'You are a terse assistant.' },
    { role: 'user', content: 'Say hello in five words.' },
  ],
  max_completion_tokens: 16,
});

/** A streamed chat without stream_options: the gateway splices include_usage in and strips the usage chunk again. */
export const STREAM_BODY = JSON.stringify({
  model: MODEL,
  stream: true,
  messages: [{ role: 'user', content: 'Count to ten.' }],
  max_completion_tokens: 64,
});

export function requestHeaders(target: Target): Record<string, string> {
  return { authorization: target.authorization, 'content-type': 'application/json' };
}

export interface LoadPoint {
  connections: number;
  durationS: number;
  /** 2xx answers per second. */
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** CPU seconds a load generator in its own process (wrk) used; autocannon's is the driver's own. */
  generatorCpuS?: number;
}

/** Which load generator timed points use. */
export function loadGenerator(): 'wrk' | 'autocannon' {
  return wrkBinary() === null ? 'autocannon' : 'wrk';
}

function pointOf(result: autocannon.Result, connections: number): LoadPoint {
  return {
    connections,
    durationS: result.duration,
    rps: result['2xx'] / result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Drives `connections` keep-alive connections for durationS seconds (or until `amount` answers). */
export async function drive(
  target: Target,
  options: { connections: number; durationS?: number; amount?: number; body?: string; authorizations?: readonly string[] },
): Promise<LoadPoint> {
  const authorizations = options.authorizations ?? [target.authorization];
  if (options.amount === undefined && wrkBinary() !== null) {
    const durationS = options.durationS ?? 10;
    const run = await runWrk({ url: `${target.origin}${CHAT_PATH}`, body: options.body ?? CHAT_BODY, authorizations, connections: options.connections, durationS });
    const ok = run.requests - run.non2xx;
    return { connections: options.connections, durationS: run.durationS, rps: ok / run.durationS, ok, non2xx: run.non2xx, errors: run.errors, generatorCpuS: run.cpuS };
  }
  let turn = 0;
  const result = await autocannon({
    url: `${target.origin}${CHAT_PATH}`,
    method: 'POST',
    headers: requestHeaders(target),
    ...(authorizations.length > 1
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request) => ({
                ...request,
                headers: { ...request.headers, authorization: authorizations[(turn += 1) % authorizations.length] ?? target.authorization },
              }),
            },
          ],
        }
      : {}),
    body: options.body ?? CHAT_BODY,
    connections: options.connections,
    pipelining: 1,
    timeout: 30,
    ...(options.amount === undefined ? { duration: options.durationS ?? 10 } : { amount: options.amount }),
  });
  return pointOf(result, options.connections);
}
