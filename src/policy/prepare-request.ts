import type { LimitSet } from '../config/types.js';
import { errors } from '../errors.js';
import type { RouteSpec } from './routes.js';
import { collectionAllowed, endpointAllowed, mayUseDefaultModel, modelAllowed, type EffectivePolicy } from './scopes.js';
import { estimatePromptTokens, outputCapOf } from '../usage/estimate.js';
import { collectObjectRefs, MAX_OBJECT_REFS, mayReferenceObjects, type ObjectRef } from '../ownership/body-refs.js';
import type { ObjectKind } from '../ownership/types.js';

/**
 * Everything decided about a client request before admission, as a pure function of the route, the raw body
 * and the key's policy (no I/O, no Fastify): scope checks, body validation, the output cap, and the body to
 * send upstream. Throws the docs/api.md GatewayError for anything refused — before a byte goes upstream.
 */
export interface PreparedRequest {
  model: string | null;
  stream: boolean;
  /** Chat stream where the client did not ask for usage: the gateway asks xAI for it and strips it again. */
  stripUsageChunk: boolean;
  estimatedPromptTokens: number;
  /**
   * Output tokens reserved (request's cap, else maxOutputTokens, else the configured default; × `n` for chat;
   * 0 for embeddings and media, which generate no tokens).
   */
  outputCapTokens: number;
  /** The body to forward: the client's bytes unchanged unless the gateway had to add a field. */
  upstreamBody: Buffer | null;
  /** The object a successful answer creates, to be recorded as the caller's (docs/isolation.md), or null. */
  creates: ObjectKind | null;
  /** Objects the body names (`file_id`, `previous_response_id`, at any depth): each must be the caller's to reach. */
  objectRefs: readonly ObjectRef[];
  /** Images asked for (`n`, default 1), or seconds of video (`duration`, default 8): their price is reserved. */
  mediaUnits: number;
}

export interface PrepareInput {
  route: RouteSpec;
  contentType: string | undefined;
  /** The request's Content-Encoding: the gateway reads and meters bodies, so it takes them uncompressed only. */
  contentEncoding?: string | undefined;
  rawBody: Buffer | null;
  /** The key's policy, then its parent's for a child key: every one must allow the request. */
  policies: readonly EffectivePolicy[];
  /** Limits of every subject (key, parent): the smallest maxOutputTokens applies. */
  limits: readonly LimitSet[];
  defaultOutputTokens: number;
  /** The earliest expiry of the key and its parent (epoch ms), or null for never: bounds realtime client secrets. */
  keyExpiresAtMs: number | null;
  nowMs: number;
}

/** Per endpoint, the field that caps output when the gateway sets one (docs/api.md). */
const CAP_FIELD: Partial<Record<RouteSpec['endpoint'], string>> = {
  'chat.completions': 'max_completion_tokens',
  completions: 'max_tokens',
  responses: 'max_output_tokens',
  messages: 'max_tokens',
};

