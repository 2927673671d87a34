import type { LimitSet } from '../config/types.js';
import { errors } from '../errors.js';
import type { RouteSpec } from '../policy/routes.js';
import { endpointAllowed, mayUseDefaultModel, modelAllowed, type EffectivePolicy } from '../policy/scopes.js';
import { estimatePromptTokens, outputCapOf } from '../usage/estimate.js';

/**
 * Everything decided about a client request before admission, as a pure function of the route, the raw body
 * and the key's policy (no I/O, no Fastify): scope checks, body validation, the output cap, and the body to
 * send upstream. Throws the SPEC §4 GatewayError for anything refused — before a byte goes upstream.
 */
export interface PreparedRequest {
  model: string | null;
  stream: boolean;
  /** Chat stream where the client did not ask for usage: the gateway asks xAI for it and strips it again. */
  stripUsageChunk: boolean;
  estimatedPromptTokens: number;
  /** The output cap used for the reservation (request's, else maxOutputTokens, else the configured default). */
  outputCapTokens: number;
  /** The body to forward: the client's bytes unchanged unless the gateway had to add a field. */
  upstreamBody: Buffer | null;
}

export interface PrepareInput {
  route: RouteSpec;
  contentType: string | undefined;
  rawBody: Buffer | null;
  /** The key's policy, then its parent's for a child key: every one must allow the request. */
  policies: readonly EffectivePolicy[];
  /** Limits of every subject (key, parent): the smallest maxOutputTokens applies. */
  limits: readonly LimitSet[];
  defaultOutputTokens: number;
}

/** Per endpoint, the field that caps output when the gateway sets one (SPEC §5). */
const CAP_FIELD: Partial<Record<RouteSpec['endpoint'], string>> = {
  'chat.completions': 'max_completion_tokens',
  completions: 'max_tokens',
  responses: 'max_output_tokens',
  messages: 'max_tokens',
};

export function prepareRequest(input: PrepareInput): PreparedRequest {
  const { route, policies } = input;
  if (!policies.every((p) => endpointAllowed(p, route.endpoint))) throw errors.endpointNotAllowed(route.endpoint);
  if (route.body !== 'json') {
    return { model: null, stream: false, stripUsageChunk: false, estimatedPromptTokens: 0, outputCapTokens: 0, upstreamBody: input.rawBody };
  }

  if (!isJsonContentType(input.contentType)) {
    throw errors.invalidRequest('This endpoint takes a JSON body: send "Content-Type: application/json".', 415);
  }
  const body = parseJsonObject(input.rawBody);
  const model = checkModel(route, body, policies);
  const stream = body.stream === true;
  if (body.stream !== undefined && typeof body.stream !== 'boolean') throw errors.invalidRequest('"stream" must be a boolean.');
  if (stream && !route.streams) throw errors.invalidRequest('This endpoint does not stream.');

  const additions: Record<string, unknown> = {};
  const maxOutput = smallestLimit(input.limits, 'maxOutputTokens');
  const cap = outputCapOf(body);
  let outputCapTokens: number;
  if (cap.kind === 'invalid') throw errors.invalidRequest(`"${cap.field}" must be a positive integer.`);
  if (cap.kind === 'cap') {
    if (maxOutput !== null && cap.tokens > maxOutput) {
      throw errors.invalidRequest(`"${cap.field}" is ${cap.tokens}, above this key's maxOutputTokens of ${maxOutput}.`);
    }
    outputCapTokens = cap.tokens;
  } else {
    const field = CAP_FIELD[route.endpoint];
    if (maxOutput !== null && field !== undefined) additions[field] = maxOutput;
    outputCapTokens = maxOutput ?? input.defaultOutputTokens;
  }

  let stripUsageChunk = false;
  if (stream && route.usage === 'chat') {
    const options = body.stream_options;
    const wantsUsage = isObject(options) && options.include_usage === true;
    if (options !== undefined && options !== null && !isObject(options)) throw errors.invalidRequest('"stream_options" must be an object.');
    if (!wantsUsage) {
      // xAI sends streamed usage only when asked (xai-api.md §5.1); ask, and hide it from the client again.
      additions.stream_options = { ...(isObject(options) ? options : {}), include_usage: true };
      stripUsageChunk = true;
    }
  }

  return {
    model,
    stream,
    stripUsageChunk,
    estimatedPromptTokens: estimatePromptTokens(body),
    outputCapTokens,
    upstreamBody: withTopLevelFields(input.rawBody ?? Buffer.alloc(0), body, additions),
  };
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'));
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
