import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { errors } from '../../errors.js';
import { matchAdminToken } from '../../keys/admin-auth.js';

/** GET /metrics (docs/operations.md): Prometheus text, behind an admin token — never reachable with a client key. */
export function registerMetricsRoute(app: FastifyInstance, deps: { registry: Registry; adminTokens: () => readonly string[] }): void {
  app.get('/metrics', async (request, reply) => {
    const tokens = deps.adminTokens();
    if (tokens.length === 0) throw errors.notFound('Metrics are off: set GATEWAY_ADMIN_TOKEN to turn them on.');
    const header = request.headers.authorization;
    if (matchAdminToken(typeof header === 'string' ? header : undefined, tokens) === null) throw errors.invalidAdminToken();
    return reply.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
}