export function prepareRequest(input: PrepareInput): PreparedRequest {
  const { route, policies } = input;
  if (!policies.every((p) => endpointAllowed(p, route.endpoint))) throw errors.endpointNotAllowed(route.endpoint);
  const encoding = input.contentEncoding?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    throw errors.invalidRequest('Compressed request bodies are not accepted: send the body without Content-Encoding.', 415);
  }
  if (route.body !== 'json') {
    return {
      model: null,
      stream: false,
      stripUsageChunk: false,
      estimatedPromptTokens: 0,
      outputCapTokens: 0,
      upstreamBody: input.rawBody,
      creates: route.creates,
      objectRefs: NO_REFS,
      mediaUnits: 0,
    };
  }

  if (!isJsonContentType(input.contentType)) {
    throw errors.invalidRequest('This endpoint takes a JSON body: send "Content-Type: application/json".', 415);
  }
  const body = parseJsonObject(input.rawBody);
  const model = route.model === 'nested' ? checkNestedModels(body, policies) : checkModel(route, body, policies);
  const stream = body.stream === true;
  if (body.stream !== undefined && typeof body.stream !== 'boolean') throw errors.invalidRequest('"stream" must be a boolean.');
  if (stream && !route.streams) throw errors.invalidRequest('This endpoint does not stream.');

  const additions: Record<string, unknown> = {};
  const outputCapTokens = outputCap(input, body, additions);

  let stripUsageChunk = false;
  if (stream && route.usage === 'chat') {
    const options = body.stream_options;
    const wantsUsage = isObject(options) && options.include_usage === true;
    if (options !== undefined && options !== null && !isObject(options)) throw errors.invalidRequest('"stream_options" must be an object.');
    if (!wantsUsage) {
      // xAI sends streamed usage only when asked (docs/upstream.md §5.1); ask, and hide it from the client again.
      additions.stream_options = { ...(isObject(options) ? options : {}), include_usage: true };
      stripUsageChunk = true;
    }
  }

  if (route.endpoint === 'documents') checkCollections(body, policies);

  if (route.endpoint === 'realtime') {
    const expiresAfter = clientSecretExpiry(body.expires_after, input.keyExpiresAtMs, input.nowMs);
    if (expiresAfter !== null) additions.expires_after = expiresAfter;
  }

  // A body that may name objects is walked for them, and then sent as the object that was checked, re-serialised:
  // a duplicate key (`"file_id"` twice) or an escaped spelling then means to xAI exactly what it meant here, so no
  // difference between two JSON parsers can carry an unchecked reference through.
  const walked = input.rawBody !== null && mayReferenceObjects(input.rawBody);
  return {
    model,
    stream,
    stripUsageChunk,
    estimatedPromptTokens: estimatePromptTokens(body),
    outputCapTokens,
    upstreamBody: walked ? Buffer.from(JSON.stringify({ ...body, ...additions })) : withTopLevelFields(input.rawBody ?? Buffer.alloc(0), body, additions),
    creates: createdKind(route.creates, body),
    objectRefs: walked ? objectRefsOf(body) : NO_REFS,
    mediaUnits: route.usage === 'media' ? mediaUnitsOf(route, body) : 0,
  };
}

/**
 * What a media request will cost before xAI says (docs/api.md): images `n` (1..10, default 1); a video its `duration`
 * in seconds (1..15, default 8; an edit or extension has none of its own, so the default is reserved).
 */
function mediaUnitsOf(route: RouteSpec, body: JsonObject): number {
  const [field, fallback, max] = route.endpoint === 'images' ? ['n', 1, 10] : ['duration', 8, 15];
  const value = body[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw errors.invalidRequest(`"${field}" must be a whole number from 1 to ${max}.`);
  }
  return value;
}

const NO_REFS: readonly ObjectRef[] = Object.freeze([]);

/** A chat creates a deferred completion only when asked to; a response is stored unless `"store": false`. */
function createdKind(kind: ObjectKind | null, body: JsonObject): ObjectKind | null {
  if (kind === 'deferred') return body.deferred === true ? kind : null;
  if (kind === 'response') return body.store === false ? null : kind;
  return kind;
}

function objectRefsOf(body: JsonObject): readonly ObjectRef[] {
  const refs = collectObjectRefs(body);
  if (refs === null) throw errors.invalidRequest(`The request body names more than ${MAX_OBJECT_REFS} files or responses.`);
  return refs;
}

/**
 * The output tokens to reserve (docs/api.md): the request's own cap, else the key's maxOutputTokens (then also set on
 * the forwarded request), else the configured default — times `n` for chat, as xAI bills every choice
 * (docs/upstream.md §3.1). Embeddings and media generate no tokens, so nothing is reserved for output there.
 */
