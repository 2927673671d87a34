import type { EndpointName } from '../config/types.js';
import { OBJECT_ID_RE } from '../ownership/access.js';
import type { ObjectKind } from '../ownership/types.js';

/**
 * The client API's route table (docs/api.md): which method + path the gateway offers, under which endpoint
 * name (for scopes), and how it is handled. Anything not in this table is 404 and never forwarded.
 * The upstream path is rebuilt from validated segments, never copied from the raw URL, so no spelling of
 * a path (dot segments, encoded slashes) can reach another upstream path or the admin API.
 */
export type RouteHandling =
  | 'forward' // sent to xAI
  | 'models' // answered by the gateway from xAI's model lists, filtered to the key's models
  | 'api-key' // answered by the gateway: the client key's own record
  | 'list'; // xAI's list, walked page by page and filtered to the caller's own objects (docs/isolation.md)

/** How usage is read from the response (src/usage). */
export type UsageKind = 'chat' | 'responses' | 'embeddings' | 'media' | 'none';

export type BodyKind = 'json' | 'multipart' | 'none';

export interface RouteSpec {
  method: 'GET' | 'POST' | 'DELETE';
  /** Segments after /v1; ':name' is a parameter. */
  pattern: readonly string[];
  endpoint: EndpointName;
  handling: RouteHandling;
  body: BodyKind;
  /**
   * 'required': a body `model` must be present; 'optional': xAI has a default (only keys allowed "*" may rely
   * on it); 'nested': the body carries whole requests (batch requests), every `model` in it is checked; 'none'.
   */
  model: 'required' | 'optional' | 'nested' | 'none';
  usage: UsageKind;
  /** Accepts `stream: true` and answers SSE. */
  streams: boolean;
  /**
   * Tenant isolation (docs/isolation.md): the kind of object a successful answer creates (recorded as the
   * caller's before the answer is relayed), the kind the `:id` path parameter names (only its owner, or the
   * owner's parent, gets through), or the kind a list holds (filtered to the caller's).
   */
  creates: ObjectKind | null;
  addresses: ObjectKind | null;
  lists: ObjectKind | null;
}

const r = (
  method: RouteSpec['method'],
  path: string,
  endpoint: EndpointName,
  rest: Partial<Omit<RouteSpec, 'method' | 'pattern' | 'endpoint'>> = {},
): RouteSpec => ({
  method,
  pattern: path.split('/').filter((s) => s !== ''),
  endpoint,
  handling: rest.handling ?? 'forward',
  body: rest.body ?? (method === 'POST' ? 'json' : 'none'),
  model: rest.model ?? 'none',
  usage: rest.usage ?? 'none',
  streams: rest.streams ?? false,
  creates: rest.creates ?? null,
  addresses: rest.addresses ?? null,
  lists: rest.lists ?? null,
});

const modelList = (path: string): RouteSpec[] => [
  r('GET', path, 'models', { handling: 'models' }),
  r('GET', `${path}/:id`, 'models', { handling: 'models' }),
];

