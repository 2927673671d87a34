import { errors } from '../errors.js';
import type { Limiter } from '../limits/types.js';
import { filterModelList, findModel } from '../policy/model-lists.js';
import type { RouteMatch } from '../policy/routes.js';
import type { ModelCatalog } from '../upstream/model-catalog.js';
import type { AuthenticatedClient } from './client-auth.js';

/** Answers of the routes the gateway serves itself (SPEC §4 "Answered by the gateway itself"). */

function patternSets(client: AuthenticatedClient): (readonly string[])[] {
  return client.parentPolicy === null ? [client.policy.models] : [client.policy.models, client.parentPolicy.models];
}

export async function answerModels(match: RouteMatch, client: AuthenticatedClient, catalog: ModelCatalog): Promise<unknown> {
  const listPath = `/v1/${match.route.pattern[0] ?? 'models'}`;
  const list = await catalog.list(listPath);
  const id = match.params.id;
  if (id === undefined) {
    const filtered = filterModelList(list, patternSets(client));
    if (filtered === null) throw errors.upstreamError('The upstream model list had an unexpected shape.');
    return filtered;
  }
  let entry = findModel(list, id, patternSets(client));
  if (entry === null && listPath === '/v1/models') {
    // /v1/models entries carry no aliases (xai-api.md §3.5); resolve an alias through the language-model list.
    const language = findModel(await catalog.list('/v1/language-models'), id, patternSets(client));
    if (language !== null && typeof language.id === 'string') entry = findModel(list, language.id, patternSets(client));
  }
  if (entry === null) throw errors.notFound(`The model "${id}" does not exist or this key may not use it.`);
  return entry;
}

export async function answerApiKey(client: AuthenticatedClient, limiter: Limiter, nowMs: number): Promise<unknown> {
  const { key, policy } = client;
  const remaining = await limiter.remaining({ keyId: key.id, limits: policy.limits, familyId: client.parent?.id ?? key.id }, nowMs);
  return {
    id: key.id,
    name: key.name,
    plan: key.plan,
    models: policy.models,
    endpoints: policy.endpoints,
    limits: policy.limits,
    allowedOrigins: key.allowedOrigins,
    allowedIps: key.allowedIps,
    expiresAt: key.expiresAt,
    parentId: key.parentId,
    remaining,
  };
}
