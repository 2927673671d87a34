import { errors } from '../errors.js';
import type { Limiter } from '../limits/types.js';
import { aliasIndex, filterModelList, findModel, type AliasIndex } from './model-lists.js';
import type { RouteMatch } from './routes.js';
import type { ModelCatalog } from '../upstream/model-catalog.js';
import type { AuthenticatedClient } from '../keys/client-auth.js';

/** Answers of the routes the gateway serves itself (docs/api.md "Answered by the gateway itself"). */

function patternSets(client: AuthenticatedClient): (readonly string[])[] {
  return client.parentPolicy === null ? [client.policy.models] : [client.policy.models, client.parentPolicy.models];
}

export async function answerModels(match: RouteMatch, client: AuthenticatedClient, catalog: ModelCatalog): Promise<unknown> {
  const listPath = `/v1/${match.route.pattern[0] ?? 'models'}`;
  const list = await catalog.list(listPath);
  // /v1/models entries carry no aliases (docs/upstream.md §3.5): a key allowed "grok-4" must still see grok-4-0709,
  // so aliases come from the language-model list.
  const aliases: AliasIndex = listPath === '/v1/models' ? aliasIndex([await catalog.list('/v1/language-models')]) : new Map();
  const id = match.params.id;
  if (id === undefined) {
    const filtered = filterModelList(list, patternSets(client), aliases);
    if (filtered === null) throw errors.upstreamError('The upstream model list had an unexpected shape.');
    return filtered;
  }
  const entry = findModel(list, id, patternSets(client), aliases);
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
    collections: policy.collections,
    limits: policy.limits,
    allowedOrigins: key.allowedOrigins,
    allowedIps: key.allowedIps,
    expiresAt: key.expiresAt,
    parentId: key.parentId,
    remaining,
  };
}