export const ROUTES: readonly RouteSpec[] = [
  // A chat with `"deferred": true` creates a deferred completion (prepare-request decides per body).
  r('POST', 'chat/completions', 'chat.completions', { model: 'required', usage: 'chat', streams: true, creates: 'deferred' }),
  r('GET', 'chat/deferred-completion/:id', 'deferred', { usage: 'chat', addresses: 'deferred' }),
  r('POST', 'completions', 'completions', { model: 'required', usage: 'chat', streams: true }),
  // Stored unless `"store": false` (prepare-request decides per body).
  r('POST', 'responses', 'responses', { model: 'optional', usage: 'responses', streams: true, creates: 'response' }),
  r('POST', 'responses/compact', 'responses', { model: 'optional', usage: 'responses' }),
  r('GET', 'responses/:id', 'responses', { addresses: 'response' }),
  r('DELETE', 'responses/:id', 'responses', { addresses: 'response' }),
  r('POST', 'messages', 'messages', { model: 'required' }),
  r('POST', 'embeddings', 'embeddings', { model: 'required', usage: 'embeddings' }),
  r('POST', 'images/generations', 'images', { model: 'optional', usage: 'media' }),
  r('POST', 'images/edits', 'images', { model: 'optional', usage: 'media' }),
  r('POST', 'videos/generations', 'videos', { model: 'optional', usage: 'media', creates: 'video' }),
  r('POST', 'videos/edits', 'videos', { model: 'optional', usage: 'media', creates: 'video' }),
  r('POST', 'videos/extensions', 'videos', { model: 'optional', usage: 'media', creates: 'video' }),
  r('GET', 'videos/:id', 'videos', { usage: 'media', addresses: 'video' }),
  r('POST', 'tokenize-text', 'tokenize', { model: 'required' }),
  r('POST', 'documents/search', 'documents'),
  r('GET', 'files', 'files', { handling: 'list', lists: 'file' }),
  r('POST', 'files', 'files', { body: 'multipart', creates: 'file' }),
  r('GET', 'files/:id', 'files', { addresses: 'file' }),
  r('DELETE', 'files/:id', 'files', { addresses: 'file' }),
  r('GET', 'files/:id/content', 'files', { addresses: 'file' }),
  r('GET', 'batches', 'batches', { handling: 'list', lists: 'batch' }),
  r('POST', 'batches', 'batches', { creates: 'batch' }),
  r('GET', 'batches/:id', 'batches', { addresses: 'batch' }),
  // Cancel takes no body (docs/upstream.md §3.14); whatever a client sends is passed on unparsed.
  r('POST', 'batches/:id:cancel', 'batches', { body: 'none', addresses: 'batch' }),
  r('GET', 'batches/:id/requests', 'batches', { addresses: 'batch' }),
  // Batch requests are chat/responses requests: their models are the key's to check, or a batch would bypass scopes.
  r('POST', 'batches/:id/requests', 'batches', { model: 'nested', addresses: 'batch' }),
  r('GET', 'batches/:id/results', 'batches', { addresses: 'batch' }),
  r('POST', 'tts', 'tts'),
  r('POST', 'stt', 'stt', { body: 'multipart' }),
  r('POST', 'realtime/client_secrets', 'realtime'),
  ...modelList('models'),
  ...modelList('language-models'),
  ...modelList('image-generation-models'),
  ...modelList('video-generation-models'),
  ...modelList('embedding-models'),
  r('GET', 'api-key', 'api-key', { handling: 'api-key' }),
];

/** Path parameters are ids as xAI makes them (`file_…`, `batch_…`, uuids, region suffixes): no dots-only, no slashes. */
const PARAM_RE = OBJECT_ID_RE;

export interface RouteMatch {
  route: RouteSpec;
  params: Readonly<Record<string, string>>;
  /** The path to request upstream, rebuilt from validated segments, plus the original query string. */
  upstreamPath: string;
}

export type RouteLookup = { kind: 'match'; match: RouteMatch } | { kind: 'not_found' } | { kind: 'method_not_allowed' };

/**
 * Resolve a raw request URL (as received, e.g. `/v1/files/abc?limit=3`) against the route table.
 * Percent-encoded bytes, dot segments, empty segments and backslashes never match (→ not_found).
 */
export function resolveRoute(method: string, rawUrl: string): RouteLookup {
  // A fragment is the client's own (RFC 9110 §4.2.5): it is never part of a target sent upstream.
  const hash = rawUrl.indexOf('#');
  const target = hash === -1 ? rawUrl : rawUrl.slice(0, hash);
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q);
  if (!path.startsWith('/v1/') || /[%\\]/.test(path)) return { kind: 'not_found' };
  const segments = path.slice(4).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return { kind: 'not_found' };

  let methodMismatch = false;
  for (const route of ROUTES) {
    const params = matchSegments(route.pattern, segments);
    if (params === null) continue;
    if (route.method !== method) {
      methodMismatch = true;
      continue;
    }
    return { kind: 'match', match: { route, params, upstreamPath: `/v1/${segments.join('/')}${query}` } };
  }
  return methodMismatch ? { kind: 'method_not_allowed' } : { kind: 'not_found' };
}

function matchSegments(pattern: readonly string[], segments: readonly string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i += 1) {
    const p = pattern[i] ?? '';
    const s = segments[i] ?? '';
    if (p.startsWith(':')) {
      // `:id:cancel` — a parameter followed by a literal verb suffix (batches cancel, docs/upstream.md §2).
      const suffixAt = p.indexOf(':', 1);
      const name = suffixAt === -1 ? p.slice(1) : p.slice(1, suffixAt);
      const suffix = suffixAt === -1 ? '' : p.slice(suffixAt);
      if (suffix !== '' && !s.endsWith(suffix)) return null;
      const value = suffix === '' ? s : s.slice(0, -suffix.length);
      if (!PARAM_RE.test(value) || value.includes(':')) return null;
      params[name] = value;
    } else if (p !== s) {
      return null;
    }
  }
  return params;
}
