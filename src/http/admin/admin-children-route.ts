import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import type { KeyRecord, KeyStore } from '../../keys/types.js';
import { matchAdminToken } from '../../keys/admin-auth.js';
import { keyView } from '../../keys/key-view.js';

/**
 * `GET /admin/keys/:id/children`: the child keys minted by a key (docs/api.md), oldest first, never secrets —
 * `{data: [record…]}`. The dashboard's key page lists them; the store indexes children by parent, so this
 * does not page through every key. Guarded like the rest of the admin API (docs/api.md): off (404) without an
 * admin token configured, 401 `invalid_admin_token` without a valid one.
 */
export function registerAdminChildrenRoute(
  app: FastifyInstance,
  deps: { adminTokens: () => readonly string[]; store: KeyStore; declaredKeys: () => readonly KeyRecord[]; now: () => number },
): void {
  app.get('/admin/keys/:id/children', async (request) => {
    const tokens = deps.adminTokens();
    if (tokens.length === 0) throw errors.notFound('The admin API is off: set GATEWAY_ADMIN_TOKEN to turn it on.');
    const header = request.headers.authorization;
    if (matchAdminToken(typeof header === 'string' ? header : undefined, tokens) === null) throw errors.invalidAdminToken();
    const { id } = request.params as { id: string };
    const parent = deps.declaredKeys().find((k) => k.id === id) ?? (await deps.store.get(id));
    if (parent === null) throw errors.notFound(`No key with id "${id}".`);
    const children = await deps.store.listChildren(id);
    const nowMs = deps.now();
    return { data: [...children].sort(byCreation).map((child) => keyView(child, nowMs)) };
  });
}

function byCreation(a: KeyRecord, b: KeyRecord): number {
  return a.createdAt === b.createdAt ? a.id.localeCompare(b.id) : a.createdAt.localeCompare(b.createdAt);
}
