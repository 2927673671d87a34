import type { FastifyInstance } from 'fastify';

/** Liveness and readiness (SPEC §7): /healthz while the process runs; /readyz only while the store answers. */
export function registerHealthRoutes(app: FastifyInstance, deps: { ping: () => Promise<void> }): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    try {
      await deps.ping();
      return { status: 'ready' };
    } catch (err) {
      request.log.warn({ err }, 'store not ready');
      return reply.code(503).send({ status: 'unavailable', error: { message: 'The store is unavailable.', type: 'api_error', code: 'store_unavailable' } });
    }
  });
}
