import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { GatewayError } from '../errors.js';

/**
 * Per-IP throttling of failed authentications (SPEC §8, issue 6), on the client API and the admin API alike:
 * each 401 an address earns consumes one unit of @fastify/rate-limit's counter (shared through Redis when
 * the gateway runs on Redis, so every instance sees the same count); once an address has spent
 * `server.authFailuresPerMinute` in a minute, every request from it gets 429 until the window passes.
 * Successful calls never consume anything, so automation creating keys in bursts is not slowed down.
 * The client IP is Fastify's request.ip: the socket's unless server.trustProxy is set.
 */
export interface AuthThrottleOptions {
  maxFailuresPerMinute: () => number;
  /** ioredis client for shared counters, or null for in-process counters. */
  redis: unknown;
  /** Redis key prefix of the counters. */
  nameSpace: string;
}

const GUARDED = ['/v1/', '/admin/', '/gateway/', '/metrics'];

function guarded(url: string): boolean {
  return GUARDED.some((prefix) => url.startsWith(prefix));
}

export const registerAuthThrottle = fp(async (app: FastifyInstance, options: AuthThrottleOptions) => {
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

  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (!guarded(request.url)) return;
    const status = await failures(request, { increment: false });
    // A peek does not count this request: with `max` failures already spent, nothing is left for it.
    if (!status.isAllowed && (status.isExceeded || status.remaining <= 0)) {
      throw new GatewayError({
        status: 429,
        code: 'rate_limit_exceeded',
        message: 'Too many failed authentications from this address; try again later.',
        headers: { 'retry-after': String(Math.max(1, status.ttlInSeconds)) },
      });
    }
  });

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    if (reply.statusCode === 401 && guarded(request.url)) await failures(request);
  });
});
