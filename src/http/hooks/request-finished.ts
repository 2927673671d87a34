import type { FastifyReply, FastifyRequest } from 'fastify';
import { activityEntry } from '../../activity/entry.js';
import type { ActivityRecorder } from '../../activity/recorder.js';
import { logRequest } from './request-log.js';

/** What happens once per request when it is over: its log line, and its place in the operator's view. */
export type RequestFinished = (request: FastifyRequest, reply: FastifyReply) => void;

export function requestFinished(deps: { activity: ActivityRecorder; now: () => number; knownModel: (model: string) => boolean }): RequestFinished {
  return (request, reply) => {
    logRequest(request, reply);
    const ctx = request.gw;
    const key = ctx.identified;
    // Only requests of a known key: there is no log to put an unauthenticated one in.
    if (key === null) return;
    deps.activity.record(
      activityEntry(
        {
          atMs: deps.now(),
          requestId: request.id,
          keyId: key.keyId,
          parentId: key.parentId,
          // A mint (POST /gateway/keys) counts as a request of the minting key (README, "Child keys"): it shows as "mint".
          endpoint: ctx.endpoint ?? (request.url.startsWith('/gateway/keys') ? 'mint' : null),
          model: ctx.model ?? ctx.refusedModel,
          status: reply.raw.headersSent || reply.sent ? reply.statusCode : 499,
          gatewayCode: ctx.code,
          forwarded: ctx.forwarded,
          streamed: ctx.streamed,
          broken: ctx.broken,
          usage: ctx.usage,
          latencyMs: Number(process.hrtime.bigint() - ctx.startedAtNs) / 1e6,
        },
        deps.knownModel,
      ),
    );
  };
}