function outputCap(input: PrepareInput, body: JsonObject, additions: Record<string, unknown>): number {
  const { route } = input;
  const maxOutput = smallestLimit(input.limits, 'maxOutputTokens');
  const cap = outputCapOf(body);
  let tokens: number;
  if (cap.kind === 'invalid') throw errors.invalidRequest(`"${cap.field}" must be a positive integer.`);
  if (cap.kind === 'cap') {
    if (maxOutput !== null && cap.tokens > maxOutput) {
      throw errors.invalidRequest(`"${cap.field}" is ${cap.tokens}, above this key's maxOutputTokens of ${maxOutput}.`);
    }
    tokens = cap.tokens;
  } else {
    const field = CAP_FIELD[route.endpoint];
    if (maxOutput !== null && field !== undefined) additions[field] = maxOutput;
    tokens = maxOutput ?? input.defaultOutputTokens;
  }
  if (route.usage === 'embeddings' || route.usage === 'media') return 0;
  if (route.usage !== 'chat' || body.n === undefined || body.n === null) return tokens;
  const n = body.n;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw errors.invalidRequest('"n" must be a positive integer.');
  return Math.min(tokens * n, Number.MAX_SAFE_INTEGER);
}

/**
 * `expires_after` for a realtime client secret (docs/api.md): an ephemeral token never outlives the client key that
 * minted it — `seconds` is capped at the key's remaining lifetime, and set to it when absent. A key without an
 * expiry leaves the body alone (xAI's default applies). Returns the object to send, or null for no change.
 */
export function clientSecretExpiry(expiresAfter: unknown, keyExpiresAtMs: number | null, nowMs: number): JsonObject | null {
  if (expiresAfter !== undefined && expiresAfter !== null && !isObject(expiresAfter)) {
    throw errors.invalidRequest('"expires_after" must be an object.');
  }
  const after = isObject(expiresAfter) ? expiresAfter : {};
  const requested = after.seconds;
  if (requested !== undefined && (typeof requested !== 'number' || !Number.isSafeInteger(requested) || requested <= 0)) {
    throw errors.invalidRequest('"expires_after.seconds" must be a positive integer.');
  }
  if (keyExpiresAtMs === null) return null;
  const remaining = Math.max(1, Math.floor((keyExpiresAtMs - nowMs) / 1000));
  if (requested !== undefined && requested <= remaining) return null;
  return { ...after, seconds: remaining };
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  // What nearly every client sends; the general parse below gives the same answer for it.
  if (contentType === 'application/json') return true;
  const [type = '', ...params] = contentType.split(';');
  const mediaType = type.trim().toLowerCase();
  if (mediaType !== 'application/json' && !(mediaType.startsWith('application/') && mediaType.endsWith('+json'))) return false;
  // JSON is UTF-8 (RFC 8259 §8.1); a body declared in another charset would reach xAI mislabelled.
  const charset = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='));
  return charset === undefined || charset === 'charset=utf-8' || charset === 'charset="utf-8"';
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJsonObject(raw: Buffer | null): JsonObject {
  if (raw === null || raw.length === 0) throw errors.invalidRequest('The request body is empty; a JSON object is required.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw errors.invalidRequest('The request body is not valid JSON.');
  }
  if (!isObject(parsed)) throw errors.invalidRequest('The request body must be a JSON object.');
  return parsed;
}

function checkModel(route: RouteSpec, body: JsonObject, policies: readonly EffectivePolicy[]): string | null {
  if (route.model === 'none') return typeof body.model === 'string' ? body.model : null;
  const model = body.model;
  if (model === undefined || model === null) {
    if (route.model === 'required') throw errors.invalidRequest('"model" is required.');
    if (!policies.every(mayUseDefaultModel)) {
      throw errors.invalidRequest('"model" is required: this key may not rely on the upstream default model.');
    }
    return null;
  }
  if (typeof model !== 'string' || model.length === 0 || model.length > 256) {
    throw errors.invalidRequest('"model" must be a non-empty string.');
  }
  if (!policies.every((p) => modelAllowed(p, model))) throw errors.modelNotAllowed(model);
  return model;
}

/**
 * A documents search names the collections it searches in `source.collection_ids` (docs/upstream.md §3.11): each must be
 * within the key's `collections` (and its parent's), else 403 collection_not_allowed (docs/api.md). A search that
 * names none is refused: what xAI would search then is not documented, and it could be every collection.
 */
function checkCollections(body: JsonObject, policies: readonly EffectivePolicy[]): void {
  const source = body.source;
  const ids = isObject(source) ? source.collection_ids : undefined;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string' && id.length > 0 && id.length <= 256)) {
    throw errors.invalidRequest('"source.collection_ids" must be a non-empty list of collection ids.');
  }
  for (const id of ids as string[]) if (!policies.every((p) => collectionAllowed(p, id))) throw errors.collectionNotAllowed(id);
}

