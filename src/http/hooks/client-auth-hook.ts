import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { authenticateClient, type ClientAuthDeps } from '../../keys/client-auth.js';

/**
 * Authenticates a client request from its headers, before any body is read or parsed (docs/threat-model.md): a request without
 * a valid key costs the gateway no body bytes. The client is kept on the request context for the handler. A
 * refusal is answered at once; when the request announced a body that was not read, the connection is closed
 * after the answer instead of reading that body.
 */
export function clientAuthHook(deps: ClientAuthDeps): onRequestHookHandler {
  return (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    authenticateClient(
      { authorization: header(request, 'authorization'), apiKeyHeader: header(request, 'x-api-key'), origin: header(request, 'origin'), ip: request.ip },
      deps,
      (key, parent) => {
        request.gw.identified = { keyId: key.id, parentId: parent?.id ?? null };
      },
    ).then(
      (client) => {
        request.gw.client = client;
        request.gw.keyId = client.key.id;
        done();
      },
      (err: unknown) => {
        closeIfBodyUnread(request, reply);
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
  };
}

/**
 * For a request refused before its body was read: close the connection after the answer instead of reading (and
 * discarding) a body the gateway will never use, which a slow client could make last until requestTimeoutMs.
 */
export function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  const length = request.headers['content-length'];
  if (request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) reply.header('connection', 'close');
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
