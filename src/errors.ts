/**
 * The gateway's own errors. Domain code throws GatewayError; only src/http turns it into a response,
 * in the OpenAI shape `{"error":{"message","type","code"}}` (docs/api.md). The codes are the stable table
 * of docs/api.md; a new code needs a README row.
 */
export type GatewayErrorCode =
  | 'invalid_request'
  | 'invalid_api_key'
  | 'key_expired'
  | 'key_revoked'
  | 'model_not_allowed'
  | 'endpoint_not_allowed'
  | 'collection_not_allowed'
  | 'origin_not_allowed'
  | 'ip_not_allowed'
  | 'not_found'
  | 'request_too_large'
  | 'rate_limit_exceeded'
  | 'quota_exceeded'
  | 'upstream_error'
  | 'store_unavailable'
  | 'upstream_timeout'
  | 'invalid_admin_token'
  | 'internal_error';

/** OpenAI-style `type` for each code, so SDKs classify our errors the way they classify OpenAI's. */
const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
};

export interface GatewayErrorOptions {
  status: number;
  code: GatewayErrorCode;
  message: string;
  cause?: unknown;
  /** Extra response headers, e.g. Retry-After on 429. */
  headers?: Readonly<Record<string, string>>;
  /** The model a refusal is about (model_not_allowed): the refused count is kept under it. */
  model?: string;
}

export class GatewayError extends Error {
  readonly status: number;
  readonly code: GatewayErrorCode;
  readonly type: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly model: string | null;

  constructor(options: GatewayErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.status = options.status;
    this.code = options.code;
    this.type = TYPE_BY_STATUS[options.status] ?? (options.status >= 500 ? 'api_error' : 'invalid_request_error');
    this.headers = options.headers ?? {};
    this.model = options.model ?? null;
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code } };
  }
}

export interface ErrorBody {
  error: { message: string; type: string; code: string };
}

/** Shorthand constructors for the errors raised most often; each keeps the docs/api.md status/code pairing in one place. */
export const errors = {
  invalidRequest: (message: string, status = 400): GatewayError =>
    new GatewayError({ status, code: 'invalid_request', message }),
  invalidApiKey: (message = 'Invalid API key. Provide a gateway client key as "Authorization: Bearer xgw_…".'): GatewayError =>
    new GatewayError({ status: 401, code: 'invalid_api_key', message }),
  keyExpired: (): GatewayError => new GatewayError({ status: 401, code: 'key_expired', message: 'This API key has expired.' }),
  keyRevoked: (): GatewayError => new GatewayError({ status: 401, code: 'key_revoked', message: 'This API key has been revoked.' }),
  modelNotAllowed: (model: string): GatewayError =>
    new GatewayError({ status: 403, code: 'model_not_allowed', message: `This API key may not use the model "${model}".`, model }),
  endpointNotAllowed: (endpoint: string): GatewayError =>
    new GatewayError({ status: 403, code: 'endpoint_not_allowed', message: `This API key may not call the "${endpoint}" endpoint.` }),
  collectionNotAllowed: (collection: string): GatewayError =>
    new GatewayError({ status: 403, code: 'collection_not_allowed', message: `This API key may not search the collection "${collection}".` }),
  originNotAllowed: (): GatewayError =>
    new GatewayError({ status: 403, code: 'origin_not_allowed', message: 'This API key may not be used from this origin.' }),
  ipNotAllowed: (): GatewayError =>
    new GatewayError({ status: 403, code: 'ip_not_allowed', message: 'This API key may not be used from this address.' }),
  notFound: (message = 'Not found.'): GatewayError => new GatewayError({ status: 404, code: 'not_found', message }),
  upstreamError: (message = 'The upstream API could not be reached or returned a broken response.', cause?: unknown): GatewayError =>
    new GatewayError({ status: 502, code: 'upstream_error', message, cause }),
  upstreamTimeout: (cause?: unknown): GatewayError =>
    new GatewayError({ status: 504, code: 'upstream_timeout', message: 'The upstream API did not answer in time.', cause }),
  storeUnavailable: (cause?: unknown): GatewayError =>
    new GatewayError({ status: 503, code: 'store_unavailable', message: 'The gateway store is unavailable; try again shortly.', cause }),
  invalidAdminToken: (): GatewayError =>
    new GatewayError({ status: 401, code: 'invalid_admin_token', message: 'Missing or invalid admin token.' }),
};