/** Deeper than any batch body; bounds the walk over hostile input. */
const MAX_NESTED_DEPTH = 32;

/**
 * A body of whole requests (batch requests, docs/upstream.md §3.14, shape not captured): every string `model` anywhere
 * in it must be allowed, and a request without one (an object with a `messages` list or an `input` but no
 * `model`) relies on xAI's default, which only a key allowed "*" may do (docs/api.md). Returns the first model.
 */
function checkNestedModels(body: JsonObject, policies: readonly EffectivePolicy[]): string | null {
  const models: string[] = [];
  let usesDefault = false;
  const walk = (value: unknown, depth: number): void => {
    if (depth > MAX_NESTED_DEPTH) throw errors.invalidRequest('The request body is nested too deeply.');
    if (Array.isArray(value)) {
      for (const item of value) walk(item, depth + 1);
      return;
    }
    if (!isObject(value)) return;
    // Only string models count: a tool's JSON schema may well have a property named "model" or "input".
    if (typeof value.model === 'string') models.push(value.model);
    else if (value.model === undefined && looksLikeRequest(value)) usesDefault = true;
    for (const [key, item] of Object.entries(value)) if (key !== 'model') walk(item, depth + 1);
  };
  walk(body, 0);
  if (usesDefault && !policies.every(mayUseDefaultModel)) {
    throw errors.invalidRequest('"model" is required in every request: this key may not rely on the upstream default model.');
  }
  for (const model of models) {
    if (model.length === 0 || model.length > 256) throw errors.invalidRequest('"model" must be a non-empty string.');
    if (!policies.every((p) => modelAllowed(p, model))) throw errors.modelNotAllowed(model);
  }
  return models[0] ?? null;
}

/** A chat request (`messages` list) or a Responses request (`input` text or items). */
function looksLikeRequest(value: JsonObject): boolean {
  return Array.isArray(value.messages) || typeof value.input === 'string' || Array.isArray(value.input);
}

function smallestLimit(limits: readonly LimitSet[], name: 'maxOutputTokens'): number | null {
  let smallest: number | null = null;
  for (const set of limits) {
    const value = set[name];
    if (value !== undefined && (smallest === null || value < smallest)) smallest = value;
  }
  return smallest;
}

/**
 * The body with extra top-level fields. When none of them is in the body already, the fields are spliced in
 * after the opening brace, leaving the client's bytes untouched (no re-serialisation of a large body, and no
 * duplicate keys, which xAI's strict JSON parser would reject); otherwise the object is re-serialised.
 */
export function withTopLevelFields(raw: Buffer, parsed: JsonObject, fields: JsonObject): Buffer {
  const names = Object.keys(fields);
  if (names.length === 0) return raw;
  if (names.some((n) => Object.hasOwn(parsed, n))) return Buffer.from(JSON.stringify({ ...parsed, ...fields }));
  const brace = raw.indexOf(0x7b); // '{' — the first one, as JSON.parse accepted an object and leading whitespace only
  const inserted = names.map((n) => `${JSON.stringify(n)}:${JSON.stringify(fields[n])}`).join(',');
  const separator = Object.keys(parsed).length === 0 ? '' : ',';
  return Buffer.concat([raw.subarray(0, brace + 1), Buffer.from(inserted + separator), raw.subarray(brace + 1)]);
}
