import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { GatewayError } from '../../errors.js';
import { closeIfBodyUnread } from './client-auth-hook.js';

/**
 * Per-IP throttling of failed authentications (docs/threat-model.md), on the client API and the admin API alike:
 * each 401 an address earns consumes one unit of @fastify/rate-limit's counter (shared through Redis when
 * the gateway runs on Redis, so every instance counts the same failures); once an address has spent
 * `server.authFailuresPerMinute` in a minute, its requests get 429 until the window passes.
 * Successful calls never consume anything, so automation creating keys in bursts is not slowed down.
 * The client IP is Fastify's request.ip: the socket's unless server.trustProxy is set.
 *
 * Hot path: an address's state is remembered in process — "blocked until" from any increment or check
 * that found it over the limit, "fine" for STATE_TTL_MS after a check that found room — so a successful
 * request costs no store round trip most of the time. Failures counted by other instances are noticed
 * within STATE_TTL_MS; failures counted here are noticed at once.
 */
export interface AuthThrottleOptions {
  maxFailuresPerMinute: () => number;
  /** ioredis client for shared counters, or null for in-process counters. */
  redis: unknown;
  /** Redis key prefix of the counters. */
  nameSpace: string;
  now?: () => number;
}

const GUARDED = ['/v1/', '/admin/', '/gateway/', '/metrics'];
const STATE_TTL_MS = 1_000;
const MAX_REMEMBERED = 100_000;

/**
 * Whether a request reached a guarded route. Judged on the route Fastify matched, never on the raw URL: a
 * percent-encoded path (`/%61dmin/keys`) or an absolute-form target (`GET http://x/admin/keys`) reaches the same
 * route as `/admin/keys`, so it must count the same (docs/threat-model.md). An unmatched request (404) reached nothing.
 */
function guarded(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  return route !== undefined && GUARDED.some((prefix) => route.startsWith(prefix));
}

interface Limit {
  isAllowed: boolean;
  isExceeded?: boolean;
  remaining?: number;
  ttl?: number;
}

export const registerAuthThrottle = fp(async (app: FastifyInstance, options: AuthThrottleOptions) => {
  const now = options.now ?? Date.now;
  await app.register(rateLimit, {
    global: false,
    max: () => options.maxFailuresPerMinute(),
    timeWindow: 60_000,
    nameSpace: options.nameSpace,
    // A store outage is answered by the routes themselves (503); throttling must not turn it into 500s.
    skipOnError: true,
    ...(options.redis === null ? {} : { redis: options.redis }),
  });
  const failures = app.createRateLimit();
  const states = new Map<string, { blocked: boolean; untilMs: number }>();

  function remember(ip: string, limit: Limit): void {
    if (states.size >= MAX_REMEMBERED) states.clear();
    // `isAllowed` means "on an allow list". Otherwise an address is over once it has spent its failures for the
    // window: remaining 0 already (the failure that spent the last one is not "exceeded" yet, but the next is).
    const over = !limit.isAllowed && (limit.isExceeded === true || (limit.remaining ?? 1) <= 0);
    states.set(ip, over ? { blocked: true, untilMs: now() + Math.max(1_000, limit.ttl ?? 60_000) } : { blocked: false, untilMs: now() + STATE_TTL_MS });
  }

  function blockedError(state: { untilMs: number }): GatewayError {
    return new GatewayError({
      status: 429,
      code: 'rate_limit_exceeded',
      message: 'Too many failed authentications from this address; try again later.',
      headers: { 'retry-after': String(Math.max(1, Math.ceil((state.untilMs - now()) / 1000))) },
    });
  }

  // Callback hooks: the common case (an address known to be fine) answers synchronously, without the promise
  // and microtask hop an async hook costs every request.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    if (!guarded(request)) {
      done();
      return;
    }
    const refuse = (state: { untilMs: number }): void => {
      closeIfBodyUnread(request, reply);
      done(blockedError(state));
    };
    const state = states.get(request.ip);
    if (state !== undefined && state.untilMs > now()) {
      if (state.blocked) refuse(state);
      else done();
      return;
    }
    failures(request, { increment: false }).then(
      (limit) => {
        remember(request.ip, limit);
        const fresh = states.get(request.ip);
        if (fresh?.blocked === true) refuse(fresh);
        else done();
      },
      (err: unknown) => done(asError(err)),
    );
  });

  // Counted before the 401 is written, not after: a client that sends its next guess the moment it reads this
  // answer must find the failure counted already, so the limit is exact, not "about" authFailuresPerMinute.
  app.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void) => {
    if (reply.statusCode !== 401 || !guarded(request)) {
      done(null, payload);
      return;
    }
    failures(request).then(
      (limit) => {
        remember(request.ip, limit);
        done(null, payload);
      },
      // A store outage must not turn a 401 into something else: the failure goes uncounted.
      () => done(null, payload),
    );
  });
});

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
