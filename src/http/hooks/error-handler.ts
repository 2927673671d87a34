import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors, GatewayError } from '../../errors.js';
import type { RequestContext } from './request-context.js';

/**
 * The only place errors become responses (docs/architecture.md): GatewayError → its status and OpenAI-shaped body;
 * Fastify's own client errors → the matching 4xx of docs/api.md; anything else → 500 with nothing internal in
 * the body (the log has the detail).
 */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const fastifyError = err as Partial<FastifyError>;
  const code = typeof fastifyError.code === 'string' ? fastifyError.code : '';
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError({ status: 413, code: 'request_too_large', message: 'The request body is larger than this gateway accepts.' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.invalidRequest('Unsupported Content-Type; this endpoint takes application/json.', 415);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.invalidRequest('The request body is not valid JSON.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.invalidRequest('The Content-Length header does not match the body.');
    default:
      break;
  }
  if (err instanceof SyntaxError || code.startsWith('FST_ERR_CTP')) return errors.invalidRequest('The request body could not be parsed.');
  if (fastifyError.validation !== undefined) return errors.invalidRequest(fastifyError.message ?? 'Invalid request.');
  if (status >= 400 && status < 500) {
    return new GatewayError({ status, code: status === 404 ? 'not_found' : 'invalid_request', message: 'Invalid request.' });
  }
  return new GatewayError({ status: 500, code: 'internal_error', message: 'Internal gateway error.', cause: err });
}

export function sendGatewayError(reply: FastifyReply, error: GatewayError): FastifyReply {
  // Kept for the request log and the refused/failed counts (src/activity): an error the gateway answered itself.
  // Undefined where an app is built without the request context (some unit tests serve a route alone).
  const ctx = reply.request.gw as RequestContext | null | undefined;
  if (ctx !== null && ctx !== undefined) {
    ctx.code = error.code;
    if (error.model !== null) ctx.refusedModel = error.model;
  }
  return reply.code(error.status).headers(error.headers).type('application/json; charset=utf-8').send(error.toBody());
}

/** Errors that a store or upstream outage produces for every request alike: logged as a warning without a stack. */
const OUTAGE_MESSAGES: Readonly<Record<string, string>> = {
  store_unavailable: 'store unavailable',
  upstream_error: 'upstream unavailable',
  upstream_timeout: 'upstream timed out',
};

/**
 * The log line of an outage, or null for an error that is logged with its stack. An upstream error counts as an
 * outage when its cause is a system or undici error (it has a `code`, such as ECONNREFUSED) or when there is none
 * (xAI answered something unusable); an upstream error caused by anything else may be a bug of ours, so its stack
 * is kept.
 */
function outageOf(error: GatewayError): { message: string; cause: { cause?: string; causeCode?: string } } | null {
  const message = OUTAGE_MESSAGES[error.code];
  if (message === undefined) return null;
  const cause = error.cause;
  if (cause === undefined || cause === null) return { message, cause: {} };
  const code = (cause as { code?: unknown }).code;
  if (error.code !== 'store_unavailable' && typeof code !== 'string') return null;
  return { message, cause: { cause: cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : 'unknown', ...(typeof code === 'string' ? { causeCode: code } : {}) } };
}

export function registerErrorHandling(app: FastifyInstance, options: { onRefused?: (reason: string) => void } = {}): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const error = toGatewayError(err);
    const outage = outageOf(error);
    if (outage !== null) {
      // An outage of Redis or xAI, not a bug: one line with what failed, no stack (every request fails alike meanwhile).
      request.log.warn({ code: error.code, detail: error.message, ...outage.cause }, outage.message);
    } else if (error.status >= 500) {
      request.log.error({ err: error.cause ?? err, code: error.code }, 'request failed');
    } else {
      request.log.debug({ code: error.code }, 'request refused');
      // Refusal reasons: the limit that refused admission, else the error code (a bounded vocabulary).
      options.onRefused?.((request.gw as RequestContext | null)?.refusal ?? error.code);
    }
    if (reply.sent || reply.raw.headersSent) {
      // A stream already under way: all we can do is end it.
      reply.raw.destroy();
      return;
    }
    return sendGatewayError(reply, error);
  });
  app.setNotFoundHandler((_request: FastifyRequest, reply: FastifyReply) =>
    sendGatewayError(reply, errors.notFound('No such route on this gateway.')),
  );
}
