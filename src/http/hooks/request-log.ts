import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The one log line per request (docs/operations.md): request id, key id, endpoint, model, status, latency, usage.
 * Never headers or bodies; secrets could not get here, and the logger scrubs them anyway.
 */
export function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  // Below the level (a gateway run at warn) the line's fields are not even gathered.
  if (!isInfoEnabled(request.log)) return;
  const ctx = request.gw;
  const latencyMs = Number(process.hrtime.bigint() - ctx.startedAtNs) / 1e6;
  const usage =
    ctx.usage === null
      ? undefined
      : {
          promptTokens: ctx.usage.promptTokens,
          completionTokens: ctx.usage.completionTokens,
          reasoningTokens: ctx.usage.reasoningTokens,
          cachedTokens: ctx.usage.cachedTokens,
          totalTokens: ctx.usage.totalTokens,
          costUsd: ctx.usage.costTicks / 1e10,
        };
  request.log.info(
    {
      method: request.method,
      path: request.url.split('?')[0],
      status: reply.raw.headersSent || reply.sent ? reply.statusCode : 499,
      latencyMs: Math.round(latencyMs * 100) / 100,
      keyId: ctx.keyId ?? undefined,
      endpoint: ctx.endpoint ?? undefined,
      model: ctx.model ?? undefined,
      usage,
    },
    'request',
  );
}

/** pino's isLevelEnabled where the logger has it (Fastify's logger type does not name it). */
function isInfoEnabled(log: FastifyBaseLogger): boolean {
  const check = (log as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return check === undefined || check.call(log, 'info');
}
