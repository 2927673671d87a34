import type { FastifyInstance } from 'fastify';

/** Liveness and readiness (docs/operations.md): /healthz while the process runs; /readyz only while the store answers. */
export function registerHealthRoutes(app: FastifyInstance, deps: { ping: () => Promise<void> }): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    try {
      await deps.ping();
      return { status: 'ready' };
    } catch (err) {
      // Polled every few seconds by orchestrators during an outage: the cause in one line, no stack.
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
      request.log.warn({ cause }, 'store not ready');
      return reply.code(503).send({ status: 'unavailable', error: { message: 'The store is unavailable.', type: 'api_error', code: 'store_unavailable' } });
    }
  });
}
